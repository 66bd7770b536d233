# The bundle mounts something other than procfs over /proc, or into it, so the workload runs with a fake /proc (even with no procfs write to catch it): only procfs goes on /proc, and inside it only binds onto the few files lxcfs-style setups replace.

_sec_proc_mount_refused() {
    echo "+ error: $err" >&3
    assert_fail "${1:-a mount that fakes /proc must be refused}"
    if is_brick; then assert_contains "$err" "/proc" "brick's error should name /proc"; fi
}

test_sec_fake_proc_tmpfs_over_proc() {
    local b
    b=$(bundle_new)
    cfg "$b" '.mounts |= map(if .destination == "/proc" then {"destination": "/proc", "type": "tmpfs", "source": "tmpfs"} else . end)
        | .linux.maskedPaths = [] | .linux.readonlyPaths = []'
    args "$b" /bin/true
    run rt run -b "$b" "$(new_id)"
    _sec_proc_mount_refused
    if is_brick; then assert_contains "$err" '"tmpfs" on "/proc"' "the error names the mount"; fi
}

test_sec_fake_proc_host_dir_bind_over_proc() {
    local b
    mkdir -p "$T/fakeproc/1"
    b=$(bundle_new)
    cfg "$b" '.mounts |= map(if .destination == "/proc" then {"destination": "/proc", "type": "bind", "source": $s, "options": ["rbind"]} else . end)
        | .linux.maskedPaths = [] | .linux.readonlyPaths = []' --arg s "$T/fakeproc"
    args "$b" /bin/true
    run rt run -b "$b" "$(new_id)"
    _sec_proc_mount_refused
}

# An image symlink aims another destination at /proc: before and after procfs is mounted.
test_sec_fake_proc_through_image_symlink() {
    local b where
    for where in first last; do
        b=$(bundle_new)
        ln -s /proc "$b/rootfs/altproc"
        if [ $where = first ]; then
            cfg "$b" '.mounts = [{"destination": "/altproc", "type": "tmpfs", "source": "tmpfs"}] + .mounts'
        else
            cfg "$b" '.mounts += [{"destination": "/altproc", "type": "tmpfs", "source": "tmpfs"}]'
        fi
        args "$b" /bin/true
        run rt run -b "$b" "$(new_id)"
        _sec_proc_mount_refused "a tmpfs reaching /proc through a symlink ($where) must be refused"
        if is_brick; then assert_contains "$err" '"/altproc"' "the error names the mount"; fi
    done
}

test_sec_fake_proc_mount_inside_proc() {
    local b dst
    mkdir -p "$T/fake"
    for dst in /proc/sys /proc/sys/kernel /proc/1; do
        b=$(bundle_new)
        cfg "$b" '.mounts += [{"destination": $d, "type": "bind", "source": $s, "options": ["rbind"]}]' \
            --arg d "$dst" --arg s "$T/fake"
        args "$b" /bin/true
        run rt run -b "$b" "$(new_id)"
        _sec_proc_mount_refused "a bind onto $dst must be refused"
    done
}

# lxcfs-style binds onto the files it replaces are allowed (and seen by the workload).
test_sec_fake_proc_lxcfs_style_binds_allowed() {
    local b
    printf 'fake uptime 1.00 2.00\n' >"$T/uptime"
    b=$(bundle_new)
    cfg "$b" '.mounts += [{"destination": "/proc/uptime", "type": "bind", "source": $s, "options": ["bind", "ro"]}]' \
        --arg s "$T/uptime"
    args "$b" /bin/cat /proc/uptime
    report "$b"
    assert_eq "fake uptime 1.00 2.00" "$out" "the bind onto /proc/uptime"
}
