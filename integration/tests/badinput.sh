# bad input: each fails with a non-zero exit and a message on stderr, and leaves nothing
# behind (the leak check after each test covers state dirs, mounts, processes, cgroups).

# brick_err STAGE-OR-FIELD...: brick names the verb, stage and field in its error chain.
brick_err() {
    is_brick || return 0
    assert_contains "$err" "brick: " "brick errors start with 'brick: '"
    local w
    for w in "$@"; do assert_contains "$err" "$w" "brick's error should name '$w'"; done
}

# _create_fails B [ID]: create must fail; the id must not exist afterwards.
_create_fails() {
    local b=$1 id=${2:-$(new_id)}
    run rt create -b "$b" "$id"
    assert_fail "${3:-create should fail}"
    local keep_err=$err keep_out=$out keep_rc=$rc
    run rt state "$id"
    [ "$rc" != 0 ] || _fail "container $id exists after a failed create" "state: $out"
    err=$keep_err out=$keep_out rc=$keep_rc
}

test_bad_malformed_config() {
    local b
    b=$(bundle_new)
    echo '{"ociVersion": "1.0.2", "process": ' >"$b/config.json"
    _create_fails "$b"
    brick_err "brick: create:" config.json
}

test_bad_config_wrong_type() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.args = "not-an-array"'
    _create_fails "$b"
    brick_err "brick: create:" args
}

test_bad_missing_config() {
    local b
    b=$(bundle_new)
    rm "$b/config.json"
    _create_fails "$b"
}

test_bad_missing_rootfs() {
    local b
    b=$(bundle_new)
    rm -rf "$b/rootfs"
    _create_fails "$b"
    brick_err "brick: create:" rootfs
}

test_bad_oci_version() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.ociVersion = "2.0.0"'
    id=$(new_id)
    run rt create -b "$b" "$id"
    if [ "$rc" = 0 ] && is_runc; then
        rt delete --force "$id"
        skip "runc 1.1.5 does not check ociVersion"
    fi
    assert_fail "ociVersion 2.0.0 must be rejected"
    brick_err "brick: create:" ociVersion
}

test_bad_ids() {
    local b id before
    b=$(bundle_new)
    before=$(ls "$T" "$RUN_TMP" | grep -v "^state$" | sort)
    for id in "a/b" ".." "../escape" "." "/abs" "x/../../y"; do
        run rt create -b "$b" "$id"
        assert_fail "id '$id' must be rejected"
        [ ! -e "$T/escape" ] && [ ! -e "$RUN_TMP/escape" ] && [ ! -e "$T/y" ] && [ ! -e "/abs" ] ||
            _fail "id '$id' created something outside the state root"
    done
    run rt create -b "$b" ""
    assert_fail "empty id must be rejected"
    assert_eq "$before" "$(ls "$T" "$RUN_TMP" | grep -v "^state$" | sort)" "files appeared next to the state root"
    if [ -d "$STATE_ROOT" ]; then
        assert_eq "" "$(ls -A "$STATE_ROOT")" "state left for a rejected id"
    fi
}

test_bad_duplicate_id() {
    local b b2 id pid
    b=$(bundle_new)
    b2=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    run rt create -b "$b2" "$id"
    assert_fail "duplicate id must be rejected"
    brick_err "brick: create:" "$id"
    # The first container is untouched.
    assert_eq created "$(status_of "$id")"
    assert_eq "$pid" "$(pid_of "$id")"
    assert_eq "$b" "$(state_of "$id" | jq -r .bundle)"
    rt delete --force "$id"
}

test_bad_unknown_signal() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    for s in NOSUCHSIG SIGFOO 99999 -1; do
        run rt kill "$id" "$s"
        assert_fail "kill with signal '$s' must fail"
    done
    assert_eq running "$(status_of "$id")" "container should survive a bad kill"
    rt delete --force "$id"
}

test_bad_start_running() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    run rt start "$id"
    assert_fail "start of a running container must fail"
    assert_eq running "$(status_of "$id")"
    rt delete --force "$id"
}

test_bad_delete_running_without_force() {
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    run rt delete "$id"
    assert_fail "delete of a running container without --force must fail"
    assert_eq running "$(status_of "$id")"
    alive "$pid" || _fail "delete without --force killed the container"
    rt delete --force "$id"
}

test_bad_unknown_container() {
    local v
    for v in start delete kill state; do
        run rt $v no-such-container
        assert_fail "$v of an unknown container must fail"
    done
}

