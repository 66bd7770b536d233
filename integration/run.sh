#!/bin/bash
# run.sh [PATTERN]: run brick's black-box integration suite (as root).
# IT_ROOTLESS=1: the rootless pass, the runtime run by a normal user (rootless.sh); tests in
# rootless.skip are reported skipped with the reason given there.
# RUNTIME=/path/to/runtime picks the runtime (default ../target/release/brick); each test_*
# function of tests/*.sh and security/*.sh (one file per attack) whose name matches PATTERN
# (grep -E) runs in its own bash with a fresh temp dir and state root, then a leak check; a
# leak is a failure.
# TEST_TIMEOUT (seconds, default 60) bounds each test. IT_EXTRA_TESTS names more directories of
# *.sh test files (space separated), run after those (integration/vm/tests in the VM suite).
set -u
IT_DIR=$(cd "$(dirname "$0")" && pwd)
RUNTIME=${RUNTIME:-$IT_DIR/../target/release/brick}
RUNTIME=$(readlink -f "$RUNTIME")
RUNTIME_NAME=$(basename "$RUNTIME")
PATTERN=${1:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
PROBE=${PROBE:-$IT_DIR/probe/target/x86_64-unknown-linux-gnu/release/probe}

[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root" >&2; exit 2; }
[ -x "$RUNTIME" ] || { echo "run.sh: runtime not found: $RUNTIME" >&2; exit 2; }
for t in jq unshare timeout; do
    command -v $t >/dev/null || { echo "run.sh: needs $t" >&2; exit 2; }
done
if [ ! -x "$PROBE" ]; then
    echo "building probe..." >&2
    (cd "$IT_DIR/probe" && CARGO_TARGET_DIR="$IT_DIR/probe/target" RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --target x86_64-unknown-linux-gnu >&2) || exit 2
fi

RUN_TMP=$(mktemp -d /tmp/brick-it.XXXX)
chmod 755 "$RUN_TMP"
RUNID=${RUN_TMP##*.}
TEMPLATE_ROOTFS=$RUN_TMP/rootfs-template
PROBE=$PROBE "$IT_DIR/rootfs.sh" "$TEMPLATE_ROOTFS" || exit 2
export IT_DIR RUNTIME RUNTIME_NAME RUN_TMP RUNID TEMPLATE_ROOTFS PROBE

# shellcheck source=lib.sh
. "$IT_DIR/lib.sh"
RUNTIME_REAL=$RUNTIME
# shellcheck source=rootless.sh
[ -n "${IT_ROOTLESS:-}" ] && { . "$IT_DIR/rootless.sh" || exit 2; }
export RUNTIME_REAL

test_files=("$IT_DIR"/tests/*.sh "$IT_DIR"/security/*.sh)
for d in ${IT_EXTRA_TESTS:-}; do
    [ -d "$d" ] || { echo "run.sh: no test directory $d" >&2; exit 2; }
    test_files+=("$(cd "$d" && pwd)"/*.sh)
done
IT_TEST_FILES=$(printf '%s\n' "${test_files[@]}")
export IT_TEST_FILES

# Test names in file order, then definition order within a file.
tests=()
for f in "${test_files[@]}"; do
    while read -r name; do
        tests+=("$name")
    done < <(grep -oE '^test_[A-Za-z0-9_]+ *\(\)' "$f" | sed 's/ *()//')
done

pass=0 fail=0 skipped=0 idx=0
failed_names=()
for name in "${tests[@]}"; do
    if [ -n "$PATTERN" ] && ! echo "$name" | grep -qE -- "$PATTERN"; then
        continue
    fi
    idx=$((idx + 1))
    if [ -n "${IT_ROOTLESS:-}" ] && reason=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print; f = 1 } END { exit !f }' "$IT_DIR/rootless.skip"); then
        echo "skip $name (rootless: $reason)"
        skipped=$((skipped + 1))
        continue
    fi
    T=$RUN_TMP/t$idx
    STATE_ROOT=$T/state
    CG_PREFIX=/brick-it.$RUNID/t$idx
    TEST_NAME=$name
    TEST_IDX=$idx
    mkdir -p "$T"
    # Rootless, the runtime (and the hooks it runs) write the state root and outputs here.
    [ -n "${IT_ROOTLESS:-}" ] && chown "$IT_UID:$IT_GID" "$T"
    export T STATE_ROOT CG_PREFIX TEST_NAME TEST_IDX
    timeout -k 5 "$TEST_TIMEOUT" bash -c '
        set -eE -o pipefail
        # Rootless, what the (root) test makes for the runtime must be the user'\''s to use too.
        [ -z "${IT_ROOTLESS:-}" ] || umask 0
        trap '\''echo "FAILED COMMAND (exit $?): $BASH_COMMAND" >&3'\'' ERR
        . "$IT_DIR/lib.sh"
        while read -r f; do . "$f"; done <<<"$IT_TEST_FILES"
        cd "$T"
        "$TEST_NAME"
    ' >"$T/.log" 2>&1 3>&1 </dev/null
    rc=$?
    [ $rc = 124 ] && echo "TIMEOUT after ${TEST_TIMEOUT}s" >>"$T/.log"
    leak_check >>"$T/.log" 2>&1 || rc=1
    if [ $rc = 0 ]; then
        echo "ok $name"
        pass=$((pass + 1))
    elif [ $rc = 77 ]; then
        echo "skip $name ($(cat "$T/.skip" 2>/dev/null))"
        skipped=$((skipped + 1))
    else
        echo "FAIL $name"
        sed 's/^/    /' "$T/.log"
        fail=$((fail + 1))
        failed_names+=("$name")
    fi
    cleanup_test >/dev/null 2>&1
done

# Per-run cgroup parents and the template.
for d in /sys/fs/cgroup/*/brick-it."$RUNID" /sys/fs/cgroup/brick-it."$RUNID"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done
if grep -qF -- "$RUN_TMP" /proc/self/mountinfo; then
    echo "WARNING: mounts remain under $RUN_TMP; left it in place" >&2
else
    rm -rf --one-file-system "$RUN_TMP"
fi

[ $fail -gt 0 ] && echo "failed: ${failed_names[*]}"
summary="$pass passed, $fail failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ $fail = 0 ]
