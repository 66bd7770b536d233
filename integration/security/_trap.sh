# Shared by the attack tests: a host "trap" directory that escaped mounts, mkdirs and mknods land in.
#
# $T/trap is a shared bind mount on the host. A bundle made by sec_bundle asks for
# rootfsPropagation "rshared", so the container's copy of the trap stays a peer of the host's:
# a mount the runtime wrongly makes on (or under) the trap path inside the container's mount
# namespace propagates back and shows up in the host's /proc/self/mountinfo. Files, dirs,
# device nodes and symlinks created through a symlink that escaped land in the trap directly.

# trap_setup: make $T/trap (with a marker file and a decoy "ptmx") a shared mount.
trap_setup() {
    TRAP=$T/trap
    mkdir -p "$TRAP"
    mount --bind "$TRAP" "$TRAP"
    mount --make-shared "$TRAP"
    echo marker >"$TRAP/marker"
    echo decoy >"$TRAP/ptmx"
    TRAP_LIST=$(_trap_list)
}

_trap_list() { (cd "$TRAP" && find . -mindepth 1 -printf '%y %p %s\n' | sort); }

# _trap_mounts: host mounts at or under the trap, one mountinfo line each.
_trap_mounts() { awk -v t="$TRAP" '$5 == t || index($5, t "/") == 1' /proc/self/mountinfo; }

# trap_check [WHEN]: nothing was mounted on or created in the trap, the decoys are untouched.
trap_check() {
    local when=${1:-} m
    m=$(_trap_mounts)
    [ "$(echo "$m" | wc -l)" = 1 ] ||
        _fail "a mount landed on the host trap $TRAP $when" "host mountinfo under the trap:" "$m"
    [ "$(_trap_list)" = "$TRAP_LIST" ] ||
        _fail "the host trap $TRAP changed $when" "before: $TRAP_LIST" "after:  $(_trap_list)"
    assert_eq marker "$(cat "$TRAP/marker")" "trap marker rewritten $when"
    assert_eq decoy "$(cat "$TRAP/ptmx")" "trap decoy ptmx rewritten $when"
}

# trap_teardown: final check, then unmount the trap (the leak check wants no mounts under $T).
trap_teardown() {
    trap_check "${1:-at the end}"
    umount "$TRAP"
}

# sec_bundle [NAME]: a bundle whose mounts propagate both ways with the host (see above).
sec_bundle() {
    local b
    b=$(bundle_new "$@")
    cfg "$b" '.linux.rootfsPropagation = "rshared"'
    echo "$b"
}

# no_dev_tmpfs B: drop the config's /dev tmpfs, so the image's own /dev directory is used.
no_dev_tmpfs() { cfg "$1" '.mounts |= map(select(.destination != "/dev"))'; }

# up_to_root: enough "../" to climb from anywhere in $T to the host's "/".
up_to_root() { printf '../%.0s' $(seq 1 16); }

# run_and_delete B [ID]: `run -d` the bundle (probe sleep unless args were set), then delete
# it; $rc/$out/$err are those of the run. A failed run is fine: the trap is checked either way.
run_and_delete() {
    local b=$1 id=${2:-$(new_id)}
    run rt run -d -b "$b" "$id"
    local keep_rc=$rc keep_out=$out keep_err=$err
    if [ "$rc" = 0 ]; then
        wait_sleeping "$id"
        trap_check "while the container runs"
        rt delete --force "$id"
    fi
    rc=$keep_rc out=$keep_out err=$keep_err
}

# Self-test of the trap: a mount made inside the container's mount namespace on the host
# path of the trap (here by a createContainer hook, which runs there before pivot_root) must
# show up on the host, or the attack tests could not see an escaped mount.
test_sec_trap_detects_escaped_mount() {
    local b id
    trap_setup
    b=$(sec_bundle)
    cfg "$b" '.hooks.createContainer = [{"path": "/bin/sh", "args": ["sh", "-c", $s]}]' \
        --arg s "mkdir -p $TRAP/escaped && mount -t tmpfs escaped $TRAP/escaped"
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    grep -qF " $TRAP/escaped " /proc/self/mountinfo ||
        _fail "a mount on the trap inside the container did not propagate to the host" \
            "$(_trap_mounts)"
    rt delete --force "$id"
    umount "$TRAP/escaped"
    rmdir "$TRAP/escaped"
    trap_teardown
}
