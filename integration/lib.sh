# lib.sh: helpers for brick's black-box integration suite (sourced by run.sh and the tests).
# Set by run.sh: IT_DIR RUNTIME RUNTIME_NAME RUN_TMP RUNID TEMPLATE_ROOTFS; per test: T STATE_ROOT
# CG_PREFIX TEST_NAME. fd 3 is the test's log (trace lines land there, not in captured output).

# ---------------------------------------------------------------- runtime and bundles

_trace() { echo "+ $*" >&3; }

# rt ARGS...: run the runtime under test with the test's state root; remember pids it starts.
# IT_SYSTEMD=1 (the VM's systemd boot) adds --systemd-cgroup: bundles name scopes (sd_prefix).
rt() {
    _trace "$RUNTIME_NAME $*"
    local rc=0
    "$RUNTIME" ${IT_SYSTEMD:+--systemd-cgroup} --root "$STATE_ROOT" "$@" || rc=$?
    _track_after "$STATE_ROOT" "$@"
    [ $rc = 0 ] || echo "+ ($RUNTIME_NAME $1 ... exited $rc)" >&3
    return $rc
}

# rt_root ROOT ARGS...: like rt with another state root (registered for the leak check).
rt_root() {
    local root=$1
    shift
    grep -qxF "$root" "$T/.roots" 2>/dev/null || echo "$root" >>"$T/.roots"
    _trace "$RUNTIME_NAME --root $root $*"
    local rc=0
    "$RUNTIME" --root "$root" "$@" || rc=$?
    _track_after "$root" "$@"
    return $rc
}

# After create or run -d, note the container's pid so the leak check can find it later.
_track_after() {
    local root=$1 verb="" a detach=0 id=""
    shift
    for a in "$@"; do
        case "$a" in
        create | run) [ -z "$verb" ] && verb=$a ;;
        -d | --detach) detach=1 ;;
        esac
        id=$a
    done
    if [ "$verb" = create ] || { [ "$verb" = run ] && [ $detach = 1 ]; }; then
        local pid
        pid=$("$RUNTIME" --root "$root" state "$id" 2>/dev/null </dev/null | jq -r '.pid // empty' 2>/dev/null) || true
        [ -n "$pid" ] && [ "$pid" != 0 ] && track_pid "$pid"
    fi
    return 0
}

# track_pid PID: a container process this test started; it must be gone when the test ends.
track_pid() { echo "$1 $(_starttime "$1")" >>"$T/.pids"; }

# default_cgroup ID: the test runs ID without a cgroupsPath, at the runtime's default
# /brick/ID; the leak check and the cleanup then cover that path too.
default_cgroup() { echo "$1" >>"$T/.default_cgroups"; }

# sd_prefix: the systemd unit prefix of this test's scopes ("slice:prefix:name" cgroupsPath).
sd_prefix() { echo "brick-it-$RUNID-t$TEST_IDX"; }

# cg_rel B: bundle B's cgroup below /sys/fs/cgroup (its scope's under IT_SYSTEMD).
cg_rel() {
    if [ -n "${IT_SYSTEMD:-}" ]; then
        echo "/system.slice/$(sd_prefix)-$(basename "$1").scope"
    else
        jq -r .linux.cgroupsPath "$1/config.json"
    fi
}

# _test_cgroup_dirs: every cgroup directory this test's containers may have.
_test_cgroup_dirs() {
    local id
    ls -d /sys/fs/cgroup/*/"${CG_PREFIX#/}"-* /sys/fs/cgroup/"${CG_PREFIX#/}"-* 2>/dev/null
    ls -d /sys/fs/cgroup/system.slice/"$(sd_prefix)"-* 2>/dev/null
    [ -f "$T/.default_cgroups" ] || return 0
    while read -r id; do
        ls -d /sys/fs/cgroup/*/brick/"$id" /sys/fs/cgroup/brick/"$id" 2>/dev/null
    done <"$T/.default_cgroups"
}

# helper_pid PID: a host helper this test started; killed after the test, not a leak.
helper_pid() { echo "$1" >>"$T/.helpers"; }

_starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

# make_bundle DIR: rootfs copied from the template plus config.json from config.base.json.
make_bundle() {
    local b=$1
    mkdir -p "$b"
    # Hard links keep this fast; the few files tests may rewrite are real copies.
    cp -al "$TEMPLATE_ROOTFS" "$b/rootfs"
    for f in etc/passwd etc/group; do
        cp --remove-destination --preserve=ownership "$TEMPLATE_ROOTFS/$f" "$b/rootfs/$f"
    done
    local cg="$CG_PREFIX-$(basename "$b")"
    [ -z "${IT_SYSTEMD:-}" ] || cg="system.slice:$(sd_prefix):$(basename "$b")"
    jq --arg cg "$cg" '.linux.cgroupsPath = $cg' "$IT_DIR/config.base.json" >"$b/config.json"
    [ -z "${IT_ROOTLESS:-}" ] || rootless_bundle "$b"
}

# rootless_bundle DIR: the rootless pass's form of a bundle: a user namespace mapping the
# user to root and container ids 1-65536 to its subordinate range; the bundle is the user's.
rootless_bundle() {
    cfg "$1" '.linux.namespaces += [{"type": "user"}]
        | .linux.uidMappings = [{"containerID": 0, "hostID": $u, "size": 1},
                                {"containerID": 1, "hostID": $su, "size": 65536}]
        | .linux.gidMappings = [{"containerID": 0, "hostID": $g, "size": 1},
                                {"containerID": 1, "hostID": $sg, "size": 65536}]' \
        --argjson u "$IT_UID" --argjson g "$IT_GID" --argjson su "$IT_SUBUID" --argjson sg "$IT_SUBGID"
    chown "$IT_UID:$IT_GID" "$1" "$1/config.json"
}

# shellcheck source=test-user.sh
. "$IT_DIR/test-user.sh"

# as_user XDG ARGS...: the runtime run by the test user with XDG_RUNTIME_DIR=XDG and no --root.
as_user() {
    local xdg=$1
    shift
    _trace "(as $IT_USER) $RUNTIME_NAME $*"
    (umask 022 && exec setpriv --reuid="$IT_UID" --regid="$IT_GID" --clear-groups \
        env XDG_RUNTIME_DIR="$xdg" "$RUNTIME_REAL" "$@")
}

# user_bundle: a bundle for the test user's runtime (rootless_bundle's form), made the user's.
user_bundle() {
    local b
    b=$(bundle_new)
    [ -n "${IT_ROOTLESS:-}" ] || rootless_bundle "$b"
    echo "$b"
}

# host_gid GID: the host's gid for container gid GID (rootless_bundle's map; else itself).
host_gid() {
    if [ -z "${IT_ROOTLESS:-}" ]; then echo "$1"
    elif [ "$1" = 0 ]; then echo "$IT_GID"
    else echo $((IT_SUBGID + $1 - 1)); fi
}

# user_owns PATH...: rootless, PATH (a host directory a test binds in) becomes the user's,
# so the container's root can write it as root's tests do.
user_owns() { [ -z "${IT_ROOTLESS:-}" ] || chown -R "$IT_UID:$IT_GID" "$@"; }

# needs_root REASON: skip in the rootless pass (for a test that is root's by nature).
needs_root() { [ -z "${IT_ROOTLESS:-}" ] || skip "rootless: $*"; }

# cfg DIR 'jq-expression' [jq args...]: edit DIR/config.json in place.
cfg() {
    local b=$1 expr=$2
    shift 2
    jq "$expr" "$@" <"$b/config.json" >"$b/config.json.new" || {
        echo "cfg: jq failed: $expr" >&2
        return 1
    }
    mv "$b/config.json.new" "$b/config.json"
}

# args DIR ARG...: set process.args.
args() {
    local b=$1
    shift
    cfg "$b" '.process.args = $ARGS.positional' --args -- "$@"
}

