#!/bin/sh
# bench.sh: install what the bench needs (Debian), then run bench.py for brick, crun and runc
# alike inside one private mount namespace whose /sys/fs/cgroup/unified is an empty tmpfs.
# Environment: BENCH_N, BENCH_ROUNDS, BENCH_SEQ, BENCH_PAR, BENCH_PODMAN_N, BENCH_CASES,
# BENCH_OUT, BRICK, CRUN, RUNC, BENCH_NO_PODMAN=1, BENCH_CGROUP_VIEW=hide|cover (README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root" >&2; exit 1; }

pkgs="runc crun busybox-static util-linux python3 gcc libc6-dev"
[ "${BENCH_NO_PODMAN:-0}" = 1 ] || pkgs="$pkgs podman conmon"
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
	echo "bench.sh: installing:" $missing >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
export BENCH_IN_NS=1 PYTHONDONTWRITEBYTECODE=1
export BENCH_CGROUP_VIEW="${BENCH_CGROUP_VIEW:-hide}"
# crun 1.8 refuses hybrid hosts, so every runtime sees the same v1-only view:
#   hide  (default): unmount the cgroup2 hierarchy in this namespace, then cover the empty
#                    mount point with a tmpfs (so nothing a runtime writes there reaches the
#                    host's /sys/fs/cgroup tmpfs);
#   cover:           only mount the tmpfs over it (the cgroup2 mount stays in mountinfo).
exec unshare -m --propagation private sh -c '
	set -e
	u=/sys/fs/cgroup/unified
	if [ -d "$u" ]; then
		if [ "$BENCH_CGROUP_VIEW" = hide ] && grep -q " $u .* - cgroup2 " /proc/self/mountinfo; then
			umount -l "$u"
		fi
		mount -t tmpfs -o mode=0755,size=1m bench-cgroup2-cover "$u"
	fi
	exec "$0" "$1"
' "$py" "$here/bench.py"
