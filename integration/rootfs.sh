#!/bin/sh
# rootfs.sh DIR: build a busybox-static rootfs in DIR with the probe as /bin/probe.
# PROBE may name the probe binary; default is the release build under probe/target.
set -eu
dir=${1:?usage: rootfs.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
probe=${PROBE:-$here/probe/target/x86_64-unknown-linux-gnu/release/probe}
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$probe" ] || { echo "rootfs.sh: probe not built: $probe" >&2; exit 1; }
mkdir -p "$dir/bin" "$dir/etc" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/tmp" "$dir/root" "$dir/home/user"
cp "$busybox" "$dir/bin/busybox"
# Run from inside the rootfs so the links point at /bin/busybox, not the host path.
chroot "$dir" /bin/busybox --install -s /bin
cp "$probe" "$dir/bin/probe"
chmod 1777 "$dir/tmp"
chown 1000:1000 "$dir/home/user"
cat > "$dir/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$dir/etc/group" <<'GR'
root:x:0:
user:x:1000:
nogroup:x:65534:
GR