test_bad_mount_dest_symlink_dir() {
    local b id
    mkdir -p "$T/hostdir"
    b=$(bundle_new)
    ln -s "$T/hostdir" "$b/rootfs/evil"
    cfg "$b" '.mounts += [{"destination": "/evil", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]'
    args "$b" /bin/sh -c 'echo pwned >/evil/pwned; /bin/probe sleep 30'
    id=$(new_id)
    run rt run -d -b "$b" "$id"
    [ "$rc" != 0 ] || wait_sleeping "$id"
    ! grep -qF " $T/hostdir " /proc/self/mountinfo || _fail "a mount landed on the host path $T/hostdir"
    assert_eq "" "$(ls -A "$T/hostdir")" "files appeared in the host path"
    [ "$rc" = 0 ] && rt delete --force "$id"
    assert_eq "" "$(ls -A "$T/hostdir")" "files appeared in the host path"
}

test_bad_mount_dest_symlink_file() {
    local b id
    echo host-secret >"$T/hostfile"
    b=$(bundle_new)
    mkdir -p "$T/src"
    echo from-src >"$T/src/f"
    ln -s "$T/hostfile" "$b/rootfs/evilfile"
    ln -s "$T/newhostfile" "$b/rootfs/evilnew"
    cfg "$b" '.mounts += [{"destination": "/evilfile", "type": "bind", "source": $f, "options": ["bind"]},
                          {"destination": "/evilnew", "type": "bind", "source": $f, "options": ["bind"]}]' --arg f "$T/src/f"
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    # run -d returns once the process was executed: every mount is made by then.
    run rt run -d -b "$b" "$id"
    ! grep -qF " $T/hostfile " /proc/self/mountinfo || _fail "a bind landed on the host file"
    assert_eq host-secret "$(cat "$T/hostfile")" "host file content changed"
    [ ! -e "$T/newhostfile" ] || _fail "a file was created at the host path $T/newhostfile"
    [ "$rc" = 0 ] && rt delete --force "$id"
    [ ! -e "$T/newhostfile" ] || _fail "a file was created at the host path $T/newhostfile"
}

test_bad_mount_dest_dotdot() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/../../../escape-dotdot", "type": "tmpfs", "source": "tmpfs"}]'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    run rt run -d -b "$b" "$id"
    [ ! -e "$T/escape-dotdot" ] && [ ! -e /escape-dotdot ] && [ ! -e "$RUN_TMP/escape-dotdot" ] ||
        _fail "a ../ destination escaped the rootfs"
    [ "$rc" = 0 ] && rt delete --force "$id"
    return 0
}

test_bad_args0_not_found() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/nonexistent
    id=$(new_id)
    run rt run -b "$b" "$id"
    assert_fail "args[0] missing from the rootfs must fail"
    [ "$rc" != 0 ]
    brick_err /bin/nonexistent
    args "$b" nosuchcommand
    run rt run -b "$b" "$(new_id)"
    assert_fail "args[0] not found in PATH must fail"
    brick_err nosuchcommand
    # The host's PATH is not used: /usr/bin/env exists on the host, not in the rootfs.
    args "$b" env
    cfg "$b" '.process.env = ["PATH=/usr/bin"]'
    run rt run -b "$b" "$(new_id)"
    assert_fail "args[0] must be looked up in the container's PATH"
}

test_bad_args_empty() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.args = []'
    _create_fails "$b"
}

test_bad_namespace_type() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{"type": "bogus"}]'
    _create_fails "$b"
}

test_bad_duplicate_namespace() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{"type": "pid"}]'
    _create_fails "$b"
}

test_bad_user_ns_without_mappings() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{"type": "user"}]'
    _create_fails "$b"
}

test_bad_rlimit_type() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.rlimits = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]'
    _create_fails "$b"
    brick_err RLIMIT_BOGUS
}

test_bad_rlimit_above_hard() {
    local b cur
    b=$(bundle_new)
    cur=$(ulimit -Hn)
    # No CAP_SYS_RESOURCE here: a hard limit above the current one cannot be set.
    cfg "$b" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": ($c + 1000)}]' --argjson c "$cur"
    grep -q 'CapEff:.*' /proc/self/status
    if [ $(( 0x$(awk '/^CapEff/ { print $2 }' /proc/self/status) >> 24 & 1 )) = 1 ]; then
        skip "this host has CAP_SYS_RESOURCE"
    fi
    run rt run -b "$b" "$(new_id)"
    assert_fail "raising the hard RLIMIT_NOFILE without CAP_SYS_RESOURCE must fail"
}

test_bad_cwd_relative() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.cwd = "relative/dir"'
    _create_fails "$b"
}

test_bad_capability_name() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.capabilities.bounding += ["CAP_BOGUS"]'
    run rt run -b "$b" "$(new_id)"
    if [ "$rc" = 0 ] && is_runc; then
        skip "runc 1.1.5 ignores unknown capability names (with a warning)"
    fi
    assert_fail "unknown capability must be rejected"
}