# bundle_new [NAME]: make a bundle under $T and print its path.
# Counters live in files: these are usually called inside $(...).
_next() {
    local n
    n=$(($(cat "$T/.n.$1" 2>/dev/null || echo 0) + 1))
    echo $n >"$T/.n.$1"
    echo $n
}
bundle_new() {
    local b="$T/${1:-b$(_next bundle)}"
    make_bundle "$b" >&2
    echo "$b"
}

# new_id: a fresh container id.
new_id() { echo "it${TEST_IDX:-0}-$(_next id)"; }

# ---------------------------------------------------------------- running things

# run CMD...: capture stdout in $out, stderr in $err and the exit code in $rc; never fails.
# Output goes through files, not pipes, so detached containers cannot hold them open.
run() {
    _trace "run: $*"
    "$@" >"$T/.run.out" 2>"$T/.run.err" </dev/null && rc=0 || rc=$?
    out=$(cat "$T/.run.out")
    err=$(cat "$T/.run.err")
    return 0
}

# report B: run the bundle in the foreground and leave the container's stdout in $out.
report() {
    local b=$1 id
    id=$(new_id)
    run rt run -b "$b" "$id"
    if [ "$rc" != 0 ]; then
        _fail "runtime run of $b exited $rc" "stdout: $out" "stderr: $err"
    fi
}

# state_of ID: the state JSON.
state_of() { rt state "$1" </dev/null; }

status_of() { rt state "$1" </dev/null 2>/dev/null | jq -r .status; }

pid_of() { rt state "$1" </dev/null | jq -r .pid; }

# wait_status ID STATUS [SECONDS]
wait_status() {
    local id=$1 want=$2 n=$((${3:-5} * 20)) s=""
    while [ $n -gt 0 ]; do
        s=$(status_of "$id")
        [ "$s" = "$want" ] && return 0
        sleep 0.05
        n=$((n - 1))
    done
    _fail "container $id did not reach status '$want'" "last status: '$s'"
}

# wait_file PATH [SECONDS]: until PATH exists and is non-empty.
wait_file() {
    local f=$1 n=$((${2:-5} * 20))
    while [ $n -gt 0 ]; do
        [ -s "$f" ] || [ -S "$f" ] && return 0
        sleep 0.05
        n=$((n - 1))
    done
    _fail "file $f did not appear"
}

# wait_gone PID [SECONDS]
wait_gone() {
    local p=$1 n=$((${2:-5} * 20))
    while [ $n -gt 0 ]; do
        alive "$p" || return 0
        sleep 0.05
        n=$((n - 1))
    done
    _fail "process $p still alive"
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD until it succeeds; fail the test at the deadline.
wait_until() {
    local n=$(($1 * 20)) what=$2
    shift 2
    while [ $n -gt 0 ]; do
        "$@" 2>/dev/null && return 0
        sleep 0.05
        n=$((n - 1))
    done
    _fail "timed out waiting: $what" "command: $*"
}

# children_at_least PID N: PID has at least N child processes.
children_at_least() { [ "$(wc -w <"/proc/$1/task/$1/children")" -ge "$2" ]; }

# _sleeping PID: PID, or a child of it, runs `/bin/probe sleep` (a workload's last step).
_sleeping() {
    local p
    for p in "$1" $(cat "/proc/$1/task/$1/children" 2>/dev/null); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^/bin/probe sleep' && return 0
    done
    return 1
}

# wait_sleeping ID: until the container's workload has reached its final `probe sleep`.
wait_sleeping() {
    wait_until 10 "container $1 to reach its final probe sleep" _sleeping "$(pid_of "$1")"
}

# caught PID SIGNAL: PID has a handler for SIGNAL (as pid 1 it ignores signals without one).
caught() {
    local n mask
    n=${2#SIG}
    case "$n" in *[!0-9]*) n=$(kill -l "$n") ;; esac
    mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status") || return 1
    [ $(((0x$mask >> (n - 1)) & 1)) = 1 ]
}

# has_own_ns PID TYPE: PID's TYPE namespace is not the test's own.
has_own_ns() {
    local theirs
    theirs=$(stat -L -c %i "/proc/$1/ns/$2" 2>/dev/null) || return 1
    [ -n "$theirs" ] && [ "$theirs" != "$(stat -L -c %i "/proc/self/ns/$2")" ]
}

# wait_own_ns PID TYPE...: until PID (a helper that unshares) has its own namespaces.
wait_own_ns() {
    local p=$1 t
    shift
    for t in "$@"; do
        wait_until 10 "process $p to have its own $t namespace" has_own_ns "$p" "$t"
    done
}

# alive PID: exists and is not a zombie.
alive() {
    local st
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

is_brick() { [ "$RUNTIME_NAME" = brick ]; }
is_runc() { [ "$RUNTIME_NAME" = runc ]; }

# skip REASON: end the test as skipped.
skip() {
    echo "$*" >"$T/.skip"
    exit 77
}

# ---------------------------------------------------------------- assertions

_fail() {
    {
        echo "ASSERTION FAILED: $1"
        shift
        local l
        for l in "$@"; do echo "  $l"; done
        echo "  at: ${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]} (${FUNCNAME[2]})"
    } >&3
    exit 1
}

assert_eq() { [ "$1" = "$2" ] || _fail "${3:-values differ}" "expected: '$1'" "actual:   '$2'"; }
assert_ne() { [ "$1" != "$2" ] || _fail "${3:-values should differ}" "both: '$1'"; }

assert_contains() {
    case "$1" in *"$2"*) ;; *) _fail "${3:-text does not contain '$2'}" "text: $1" ;; esac
}
assert_not_contains() {
    case "$1" in *"$2"*) _fail "${3:-text contains '$2'}" "text: $1" ;; esac
}

