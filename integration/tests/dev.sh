# /dev: default nodes, config devices, standard symlinks, pts/shm, device cgroup.

test_dev_default_nodes() {
    local b d want
    b=$(bundle_new)
    args "$b" /bin/sh -c 'for d in null zero full random urandom tty; do /bin/probe stat /dev/$d || exit 1; done'
    report "$b"
    local i=0
    for want in "null c 1:3" "zero c 1:5" "full c 1:7" "random c 1:8" "urandom c 1:9" "tty c 5:0"; do
        i=$((i + 1))
        d=$(echo "$out" | sed -n "${i}p")
        assert_eq "${want#* }" "$(jq_of "$d" '"\(.type) \(.major):\(.minor)"')" "/dev/${want%% *}"
        assert_jq "$d" .mode 0666 "/dev/${want%% *} mode"
    done
    # They work: read zero, write null, full is full.
    args "$b" /bin/sh -c 'head -c 4 /dev/zero | od -An -tx1 | tr -d " "; echo x >/dev/null && echo nullok; echo x 2>/dev/null >/dev/full || echo fullfull; head -c 8 /dev/urandom | wc -c'
    report "$b"
    assert_eq "$(printf '00000000\nnullok\nfullfull\n8')" "$out"
}

test_dev_config_device() {
    local b
    b=$(bundle_new)
    cfg "$b" '.linux.devices = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 416, "uid": 1000, "gid": 1001}]
        | .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
    args "$b" /bin/probe stat /dev/mynull
    report "$b"
    assert_jq "$out" '"\(.type) \(.major):\(.minor)"' "c 1:3"
    assert_jq "$out" .mode 0640 "fileMode 0640"
    assert_jq "$out" .uid 1000
    assert_jq "$out" .gid 1001
    args "$b" /bin/sh -c 'echo hi >/dev/mynull && /bin/probe read /dev/mynull && echo ok'
    report "$b"
    assert_eq ok "$out"
}

test_dev_nodes_root_owned_in_setgid_dir() {
    local b
    b=$(bundle_new)
    # No /dev tmpfs: nodes are made in the image's /dev, which is setgid to group 1234 here,
    # so a node would take that group unless it is chowned to the config's 0:0.
    cfg "$b" 'del(.mounts[] | select(.destination == "/dev"))'
    chgrp 1234 "$b/rootfs/dev"
    chmod 2755 "$b/rootfs/dev"
    args "$b" /bin/probe stat /dev/null
    report "$b"
    assert_jq "$out" '"\(.type) \(.major):\(.minor)"' "c 1:3"
    assert_jq "$out" .uid 0
    assert_jq "$out" .gid 0 "/dev/null in a setgid /dev keeps the config's group"
}

test_dev_symlinks() {
    local b l
    b=$(bundle_new)
    args "$b" /bin/sh -c 'for l in fd stdin stdout stderr; do readlink /dev/$l; done'
    report "$b"
    assert_eq "$(printf '/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2')" "$out" "/dev/fd, stdin, stdout, stderr links"
    args "$b" /bin/probe lstat /dev/ptmx
    report "$b"
    # /dev/ptmx is either a symlink to pts/ptmx or a bind of it.
    if [ "$(jq_of "$out" .type)" = l ]; then
        assert_jq "$out" .target pts/ptmx
    else
        assert_jq "$out" '"\(.type) \(.major):\(.minor)"' "c 5:2"
    fi
    args "$b" /bin/sh -c 'echo through-fd >/dev/stdout'
    report "$b"
    assert_eq through-fd "$out"
}

test_dev_pts_and_shm() {
    local b
    b=$(bundle_new)
    args "$b" /bin/sh -c '/bin/probe stat /dev/pts/ptmx && /bin/probe write /dev/shm/x shm && /bin/probe read /dev/shm/x'
    report "$b"
    assert_jq "$(head -1 <<<"$out")" '"\(.type) \(.major):\(.minor)"' "c 5:2"
    assert_eq shm "$(echo "$out" | tail -1)"
    # A new devpts instance: no host ptys are visible.
    args "$b" /bin/ls /dev/pts
    report "$b"
    assert_eq ptmx "$out" "only ptmx in a fresh devpts"
}

test_dev_no_host_devices() {
    local b
    b=$(bundle_new)
    args "$b" /bin/ls /dev
    report "$b"
    assert_not_contains "$out" vda "host block devices visible in /dev"
    assert_not_contains "$out" kmsg
    assert_not_contains "$out" mem
}

test_dev_cgroup_denies_unlisted() {
    local b
    b=$(bundle_new)
    args "$b" /bin/sh -c '/bin/probe mknod /tmp/blk b 7 0 || exit 0; /bin/probe read /tmp/blk'
    run rt run -b "$b" "$(new_id)"
    assert_eq EPERM "$out" "a device outside the allow list should be denied by the device cgroup"
}
