# The bundle binds a procfs of another pid namespace (the host's /proc) at /proc: pid 1 there is the host's init, not the container's, so procfs writes must name the calling thread as that procfs numbers it, never /proc/<getpid()>.

# Run in a nested pid namespace with its own /proc, so "the host's pid 1" is this test's
# shell and never the machine's real init.
test_sec_procfs_writes_reach_only_the_container() {
    local b
    b=$(bundle_new)
    cfg "$b" '.mounts |= map(if .destination == "/proc" then {"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]} else . end)
        | .linux.maskedPaths = [] | .linux.readonlyPaths = [] | .process.oomScoreAdj = 500'
    args "$b" /bin/probe report
    echo "+ nested pid namespace: $RUNTIME run" >&3
    unshare --pid --fork --mount --mount-proc sh -c '
        echo 0 >/proc/self/oom_score_adj
        "$1" --root "$2" run -b "$3" "$4" >"$5/nested.out" 2>"$5/nested.err"
        echo $? >"$5/nested.rc"
        cat /proc/1/oom_score_adj >"$5/pid1.adj"
    ' sh "$RUNTIME" "$STATE_ROOT" "$b" "$(new_id)" "$T"
    sed 's/^/+ stderr: /' "$T/nested.err" >&3
    assert_eq 0 "$(cat "$T/nested.rc")" "the container should run"
    assert_eq 0 "$(cat "$T/pid1.adj")" "oomScoreAdj was written to pid 1 of the bound procfs, not to the container"
    assert_jq "$(cat "$T/nested.out")" .oom_score_adj 500 "the container's own oom_score_adj"
}
