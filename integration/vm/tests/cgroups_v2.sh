# shellcheck shell=bash disable=SC2016,SC2154 # jq programs in single quotes; lib.sh sets out/err
# Pure cgroup v2 (the VM suite): every resource as the v2 file and its effect, the eBPF device
# filter, freeze and thaw, memory.events, the cgroup namespace, CLONE_INTO_CGROUP, kill --all
# through cgroup.kill, update, and the cgroup gone after delete.
# tests/cgroups.sh asserts v1 files; its tests that hold on any host run beside these.

v2_require() {
    [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] ||
        skip "not a pure cgroup v2 host (/sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup); integration/vm boots one)"
}

# v2dir B: bundle B's cgroup directory.
v2dir() { echo "/sys/fs/cgroup$(cg_rel "$1")"; }

# v2file B FILE: a file of bundle B's cgroup.
v2file() { cat "$(v2dir "$1")/$2"; }

# v2_detached B ID: run B detached (stdout to $T/ID.out) and wait until it runs.
v2_detached() {
    rt run -d -b "$1" "$2" >"$T/$2.out" 2>&1
    wait_status "$2" running
}

test_cgv2_resources() {
    local b id w
    v2_require
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864, reservation: 33554432, swap: 100663296}
        | .linux.resources.pids = {limit: 20}
        | .linux.resources.cpu = {shares: 512, quota: 20000, period: 50000, burst: 10000, cpus: "0", mems: "0"}
        | .linux.resources.blockIO = {weight: 500}
        | .linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]
        | .linux.resources.unified = {"memory.high": "50331648", "pids.max": "19"}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    v2_detached "$b" "$id"
    assert_eq 67108864 "$(v2file "$b" memory.max)" memory.max
    assert_eq 33554432 "$(v2file "$b" memory.low)" "memory.low (reservation)"
    assert_eq 33554432 "$(v2file "$b" memory.swap.max)" "memory.swap.max (swap - limit)"
    assert_eq 50331648 "$(v2file "$b" memory.high)" "memory.high (unified)"
    assert_eq 19 "$(v2file "$b" pids.max)" "pids.max (unified wins over pids.limit)"
    # cpu.weight from shares, runc's formula: 1 + (512 - 2) * 9999 / 262142.
    assert_eq 20 "$(v2file "$b" cpu.weight)" "cpu.weight"
    assert_eq "20000 50000" "$(v2file "$b" cpu.max)" cpu.max
    assert_eq 10000 "$(v2file "$b" cpu.max.burst)" cpu.max.burst
    assert_eq 0 "$(v2file "$b" cpuset.cpus)" cpuset.cpus
    assert_eq 0 "$(v2file "$b" cpuset.mems)" cpuset.mems
    assert_eq 4194304 "$(v2file "$b" hugetlb.2MB.max)" hugetlb.2MB.max
    if [ -f "$(v2dir "$b")/io.bfq.weight" ]; then
        assert_contains "$(v2file "$b" io.bfq.weight)" "default 500" io.bfq.weight
    elif [ -f "$(v2dir "$b")/io.weight" ]; then
        w=$((1 + (500 - 10) * 9999 / 990))
        assert_contains "$(v2file "$b" io.weight)" "default $w" io.weight
    else
        echo "no io.weight or io.bfq.weight here: the io weight is not checked" >&3
    fi
    assert_contains "$(cat "/proc/$(pid_of "$id")/cgroup")" "0::$(cg_rel "$b")" \
        "the process is in its cgroup"
    rt delete --force "$id"
}

test_cgv2_memory_oom_and_events() {
    local b id
    v2_require
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
    args "$b" /bin/sh -c '/bin/probe alloc 100; echo "alloc exit $?" >/alloc.out; exec /bin/probe sleep 30'
    id=$(new_id)
    v2_detached "$b" "$id"
    wait_file "$b/rootfs/alloc.out" 20
    assert_eq "alloc exit 137" "$(cat "$b/rootfs/alloc.out")" "100 MiB under memory.max 32 MiB is OOM-killed"
    grep -qE '^oom_kill [1-9]' "$(v2dir "$b")/memory.events" ||
        _fail "memory.events counts no oom_kill" "$(v2file "$b" memory.events)"
    assert_eq 0 "$(v2file "$b" memory.swap.max)" "swap equal to the limit: no swap"
    rt delete --force "$id"
    args "$b" /bin/probe alloc 8
    run rt run -b "$b" "$(new_id)"
    assert_ok "8 MiB under 32 MiB fits"
}

test_cgv2_pids_effect() {
    local b
    v2_require
    b=$(bundle_new)
    cfg "$b" '.linux.resources.pids = {limit: 5}'
    args "$b" /bin/probe fork 10
    run rt run -b "$b" "$(new_id)"
    assert_rc 1 "forking 10 under pids.max 5"
    assert_eq EAGAIN "$out"
}

