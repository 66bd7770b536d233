# seccomp: brick's hardened default profile (seccomp-profiles/default.json) and the general
# OCI linux.seccomp object on small custom profiles. The probe's syscall/socket/personality
# verbs print "OK" or the errno name and exit 0; a probe killed by SIGSYS shows as 159.

DEFAULT_PROFILE=$IT_DIR/../seccomp-profiles/default.json

# The calls the default profile refuses with EPERM (seccomp-profiles/README.md).
SECCOMP_EPERM="kexec_load kexec_file_load open_by_handle_at init_module finit_module delete_module
iopl ioperm swapon swapoff sysfs _sysctl adjtimex clock_adjtime lookup_dcookie perf_event_open
fanotify_init kcmp bpf userfaultfd keyctl add_key request_key mount umount2 pivot_root ptrace
setns process_vm_readv process_vm_writev reboot syslog settimeofday clock_settime modify_ldt
fsopen move_mount open_tree acct quotactl"

# _default_profile B [JQ]: put the default profile, optionally rewritten by JQ, into B.
_default_profile() {
    local b=$1 f=${2:-.}
    cfg "$b" '.linux.seccomp = ($p[0] | '"$f"')' --slurpfile p "$DEFAULT_PROFILE"
}

# Every errno rule answers 133 and the default 134: an answer can only come from the filter.
_MARKED='.defaultErrnoRet = 134 | .syscalls |= map(if .action == "SCMP_ACT_ERRNO" then .errnoRet = 133 else . end)'

# _probe_lines B SCRIPT: run SCRIPT (sh) in B; $out holds its lines "what result".
_probe_lines() {
    args "$1" /bin/sh -c "$2"
    run rt run -b "$1" "$(new_id)"
    assert_ok "probe script failed"
}

# _expect_each OUT WANT: every "name result" line of OUT has result WANT.
_expect_each() {
    local line bad=""
    while read -r line; do
        [ -n "$line" ] || continue
        [ "${line#* }" = "$2" ] || bad="$bad; $line"
    done <<<"$1"
    [ -z "$bad" ] || _fail "expected $2 for every call" "got:${bad#;}"
}

_eperm_script() {
    # shellcheck disable=SC2086 # word splitting intended
    echo 'for n in '$SECCOMP_EPERM'; do echo "$n $(/bin/probe syscall $n)"; done'
}

test_seccomp_default_blocks_with_eperm() {
    local b
    b=$(bundle_new)
    _default_profile "$b"
    _probe_lines "$b" "$(_eperm_script)"
    assert_eq "$(wc -w <<<"$SECCOMP_EPERM")" "$(grep -c . <<<"$out")" "one line per blocked call"
    _expect_each "$out" EPERM
}

test_seccomp_default_blocks_are_the_filter() {
    # The container lacks the capabilities most of these need, so EPERM alone proves little:
    # with every errno rule rewritten to 133, each call must answer E133.
    local b
    b=$(bundle_new)
    _default_profile "$b" "$_MARKED"
    _probe_lines "$b" "$(_eperm_script)"
    _expect_each "$out" E133
}

test_seccomp_default_workload_runs() {
    local b
    b=$(bundle_new)
    _default_profile "$b"
    args "$b" /bin/sh -c 'ls / >/dev/null && cat /etc/passwd && echo ok'
    run rt run -b "$b" "$(new_id)"
    assert_ok "busybox under the default profile"
    assert_contains "$out" "root:x:0:0"
    assert_eq ok "$(tail -n1 <<<"$out")"
    # Pipes, fork+exec, signals, timers, /proc and tmp files.
    args "$b" /bin/sh -c 'mkdir -p /tmp/w && echo hi >/tmp/w/f && sort /tmp/w/f | wc -l
        sleep 0.1 & wait
        ps >/dev/null && date >/dev/null && id -u
        trap "echo trapped" USR1; kill -USR1 $$; echo done'
    run rt run -b "$b" "$(new_id)"
    assert_ok "shell workload under the default profile"
    assert_eq "$(printf '1\n0\ntrapped\ndone')" "$out"
    args "$b" /bin/probe report
    report "$b"
    assert_jq "$out" .seccomp 2 "Seccomp mode in /proc/self/status"
    assert_jq "$out" .seccomp_filters 1
}

