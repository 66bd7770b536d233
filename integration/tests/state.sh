# state: the state JSON, list, and --root isolation.

test_state_json_fields() {
    local b id pid
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    cfg "$b" '.annotations = {"org.example.key": "value-1", "second": "2"}'
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    run state_of "$id"
    assert_ok
    assert_jq "$out" '.ociVersion | test("^1\\.")' true "state ociVersion should be 1.x"
    assert_jq "$out" .id "$id"
    assert_jq "$out" .status created
    assert_jq "$out" '.pid | type' number
    assert_jq "$out" .bundle "$b" "state bundle should be the absolute bundle path"
    assert_jq "$out" '.annotations["org.example.key"]' value-1
    assert_jq "$out" '.annotations.second' 2
    pid=$(jq_of "$out" .pid)
    rt start "$id"
    run state_of "$id"
    assert_jq "$out" .status running
    assert_jq "$out" .pid "$pid"
    rt kill "$id" KILL
    wait_status "$id" stopped
    run state_of "$id"
    assert_jq "$out" .status stopped
    assert_jq "$out" .id "$id"
    rt delete "$id"
}

test_state_relative_bundle() {
    # A relative --bundle is recorded as an absolute path.
    local b id
    b=$(bundle_new rel)
    id=$(new_id)
    (cd "$T" && rt create -b rel "$id" >"$T/c.out" 2>&1)
    assert_eq "$T/rel" "$(state_of "$id" | jq -r .bundle)" "bundle should be absolute"
    rt delete --force "$id"
}

test_state_bundle_default_cwd() {
    # Without --bundle the bundle is the current directory.
    local b id
    b=$(bundle_new cwdb)
    id=$(new_id)
    (cd "$b" && rt create "$id" >"$T/c.out" 2>&1)
    assert_eq "$b" "$(state_of "$id" | jq -r .bundle)"
    rt delete --force "$id"
}

test_state_unknown_id() {
    run rt state does-not-exist
    assert_fail "state of an unknown id should fail"
}

test_list_formats() {
    local b b2 id1 id2
    b=$(bundle_new)
    b2=$(bundle_new)
    args "$b" /bin/probe sleep 30
    args "$b2" /bin/probe sleep 30
    id1=$(new_id)
    id2=$(new_id)
    rt create -b "$b" "$id1" >"$T/c1.out" 2>&1
    rt run -d -b "$b2" "$id2" >"$T/c2.out" 2>&1
    run rt list
    assert_ok
    local header
    header=$(head -1 <<<"$out")
    for col in ID PID STATUS BUNDLE CREATED OWNER; do
        assert_contains "$header" "$col" "list table header lacks $col"
    done
    assert_contains "$out" "$id1"
    assert_contains "$(echo "$out" | grep -w "$id1")" created
    assert_contains "$(echo "$out" | grep -w "$id2")" running
    run rt list --format json
    assert_ok
    assert_jq "$out" 'type' array
    assert_jq "$out" 'length' 2
    assert_jq "$out" ".[] | select(.id == \"$id1\") | .status" created
    assert_jq "$out" ".[] | select(.id == \"$id2\") | .status" running
    assert_jq "$out" ".[] | select(.id == \"$id2\") | .bundle" "$b2"
    run rt list -q
    assert_ok
    assert_eq "$(printf '%s\n%s' "$id1" "$id2" | sort)" "$(echo "$out" | sort)" "list -q should print only the ids"
    rt delete --force "$id1"
    rt delete --force "$id2"
}

test_root_isolates_state() {
    local b id r2="$T/state2"
    b=$(bundle_new)
    args "$b" /bin/probe sleep 30
    id=$(new_id)
    rt create -b "$b" "$id" >"$T/c.out" 2>&1
    run rt_root "$r2" state "$id"
    assert_fail "another --root must not see the container"
    run rt_root "$r2" list -q
    assert_eq "" "$out" "another --root lists nothing"
    # The same id can exist in another root.
    local b2
    b2=$(bundle_new)
    rt_root "$r2" create -b "$b2" "$id" >"$T/c2.out" 2>&1
    [ -d "$STATE_ROOT/$id" ] || [ -n "$(ls -A "$STATE_ROOT")" ] || _fail "state not under --root $STATE_ROOT"
    [ -n "$(ls -A "$r2")" ] || _fail "state not under --root $r2"
    rt delete --force "$id"
    rt_root "$r2" delete --force "$id"
}
