# hooks: every kind runs at the right time with state on stdin, args and env; timeouts and
# failures.

# _hook_script: $T/hook.sh NAME ARGS... records stdin, args and env under $HOOK_DIR.
_hook_script() {
    mkdir -p "$T/hk"
    cat >"$T/hook.sh" <<'SH'
#!/bin/sh
name=$1
shift
cat >"$HOOK_DIR/$name.state"
echo "$name $*" >"$HOOK_DIR/$name.args"
env >"$HOOK_DIR/$name.env"
echo "$name" >>"$HOOK_DIR/order"
SH
    chmod +x "$T/hook.sh"
}

# _host_hook NAME: a hook JSON object for a host-side hook.
_host_hook() {
    jq -cn --arg p "$T/hook.sh" --arg n "$1" --arg d "$T/hk" \
        '{path: $p, args: ["hook.sh", $n, "extra-arg"], env: ["HOOK_DIR=\($d)", "HOOKVAR=v-\($n)"]}'
}

# _in_hook NAME: a hook run in the container's mount namespace (path inside the rootfs).
# It records into /it-hooks, which exists only in the rootfs: run on the host it does nothing.
_in_hook() {
    jq -cn --arg n "$1" '{path: "/bin/sh", args: ["sh", "-c", "[ -d /it-hooks ] || exit 0; cat >/it-hooks/\($n).state; echo \"$@\" >/it-hooks/\($n).args; env >/it-hooks/\($n).env; echo \($n) >>/it-hooks/order", "sh", $n, "in-arg"], env: ["HOOKVAR=v-\($n)"]}'
}

test_hooks_all_run_in_order() {
    local b id pid s
    _hook_script
    b=$(bundle_new)
    mkdir "$b/rootfs/it-hooks"
    args "$b" /bin/probe sleep 30
    cfg "$b" '.hooks = {prestart: [$pre], createRuntime: [$cr], createContainer: [$cc], startContainer: [$sc], poststart: [$ps], poststop: [$pst]}' \
        --argjson pre "$(_host_hook prestart)" --argjson cr "$(_host_hook createRuntime)" \
        --argjson cc "$(_in_hook createContainer)" --argjson sc "$(_in_hook startContainer)" \
        --argjson ps "$(_host_hook poststart)" --argjson pst "$(_host_hook poststop)"
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    local hk="$T/hk" in="$b/rootfs/it-hooks"
    # createContainer runs before pivot_root (spec), so /it-hooks is not yet its root: it
    # records nothing here; test_hooks_container_hooks_see_container_fs checks its namespace.
    # runc 1.1.5 quirk: poststart runs during create.
    if is_runc; then
        assert_eq "$(printf 'prestart\ncreateRuntime\npoststart')" "$(cat "$hk/order")" "host hooks after create"
    else
        assert_eq "$(printf 'prestart\ncreateRuntime')" "$(cat "$hk/order")" "host hooks after create"
        [ ! -e "$hk/poststart.state" ] || _fail "poststart ran before start"
    fi
    # start returns once the process was executed and poststart hooks ran.
    rt start "$id"
    assert_eq "$(printf 'prestart\ncreateRuntime\npoststart')" "$(cat "$hk/order")" "host hooks after start"
    assert_eq startContainer "$(cat "$in/order")" "container hooks after start"
    [ ! -e "$hk/poststop.state" ] || _fail "poststop ran before delete"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    assert_eq "$(printf 'prestart\ncreateRuntime\npoststart\npoststop')" "$(cat "$hk/order")" "host hooks after delete"
    # State on stdin, args, env.
    for h in prestart createRuntime poststart poststop; do
        s=$(cat "$hk/$h.state")
        assert_jq "$s" .id "$id" "$h state id"
        assert_jq "$s" .bundle "$b" "$h state bundle"
        assert_jq "$s" '.ociVersion | length > 0' true "$h state ociVersion"
        assert_eq "$h extra-arg" "$(cat "$hk/$h.args")" "$h args"
        grep -qx "HOOKVAR=v-$h" "$hk/$h.env" || _fail "$h env lacks HOOKVAR" "$(cat "$hk/$h.env")"
    done
    for h in prestart createRuntime poststart; do
        assert_jq "$(cat "$hk/$h.state")" .pid "$pid" "$h state pid"
    done
    assert_jq "$(cat "$hk/createRuntime.state")" .status creating "createRuntime status"
    assert_jq "$(cat "$hk/poststart.state")" '.status == "running" or .status == "created"' true "poststart status"
    assert_jq "$(cat "$hk/poststop.state")" .status stopped "poststop status"
    for h in createContainer startContainer; do
        [ "$h" = createContainer ] && continue
        s=$(cat "$in/$h.state")
        assert_jq "$s" .id "$id" "$h state id"
        # Seen from inside the pid namespace, runc reports 1; the host pid is also fine.
        assert_jq "$s" ".pid == $pid or .pid == 1" true "$h state pid"
        assert_eq "$h in-arg" "$(cat "$in/$h.args")" "$h args"
        grep -qx "HOOKVAR=v-$h" "$in/$h.env" || _fail "$h env lacks HOOKVAR" "$(cat "$in/$h.env")"
    done
}

