# seccomp SCMP_ACT_NOTIFY: the notify fd and the container state reach linux.seccomp.listenerPath.

# _agent SOCK OUT: a listener that records the message and how many fds came with it.
_agent() {
    cat >"$T/agent.py" <<'PY'
import json, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 65536, 1)
data = msg
while True:
    more = c.recv(65536)
    if not more:
        break
    data += more
json.dump({"msg": json.loads(data), "nfds": len(fds)}, open(out, "w"))
PY
    python3 "$T/agent.py" "$1" "$2" &
    helper_pid $!
    wait_file "$1"
}

test_seccomp_notify_fd_reaches_listener() {
    local b id got
    command -v python3 >/dev/null || skip "python3 is needed for the listener"
    b=$(bundle_new)
    _agent "$T/agent.sock" "$T/agent.out"
    args "$b" /bin/probe exit 0
    cfg "$b" '.process.noNewPrivileges = true | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $l, listenerMetadata: "meta-1", syscalls: [{names: ["mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg l "$T/agent.sock"
    id=$(new_id)
    run rt run -b "$b" "$id"
    assert_ok "run with a NOTIFY rule"
    wait_file "$T/agent.out"
    got=$(cat "$T/agent.out")
    assert_jq "$got" .nfds 1 "one fd (the seccomp listener) arrives"
    assert_jq "$got" '.msg.fds | join(",")' seccompFd "fds names the listener"
    assert_jq "$got" .msg.metadata meta-1 "listenerMetadata is passed on"
    assert_jq "$got" .msg.state.id "$id" "the container state rides along"
    assert_jq "$got" '.msg.pid > 0' true "the container's pid"
}
