# lifecycle: create, start, state transitions, run, kill, delete.

test_create_start_delete() {
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 1
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    run state_of "$id"
    assert_ok
    assert_jq "$out" .status created
    pid=$(jq_of "$out" .pid)
    [ "$pid" -gt 0 ] || _fail "created pid not > 0" "state: $out"
    alive "$pid" || _fail "created process $pid does not exist"
    # Not exec'd yet: the workload binary is not what runs.
    local exe cmd
    exe=$(readlink "/proc/$pid/exe" || true)
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    assert_not_contains "$exe" "/bin/probe" "created container already exec'd the workload (exe)"
    assert_not_contains "$cmd" "probe sleep" "created container already exec'd the workload (cmdline)"
    rt start "$id"
    run state_of "$id"
    assert_jq "$out" .status running
    assert_jq "$out" .pid "$pid" "pid changed across start"
    # After start the workload is what runs.
    wait_until 5 "the workload to show in /proc/$pid/cmdline" \
        sh -c "tr '\\0' ' ' </proc/$pid/cmdline | grep -q 'probe sleep 1'"
    wait_status "$id" stopped 5
    wait_gone "$pid"
    rt delete "$id"
    run rt state "$id"
    assert_fail "state of a deleted container should fail"
}

test_run_exit_status() {
    local b
    b=$(bundle_new)
    args "$b" /bin/probe exit 7
    run rt run -b "$b" "$(new_id)"
    assert_rc 7 "run should exit with the container's status"
    args "$b" /bin/probe exit 0
    run rt run -b "$b" "$(new_id)"
    assert_rc 0
}

test_run_foreground_output() {
    local b
    b=$(bundle_new)
    report "$b"
    assert_jq "$out" .pid 1 "workload should be pid 1 of its pid namespace"
    assert_jq "$out" '.args | join(" ")' "/bin/probe report"
}

test_run_detach_pid_file() {
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d --pid-file "$T/pidfile" -b "$b" "$id" >"$T/c.out" 2>&1
    [ -s "$T/pidfile" ] || _fail "run -d did not write --pid-file"
    pid=$(cat "$T/pidfile")
    assert_eq "$(pid_of "$id")" "$pid" "pid file differs from state pid"
    assert_eq running "$(status_of "$id")"
    alive "$pid" || _fail "detached container $pid not running"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    wait_gone "$pid"
}

test_create_pid_file() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt create --pid-file "$T/p" -b "$b" "$id" >"$T/c.out" 2>&1
    [ -s "$T/p" ] || _fail "create did not write --pid-file"
    assert_eq "$(pid_of "$id")" "$(cat "$T/p")"
    # A relative pid file path is relative to the caller's cwd.
    rt delete --force "$id"
    id=$(new_id)
    (cd "$T" && rt create --pid-file rel.pid -b "$b" "$id" >"$T/c.out" 2>&1)
    [ -s "$T/rel.pid" ] || _fail "relative --pid-file not written in cwd"
    rt delete --force "$id"
}

# kill_one B SIGNAL EXPECTED-EXIT: send SIGNAL to a probe that dies on it, check it stops.
_kill_with() {
    local b=$1 sig=$2 id pid
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/$id.out" 2>&1
    pid=$(pid_of "$id")
    # As pid 1 the probe ignores signals it has no handler for yet.
    case "$sig" in *KILL | 9) ;; *) wait_until 5 "the probe to catch $sig" caught "$pid" "$sig" ;; esac
    rt kill "$id" "$sig"
    wait_status "$id" stopped 5
    wait_gone "$pid"
    rt delete "$id"
}

test_kill_signal_forms() {
    local b s
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    for s in TERM SIGTERM 15 KILL SIGKILL 9 INT HUP; do
        _kill_with "$b" "$s"
    done
}

test_kill_default_is_term() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe signals
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/sig.out" 2>&1
    wait_file "$T/sig.out"
    rt kill "$id" USR1
    rt kill "$id" 12
    rt kill "$id"
    wait_status "$id" stopped
    rt delete "$id"
    assert_eq "$(printf 'ready\nUSR1\nUSR2\nTERM')" "$(cat "$T/sig.out")" "signals seen by the container"
}

test_kill_all() {
    local b id pid
    b=$(bundle_new)
    # pid 1 plus a child sleeping; kill --all must reach both.
    args "$b" /bin/sh -c '/bin/probe sleep 30 & /bin/probe sleep 30; wait'
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    wait_until 5 "both sleepers to be forked" children_at_least "$pid" 2
    local kids
    kids=$(cat "/proc/$pid/task/$pid/children")
    [ -n "$kids" ] || _fail "container has no children to kill"
    rt kill --all "$id" KILL
    wait_status "$id" stopped
    for k in $kids; do wait_gone "$k"; done
    rt delete "$id"
}

test_delete_force_running() {
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    rt delete --force "$id"
    wait_gone "$pid"
    run rt state "$id"
    assert_fail "state after delete --force should fail"
}

test_delete_force_created() {
    local b id pid
    b=$(bundle_new)
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    rt delete --force "$id"
    wait_gone "$pid"
    assert_eq "" "$(cat "$T/c.out")" "workload ran although never started"
}

test_delete_created_without_force() {
    # The spec: deleting a container that is not stopped MUST fail; runc 1.1.5 deletes a
    # created one anyway. --force then removes it.
    local b id pid
    b=$(bundle_new)
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    if ! is_runc; then
        run rt delete "$id"
        assert_fail "delete of a created container without --force"
        assert_jq "$(rt state "$id")" .status created "still created after the refused delete"
    fi
    rt delete --force "$id"
    wait_gone "$pid"
}

test_start_twice_fails() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe exit 0
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    rt start "$id"
    wait_status "$id" stopped
    run rt start "$id"
    assert_fail "start of a stopped container must fail"
    rt delete "$id"
}