# assert_ok [MSG]: the last `run` exited 0.
assert_ok() { [ "$rc" = 0 ] || _fail "${1:-expected success}" "exit: $rc" "stdout: $out" "stderr: $err"; }

# assert_rc N [MSG]
assert_rc() { [ "$rc" = "$1" ] || _fail "${2:-wrong exit code}" "expected exit: $1" "actual exit: $rc" "stdout: $out" "stderr: $err"; }

# assert_fail [MSG]: the last `run` exited non-zero and said something on stderr.
assert_fail() {
    [ "$rc" != 0 ] || _fail "${1:-expected failure}" "exit: 0" "stdout: $out" "stderr: $err"
    [ -n "$err" ] || _fail "${1:-expected an error message on stderr}" "exit: $rc" "stdout: $out" "stderr is empty"
}

# jq_of JSON EXPR: jq -r on a string.
jq_of() { printf '%s' "$1" | jq -r "${@:2}"; }

# assert_jq JSON EXPR EXPECTED [MSG]: jq -r EXPR on JSON equals EXPECTED.
assert_jq() {
    local got
    got=$(printf '%s' "$1" | jq -r "$2" 2>&1) || _fail "jq '$2' failed" "json: ${1:0:2000}" "jq: $got"
    [ "$got" = "$3" ] || _fail "${4:-jq '$2'}" "expected: '$3'" "actual:   '$got'"
}

# assert_jq_true JSON EXPR [MSG]
assert_jq_true() { assert_jq "$1" "$2" true "${3:-jq '$2' is not true}"; }

# mount_of JSON MOUNTPOINT: the report's mount entry (the top one) for MOUNTPOINT.
mount_of() { printf '%s' "$1" | jq -c --arg m "$2" '[.mounts[] | select(.mountpoint == $m)] | last'; }

# assert_mount_opt JSON MOUNTPOINT OPT: OPT is in the per-mount or super options.
assert_mount_opt() {
    local m
    m=$(mount_of "$1" "$2")
    [ "$m" != null ] || _fail "no mount at $2" "mounts: $(jq_of "$1" '[.mounts[].mountpoint] | join(" ")')"
    jq_of "$m" --arg o "$3" '(.options + .super) | index($o) != null' | grep -qx true ||
        _fail "mount $2 lacks option $3" "mount: $m"
}
assert_no_mount_opt() {
    local m
    m=$(mount_of "$1" "$2")
    jq_of "$m" --arg o "$3" '(.options + .super) | index($o) == null' | grep -qx true ||
        _fail "mount $2 has option $3" "mount: $m"
}

