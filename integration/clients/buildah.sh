#!/bin/bash
# buildah.sh [PATTERN]: end-to-end suite of buildah driving the runtime under test
# (`buildah run --runtime`, `buildah bud --runtime`). Root only.
# RUNTIME=/path/to/runtime (default ../../target/release/brick). Installs buildah with apt-get
# when missing; configures it only through files in a temp dir (CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF, --root/--runroot, --signature-policy);
# imports a busybox OCI archive written here by hand; runs every case_* matching PATTERN
# (grep -E); then removes containers, images, storage and mounts.
# Output: `ok NAME` / `FAIL NAME` + trace / `skip NAME (why)`, then `N passed, N failed[, N skipped]`.
# ROOTLESS=1: buildah (and so the runtime) run by a normal user (test-user.sh), as rootless
# buildah runs: in its own user namespace, storage and runtime state the user's.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
RUNTIME=$(readlink -f "${RUNTIME:-$HERE/../../target/release/brick}")
PATTERN=${1:-}
IMG=localhost/busybox:latest

[ "$(id -u)" = 0 ] || { echo "buildah.sh: must run as root" >&2; exit 2; }
[ -x "$RUNTIME" ] || { echo "buildah.sh: runtime not found: $RUNTIME" >&2; exit 2; }

need=()
for pair in buildah:buildah jq:jq timeout:coreutils newuidmap:uidmap setpriv:util-linux; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}..." >&2
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=600 -y --no-install-recommends "$@" >&2; }
    apt_install "${need[@]}" || { apt-get update >&2 && apt_install "${need[@]}"; } || exit 2
fi

D=$(mktemp -d /tmp/brick-buildah.XXXX)
chmod 711 "$D"
ARGV=$D/runtime-argv.log
WRAP=$D/runtime-wrap
mkdir -p "$D/logs" "$D/cases" "$D/share" "$D/tmp" "$D/net" "$D/img"
: >"$ARGV"

# The runtime as buildah sees it: records argv and exit code, keeps each bundle's config.json.
cat >"$WRAP" <<EOF
#!/bin/sh
bundle= prev= verb=
for a in "\$@"; do
    case \$prev in --bundle|-b) bundle=\$a ;; esac
    case \$a in create|start|state|delete|kill|run|exec) [ -z "\$verb" ] && verb=\$a ;; esac
    prev=\$a
done
echo "\$\$ \$*" >>"$ARGV"
[ "\$verb" = create ] && [ -f "\$bundle/config.json" ] && cp "\$bundle/config.json" "$D/logs/config.\$\$.json"
"$RUNTIME" "\$@"
rc=\$?
echo "\$\$ rc=\$rc" >>"$ARGV"
exit \$rc
EOF
chmod 755 "$WRAP"

# ---- image: the shared busybox OCI archive (common.sh) at $D/img/busybox-oci.tar ----
build_image() { clients_oci_image "$D/img" "$IMG"; }

# ---- buildah's configuration: our files only ----
cat >"$D/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$D/events.log"
tmp_dir = "$D/tmp"
[network]
network_config_dir = "$D/net"
EOF
cat >"$D/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$D/runroot"
graphroot = "$D/root"
EOF
echo 'unqualified-search-registries = []' >"$D/registries.conf"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$D/policy.json"
export CONTAINERS_CONF=$D/containers.conf CONTAINERS_STORAGE_CONF=$D/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$D/registries.conf TMPDIR=$D/tmp BUILDAH_ISOLATION=oci
unset BUILDAH_RUNTIME

AS_USER=""
STATE_ROOTS="/run/brick /run/runc"
if [ -n "${ROOTLESS:-}" ]; then
    # shellcheck source=../test-user.sh
    . "$HERE/../test-user.sh"
    ensure_test_user || exit 2
    mkdir -p "$D/xdg" "$D/home"
    chmod 700 "$D/xdg"
    chown -R "$IT_UID:$IT_GID" "$D"
    chown root:root "$WRAP"
    AS_USER="setpriv --reuid=$IT_UID --regid=$IT_GID --clear-groups env HOME=$D/home XDG_RUNTIME_DIR=$D/xdg"
    # The runtime runs as root of buildah's user namespace, with XDG_RUNTIME_DIR set.
    STATE_ROOTS="$D/xdg/brick $D/xdg/runc"
fi
# shellcheck disable=SC2086 # AS_USER is a command prefix, split on purpose
b() { timeout -k 5 120 $AS_USER buildah --root "$D/root" --runroot "$D/runroot" --storage-driver overlay "$@"; }

