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
    # Without a scheduler that weighs (bfq), a cgroup has no weight file: refusing is right.
    if [ "$rc" != 0 ] && [[ "$err" == *blkio.weight*ENOENT* ]]; then
        brick_err blkio.weight
        skip "no blkio weight file on this host (no bfq scheduler): checked that create fails cleanly"
    fi
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
    # An observation window (the counter moves every 20 ms when it runs), not a wait.
    sleep 0.5
    c2=$(cat "$b/rootfs/count")
    assert_eq "$c1" "$c2" "the counter advanced while paused"
    run rt pause "$id"
    is_brick && assert_fail "pausing a paused container"
    rt resume "$id"
    assert_eq running "$(status_of "$id")" "state after resume"
    assert_eq THAWED "$(cgfile "$b" freezer freezer.state)" freezer.state
    wait_until 5 "the counter to move after resume" sh -c "[ \"\$(cat $b/rootfs/count)\" != $c1 ]"
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
    wait_until 5 "both sleepers to be forked" children_at_least "$pid" 2
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
    wait_until 10 "two stats events (one every 300 ms)" sh -c "[ \$(grep -c '\"type\":\"stats\"' $ev) -ge 2 ]"
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

test_cgroup_delete_with_busy_subcgroup() {
    local b id cg dir sub child
    b=$(bundle_new)
    args "$b" /bin/sh -c '/bin/probe sleep 30 & /bin/probe sleep 31; wait'
    id=$(new_id)
    detached "$b" "$id"
    wait_until 5 "both sleepers to be forked" children_at_least "$(pid_of "$id")" 2
    cg=$(cgpath "$b")
    # A sub-cgroup holding one of the workload's processes, in one v1 hierarchy (or cgroup2):
    # the first rmdir is busy, so delete must take the kill-and-wait path and remove the tree.
    dir=/sys/fs/cgroup/pids$cg
    [ -d "$dir" ] || dir=/sys/fs/cgroup$cg
    sub=$dir/sub
    mkdir "$sub"
    child=$(grep -vx "$(pid_of "$id")" "$dir/cgroup.procs" | tail -n 1)
    [ -n "$child" ] || { echo "no workload child found" >&2; return 1; }
    echo "$child" >"$sub/cgroup.procs"
    run rt delete --force "$id"
    assert_ok
    [ ! -d "$sub" ] || { echo "sub-cgroup $sub left behind" >&2; return 1; }
    alive "$child" && { echo "workload process $child survived delete --force" >&2; return 1; }
    true
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

# ---------------------------------------------------------------- every linux.resources field
# Each field is read twice: the cgroup file from the host, and from inside, where the container
# mounts /sys/fs/cgroup (binds of its own cgroups) and records what it sees, or the effect.

# view_run B ID PATH...: run B detached with a cgroup mount; its process writes each PATH's
# content (newlines as |) to /view as "PATH: content", then execs $VIEW_THEN (default: sleep).
view_run() {
    local b=$1 id=$2
    shift 2
    cfg "$b" '.mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]'
    {
        echo 'for f; do printf "%s: %s\n" "$f" "$(tr "\n" "|" <"$f" 2>&1)"; done >/view.new'
        echo 'mv /view.new /view'
        echo "exec ${VIEW_THEN:-/bin/probe sleep 30}"
    } >"$b/rootfs/view.sh"
    args "$b" /bin/sh /view.sh "$@"
    detached "$b" "$id"
    wait_file "$b/rootfs/view"
}

# seen B PATH: what the container of B recorded for PATH (without the trailing |).
seen() { sed -n "s|^$2: ||p" "$1/rootfs/view" | sed 's/|$//'; }

# both B CONTROLLER FILE WANT: FILE holds WANT on the host and inside (seen by view_run).
both() {
    assert_eq "$4" "$(cgfile "$1" "$2" "$3")" "$3 on the host"
    assert_eq "$4" "$(seen "$1" "/sys/fs/cgroup/$2/$3")" "$3 inside the container"
}

# no_trace B ID: a failed create left no state and no cgroup directory (the leak check adds
# processes and anything else under the test's prefix).
no_trace() {
    run rt state "$2"
    assert_fail "a failed create left state for $2"
    assert_eq "" "$(cgdirs "$1")" "a failed create left cgroup directories"
}

# refused B WHAT...: create of B fails; brick's error names every WHAT; nothing is left.
refused() {
    local b=$1 id w
    shift
    id=$(new_id)
    run rt create -b "$b" "$id"
    assert_fail "create should fail"
    if is_brick; then
        for w in "$@"; do assert_contains "$err" "$w"; done
    fi
    no_trace "$b" "$id"
}

test_cgroup_memory_fields() {
    local b id m=/sys/fs/cgroup/memory kv
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864, reservation: 33554432, swap: 100663296,
        kernelTCP: 16777216, swappiness: 30, useHierarchy: true}'
    id=$(new_id)
    view_run "$b" "$id" $m/memory.limit_in_bytes $m/memory.soft_limit_in_bytes \
        $m/memory.memsw.limit_in_bytes $m/memory.kmem.tcp.limit_in_bytes $m/memory.swappiness \
        $m/memory.use_hierarchy
    for kv in memory.limit_in_bytes=67108864 memory.soft_limit_in_bytes=33554432 \
        memory.memsw.limit_in_bytes=100663296 memory.kmem.tcp.limit_in_bytes=16777216 \
        memory.swappiness=30 memory.use_hierarchy=1; do
        # runc 1.1 dropped every kmem setting, kernelTCP included.
        is_runc && [ "${kv%=*}" = memory.kmem.tcp.limit_in_bytes ] && continue
        both "$b" memory "${kv%=*}" "${kv#*=}"
    done
    rt delete --force "$id"
}