# ---------------------------------------------------------------- leak check and cleanup

# leak_check: prints each leak; returns non-zero if anything the test made is left behind.
leak_check() {
    local bad=0 root e pid st
    for root in "$STATE_ROOT" $(cat "$T/.roots" 2>/dev/null); do
        # brick's compiled-seccomp cache (.seccomp-cache) is shared by design, not a leak.
        if [ -d "$root" ] && [ -n "$(ls -A "$root" | grep -vx '.seccomp-cache')" ]; then
            echo "LEAK: state left in $root: $(ls -A "$root" | tr '\n' ' ')"
            bad=1
        fi
    done
    if grep -F -- "$T" /proc/self/mountinfo >/dev/null; then
        echo "LEAK: mounts left under $T:"
        grep -F -- "$T" /proc/self/mountinfo | awk '{ print "  " $5 " " $0 }' | cut -c1-200
        bad=1
    fi
    if [ -f "$T/.pids" ]; then
        while read -r pid st; do
            if alive "$pid" && [ "$(_starttime "$pid")" = "$st" ]; then
                echo "LEAK: container process $pid still running: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
                bad=1
            fi
        done <"$T/.pids"
    fi
    for e in $(grep -l -- "$CG_PREFIX-" /proc/[0-9]*/cgroup 2>/dev/null); do
        pid=${e#/proc/}
        pid=${pid%/cgroup}
        if [ "$pid" != self ] && [ "$pid" != thread-self ]; then
            if alive "$pid"; then
                echo "LEAK: process $pid left in the test's cgroup: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
                bad=1
            fi
        fi
    done
    # Scopes of this test's containers (systemd hosts): gone when their processes are.
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] &&
        e=$(systemctl list-units --all --plain --no-legend "$(sd_prefix)-*" 2>/dev/null) && [ -n "$e" ]; then
        echo "LEAK: systemd units left: $e"
        bad=1
    fi
    # v1 (and hybrid) hierarchies, then a pure cgroup2 mount at /sys/fs/cgroup.
    for e in $(_test_cgroup_dirs); do
        [ -d "$e" ] || continue
        echo "LEAK: cgroup left: $e"
        bad=1
    done
    return $bad
}

# cleanup_test: undo whatever a (failed) test left, so one leak does not cascade.
cleanup_test() {
    local root id pid st e m i
    for root in "$STATE_ROOT" $(cat "$T/.roots" 2>/dev/null); do
        [ -d "$root" ] || continue
        for id in $(ls -A "$root"); do
            timeout 10 "$RUNTIME" --root "$root" delete --force "$id" >/dev/null 2>&1 </dev/null
        done
    done
    for f in "$T/.pids" "$T/.helpers"; do
        [ -f "$f" ] || continue
        while read -r pid st; do
            alive "$pid" && kill -9 "$pid" 2>/dev/null
        done <"$f"
    done
    for e in $(grep -l -- "$CG_PREFIX-" /proc/[0-9]*/cgroup 2>/dev/null); do
        pid=${e#/proc/}
        kill -9 "${pid%/cgroup}" 2>/dev/null
    done
    for i in 1 2 3 4 5; do
        m=$(grep -F -- "$T" /proc/self/mountinfo | awk '{ print $5 }' | sort -r)
        [ -z "$m" ] && break
        for e in $m; do umount -l "$e" 2>/dev/null; done
    done
    sleep 0.05
    for e in $(_test_cgroup_dirs | sort -r); do
        for pid in $(cat "$e/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        find "$e" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    # Never rm across a mount that survived (it could be a bind of a host path).
    if grep -qF -- "$T" /proc/self/mountinfo; then
        echo "WARNING: mounts still under $T; not removing it" >&2
    else
        rm -rf --one-file-system "$T"
    fi
}
