# exec: a new process inside a running container (namespaces, cgroup, security, flags, tty).

# _exec_target [JQ]: a running container (probe sleep) from a fresh bundle, edited by JQ;
# sets $EX_ID, $EX_PID and $EX_B.
_exec_target() {
    EX_B=$(bundle_new)
    args "$EX_B" /bin/probe sleep 60
    [ -z "${1:-}" ] || cfg "$EX_B" "$1"
    EX_ID=$(new_id)
    rt run -d -b "$EX_B" "$EX_ID" >"$T/target.out" 2>&1
    wait_status "$EX_ID" running
    EX_PID=$(pid_of "$EX_ID")
}

# _exec_done: remove the target container.
_exec_done() { rt delete --force "$EX_ID"; }

test_exec_joins_namespaces_and_cgroup() {
    local ns want
    _exec_target
    run rt exec "$EX_ID" /bin/probe report
    assert_ok
    for ns in ipc mnt net pid uts cgroup user time; do
        want=$(readlink "/proc/$EX_PID/ns/$ns" | tr -dc 0-9)
        assert_jq "$out" ".ns.$ns" "$want" "$ns namespace should be the init's"
    done
    assert_jq "$out" '.cgroup | join(" ")' "$(tr '\n' ' ' <"/proc/$EX_PID/cgroup" | sed 's/ $//')" \
        "the exec'd process should be in the container's cgroup"
    assert_ne 1 "$(jq_of "$out" .pid)" "pid 1 is the init"
    assert_jq "$out" '.hostname' brick-it
    _exec_done
}

test_exec_security_as_configured() {
    local base want
    _exec_target '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}'
    run rt exec "$EX_ID" /bin/probe report
    assert_ok
    mapfile -t base < <(jq -r '.process.capabilities.bounding[]' "$EX_B/config.json")
    want=$(_capmask "${base[@]}")
    assert_jq "$out" .caps.bnd "$want" "bounding set"
    assert_jq "$out" .caps.eff "$want" "effective set"
    assert_jq "$out" .caps.prm "$want" "permitted set"
    assert_jq "$out" .caps.inh 0000000000000000 "inheritable set (CVE-2022-29162)"
    assert_jq "$out" .caps.amb 0000000000000000 "ambient set"
    assert_jq "$out" .no_new_privs 1
    assert_jq "$out" .seccomp 2 "the container's seccomp filter"
    run rt exec "$EX_ID" /bin/probe syscall sethostname
    assert_ok
    assert_eq EPERM "$out" "the container's seccomp rule applies to exec"
    _exec_done
}

# A saved seccomp profile that no longer parses must stop exec, never drop the filter.
test_exec_refuses_a_corrupt_saved_seccomp() {
    is_brick || skip "state.json's layout is brick's own"
    local st="$STATE_ROOT"
    _exec_target '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}'
    st="$st/$EX_ID/state.json"
    jq '.config.seccomp.defaultAction = "SCMP_ACT_BOGUS"' "$st" >"$st.new" && mv "$st.new" "$st"
    run rt exec "$EX_ID" /bin/sh -c 'touch /tmp/exec-ran'
    assert_fail "exec with a corrupt saved seccomp profile must fail"
    assert_contains "$err" "config.seccomp.defaultAction" "the error names the field"
    assert_contains "$err" "state.json" "the error names the file"
    [ ! -e "$EX_B/rootfs/tmp/exec-ran" ] || _fail "exec started the process without its filter"
    _exec_done
}

test_exec_user_cwd_env_gids() {
    _exec_target
    run rt exec --user 1000:1001 -g 10 -g 20 --cwd /tmp -e FOO=bar -e HOME=/x \
        "$EX_ID" /bin/probe report
    assert_ok
    assert_jq "$out" '.ids | "\(.uid) \(.euid) \(.gid) \(.egid)"' "1000 1000 1001 1001"
    assert_jq "$out" '.groups | index(10) != null and index(20) != null' true "groups: $(jq_of "$out" -c .groups)"
    assert_jq "$out" .cwd /tmp
    assert_jq "$out" .env.FOO bar
    assert_jq "$out" .env.HOME /x "--env replaces a variable of the config"
    assert_jq "$out" .env.PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    assert_jq "$out" .caps.eff 0000000000000000 "a non-root user has no effective capabilities"
    assert_jq "$out" '.args | join(" ")' "/bin/probe report"
    run rt exec --user 1000 "$EX_ID" /bin/probe write /rootonly-x
    assert_rc 1
    _exec_done
}

