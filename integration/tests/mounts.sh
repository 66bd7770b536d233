# mounts: filesystem types, bind/rbind, flags by mountinfo and by effect, propagation,
# read-only root, masked and read-only paths.

test_mount_defaults() {
    local b
    b=$(bundle_new)
    report "$b"
    assert_jq "$(mount_of "$out" /proc)" .fstype proc
    assert_jq "$(mount_of "$out" /sys)" .fstype sysfs
    assert_mount_opt "$out" /sys ro
    assert_jq "$(mount_of "$out" /dev)" .fstype tmpfs
    assert_mount_opt "$out" /dev nosuid
    assert_mount_opt "$out" /dev mode=755
    assert_jq "$(mount_of "$out" /dev/pts)" .fstype devpts
    assert_mount_opt "$out" /dev/pts ptmxmode=666
    assert_mount_opt "$out" /dev/pts mode=620
    # devpts shows its gid as the host sees it: container gid 5 is a subordinate id rootless.
    assert_mount_opt "$out" /dev/pts "gid=$(host_gid 5)"
    assert_jq "$(mount_of "$out" /dev/shm)" .fstype tmpfs
    assert_mount_opt "$out" /dev/shm nodev
    assert_mount_opt "$out" /dev/shm noexec
    assert_jq "$(mount_of "$out" /dev/mqueue)" .fstype mqueue
    assert_mount_opt "$out" /dev/mqueue nosuid
    # The host's mounts are not visible.
    assert_jq "$out" '[.mounts[].mountpoint | select(startswith("/tmp/brick-it"))] | length' 0
}

test_mount_sysfs_ro_effect() {
    local b
    b=$(bundle_new)
    args "$b" /bin/probe mkdir /sys/kernel/brick-it
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EROFS "$out" "mkdir on a ro sysfs"
}

test_mount_tmpfs_size_mode() {
    local b
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=710", "nosuid", "nodev"]}]'
    report "$b"
    assert_jq "$(mount_of "$out" /data)" .fstype tmpfs
    assert_mount_opt "$out" /data size=1024k
    assert_mount_opt "$out" /data mode=710
    assert_mount_opt "$out" /data nosuid
    assert_mount_opt "$out" /data nodev
    if ! is_runc; then
        # runc 1.1.5 chmods the tmpfs root back to the mountpoint's own mode (0755).
        args "$b" /bin/probe stat /data
        report "$b"
        assert_jq "$out" .mode 0710 "mode= of the tmpfs root"
    fi
    # size=1m by effect: 2 MiB does not fit.
    args "$b" /bin/sh -c 'dd if=/dev/zero of=/data/f bs=1024 count=2048 2>/dev/null && echo fits || echo full'
    report "$b"
    assert_eq full "$out" "a 2 MiB file fit in a size=1m tmpfs"
}

test_mount_cgroup() {
    local b
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]'
    report "$b"
    assert_jq "$out" '[.mounts[] | select(.mountpoint | startswith("/sys/fs/cgroup")) | select(.fstype == "cgroup" or .fstype == "cgroup2")] | length > 0' true \
        "no cgroup filesystem under /sys/fs/cgroup: $(jq_of "$out" -c '[.mounts[] | select(.mountpoint | startswith("/sys/fs/cgroup")) | .mountpoint + " " + .fstype]')"
    assert_jq "$out" '[.mounts[] | select(.mountpoint | startswith("/sys/fs/cgroup/")) | select(.fstype == "cgroup" or .fstype == "cgroup2") | (.options | index("ro")) != null] | all' true \
        "cgroup mounts should be ro"
}

# _hostdir: $T/host with a file in it.
_hostdir() {
    mkdir -p "$T/host/sub"
    echo hello >"$T/host/file"
}

test_mount_bind_rw() {
    local b
    _hostdir
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/mnt/b", "type": "bind", "source": $s, "options": ["bind"]}]' --arg s "$T/host"
    args "$b" /bin/sh -c 'cat /mnt/b/file && echo written >/mnt/b/new'
    report "$b"
    assert_eq hello "$out"
    assert_eq written "$(cat "$T/host/new")" "write through the bind mount"
}

