# common.sh: helpers shared by the client suites (podman, containerd, buildah). Source it.
#   clients_need CMD:PKG...  apt-get install -y each PKG whose CMD is missing
#   clients_image DIR        build DIR/rootfs.tar: busybox-static, its applet links,
#                            /etc/passwd and /etc/group (root, user 1000, nobody); prints its path
#   clients_oci_image DIR NAME  DIR/busybox-oci.tar: that rootfs as an OCI image archive

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
    tar -C "$root" --numeric-owner --sort=name -cf "$dir/rootfs.tar" . || return 1
    rm -rf --one-file-system "$root"
    echo "$dir/rootfs.tar"
}

# clients_oci_image DIR NAME: DIR/busybox-oci.tar, an OCI image archive (layer, config, manifest,
# index) of clients_image's rootfs, named NAME for containerd and with ref "latest".
clients_oci_image() {
    local img=${1:?usage: clients_oci_image DIR NAME} IMG=${2:?usage: clients_oci_image DIR NAME}
    local lay=$img/oci b=$img/oci/blobs/sha256 arch layer
    mkdir -p "$b"
    layer=$(clients_image "$img") || return 1
    mv "$layer" "$img/layer.tar"
    local diff gz gzsize cfg cfgsize man mansize
    diff=$(sha256sum <"$img/layer.tar" | cut -d' ' -f1)
    gzip -n <"$img/layer.tar" >"$img/layer.tar.gz"
    gz=$(sha256sum <"$img/layer.tar.gz" | cut -d' ' -f1)
    gzsize=$(stat -c %s "$img/layer.tar.gz")
    mv "$img/layer.tar.gz" "$b/$gz"
    arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
    jq -cn --arg diff "sha256:$diff" --arg arch "$arch" '{created: "2024-01-01T00:00:00Z",
        architecture: $arch, os: "linux",
        config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                 Cmd: ["sh"], WorkingDir: "/"},
        rootfs: {type: "layers", diff_ids: [$diff]},
        history: [{created: "2024-01-01T00:00:00Z", created_by: "brick integration: busybox-static"}]}' >"$img/config.json"
    cfg=$(sha256sum <"$img/config.json" | cut -d' ' -f1)
    cfgsize=$(stat -c %s "$img/config.json")
    mv "$img/config.json" "$b/$cfg"
    jq -cn --arg cfg "sha256:$cfg" --argjson cfgsize "$cfgsize" --arg gz "sha256:$gz" --argjson gzsize "$gzsize" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cfg, size: $cfgsize},
          layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $gz, size: $gzsize}]}' >"$img/manifest.json"
    man=$(sha256sum <"$img/manifest.json" | cut -d' ' -f1)
    mansize=$(stat -c %s "$img/manifest.json")
    mv "$img/manifest.json" "$b/$man"
    jq -cn --arg man "sha256:$man" --argjson mansize "$mansize" --arg name "$IMG" \
        '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: $man, size: $mansize, platform: {architecture: "amd64", os: "linux"},
          annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": "latest"}}]}' >"$lay/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
    tar -C "$lay" -cf "$img/busybox-oci.tar" oci-layout index.json blobs
    rm -f "$img/layer.tar"
}
