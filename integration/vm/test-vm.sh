#!/bin/bash
# test-vm.sh: what `make test-vm` runs once brick and the probe are built: build the VM image if
# it is missing, then boot it three times: SELinux enforcing + pure cgroup v2 (the cgroup, CVE
# and SELinux suites), the same with systemd as PID 1 (the systemd cgroup driver), and cgroup v1
# (the v1 cgroup tests). VM_SYSTEMD=0 skips the systemd boot, VM_V1=0 the v1 one.
# VM_SHARE (default: the repo) is shared with the VM; RUNTIME and PROBE must lie inside it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SHARE=$(cd "${VM_SHARE:-$REPO}" && pwd)
RUNTIME=$(readlink -f "${RUNTIME:-$SHARE/target/release/brick}")
PROBE=$(readlink -f "${PROBE:-$SHARE/integration/probe/target/x86_64-unknown-linux-gnu/release/probe}")
VM_SUITES=${VM_SUITES:-cgroup-v2 security selinux}

# inside PATH: PATH as the VM sees it (the share is its /mnt/share).
inside() {
    case $1 in
    "$SHARE"/*) echo "/mnt/share/${1#"$SHARE"/}" ;;
    *)
        echo "test-vm: $1 is not inside the shared directory $SHARE" >&2
        return 1
        ;;
    esac
}
[ -x "$RUNTIME" ] || { echo "test-vm: no runtime at $RUNTIME (make build)" >&2; exit 2; }
[ -x "$PROBE" ] || { echo "test-vm: no probe at $PROBE (make probe)" >&2; exit 2; }
rt_in=$(inside "$RUNTIME") || exit 2
probe_in=$(inside "$PROBE") || exit 2
vm_dir_in=$(inside "$HERE") || exit 2

t0=$(date +%s)
image=$("$HERE/build-image.sh") || { echo "test-vm: image build failed" >&2; exit 1; }
export VM_IMAGE=$image
echo "test-vm: image $image ready after $(($(date +%s) - t0)) s"

rc=0
t1=$(date +%s)
# shellcheck disable=SC2086 # one suite a word
"$HERE/boot.sh" -t "${VM_TIMEOUT_V2:-1500}" "$SHARE" env RUNTIME="$rt_in" PROBE="$probe_in" \
    bash "$vm_dir_in/in-vm.sh" $VM_SUITES || rc=1
echo "test-vm: v2 boot ($VM_SUITES) took $(($(date +%s) - t1)) s"
if [ "${VM_SYSTEMD:-1}" = 1 ]; then
    # systemd as PID 1 (pure v2, SELinux enforcing): the systemd cgroup driver for real, the
    # v2 cgroup tests again with every container in a systemd scope, podman as such a host
    # runs it (its systemd cgroup manager, SELinux labels).
    t1=$(date +%s)
    "$HERE/boot.sh" -s -t "${VM_TIMEOUT_SYSTEMD:-900}" "$SHARE" env RUNTIME="$rt_in" PROBE="$probe_in" \
        bash "$vm_dir_in/in-vm.sh" systemd cgroup-v2-systemd podman-systemd || rc=1
    echo "test-vm: systemd boot took $(($(date +%s) - t1)) s"
else
    echo "test-vm: skip the systemd boot (VM_SYSTEMD=0)"
fi
if [ "${VM_V1:-1}" = 1 ]; then
    t1=$(date +%s)
    "$HERE/boot.sh" -1 -t "${VM_TIMEOUT_V1:-900}" "$SHARE" env RUNTIME="$rt_in" PROBE="$probe_in" \
        bash "$vm_dir_in/in-vm.sh" cgroup-v1 || rc=1
    echo "test-vm: v1 boot took $(($(date +%s) - t1)) s"
else
    echo "test-vm: skip the cgroup v1 boot (VM_V1=0)"
fi
echo "test-vm: total $(($(date +%s) - t0)) s, $([ $rc = 0 ] && echo passed || echo FAILED)"
exit $rc
