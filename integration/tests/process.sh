# process: hostname, domainname, sysctl, rlimits, oom, user, umask, env, cwd, PATH lookup, caps.

test_proc_hostname_domainname() {
    local b
    b=$(bundle_new)
    cfg "$b" '.hostname = "h-one" | .domainname = "d1.example"'
    report "$b"
    assert_jq "$out" .hostname h-one
    # runc 1.1.5 predates the domainname field (runtime-spec 1.1) and ignores it.
    is_runc || assert_jq "$out" .domainname d1.example
}

test_proc_sysctl() {
    local b before
    before=$(cat /proc/sys/net/ipv4/ip_forward)
    b=$(bundle_new)
    cfg "$b" '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789", "kernel.msgmax": "4096"}'
    args "$b" /bin/sh -c 'for s in net.ipv4.ip_forward kernel.shmmax kernel.msgmax; do /bin/probe sysctl $s; done'
    run rt run -b "$b" "$(new_id)"
    assert_ok
    assert_eq "$(printf '1\n123456789\n4096')" "$out"
    assert_eq "$before" "$(cat /proc/sys/net/ipv4/ip_forward)" "host ip_forward changed"
}

test_proc_sysctl_host_ns_refused() {
    # A net sysctl without a new network namespace would change the host: refuse.
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces |= map(select(.type != "network")) | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
    local before
    before=$(cat /proc/sys/net/ipv4/ip_forward)
    run rt run -b "$b" "$(new_id)"
    assert_fail "net.* sysctl without a netns"
    assert_eq "$before" "$(cat /proc/sys/net/ipv4/ip_forward)"
}

test_proc_rlimits() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}, {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192}]'
    report "$b"
    assert_jq "$out" .rlimits.RLIMIT_NOFILE.soft 100
    assert_jq "$out" .rlimits.RLIMIT_NOFILE.hard 200
    assert_jq "$out" .rlimits.RLIMIT_MSGQUEUE.soft 4096
    assert_jq "$out" .rlimits.RLIMIT_MSGQUEUE.hard 8192
}

test_proc_oom_score_adj() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.oomScoreAdj = 500'
    report "$b"
    assert_jq "$out" .oom_score_adj 500
}

test_proc_user_groups_umask() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 23}'
    report "$b"
    assert_jq "$out" '.ids | "\(.uid) \(.euid) \(.suid)"' "1000 1000 1000"
    assert_jq "$out" '.ids | "\(.gid) \(.egid) \(.sgid)"' "1001 1001 1001"
    assert_jq "$out" '.groups | index(10) != null and index(20) != null' true "additionalGids: $(jq_of "$out" -c .groups)"
    assert_jq "$out" '.groups | index(0) == null' true "root group kept: $(jq_of "$out" -c .groups)"
    assert_jq "$out" .umask 0027
    # A non-root user ends with no effective capabilities.
    assert_jq "$out" .caps.eff 0000000000000000
}

test_proc_user_file_access() {
    local b
    b=$(bundle_new)
    mkdir -p "$b/rootfs/rootonly"
    chmod 700 "$b/rootfs/rootonly"
    cfg "$b" '.process.user = {"uid": 1000, "gid": 1000}'
    args "$b" /bin/probe write /rootonly/x
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EACCES "$out" "uid 1000 wrote into a 0700 root dir"
}

test_proc_env_cwd() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.env = ["PATH=/bin", "FOO=bar baz", "EMPTY="] | .process.cwd = "/tmp"'
    report "$b"
    assert_jq "$out" .env.FOO "bar baz"
    assert_jq "$out" .env.EMPTY ""
    assert_jq "$out" .env.PATH /bin
    assert_jq "$out" .cwd /tmp
    assert_jq "$out" '.env | has("BRICK_IT_LEAK")' false
}

test_proc_env_not_inherited() {
    local b
    b=$(bundle_new)
    BRICK_IT_LEAK=1 run rt run -b "$b" "$(new_id)"
    assert_ok
    assert_jq "$out" '.env | has("BRICK_IT_LEAK")' false "runtime environment leaked into the container"
}

test_proc_cwd_created() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.cwd = "/work/dir"'
    report "$b"
    assert_jq "$out" .cwd /work/dir
}