test_cgv2_cpuset_effect() {
    local b
    v2_require
    [ "$(nproc)" -ge 2 ] || skip "one CPU: cpuset.cpus 1 cannot be shown to differ"
    b=$(bundle_new)
    cfg "$b" '.linux.resources.cpu = {cpus: "1"}'
    args "$b" /bin/probe read /proc/self/status
    report "$b"
    assert_eq "Cpus_allowed_list:	1" "$(grep Cpus_allowed_list <<<"$out")" "CPUs allowed inside"
}

# The container mknods and opens each "TYPE MAJOR MINOR MODE"; majors 42-44 have no driver, so
# an allowed open fails ENXIO and one the eBPF program denies fails EPERM. Unlike v1, a deny
# inside an allowed wildcard is expressible, so it must hold.
test_cgv2_devices_ebpf() {
    local b
    v2_require
    b=$(bundle_new)
    cfg "$b" '.linux.resources.devices += [
        {allow: true, type: "c", major: 42, access: "rw"},
        {allow: false, type: "c", major: 42, minor: 2, access: "rw"},
        {allow: true, type: "c", major: 43, minor: 1, access: "r"},
        {allow: true, type: "c", major: 43, minor: 2, access: "rw"},
        {allow: false, type: "c", major: 43, minor: 2, access: "w"},
        {allow: true, type: "b", major: 42, minor: 1, access: "r"}]'
    cat >"$b/rootfs/devs.sh" <<'EOF'
for d in "c 42 7 r" "c 42 7 w" "c 42 2 r" "c 43 1 r" "c 43 1 w" "c 43 2 r" "c 43 2 w" \
    "b 42 1 r" "b 42 1 w" "c 44 1 r" "c 1 3 w" "c 1 11 w"; do
    set -- $d
    n=/n-$1-$2-$3
    [ -e $n ] || /bin/probe mknod $n $1 $2 $3 >/dev/null || echo "mknod $n failed"
    echo "$d $(/bin/probe open $n $4)"
done
EOF
    args "$b" /bin/sh /devs.sh
    report "$b"
    assert_eq "$(printf '%s\n' 'c 42 7 r ENXIO' 'c 42 7 w ENXIO' 'c 42 2 r EPERM' 'c 43 1 r ENXIO' \
        'c 43 1 w EPERM' 'c 43 2 r ENXIO' 'c 43 2 w EPERM' 'b 42 1 r ENXIO' 'b 42 1 w EPERM' \
        'c 44 1 r EPERM' 'c 1 3 w ok' 'c 1 11 w EPERM')" "$out" \
        "opens inside: ENXIO = allowed (no driver), EPERM = denied by the eBPF device filter"
    [ ! -e "$(v2dir "$b")/devices.list" ] || _fail "a devices.list on a v2 host?"
}

test_cgv2_freeze_thaw() {
    local b id c1 c2
    v2_require
    b=$(bundle_new)
    args "$b" /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i >/count.new; mv /count.new /count; /bin/probe sleep 0.02; done'
    id=$(new_id)
    v2_detached "$b" "$id"
    wait_file "$b/rootfs/count"
    rt pause "$id"
    assert_eq paused "$(status_of "$id")" "state after pause"
    assert_eq 1 "$(v2file "$b" cgroup.freeze)" cgroup.freeze
    assert_contains "$(v2file "$b" cgroup.events)" "frozen 1" "cgroup.events after pause"
    c1=$(cat "$b/rootfs/count")
    # An observation window (the counter moves every 20 ms when it runs), not a wait.
    sleep 0.5
    c2=$(cat "$b/rootfs/count")
    assert_eq "$c1" "$c2" "the counter advanced while frozen"
    rt resume "$id"
    assert_eq running "$(status_of "$id")" "state after resume"
    assert_eq 0 "$(v2file "$b" cgroup.freeze)" cgroup.freeze
    assert_contains "$(v2file "$b" cgroup.events)" "frozen 0" "cgroup.events after resume"
    wait_until 5 "the counter to move after resume" sh -c "[ \"\$(cat $b/rootfs/count)\" != $c1 ]"
    c2=$(cat "$b/rootfs/count")
    [ "$c2" -gt "$c1" ] || _fail "the counter did not advance after resume" "before: $c1 after: $c2"
    # A frozen container can still be deleted by force, its cgroup with it.
    rt pause "$id"
    rt delete --force "$id"
    [ ! -d "$(v2dir "$b")" ] || _fail "cgroup left after delete --force of a paused container"
}