test_cgroup_memory_kernel() {
    local b id f=memory.kmem.limit_in_bytes host
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 134217728, kernel: 67108864}'
    id=$(new_id)
    view_run "$b" "$id" /sys/fs/cgroup/memory/$f
    if [ ! -f "/sys/fs/cgroup/memory$(cgpath "$b")/$f" ]; then
        rt delete --force "$id"
        skip "no $f: kernel $(uname -r) has no v1 kernel memory limit (accepted and ignored)"
    fi
    host=$(cgfile "$b" memory $f)
    if [ "$host" != 67108864 ]; then
        assert_eq "$host" "$(seen "$b" /sys/fs/cgroup/memory/$f)" "$f inside"
        rt delete --force "$id"
        skip "kernel memory limits are gone in kernel $(uname -r): $f takes 67108864 but stays $host (create accepted it)"
    fi
    both "$b" memory $f 67108864
    rt delete --force "$id"
}

test_cgroup_memory_disable_oom_killer() {
    local b id f=memory.oom_control n
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 33554432, swap: 33554432, disableOOMKiller: true}'
    id=$(new_id)
    VIEW_THEN="/bin/probe alloc 100" view_run "$b" "$id" /sys/fs/cgroup/memory/$f
    assert_contains "$(cgfile "$b" memory $f)" "oom_kill_disable 1" "$f on the host"
    assert_contains "$(seen "$b" /sys/fs/cgroup/memory/$f)" "oom_kill_disable 1" "$f inside"
    # The effect: over the limit, the allocation waits under OOM instead of being killed.
    for n in $(seq 50); do
        grep -q "under_oom 1" "/sys/fs/cgroup/memory$(cgpath "$b")/$f" && break
        sleep 0.1
    done
    assert_contains "$(cgfile "$b" memory $f)" "under_oom 1" "allocating 100 MiB under 32 MiB should wait under OOM"
    assert_contains "$(cgfile "$b" memory $f)" "oom_kill 0" "nothing may be OOM-killed"
    assert_eq running "$(status_of "$id")" "the container should still run"
    rt delete --force "$id"
}

