# terminal: process.terminal with --console-socket on create and run -d.

# _console_server: start `probe recv-console` on $T/console.sock, output in $T/console.out.
_console_server() {
    "$PROBE" recv-console "$T/console.sock" >"$T/console.out" 2>"$T/console.err" &
    CONSOLE_PID=$!
    helper_pid $CONSOLE_PID
    wait_file "$T/console.sock"
}

# _console_report: the probe report read through the pty master, CRs stripped.
_console_report() {
    local n=100
    while alive "$CONSOLE_PID" && [ $n -gt 0 ]; do
        sleep 0.05
        n=$((n - 1))
    done
    tr -d '\r' <"$T/console.out" | grep '^{' | tail -1
}

test_terminal_create_console_socket() {
    local b id r
    b=$(bundle_new)
    cfg "$b" '.process.terminal = true'
    _console_server
    id=$(new_id)
    rt create --console-socket "$T/console.sock" -b "$b" "$id" >"$T/c.out" 2>&1
    rt start "$id"
    wait_status "$id" stopped
    rt delete "$id"
    r=$(_console_report)
    [ -n "$r" ] || _fail "no report read through the pty master" "console: $(cat "$T/console.out")" "$(cat "$T/console.err")"
    assert_jq "$r" '.tty | "\(.["0"]) \(.["1"]) \(.["2"])"' "true true true" "stdio should be the pty"
    assert_jq "$r" '.fds["0"] | startswith("/dev/pts/")' true "fd 0 should be a /dev/pts slave: $(jq_of "$r" -c .fds)"
    assert_jq "$r" '.fds["1"] == .fds["0"] and .fds["2"] == .fds["0"]' true
    assert_eq "" "$(cat "$T/c.out")" "with a terminal nothing goes to the runtime's stdout"
}

test_terminal_run_detach_console_socket() {
    local b id r
    b=$(bundle_new)
    cfg "$b" '.process.terminal = true'
    args "$b" /bin/sh -c '/bin/probe stat /dev/console; tty'
    _console_server
    id=$(new_id)
    rt run -d --console-socket "$T/console.sock" -b "$b" "$id" >"$T/c.out" 2>&1
    wait_status "$id" stopped
    rt delete "$id"
    _console_report >/dev/null
    r=$(tr -d '\r' <"$T/console.out")
    assert_jq "$(echo "$r" | grep '^{')" '"\(.type) \(.major)"' "c 136" "/dev/console should be the pty slave"
    assert_contains "$(echo "$r" | tail -1)" "/dev/pts/" "tty(1) inside"
}

test_terminal_requires_console_socket() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.terminal = true'
    run rt create -b "$b" "$(new_id)"
    assert_fail "terminal: true with create and no --console-socket must fail"
}

test_terminal_false_rejects_console_socket() {
    local b
    b=$(bundle_new)
    run rt create --console-socket "$T/nosock" -b "$b" "$(new_id)"
    assert_fail "--console-socket with terminal: false must fail"
}

test_terminal_run_foreground_proxies_pty() {
    # run -t in the foreground without --console-socket: the runtime holds the pty itself,
    # copies it to its stdout and returns the process's status.
    local b
    is_runc && skip "runc 1.1.5 opens /dev/tty for run -t, and the suite has no terminal"
    b=$(bundle_new)
    cfg "$b" '.process.terminal = true'
    args "$b" /bin/sh -c 'tty; echo hello-from-pty; exit 3'
    run rt run -b "$b" "$(new_id)"
    assert_rc 3 "the exit status comes back through the proxy"
    assert_contains "$out" hello-from-pty
    assert_contains "$out" /dev/pts/
}
