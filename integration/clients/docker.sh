#!/bin/bash
# docker.sh [PATTERN]: end-to-end suite of Docker Engine (Debian's docker.io: dockerd and its
# own containerd, the runc v2 shim) driving the runtime under test, registered as a runtime
# (daemon.json "runtimes") and chosen with `docker run --runtime`. Root only.
# RUNTIME=/path/to/runtime (default ../../target/release/brick). docker.io is not installed:
# its package is downloaded (cached in DOCKER_CACHE, default /var/cache/brick-docker) and
# unpacked, so no service starts and nothing of the host's is configured. The suite's dockerd
# has its data, exec root, socket and containerd namespace in a temp dir, and runs in a network
# namespace of its own, so its docker0 bridge and iptables rules never touch the host's
# network; the cgroupfs driver with its own cgroup parent.
# It imports a busybox image made here, runs every case_* matching PATTERN (grep -E), then
# removes everything and stops the daemon by pid.
# Output: `ok NAME` / `FAIL NAME` + trace / `skip NAME (why)`, then `N passed, N failed[, N skipped]`.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
RUNTIME=$(readlink -f "${RUNTIME:-$HERE/../../target/release/brick}")
PATTERN=${1:-}
IMG=localhost/brick-busybox:latest
CACHE=${DOCKER_CACHE:-/var/cache/brick-docker}

[ "$(id -u)" = 0 ] || { echo "docker.sh: must run as root" >&2; exit 2; }
[ -x "$RUNTIME" ] || { echo "docker.sh: runtime not found: $RUNTIME" >&2; exit 2; }
# dockerd's own dependencies (containerd, runc for its default runtime, its libraries).
clients_need containerd:containerd runc:runc iptables:iptables unshare:util-linux python3:python3 \
    jq:jq timeout:coreutils || exit 2
for lib in libdevmapper.so.1.02.1:libdevmapper1.02.1 libsystemd.so.0:libsystemd0; do
    ldconfig -p | grep -q "${lib%%:*}" || clients_need "no-${lib%%:*}:${lib#*:}" || exit 2
done
if [ ! -x "$CACHE/root/usr/sbin/dockerd" ]; then
    mkdir -p "$CACHE" && chmod 755 "$CACHE"
    (cd "$CACHE" && rm -f docker.io_*.deb && apt-get download docker.io >&2 2>&1 ||
        { apt-get update >&2 && apt-get download docker.io >&2; }) || exit 2
    rm -rf "$CACHE/root" && dpkg -x "$CACHE"/docker.io_*.deb "$CACHE/root" || exit 2
fi
DOCKERD=$CACHE/root/usr/sbin/dockerd
DOCKER_BIN=$CACHE/root/usr/bin/docker

D=$(mktemp -d /tmp/brick-docker.XXXX)
chmod 711 "$D"
ARGV=$D/runtime-argv.log
WRAP=$D/runtime-wrap
RT=under-test
CGP=brick-docker.${D##*.}
mkdir -p "$D/cases" "$D/share"
: >"$ARGV"
DOCKERD_PID=
# dockerd makes these whatever its configuration says: removed again if it made them.
GLOBALS=()
for g in /etc/docker /run/docker /var/lib/docker; do [ -e "$g" ] || GLOBALS+=("$g"); done

# The runtime as the shim sees it: records argv and exit code.
cat >"$WRAP" <<EOF
#!/bin/sh
echo "\$\$ \$*" >>"$ARGV"
"$RUNTIME" "\$@"
rc=\$?
echo "\$\$ rc=\$rc" >>"$ARGV"
exit \$rc
EOF
chmod 755 "$WRAP"

cat >"$D/daemon.json" <<EOF
{
  "data-root": "$D/data",
  "exec-root": "$D/exec",
  "pidfile": "$D/docker.pid",
  "hosts": ["unix://$D/docker.sock"],
  "ip6tables": false,
  "userland-proxy": false,
  "cgroup-parent": "/$CGP",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "storage-driver": "overlay2",
  "containerd-namespace": "$CGP",
  "containerd-plugins-namespace": "$CGP-plugins",
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000}},
  "runtimes": {"$RT": {"path": "$WRAP"}}
}
EOF
export DOCKER_HOST=unix://$D/docker.sock

