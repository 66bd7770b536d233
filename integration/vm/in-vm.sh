#!/bin/bash
# in-vm.sh SUITE...: run inside the test VM (boot.sh starts it from the shared repo): each SUITE
# is one integration/run.sh run with integration/vm/tests added; then one summary line.
# Suites: cgroup-v2, cgroup-v1, security, selinux, systemd (the systemd boot; put selinux last: it ends with the AVC check
# over everything this boot ran). RUNTIME and PROBE as for run.sh.
set -u
VM_DIR=$(cd "$(dirname "$0")" && pwd)
IT=$(cd "$VM_DIR/.." && pwd)
export IT_EXTRA_TESTS=$VM_DIR/tests
# TCG emulation is several times slower than the host.
export TEST_TIMEOUT=${TEST_TIMEOUT:-240}

# tests/cgroups.sh tests that hold on any host; the others assert v1 files (memory.limit_in_bytes,
# devices.list, freezer.state, ...) and are covered on v2 by tests/cgroups_v2.sh.
V2_SHARED='ns_cgroup|ns_cgroup_absent_shows_host_paths|dev_cgroup_denies_unlisted|exec_joins_namespaces_and_cgroup|mount_cgroup'
V2_SHARED="$V2_SHARED|cgroup_(zero_limits_are_unset|paused_delete_force|ps|events_stats|events_stream_oom"
V2_SHARED="$V2_SHARED|kill_all_signals_every_process|impossible_cpuset|devices_deny_inside_wildcard|network"
V2_SHARED="$V2_SHARED|delete_with_busy_subcgroup)"

pass=0 fail=0 skipped=0
failed_suites=()

# add_counts LINE: add "N passed, N failed[, N skipped]" to the totals.
add_counts() {
    local p f s
    p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$1")
    f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$1")
    s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$1")
    pass=$((pass + ${p:-0}))
    fail=$((fail + ${f:-0}))
    skipped=$((skipped + ${s:-0}))
}

# suite NAME PATTERN: one run.sh run (see client).
suite() {
    client "$1" bash "$IT/run.sh" "$2"
}

# client NAME CMD...: one runner (run.sh, or a client suite: the same output form); its output
# streams, its summary line is counted, and a run with no test in it is a failure.
client() {
    local name=$1 log start rc summary
    shift
    log=$(mktemp /tmp/brick-vm-suite.XXXX)
    start=$(date +%s)
    echo "== suite $name ($*)"
    "$@" | tee "$log"
    rc=${PIPESTATUS[0]}
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$summary" ]; then
        echo "suite $name: exited $rc without a summary"
        fail=$((fail + 1))
        summary="(no summary)"
    elif [ "$(grep -cE '^(ok|FAIL|skip) ' "$log")" = 0 ]; then
        echo "suite $name: no test ran"
        fail=$((fail + 1))
    else
        add_counts "$summary"
    fi
    [ "$rc" = 0 ] || failed_suites+=("$name")
    echo "== suite $name: $summary in $(($(date +%s) - start)) s"
    rm -f "$log"
}

# not_run NAME... WHY: tests this VM does not run, each reported as skipped with the reason.
not_run() {
    local why=${*: -1} t
    for t in "${@:1:$#-1}"; do
        echo "skip $t ($why)"
        skipped=$((skipped + 1))
    done
}

echo "vm: $(uname -r), SELinux $(getenforce), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)," \
    "controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || echo /sys/fs/cgroup/* | sed 's|/sys/fs/cgroup/||g')"
for s in "$@"; do
    case $s in
    cgroup-v2)
        suite cgroup-v2 "^test_(cgv2_.*|rootless_.*|($V2_SHARED))\$"
        # shellcheck disable=SC2046 # one name a word
        not_run $(grep -oE '^test_cgroup_[a-z0-9_]+' "$IT/tests/cgroups.sh" | grep -vxE "test_($V2_SHARED)") \
            "asserts v1 cgroup files; on v2 tests/cgroups_v2.sh covers it"
        ;;
    cgroup-v1) suite cgroup-v1 '^test_(cgroup_|cgv2_|ns_cgroup|dev_cgroup_)' ;;
    security) suite security '^test_sec_' ;;
    selinux) suite selinux '^test_selinux_' ;;
    systemd) suite systemd '^test_systemd_' ;;
    # The v2 cgroup tests again, every container under the systemd driver (IT_SYSTEMD).
    # podman as a systemd host runs it: its systemd cgroup manager, SELinux labels on.
    podman-systemd) client podman-systemd env PODMAN_CGROUP_MANAGER=systemd bash "$IT/clients/podman.sh" ;;
    cgroup-v2-systemd)
        export IT_SYSTEMD=1
        suite cgroup-v2-systemd '^test_cgv2_'
        unset IT_SYSTEMD
        ;;
    *)
        echo "in-vm.sh: unknown suite $s"
        fail=$((fail + 1))
        ;;
    esac
done
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "vm: $pass passed, $fail failed, $skipped skipped"
[ $fail = 0 ] && [ ${#failed_suites[@]} = 0 ]