test_cgroup_memory_check_before_update() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.memory = {limit: 67108864}'
    cfg "$b" '.mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"]}]'
    # 24 MiB of tmpfs pages are charged to the container and cannot be reclaimed (no swap).
    args "$b" /bin/sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; echo done >/filled; exec /bin/probe sleep 30'
    id=$(new_id)
    detached "$b" "$id"
    wait_file "$b/rootfs/filled"
    echo '{"memory": {"limit": 16777216, "checkBeforeUpdate": true}}' >"$T/low.json"
    run rt update -r "$T/low.json" "$id"
    assert_fail "a limit below the current usage with checkBeforeUpdate"
    is_brick && assert_contains "$err" checkBeforeUpdate
    assert_eq 67108864 "$(cgfile "$b" memory memory.limit_in_bytes)" "the limit on the host must not change"
    run rt exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
    assert_ok
    assert_eq 67108864 "$out" "the limit seen inside must not change"
    assert_eq running "$(status_of "$id")" "the container survives a refused update"
    echo '{"memory": {"limit": 50331648, "checkBeforeUpdate": true}}' >"$T/ok.json"
    rt update -r "$T/ok.json" "$id"
    assert_eq 50331648 "$(cgfile "$b" memory memory.limit_in_bytes)" "a limit above the usage applies"
    run rt exec "$id" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
    assert_eq 50331648 "$out" "the new limit seen inside"
    rt delete --force "$id"
}

test_cgroup_cpu_fields() {
    local b id c=/sys/fs/cgroup/cpu s=/sys/fs/cgroup/cpuset kv parent n
    b=$(bundle_new)
    [ -f $c/cpu.rt_runtime_us ] || skip "no cpu.rt_runtime_us (kernel without CONFIG_RT_GROUP_SCHED)"
    # A child's realtime runtime must fit in its parent's: give this run's cgroup a budget.
    parent=$c${CG_PREFIX%/*}
    mkdir -p "$parent"
    echo 20000 >"$parent/cpu.rt_runtime_us"
    cfg "$b" '.linux.resources.cpu = {shares: 512, quota: 20000, period: 50000, burst: 10000,
        realtimePeriod: 100000, realtimeRuntime: 1000, cpus: "0", mems: "0"}'
    id=$(new_id)
    view_run "$b" "$id" $c/cpu.shares $c/cpu.cfs_quota_us $c/cpu.cfs_period_us $c/cpu.cfs_burst_us \
        $c/cpu.rt_period_us $c/cpu.rt_runtime_us $s/cpuset.cpus $s/cpuset.mems /proc/self/status
    for kv in cpu.shares=512 cpu.cfs_quota_us=20000 cpu.cfs_period_us=50000 cpu.cfs_burst_us=10000 \
        cpu.rt_period_us=100000 cpu.rt_runtime_us=1000; do
        # burst arrived in runc 1.2.
        is_runc && [ "${kv%=*}" = cpu.cfs_burst_us ] && continue
        both "$b" cpu "${kv%=*}" "${kv#*=}"
    done
    both "$b" cpuset cpuset.cpus 0
    both "$b" cpuset cpuset.mems 0
    assert_contains "$(seen "$b" /proc/self/status)" "Cpus_allowed_list:	0|" "CPUs allowed inside"
    assert_contains "$(seen "$b" /proc/self/status)" "Mems_allowed_list:	0|" "memory nodes allowed inside"
    rt delete --force "$id"
    # The effect of the quota: a busy loop gets throttled (20 ms per 50 ms).
    # Spin until the kernel reports a throttled period (at most ~3 s), so speed does not matter.
    args "$b" /bin/sh -c 'end=$(($(date +%s) + 3)); while [ "$(date +%s)" -lt "$end" ]; do i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done; grep -q "^nr_throttled [1-9]" /sys/fs/cgroup/cpu/cpu.stat && break; done; cat /sys/fs/cgroup/cpu/cpu.stat'
    run rt run -b "$b" "$(new_id)"
    assert_ok
    n=$(awk '$1 == "nr_throttled" { print $2 }' <<<"$out")
    [ "${n:-0}" -gt 0 ] || _fail "a busy loop under quota 20000/50000 was never throttled" "cpu.stat: $out"
    echo 0 >"$parent/cpu.rt_runtime_us" || true
}

test_cgroup_cpu_idle() {
    local b id
    b=$(bundle_new)
    [ -f /sys/fs/cgroup/cpu/cpu.idle ] || skip "no cpu.idle (kernel before 5.15)"
    cfg "$b" '.linux.resources.cpu = {idle: 1}'
    id=$(new_id)
    view_run "$b" "$id" /sys/fs/cgroup/cpu/cpu.idle /sys/fs/cgroup/cpu/cpu.shares
    if is_runc && [ "$(cgfile "$b" cpu cpu.idle)" = 0 ]; then
        rt delete --force "$id"
        skip "runc 1.1.5 ignores cpu.idle (added in runc 1.2)"
    fi
    both "$b" cpu cpu.idle 1
    # An idle group gets the minimum weight: the kernel reports shares 3.
    both "$b" cpu cpu.shares 3
    rt delete --force "$id"
}

# root_disk: "MAJOR:MINOR" of the first real disk (not loop, ram, zram, dm, md, sr, nbd).
root_disk() {
    local d
    for d in /sys/block/*; do
        case ${d##*/} in loop* | ram* | zram* | dm-* | md* | sr* | nbd*) continue ;; esac
        cat "$d/dev"
        return
    done
}

