# idmap: id-mapped bind mounts (runtime-spec 1.2 "idmap"/"ridmap", mount uidMappings), and
# bind sources in a user namespace, opened before the container's root could not reach them.

# _idmap_bind B SRC DST OPTION MAP: bind SRC on DST with OPTION and the one-id MAP "from to"
# (an on-disk owner `from` shows as `to`), or the container's maps when MAP is empty.
_idmap_bind() {
    local b=$1 src=$2 dst=$3 opt=$4 from=${5%% *} to=${5##* }
    if [ -n "$5" ]; then
        cfg "$b" '.mounts += [{destination: $d, type: "bind", source: $s, options: ["rbind", $o],
            uidMappings: [{containerID: $f, hostID: $t, size: 1}],
            gidMappings: [{containerID: $f, hostID: $t, size: 1}]}]' \
            --arg d "$dst" --arg s "$src" --arg o "$opt" --argjson f "$from" --argjson t "$to"
    else
        cfg "$b" '.mounts += [{destination: $d, type: "bind", source: $s, options: ["rbind", $o]}]' \
            --arg d "$dst" --arg s "$src" --arg o "$opt"
    fi
}

# _idmap_owner_checks FSDIR: a host directory on some filesystem, owned by 1000, shows as
# 0 inside; a file root makes there is 1000's on the host. The reverse: 0 shows as 1000, and
# what uid 1000 makes inside is root's on the host.
_idmap_owner_checks() {
    local dir=$1 b
    mkdir -p "$dir/u1000" "$dir/u0"
    echo data >"$dir/u1000/f"
    chown -R 1000:1000 "$dir/u1000"
    chmod 777 "$dir/u0"
    b=$(bundle_new)
    _idmap_bind "$b" "$dir/u1000" /m idmap "1000 0"
    args "$b" /bin/sh -c '/bin/probe stat /m/f && echo new >/m/made-inside'
    report "$b"
    assert_jq "$out" '"\(.uid):\(.gid)"' "0:0" "an owner 1000 on disk shows as 0 through the map"
    assert_eq "1000:1000" "$(stat -c %u:%g "$dir/u1000/made-inside")" "what root made inside is 1000's on disk"
    b=$(bundle_new)
    _idmap_bind "$b" "$dir/u0" /m ridmap "0 1000"
    cfg "$b" '.process.user = {uid: 1000, gid: 1000}'
    args "$b" /bin/sh -c 'touch /m/by-1000 && /bin/probe stat /m/by-1000'
    report "$b"
    assert_jq "$out" '"\(.uid):\(.gid)"' "1000:1000" "uid 1000 inside sees its own file"
    assert_eq "0:0" "$(stat -c %u:%g "$dir/u0/by-1000")" "what 1000 made inside is root's on disk"
}

test_idmap_mount_on_ext4_or_the_hosts_fs() {
    needs_root "id-mapping a host filesystem needs CAP_SYS_ADMIN on the host"
    _idmap_owner_checks "$T/disk"
    assert_ne tmpfs "$(stat -f -c %T "$T")" "this one is on the disk the tests run from ($(stat -f -c %T "$T"))"
}

test_idmap_mount_on_tmpfs() {
    needs_root "id-mapping a host filesystem needs CAP_SYS_ADMIN on the host"
    mkdir -p "$T/tm"
    mount -t tmpfs -o mode=755 it-idmap "$T/tm"
    # tmpfs can be id-mapped from Linux 6.3: before, brick must say it cannot.
    local v
    v=$(uname -r | awk -F. '{ print $1 * 100 + $2 }')
    if [ "$v" -ge 603 ]; then
        _idmap_owner_checks "$T/tm"
    else
        local b
        b=$(bundle_new)
        _idmap_bind "$b" "$T/tm" /m idmap "1000 0"
        run rt run -b "$b" "$(new_id)"
        assert_fail "tmpfs before 6.3 cannot be id-mapped"
        is_brick && assert_contains "$err" "cannot be id-mapped"
    fi
    umount "$T/tm"
}

test_idmap_takes_the_user_namespace_maps() {
    needs_root "id-mapping a host filesystem needs CAP_SYS_ADMIN on the host"
    local b
    mkdir -p "$T/own"
    echo x >"$T/own/f"
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{type: "user"}]
        | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
        | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    # The image is host root's (hard links of the template): the mount point is made here.
    mkdir "$b/rootfs/m"
    # Without maps of its own the mount takes the container's: root's files are root's inside.
    _idmap_bind "$b" "$T/own" /m idmap ""
    args "$b" /bin/sh -c '/bin/probe stat /m/f && touch /m/new'
    report "$b"
    assert_jq "$out" '"\(.uid):\(.gid)"' "0:0" "host root's file is the container root's"
    assert_eq "0:0" "$(stat -c %u:%g "$T/own/new")" "and what it makes is host root's on disk"
}

test_idmap_refused_where_the_filesystem_cannot() {
    needs_root "id-mapping a host filesystem needs CAP_SYS_ADMIN on the host"
    local b
    b=$(bundle_new)
    # sysfs cannot be id-mapped.
    _idmap_bind "$b" /sys/kernel /m idmap "1000 0"
    run rt run -b "$b" "$(new_id)"
    assert_fail "sysfs cannot be id-mapped"
    if is_brick; then
        assert_contains "$err" "cannot be id-mapped"
        assert_contains "$err" "\"/m\""
    fi
}

test_idmap_features_say_enabled() {
    is_brick || skip "brick's features"
    run rt features
    assert_ok
    assert_jq "$out" .linux.mountExtensions.idmap.enabled true
}

# crun's mount-userns-bind-mount: the container's root (100000 on the host) cannot search the
# source's 0700 parent; brick opens the source before the clone, as root.
test_idmap_userns_bind_source_below_an_unsearchable_dir() {
    needs_root "the source's parent is root's 0700 directory"
    local b
    mkdir -p "$T/private/shared"
    chmod 700 "$T/private"
    echo visible >"$T/private/shared/f"
    chmod 644 "$T/private/shared/f"
    b=$(bundle_new)
    cfg "$b" '.linux.namespaces += [{type: "user"}]
        | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
        | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
        | .mounts += [{destination: "/m", type: "bind", source: $s, options: ["rbind", "ro"]}]' \
        --arg s "$T/private/shared"
    mkdir "$b/rootfs/m"
    args "$b" /bin/cat /m/f
    report "$b"
    assert_eq visible "$out" "the bind's content"
}
