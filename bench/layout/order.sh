#!/bin/bash
# order.sh BRICK OUT: single-step BRICK (an unstripped build) through the verbs a container's
# life uses and write the functions it ran, in address order, to OUT (a link order for lld).
# Root only. Needs gcc, busybox-static, jq; the podman fixture brings a seccomp profile.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
brick=$(readlink -f "$1")
out=$2
work=$(mktemp -d /tmp/brick-layout.XXXX)
trap 'for id in $(ls "$work/state" 2>/dev/null); do "$brick" --root "$work/state" delete --force "$id" >/dev/null 2>&1 || true; done; rm -rf --one-file-system "$work"' EXIT
gcc -O2 -o "$work/steptrace" "$here/steptrace.c"
mkdir -p "$work/b/rootfs/bin" "$work/b/rootfs/etc" "$work/b/rootfs/proc" "$work/b/rootfs/dev" "$work/b/rootfs/sys"
cp /bin/busybox "$work/b/rootfs/bin/"
for a in sh true sleep cat; do ln -s busybox "$work/b/rootfs/bin/$a"; done
(cd "$work/b" && "$brick" spec --runc-default)
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$work/b/config.json" >"$work/true.json"
jq '.process.args = ["/bin/sleep", "600"] | .process.terminal = false' "$work/b/config.json" >"$work/sleep.json"
# The podman fixture (as bench.py fills it in): an engine's config, seccomp profile included.
mkdir -p "$work/files/shm"
echo bench >"$work/files/hostname"; echo "127.0.0.1 localhost" >"$work/files/hosts"
echo 'engine="podman-4.3.1"' >"$work/files/.containerenv"
sed "s|@FILES@|$work/files|g" "$here/../fixtures/podman-config.json" |
    jq --arg r "$work/b/rootfs" '.root.path = $r | .process.args = ["/bin/true"]' >"$work/podman.json"
t() { "$work/steptrace" "$work/pcs" -- "$brick" --root "$work/state" "$@" >/dev/null; }
# create's init waits for start: trace create itself only (run covered the init's path).
tn() { "$work/steptrace" -n "$work/pcs" -- "$brick" --root "$work/state" "$@" >/dev/null; }
cfg() { cp "$work/$1.json" "$work/b/config.json"; }
cfg true;   t run -b "$work/b" r1
cfg sleep;  tn create -b "$work/b" c1; t start c1; t state c1; t list; t ps c1
t exec c1 /bin/true; t pause c1; t resume c1; t events --stats c1; t kill c1 KILL
sleep 0.2;  t delete c1
# The seccomp compile of a cold cache is left out (single-stepping libseccomp takes many
# minutes); the traced run loads the profile from the cache the untraced one filled.
cfg podman; "$brick" --root "$work/state" run -b "$work/b" p1 >/dev/null; t run -b "$work/b" p2
t spec --bundle "$work/b" >/dev/null 2>&1 || true
t features
# Offsets to the enclosing function (nm -n: sorted by address); mangled names, as lld wants.
nm -n --defined-only "$brick" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$work/syms"
python3 - "$work/syms" "$work/pcs" "$out" <<'PY'
import bisect, sys
syms = [(int(a, 16), n) for a, n in (l.split() for l in open(sys.argv[1]))]
addrs = [a for a, _ in syms]
hot = set()
for line in open(sys.argv[2]):
    i = bisect.bisect_right(addrs, int(line, 16)) - 1
    if i >= 0:
        hot.add(i)
with open(sys.argv[3], "w") as f:
    f.writelines(syms[i][1] + "\n" for i in sorted(hot))
PY
echo "order.sh: $(wc -l <"$out") functions from $(sort -u "$work/pcs" | wc -l) instruction addresses" >&2
