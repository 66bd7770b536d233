#!/bin/sh
# demo.sh BRICK DIR: make a busybox rootfs in DIR, write brick's hardened config, run it.
set -eu
brick=$(readlink -f "$1")
dir=$2
rm -rf "$dir"
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/tmp"
cp /bin/busybox "$dir/rootfs/bin/busybox"
chroot "$dir/rootfs" /bin/busybox --install -s /bin
echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/rootfs/etc/passwd"
echo 'root:x:0:' > "$dir/rootfs/etc/group"
cd "$dir"
"$brick" spec
# Show what the container sees: who it is, what it may do, whether it can write its root.
script='echo "hello from a brick container"; id; hostname
grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status
touch /etc/x 2>/dev/null && echo "root is writable" || echo "root is read-only"
cat /proc/kcore 2>/dev/null | head -c1 | wc -c | sed "s/^/bytes readable from masked \/proc\/kcore: /"'
jq --arg s "$script" '.process.args = ["sh", "-c", $s]' config.json > config.json.new
mv config.json.new config.json
echo "--- brick run (bundle $PWD)"
"$brick" --root "$PWD/state" run "demo-$$"
