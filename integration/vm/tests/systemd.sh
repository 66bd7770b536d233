# shellcheck shell=bash disable=SC2016,SC2154 # jq programs in single quotes; lib.sh sets out/err
# The systemd cgroup driver under a real systemd (the VM's systemd boot, boot.sh -s): a
# transient scope per container made over D-Bus, resources as unit properties and files,
# update, pause, ps, kill --all, daemon-reload, delete, a create killed midway.

sd_require() {
    [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || skip "systemd is not PID 1 here (the VM's systemd boot runs this)"
    [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || skip "not a pure cgroup v2 host"
    is_brick || skip "brick's systemd driver"
}

# sd_bundle: a bundle whose cgroupsPath names a scope of this test in system.slice; prints it.
sd_bundle() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.cgroupsPath = $p' --arg p "system.slice:$(sd_prefix):$(basename "$b")"
    echo "$b"
}

# sd_unit B: the scope's unit name for bundle B.
sd_unit() { echo "$(sd_prefix)-$(basename "$1").scope"; }

sd_prop() { systemctl show -P "$2" "$1"; }

test_systemd_scope_holds_the_container_with_its_limits() {
    sd_require
    local b id u pid dir
    b=$(sd_bundle)
    cfg "$b" '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 32}
        | .linux.resources.cpu = {quota: 20000, period: 100000}'
    args "$b" /bin/probe sleep 60
    id=$(new_id)
    u=$(sd_unit "$b")
    rt --systemd-cgroup run -d -b "$b" "$id" >"$T/run.out" 2>&1
    wait_status "$id" running
    pid=$(pid_of "$id")
    assert_eq active "$(sd_prop "$u" ActiveState)" "the scope is active"
    assert_eq yes "$(sd_prop "$u" Delegate)" "Delegate=yes"
    assert_eq 67108864 "$(sd_prop "$u" MemoryMax)" "MemoryMax property"
    assert_eq 32 "$(sd_prop "$u" TasksMax)" "TasksMax property"
    dir=/sys/fs/cgroup$(sd_prop "$u" ControlGroup)
    assert_eq "/sys/fs/cgroup/system.slice/$u" "$dir" "the scope's cgroup"
    grep -qx "$pid" "$dir/cgroup.procs" || _fail "the init is not in the scope" "$(cat "$dir/cgroup.procs")"
    assert_eq 67108864 "$(cat "$dir/memory.max")" memory.max
    assert_eq 32 "$(cat "$dir/pids.max")" pids.max
    assert_eq "20000 100000" "$(cat "$dir/cpu.max")" cpu.max
    # systemd re-applies its own properties on daemon-reload: they must be brick's values.
    systemctl daemon-reload
    assert_eq 67108864 "$(cat "$dir/memory.max")" "memory.max after daemon-reload"
    assert_eq 32 "$(cat "$dir/pids.max")" "pids.max after daemon-reload"
    # update changes the property and the file.
    rt update --memory 134217728 --pids-limit 40 "$id"
    assert_eq 134217728 "$(cat "$dir/memory.max")" "memory.max after update"
    assert_eq 134217728 "$(sd_prop "$u" MemoryMax)" "MemoryMax after update"
    assert_eq 40 "$(cat "$dir/pids.max")" "pids.max after update"
    systemctl daemon-reload
    assert_eq 134217728 "$(cat "$dir/memory.max")" "updated memory.max after daemon-reload"
    # pause and resume through the scope's cgroup.freeze; ps lists the init.
    rt pause "$id"
    assert_eq paused "$(status_of "$id")"
    assert_eq 1 "$(cat "$dir/cgroup.freeze")" cgroup.freeze
    rt resume "$id"
    assert_eq running "$(status_of "$id")"
    run rt ps --format json "$id"
    assert_ok
    assert_contains "$out" "$pid" "ps lists the init"
    rt delete --force "$id"
    [ ! -d "$dir" ] || _fail "the scope's cgroup is left" "$dir"
    wait_until 10 "the scope to go" sh -c "! systemctl list-units --all --plain --no-legend '$u' | grep -q ."
}

test_systemd_kill_all_and_delete_leave_no_unit() {
    sd_require
    local b id u dir
    b=$(sd_bundle)
    args "$b" /bin/sh -c '/bin/probe sleep 60 & /bin/probe sleep 60 & exec /bin/probe sleep 60'
    id=$(new_id)
    u=$(sd_unit "$b")
    rt --systemd-cgroup run -d -b "$b" "$id" >"$T/run.out" 2>&1
    wait_status "$id" running
    dir=/sys/fs/cgroup$(sd_prop "$u" ControlGroup)
    wait_until 10 "three processes in the scope" sh -c "[ \$(wc -l <'$dir/cgroup.procs') -ge 3 ]"
    rt kill --all "$id" KILL
    wait_status "$id" stopped
    assert_eq "" "$(cat "$dir/cgroup.procs" 2>/dev/null)" "every process of the scope was killed"
    rt delete "$id"
    wait_until 10 "the scope to go" sh -c "! systemctl list-units --all --plain --no-legend '$u' | grep -q ."
    [ ! -d "$dir" ] || _fail "the scope's cgroup is left" "$dir"
}

test_systemd_oom_is_counted_in_the_scope() {
    sd_require
    local b id u dir
    b=$(sd_bundle)
    cfg "$b" '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
    args "$b" /bin/sh -c '/bin/probe alloc 128; exec /bin/probe sleep 60'
    id=$(new_id)
    u=$(sd_unit "$b")
    rt --systemd-cgroup run -d -b "$b" "$id" >"$T/run.out" 2>&1
    wait_status "$id" running
    dir=/sys/fs/cgroup$(sd_prop "$u" ControlGroup)
    wait_until 20 "an oom_kill in memory.events" sh -c "grep -q '^oom_kill [1-9]' '$dir/memory.events'"
    rt delete --force "$id"
}

# brick killed while its createRuntime hook runs (the scope exists and holds the init): the
# init dies with brick, the empty scope goes, and delete --force finds nothing left.
test_systemd_killed_create_leaves_no_scope() {
    sd_require
    local b id u cpid
    b=$(sd_bundle)
    args "$b" /bin/probe sleep 60
    cfg "$b" '.hooks.createRuntime = [{path: "/bin/sh", args: ["sh", "-c", "echo $$ >\"$0\"; exec sleep 30", $f]}]' \
        --arg f "$T/hook.pid"
    id=$(new_id)
    u=$(sd_unit "$b")
    "$RUNTIME" --root "$STATE_ROOT" --systemd-cgroup create -b "$b" "$id" >"$T/create.out" 2>&1 &
    cpid=$!
    helper_pid "$cpid"
    wait_file "$T/hook.pid" 20
    helper_pid "$(cat "$T/hook.pid")"
    assert_eq active "$(sd_prop "$u" ActiveState)" "the scope exists while the hook runs"
    kill -9 "$cpid"
    kill -9 "$(cat "$T/hook.pid")"
    wait_until 10 "the empty scope to go" sh -c "! systemctl list-units --all --plain --no-legend '$u' | grep -q ."
    run timeout 30 "$RUNTIME" --root "$STATE_ROOT" delete --force "$id"
    assert_ok "delete --force after a killed create"
    [ ! -d "/sys/fs/cgroup/system.slice/$u" ] || _fail "the scope's cgroup is left"
}
