use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use libseccomp::ScmpAction;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};
use serde_json::json;

use super::*;

const PODMAN_LIKE: &str = include_str!("testdata/podman_like.json");

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("valid profile")
}

fn err_text(v: serde_json::Value) -> String {
    compile(&profile(v), None)
        .expect_err("must fail")
        .to_string()
}

/// The build environment compile() uses on this host, for keys computed by hand.
static ENV: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    build_environment(&kernel)
});

fn key(s: &LinuxSeccomp) -> [u8; 32] {
    cache::key(s, &ENV)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("brick-seccomp-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).expect("mkdir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        TempDir(p)
    }
    fn cache(&self) -> PathBuf {
        self.0.join("cache")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn actions_map_with_errno_defaults() {
    let m = |a, e| scmp_action(a, e, "x.errnoRet").expect("maps");
    assert_eq!(
        m(LinuxSeccompAction::ScmpActKill, None),
        ScmpAction::KillThread
    );
    assert_eq!(
        m(LinuxSeccompAction::ScmpActKillThread, None),
        ScmpAction::KillThread
    );
    assert_eq!(
        m(LinuxSeccompAction::ScmpActKillProcess, None),
        ScmpAction::KillProcess
    );
    assert_eq!(m(LinuxSeccompAction::ScmpActTrap, None), ScmpAction::Trap);
    assert_eq!(
        m(LinuxSeccompAction::ScmpActErrno, None),
        ScmpAction::Errno(libc::EPERM)
    );
    assert_eq!(
        m(LinuxSeccompAction::ScmpActErrno, Some(38)),
        ScmpAction::Errno(38)
    );
    assert_eq!(
        m(LinuxSeccompAction::ScmpActTrace, None),
        ScmpAction::Trace(1)
    );
    assert_eq!(
        m(LinuxSeccompAction::ScmpActTrace, Some(7)),
        ScmpAction::Trace(7)
    );
    assert_eq!(m(LinuxSeccompAction::ScmpActAllow, None), ScmpAction::Allow);
    assert_eq!(m(LinuxSeccompAction::ScmpActLog, None), ScmpAction::Log);
    assert_eq!(
        m(LinuxSeccompAction::ScmpActNotify, None),
        ScmpAction::Notify
    );
}

#[test]
fn errno_on_wrong_action_or_too_big_is_rejected() {
    let e = err_text(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_KILL"},
        {"names": ["getpid"], "action": "SCMP_ACT_LOG", "errnoRet": 1}]}));
    assert_eq!(
        e,
        "linux.seccomp.syscalls[1].errnoRet: action SCMP_ACT_LOG does not take an errno"
    );
    let e = err_text(json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 3}));
    assert_eq!(
        e,
        "linux.seccomp.defaultErrnoRet: action SCMP_ACT_ALLOW does not take an errno"
    );
    let e = err_text(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}));
    assert!(e.starts_with("linux.seccomp.defaultErrnoRet: 70000"), "{e}");
}

#[test]
fn every_operator_and_arch_compiles() {
    let ops = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    let rules: Vec<_> = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            json!({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": i + 1,
            "args": [{"index": i % 6, "value": 3, "valueTwo": 1, "op": op}]})
        })
        .collect();
    let p = compile(
        &profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})),
        None,
    )
    .expect("compiles");
    let native = p.filter.len();
    let archs = json!([
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_AARCH64"
    ]);
    let p = compile(
        &profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": archs,
            "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_TRAP"}]}),
        ),
        None,
    )
    .expect("compiles");
    assert!(p.filter.len() > 4, "{native} {}", p.filter.len());
}

#[test]
fn arg_index_out_of_range_and_repeated_args() {
    let e = err_text(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}));
    assert_eq!(
        e,
        "linux.seccomp.syscalls[0].args[0].index: argument index 6 is out of range 0..=5"
    );
    // Two comparisons on one argument become two rules instead of a libseccomp error.
    compile(
        &profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}]})),
        None,
    )
    .expect("compiles");
}

