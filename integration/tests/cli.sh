# cli: --version, spec, features, --log, unknown verbs and flags.

test_version() {
    run "$RUNTIME" --version
    assert_ok
    assert_contains "$out" "version" "--version should print a version"
    assert_contains "$out" "spec: 1." "--version should name the spec version"
}

# _spec_to_runnable B: make a spec-generated config runnable non-interactively here.
_spec_to_runnable() {
    local b=$1
    cp -a "$TEMPLATE_ROOTFS" "$b/rootfs"
    cfg "$b" '.process.terminal = false | .process.args = ["/bin/probe", "report"]
              | .linux.cgroupsPath = $cg' --arg cg "$CG_PREFIX-$(basename "$b")"
}

test_spec_default() {
    local b="$T/spec1"
    mkdir -p "$b"
    (cd "$b" && rt spec)
    [ -f "$b/config.json" ] || _fail "spec did not write config.json in cwd"
    run jq -e '.ociVersion and .process.args and .root.path == "rootfs"' "$b/config.json"
    assert_ok "spec config lacks ociVersion/process.args/root.path"
    # brick's hardened default also gives the container its own cgroup namespace.
    local want="ipc,mount,network,pid,uts"
    [ "$RUNTIME_NAME" = brick ] && want="cgroup,ipc,mount,network,pid,uts"
    assert_jq "$(cat "$b/config.json")" '[.linux.namespaces[].type] | sort | join(",")' \
        "$want" "default spec namespaces"
    _spec_to_runnable "$b"
    report "$b"
    assert_jq "$out" .pid 1
}

test_spec_refuses_overwrite() {
    local b="$T/spec2"
    mkdir -p "$b"
    echo '{"keep":1}' >"$b/config.json"
    run rt spec --bundle "$b"
    assert_fail "spec must not overwrite an existing config.json"
    assert_eq '{"keep":1}' "$(cat "$b/config.json")"
}

test_spec_bundle_flag() {
    local b="$T/spec3"
    mkdir -p "$b"
    rt spec --bundle "$b"
    [ -f "$b/config.json" ] || _fail "spec --bundle did not write DIR/config.json"
    [ ! -f "$T/config.json" ] || _fail "spec --bundle wrote into cwd"
    _spec_to_runnable "$b"
    report "$b"
}

test_spec_rootless() {
    local b="$T/spec4"
    mkdir -p "$b"
    rt spec --rootless --bundle "$b"
    local c
    c=$(cat "$b/config.json")
    assert_jq "$c" '[.linux.namespaces[].type] | index("user") != null' true "rootless spec needs a user namespace"
    assert_jq "$c" '.linux.uidMappings | length > 0' true "rootless spec needs uidMappings"
    assert_jq "$c" '.linux.gidMappings | length > 0' true "rootless spec needs gidMappings"
    assert_jq "$c" '.linux.uidMappings[0].hostID' "${IT_UID:-$(id -u)}" "maps the caller's uid"
    _spec_to_runnable "$b"
    report "$b"
    assert_contains "$(jq_of "$out" .uid_map)" "0" "uid_map inside"
    assert_ne "$(readlink /proc/self/ns/user)" "user:[$(jq_of "$out" .ns.user)]" "no new user namespace"
}

test_features() {
    run rt features
    assert_ok
    jq -e . >/dev/null <<<"$out" || _fail "features is not JSON" "$out"
    assert_jq "$out" '.ociVersionMin | test("^1\\.")' true
    assert_jq "$out" '.ociVersionMax | test("^1\\.")' true
    assert_jq "$out" '[.linux.namespaces[]] | contains(["pid","mount","network","uts","ipc","user","cgroup"])' true \
        "features should list the namespaces"
    assert_jq "$out" '.mountOptions | contains(["ro","nosuid","nodev","noexec","bind","rbind"])' true \
        "features should list mount options"
    assert_jq "$out" '.hooks | contains(["prestart","createRuntime","createContainer","startContainer","poststart","poststop"])' true
}

test_log_json_on_error() {
    local b id
    b=$(bundle_new)
    rm -rf "$b/rootfs"
    id=$(new_id)
    run rt --log "$T/log.json" --log-format json create -b "$b" "$id"
    assert_fail "create with a missing rootfs should fail"
    [ -s "$T/log.json" ] || _fail "--log file is empty"
    local line
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        jq -e 'has("level") and has("msg") and has("time")' >/dev/null 2>&1 <<<"$line" ||
            _fail "log line is not JSON with level/msg/time" "line: $line"
    done <"$T/log.json"
    run jq -se 'map(select(.level == "error")) | length > 0' "$T/log.json"
    assert_ok "no level=error line in the log: $(cat "$T/log.json")"
}

test_log_text_file() {
    local b
    b=$(bundle_new)
    rm -rf "$b/rootfs"
    run rt --log "$T/log.txt" create -b "$b" "$(new_id)"
    assert_fail
    [ -s "$T/log.txt" ] || _fail "--log file is empty after an error"
}

test_unknown_verb_and_flag() {
    run rt no-such-verb
    assert_fail "unknown verb"
    run rt state --no-such-flag x
    assert_fail "unknown flag"
}
