# common.sh: helpers shared by the client suites (podman.sh, containerd.sh). Source it.
#   clients_need CMD:PKG...  apt-get install -y each PKG whose CMD is missing
#   clients_image DIR        build DIR/rootfs.tar: busybox-static, its applet links,
#                            /etc/passwd and /etc/group (root, user 1000, nobody); prints its path

clients_need() {
    local want=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || want+=("${pair#*:}")
    done
    [ ${#want[@]} = 0 ] && return 0
    echo "installing ${want[*]}..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${want[@]}" >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${want[@]}" >&2; }
}

clients_image() {
    local dir=${1:?usage: clients_image DIR} busybox=${BUSYBOX:-/bin/busybox} root
    # A dynamic busybox (Debian's "busybox" package) would not run in the rootfs.
    if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2 || return 1
        busybox=/bin/busybox
    fi
    root=$dir/rootfs
    mkdir -p "$root/bin" "$root/etc" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
        "$root/root" "$root/home/user" "$root/var/tmp"
    cp "$busybox" "$root/bin/busybox"
    # Run from inside the rootfs so the links point at /bin/busybox, not the host path.
    chroot "$root" /bin/busybox --install -s /bin
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chown 1000:1000 "$root/home/user"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:user:/home/user:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$root/etc/group"
    tar -C "$root" --numeric-owner -cf "$dir/rootfs.tar" . || return 1
    rm -rf --one-file-system "$root"
    echo "$dir/rootfs.tar"
}
