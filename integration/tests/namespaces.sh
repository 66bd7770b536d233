# namespaces: new ones of each type, and joining one by path.

host_ns() { stat -L -c %i "/proc/self/ns/$1"; }

test_ns_default_set_is_new() {
    local b t
    b=$(bundle_new)
    report "$b"
    for t in pid mnt uts ipc net; do
        assert_ne "$(host_ns $t)" "$(jq_of "$out" ".ns.$t")" "container should have its own $t namespace"
    done
    # Not requested: shared with the host.
    assert_eq "$(host_ns user)" "$(jq_of "$out" .ns.user)" "user namespace should be the host's"
    assert_eq "$(host_ns cgroup)" "$(jq_of "$out" .ns.cgroup)" "cgroup namespace should be the host's"
    assert_jq "$out" .pid 1
    assert_jq "$out" .ppid 0
}

test_ns_omitted_network_is_shared() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces |= map(select(.type != "network"))'
    report "$b"
    assert_eq "$(host_ns net)" "$(jq_of "$out" .ns.net)" "without a network entry the host netns is used"
}

test_ns_uts_hostname() {
    local b
    b=$(bundle_new)
    cfg "$b" '.hostname = "uts-test"'
    report "$b"
    assert_jq "$out" .hostname uts-test
    assert_ne uts-test "$(hostname)" "host hostname changed"
}

# _ns_userns BUNDLE: a new user namespace mapping 0-65535 to host 100000-165535.
_ns_userns() {
    cfg "$1" '.linux.namespaces += [{"type": "user"}]
        | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
}

test_ns_user_mapping() {
    local b id pid
    b=$(bundle_new)
    _ns_userns "$b"
    report "$b"
    assert_jq "$out" .ids.uid 0
    assert_jq "$out" .ids.gid 0
    assert_jq "$out" '.uid_map | gsub(" +"; " ") | ltrimstr(" ")' "0 100000 65536"
    assert_jq "$out" '.gid_map | gsub(" +"; " ") | ltrimstr(" ")' "0 100000 65536"
    assert_ne "$(host_ns user)" "$(jq_of "$out" .ns.user)" "no new user namespace"
    # From outside, the running workload is host uid 100000.
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    assert_eq 100000 "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" "host view of the container uid"
    assert_eq 100000 "$(stat -c %u "/proc/$pid")" "owner of /proc/PID from the host"
    assert_eq 100000 "$(awk '/^Gid:/ { print $2 }' "/proc/$pid/status")" "host view of the container gid"
    rt delete --force "$id"
}

test_ns_cgroup() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{"type": "cgroup"}]'
    report "$b"
    assert_ne "$(host_ns cgroup)" "$(jq_of "$out" .ns.cgroup)" "no new cgroup namespace"
    # Inside its own cgroup namespace the container's cgroups read as the root.
    assert_jq "$out" '[.cgroup[] | split(":")[2]] | all(. == "/")' true "cgroup paths should be / inside: $(jq_of "$out" -c .cgroup)"
}

test_ns_cgroup_absent_shows_host_paths() {
    local b
    b=$(bundle_new)
    report "$b"
    assert_jq "$out" "[.cgroup[] | select(contains(\"${CG_PREFIX#/}\"))] | length > 0" true \
        "without a cgroup ns the full cgroupsPath shows: $(jq_of "$out" -c .cgroup)"
}

test_ns_time_offsets() {
    [ -e /proc/self/ns/time ] || skip "kernel has no time namespaces"
    run rt features
    if ! jq_of "$out" '.linux.namespaces // [] | index("time") != null' | grep -qx true; then
        skip "$RUNTIME_NAME features does not list the time namespace"
    fi
    local b up
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{"type": "time"}]
        | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}, "monotonic": {"secs": 86400, "nanosecs": 0}}'
    args "$b" /bin/probe read /proc/uptime
    report "$b"
    up=$(cut -d. -f1 /proc/uptime)
    [ "${out%%.*}" -ge $((up + 864000 - 5)) ] || _fail "boottime offset not applied" "host uptime $up, container $out"
    args "$b" /bin/probe read /proc/self/timens_offsets
    report "$b"
    assert_contains "$out" "86400" "monotonic offset"
}

test_ns_join_by_path() {
    local b hp
    unshare --net --uts sleep 100 &
    hp=$!
    helper_pid $hp
    wait_own_ns $hp net uts
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "/proc/$hp/ns/net"
    report "$b"
    assert_eq "$(stat -L -c %i /proc/$hp/ns/net)" "$(jq_of "$out" .ns.net)" "joined netns inode"
    # Join uts too, in a second run, while pid/mnt/ipc stay new.
    cfg "$b" '.linux.namespaces |= map(if .type == "uts" then .path = $p else . end) | del(.hostname)' --arg p "/proc/$hp/ns/uts"
    report "$b"
    assert_eq "$(stat -L -c %i /proc/$hp/ns/uts)" "$(jq_of "$out" .ns.uts)" "joined uts inode"
    assert_ne "$(host_ns pid)" "$(jq_of "$out" .ns.pid)"
    kill "$hp"
    wait "$hp" 2>/dev/null || true
}

