#!/bin/bash
# containerd.sh [PATTERN]: end-to-end suite of containerd 1.6 + ctr driving the runtime under
# test through the io.containerd.runc.v2 shim (`ctr run --runc-binary`). Root only.
# RUNTIME=/path/to/runtime (default ../../target/release/brick). Installs containerd with
# apt-get when missing, starts its own containerd (root, state, sockets, opt in a temp dir,
# CRI disabled), imports a busybox OCI image written here by hand, runs every case_* whose
# name matches PATTERN (grep -E), then removes everything and stops the daemon by pid.
# Output: `ok NAME` / `FAIL NAME` + trace / `skip NAME (why)`, then `N passed, N failed[, N skipped]`.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
RUNTIME=$(readlink -f "${RUNTIME:-$HERE/../../target/release/brick}")
PATTERN=${1:-}
IMG=localhost/busybox:latest

[ "$(id -u)" = 0 ] || { echo "containerd.sh: must run as root" >&2; exit 2; }
[ -x "$RUNTIME" ] || { echo "containerd.sh: runtime not found: $RUNTIME" >&2; exit 2; }

need=()
for pair in containerd:containerd ctr:containerd jq:jq python3:python3 timeout:coreutils; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}..." >&2
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y --no-install-recommends "$@" >&2; }
    apt_install "${need[@]}" || { apt-get update >&2 && apt_install "${need[@]}"; } || exit 2
fi

D=$(mktemp -d /tmp/brick-ctrd.XXXX)
chmod 711 "$D"
NS=brick-it-${D##*.}
export CONTAINERD_ADDRESS=$D/containerd.sock CONTAINERD_NAMESPACE=$NS
ARGV=$D/runtime-argv.log
WRAP=$D/runtime-wrap
mkdir -p "$D/logs" "$D/cases" "$D/share" "$D/fifo" "$D/bin"
CTRD_PID=
RUN_CTRD_EXISTED=$([ -d /run/containerd ] && echo 1)

# The runtime as the shim sees it: records argv and exit code, keeps a copy of its --log file.
cat >"$WRAP" <<EOF
#!/bin/sh
log= prev=
for a in "\$@"; do
    case \$prev in --log) log=\$a ;; esac
    case \$a in --log=*) log=\${a#--log=} ;; esac
    prev=\$a
done
echo "\$\$ \$*" >>"$ARGV"
"$RUNTIME" "\$@"
rc=\$?
echo "\$\$ rc=\$rc" >>"$ARGV"
[ -n "\$log" ] && [ -f "\$log" ] && cp "\$log" "$D/logs/\$(basename "\$(dirname "\$log")").json"
exit \$rc
EOF
chmod 755 "$WRAP"
# ctr 1.6 drops --runc-binary when it sends task options (--uidmap, --no-pivot): the shim then
# runs "runc" from its PATH, inherited from containerd, so that one is the runtime under test too.
ln -s "$WRAP" "$D/bin/runc"

# ---- image: the shared busybox OCI archive (common.sh) at $D/img/busybox-oci.tar ----
build_image() { clients_oci_image "$D/img" "$IMG"; }

# ---- containerd ----
cat >"$D/config.toml" <<EOF
version = 2
root = "$D/root"
state = "$D/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/opt"
EOF

cleanup_all() {
    local id
    if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
        for id in $(timeout -k 5 30 ctr task ls -q 2>/dev/null); do
            timeout -k 5 30 ctr task kill -s SIGKILL "$id" >/dev/null 2>&1
            timeout -k 5 30 ctr task rm -f "$id" >/dev/null 2>&1
        done
        for id in $(timeout -k 5 30 ctr c ls -q 2>/dev/null); do timeout -k 5 30 ctr c rm "$id" >/dev/null 2>&1; done
        timeout -k 5 30 ctr image rm --sync "$IMG" >/dev/null 2>&1
        for id in $(timeout -k 5 30 ctr snapshots ls 2>/dev/null | awk 'NR>1{print $1}'); do
            timeout -k 5 30 ctr snapshots rm "$id" >/dev/null 2>&1
        done
        timeout -k 5 30 ctr content ls -q 2>/dev/null | xargs -r timeout -k 5 30 ctr content rm >/dev/null 2>&1
        timeout -k 5 30 ctr namespaces rm "$NS" >/dev/null 2>&1
        kill "$CTRD_PID"
        for _ in $(seq 100); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$CTRD_PID" 2>/dev/null && kill -9 "$CTRD_PID"
    fi
    # Shims of our daemon that outlived it (they carry our socket path in argv).
    for p in $(grep -lsF -- "$D/containerd.sock" /proc/[0-9]*/cmdline | cut -d/ -f3); do
        kill -9 "$p" 2>/dev/null
    done
    # Anything still mounted under our dir (a leak, already reported by the leftovers case).
    grep -o " $D/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rmdir /sys/fs/cgroup/*/"$NS" 2>/dev/null
    # The runtime's --root of our namespace (brick keeps its seccomp cache there).
    rm -rf /run/containerd/runc/"$NS"/.seccomp-cache
    rmdir /run/containerd/runc/"$NS" 2>/dev/null
    [ -n "$RUN_CTRD_EXISTED" ] || rmdir /run/containerd/runc /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null
    rm -rf --one-file-system "$D"
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

build_image || { echo "containerd.sh: image build failed" >&2; exit 2; }
PATH=$D/bin:$PATH containerd --config "$D/config.toml" >"$D/containerd.log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
ctr version >/dev/null 2>&1 || { echo "containerd.sh: containerd did not start" >&2; tail -20 "$D/containerd.log" >&2; exit 2; }
timeout -k 5 120 ctr image import "$D/img/busybox-oci.tar" >"$D/import.log" 2>&1 &&
    ctr image ls -q | grep -qx "$IMG" || { echo "containerd.sh: image import failed" >&2; cat "$D/import.log" >&2; exit 2; }

# ---- helpers for cases (run in a subshell with set -eE) ----
c() { timeout -k 5 60 ctr "$@"; }
crun() { timeout -k 5 120 ctr run --fifo-dir "$D/fifo" --runc-binary "$WRAP" "$@"; }
cexec() { c task exec --fifo-dir "$D/fifo" "$@"; }
# out/rc of a command without tripping set -e
try() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }
fail() { echo "ASSERT: $*"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
expect_in() { case $1 in *"$2"*) ;; *) fail "$3: [$2] not in [$1]" ;; esac; }
skip() { echo "$*" >"$CASE_DIR/skip"; exit 77; }
rmc() { c task kill -s SIGKILL "$1" >/dev/null 2>&1 || true; c task rm -f "$1" >/dev/null 2>&1 || true; c c rm "$1" >/dev/null 2>&1 || true; }
task_field() { c task ls | awk -v id="$1" -v f="$2" '$1==id{print $f}'; } # 2=pid 3=status
wait_status() { for _ in $(seq 100); do [ "$(task_field "$1" 3)" = "$2" ] && return 0; sleep 0.1; done; fail "$1 never reached $2 (now $(task_field "$1" 3))"; }
cgpath() { c c info "$1" | jq -r .Spec.linux.cgroupsPath; }
cgfile() { echo "/sys/fs/cgroup/$1$(cgpath "$2")/$3"; }
# The runtime calls the shim made for container $1, one per line.
calls() { grep -F -- " $1" "$ARGV" | grep -v ' rc=' || true; }
# Start a detached sleeper named $1 with extra run flags.
sleeper() { local n=$1; shift; crun -d "$@" "$IMG" "$n" sleep 1000 >/dev/null; wait_status "$n" RUNNING; }