test_cgroup_blkio_throttle() {
    local b id dev k f rate
    [ -d /sys/fs/cgroup/blkio ] || skip "no blkio controller"
    dev=$(root_disk)
    [ -n "$dev" ] || skip "no real block device in /sys/block"
    b=$(bundle_new)
    cfg "$b" '.linux.resources.blockIO = {
        throttleReadBpsDevice: [{major: $maj, minor: $min, rate: 1048576}],
        throttleWriteBpsDevice: [{major: $maj, minor: $min, rate: 2097152}],
        throttleReadIOPSDevice: [{major: $maj, minor: $min, rate: 300}],
        throttleWriteIOPSDevice: [{major: $maj, minor: $min, rate: 400}]}' \
        --argjson maj "${dev%:*}" --argjson min "${dev#*:}"
    id=$(new_id)
    k=/sys/fs/cgroup/blkio
    view_run "$b" "$id" $k/blkio.throttle.read_bps_device $k/blkio.throttle.write_bps_device \
        $k/blkio.throttle.read_iops_device $k/blkio.throttle.write_iops_device
    for f in read_bps_device=1048576 write_bps_device=2097152 read_iops_device=300 write_iops_device=400; do
        rate=${f#*=}
        both "$b" blkio "blkio.throttle.${f%=*}" "$dev $rate"
    done
    rt delete --force "$id"
}

test_cgroup_blkio_weight_device() {
    local b id loop name sched old dev k=/sys/fs/cgroup/blkio f t
    [ -d $k ] || skip "no blkio controller"
    command -v losetup >/dev/null || skip "no losetup"
    # The root disk's scheduler is not ours to change: a loop device of our own gets BFQ.
    truncate -s 8M "$T/disk.img"
    loop=$(losetup -f --show "$T/disk.img") || skip "no free loop device"
    name=${loop#/dev/}
    sched=/sys/block/$name/queue/scheduler
    old=$(sed 's/.*\[\(.*\)\].*/\1/' "$sched")
    trap 'echo "'"$old"'" >"'"$sched"'" 2>/dev/null; losetup -d "'"$loop"'"' EXIT
    grep -qw bfq "$sched" || skip "the bfq scheduler is not available (needed for a per-device weight)"
    echo bfq >"$sched"
    dev=$(cat "/sys/block/$name/dev")
    b=$(bundle_new)
    cfg "$b" '.linux.resources.blockIO = {weight: 300, weightDevice: [{major: $maj, minor: $min, weight: 400}],
            throttleReadBpsDevice: [{major: $maj, minor: $min, rate: 1048576}]}
        | .linux.devices += [{path: "/dev/disk0", type: "b", major: $maj, minor: $min}]
        | .linux.resources.devices += [{allow: true, type: "b", major: $maj, minor: $min, access: "r"}]' \
        --argjson maj "${dev%:*}" --argjson min "${dev#*:}"
    id=$(new_id)
    view_run "$b" "$id" $k/blkio.bfq.weight $k/blkio.bfq.weight_device
    for f in blkio.bfq.weight blkio.bfq.weight_device; do
        [ -f "$k$(cgpath "$b")/$f" ] || { rt delete --force "$id"; skip "no $f (BFQ without cgroup support)"; }
    done
    both "$b" blkio blkio.bfq.weight 300
    assert_contains "$(cgfile "$b" blkio blkio.bfq.weight_device)" "$dev 400" "weight_device on the host"
    assert_contains "$(seen "$b" $k/blkio.bfq.weight_device)" "$dev 400" "weight_device inside"
    rt delete --force "$id"
    # The effect of the read throttle: 1.5 MiB of direct reads at 1 MiB/s take about 1.5 s.
    args "$b" /bin/sh -c 'a=$(cut -d" " -f1 /proc/uptime); dd if=/dev/disk0 of=/dev/null bs=256k count=6 iflag=direct 2>/dd.err || { echo "dd failed: $(cat /dd.err)"; ls -l /dev/disk0; }; b=$(cut -d" " -f1 /proc/uptime); echo "$a $b"'
    run rt run -b "$b" "$(new_id)"
    assert_ok
    assert_not_contains "$out" "dd failed" "direct reads of the loop device inside"
    t=$(awk '{ print int(($2 - $1) * 1000) }' <<<"$out")
    [ "$t" -ge 900 ] || _fail "1.5 MiB read under a 1 MiB/s throttle took only ${t} ms" "out: $out"
}