cleanup_all() {
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        timeout -k 5 60 "$DOCKER_BIN" rm -f $(timeout 30 "$DOCKER_BIN" ps -aq 2>/dev/null) >/dev/null 2>&1
        timeout -k 5 60 "$DOCKER_BIN" rmi -f "$IMG" >/dev/null 2>&1
        kill "$DOCKERD_PID"
        for _ in $(seq 150); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$DOCKERD_PID" 2>/dev/null && kill -9 "$DOCKERD_PID"
    fi
    # Its containerd and shims (they name our directory in argv), by pid.
    for p in $(grep -lsF -- "$D/" /proc/[0-9]*/cmdline | cut -d/ -f3); do
        [ "$p" = $$ ] || kill -9 "$p" 2>/dev/null
    done
    grep -o " $D/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    for c in /sys/fs/cgroup/*/"$CGP" /sys/fs/cgroup/"$CGP"; do
        [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    for g in "${GLOBALS[@]}"; do rm -rf --one-file-system "$g"; done
    if grep -qF -- " $D/" /proc/self/mountinfo; then
        echo "WARNING: mounts remain under $D; left it in place" >&2
    else
        rm -rf --one-file-system "$D"
    fi
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

clients_image "$D" >/dev/null || { echo "docker.sh: image build failed" >&2; exit 2; }
# Its own network namespace: docker0, its iptables rules and ip_forward are that namespace's.
unshare --net -- "$DOCKERD" --config-file "$D/daemon.json" >"$D/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do "$DOCKER_BIN" version >/dev/null 2>&1 && break; sleep 0.1; done
"$DOCKER_BIN" version >/dev/null 2>&1 || { echo "docker.sh: dockerd did not start" >&2; tail -20 "$D/dockerd.log" >&2; exit 2; }
"$DOCKER_BIN" import -c 'CMD ["/bin/sh"]' "$D/rootfs.tar" "$IMG" >"$D/import.log" 2>&1 ||
    { echo "docker.sh: image import failed" >&2; cat "$D/import.log" >&2; exit 2; }
rm -f "$D/rootfs.tar"
echo "# runtime $RUNTIME, $("$DOCKER_BIN" version -f 'docker {{.Server.Version}}, containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}')"

# ---- helpers for cases (run in a subshell with set -eE) ----
dk() { timeout -k 5 120 "$DOCKER_BIN" "$@"; }
drun() { dk run --runtime "$RT" --network none "$@"; }
try() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }
fail() { echo "ASSERT: $*"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
expect_in() { case $1 in *"$2"*) ;; *) fail "$3: [$2] not in [$1]" ;; esac; }
skip() { echo "$*" >"$CASE_DIR/skip"; exit 77; }
field() { dk inspect -f "$2" "$1"; }
until_true() {
    local n=$(($1 * 10))
    shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    fail "timed out waiting for: $*"
}
running() { [ "$(field "$1" '{{.State.Status}}')" = running ]; }
# sleeper NAME [FLAGS...]: a detached container NAME running sleep 1000.
sleeper() { local n=$1; shift; drun -d --name "$n" "$@" "$IMG" sleep 1000 >/dev/null; until_true 10 running "$n"; }
# cgfile CONTROLLER NAME FILE: the container's cgroup file on the host (v1 hierarchy, or v2).
cgfile() {
    local pid rel
    pid=$(field "$2" '{{.State.Pid}}')
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        rel=$(awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup")
        echo "/sys/fs/cgroup$rel/$3"
    else
        rel=$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
        echo "/sys/fs/cgroup/$1$rel/$3"
    fi
}
caps_of() { sed -n "s/^$1:[[:space:]]*//p" <<<"$2"; }
used_runtime() { grep -q " create .*$(field "$1" '{{.Id}}')" "$ARGV" || fail "the runtime under test did not create $1"; }

# ---- cases ----
case_run_rm() {
    try drun --rm "$IMG" echo hello docker
    expect_eq "$out" "hello docker" "output"
    expect_eq "$(dk ps -aq)" "" "containers left after --rm"
    grep -q ' create ' "$ARGV" || fail "the runtime under test was never called"
}
case_exit_codes() {
    try drun --rm "$IMG" sh -c 'exit 3'
    expect_eq "$rc" 3 "exit status"
    try drun --rm "$IMG" false
    expect_eq "$rc" 1 "exit status of false"
    try drun --rm "$IMG" /no/such/binary
    expect_eq "$rc" 127 "a missing executable"
}
case_run_tty() {
    out=$("$PTYRUN" 60 "$DOCKER_BIN" run -it --rm --runtime "$RT" --network none "$IMG" sh -c 'tty; stty size' </dev/null | tr -d '\r')
    expect_in "$out" "/dev/pts/" "run -it has a pty"
}
case_exec() {
    sleeper "$N"
    used_runtime "$N"
    expect_eq "$(dk exec "$N" cat /proc/1/cmdline | tr '\0' ' ')" "sleep 1000 " "pid 1 seen by exec"
    try dk exec "$N" sh -c 'exit 5'
    expect_eq "$rc" 5 "exec exit status"
    expect_eq "$(dk exec -e FOO=bar -w /tmp "$N" sh -c 'echo $FOO $(pwd)')" "bar /tmp" "exec env and workdir"
    out=$("$PTYRUN" 60 "$DOCKER_BIN" exec -it "$N" tty </dev/null | tr -d '\r')
    expect_in "$out" "/dev/pts/" "exec -it has a pty"
}
case_logs() {
    drun -d --name "$N" "$IMG" sh -c 'echo to-stdout; echo to-stderr >&2; exec sleep 1000' >/dev/null
    until_true 10 sh -c "'$DOCKER_BIN' logs $N 2>&1 | grep -q to-stderr"
    expect_eq "$(dk logs "$N" 2>/dev/null)" to-stdout "stdout log"
    expect_eq "$(dk logs "$N" 2>&1 >/dev/null)" to-stderr "stderr log"
}
case_stop_kill() {
    drun -d --name "$N" "$IMG" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
    until_true 10 running "$N"
    dk stop -t 20 "$N" >/dev/null
    expect_eq "$(field "$N" '{{.State.ExitCode}}')" 0 "exit code after TERM"
    dk rm "$N" >/dev/null
    # pid 1 without a handler ignores TERM: stop escalates to KILL after the timeout
    sleeper "$N"
    dk stop -t 1 "$N" >/dev/null
    expect_eq "$(field "$N" '{{.State.ExitCode}}')" 137 "exit code after KILL"
    dk rm "$N" >/dev/null
    drun -d --name "$N" "$IMG" sh -c 'trap "echo got-usr1; exit 7" USR1; while :; do sleep 0.1; done' >/dev/null
    until_true 10 running "$N"
    dk kill -s USR1 "$N" >/dev/null
    expect_eq "$(dk wait "$N")" 7 "exit code after USR1"
    expect_in "$(dk logs "$N")" got-usr1 "the handler ran"
}
case_restart_policy() {
    drun -d --name "$N" --restart on-failure:2 "$IMG" sh -c 'exit 1' >/dev/null
    until_true 30 sh -c "[ \"\$('$DOCKER_BIN' inspect -f '{{.RestartCount}} {{.State.Status}}' $N)\" = '2 exited' ]"
    expect_eq "$(field "$N" '{{.State.ExitCode}}')" 1 "exit code of the last run"
}
case_read_only() {
    try drun --rm --read-only --tmpfs /tmp "$IMG" sh -c 'touch /x; touch /tmp/y && echo tmp-ok'
    expect_in "$out" "Read-only file system" "write to the read-only root"
    expect_in "$out" tmp-ok "--tmpfs /tmp is writable"
}
case_cap_drop_all_no_new_privs() {
    try drun --rm --cap-drop ALL --security-opt no-new-privileges "$IMG" cat /proc/self/status
    expect_eq "$(caps_of CapEff "$out")" 0000000000000000 CapEff
    expect_eq "$(caps_of CapBnd "$out")" 0000000000000000 CapBnd
    expect_eq "$(caps_of NoNewPrivs "$out")" 1 NoNewPrivs
    expect_eq "$(caps_of Seccomp "$out")" 2 "docker's seccomp profile"
    # Docker's default set, for comparison.
    try drun --rm "$IMG" cat /proc/self/status
    expect_eq "$(caps_of CapEff "$out")" 00000000a80425fb "docker's default CapEff"
}
case_memory_pids_limits() {
    sleeper "$N" --memory 64m --memory-swap 64m --pids-limit 20
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        expect_eq "$(cat "$(cgfile memory "$N" memory.max)")" 67108864 memory.max
    else
        expect_eq "$(cat "$(cgfile memory "$N" memory.limit_in_bytes)")" 67108864 memory.limit_in_bytes
    fi
    expect_eq "$(cat "$(cgfile pids "$N" pids.max)")" 20 pids.max
    try dk exec "$N" sh -c 'for i in $(seq 30); do sleep 30 & done; wait'
    expect_in "$out" "fork" "fork past pids.max"
}
case_update() {
    sleeper "$N" --memory 64m --memory-swap 64m
    dk update --memory 128m --memory-swap 128m --pids-limit 50 "$N" >/dev/null
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        expect_eq "$(cat "$(cgfile memory "$N" memory.max)")" 134217728 memory.max
    else
        expect_eq "$(cat "$(cgfile memory "$N" memory.limit_in_bytes)")" 134217728 memory.limit_in_bytes
    fi
    expect_eq "$(cat "$(cgfile pids "$N" pids.max)")" 50 pids.max
    grep -q " update " "$ARGV" || fail "docker update did not reach the runtime"
}
case_pause_unpause() {
    drun -d --name "$N" "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null
    until_true 10 running "$N"
    dk pause "$N" >/dev/null
    expect_eq "$(field "$N" '{{.State.Status}}')" paused "status after pause"
    local pid c1
    pid=$(field "$N" '{{.State.Pid}}')
    c1=$(cat "/proc/$pid/root/tmp/n")
    # An observation window (the counter moves every 100 ms when it runs), not a wait.
    sleep 0.5
    expect_eq "$(cat "/proc/$pid/root/tmp/n")" "$c1" "counter moved while paused"
    dk unpause "$N" >/dev/null
    until_true 5 sh -c "[ \"\$(cat /proc/$pid/root/tmp/n)\" != $c1 ]"
}
case_user() {
    expect_eq "$(drun --rm --user 1000:1000 "$IMG" sh -c 'echo $(id -u):$(id -g)')" "1000:1000" "--user"
    try drun --rm --user 1000 "$IMG" grep CapEff /proc/self/status
    expect_eq "$(caps_of CapEff "$out")" 0000000000000000 "CapEff of a non-root user"
}
case_volumes() {
    mkdir -p "$D/share/$N/rw" "$D/share/$N/ro"
    echo from-host >"$D/share/$N/ro/f"
    try drun --rm -v "$D/share/$N/rw:/data" -v "$D/share/$N/ro:/ro:ro" "$IMG" \
        sh -c 'echo from-container > /data/f; cat /ro/f; echo x > /ro/g 2>&1 || echo ro-refused'
    expect_eq "$(cat "$D/share/$N/rw/f")" from-container "file written in the volume"
    expect_in "$out" from-host "read through the volume"
    expect_in "$out" ro-refused "write to a :ro volume"
}
case_tmpfs() {
    try drun --rm --tmpfs /scratch:rw,size=1m "$IMG" \
        sh -c 'grep " /scratch " /proc/mounts; dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>&1 || echo full'
    expect_in "$out" "tmpfs /scratch tmpfs" "tmpfs mount"
    expect_in "$out" "size=1024k" "tmpfs size"
    expect_in "$out" full "tmpfs size enforced"
}
case_network_none() {
    expect_eq "$(drun --rm "$IMG" ls /sys/class/net | xargs)" lo "interfaces with --network none"
}
case_network_bridge() {
    try dk run --runtime "$RT" --rm --network bridge "$IMG" \
        sh -c 'ip -4 addr show eth0 | grep -o "inet [0-9.]*"; ip route | grep default; ping -c 1 -W 5 172.17.0.1 >/dev/null && echo gw-ok'
    expect_eq "$rc" 0 "run on the default bridge"
    expect_in "$out" "inet 172.17." "an address on docker0's network"
    expect_in "$out" "default via 172.17.0.1" "the bridge is the default route"
    expect_in "$out" gw-ok "the bridge answers"
    ip link show docker0 >/dev/null 2>&1 && fail "a docker0 appeared on the host"
    return 0
}
case_leftovers() {
    dk rm -f $(dk ps -aq) >/dev/null 2>&1 || true
    local st
    st=$(find "$D/exec" -path "*runtime-$RT*" -name state.json 2>/dev/null || true)
    expect_eq "$st" "" "runtime state left"
    expect_eq "$(grep -c " $D/data/overlay2" /proc/self/mountinfo || true)" 0 "rootfs mounts left"
    local cg
    cg=$(find /sys/fs/cgroup/*/"$CGP" /sys/fs/cgroup/"$CGP" -mindepth 1 -type d 2>/dev/null || true)
    expect_eq "$cg" "" "cgroups left"
}

export -f dk drun try fail expect_eq expect_in skip field until_true running sleeper cgfile caps_of used_runtime
PTYRUN=$HERE/ptyrun.py
export D IMG WRAP ARGV RUNTIME RT CGP DOCKER_BIN PTYRUN

cases=$(declare -F | awk '{print $3}' | grep '^case_' | grep -v '^case_leftovers$'; echo case_leftovers)
# shellcheck disable=SC2086
export -f $cases
CASE_TIMEOUT=${CASE_TIMEOUT:-300}
pass=0 failn=0 skipped=0 i=0
for fn in $cases; do
    name=${fn#case_}
    [ -n "$PATTERN" ] && ! echo "$name" | grep -qE -- "$PATTERN" && continue
    i=$((i + 1))
    CASE_DIR=$D/cases/$name
    mkdir -p "$CASE_DIR"
    N=c$i-${name//_/-}
    before=$(wc -l <"$ARGV")
    # A watchdog per case: a hung client call becomes this case's failure, not a stalled suite.
    CASE_DIR=$CASE_DIR N=$N timeout -k 5 "$CASE_TIMEOUT" bash -c '
        set -eE -o pipefail
        trap "echo \"FAILED COMMAND (exit \$?): \$BASH_COMMAND\"" ERR
        "$0"' "$fn" >"$CASE_DIR/log" 2>&1 </dev/null
    rc=$?
    [ $rc = 124 ] || [ $rc = 137 ] && echo "TIMEOUT after ${CASE_TIMEOUT}s" >>"$CASE_DIR/log"
    timeout -k 5 60 "$DOCKER_BIN" rm -f "$N" >/dev/null 2>&1
    if [ $rc = 0 ]; then
        echo "ok $name"; pass=$((pass + 1))
    elif [ $rc = 77 ]; then
        echo "skip $name ($(cat "$CASE_DIR/skip"))"; skipped=$((skipped + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$CASE_DIR/log"
        # The runtime calls of this case that failed, each followed by its exit code.
        tail -n +"$((before + 1))" "$ARGV" | grep -B1 -E '^[0-9]+ rc=[1-9]' | grep -v '^--$' |
            sed 's/^/    runtime: /'
        failn=$((failn + 1))
    fi
done
echo "$pass passed, $failn failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failn = 0 ]