test_seccomp_default_socket_families() {
    local b b0 fam ctl
    b=$(bundle_new)
    b0=$(bundle_new)
    _default_profile "$b"
    local script='for f in 1 2 10 16 17 31 38 40; do echo "$f $(/bin/probe socket $f)"; done'
    _probe_lines "$b0" "$script"
    ctl=$out
    _probe_lines "$b" "$script"
    # Allowed families answer as without a filter (AF_PACKET: the base config has CAP_NET_RAW).
    for fam in 1 2 10 16 17; do
        assert_eq "$fam OK" "$(grep "^$fam " <<<"$out")" "socket($fam) under the profile"
        assert_eq "$fam OK" "$(grep "^$fam " <<<"$ctl")" "socket($fam) without a filter"
    done
    # Refused: EAFNOSUPPORT, as for a family the kernel lacks.
    _expect_each "$(grep -E '^(31|38|40) ' <<<"$out")" EAFNOSUPPORT
    # The kernel itself may lack these families (EAFNOSUPPORT too): prove it was the filter.
    _default_profile "$b" "$_MARKED"
    _probe_lines "$b" 'for f in 31 38 40 0 3 15 99; do echo "$f $(/bin/probe socket $f)"; done'
    _expect_each "$out" E133
}

test_seccomp_default_personality() {
    local b
    b=$(bundle_new)
    _default_profile "$b"
    _probe_lines "$b" 'for v in 0 8 0x20000 0x20008 0xffffffff; do echo "$v $(/bin/probe personality $v)"; done'
    _expect_each "$out" OK
    # READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, and a value with high bits.
    _probe_lines "$b" 'for v in 0x400000 0x40000 0x100000000; do echo "$v $(/bin/probe personality $v)"; done'
    _expect_each "$out" EPERM
}

test_seccomp_default_namespaces_and_clone3() {
    local b
    b=$(bundle_new)
    _default_profile "$b"
    # clone/unshare with any CLONE_NEW* flag: EPERM; without: allowed; clone3: ENOSYS so that
    # libc falls back to clone, whose flags the filter can see.
    _probe_lines "$b" 'for f in 0x20000 0x2000000 0x4000000 0x8000000 0x10000000 0x20000000 0x40000000; do
            echo "clone-$f $(/bin/probe syscall clone $f)"; echo "unshare-$f $(/bin/probe syscall unshare $f)"
        done; echo "unshare-newtime $(/bin/probe syscall unshare 0x80)"'
    _expect_each "$out" EPERM
    _probe_lines "$b" 'echo "clone $(/bin/probe syscall clone 0x11)"; echo "unshare $(/bin/probe syscall unshare 0x600)"'
    _expect_each "$out" OK
    _probe_lines "$b" 'echo "clone3 $(/bin/probe syscall clone3)"'
    _expect_each "$out" ENOSYS
    # io_uring and NUMA policy look absent too (ENOSYS), so programs take their fallbacks.
    _probe_lines "$b" 'for n in io_uring_setup mbind get_mempolicy; do echo "$n $(/bin/probe syscall $n)"; done'
    _expect_each "$out" ENOSYS
}

# _arch_script: i386 getpid (20) through int 0x80, x32 getpid (39) through syscall; the exit
# status is printed as well, since a foreign ABI may kill the probe instead of failing.
_arch_script='r=$(/bin/probe syscall32 20); echo "i386 ${r:-killed} $?"; r=$(/bin/probe syscallx32 39); echo "x32 ${r:-killed} $?"'