test_cgroup_blkio_leaf_weight() {
    local b id f=blkio.leaf_weight
    [ -d /sys/fs/cgroup/blkio ] || skip "no blkio controller"
    b=$(bundle_new)
    cfg "$b" '.linux.resources.blockIO = {leafWeight: 500}'
    id=$(new_id)
    run rt create -b "$b" "$id"
    if [ "$rc" = 0 ]; then
        [ -f "/sys/fs/cgroup/blkio$(cgpath "$b")/$f" ] ||
            _fail "leafWeight accepted although there is no $f"
        assert_eq 500 "$(cgfile "$b" blkio $f)" "$f on the host"
        rt delete --force "$id"
        return 0
    fi
    # No CFQ (removed in Linux 5.0) means no leaf weight: the create must fail cleanly.
    is_brick && assert_contains "$err" "$f"
    no_trace "$b" "$id"
    skip "no $f in kernel $(uname -r) (CFQ removed in 5.0, BFQ has no leaf weight): checked that create fails cleanly"
}

test_cgroup_hugepage_limits() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]'
    id=$(new_id)
    if [ -d /sys/fs/cgroup/hugetlb ]; then
        view_run "$b" "$id" /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes
        both "$b" hugetlb hugetlb.2MB.limit_in_bytes 4194304
        rt delete --force "$id"
        return 0
    fi
    run rt create -b "$b" "$id"
    if [ "$rc" = 0 ]; then
        rt delete --force "$id"
        skip "no hugetlb v1 hierarchy (hugetlb is bound to the cgroup2 tree here); $RUNTIME_NAME ignored hugepageLimits"
    fi
    is_brick && assert_contains "$err" hugetlb
    no_trace "$b" "$id"
    skip "no hugetlb v1 hierarchy (hugetlb is bound to the cgroup2 tree here): checked that create fails cleanly"
}