test_exec_missing_cwd_fails() {
    _exec_target
    run rt exec --cwd /does/not/exist "$EX_ID" /bin/probe report
    assert_fail "exec with a missing --cwd"
    [ ! -e "$EX_B/rootfs/does" ] || _fail "exec created the cwd in the container"
    _exec_done
}

test_exec_cap_adds_without_inheritable() {
    local admin
    _exec_target
    run rt exec --cap CAP_SYS_ADMIN "$EX_ID" /bin/probe report
    assert_ok
    admin=$(printf '%016x' $((1 << 21)))
    for set in bnd eff prm; do
        assert_eq "$admin" "$(printf '%016x' $((0x$(jq_of "$out" .caps.$set) & (1 << 21))))" \
            "--cap CAP_SYS_ADMIN in the $set set"
    done
    assert_jq "$out" .caps.inh 0000000000000000 "--cap must never grant inheritable (CVE-2022-29162)"
    assert_jq "$out" .caps.amb 0000000000000000
    _exec_done
}

test_exec_exit_status() {
    _exec_target
    run rt exec "$EX_ID" /bin/probe exit 7
    assert_rc 7 "the exec'd process's exit code"
    run rt exec "$EX_ID" /bin/sh -c 'kill -KILL $$'
    assert_rc 137 "128 + SIGKILL"
    _exec_done
}

test_exec_detach_pid_file() {
    local p start
    _exec_target
    start=$(date +%s)
    run rt exec -d --pid-file "$T/exec.pid" "$EX_ID" /bin/probe sleep 30
    assert_ok
    assert_eq "" "$out" "exec -d prints nothing"
    [ $(($(date +%s) - start)) -lt 10 ] || _fail "exec -d waited for the process"
    p=$(cat "$T/exec.pid")
    track_pid "$p"
    alive "$p" || _fail "the pid file's process $p is not running"
    assert_eq "$(readlink "/proc/$EX_PID/ns/pid")" "$(readlink "/proc/$p/ns/pid")" \
        "the pid file names the exec'd process, inside the container's pid namespace"
    assert_contains "$(tr '\0' ' ' <"/proc/$p/cmdline")" "probe sleep 30"
    _exec_done
    wait_gone "$p"
}

test_exec_process_file() {
    _exec_target
    cat >"$T/process.json" <<'EOF'
{"args": ["/bin/probe", "report"], "cwd": "/etc", "env": ["PATH=/bin", "ONLY=file"],
 "user": {"uid": 1000, "gid": 1000}, "terminal": false}
EOF
    run rt exec --process "$T/process.json" "$EX_ID"
    assert_ok
    assert_jq "$out" .cwd /etc
    assert_jq "$out" .env.ONLY file
    assert_jq "$out" .env.PATH /bin "the file's env replaces the config's"
    assert_jq "$out" .ids.uid 1000
    assert_jq "$out" .caps.prm 0000000000000000 "no capabilities object: none"
    jq '.args = ["/bin/probe", "exit", "3"]' "$T/process.json" >"$T/p3.json"
    run rt exec -p "$T/p3.json" "$EX_ID"
    assert_rc 3
    _exec_done
}

test_exec_stopped_or_missing_fails() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe exit 0
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    rt start "$id"
    wait_status "$id" stopped
    run rt exec "$id" /bin/probe report
    assert_fail "exec into a stopped container"
    is_brick && assert_contains "$err" "container not running"
    rt delete "$id"
    run rt exec "nope-$id" /bin/probe report
    assert_fail "exec into a missing container"
    is_brick && assert_contains "$err" "container \"nope-$id\" does not exist"
    return 0
}