test_seccomp_default_blocks_32bit_abis() {
    local b b0
    b=$(bundle_new)
    b0=$(bundle_new)
    # Without a filter this kernel runs i386 syscalls (IA32 emulation); x32 may be off.
    _probe_lines "$b0" "$_arch_script"
    local ctl=$out
    _default_profile "$b" "$_MARKED"
    _probe_lines "$b" "$_arch_script"
    # The filter lists only SCMP_ARCH_X86_64: i386 (AUDIT_ARCH_I386) and x32 numbers
    # (>= 0x40000000) get libseccomp's bad-arch action, KILL (SIGSYS, 128+31), unless the
    # runtime sets that action to the default one (E134 here).
    local abi line abis=x32
    # Without IA32 emulation int 0x80 faults (SIGSEGV) before seccomp sees it: nothing to test.
    [ "$(grep '^i386 ' <<<"$ctl")" = "i386 OK 0" ] && abis="i386 x32"
    for abi in $abis; do
        line=$(grep "^$abi " <<<"$out")
        # brick gives a foreign ABI the profile's default answer (E134 in this marked run);
        # runc keeps libseccomp's KILL.
        if is_brick; then
            assert_eq "$abi E134 0" "$line" "$abi syscall gets the profile's default answer"
        else
            case "$line" in
            "$abi killed 159" | "$abi E134 0") ;;
            *) _fail "$abi syscall not refused by the filter" "got: $line" "without filter: $(grep "^$abi " <<<"$ctl")" ;;
            esac
        fi
    done
}

# ---------------------------------------------------------------- the general OCI object

test_seccomp_oci_errno_ret() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13}]}'
    args "$b" /bin/probe mkdir /tmp/d
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EACCES "$out" "mkdir refused with errnoRet 13"
    args "$b" /bin/probe write /tmp/f
    run rt run -b "$b" "$(new_id)"
    assert_ok "other calls are allowed"
}

test_seccomp_oci_arg_rule() {
    local b
    b=$(bundle_new)
    # personality refused only for READ_IMPLIES_EXEC (EQ); getpriority when (who & 0xff00) == 0x2a00.
    cfg "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [
        {names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 22,
         args: [{index: 0, value: 4194304, op: "SCMP_CMP_EQ"}]},
        {names: ["getpriority"], action: "SCMP_ACT_ERRNO", errnoRet: 7,
         args: [{index: 1, value: 65280, valueTwo: 10752, op: "SCMP_CMP_MASKED_EQ"}]}]}'
    _probe_lines "$b" 'echo "p0 $(/bin/probe personality 0)"; echo "p4 $(/bin/probe personality 0x400000)"
        echo "g1 $(/bin/probe syscall getpriority 0 0x12a00)"; echo "g2 $(/bin/probe syscall getpriority 0 0)"'
    assert_eq "$(printf 'p0 OK\np4 EINVAL\ng1 E2BIG\ng2 OK')" "$out"
}

test_seccomp_oci_kill_process() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["getppid"], action: "SCMP_ACT_KILL_PROCESS"}]}'
    args "$b" /bin/probe syscall getppid
    run rt run -b "$b" "$(new_id)"
    assert_rc 159 "killed by SIGSYS: 128+31"
    assert_eq "" "$out" "the probe died inside the call"
}

test_seccomp_oci_unknown_syscall_skipped() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["brick_no_such_syscall", "mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13}]}'
    args "$b" /bin/probe mkdir /tmp/d
    run rt run -b "$b" "$(new_id)"
    assert_rc 1 "the container runs; the known names still apply"
    assert_eq EACCES "$out"
}

test_seccomp_oci_unknown_action_fails_create() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{names: ["mkdir"], action: "SCMP_ACT_BOGUS"}]}'
    id=$(new_id)
    run rt create -b "$b" "$id"
    assert_fail "an unknown seccomp action must fail create"
    if is_brick; then
        assert_contains "$err" "linux.seccomp" "the error names the field"
        assert_contains "$err" "SCMP_ACT_BOGUS"
    fi
    run rt state "$id"
    [ "$rc" != 0 ] || _fail "container $id exists after a failed create" "state: $out"
}