test_cgroup_network() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.network = {classID: 1048577, priorities: [{name: "lo", priority: 5}]}'
    id=$(new_id)
    if [ -d /sys/fs/cgroup/net_cls ] && [ -d /sys/fs/cgroup/net_prio ]; then
        view_run "$b" "$id" /sys/fs/cgroup/net_cls/net_cls.classid /sys/fs/cgroup/net_prio/net_prio.ifpriomap
        both "$b" net_cls net_cls.classid 1048577
        assert_contains "$(cgfile "$b" net_prio net_prio.ifpriomap)" "lo 5" "ifpriomap on the host"
        assert_contains "$(seen "$b" /sys/fs/cgroup/net_prio/net_prio.ifpriomap)" "lo 5" "ifpriomap inside"
        rt delete --force "$id"
        return 0
    fi
    # Tagging is not a limit: without the hierarchies brick ignores it (runc 1.1.5 refuses it).
    run rt create -b "$b" "$id"
    if is_runc && [ "$rc" != 0 ]; then
        local why=$err
        no_trace "$b" "$id"
        skip "no net_cls/net_prio v1 hierarchy; runc 1.1.5 refuses network then: ${why##*msg=}"
    fi
    assert_ok "network tagging without net_cls/net_prio should be ignored"
    rt delete --force "$id"
    skip "no net_cls/net_prio v1 hierarchy (bound to cgroup2, which has no files for them): create accepted and ignored them"
}

test_cgroup_rdma() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.resources.rdma = {mlx5_0: {hcaHandles: 3, hcaObjects: 100}}'
    id=$(new_id)
    if awk '$1 == "rdma" { f = 1 } END { exit !f }' /proc/cgroups; then
        [ -d /sys/fs/cgroup/rdma ] || skip "the rdma controller is not mounted as v1 here"
        run rt create -b "$b" "$id"
        # No such device: the kernel refuses the line; brick names the file.
        if [ "$rc" = 0 ]; then
            assert_contains "$(cgfile "$b" rdma rdma.max)" "mlx5_0"
            rt delete --force "$id"
            return 0
        fi
        is_brick && assert_contains "$err" rdma.max
        no_trace "$b" "$id"
        return 0
    fi
    run rt create -b "$b" "$id"
    assert_fail "rdma limits without an rdma controller"
    is_brick && assert_contains "$err" rdma
    no_trace "$b" "$id"
    skip "kernel has no rdma cgroup controller (not in /proc/cgroups): checked that create fails cleanly"
}

# The container mknods (always allowed: "c *:* m", "b *:* m") and opens each "TYPE MAJOR MINOR
# MODE"; majors 42-44 have no driver, so an allowed open fails ENXIO and a denied one EPERM.
test_cgroup_devices_rules() {
    local b id list
    b=$(bundle_new)
    cfg "$b" '.linux.resources.devices += [
        {allow: true, type: "c", major: 42, access: "rw"},
        {allow: true, type: "c", major: 43, minor: 1, access: "r"},
        {allow: true, type: "c", major: 43, minor: 2, access: "rw"},
        {allow: false, type: "c", major: 43, minor: 2, access: "w"},
        {allow: false, type: "c", major: 43, minor: 3, access: "rwm"},
        {allow: true, type: "c", major: 43, minor: 3, access: "w"},
        {allow: true, type: "b", major: 42, minor: 1, access: "r"}]'
    cat >"$b/rootfs/devs.sh" <<'EOF'
for d in "c 42 7 r" "c 42 7 w" "c 43 1 r" "c 43 1 w" "c 43 2 r" "c 43 2 w" "c 43 3 r" "c 43 3 w" \
    "b 42 1 r" "b 42 1 w" "b 42 2 r" "c 44 1 r"; do
    set -- $d
    n=/n-$1-$2-$3
    [ -e $n ] || /bin/probe mknod $n $1 $2 $3 >/dev/null || echo "mknod $n failed"
    echo "$d $(/bin/probe open $n $4)"
done >/devs.new
mv /devs.new /devs.out
exec /bin/probe sleep 30
EOF
    id=$(new_id)
    VIEW_THEN="/bin/sh /devs.sh" view_run "$b" "$id" /sys/fs/cgroup/devices/devices.list
    list=$(cgfile "$b" devices devices.list)
    for rule in "c 42:* rw" "c 43:1 r" "c 43:2 r" "c 43:3 w" "b 42:1 r" "c *:* m" "b *:* m"; do
        grep -qxF "$rule" <<<"$list" || _fail "devices.list on the host lacks '$rule'" "list: $list"
        assert_contains "|$(seen "$b" /sys/fs/cgroup/devices/devices.list)|" "|$rule|" "devices.list inside"
    done
    assert_not_contains "$list" "a *:*" "deny-all must stay"
    wait_file "$b/rootfs/devs.out"
    assert_eq "$(printf '%s\n' 'c 42 7 r ENXIO' 'c 42 7 w ENXIO' 'c 43 1 r ENXIO' 'c 43 1 w EPERM' \
        'c 43 2 r ENXIO' 'c 43 2 w EPERM' 'c 43 3 r EPERM' 'c 43 3 w ENXIO' 'b 42 1 r ENXIO' \
        'b 42 1 w EPERM' 'b 42 2 r EPERM' 'c 44 1 r EPERM')" "$(cat "$b/rootfs/devs.out")" \
        "opens inside: ENXIO = allowed (no driver), EPERM = denied by the device cgroup"
    rt delete --force "$id"
}