test_mount_bind_vs_rbind() {
    local b
    _hostdir
    mount -t tmpfs -o size=1m brick-it-sub "$T/host/sub"
    echo insub >"$T/host/sub/f"
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/mnt/b", "type": "bind", "source": $s, "options": ["bind"]},
                          {"destination": "/mnt/r", "type": "bind", "source": $s, "options": ["rbind"]}]' --arg s "$T/host"
    report "$b"
    assert_eq null "$(mount_of "$out" /mnt/b/sub)" "bind (not rbind) must not carry submounts"
    assert_jq "$(mount_of "$out" /mnt/r/sub)" .fstype tmpfs "rbind must carry submounts"
    umount "$T/host/sub"
}

test_mount_bind_ro_effect() {
    local b
    _hostdir
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/mnt/ro", "type": "bind", "source": $s, "options": ["bind", "ro"]}]' --arg s "$T/host"
    report "$b"
    assert_mount_opt "$out" /mnt/ro ro
    args "$b" /bin/probe write /mnt/ro/x
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EROFS "$out"
    [ ! -e "$T/host/x" ] || _fail "file created through a ro bind"
    # The host's view stays writable.
    grep -F " $T/host " /proc/self/mountinfo && _fail "bind leaked onto the host" || true
}

test_mount_rro_recursive() {
    local b
    _hostdir
    mount -t tmpfs -o size=1m brick-it-sub "$T/host/sub"
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/mnt/rr", "type": "bind", "source": $s, "options": ["rbind", "rro"]},
                          {"destination": "/mnt/r1", "type": "bind", "source": $s, "options": ["rbind", "ro"]}]' --arg s "$T/host"
    report "$b"
    assert_mount_opt "$out" /mnt/rr ro
    assert_mount_opt "$out" /mnt/rr/sub ro
    assert_mount_opt "$out" /mnt/r1 ro
    args "$b" /bin/probe write /mnt/rr/sub/x
    run rt run -b "$b" "$(new_id)"
    assert_eq EROFS "$out" "rro must make submounts read-only"
    umount "$T/host/sub"
}

test_mount_nosuid_nodev_noexec() {
    local b
    _hostdir
    cp "$PROBE" "$T/host/probe2"
    mknod "$T/host/null" c 1 3
    chmod 666 "$T/host/null"
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/mnt/x", "type": "bind", "source": $s, "options": ["bind", "nosuid", "nodev", "noexec"]},
                          {"destination": "/mnt/y", "type": "bind", "source": $s, "options": ["bind"]}]' --arg s "$T/host"
    report "$b"
    assert_mount_opt "$out" /mnt/x nosuid
    assert_mount_opt "$out" /mnt/x nodev
    assert_mount_opt "$out" /mnt/x noexec
    assert_no_mount_opt "$out" /mnt/y noexec
    args "$b" /bin/probe exec /mnt/x/probe2 exit 0
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EACCES "$out" "exec on a noexec mount"
    args "$b" /bin/probe exec /mnt/y/probe2 exit 0
    run rt run -b "$b" "$(new_id)"
    assert_rc 0 "exec on the plain bind should work"
    args "$b" /bin/probe read /mnt/x/null
    run rt run -b "$b" "$(new_id)"
    assert_eq EACCES "$out" "open of a device on a nodev mount"
}

test_mount_rootfs_propagation() {
    local b
    b=$(bundle_new)
    if ! is_runc; then
        # runc 1.1.5 makes the rootfs' parent mount private after applying rootfsPropagation,
        # so a rootfs that is not itself a mount point never ends up shared.
        cfg "$b" '.linux.rootfsPropagation = "shared"'
        report "$b"
        assert_jq "$(mount_of "$out" /)" '.optional | map(select(startswith("shared:"))) | length > 0' true \
            "rootfsPropagation shared: / should be shared: $(mount_of "$out" /)"
    fi
    cfg "$b" '.linux.rootfsPropagation = "private"'
    report "$b"
    assert_jq "$(mount_of "$out" /)" '.optional | length' 0 "rootfsPropagation private: $(mount_of "$out" /)"
}

