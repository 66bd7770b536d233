# rootless.sh: sourced by run.sh when IT_ROOTLESS=1: the same suite with the runtime run by
# a normal user (IT_USER, made here with subordinate id ranges) through a wrapper, so every
# "$RUNTIME" of the tests is that user's; the tests themselves stay root, to look from outside.
# Tests that cannot apply to a normal user are listed with the reason in rootless.skip.
ensure_test_user || exit 2
command -v newuidmap >/dev/null || { echo "run.sh: rootless needs newuidmap (uidmap)" >&2; exit 2; }
command -v setpriv >/dev/null || { echo "run.sh: rootless needs setpriv (util-linux)" >&2; exit 2; }

chown "$IT_UID:$IT_GID" "$RUN_TMP"
IT_XDG=$RUN_TMP/xdg
mkdir -p "$IT_XDG" && chown "$IT_UID:$IT_GID" "$IT_XDG" && chmod 700 "$IT_XDG"
# The image as the user's container would have it: root's files are the user's, user 1000's
# are the subordinate id that container uid 1000 maps to.
chown -R "$IT_UID:$IT_GID" "$TEMPLATE_ROOTFS"
chown -R "$((IT_SUBUID + 999)):$((IT_SUBGID + 999))" "$TEMPLATE_ROOTFS/home/user"

RUNTIME_REAL=$RUNTIME
RUNTIME=$RUN_TMP/$RUNTIME_NAME
cat >"$RUNTIME" <<WRAP
#!/bin/sh
umask 022
exec setpriv --reuid=$IT_UID --regid=$IT_GID --clear-groups env XDG_RUNTIME_DIR=$IT_XDG "$RUNTIME_REAL" "\$@"
WRAP
chmod 755 "$RUNTIME"
export IT_ROOTLESS=1 IT_USER IT_UID IT_GID IT_SUBUID IT_SUBGID IT_XDG RUNTIME_REAL
