# rootless: the runtime run by a normal user (ensure_test_user), as rootless podman runs it.
# The rest of the suite runs this way too in the rootless pass (IT_ROOTLESS=1, run.sh).

# _user_dirs: the test user, $T and $T/xdg (its XDG_RUNTIME_DIR) made the user's.
_user_dirs() {
    ensure_test_user || _fail "could not make the test user"
    chown "$IT_UID:$IT_GID" "$T"
    mkdir -p "$T/xdg"
    chown "$IT_UID:$IT_GID" "$T/xdg"
    chmod 700 "$T/xdg"
}

# _user_run B [FLAGS...]: `run` of bundle B by the test user's runtime, with the test's root.
_user_run() {
    local b=$1
    shift
    run as_user "$T/xdg" --root "$STATE_ROOT" "$@" run -b "$b" "$(new_id)"
}

# _no_state_left: a failed run left nothing in the state root.
_no_state_left() {
    [ -z "$(ls -A "$STATE_ROOT" | grep -v seccomp-cache)" ] || _fail "state left" "$(ls -A "$STATE_ROOT")"
}

test_rootless_spec_and_run_with_defaults() {
    is_brick || skip "brick's rootless defaults"
    local x b id
    _user_dirs
    x=$T/xdg
    b="$T/rl"
    mkdir -p "$b"
    cp -a "$TEMPLATE_ROOTFS" "$b/rootfs"
    chown -R "$IT_UID:$IT_GID" "$b"
    # As a new user would: brick spec --rootless, then brick run without --root.
    (cd "$b" && as_user "$x" spec --rootless)
    echo "$x/brick" >>"$T/.roots"
    cfg "$b" '.process.args = ["/bin/probe", "sleep", "30"]'
    id=$(new_id)
    run as_user "$x" --debug run -d -b "$b" "$id"
    assert_ok "a normal user's brick run of its spec --rootless"
    assert_contains "$err" "no cgroup of its own" "says why there is no cgroup"
    track_pid "$(jq -r .pid "$x/brick/$id/state.json")"
    [ -f "$x/brick/$id/state.json" ] || _fail "state is not under \$XDG_RUNTIME_DIR/brick" "$(ls -R "$x")"
    run as_user "$x" list -q
    assert_eq "$id" "$out" "the user lists its own container"
    run "$RUNTIME_REAL" list -q
    assert_not_contains "$out" "$id" "root's list (/run/brick) does not show the user's"
    run as_user "$x" exec "$id" /bin/probe report
    assert_ok "exec as the user"
    assert_jq "$out" .ids.euid 0 "root inside"
    assert_eq "0 $IT_UID 1" "$(jq_of "$out" .uid_map | tr -s ' ' | sed 's/^ //')" "the user's own uid is root inside"
    assert_jq "$out" .no_new_privs 1
    assert_jq "$out" '.seccomp' 2 "the default profile applies rootless"
    # The host's /sys is bound, and what is mounted below it is read-only too (rro).
    assert_mount_opt "$out" /sys ro
    assert_mount_opt "$out" /sys/fs/cgroup ro
    assert_jq "$out" '.caps.bnd | ltrimstr("0") | length > 0' true
    # The user's own processes: kill, ps-less state, delete; no cgroup was made anywhere.
    local pid
    pid=$(jq -r .pid "$x/brick/$id/state.json")
    assert_eq "$IT_UID" "$(stat -c %u "/proc/$pid")" "the init is the user's process on the host"
    for d in /sys/fs/cgroup/*/brick/"$id" /sys/fs/cgroup/brick/"$id"; do
        [ ! -e "$d" ] || _fail "a rootless container without cgroupsPath made $d"
    done
    as_user "$x" kill "$id" KILL
    wait_gone "$pid"
    as_user "$x" delete "$id"
    [ ! -e "$x/brick/$id" ] || _fail "delete left the state dir"
}

test_rootless_maps_subordinate_ranges_with_newuidmap() {
    local b
    _user_dirs
    b=$(user_bundle)
    cfg "$b" '.process.user = {uid: 1000, gid: 1000}'
    _user_run "$b"
    assert_ok "a multi-range map goes through newuidmap/newgidmap"
    assert_jq "$out" .ids.euid 1000
    assert_eq "0 $IT_UID 1,1 $IT_SUBUID 65536" \
        "$(jq_of "$out" .uid_map | tr -s ' ' | sed 's/^ //' | paste -sd,)" "uid map"
    # A range that is not the user's: newuidmap refuses, and the error names it.
    cfg "$b" '.linux.uidMappings[1].hostID = 7000000'
    _user_run "$b"
    assert_fail "a map outside /etc/subuid"
    is_brick && assert_contains "$err" "newuidmap" "names the helper"
    is_brick && assert_contains "$err" "7000000" "names the mapping"
    _no_state_left
}

test_rootless_resources_need_a_delegated_cgroup() {
    is_brick || skip "brick's rootless cgroup messages"
    local b
    _user_dirs
    b=$(user_bundle)
    # No cgroupsPath: a limit has nowhere to go.
    cfg "$b" 'del(.linux.cgroupsPath) | .linux.resources.memory = {limit: 67108864}'
    _user_run "$b"
    assert_fail "a memory limit with no cgroup to put it in"
    assert_contains "$err" "linux.resources.memory" "names the resource"
    assert_contains "$err" "delegated" "says what is missing"
    # A cgroupsPath the user may not write (nothing is delegated on this host's v1/hybrid).
    if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
        cfg "$b" '.linux.cgroupsPath = $p' --arg p "$CG_PREFIX-rl"
        _user_run "$b"
        assert_fail "a memory limit in a cgroup the user cannot make"
        assert_contains "$err" "linux.resources.memory" "names the resource"
        assert_contains "$err" "not delegated to uid $IT_UID" "names the missing delegation"
        # Without a limit the same cgroupsPath is done without, and said so.
        cfg "$b" 'del(.linux.resources.memory)'
        _user_run "$b" --debug
        assert_ok "no limit asked for: runs without a cgroup of its own"
        assert_contains "$err" "rootless: no cgroup of its own" "says why"
    fi
    _no_state_left
}

# A delegated cgroup v2 subtree (what systemd gives a user session): brick makes the
# container's cgroup in it and applies memory and pids limits; pause uses its freezer.
test_rootless_delegated_cgroup_v2_applies_limits() {
    [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || skip "needs a pure cgroup v2 host (run in the VM)"
    local c
    for c in memory pids; do
        grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || skip "no $c controller"
    done
    local x b id d="/sys/fs/cgroup/${CG_PREFIX#/}-deleg" p
    _user_dirs
    x=$T/xdg
    # Delegate as systemd does: controllers on down to the subtree, which is the user's.
    p=/sys/fs/cgroup
    for c in $(echo "${d#/sys/fs/cgroup/}" | tr / ' '); do
        echo "+memory +pids" >"$p/cgroup.subtree_control"
        p="$p/$c"
        mkdir -p "$p"
    done
    mkdir -p "$d/launcher"
    echo "+memory +pids" >"$d/cgroup.subtree_control"
    chown -R "$IT_UID:$IT_GID" "$d"
    b=$(user_bundle)
    cfg "$b" '.linux.cgroupsPath = $p | .linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 32} | .process.args = ["/bin/probe", "sleep", "30"]' \
        --arg p "${d#/sys/fs/cgroup}/c1"
    id=$(new_id)
    # brick itself runs inside the subtree, so moving the init within it is the user's right.
    run sh -c 'echo $$ >"$1/launcher/cgroup.procs" && shift && exec "$@"' _ "$d" \
        setpriv --reuid="$IT_UID" --regid="$IT_GID" --clear-groups "$RUNTIME_REAL" --root "$STATE_ROOT" run -d -b "$b" "$id"
    assert_ok "run in a delegated subtree"
    track_pid "$(pid_of "$id")"
    assert_eq 67108864 "$(cat "$d/c1/memory.max")" "memory limit applied"
    assert_eq 32 "$(cat "$d/c1/pids.max")" "pids limit applied"
    grep -qx "$(pid_of "$id")" "$d/c1/cgroup.procs" || _fail "the init is not in the container's cgroup"
    as_user "$x" --root "$STATE_ROOT" pause "$id"
    assert_eq paused "$(status_of "$id")"
    as_user "$x" --root "$STATE_ROOT" resume "$id"
    as_user "$x" --root "$STATE_ROOT" delete --force "$id"
    [ ! -e "$d/c1" ] || _fail "delete left the container's cgroup"
    rmdir "$d/launcher" "$d"
}

test_rootless_idmap_is_refused_clearly() {
    is_brick || skip "brick's message"
    local b
    _user_dirs
    b=$(user_bundle)
    mkdir -p "$T/src"
    chown "$IT_UID:$IT_GID" "$T/src"
    cfg "$b" '.mounts += [{destination: "/m", type: "bind", source: $s, options: ["bind", "idmap"]}]' --arg s "$T/src"
    _user_run "$b"
    assert_fail "a normal user cannot id-map a host filesystem"
    assert_contains "$err" "id-map" "says it is the id map"
    assert_contains "$err" "\"/m\"" "names the mount"
    _no_state_left
}

test_rootless_joins_a_user_namespace_by_path() {
    local b pid out_ns
    _user_dirs
    # A user namespace the user made (its own uid as root there), held by a helper.
    setpriv --reuid="$IT_UID" --regid="$IT_GID" --clear-groups unshare --user --map-root-user /bin/sleep 60 &
    pid=$!
    helper_pid "$pid"
    wait_own_ns "$pid" user
    wait_until 10 "the helper's uid map" grep -q . "/proc/$pid/uid_map"
    b=$(user_bundle)
    cfg "$b" '.linux.namespaces |= map(if .type == "user" then .path = $p else . end)
        | del(.linux.uidMappings, .linux.gidMappings)
        | .mounts |= map(if .type == "devpts" then .options -= ["gid=5"] else . end)' --arg p "/proc/$pid/ns/user"
    # (gid 5 is not mapped in a one-id namespace: devpts would refuse it, as with any runtime.)
    _user_run "$b"
    assert_ok "join the user's own user namespace by path"
    out_ns=$(stat -L -c %i "/proc/$pid/ns/user")
    assert_eq "$out_ns" "$(jq_of "$out" .ns.user)" "the container is in the joined user namespace"
    assert_jq "$out" .ids.euid 0
    assert_eq "0 $IT_UID 1" "$(jq_of "$out" .uid_map | tr -s ' ' | sed 's/^ //')" "the namespace's map"
}
