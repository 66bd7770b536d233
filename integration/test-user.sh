# test-user.sh: sourced by the integration suite and the client suites (as root).
# ensure_test_user: the normal user rootless tests run the runtime as (IT_USER, default
# brick-it), made once with subordinate id ranges; sets IT_UID IT_GID IT_SUBUID IT_SUBGID.
ensure_test_user() {
    IT_USER=${IT_USER:-brick-it}
    if ! id "$IT_USER" >/dev/null 2>&1; then
        useradd --create-home --shell /bin/sh "$IT_USER" 2>/dev/null || id "$IT_USER" >/dev/null || return 1
    fi
    IT_UID=$(id -u "$IT_USER")
    IT_GID=$(id -g "$IT_USER")
    # useradd gives a new user subordinate ranges (SUB_UID_COUNT); one made otherwise gets one.
    if ! grep -q "^$IT_USER:" /etc/subuid || ! grep -q "^$IT_USER:" /etc/subgid; then
        usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$IT_USER" || return 1
    fi
    IT_SUBUID=$(awk -F: -v u="$IT_USER" '$1 == u { print $2; exit }' /etc/subuid)
    IT_SUBGID=$(awk -F: -v u="$IT_USER" '$1 == u { print $2; exit }' /etc/subgid)
    export IT_USER IT_UID IT_GID IT_SUBUID IT_SUBGID
}
