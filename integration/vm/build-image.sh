#!/bin/bash
# build-image.sh: build the test VM image if it is missing, print its directory.
# Debian bookworm (debootstrap minbase), SELinux enforcing with refpolicy's container module and
# brick's module (../../selinux), the harness module (harness.cil), a busybox initramfs.
# Cached in $VM_CACHE/image-KEY, KEY a hash of everything the image is built from.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VM_CACHE=${VM_CACHE:-/var/cache/brick-vm}
MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
GUEST_PKGS="linux-image-amd64 tiny-initramfs selinux-basics selinux-policy-default selinux-policy-dev
    selinux-policy-src policycoreutils selinux-utils busybox-static kmod jq strace keyutils procps
    libseccomp2 make zstd uidmap systemd dbus podman crun runc catatonit slirp4netns tmux python3"
# The modules the initramfs loads (with their dependencies): disk, root fs, shared directories.
INITRD_MODS="virtio_pci virtio_blk ext4 9p 9pnet_virtio"

log() { echo "vm image: $*" >&2; }

key=$( (cd "$REPO" && cat integration/vm/build-image.sh integration/vm/guest/* integration/vm/harness.cil \
    selinux/Makefile selinux/brick.te selinux/brick.fc selinux/brick.if) | sha256sum | cut -c1-16)
out=$VM_CACHE/image-$key
if [ -f "$out/ready" ]; then
    echo "$out"
    exit 0
fi

mkdir -p "$VM_CACHE"
# One build at a time per cache; a second caller then finds the image the first one built.
exec 9>"$VM_CACHE/.lock"
flock 9
if [ -f "$out/ready" ]; then
    echo "$out"
    exit 0
fi
"$HERE/deps.sh" || exit 1
work=$(mktemp -d "$VM_CACHE/build.XXXX")
root=$work/root
# Only what this script mounted is unmounted, and only then is the tree removed.
cleanup() {
    local m
    for m in "$root/proc" "${base:-/nonexistent}.new/proc"; do
        mountpoint -q "$m" 2>/dev/null && umount "$m"
    done
    grep -qF "$work" /proc/self/mountinfo || rm -rf --one-file-system "$work"
}
trap cleanup EXIT
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
start=$(date +%s)

# The installed base (debootstrap + packages, ~2.5 min) is cached apart, keyed on what makes it:
# changing the policy or the guest init rebuilds only what follows.
bkey=$(echo "base-1 $MIRROR $GUEST_PKGS" | sha256sum | cut -c1-16)
base=$VM_CACHE/base-$bkey
if [ ! -f "$base/.ready" ]; then
    log "debootstrap bookworm into $base"
    rm -rf --one-file-system "$base" "$base.new"
    debootstrap --variant=minbase bookworm "$base.new" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log" >&2; rm -rf "$base.new"; exit 1; }
    log "installing the kernel, SELinux and test tools"
    mount -t proc proc "$base.new/proc"
    # shellcheck disable=SC2086 # one package a word
    chroot "$base.new" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $GUEST_PKGS >"$work/apt.log" 2>&1
    arc=$?
    chroot "$base.new" apt-get clean
    umount "$base.new/proc"
    [ $arc = 0 ] || { tail -30 "$work/apt.log" >&2; rm -rf "$base.new"; exit 1; }
    touch "$base.new/.ready"
    mv "$base.new" "$base"
fi
cp -a "$base" "$root" || exit 1
rm -f "$root/.ready"
mount -t proc proc "$root/proc"

log "building and loading the policy: ../../selinux (container + brick) and harness.cil"
mkdir -p "$root/tmp/selinux"
cp "$REPO"/selinux/Makefile "$REPO"/selinux/brick.* "$root/tmp/selinux/"
cp "$HERE/harness.cil" "$root/tmp/selinux/brick_vm_harness.cil"
in_root make -C /tmp/selinux install EXTRA_MODULES=brick_vm_harness.cil >"$work/policy.log" 2>&1 ||
    { cat "$work/policy.log" >&2; exit 1; }
rm -rf "$root/tmp/selinux"
sed -i 's/^SELINUX=.*/SELINUX=enforcing/; s/^SELINUXTYPE=.*/SELINUXTYPE=default/' "$root/etc/selinux/config"

log "guest init, initramfs, labels"
install -m 0755 "$HERE/guest/init" "$root/sbin/init"
# The systemd boot (boot.sh -s): systemd as PID 1 starts brick-vm.target, whose service runs
# the host's command as guest/init does.
install -m 0755 "$HERE/guest/brick-vm-run" "$root/usr/local/sbin/brick-vm-run"
install -m 0644 "$HERE/guest/brick-vm.service" "$HERE/guest/brick-vm.target" "$root/etc/systemd/system/"
echo brick-vm >"$root/etc/hostname"
kver=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
ird=$work/initrd
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/newroot" "$ird/modules"
cp "$root/bin/busybox" "$ird/bin/busybox"
install -m 0755 "$HERE/guest/initramfs-init" "$ird/init"
mknod "$ird/dev/console" c 5 1
: >"$ird/modules/order"
# shellcheck disable=SC2086 # one module name a word
in_root modprobe -a -S "$kver" --show-depends $INITRD_MODS | awk '$1 == "insmod" { print $2 }' |
    while read -r ko; do
        name=$(basename "$ko")
        grep -qxF "${name%.xz}" "$ird/modules/order" && continue
        case $name in
        *.xz) xz -dc "$root$ko" >"$ird/modules/${name%.xz}" ;;
        *) cp "$root$ko" "$ird/modules/$name" ;;
        esac
        echo "${name%.xz}" >>"$ird/modules/order"
    done
[ -s "$ird/modules/order" ] || { log "no modules found for the initramfs"; exit 1; }
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img" || exit 1
# An uncompressed vmlinux boots through PVH, ~2 s faster than the bzImage: it is the XZ stream.
vmlinuz=$root/boot/vmlinuz-$kver
off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream >"$work/vmlinux" 2>/dev/null
[ -s "$work/vmlinux" ] || { log "cannot extract vmlinux from $vmlinuz"; exit 1; }
in_root setfiles -F -e /proc -e /sys -e /dev /etc/selinux/default/contexts/files/file_contexts / ||
    { log "setfiles failed"; exit 1; }
umount "$root/proc"

log "ext4 image"
rm -rf "${root:?}/boot"/* "$root/usr/share/doc" "$root/usr/share/man" "$root/var/cache/apt"/*.bin
size=$(($(du -sm "$root" | cut -f1) + 400))
mkfs.ext4 -q -F -L brick-vm -d "$root" "$work/rootfs.img" "${size}M" >/dev/null || exit 1
mkdir -p "$work/image"
mv "$work/rootfs.img" "$work/initrd.img" "$work/vmlinux" "$work/image/"
echo "$kver" >"$work/image/kernel-version"
touch "$work/image/ready"
rm -rf "$out"
mv "$work/image" "$out"
# Older images and bases (other keys) are dropped: one of each per cache.
for d in "$VM_CACHE"/image-* "$VM_CACHE"/base-*; do
    [ "$d" = "$out" ] || [ "$d" = "$base" ] || rm -rf --one-file-system "$d"
done
log "built $out in $(($(date +%s) - start)) s"
echo "$out"