test_cgv2_cgroupns() {
    local b
    v2_require
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces |= (map(select(.type != "cgroup")) + [{type: "cgroup"}])
        | .linux.resources.pids = {limit: 7}
        | .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "ro"]}]'
    args "$b" /bin/sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids.max; grep " /sys/fs/cgroup " /proc/self/mountinfo'
    report "$b"
    assert_eq "0::/" "$(sed -n 1p <<<"$out")" "/proc/self/cgroup inside its own cgroup namespace"
    assert_eq 7 "$(sed -n 2p <<<"$out")" "the cgroup mount inside is the container's own cgroup"
    assert_contains "$(sed -n 3p <<<"$out")" cgroup2 "a cgroup2 mount inside"
    # exec from outside the container's cgroup (this shell's): it joins the cgroup namespace
    # and still lands in the container's cgroup (clone3 refuses CLONE_INTO_CGROUP there).
    local id
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    v2_detached "$b" "$id"
    run rt exec "$id" /bin/cat /proc/self/cgroup
    assert_ok "exec into a container with a cgroup namespace"
    assert_eq "0::/" "$out" "the exec'd process is in the container's cgroup, seen from its namespace"
    rt delete --force "$id"
}

test_cgv2_clone_into_cgroup() {
    local b
    v2_require
    command -v strace >/dev/null || skip "no strace on this host"
    is_brick || skip "checks how brick spawns"
    [ -z "${IT_SYSTEMD:-}" ] || skip "the systemd driver makes the scope with the pid after the clone (no CLONE_INTO_CGROUP)"
    b=$(bundle_new)
    args "$b" /bin/true
    run strace -f -e trace=clone3 -o "$T/strace" "$RUNTIME" --root "$STATE_ROOT" run -b "$b" "$(new_id)"
    assert_ok
    grep -q 'CLONE_INTO_CGROUP' "$T/strace" ||
        _fail "the container's init was not cloned into its cgroup" "clone3 calls: $(grep clone3 "$T/strace")"
}

test_cgv2_kill_all_uses_cgroup_kill() {
    local b id
    v2_require
    command -v strace >/dev/null || skip "no strace on this host"
    b=$(bundle_new)
    args "$b" /bin/sh -c '/bin/probe sleep 60 & /bin/probe sleep 61 & wait'
    id=$(new_id)
    v2_detached "$b" "$id"
    wait_until 5 "both sleepers to be forked" children_at_least "$(pid_of "$id")" 2
    assert_eq 3 "$(grep -c . "$(v2dir "$b")/cgroup.procs")" "three processes in the cgroup"
    run strace -f -e trace=openat -o "$T/strace" "$RUNTIME" --root "$STATE_ROOT" kill --all "$id" KILL
    assert_ok
    wait_status "$id" stopped
    assert_eq "" "$(cat "$(v2dir "$b")/cgroup.procs" 2>/dev/null)" "no process left in the cgroup"
    is_brick && { grep -q 'cgroup.kill' "$T/strace" || _fail "kill --all KILL did not use cgroup.kill" "opens: $(grep -c . "$T/strace")"; }
    rt delete "$id"
    [ ! -d "$(v2dir "$b")" ] || _fail "cgroup left after delete"
}

test_cgv2_update() {
    local b id
    v2_require
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 20}
        | .linux.resources.cpu = {shares: 1024, quota: 10000, period: 100000}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    v2_detached "$b" "$id"
    rt update --memory 128m --pids-limit 4 --cpu-quota 20000 --cpu-period 50000 --cpu-share 256 "$id"
    assert_eq 134217728 "$(v2file "$b" memory.max)" "memory.max after update"
    assert_eq 4 "$(v2file "$b" pids.max)" "pids.max after update"
    assert_eq "20000 50000" "$(v2file "$b" cpu.max)" "cpu.max after update"
    assert_eq 10 "$(v2file "$b" cpu.weight)" "cpu.weight after update (shares 256)"
    echo '{"memory": {"limit": 100663296}, "unified": {"memory.high": "83886080"}}' >"$T/res.json"
    rt update --resources "$T/res.json" "$id"
    assert_eq 100663296 "$(v2file "$b" memory.max)" "memory.max from --resources"
    assert_eq 4 "$(v2file "$b" pids.max)" "pids.max kept"
    rt delete --force "$id"
}

test_cgv2_delete_and_failed_create_leave_no_cgroup() {
    local b id
    v2_require
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    v2_detached "$b" "$id"
    [ -d "$(v2dir "$b")" ] || _fail "no cgroup for a running container"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    [ ! -d "$(v2dir "$b")" ] || _fail "cgroup left after delete"
    # A resource the kernel refuses: create fails, naming the file, and leaves no cgroup.
    cfg "$b" '.linux.resources.cpu = {cpus: "99"}'
    id=$(new_id)
    run rt create -b "$b" "$id"
    assert_fail "cpuset.cpus 99"
    is_brick && assert_contains "$err" cpuset.cpus
    [ ! -d "$(v2dir "$b")" ] || _fail "cgroup left after a failed create"
    return 0
}
