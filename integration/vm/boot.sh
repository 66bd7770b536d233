#!/bin/bash
# boot.sh [-t SECONDS] [-1] [-s] SHARE CMD [ARG...]: boot the test VM (qemu TCG), run CMD inside
# with the host directory SHARE at /mnt/share (read-only, cwd), stream its output, exit with its
# status. -1 boots with cgroup v1 (hybrid) instead of pure cgroup v2; -s boots systemd as PID 1
# (brick-vm.target runs CMD) instead of brick's own init (guest/init); -t bounds the whole boot
# (default VM_TIMEOUT or 900 s): a hang fails. VM_IMAGE names a built image directory (default:
# build-image.sh builds or finds it); VM_KERNEL_ARGS adds kernel arguments (e.g. loglevel=7).
# The image is never modified (snapshot=on): runs may overlap.
# Exit status: CMD's, or 124 when the VM timed out, 125 when it never reported one.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
timeout_s=${VM_TIMEOUT:-900}
cgroup=v2
init=""
while getopts "t:1s" o; do
    case $o in
    t) timeout_s=$OPTARG ;;
    1) cgroup=v1 ;;
    s) init="brick.init=/lib/systemd/systemd systemd.unit=brick-vm.target" ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: boot.sh [-t SECONDS] [-1] [-s] SHARE CMD [ARG...]" >&2; exit 2; }
share=$(cd "$1" && pwd) || exit 2
shift
image=${VM_IMAGE:-$("$HERE/build-image.sh")} || exit 2
# qemu may be missing even where an image is (a kept cache, VM_IMAGE): quick when installed.
"$HERE/deps.sh" || exit 2
[ -f "$image/ready" ] || { echo "boot.sh: no image in $image" >&2; exit 2; }

ctl=$(mktemp -d /tmp/brick-vm.XXXX)
qpid=""
tpid=""
# Ends only what this run started (its qemu and its tail), by pid.
# shellcheck disable=SC2317 # run by the EXIT trap
finish() {
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    [ -n "$tpid" ] && kill "$tpid" 2>/dev/null
    rm -rf "$ctl"
}
trap finish EXIT
trap 'exit 130' INT TERM
{
    echo 'cd /mnt/share || exit 125'
    printf '%q ' "$@"
    echo
} >"$ctl/cmd"
: >"$ctl/out"

args="console=ttyS0 quiet loglevel=4 panic=-1 security=selinux selinux=1 enforcing=1 $init ${VM_KERNEL_ARGS:-}"
if [ $cgroup = v2 ]; then
    args="$args systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all brick.cgroup=v2"
else
    args="$args systemd.unified_cgroup_hierarchy=0 brick.cgroup=v1"
fi
start=$(date +%s)
timeout -k 5 "$timeout_s" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp "${VM_CPUS:-2}" \
    -m "${VM_MEM:-2048}" -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$image/vmlinux" -initrd "$image/initrd.img" -append "$args" \
    -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$share,mount_tag=share,security_model=none,readonly=on" \
    -virtfs "local,path=$ctl,mount_tag=ctl,security_model=none" \
    -serial "file:$ctl/console" -serial "file:$ctl/out" &
qpid=$!
tail -n +1 -s 0.2 -f --pid=$qpid "$ctl/out" &
tpid=$!
wait $qpid
qrc=$?
qpid=""
wait $tpid 2>/dev/null
tpid=""
if [ -s "$ctl/rc" ]; then
    rc=$(cat "$ctl/rc")
elif [ $qrc = 124 ]; then
    echo "boot.sh: the VM timed out after ${timeout_s}s" >&2
    rc=124
else
    echo "boot.sh: the VM ended (qemu exit $qrc) without reporting a status" >&2
    rc=125
fi
if [ "$rc" != 0 ]; then
    echo "boot.sh: console (last 40 lines):" >&2
    tail -n 40 "$ctl/console" | sed 's/^/    /' >&2
fi
# The guest's kernel log and console are kept for the caller when it asks (VM_DMESG=FILE,
# VM_CONSOLE=FILE).
[ -n "${VM_DMESG:-}" ] && [ -f "$ctl/dmesg" ] && cp "$ctl/dmesg" "$VM_DMESG"
[ -n "${VM_CONSOLE:-}" ] && cp "$ctl/console" "$VM_CONSOLE"
echo "boot.sh: VM ran $(($(date +%s) - start)) s, exit $rc" >&2
exit "$rc"