cleanup_all() {
    b rm --all >/dev/null 2>&1
    b rmi --all --force >/dev/null 2>&1
    grep -o " $D/[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf --one-file-system "$D"
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

build_image || { echo "buildah.sh: image build failed" >&2; exit 2; }
id=$(b pull -q --signature-policy "$D/policy.json" "oci-archive:$D/img/busybox-oci.tar" 2>"$D/pull.log" | tail -1)
[ -n "$id" ] && b tag "$id" "$IMG" 2>>"$D/pull.log" ||
    { echo "buildah.sh: image import failed" >&2; cat "$D/pull.log" >&2; exit 2; }

# ---- helpers for cases (run in a subshell with set -eE) ----
brun() { b run --runtime "$WRAP" --isolation oci --network none "$@"; }
# $out: stdout, $err: stderr, $rc: status of a command, without tripping set -e.
try() { set +e; out=$("$@" 2>"$CASE_DIR/stderr"); rc=$?; set -e; err=$(cat "$CASE_DIR/stderr"); [ -z "$err" ] || echo "stderr: $err"; }
fail() { echo "ASSERT: $*"; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }
expect_in() { case $1 in *"$2"*) ;; *) fail "$3: [$2] not in [$1]" ;; esac; }
skip() { echo "$*" >"$CASE_DIR/skip"; exit 77; }
# A working container named $N from $1 (default the busybox image).
from() { b from --pull=never --name "$N" "${1:-$IMG}" >/dev/null; }
# The runtime was really used for this case: the wrapper saw create and start since line $1.
used_runtime() {
    tail -n +"$1" "$ARGV" | grep -q ' create ' || fail "the runtime under test was never called to create"
    tail -n +"$1" "$ARGV" | grep -q ' start ' || fail "the runtime under test was never called to start"
}
argv_lines() { wc -l <"$ARGV" 2>/dev/null || echo 0; }