test_cgroup_devices_deny_inside_wildcard() {
    local b id
    b=$(bundle_new)
    # A later deny of one device inside an allowed wildcard: v1 cannot express that hole, so
    # the runtime must refuse the config or still deny the device, never silently allow it.
    cfg "$b" '.linux.resources.devices += [{allow: true, type: "c", major: 42, access: "rw"},
        {allow: false, type: "c", major: 42, minor: 2, access: "rw"}]'
    args "$b" /bin/sh -c '/bin/probe mknod /n2 c 42 2 >/dev/null; /bin/probe mknod /n3 c 42 3 >/dev/null;
        echo "$(/bin/probe open /n2 r) $(/bin/probe open /n3 r)"'
    id=$(new_id)
    run rt run -b "$b" "$id"
    if [ "$rc" != 0 ]; then
        assert_fail "refusing the config"
        no_trace "$b" "$id"
        return 0
    fi
    assert_eq "EPERM ENXIO" "$out" "c 42:2 must be denied, c 42:3 allowed"
}

test_cgroup_unified_on_hybrid() {
    local b id u=/sys/fs/cgroup/unified
    [ -d $u ] && [ "$(stat -fc %T $u)" = cgroup2fs ] || skip "no cgroup2 at $u (not a hybrid host)"
    b=$(bundle_new)
    cfg "$b" '.linux.resources.unified = {"cgroup.max.descendants": "5", "cgroup.max.depth": "2"}'
    id=$(new_id)
    if is_runc; then
        run rt create -b "$b" "$id"
        if [ "$rc" != 0 ]; then
            local why=$err
            no_trace "$b" "$id"
            skip "runc 1.1.5 refuses unified on a hybrid host: ${why##*msg=}"
        fi
        rt delete --force "$id"
    fi
    view_run "$b" "$id" $u/cgroup.max.descendants $u/cgroup.max.depth
    both "$b" unified cgroup.max.descendants 5
    both "$b" unified cgroup.max.depth 2
    rt delete --force "$id"
}

test_cgroup_unified_unknown_key() {
    local b u=/sys/fs/cgroup/unified
    [ -d $u ] && [ "$(stat -fc %T $u)" = cgroup2fs ] || skip "no cgroup2 at $u (not a hybrid host)"
    b=$(bundle_new)
    # memory is a v1 controller here, so the cgroup2 directory has no memory.max.
    cfg "$b" '.linux.resources.unified = {"memory.max": "67108864"}'
    refused "$b" memory.max
}

test_cgroup_kernel_refuses_value() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.resources.cpu = {quota: 500, period: 100000}'
    refused "$b" cpu.cfs_quota_us '"500"'
    cfg "$b" '.linux.resources.cpu = {cpus: "0", mems: "99"}'
    refused "$b" cpuset.mems '"99"'
    cfg "$b" '.linux.resources.cpu = {quota: 20000, period: 100000, burst: 30000}'
    # runc 1.1.5 ignores burst.
    is_brick && refused "$b" cpu.cfs_burst_us '"30000"'
    cfg "$b" '.linux.resources.cpu = null | .linux.resources.memory = {limit: 67108864, swap: 33554432}'
    refused "$b" memory.memsw.limit_in_bytes '"33554432"'
    cfg "$b" '.linux.resources.memory = {swappiness: 200}'
    refused "$b" swappiness 200
}