# ---- cases ----
case_run_rm_output() {
    try crun --rm "$IMG" $N echo hello-ctr
    expect_eq "$rc" 0 "exit code"; expect_eq "$out" hello-ctr "output"
    try c c info $N; [ $rc != 0 ] || fail "container still exists after --rm"
}
case_exit_status() {
    try crun --rm "$IMG" $N sh -c 'exit 3'
    expect_eq "$rc" 3 "exit code"
}
case_shim_argv() {
    try crun --rm "$IMG" $N true
    expect_eq "$rc" 0 "exit code"
    local bundle=$D/state/io.containerd.runtime.v2.task/$NS/$N
    local create; create=$(calls "$N" | grep ' create ' | head -1)
    echo "create call: $create"
    expect_in "$create" "--root /run/containerd/runc/$NS --log $bundle/log.json --log-format json create --bundle $bundle" "create argv"
    expect_in "$create" "--pid-file $bundle/init.pid" "create argv"
    calls "$N" | grep -q -- "--log-format json start $N" || fail "no start call"
    calls "$N" | grep -q -- "--log-format json delete" || fail "no delete call"
}
case_detach_ls_ps() {
    sleeper $N
    local pid; pid=$(task_field $N 2)
    [ "$pid" -gt 0 ] || fail "no pid in task ls"
    expect_eq "$(tr '\0' ' ' </proc/$pid/cmdline)" "sleep 1000 " "host cmdline of task pid"
    try c task ps $N
    echo "$out"
    expect_in "$out" "$pid" "task ps lists the init pid"
}
case_exec() {
    sleeper $N
    try cexec --exec-id e1 $N sh -c 'echo exec-$(cat /proc/1/cmdline | tr "\0" " ")'
    expect_eq "$rc" 0 "exec exit code"; expect_eq "$out" "exec-sleep 1000" "exec output"
    try cexec --exec-id e2 $N sh -c 'exit 5'
    expect_eq "$rc" 5 "exec exit status"
    try cexec --exec-id e3 --user 1000 --cwd /tmp $N sh -c 'echo $(id -u):$(pwd)'
    expect_eq "$out" "1000:/tmp" "exec --user --cwd"
    calls "$N" | grep -q -- "exec --process .* --detach --pid-file" || fail "no 'exec --process F --detach --pid-file' call"
}
case_exec_tty() {
    sleeper $N
    try "$PTYRUN" 60 ctr task exec --fifo-dir "$D/fifo" -t --exec-id t1 $N sh -c 'tty; [ -t 0 ] && echo stdin-is-tty'
    echo "$out"
    expect_in "$out" "/dev/pts/" "tty name"; expect_in "$out" "stdin-is-tty" "stdin is a tty"
    calls "$N" | grep -q -- "exec .*--console-socket" || fail "no exec --console-socket call"
}
case_run_tty() {
    try "$PTYRUN" 60 ctr run --fifo-dir "$D/fifo" --runc-binary "$WRAP" --rm -t "$IMG" $N sh -c 'tty; [ -t 1 ] && echo out-is-tty'
    echo "$out"
    expect_in "$out" "/dev/pts/0" "tty name"; expect_in "$out" "out-is-tty" "stdout is a tty"
}
case_pause_resume() {
    sleeper $N
    c task pause $N
    expect_eq "$(task_field $N 3)" PAUSED "status after pause"
    expect_eq "$(cat "$(cgfile freezer $N freezer.state)")" FROZEN "host freezer.state"
    c task resume $N
    expect_eq "$(task_field $N 3)" RUNNING "status after resume"
    expect_eq "$(cat "$(cgfile freezer $N freezer.state)")" THAWED "host freezer.state"
    try cexec --exec-id e1 $N echo alive
    expect_eq "$out" alive "exec after resume"
}
# `ctr run` in the foreground exits with the task's status; kill it from here.
case_kill_term() {
    crun --rm "$IMG" $N sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1 &
    local fg=$!
    wait_status $N RUNNING
    c task kill $N
    set +e; wait $fg; rc=$?; set -e
    expect_eq "$rc" 7 "exit status after SIGTERM"
}
case_kill_kill() {
    crun --rm "$IMG" $N sleep 1000 >/dev/null 2>&1 &
    local fg=$!
    wait_status $N RUNNING
    c task kill -s SIGKILL $N
    set +e; wait $fg; rc=$?; set -e
    expect_eq "$rc" 137 "exit status after SIGKILL"
}
case_kill_all() {
    sleeper $N
    cexec -d --exec-id bg $N sleep 999 >/dev/null
    local procs n=50
    # exec -d returns when the process was executed; its pid may still be settling in the list.
    while procs=$(wc -l <"$(cgfile pids $N cgroup.procs)") && [ "$procs" -lt 2 ] && [ $n -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    [ "$procs" -ge 2 ] || fail "expected 2 processes in the cgroup, got $procs"
    c task kill -a -s SIGKILL $N
    wait_status $N STOPPED
    calls "$N" | grep -q -- "kill --all $N 9" || fail "no 'kill --all ID 9' call"
}
case_memory_limit() {
    sleeper $N --memory-limit 67108864
    expect_eq "$(cat "$(cgfile memory $N memory.limit_in_bytes)")" 67108864 "host memory.limit_in_bytes"
    # ctr's spec has no cgroup mount: check membership from inside instead.
    try cexec --exec-id e1 $N cat /proc/self/cgroup
    expect_in "$out" ":memory:$(cgpath $N)" "exec joins the container's memory cgroup"
}
case_oom_kill() {
    [ "$(wc -l </proc/swaps)" -le 1 ] || skip "host has swap"
    try crun --rm --memory-limit 33554432 "$IMG" $N dd if=/dev/zero of=/dev/null bs=100M count=1
    expect_eq "$rc" 137 "exit status of an OOM-killed process"
}
case_cpu_limits() {
    sleeper $N --cpus 0.5 --cpu-shares 512
    expect_eq "$(cat "$(cgfile cpu $N cpu.cfs_quota_us)")" 50000 "cpu.cfs_quota_us"
    expect_eq "$(cat "$(cgfile cpu $N cpu.cfs_period_us)")" 100000 "cpu.cfs_period_us"
    expect_eq "$(cat "$(cgfile cpu $N cpu.shares)")" 512 "cpu.shares"
}
case_cpu_quota_period() {
    sleeper $N --cpu-quota 20000 --cpu-period 50000
    expect_eq "$(cat "$(cgfile cpu $N cpu.cfs_quota_us)")" 20000 "cpu.cfs_quota_us"
    expect_eq "$(cat "$(cgfile cpu $N cpu.cfs_period_us)")" 50000 "cpu.cfs_period_us"
}
case_metrics() {
    sleeper $N --memory-limit 67108864
    try c task metrics --format json $N
    echo "$out" | head -c 600; echo
    expect_eq "$rc" 0 "task metrics exit code"
    expect_eq "$(echo "$out" | jq -r '.. | .limit? // empty' | grep -m1 -x 67108864)" 67108864 "memory limit in metrics"
}
case_read_only() {
    try crun --rm --read-only "$IMG" $N sh -c 'touch /x'
    expect_in "$out" "Read-only file system" "write to the root"
    [ $rc != 0 ] || fail "touch / succeeded"
    try crun --rm "$IMG" $N-rw sh -c 'touch /x && echo wrote'
    expect_eq "$out" wrote "write without --read-only"
}
case_privileged() {
    local bnd; bnd=$(awk '/^CapBnd/{print $2}' /proc/self/status)
    try crun --rm --privileged "$IMG" $N sh -c 'grep CapEff /proc/self/status; ls /dev | wc -l; grep -c " /sys .*rw" /proc/self/mounts'
    echo "$out"
    expect_eq "$(echo "$out" | awk '/CapEff/{print $2}')" "$bnd" "CapEff of a privileged container"
    [ "$(echo "$out" | sed -n 2p)" -gt 20 ] || fail "privileged /dev has few entries"
    try crun --rm "$IMG" $N-np grep CapEff /proc/self/status
    [ "$(echo "$out" | awk '{print $2}')" != "$bnd" ] || fail "unprivileged container has every capability"
}
case_cap_add_drop() {
    try crun --rm --cap-add CAP_SYS_ADMIN --cap-drop CAP_CHOWN "$IMG" $N grep CapEff /proc/self/status
    local eff=$((16#$(echo "$out" | awk '{print $2}')))
    [ $((eff >> 21 & 1)) = 1 ] || fail "CAP_SYS_ADMIN missing: $out"
    [ $((eff & 1)) = 0 ] || fail "CAP_CHOWN present: $out"
}
case_seccomp() {
    try crun --rm --seccomp "$IMG" $N grep Seccomp: /proc/self/status
    expect_eq "$(echo "$out" | awk '{print $2}')" 2 "Seccomp mode with --seccomp"
    try crun --rm --allow-new-privs "$IMG" $N-np grep NoNewPrivs /proc/self/status
    expect_eq "$(echo "$out" | awk '{print $2}')" 0 "NoNewPrivs with --allow-new-privs"
    try crun --rm "$IMG" $N-nnp grep NoNewPrivs /proc/self/status
    expect_eq "$(echo "$out" | awk '{print $2}')" 1 "NoNewPrivs by default"
}
case_net_host() {
    local host; host=$(readlink /proc/self/ns/net)
    try crun --rm --net-host "$IMG" $N readlink /proc/self/ns/net
    expect_eq "$out" "$host" "net ns with --net-host"
    try crun --rm "$IMG" $N-own readlink /proc/self/ns/net
    [ "$out" != "$host" ] || fail "container without --net-host shares the host net ns"
}
case_bind_mount() {
    local s=$D/share/$N; mkdir -p "$s"; echo from-host >"$s/in"
    try crun --rm --mount "type=bind,src=$s,dst=/mnt,options=rbind:rw" "$IMG" $N sh -c 'cat /mnt/in; echo from-ctr >/mnt/out'
    expect_eq "$out" from-host "read through the bind"
    expect_eq "$(cat "$s/out")" from-ctr "write through the bind"
    try crun --rm --mount "type=bind,src=$s,dst=/mnt,options=rbind:ro" "$IMG" $N-ro sh -c 'echo x >/mnt/out2'
    expect_in "$out" "Read-only file system" "write through a ro bind"
    [ ! -e "$s/out2" ] || fail "file written through a ro bind"
}
case_env_cwd() {
    try crun --rm --env FOO=bar --cwd /tmp "$IMG" $N sh -c 'echo $FOO:$(pwd):$(readlink /proc/self/ns/uts)'
    expect_eq "${out%:uts:*}" "bar:/tmp" "env, cwd"
    [ "${out#bar:/tmp:}" != "$(readlink /proc/self/ns/uts)" ] || fail "container shares the host uts namespace"
}
case_no_pivot() {
    try crun --rm --no-pivot "$IMG" $N echo no-pivot
    expect_eq "$out" no-pivot "output with --no-pivot"
    calls "$N" | grep -q -- "create .*--no-pivot" || fail "no create --no-pivot call"
}
case_uidmap() {
    crun -d --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" $N sleep 1000 >/dev/null
    wait_status $N RUNNING
    try cexec --exec-id e1 $N sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox'
    echo "$out"
    expect_eq "$(echo $out)" "0 100000 65536 0 100000 65536 0 0" "maps, uid, owner of the image files inside"
    expect_eq "$(awk '/^Uid:/{print $2}' /proc/"$(task_field $N 2)"/status)" 100000 "host uid of the init"
}
case_leftovers() {
    # After every case removed its container: no tasks, no runtime state, no mounts, no cgroups.
    expect_eq "$(c task ls -q)" "" "tasks left"
    local st; st=$(ls -A /run/containerd/runc/"$NS" 2>/dev/null | grep -vx .seccomp-cache || true)
    expect_eq "$st" "" "runtime state left in /run/containerd/runc/$NS"
    expect_eq "$(grep -c " $D/state" /proc/self/mountinfo || true)" 0 "mounts left under the bundles"
    local cg; cg=$(find /sys/fs/cgroup/*/"$NS" -mindepth 1 -type d 2>/dev/null || true)
    expect_eq "$cg" "" "cgroups left"
}

export -f c crun cexec try fail expect_eq expect_in skip rmc task_field wait_status cgpath cgfile calls sleeper
PTYRUN=$HERE/ptyrun.py
export D NS IMG WRAP ARGV RUNTIME PTYRUN

cases=$(declare -F | awk '{print $3}' | grep '^case_' | grep -v '^case_leftovers$'; echo case_leftovers)
# shellcheck disable=SC2086
export -f $cases
CASE_TIMEOUT=${CASE_TIMEOUT:-300}
pass=0 failn=0 skipped=0 i=0
for fn in $cases; do
    name=${fn#case_}
    [ -n "$PATTERN" ] && ! echo "$name" | grep -qE -- "$PATTERN" && continue
    i=$((i + 1))
    CASE_DIR=$D/cases/$name; mkdir -p "$CASE_DIR"
    N=c$i-${name//_/-}
    # A watchdog per case: a hung client call becomes this case's failure, not a stalled suite.
    CASE_DIR=$CASE_DIR N=$N timeout -k 5 "$CASE_TIMEOUT" bash -c '
        set -eE -o pipefail
        trap "echo \"FAILED COMMAND (exit \$?): \$BASH_COMMAND\"" ERR
        "$0"' "$fn" >"$CASE_DIR/log" 2>&1 </dev/null
    rc=$?
    [ $rc = 124 ] || [ $rc = 137 ] && echo "TIMEOUT after ${CASE_TIMEOUT}s" >>"$CASE_DIR/log"
    for id in $(timeout -k 5 30 ctr c ls -q 2>/dev/null | grep "^$N" || true); do
        timeout -k 5 30 ctr task kill -s SIGKILL "$id" >/dev/null 2>&1
        timeout -k 5 30 ctr task rm -f "$id" >/dev/null 2>&1
        timeout -k 5 30 ctr c rm "$id" >/dev/null 2>&1
    done
    if [ $rc = 0 ]; then
        echo "ok $name"; pass=$((pass + 1))
    elif [ $rc = 77 ]; then
        echo "skip $name ($(cat "$CASE_DIR/skip"))"; skipped=$((skipped + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$CASE_DIR/log"
        # The runtime's side of the story: its calls for this case and its log files.
        # Calls that failed, each followed by its exit code.
        grep -F -A1 -- " $N" "$ARGV" 2>/dev/null | grep -v '^--$' | grep -B1 -E '^[0-9]+ rc=[1-9]' |
            grep -v '^--$' | sed 's/^/    runtime: /'
        for l in "$D"/logs/"$N"*.json; do [ -f "$l" ] && sed "s|^|    $(basename "$l"): |" "$l"; done
        failn=$((failn + 1))
    fi
done
[ -n "${KEEP_ARGV:-}" ] && cp "$ARGV" "$KEEP_ARGV"
echo "$pass passed, $failn failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failn = 0 ]