test_hooks_container_hooks_see_container_fs() {
    local b
    b=$(bundle_new)
    echo only-in-rootfs >"$b/rootfs/marker"
    mkdir "$b/rootfs/it-hooks"
    # createContainer: before pivot_root, in the container's mount namespace, so the
    # container's /proc is already mounted under the rootfs path (on the host it is not).
    cfg "$b" '.hooks.createContainer = [{path: "/bin/sh", args: ["sh", "-c", "test -e \($r)/proc/self/status && echo mounted >\($t)/cc"]}]' \
        --arg r "$b/rootfs" --arg t "$T"
    # startContainer: after pivot_root, so it sees the container's files and hostname.
    cfg "$b" '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "cat /marker >/it-hooks/sc; hostname >>/it-hooks/sc"]}]'
    args "$b" /bin/probe exit 0
    report "$b"
    assert_eq mounted "$(cat "$T/cc" 2>/dev/null)" "createContainer runs in the container's mount namespace"
    [ -e "$b/rootfs/proc/self/status" ] && _fail "the container's /proc leaked to the host"
    assert_eq "$(printf 'only-in-rootfs\nbrick-it')" "$(cat "$b/rootfs/it-hooks/sc" 2>/dev/null)" "startContainer runs in the container's mount and uts namespaces"
}

test_hook_timeout() {
    local b start end
    b=$(bundle_new)
    cfg "$b" '.hooks = {createRuntime: [{path: "/bin/sleep", args: ["sleep", "20"], timeout: 1}]}'
    start=$(date +%s)
    run rt create -b "$b" "$(new_id)"
    end=$(date +%s)
    assert_fail "a hook past its timeout must fail create"
    [ $((end - start)) -lt 10 ] || _fail "create waited $((end - start))s for a hook with timeout 1"
}

test_hook_failing_create_runtime() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.hooks = {createRuntime: [{path: "/bin/false", args: ["false"]}]}'
    id=$(new_id)
    run rt create -b "$b" "$id"
    assert_fail "a failing createRuntime hook must fail create"
    run rt state "$id"
    assert_fail "no container after a failed create"
}

test_hook_failing_prestart() {
    local b id
    b=$(bundle_new)
    cfg "$b" '.hooks = {prestart: [{path: "/bin/sh", args: ["sh", "-c", "exit 3"]}]}'
    id=$(new_id)
    run rt run -b "$b" "$id"
    assert_fail "a failing prestart hook must fail run"
    run rt state "$id"
    assert_fail "no container after a failed run"
}

test_hook_missing_binary() {
    local b
    b=$(bundle_new)
    cfg "$b" '.hooks = {createRuntime: [{path: "/no/such/hook"}]}'
    run rt create -b "$b" "$(new_id)"
    assert_fail "a hook that cannot run must fail create"
}