# _prop_run B: start B in the background; it waits for $T/host/go, then reports.
test_mount_propagation_effect() {
    local b id1 id2
    _hostdir
    mount --bind "$T/host" "$T/host"
    mount --make-shared "$T/host"
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/mnt/s", "type": "bind", "source": $s, "options": ["rbind", "rslave"]},
                          {"destination": "/mnt/p", "type": "bind", "source": $s, "options": ["rbind", "rprivate"]}]' --arg s "$T/host"
    args "$b" /bin/sh -c 'while [ ! -e /mnt/s/go ]; do sleep 0.05; done; /bin/probe report'
    id1=$(new_id)
    # run -d returns once the process was executed: its mounts exist.
    rt run -d -b "$b" "$id1" >"$T/prop.out" 2>&1
    mount -t tmpfs -o size=1m brick-it-late "$T/host/sub"
    touch "$T/host/go"
    wait_status "$id1" stopped
    rt delete "$id1"
    local r
    r=$(cat "$T/prop.out")
    assert_jq "$(mount_of "$r" /mnt/s)" '.optional | map(select(startswith("master:"))) | length > 0' true "rslave bind should be a slave: $(mount_of "$r" /mnt/s)"
    assert_jq "$(mount_of "$r" /mnt/s/sub)" .fstype tmpfs "a host mount made later should propagate into the rslave bind"
    assert_eq null "$(mount_of "$r" /mnt/p/sub)" "a host mount must not propagate into the rprivate bind"
    umount "$T/host/sub"
    umount "$T/host"
}

test_mount_no_pivot() {
    local b
    b=$(bundle_new)
    report "$b"
    local pivot_root
    pivot_root=$(jq_of "$out" -c '[.mounts[].mountpoint] | length')
    id=$(new_id)
    run rt run --no-pivot -b "$b" "$id"
    assert_ok "--no-pivot run"
    assert_jq "$out" .pid 1
    assert_jq "$out" '[.mounts[].mountpoint | select(startswith("/tmp/brick-it"))] | length' 0 "host paths visible with --no-pivot"
    assert_jq "$out" '.exe' /bin/probe
}

test_root_readonly() {
    local b
    b=$(bundle_new)
    cfg "$b" '.root.readonly = true'
    report "$b"
    assert_mount_opt "$out" / ro
    args "$b" /bin/probe write /newfile
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EROFS "$out" "write to a readonly root"
    [ ! -e "$b/rootfs/newfile" ] || _fail "file appeared in the rootfs"
    # Mounts on top stay writable.
    args "$b" /bin/probe write /dev/shm/x
    run rt run -b "$b" "$(new_id)"
    assert_ok "write to /dev/shm with a readonly root"
}

test_masked_paths() {
    local b
    b=$(bundle_new)
    mkdir -p "$b/rootfs/secret-dir"
    echo s1 >"$b/rootfs/secret-dir/inner"
    echo s2 >"$b/rootfs/etc/secret-file"
    cfg "$b" '.linux.maskedPaths += ["/etc/secret-file", "/secret-dir", "/does/not/exist"]'
    args "$b" /bin/probe read /etc/secret-file
    report "$b"
    assert_eq "" "$out" "masked file should read empty"
    args "$b" /bin/probe stat /etc/secret-file
    report "$b"
    assert_jq "$out" '"\(.type) \(.major):\(.minor)"' "c 1:3" "a masked file is /dev/null"
    args "$b" /bin/probe read /secret-dir/inner
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq ENOENT "$out" "masked dir should hide its content"
    if [ -e /proc/keys ]; then
        args "$b" /bin/probe stat /proc/keys
        report "$b"
        assert_jq "$out" '"\(.type) \(.major):\(.minor)"' "c 1:3" "/proc/keys (default masked) should be /dev/null"
    fi
    args "$b" /bin/probe stat /proc/acpi
    report "$b"
    assert_jq "$out" '.type' d
    args "$b" /bin/ls -A /proc/acpi
    report "$b"
    assert_eq "" "$out" "/proc/acpi (default masked dir) should be empty"
    args "$b" /bin/probe write /secret-dir/x
    run rt run -b "$b" "$(new_id)"
    assert_rc 1 "masked dir should be read-only"
    [ ! -e "$b/rootfs/secret-dir/x" ] || _fail "write reached the masked dir"
}

test_readonly_paths() {
    local b
    b=$(bundle_new)
    mkdir -p "$b/rootfs/rodir" "$b/rootfs/rwdir"
    cfg "$b" '.linux.readonlyPaths += ["/rodir", "/does/not/exist"]'
    report "$b"
    assert_mount_opt "$out" /rodir ro
    assert_mount_opt "$out" /proc/sys ro
    args "$b" /bin/probe write /rodir/x
    run rt run -b "$b" "$(new_id)"
    assert_rc 1
    assert_eq EROFS "$out"
    args "$b" /bin/probe write /rwdir/x
    run rt run -b "$b" "$(new_id)"
    assert_ok
    args "$b" /bin/probe write /proc/sys/kernel/hostname ro-test
    run rt run -b "$b" "$(new_id)"
    assert_eq EROFS "$out" "/proc/sys is a readonly path"
}