test_ns_join_with_new_userns() {
    # A joined netns must be entered before the new user namespace exists, or setns is EPERM.
    local b hp
    unshare --net sleep 100 &
    hp=$!
    helper_pid $hp
    wait_own_ns $hp net
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)
        | .linux.namespaces += [{"type": "user"}]
        | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]' --arg p "/proc/$hp/ns/net"
    report "$b"
    assert_eq "$(stat -L -c %i /proc/$hp/ns/net)" "$(jq_of "$out" .ns.net)" "joined netns inode"
    assert_ne "$(host_ns user)" "$(jq_of "$out" .ns.user)" "a new user namespace"
    assert_jq "$out" '.uid_map | gsub(" +"; " ") | ltrimstr(" ")' "0 100000 65536"
    kill "$hp"
    wait "$hp" 2>/dev/null || true
}

# _userns_holder: a helper in a user namespace mapping 0..65535 to host 100000..; sets $UH.
_userns_holder() {
    unshare --user sleep 100 &
    UH=$!
    helper_pid $UH
    wait_own_ns $UH user
    echo "0 100000 65536" >"/proc/$UH/uid_map"
    echo "0 100000 65536" >"/proc/$UH/gid_map"
}

# A user namespace joined by path: the namespaces the container makes belong to it, and files
# and mounts it makes are its root's (host 100000), never the host root's.
test_ns_join_userns_by_path() {
    local b id pid userns out2
    _userns_holder
    userns=$(stat -L -c %i "/proc/$UH/ns/user")
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{"type": "user", "path": $p}]' --arg p "/proc/$UH/ns/user"
    args "$b" /bin/sh -c 'touch /tmp/made && mkdir /tmp/dir && exec /bin/probe report'
    report "$b"
    assert_jq "$out" .ns.user "$userns" "joined the user namespace"
    assert_jq "$out" .ids.uid 0 "root of the joined namespace"
    assert_jq "$out" '.uid_map | gsub(" +"; " ") | ltrimstr(" ")' "0 100000 65536"
    args "$b" /bin/probe ns-owners
    report "$b"
    for ns in mnt pid ipc uts net; do
        assert_jq "$out" ".$ns" "$userns" "the new $ns namespace belongs to the joined user namespace"
    done
    assert_eq "100000:100000" "$(stat -c %u:%g "$b/rootfs/tmp/made")" "a file the container made"
    assert_eq "100000:100000" "$(stat -c %u:%g "$b/rootfs/tmp/dir")" "a directory the container made"
    # A tmpfs it mounts is made by the namespace's root: its root directory is 100000's.
    # (The mount point is made here: the rootfs is the host root's, not the namespace's.)
    mkdir "$b/rootfs/data"
    cfg "$b" '.mounts += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs"}]'
    args "$b" /bin/probe stat /data
    report "$b"
    assert_jq "$out" '"\(.uid):\(.gid)"' "0:0" "the tmpfs root, seen inside"
    # exec joins it too.
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    pid=$(pid_of "$id")
    assert_eq "$userns" "$(stat -L -c %i "/proc/$pid/ns/user")" "the init's user namespace"
    # In every hierarchy of its cgroup (v1 tasks and cgroup2), though it joined a namespace.
    local cg
    cg=$(jq -r .linux.cgroupsPath "$b/config.json")
    grep -v ":$cg\$" "/proc/$pid/cgroup" | grep -v '^0::/$' | grep . &&
        _fail "the init is outside its cgroup in some hierarchy" "$(cat "/proc/$pid/cgroup")"
    out2=$(rt exec "$id" /bin/sh -c 'touch /tmp/by-exec; id -u')
    assert_eq 0 "$out2" "exec runs as the namespace's root"
    assert_eq "100000" "$(stat -c %u "$b/rootfs/tmp/by-exec")" "a file exec made"
    rt delete --force "$id"
    kill "$UH"
    wait "$UH" 2>/dev/null || true
}

test_ns_join_bad_path_fails() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces |= map(if .type == "network" then .path = "/proc/self/ns/uts-nope" else . end)'
    run rt run -b "$b" "$(new_id)"
    assert_fail "joining a namespace path that does not exist must fail"
}

# exec into a container with its own user namespace joins every cgroup hierarchy of its init
# (the exec process enters them itself: cgroups::Entry), cgroup2 included on hybrid hosts.
test_ns_user_exec_joins_the_cgroups() {
    local b id out
    b=$(bundle_new)
    _ns_userns "$b"
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt run -d -b "$b" "$id" >"$T/c.out" 2>&1
    out=$(rt exec "$id" /bin/sh -c 'cat /proc/self/cgroup; echo --; cat /proc/1/cgroup')
    echo "$out" | sed 's/^/+ /' >&3
    assert_contains "$out" "--" "the exec did not run"
    assert_eq "${out%%--*}" "$(echo "${out#*--}" | sed 1d)
" "the exec process is not in its init's cgroups"
    rt delete --force "$id"
}

# With a new user namespace the IPC namespace is made as that namespace's root: mqueue's root
# (and so its SELinux label, its files) belongs to a mapped id, not the host's root.
test_ns_userns_mqueue_belongs_to_the_container() {
    local b
    b=$(bundle_new)
    # (the rootless pass's bundles have their user namespace already)
    [ -n "${IT_ROOTLESS:-}" ] || _ns_userns "$b"
    args "$b" /bin/probe stat /dev/mqueue
    report "$b"
    assert_jq "$out" '"\(.uid):\(.gid)"' "0:0" "/dev/mqueue's root is the container root's"
}