# Special files where brick reads a file must fail at once (a FIFO, a device), never block.
test_bad_config_is_special_file() {
    local b f
    b=$(bundle_new)
    rm "$b/config.json"
    mkfifo "$b/config.json"
    # A writer never comes: a runtime that opens the FIFO blocks until the test's timeout.
    _create_fails "$b"
    brick_err "brick: create:" config.json FIFO
    rm "$b/config.json"
    ln -s /dev/zero "$b/config.json"
    _create_fails "$b"
    brick_err "brick: create:" config.json "character device"
    rm "$b/config.json"
    truncate -s 33M "$b/config.json"
    _create_fails "$b"
    brick_err "brick: create:" config.json "32 MiB"
}

test_bad_config_top_level_not_an_object() {
    local b
    b=$(bundle_new)
    echo '[]' >"$b/config.json"
    _create_fails "$b"
    brick_err "brick: create:" config.json "top level must be a JSON object"
}

test_bad_process_and_resources_files_are_fifos() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    mkfifo "$T/fifo"
    run rt exec --process "$T/fifo" "$id"
    assert_fail "exec --process FIFO must fail, not block"
    brick_err "brick: exec:" FIFO
    run rt update -r "$T/fifo" "$id"
    assert_fail "update -r FIFO must fail, not block"
    brick_err "brick: update:" FIFO
    rt delete --force "$id"
}

test_bad_hook_path_is_fifo() {
    local b
    mkfifo "$T/hook"
    b=$(bundle_new)
    cfg "$b" '.hooks = {prestart: [{path: $p}]}' --arg p "$T/hook"
    _create_fails "$b"
    brick_err "brick: create:" "prestart hook" "not a regular file"
}

# One unreadable state.json: state fails at once, list reports it and still lists the others.
test_bad_state_file_is_fifo() {
    is_brick || skip "state.json's layout is brick's own"
    local b good bad
    b=$(bundle_new)
    cfg "$b" 'del(.linux.cgroupsPath)'
    args "$b" /bin/probe sleep 30
    good=$(new_id)
    bad=$(new_id)
    default_cgroup "$good"
    default_cgroup "$bad"
    rt create -b "$b" "$good" >"$T/c1.out" 2>&1
    rt create -b "$b" "$bad" >"$T/c2.out" 2>&1
    rm "$STATE_ROOT/$bad/state.json"
    mkfifo "$STATE_ROOT/$bad/state.json"
    run rt state "$bad"
    assert_fail "state of a container whose state.json is a FIFO must fail"
    brick_err FIFO
    run rt list -q
    assert_ok "list must not fail for one bad entry"
    assert_eq "$good" "$out" "list shows the good container"
    assert_contains "$err" "$bad" "list reports the bad entry"
    # Its state names nothing: delete --force cleans the default cgroup path.
    run rt delete --force "$bad"
    assert_ok "delete --force of a container with an unreadable state.json"
    _assert_no_default_cgroup "$bad"
    rt delete --force "$good"
    _assert_no_default_cgroup "$good"
}

# A state.json cut short still names the cgroup: delete --force kills by it.
test_bad_state_file_truncated() {
    is_brick || skip "state.json's layout is brick's own"
    local b id st
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    st="$STATE_ROOT/$id/state.json"
    head -c $(($(stat -c %s "$st") - 40)) "$st" >"$st.cut" && mv "$st.cut" "$st"
    run rt state "$id"
    assert_fail "state of a truncated state.json"
    run rt delete "$id"
    assert_fail "delete without --force keeps a container it cannot read"
    run rt delete --force "$id"
    assert_ok "delete --force of a truncated state.json"
}

# A cgroup record that does not parse: delete falls back to the default path, never skips.
test_bad_state_cgroup_record_corrupt() {
    is_brick || skip "state.json's layout is brick's own"
    local b id st
    b=$(bundle_new)
    cfg "$b" 'del(.linux.cgroupsPath)'
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    default_cgroup "$id"
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    st="$STATE_ROOT/$id/state.json"
    jq -c '.cgroup = {"not": "a record"}' "$st" >"$st.new" && mv "$st.new" "$st"
    run rt delete --force "$id"
    assert_ok "delete --force with a corrupt cgroup record"
    _assert_no_default_cgroup "$id"
}

# _assert_no_default_cgroup ID: nothing left at /brick/ID in any hierarchy.
_assert_no_default_cgroup() {
    local d
    for d in /sys/fs/cgroup/*/brick/"$1" /sys/fs/cgroup/brick/"$1"; do
        [ ! -d "$d" ] || _fail "cgroup left at the default path: $d" "procs: $(cat "$d/cgroup.procs" 2>/dev/null | tr '\n' ' ')"
    done
}

# An init that dies before Ready: the error says how (here SIGSYS from the container's filter).
test_bad_init_killed_before_ready_says_how() {
    local b
    b=$(bundle_new)
    cfg "$b" '.process.noNewPrivileges = false
        | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["capset"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
    _create_fails "$b"
    brick_err "brick: create:" "exited before it was ready" SIGSYS
}