# ---- cases ----
case_from_run() {
    local l; l=$(($(argv_lines) + 1))
    from
    try brun "$N" -- sh -c 'echo hello-buildah; id -u; cat /proc/1/cmdline | tr "\0" " "'
    expect_eq "$rc" 0 "exit code"
    expect_eq "$(echo "$out" | sed -n 1,2p | tr '\n' ' ')" "hello-buildah 0 " "output"
    expect_in "$(echo "$out" | sed -n 3p)" "sh -c echo hello-buildah" "pid 1 is the command"
    used_runtime $l
}
case_exit_status() {
    from
    try brun "$N" -- sh -c 'exit 3'
    echo "$out"
    expect_eq "$rc" 3 "exit status of buildah run"
}
case_config_env_workdir_user() {
    from
    b config --env FOO=bar --workingdir /tmp --user 1000:1000 "$N"
    try brun "$N" -- sh -c 'echo $FOO:$(pwd):$(id -u):$(id -g)'
    expect_eq "$out" "bar:/tmp:1000:1000" "env, workdir, user from the image config"
}
case_volume() {
    from
    echo from-host >"$D/share/in"
    [ -z "${ROOTLESS:-}" ] || chown -R "$IT_UID:$IT_GID" "$D/share"
    try brun -v "$D/share:/mnt" "$N" -- sh -c 'cat /mnt/in; echo from-ctr >/mnt/out'
    expect_eq "$out" from-host "read through the volume"
    expect_eq "$(cat "$D/share/out")" from-ctr "write through the volume"
}
case_isolation() {
    from
    try brun "$N" -- sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; echo $$'
    local hostpid hostmnt; hostpid=$(readlink /proc/self/ns/pid); hostmnt=$(readlink /proc/self/ns/mnt)
    [ "$(echo "$out" | sed -n 1p)" != "$hostpid" ] || fail "container shares the host pid namespace"
    [ "$(echo "$out" | sed -n 2p)" != "$hostmnt" ] || fail "container shares the host mount namespace"
    expect_eq "$(echo "$out" | sed -n 3p)" 1 "pid of the process in its namespace"
}
case_commit() {
    from
    brun "$N" -- sh -c 'echo committed >/committed.txt'
    b commit -q "$N" localhost/brick-commit:latest >/dev/null
    b rm "$N" >/dev/null
    from localhost/brick-commit:latest
    try brun "$N" -- cat /committed.txt
    expect_eq "$out" committed "file of the committed image"
    b rm "$N" >/dev/null; b rmi localhost/brick-commit:latest >/dev/null
}
case_bud() {
    local l; l=$(($(argv_lines) + 1))
    local ctx=$D/ctx-$N; mkdir -p "$ctx"
    echo from-context >"$ctx/ctxfile"
    cat >"$ctx/Containerfile" <<EOF
FROM $IMG
COPY ctxfile /ctxfile
RUN echo built-by-run >/built.txt && id -u >/uid.txt
RUN cat /built.txt /ctxfile >/combined.txt
EOF
    try b bud --runtime "$WRAP" --isolation oci --network none --pull=never \
        --signature-policy "$D/policy.json" -t localhost/brick-built:latest -f "$ctx/Containerfile" "$ctx"
    echo "$out" | tail -20
    expect_eq "$rc" 0 "bud exit code"
    used_runtime $l
    [ "$(tail -n +"$l" "$ARGV" | grep -c ' create ')" -ge 2 ] || fail "expected a runtime create per RUN step"
    from localhost/brick-built:latest
    if [ -z "${ROOTLESS:-}" ]; then
        local mp; mp=$(b mount "$N")
        expect_eq "$(cat "$mp/built.txt")" built-by-run "file written by RUN, seen in the mounted image"
        expect_eq "$(cat "$mp/uid.txt")" 0 "uid of RUN"
        expect_eq "$(cat "$mp/combined.txt" | tr '\n' ' ')" "built-by-run from-context " "second RUN saw the first"
        b umount "$N" >/dev/null
    else
        # Rootless, the image is mounted in buildah's own mount namespace: read it from there.
        try b unshare sh -c 'cat "$(buildah --root "$1" --runroot "$2" mount "$3")/uid.txt"' _ "$D/root" "$D/runroot" "$N"
        expect_eq "$out" 0 "uid of RUN, seen in the mounted image"
    fi
    try brun "$N" -- cat /combined.txt
    expect_eq "$(echo $out)" "built-by-run from-context" "file read through buildah run"
    b rm "$N" >/dev/null; b rmi localhost/brick-built:latest >/dev/null
}
case_bud_failing_run() {
    local ctx=$D/ctx-$N; mkdir -p "$ctx"
    printf 'FROM %s\nRUN sh -c "exit 9"\n' "$IMG" >"$ctx/Containerfile"
    try b bud --runtime "$WRAP" --isolation oci --network none --pull=never \
        --signature-policy "$D/policy.json" -t localhost/brick-fail:latest -f "$ctx/Containerfile" "$ctx"
    echo "$out" | tail -5
    [ "$rc" != 0 ] || fail "bud with a failing RUN succeeded"
    expect_in "$out$err" "exit status 9" "bud reports the RUN step's status"
}
case_stderr_clean() {
    # buildah hands the runtime the container's own stderr: runtime chatter lands in the output.
    from
    try brun "$N" -- true
    expect_eq "$rc" 0 "exit code"
    expect_eq "$err" "" "stderr of a silent command"
}
case_leftovers() {
    # Every runtime container buildah made is gone: state in the runtime's default root, cgroups.
    b rm --all >/dev/null 2>&1 || true
    local ids id cg left=
    ids=$(grep -oE ' create .* ([^ ]+)$' "$ARGV" | awk '{print $NF}' | sort -u)
    [ -n "$ids" ] || skip "no runtime containers were made"
    for id in $ids; do
        for root in $STATE_ROOTS; do [ -e "$root/$id" ] && left="$left state:$root/$id"; done
        # No cgroupsPath from buildah: the runtimes' defaults, /<id> (runc) and /brick/<id> (brick).
        for d in /sys/fs/cgroup/*/"$id" /sys/fs/cgroup/*/brick/"$id"; do [ -d "$d" ] && left="$left cgroup:$d"; done
    done
    for cfg in "$D"/logs/config.*.json; do
        cg=$(jq -r '.linux.cgroupsPath // empty' "$cfg")
        [ -n "$cg" ] || continue
        case $cg in /*) ;; *) continue ;; esac
        for d in /sys/fs/cgroup/*"$cg"; do [ -d "$d" ] && left="$left cgroup:$d"; done
    done
    expect_eq "$left" "" "leftovers"
}

export -f b brun try fail expect_eq expect_in skip from used_runtime argv_lines
export D IMG WRAP ARGV RUNTIME AS_USER STATE_ROOTS ROOTLESS IT_UID IT_GID

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
    before=$(wc -l <"$ARGV" 2>/dev/null || echo 0)
    # A watchdog per case: a hung client call becomes this case's failure, not a stalled suite.
    CASE_DIR=$CASE_DIR N=$N timeout -k 5 "$CASE_TIMEOUT" bash -c '
        set -eE -o pipefail
        trap "echo \"FAILED COMMAND (exit \$?): \$BASH_COMMAND\"" ERR
        "$0"' "$fn" >"$CASE_DIR/log" 2>&1 </dev/null
    rc=$?
    [ $rc = 124 ] || [ $rc = 137 ] && echo "TIMEOUT after ${CASE_TIMEOUT}s" >>"$CASE_DIR/log"
    b rm "$N" >/dev/null 2>&1
    if [ $rc = 0 ]; then
        echo "ok $name"; pass=$((pass + 1))
    elif [ $rc = 77 ]; then
        echo "skip $name ($(cat "$CASE_DIR/skip"))"; skipped=$((skipped + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$CASE_DIR/log"
        # The runtime calls of this case that failed, each followed by its exit code.
        tail -n +"$((before + 1))" "$ARGV" 2>/dev/null | grep -B1 -E '^[0-9]+ rc=[1-9]' | grep -v '^--$' |
            sed 's/^/    runtime: /'
        failn=$((failn + 1))
    fi
done
[ -n "${KEEP_ARGV:-}" ] && cp "$ARGV" "$KEEP_ARGV" && cp -r "$D/logs" "$KEEP_ARGV.logs"
echo "$pass passed, $failn failed$([ $skipped -gt 0 ] && echo ", $skipped skipped")"
[ $failn = 0 ]
