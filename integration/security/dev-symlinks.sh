# /dev symlinks in the image: entries of the image's /dev (null, ptmx, fd, pts, shm, mqueue, a config device's parent) point at host paths, so the runtime's mknod, unlink, symlink and mounts there land on the host.

# _sec_dev_entries B: make the image's /dev entries symlinks into the trap (absolute and
# relative), with no /dev tmpfs in the config so the runtime works in the image's /dev.
_sec_dev_entries() {
    local d=$1/rootfs/dev rel=../../../trap
    no_dev_tmpfs "$1"
    rm -rf "$d"
    mkdir -p "$d"
    [ "$(readlink -f "$d/$rel")" = "$TRAP" ] || _fail "test setup: $rel does not reach the trap"
    ln -s "$TRAP/null" "$d/null"
    ln -s "$rel/zero" "$d/zero"
    ln -s "$TRAP/marker" "$d/full"
    ln -s "$rel/marker" "$d/random"
    ln -s "$TRAP/urandom" "$d/urandom"
    ln -s "$TRAP/tty" "$d/tty"
    ln -s "$TRAP/ptmx" "$d/ptmx"
    ln -s "$TRAP" "$d/fd"
    ln -s "$TRAP/marker" "$d/stdin"
    ln -s "$rel/stdout" "$d/stdout"
    ln -s "$TRAP/pts" "$d/pts"
    ln -s "$rel/shm" "$d/shm"
    ln -s "$TRAP/mqueue" "$d/mqueue"
    ln -s "$TRAP" "$d/sub"
}

# _sec_dev_expect: the container's nodes are the real devices, wherever its links pointed.
_sec_dev_expect() {
    local want i=0 d
    [ "$rc" = 0 ] || return 0
    for want in "c 1:3" "c 1:5" "c 1:7" "c 1:8" "c 1:9" "c 5:0"; do
        i=$((i + 1))
        d=$(echo "$out" | sed -n "${i}p")
        assert_eq "$want" "$(jq_of "$d" '"\(.type) \(.major):\(.minor)"')" "device $i in the container: $d"
    done
}

_sec_dev_run() {
    local b=$1 id
    args "$b" /bin/sh -c 'for d in null zero full random urandom tty; do /bin/probe stat /dev/$d || echo "{}"; done; /bin/probe sleep 30'
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>"$T/c.err" && rc=0 || rc=$?
    err=$(cat "$T/c.err")
    echo "+ run exited $rc: $err" >&3
    if [ "$rc" = 0 ]; then
        wait_sleeping "$id"
        trap_check "while the container runs"
        rt delete --force "$id"
    fi
    out=$(cat "$T/c.out")
}

test_sec_dev_symlinks_entries_to_host() {
    local b
    trap_setup
    b=$(sec_bundle)
    _sec_dev_entries "$b"
    _sec_dev_run "$b"
    trap_teardown
    _sec_dev_expect
}

# A config device whose parent directory in the image is a symlink to the host: the mknod
# (or the bind fallback) must happen inside the rootfs.
test_sec_dev_symlinks_config_device_parent() {
    local b
    trap_setup
    b=$(sec_bundle)
    _sec_dev_entries "$b"
    cfg "$b" '.linux.devices = [{"path": "/dev/sub/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 438},
                                {"path": "/dev/sub/deeper/other", "type": "c", "major": 1, "minor": 5, "fileMode": 438}]
        | .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                                       {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}]'
    _sec_dev_run "$b"
    trap_teardown
    _sec_dev_expect
}

# The same links under the config's /dev tmpfs are hidden; but the devpts, shm and mqueue
# destinations can still be links if /dev is a bind of an image directory.
test_sec_dev_symlinks_dev_bind_of_image_dir() {
    local b
    trap_setup
    b=$(sec_bundle)
    _sec_dev_entries "$b"
    mv "$b/rootfs/dev" "$b/devdir"
    mkdir "$b/rootfs/dev"
    # No masks: they would (rightly) refuse the symlinked /dev/null before the run starts.
    cfg "$b" '.mounts = [{"destination": "/dev", "type": "bind", "source": $d, "options": ["rbind"]}] + .mounts
        | .linux.maskedPaths = []' --arg d "$b/devdir"
    args "$b" /bin/probe sleep 30
    run_and_delete "$b"
    echo "+ run exited $rc: $err" >&3
    trap_teardown
}

# A plain /dev/null file, and a /dev/ptmx regular file, in the image are replaced, not used.
test_sec_dev_symlinks_plain_files_replaced() {
    local b
    b=$(bundle_new)
    no_dev_tmpfs "$b"
    echo planted >"$b/rootfs/dev/null"
    echo planted >"$b/rootfs/dev/ptmx"
    args "$b" /bin/sh -c '/bin/probe stat /dev/null; /bin/probe stat /dev/ptmx'
    report "$b"
    assert_jq "$(echo "$out" | sed -n 1p)" '"\(.type) \(.major):\(.minor)"' "c 1:3" "/dev/null"
    assert_jq "$(echo "$out" | sed -n 2p)" '"\(.type) \(.major):\(.minor)"' "c 5:2" "/dev/ptmx"
}
