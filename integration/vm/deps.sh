#!/bin/bash
# deps.sh: install what building and booting the VM needs on a Debian 12 host (as root).
# qemu-system-x86 comes from bookworm-backports (the host's qemu-utils is the backports 10.0,
# which conflicts with bookworm's 7.2) through a private sources list: /etc/apt stays untouched.
set -u
VM_CACHE=${VM_CACHE:-/var/cache/brick-vm}
APT_DIR=$VM_CACHE/apt
BASE_PKGS="debootstrap e2fsprogs xz-utils cpio busybox-static kmod"
BPO_PKGS="qemu-system-x86 qemu-system-common qemu-system-data seabios"

missing() { for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | tr '\n' ' '; }

# shellcheck disable=SC2086 # one package a word, here and below
need_base=$(missing $BASE_PKGS)
# shellcheck disable=SC2086
need_bpo=$(missing $BPO_PKGS)
[ -z "${need_base// /}${need_bpo// /}" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
if [ -n "$need_base" ]; then
    echo "vm deps: installing $need_base" >&2
    # shellcheck disable=SC2086
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $need_base >/dev/null || exit 1
fi
if [ -n "$need_bpo" ]; then
    echo "vm deps: installing $need_bpo from bookworm-backports" >&2
    mkdir -p "$APT_DIR/lists/partial"
    # bookworm + backports in one private list, so dependencies resolve from both.
    cat >"$APT_DIR/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
SRC
    opts=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=/nonexistent
        -o "Dir::State::Lists=$APT_DIR/lists")
    apt-get "${opts[@]}" update -qq || exit 1
    # shellcheck disable=SC2046 # one package name a word
    apt-get "${opts[@]}" install -y -qq --no-install-recommends \
        $(for p in $need_bpo; do echo "$p/bookworm-backports"; done) >/dev/null || exit 1
fi