test_proc_args0_path_lookup() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.env = ["PATH=/nowhere:/bin"]'
    args "$b" probe report
    report "$b"
    assert_jq "$out" .exe /bin/probe
    assert_jq "$out" '.args[0]' probe
}

# _capmask NAMES...: the hex mask of the named capabilities.
_capmask() {
    local m=0 c n
    for c in "$@"; do
        case $c in
        CAP_CHOWN) n=0 ;; CAP_DAC_OVERRIDE) n=1 ;; CAP_FOWNER) n=3 ;; CAP_FSETID) n=4 ;;
        CAP_KILL) n=5 ;; CAP_SETGID) n=6 ;; CAP_SETUID) n=7 ;; CAP_SETPCAP) n=8 ;;
        CAP_NET_BIND_SERVICE) n=10 ;; CAP_NET_RAW) n=13 ;; CAP_SYS_CHROOT) n=18 ;;
        CAP_SYS_ADMIN) n=21 ;; CAP_MKNOD) n=27 ;; CAP_AUDIT_WRITE) n=29 ;; CAP_SETFCAP) n=31 ;;
        *) echo "unknown cap $c" >&2; return 1 ;;
        esac
        m=$((m | (1 << n)))
    done
    printf '%016x' $m
}

test_proc_capabilities() {
    local b base
    b=$(bundle_new)
    report "$b"
    mapfile -t base < <(jq -r '.process.capabilities.bounding[]' "$b/config.json")
    local want
    want=$(_capmask "${base[@]}")
    assert_jq "$out" .caps.bnd "$want" "bounding set"
    assert_jq "$out" .caps.eff "$want" "effective set"
    assert_jq "$out" .caps.prm "$want" "permitted set"
    assert_jq "$out" .caps.inh 0000000000000000 "inheritable set"
    assert_jq "$out" .caps.amb 0000000000000000 "ambient set"
    assert_jq "$out" .no_new_privs 1
    cfg "$b" '.process.capabilities = {"bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}
        | .process.noNewPrivileges = false | .process.user.uid = 1000'
    report "$b"
    assert_jq "$out" .caps.bnd "$(_capmask CAP_KILL CAP_NET_BIND_SERVICE)"
    assert_jq "$out" .caps.amb "$(_capmask CAP_NET_BIND_SERVICE)" "ambient for a non-root user"
    assert_jq "$out" .caps.inh "$(_capmask CAP_NET_BIND_SERVICE)"
    assert_jq "$out" .no_new_privs 0
}

test_proc_fds_only_stdio() {
    local b
    b=$(bundle_new)
    report "$b"
    assert_jq "$out" '.fds | keys | sort | join(",")' "0,1,2" "extra fds leaked into the container: $(jq_of "$out" -c .fds)"
}

# SIGPIPE's bit (1 << 12) in the SigIgn mask of /proc/self/status text.
_sigpipe_ignored() {
    local mask
    mask=$(echo "$1" | sed -n 's/^SigIgn:[[:space:]]*//p')
    [ -n "$mask" ] || { echo "no SigIgn line" >&2; return 2; }
    echo $(((0x$mask >> 12) & 1))
}

test_proc_sigpipe_not_ignored() {
    local b
    b=$(bundle_new)
    # brick ignores SIGPIPE itself; an ignored signal would survive execve into the container
    # (busybox cat, not the Rust probe, whose own start-up ignores SIGPIPE). Other signals
    # keep the disposition brick was started with.
    args "$b" /bin/cat /proc/self/status
    report "$b"
    assert_eq 0 "$(_sigpipe_ignored "$out")" "container init starts with SIGPIPE ignored"
    _exec_target
    run rt exec "$EX_ID" /bin/cat /proc/self/status
    assert_ok
    assert_eq 0 "$(_sigpipe_ignored "$out")" "exec'd process starts with SIGPIPE ignored"
    _exec_done
}

test_proc_preserve_fds() {
    local b
    b=$(bundle_new)
    echo preserved >"$T/pf"
    run bash -c 'exec 3<"$1"; shift; "$@"' _ "$T/pf" "$RUNTIME" --root "$STATE_ROOT" run --preserve-fds 1 -b "$b" "$(new_id)"
    assert_ok
    assert_jq "$out" '.fds["3"]' "$T/pf" "fd 3 passed with --preserve-fds 1"
}
