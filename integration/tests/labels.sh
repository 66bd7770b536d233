# LSM labels: SELinux labels are ignored (at debug level) on a host without SELinux; an AppArmor
# profile on a host without AppArmor is a clear error before anything is made.

test_selinux_label_ignored_without_selinux() {
    local b
    is_brick || skip "checks brick's debug log wording"
    [ -e /sys/fs/selinux/enforce ] && skip "this host runs SELinux: the VM suite checks labels"
    b=$(bundle_new)
    cfg "$b" '.process.selinuxLabel = "system_u:system_r:container_t:s0:c1,c2" | .linux.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"'
    run "$RUNTIME" --root "$STATE_ROOT" --debug --log "$T/log.json" --log-format json run -b "$b" "$(new_id)"
    assert_ok "a label is ignored, not an error, without SELinux"
    assert_contains "$(cat "$T/log.json")" 'process.selinuxLabel \"system_u:system_r:container_t:s0:c1,c2\" ignored'
    assert_contains "$(cat "$T/log.json")" 'linux.mountLabel'
    assert_jq "$out" '[.mounts[] | select(.mountpoint == "/dev") | .super[] | select(startswith("context="))] | length' 0 "no context= on /dev"
}

test_apparmor_profile_without_apparmor_fails() {
    local b id
    [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && skip "this host runs AppArmor"
    is_brick || skip "runc 1.1.5 ignores the profile when AppArmor is off"
    b=$(bundle_new)
    cfg "$b" '.process.apparmorProfile = "brick-test-profile"'
    id=$(new_id)
    run rt create -b "$b" "$id"
    assert_fail "an AppArmor profile on a host without AppArmor"
    assert_contains "$err" 'process.apparmorProfile "brick-test-profile": AppArmor is not enabled'
    run rt state "$id"
    assert_fail "no container is left"
}