test_exec_paused() {
    local bg rc
    _exec_target
    rt pause "$EX_ID"
    run rt exec "$EX_ID" /bin/probe exit 0
    assert_fail "exec into a paused container"
    "$RUNTIME" --root "$STATE_ROOT" exec --ignore-paused "$EX_ID" /bin/probe exit 4 \
        >"$T/ip.out" 2>&1 </dev/null &
    bg=$!
    # An observation window: a frozen exec process must not finish within it (not a wait).
    sleep 1
    alive $bg || _fail "exec --ignore-paused finished while the container was frozen" "$(cat "$T/ip.out")"
    rt resume "$EX_ID"
    rc=0
    wait $bg || rc=$?
    assert_eq 4 "$rc" "exec --ignore-paused runs once the container is resumed: $(cat "$T/ip.out")"
    _exec_done
}

test_exec_fds_only_stdio() {
    _exec_target
    run rt exec "$EX_ID" /bin/probe report
    assert_ok
    assert_jq "$out" '.fds | keys | sort | join(",")' "0,1,2" "extra fds leaked: $(jq_of "$out" -c .fds)"
    echo data >"$T/pf"
    run bash -c 'exec 3<"$1"; shift; "$@"' _ "$T/pf" "$RUNTIME" --root "$STATE_ROOT" \
        exec --preserve-fds 1 "$EX_ID" /bin/probe report
    assert_ok
    assert_jq "$out" '.fds | keys | sort | join(",")' "0,1,2,3" "fds: $(jq_of "$out" -c .fds)"
    assert_jq "$out" '.fds["3"]' "$T/pf" "fd 3 passed with --preserve-fds 1"
    _exec_done
}

test_exec_tty_console_socket() {
    local r
    _exec_target
    _console_server
    rt exec -t -d --console-socket "$T/console.sock" "$EX_ID" /bin/probe report >"$T/c.out" 2>&1
    r=$(_console_report)
    [ -n "$r" ] || _fail "no report read through the pty master" "console: $(cat "$T/console.out")" "$(cat "$T/console.err")"
    assert_jq "$r" '.tty | "\(.["0"]) \(.["1"]) \(.["2"])"' "true true true" "stdio should be the pty"
    assert_jq "$r" '.fds["0"] | startswith("/dev/pts/")' true "fd 0: $(jq_of "$r" -c .fds)"
    assert_jq "$r" '.fds | keys | sort | join(",")' "0,1,2" "fds: $(jq_of "$r" -c .fds)"
    assert_eq "" "$(cat "$T/c.out")" "exec -d prints nothing"
    _exec_done
}

test_exec_tty_foreground() {
    local r
    command -v script >/dev/null || skip "needs script(1) for a terminal on stdin"
    _exec_target
    # script(1) gives the runtime a terminal on stdin, as an interactive user would.
    run script -qec "$RUNTIME --root $STATE_ROOT exec -t $EX_ID /bin/sh -c '/bin/probe report; exit 5'" /dev/null
    assert_rc 5 "exit status through the terminal"
    r=$(printf '%s' "$out" | tr -d '\r' | grep -o '{.*')
    assert_jq "$r" '.tty | "\(.["0"]) \(.["1"]) \(.["2"])"' "true true true" "stdio should be the pty"
    assert_jq "$r" '.fds | keys | sort | join(",")' "0,1,2" "fds: $(jq_of "$r" -c .fds)"
    _exec_done
}

test_exec_tty_foreground_stdin_not_a_terminal() {
    local r
    # runc 1.1 insists on a terminal on its own stdin for exec -t; brick copies any stdio.
    is_brick || skip "runc 1.1 needs a terminal on stdin for exec -t"
    _exec_target
    run rt exec -t "$EX_ID" /bin/sh -c '/bin/probe report; exit 6'
    assert_rc 6 "exit status through the terminal"
    r=$(printf '%s' "$out" | tr -d '\r' | grep -o '{.*')
    assert_jq "$r" '.tty | "\(.["0"]) \(.["1"]) \(.["2"])"' "true true true" "stdio should be the pty"
    _exec_done
}
