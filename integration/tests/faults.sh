# faults: brick killed at a chosen syscall (strace fault injection), then `delete --force`
# must finish within its deadline and leave nothing (the leak check runs after each test).

# _killed_at VERB SYSCALL N ARGS...: run `RUNTIME VERB ARGS` with SIGKILL at the Nth SYSCALL.
_killed_at() {
    local verb=$1 sc=$2 n=$3
    shift 3
    command -v strace >/dev/null || _fail "strace is missing (make deps installs it)"
    run timeout 20 strace -o "$T/strace.log" -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
        "$RUNTIME" --root "$STATE_ROOT" "$verb" "$@"
    [ "$rc" = 137 ] || _fail "$verb was not killed at $sc #$n" "exit: $rc" "stderr: $err"
}

# _forced_delete_cleans ID: list and delete --force return within their deadlines.
_forced_delete_cleans() {
    local id=$1 pid
    pid=$(timeout 15 "$RUNTIME" --root "$STATE_ROOT" state "$id" 2>/dev/null | jq -r '.pid // 0') || pid=0
    [ "$pid" -gt 0 ] 2>/dev/null && track_pid "$pid"
    run timeout 15 "$RUNTIME" --root "$STATE_ROOT" list
    [ "$rc" != 124 ] || _fail "list hung on a container whose create was killed"
    run timeout 30 "$RUNTIME" --root "$STATE_ROOT" delete --force "$id"
    [ "$rc" != 124 ] || _fail "delete --force hung"
    assert_ok "delete --force after a killed $2"
}

# _kill_then_clean VERB SYSCALL N [JQ]: a `probe sleep` bundle (edited by JQ), VERB killed at
# the Nth SYSCALL, then list and delete --force within their deadlines; sets $FAULT_ID.
_kill_then_clean() {
    local verb=$1 sc=$2 n=$3 b
    is_brick || skip "injection points are brick's own syscalls"
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    [ -z "${4:-}" ] || cfg "$b" "$4"
    FAULT_ID=$(new_id)
    _killed_at "$verb" "$sc" "$n" -b "$b" "$FAULT_ID"
    _forced_delete_cleans "$FAULT_ID" "$verb"
}

# create killed while it waits for Ready: the init (already at the start gate) dies with it
# or is found by the pid create saved; no lock it inherited holds delete up.
test_fault_create_killed_waiting_for_ready() { _kill_then_clean create recvmsg 1; }

# run killed as it opens the start gate: the created container waits for a start that never
# comes; delete --force must not block on a lock the waiting init inherited.
test_fault_run_killed_at_start() { _kill_then_clean run connect 1; }

# create killed at its first state saves (renames): the cgroup record, then the init's pid;
# delete --force finds the cgroup and the process through them.
test_fault_create_killed_at_state_saves() {
    _kill_then_clean create rename 1
    _kill_then_clean create rename 2
}

# create killed while the init runs a slow createContainer hook: the init dies with brick at
# once (PR_SET_PDEATHSIG), not when the hook ends and it finds brick gone.
test_fault_init_dies_with_create() {
    is_brick || skip "injection points are brick's own syscalls"
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    cfg "$b" '.hooks = {createContainer: [{path: "/bin/sleep", args: ["sleep", "20"]}]}'
    id=$(new_id)
    _killed_at create recvfrom 1 -b "$b" "$id"
    pid=$(timeout 15 "$RUNTIME" --root "$STATE_ROOT" state "$id" | jq -r .pid)
    [ "$pid" -gt 0 ] || _fail "create saved no pid" "pid: $pid"
    track_pid "$pid"
    wait_gone "$pid" 5
    _forced_delete_cleans "$id" create
}

# A lock that is never released: verbs that change the container give up with an error that
# says who holds it; state and list, which only read, answer at once.
test_fault_lock_held_has_a_deadline() {
    is_brick || skip "brick's lock"
    local b id hp
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    flock -o "$STATE_ROOT/$id" sleep 100 &
    hp=$!
    helper_pid $hp
    wait_until 5 "the helper to hold the lock" sh -c "grep -q ' $hp ' /proc/locks"
    run timeout 5 "$RUNTIME" --root "$STATE_ROOT" state "$id"
    assert_ok "state must not wait for the lock"
    run timeout 5 "$RUNTIME" --root "$STATE_ROOT" list -q
    assert_ok "list must not wait for the lock"
    assert_eq "$id" "$out"
    run timeout 30 "$RUNTIME" --root "$STATE_ROOT" delete --force "$id"
    [ "$rc" != 124 ] || _fail "delete --force waited on the lock without a deadline"
    assert_fail "delete --force must fail while another process holds the lock"
    assert_contains "$err" "still held after 10 s" "the error says how long"
    kill "$hp"
    wait "$hp" 2>/dev/null || true
    rt delete --force "$id"
}
