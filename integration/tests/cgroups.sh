# cgroups: linux.resources seen from the host (the cgroup files) and from inside (the effect),
# and the cgroup verbs: pause, resume, update, ps, events, kill --all, delete.

# cgpath B: the container's cgroup path (config's cgroupsPath, absolute in this suite).
cgpath() { jq -r .linux.cgroupsPath "$1/config.json"; }

# cgfile B CONTROLLER FILE: the content of a cgroup file of bundle B's container.
cgfile() { cat "/sys/fs/cgroup/$2$(cgpath "$1")/$3"; }

# cgdirs B: every hierarchy directory of bundle B's container that exists now.
cgdirs() { ls -d /sys/fs/cgroup/*"$(cgpath "$1")" 2>/dev/null || true; }

# detached B ID: run B's process detached (stdout to $T/ID.out) and wait until it runs.
detached() {
    rt run -d -b "$1" "$2" >"$T/$2.out" 2>&1
    wait_status "$2" running
}

# wait_content FILE [SECONDS]: until FILE exists and is non-empty, then print it.
wait_content() {
    wait_file "$1" "${2:-5}"
    cat "$1"
}

test_cgroup_memory_limit() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    assert_eq 33554432 "$(cgfile "$b" memory memory.limit_in_bytes)" "memory.limit_in_bytes on the host"
    rt delete --force "$id"
    # Inside: the process is in that cgroup, and using more than the limit gets it OOM-killed.
    args "$b" /bin/probe report
    report "$b"
    jq_of "$out" '.cgroup[]' | grep -qE ":memory:$(cgpath "$b")\$" ||
        _fail "container not in its memory cgroup" "cgroup: $(jq_of "$out" -c .cgroup)"
    args "$b" /bin/probe alloc 100
    run rt run -b "$b" "$(new_id)"
    assert_rc 137 "allocating 100 MiB under a 32 MiB limit should be OOM-killed"
    args "$b" /bin/probe alloc 8
    run rt run -b "$b" "$(new_id)"
    assert_ok "8 MiB under a 32 MiB limit should fit"
}

test_cgroup_zero_limits_are_unset() {
    local b
    b=$(bundle_new)
    # runc's and the spec's zero values mean "not set", not "no memory at all".
    cfg "$b" '.linux.resources.memory = {limit: 0, reservation: 0} | .linux.resources.cpu = {shares: 0, quota: 0, period: 0}'
    args "$b" /bin/probe alloc 8
    run rt run -b "$b" "$(new_id)"
    assert_ok "a memory limit of 0 should leave memory unlimited"
}

test_cgroup_pids_limit() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.pids = {limit: 5}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    assert_eq 5 "$(cgfile "$b" pids pids.max)" "pids.max on the host"
    rt delete --force "$id"
    args "$b" /bin/probe fork 10
    run rt run -b "$b" "$(new_id)"
    assert_rc 1 "forking 10 under pids.max 5 should fail"
    assert_eq EAGAIN "$out" "fork beyond pids.max"
    args "$b" /bin/probe fork 3
    run rt run -b "$b" "$(new_id)"
    assert_ok "3 children under pids.max 5 should fit"
}

test_cgroup_cpu() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.cpu = {shares: 512, quota: 50000, period: 200000, cpus: "0", mems: "0"}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    assert_eq 512 "$(cgfile "$b" cpu cpu.shares)" cpu.shares
    assert_eq 50000 "$(cgfile "$b" cpu cpu.cfs_quota_us)" cpu.cfs_quota_us
    assert_eq 200000 "$(cgfile "$b" cpu cpu.cfs_period_us)" cpu.cfs_period_us
    assert_eq 0 "$(cgfile "$b" cpuset cpuset.cpus)" cpuset.cpus
    assert_eq 0 "$(cgfile "$b" cpuset cpuset.mems)" cpuset.mems
    rt delete --force "$id"
    args "$b" /bin/probe read /proc/self/status
    run rt run -b "$b" "$(new_id)"
    assert_ok
    assert_eq "Cpus_allowed_list:	0" "$(grep Cpus_allowed_list <<<"$out")" "CPUs allowed inside"
}

test_cgroup_devices() {
    local b id list
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    list=$(cgfile "$b" devices devices.list)
    assert_not_contains "$list" "a *:* rwm" "deny-all config must not leave all devices allowed"
    assert_contains "$list" "c 1:3 rwm" "/dev/null must be allowed"
    assert_not_contains "$list" "c 1:11 " "/dev/kmsg must not be allowed"
    rt delete --force "$id"
    # mknod is allowed by the default rules; opening /dev/kmsg's numbers is not.
    args "$b" /bin/sh -c '/bin/probe mknod /kmsg c 1 11 && /bin/probe open /kmsg w'
    run rt run -b "$b" "$(new_id)"
    assert_rc 1 "opening a device node the cgroup does not allow"
    assert_eq EPERM "$out"
    args "$b" /bin/probe open /dev/null rw
    run rt run -b "$b" "$(new_id)"
    assert_ok "opening /dev/null"
    # An explicit rule opens it up.
    cfg "$b" '.linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "w"}]'
    args "$b" /bin/sh -c '/bin/probe mknod /kmsg2 c 1 11 && /bin/probe open /kmsg2 w'
    run rt run -b "$b" "$(new_id)"
    assert_ok "a device allowed by linux.resources.devices"
}

test_cgroup_blkio_weight() {
    local b id f
    [ -d /sys/fs/cgroup/blkio ] || skip "no blkio controller"
    b=$(bundle_new)
    cfg "$b" '.linux.resources.blockIO = {weight: 500}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    run rt run -d -b "$b" "$id"
    [ "$rc" = 0 ] || { is_runc && skip "runc cannot set the weight here: $err"; }
    assert_ok "blkio weight"
    for f in blkio.weight blkio.bfq.weight; do
        [ -f "/sys/fs/cgroup/blkio$(cgpath "$b")/$f" ] && break
    done
    [ -f "/sys/fs/cgroup/blkio$(cgpath "$b")/$f" ] || {
        rt delete --force "$id"
        skip "the block scheduler offers no blkio weight file"
    }
    assert_eq 500 "$(cgfile "$b" blkio "$f" | awk '{ print $NF }')" "$f"
    assert_contains "$(cat "/proc/$(pid_of "$id")/cgroup")" ":blkio:$(cgpath "$b")" "process in its blkio cgroup"
    rt delete --force "$id"
}

test_cgroup_pause_resume() {
    local b id c1 c2
    b=$(bundle_new)
    args "$b" /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i >/count.new; mv /count.new /count; /bin/probe sleep 0.02; done'
    id=$(new_id)
    detached "$b" "$id"
    wait_file "$b/rootfs/count"
    rt pause "$id"
    assert_eq paused "$(status_of "$id")" "state after pause"
    assert_eq FROZEN "$(cgfile "$b" freezer freezer.state)" freezer.state
    c1=$(cat "$b/rootfs/count")
    sleep 0.5
    c2=$(cat "$b/rootfs/count")
    assert_eq "$c1" "$c2" "the counter advanced while paused"
    run rt pause "$id"
    is_brick && assert_fail "pausing a paused container"
    rt resume "$id"
    assert_eq running "$(status_of "$id")" "state after resume"
    assert_eq THAWED "$(cgfile "$b" freezer freezer.state)" freezer.state
    sleep 0.3
    c2=$(cat "$b/rootfs/count")
    [ "$c2" -gt "$c1" ] || _fail "the counter did not advance after resume" "before: $c1 after: $c2"
    run rt resume "$id"
    assert_fail "resuming a running container"
    rt kill "$id" KILL
    wait_status "$id" stopped
    run rt pause "$id"
    assert_fail "pausing a stopped container"
    rt delete "$id"
}

test_cgroup_paused_delete_force() {
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    pid=$(pid_of "$id")
    rt pause "$id"
    run rt delete "$id"
    assert_fail "deleting a paused container without --force"
    rt delete --force "$id"
    wait_gone "$pid"
    assert_eq "" "$(cgdirs "$b")" "cgroup left after delete --force of a paused container"
}

test_cgroup_update_flags() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 20}
        | .linux.resources.cpu = {shares: 1024, quota: 10000, period: 100000}'
    # Waits for /go, then forks 6: that fits under 20 but not under the updated limit.
    args "$b" /bin/sh -c 'while [ ! -e /go ]; do /bin/probe sleep 0.05; done; /bin/probe fork 6 >/fork.out; sleep 30'
    id=$(new_id)
    detached "$b" "$id"
    rt update --memory 128m --pids-limit 4 --cpu-quota 20000 --cpu-period 50000 --cpu-share 256 "$id"
    assert_eq 134217728 "$(cgfile "$b" memory memory.limit_in_bytes)" "memory after update"
    assert_eq 4 "$(cgfile "$b" pids pids.max)" "pids.max after update"
    assert_eq 20000 "$(cgfile "$b" cpu cpu.cfs_quota_us)" "quota after update"
    assert_eq 50000 "$(cgfile "$b" cpu cpu.cfs_period_us)" "period after update"
    assert_eq 256 "$(cgfile "$b" cpu cpu.shares)" "shares after update"
    touch "$b/rootfs/go"
    assert_eq EAGAIN "$(wait_content "$b/rootfs/fork.out")" "fork inside after lowering pids.max"
    # Only what is given changes.
    rt update --memory-reservation 32m "$id"
    assert_eq 33554432 "$(cgfile "$b" memory memory.soft_limit_in_bytes)" "reservation"
    assert_eq 134217728 "$(cgfile "$b" memory memory.limit_in_bytes)" "memory kept"
    assert_eq 4 "$(cgfile "$b" pids pids.max)" "pids kept"
    run rt update --memory lots "$id"
    assert_fail "a bad --memory value"
    is_brick && assert_contains "$err" "--memory"
    rt delete --force "$id"
}

test_cgroup_update_resources_json() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 20}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    echo '{"memory": {"limit": 100663296}, "pids": {"limit": 40}, "cpu": {"quota": 30000, "period": 100000, "cpus": "1"}}' >"$T/res.json"
    rt update --resources "$T/res.json" "$id"
    assert_eq 100663296 "$(cgfile "$b" memory memory.limit_in_bytes)" "memory from --resources"
    assert_eq 40 "$(cgfile "$b" pids pids.max)" "pids from --resources"
    assert_eq 30000 "$(cgfile "$b" cpu cpu.cfs_quota_us)" "quota from --resources"
    assert_eq 1 "$(cgfile "$b" cpuset cpuset.cpus)" "cpus from --resources"
    assert_eq 1 "$(awk '/Cpus_allowed_list/ { print $2 }' "/proc/$(pid_of "$id")/status")" "the process's CPUs"
    # From stdin, zeros mean unchanged (runc's documented format), and flags are ignored.
    echo '{"memory": {"limit": 0, "reservation": 0, "swap": 0}, "pids": {"limit": 50}, "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""}, "blockIO": {"weight": 0}}' |
        rt update -r - --pids-limit 7 "$id"
    assert_eq 50 "$(cgfile "$b" pids pids.max)" "pids from stdin"
    assert_eq 100663296 "$(cgfile "$b" memory memory.limit_in_bytes)" "memory kept by a 0"
    assert_eq 30000 "$(cgfile "$b" cpu cpu.cfs_quota_us)" "quota kept by a 0"
    echo '{"memory": "x"}' >"$T/bad.json"
    run rt update --resources "$T/bad.json" "$id"
    assert_fail "malformed resources JSON"
    rt delete --force "$id"
    run rt update --pids-limit 9 "$id"
    assert_fail "update of a container that does not exist"
}

test_cgroup_ps() {
    local b id pid pids n
    b=$(bundle_new)
    args "$b" /bin/sh -c '/bin/probe sleep 30 & /bin/probe sleep 31; wait'
    id=$(new_id)
    detached "$b" "$id"
    pid=$(pid_of "$id")
    sleep 0.2
    run rt ps --format json "$id"
    assert_ok
    n=$(jq_of "$out" length)
    assert_eq 3 "$n" "pids in ps json: $out"
    jq_of "$out" --argjson p "$pid" 'index($p) != null' | grep -qx true || _fail "init pid $pid not in ps json" "json: $out"
    pids=$(jq_of "$out" '.[]')
    run rt ps "$id"
    assert_ok
    assert_eq 4 "$(wc -l <<<"$out")" "header + 3 processes: $out"
    assert_contains "$(head -1 <<<"$out")" PID
    assert_contains "$out" "probe sleep 30"
    assert_contains "$out" "probe sleep 31"
    run rt ps "$id" -o pid,args
    assert_ok
    assert_eq "$(sort -n <<<"$pids" | tr '\n' ' ')" "$(awk 'NR > 1 { print $1 }' <<<"$out" | sort -n | tr '\n' ' ')" "ps -o pid,args"
    rt delete --force "$id"
}

test_cgroup_events_stats() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 20}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    run rt events --stats "$id"
    assert_ok
    assert_eq 1 "$(wc -l <<<"$out")" "one line of JSON"
    assert_jq "$out" .type stats
    assert_jq "$out" .id "$id"
    assert_jq_true "$out" '.data.memory.usage.usage > 0'
    assert_jq "$out" .data.memory.usage.limit 67108864
    assert_jq "$out" .data.pids.current 1
    assert_jq "$out" .data.pids.limit 20
    assert_jq_true "$out" '.data.cpu.usage.total > 0'
    rt delete --force "$id"
}

test_cgroup_events_stream_oom() {
    local b id ev n
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
    args "$b" /bin/sh -c 'while [ ! -e /go ]; do /bin/probe sleep 0.05; done; /bin/probe alloc 100; sleep 30'
    id=$(new_id)
    detached "$b" "$id"
    ev=$T/events.out
    "$RUNTIME" --root "$STATE_ROOT" events --interval 300ms "$id" >"$ev" 2>"$T/events.err" &
    helper_pid $!
    sleep 1
    n=$(grep -c '"type":"stats"' "$ev" || true)
    [ "$n" -ge 2 ] || _fail "expected stats events every 300ms" "events: $(cat "$ev")"
    touch "$b/rootfs/go"
    for n in $(seq 50); do
        grep -q '"type":"oom"' "$ev" && break
        sleep 0.1
    done
    grep -q '"type":"oom"' "$ev" || _fail "no oom event" "events: $(cat "$ev")" "stderr: $(cat "$T/events.err")"
    assert_jq "$(grep '"type":"oom"' "$ev" | head -1)" .id "$id"
    rt kill "$id" KILL
    wait_status "$id" stopped
    if is_brick; then
        # The stream ends by itself once the container has stopped.
        for n in $(seq 30); do
            jobs -r | grep -q . || break
            sleep 0.1
        done
        jobs -r | grep -q . && _fail "events still running after the container stopped"
    fi
    rt delete "$id"
}

test_cgroup_kill_all_signals_every_process() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/sh -c '/bin/probe signals >/s1 & /bin/probe signals >/s2 & wait'
    id=$(new_id)
    detached "$b" "$id"
    wait_file "$b/rootfs/s1"
    wait_file "$b/rootfs/s2"
    rt kill --all "$id" USR1
    rt kill --all "$id" TERM
    wait_status "$id" stopped
    assert_eq "$(printf 'ready\nUSR1\nTERM')" "$(cat "$b/rootfs/s1")" "signals of process 1"
    assert_eq "$(printf 'ready\nUSR1\nTERM')" "$(cat "$b/rootfs/s2")" "signals of process 2"
    rt delete "$id"
}

test_cgroup_delete_removes_every_hierarchy() {
    local b id d n=0
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 20}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    detached "$b" "$id"
    for d in memory pids cpu cpuset devices freezer; do
        [ -d "/sys/fs/cgroup/$d" ] || continue
        [ -d "/sys/fs/cgroup/$d$(cgpath "$b")" ] || _fail "no $d cgroup for the container"
        n=$((n + 1))
    done
    [ $n -gt 0 ] || skip "no v1 controllers on this host"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    assert_eq "" "$(cgdirs "$b")" "cgroup directories left after delete"
}

test_cgroup_impossible_cpuset() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.cpu = {cpus: "99"}'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    run rt create -b "$b" "$id"
    assert_fail "cpuset.cpus 99 on a $(nproc)-cpu host"
    is_brick && assert_contains "$err" "cpuset.cpus"
    is_brick && assert_contains "$err" '"99"'
    run rt state "$id"
    assert_fail "a failed create left state"
    assert_eq "" "$(cgdirs "$b")" "a failed create left cgroup directories"
}