#[test]
fn unknown_syscalls_are_skipped_and_default_action_rules_ignored() {
    let p = compile(
        &profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "brick_no_such_call"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["write"], "action": "SCMP_ACT_ERRNO"}]})),
        None,
    )
    .expect("compiles");
    assert_eq!(p.skipped, vec!["brick_no_such_call".to_string()]);
    assert_eq!(p.cache, CacheStatus::Disabled);
}

#[test]
fn notify_rules() {
    let e = err_text(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}));
    assert_eq!(
        e,
        "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used"
    );
    let e = err_text(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/a.sock"}));
    assert!(
        e.starts_with("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot"),
        "{e}"
    );
    let e = err_text(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
        "syscalls": [{"names": ["mkdir", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    assert!(
        e.starts_with(
            r#"linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be used for "sendmsg""#
        ),
        "{e}"
    );
    let p = compile(
        &profile(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
            "listenerMetadata": "m", "flags": ["SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        ),
        None,
    )
    .expect("compiles");
    let want = libc::SECCOMP_FILTER_FLAG_TSYNC
        | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
        | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    assert_eq!(p.flags, want as u32);
    let target = p.notify.expect("notify target");
    assert_eq!(target.listener_path, PathBuf::from("/run/a.sock"));
    assert_eq!(target.metadata.as_deref(), Some("m"));
}

#[test]
fn flags_without_listener() {
    let s = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [
        "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}));
    let want = libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    assert_eq!(load_flags(&s, false), want as u32);
}

#[test]
fn cache_key_is_stable_and_content_addressed() {
    let a = profile(serde_json::from_str(PODMAN_LIKE).expect("fixture"));
    // Same content, different formatting and key order, must give the same key.
    let text = r#"{ "syscalls": [ {"action":"SCMP_ACT_ALLOW","names":["read"]} ],
        "defaultAction": "SCMP_ACT_ERRNO" }"#;
    let b1: LinuxSeccomp = serde_json::from_str(text).expect("parse");
    let b2 = profile(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(key(&b1), key(&b2));
    assert_eq!(key(&a), key(&a.clone()));
    assert_ne!(key(&a), key(&b1));
    let b3 = profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}),
    );
    assert_ne!(key(&b1), key(&b3));
}

#[test]
fn cache_entries_are_never_shared_between_builds() {
    let s = profile(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}));
    // The build id is version + commit + a hash of the compiler's sources (build.rs).
    let parts: Vec<&str> = cache::BUILD_ID.split('+').collect();
    assert_eq!(parts.len(), 3, "{}", cache::BUILD_ID);
    assert_eq!(parts[0], env!("CARGO_PKG_VERSION"));
    assert!(parts[2].len() == 16 && parts[2].bytes().all(|b| b.is_ascii_hexdigit()));
    let old = cache::key_for_build(&s, "0.1.0+1111111+00112233aabbccdd", &ENV);
    let new = cache::key_for_build(&s, "0.1.0+2222222+00112233aabbccdd", &ENV);
    let edited = cache::key_for_build(&s, "0.1.0+1111111+ffeeddcc00112233", &ENV);
    assert_ne!(old, new, "another commit must not share the entry");
    assert_ne!(
        old, edited,
        "edited compiler sources must not share the entry"
    );
    assert_eq!(key(&s), cache::key_for_build(&s, cache::BUILD_ID, &ENV));
    // An entry written by the old build, read by the new one: a different file, and even
    // renamed into place its header's key does not match.
    let tmp = TempDir::new();
    let dir = tmp.cache();
    let entry = cache::Entry {
        bpf: vec![0; 8],
        skipped: Vec::new(),
    };
    cache::store(&dir, &old, &entry).expect("store");
    assert!(matches!(cache::load(&dir, &new), Ok(None)));
    let bytes = cache::encode(&old, &entry);
    assert_eq!(
        cache::decode(&bytes, &new).err().as_deref(),
        Some("key mismatch")
    );
}

fn entry_path(dir: &std::path::Path, s: &LinuxSeccomp) -> PathBuf {
    let key = key(s);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.bpf"))
}

#[test]
fn cache_round_trip_and_tamper_rejection() {
    let tmp = TempDir::new();
    let dir = tmp.cache();
    let s = profile(serde_json::from_str(PODMAN_LIKE).expect("fixture"));
    let first = compile(&s, Some(&dir)).expect("compile");
    assert_eq!(first.cache, CacheStatus::Stored);
    let meta = std::fs::metadata(&dir).expect("dir");
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    let path = entry_path(&dir, &s);
    assert_eq!(
        std::fs::metadata(&path)
            .expect("entry")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let hit = compile(&s, Some(&dir)).expect("hit");
    assert_eq!(hit.cache, CacheStatus::Hit);
    assert_eq!(hit.bpf_bytes(), first.bpf_bytes());
    assert_eq!(hit.skipped, first.skipped);

    // Flip one payload byte: the hash check must catch it and the entry be rewritten.
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    let again = compile(&s, Some(&dir)).expect("recompile");
    assert!(
        matches!(again.cache, CacheStatus::Rejected { ref reason } if reason.contains("hash")),
        "{:?}",
        again.cache
    );
    assert_eq!(again.bpf_bytes(), first.bpf_bytes());
    assert_eq!(
        compile(&s, Some(&dir)).expect("hit").cache,
        CacheStatus::Hit
    );

    // Group-writable entry.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o620)).expect("chmod");
    let r = compile(&s, Some(&dir)).expect("recompile");
    assert!(
        matches!(r.cache, CacheStatus::Rejected { ref reason } if reason.contains("writable")),
        "{:?}",
        r.cache
    );
    assert_eq!(
        compile(&s, Some(&dir)).expect("hit").cache,
        CacheStatus::Hit
    );

    // Truncated entry.
    std::fs::write(&path, &std::fs::read(&path).expect("read")[..50]).expect("write");
    let r = compile(&s, Some(&dir)).expect("recompile");
    assert!(
        matches!(r.cache, CacheStatus::Rejected { .. }),
        "{:?}",
        r.cache
    );

    // An entry under another key's name (swapped file) fails the key check.
    let other = profile(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    compile(&other, Some(&dir)).expect("store other");
    std::fs::copy(entry_path(&dir, &other), &path).expect("copy");
    let r = compile(&s, Some(&dir)).expect("recompile");
    assert!(
        matches!(r.cache, CacheStatus::Rejected { ref reason } if reason.contains("key")),
        "{:?}",
        r.cache
    );

    // A symlink in place of the entry is not followed.
    std::fs::remove_file(&path).expect("rm");
    std::os::unix::fs::symlink(entry_path(&dir, &other), &path).expect("symlink");
    let r = compile(&s, Some(&dir)).expect("recompile");
    assert!(
        matches!(r.cache, CacheStatus::Rejected { .. }),
        "{:?}",
        r.cache
    );
    assert_eq!(
        compile(&s, Some(&dir)).expect("hit").cache,
        CacheStatus::Hit
    );

    // A world-writable cache directory is not used at all.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let r = compile(&s, Some(&dir)).expect("compile");
    assert!(
        matches!(r.cache, CacheStatus::Unusable { .. }),
        "{:?}",
        r.cache
    );
}

#[test]
fn cache_rejects_foreign_owner() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let tmp = TempDir::new();
    let dir = tmp.cache();
    let s = profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
    compile(&s, Some(&dir)).expect("store");
    let path = entry_path(&dir, &s);
    std::os::unix::fs::chown(&path, Some(1000), None).expect("chown");
    let r = compile(&s, Some(&dir)).expect("recompile");
    assert!(
        matches!(r.cache, CacheStatus::Rejected { ref reason } if reason.contains("uid")),
        "{:?}",
        r.cache
    );
    assert_eq!(
        compile(&s, Some(&dir)).expect("hit").cache,
        CacheStatus::Hit
    );
    std::os::unix::fs::chown(&dir, Some(1000), None).expect("chown dir");
    let r = compile(&s, Some(&dir)).expect("compile");
    assert!(
        matches!(r.cache, CacheStatus::Unusable { .. }),
        "{:?}",
        r.cache
    );
}