test_hook_failing_poststart() {
    local b id
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    cfg "$b" '.hooks = {poststart: [{path: "/bin/false", args: ["false"]}]}'
    id=$(new_id)
    run rt create -b "$b" "$id"
    if [ "$rc" != 0 ] && is_runc; then
        skip "runc 1.1.5 runs poststart hooks during create (create failed instead of start)"
    fi
    assert_ok
    run rt start "$id"
    assert_fail "a failing poststart hook must fail start (runtime-spec 1.3)"
    # ... and stop the container (spec: continue the lifecycle at destroy).
    wait_status "$id" stopped
    rt delete "$id"
}

test_hook_failing_poststop_runs_the_rest() {
    # A failing poststop hook is a warning: the remaining poststop hooks still run.
    local b id
    is_runc && skip "runc 1.1.5 stops at the first failing poststop hook"
    b=$(bundle_new)
    args "$b" /bin/probe exit 0
    cfg "$b" '.hooks = {poststop: [{path: "/bin/false", args: ["false"]}, {path: "/bin/sh", args: ["sh", "-c", "echo ran >\($f)"]}]}' --arg f "$T/second"
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    rt start "$id"
    wait_status "$id" stopped
    run rt delete "$id"
    assert_ok "delete succeeds despite a failing poststop hook"
    assert_eq ran "$(cat "$T/second" 2>/dev/null)" "the second poststop hook ran"
}

test_hook_poststop_on_delete() {
    local b id
    _hook_script
    b=$(bundle_new)
    args "$b" /bin/probe exit 0
    cfg "$b" '.hooks = {poststop: [$h]}' --argjson h "$(_host_hook poststop)"
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    rt start "$id"
    wait_status "$id" stopped
    [ ! -e "$T/hk/poststop.state" ] || _fail "poststop ran before delete"
    rt delete "$id"
    [ -e "$T/hk/poststop.state" ] || _fail "poststop did not run on delete"
    # Also for a container deleted with --force while running.
    args "$b" /bin/probe sleep 30
    rm -f "$T/hk/poststop.state"
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c2.out" 2>&1
    rt delete --force "$id"
    [ -e "$T/hk/poststop.state" ] || _fail "poststop did not run on delete --force"
}

# Hooks run in the runtime's namespaces even when the container joins namespaces by path:
# brick enters those around clone and must return to exactly its own afterwards.
test_hooks_run_in_runtime_namespaces_after_joins() {
    local b hp id h want
    unshare --net --ipc --uts --cgroup sleep 100 &
    hp=$!
    helper_pid $hp
    wait_own_ns $hp net ipc uts cgroup
    mkdir -p "$T/hk"
    b=$(bundle_new)
    args "$b" /bin/true
    cfg "$b" '.hooks = {prestart: [$a], createRuntime: [$b], poststart: [$c], poststop: [$d]}' \
        --argjson a "$(_ns_hook prestart)" --argjson b "$(_ns_hook createRuntime)" \
        --argjson c "$(_ns_hook poststart)" --argjson d "$(_ns_hook poststop)"
    cfg "$b" '.linux.namespaces |= map(if .type == "network" then .path = "/proc/\($hp)/ns/net"
            elif (.type | IN("ipc", "uts")) then .path = "/proc/\($hp)/ns/\(.type)" else . end)
        | .linux.namespaces += [{type: "cgroup", path: "/proc/\($hp)/ns/cgroup"}] | del(.hostname)' --arg hp "$hp"
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    rt start "$id"
    wait_status "$id" stopped
    rt delete "$id"
    want=$(readlink /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts /proc/self/ns/cgroup)
    for h in prestart createRuntime poststart poststop; do
        [ -s "$T/hk/$h.ns" ] || _fail "$h hook did not run"
        assert_eq "$want" "$(cat "$T/hk/$h.ns")" "$h hook did not run in the runtime's namespaces"
    done
    kill "$hp"
    wait "$hp" 2>/dev/null || true
}

# _ns_hook NAME: a host hook that records its namespaces in $T/hk/NAME.ns.
_ns_hook() {
    jq -cn --arg n "$1" --arg f "$T/hk/$1.ns" \
        '{path: "/bin/sh", args: ["sh", "-c", "readlink /proc/self/ns/net /proc/self/ns/ipc /proc/self/ns/uts /proc/self/ns/cgroup > \($f)"]}'
}
