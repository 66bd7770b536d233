//! The init's and exec's order and failure handling, through a recording fake of the seam.

use super::credentials;
use super::exec_flow;
use super::init_flow;
use super::stage::StageError;
use super::steps::{Common, ExecSteps, InitSteps, Step};
use crate::host_facts::HostFacts;
use crate::plan::exec::{ExecInputs, ExecOptions, ExecPlan};
use crate::plan::process::{CapSets, ProcessPlan};
use crate::plan::LaunchPlan;
use std::convert::Infallible;
use std::ffi::CString;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
struct Injected;

/// Records each step by name; fails the one named in `fail_at`.
#[derive(Default)]
struct Recorder {
    calls: Vec<&'static str>,
    fail_at: Option<&'static str>,
}

impl Recorder {
    fn failing_at(step: &'static str) -> Self {
        Recorder {
            calls: Vec::new(),
            fail_at: Some(step),
        }
    }

    fn step(&mut self, name: &'static str) -> Step {
        self.calls.push(name);
        match self.fail_at == Some(name) {
            true => Err(Injected.into()),
            false => Ok(()),
        }
    }

    fn pos(&self, name: &str) -> usize {
        let all: Vec<usize> = (0..self.calls.len())
            .filter(|i| self.calls[*i] == name)
            .collect();
        assert_eq!(
            all.len(),
            1,
            "{name} taken {} times: {:?}",
            all.len(),
            self.calls
        );
        all[0]
    }

    fn positions(&self, name: &str) -> Vec<usize> {
        (0..self.calls.len())
            .filter(|i| self.calls[*i] == name)
            .collect()
    }

    fn before(&self, a: &str, b: &str) -> bool {
        self.pos(a) < self.pos(b)
    }
}

impl Common for Recorder {
    fn join_cgroup(&mut self) -> Step {
        self.step("join_cgroup")
    }
    fn open_procfs(&mut self, _needed: bool) -> Step {
        self.step("open_procfs")
    }
    fn write_oom_score_adj(&mut self, _adj: Option<i32>) -> Step {
        self.step("write_oom_score_adj")
    }
    fn label_keyring(&mut self) -> Step {
        self.step("label_keyring")
    }
    fn join_session_keyring(&mut self) -> Step {
        self.step("join_session_keyring")
    }
    fn set_rlimits(&mut self) -> Step {
        self.step("set_rlimits")
    }
    fn apply_labels(&mut self) -> Step {
        self.step("apply_labels")
    }
    fn close_procfs(&mut self) -> Step {
        self.step("close_procfs")
    }
    fn cloexec_from(&mut self, _first: u32) -> Step {
        self.step("cloexec_from")
    }
    fn resolve_exe(&mut self, _p: &ProcessPlan) -> Step<CString> {
        self.step("resolve_exe")?;
        Ok(CString::from(c"/bin/true"))
    }
    fn default_sigpipe(&mut self) -> Step {
        self.step("default_sigpipe")
    }
    fn load_seccomp(&mut self) -> Step {
        self.step("load_seccomp")
    }
    fn drop_bounding(&mut self, _caps: &CapSets) -> Step {
        self.step("drop_bounding")
    }
    fn switch_user(&mut self, _uid: u32, _gid: u32, _groups: &[u32]) -> Step {
        self.step("switch_user")
    }
    fn credentials_changed(&mut self) -> Step {
        self.step("credentials_changed")
    }
    fn apply_caps(&mut self, _caps: &CapSets) -> Step {
        self.step("apply_caps")
    }
    fn enter_cwd(&mut self, _cwd: &Path) -> Step {
        self.step("enter_cwd")
    }
    fn set_umask(&mut self, _umask: Option<u32>) {
        self.calls.push("set_umask");
    }
    fn set_no_new_privs(&mut self) -> Step {
        self.step("set_no_new_privs")
    }
    fn before_exec(&mut self) -> Step {
        self.step("before_exec")
    }
    fn exec(&mut self, _exe: &CString, _p: &ProcessPlan) -> Step<Infallible> {
        self.step("exec")?;
        // A real execve does not return; the fake stops the sequence here.
        Err(Injected.into())
    }
}

impl InitSteps for Recorder {
    fn close_inherited_fds(&mut self) -> Step {
        self.step("close_inherited_fds")
    }
    fn arm_parent_death(&mut self) -> Step {
        self.step("arm_parent_death")
    }
    fn disarm_parent_death(&mut self) -> Step {
        self.step("disarm_parent_death")
    }
    fn set_not_dumpable(&mut self) -> Step {
        self.step("set_not_dumpable")
    }
    fn wait_go(&mut self) -> Step<i32> {
        self.step("wait_go").map(|()| 42)
    }
    fn join_namespaces(&mut self) -> Step {
        self.step("join_namespaces")
    }
    fn become_ns_root(&mut self) -> Step {
        self.step("become_ns_root")
    }
    fn prepare_mounts(&mut self) -> Step {
        self.step("prepare_mounts")
    }
    fn report_mounted(&mut self) -> Step {
        self.step("report_mounted")
    }
    fn wait_joined(&mut self) -> Step {
        self.step("wait_joined")
    }
    fn new_cgroupns(&mut self) -> Step {
        self.step("new_cgroupns")
    }
    fn new_ipcns(&mut self) -> Step {
        self.step("new_ipcns")
    }
    fn prepare_rest_mounts(&mut self) -> Step {
        self.step("prepare_rest_mounts")
    }
    fn create_container_hooks(&mut self) -> Step {
        self.step("create_container_hooks")
    }
    fn enter_root(&mut self) -> Step {
        self.step("enter_root")
    }
    fn ensure_cwd(&mut self, _cwd: &Path) -> Step {
        self.step("ensure_cwd")
    }
    fn setup_console(&mut self) -> Step {
        self.step("setup_console")
    }
    fn set_names(&mut self) -> Step {
        self.step("set_names")
    }
    fn write_sysctls(&mut self) -> Step {
        self.step("write_sysctls")
    }
    fn finalize_rootfs(&mut self) -> Step {
        self.step("finalize_rootfs")
    }
    fn send_ready(&mut self) -> Step {
        self.step("send_ready")
    }
    fn wait_start(&mut self) -> Step {
        self.step("wait_start")
    }
}

/// The exec trait's wait_go has another signature than the init's; this fake serves both.
struct ExecRecorder(Recorder);

impl std::ops::Deref for ExecRecorder {
    type Target = Recorder;
    fn deref(&self) -> &Recorder {
        &self.0
    }
}

macro_rules! delegate_common {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Common for ExecRecorder {
            $(fn $name(&mut self, $($arg: $ty),*) -> $ret { self.0.$name($($arg),*) })*
        }
    };
}

delegate_common! {
    join_cgroup() -> Step;
    open_procfs(needed: bool) -> Step;
    write_oom_score_adj(adj: Option<i32>) -> Step;
    label_keyring() -> Step;
    join_session_keyring() -> Step;
    set_rlimits() -> Step;
    apply_labels() -> Step;
    close_procfs() -> Step;
    cloexec_from(first: u32) -> Step;
    resolve_exe(p: &ProcessPlan) -> Step<CString>;
    default_sigpipe() -> Step;
    load_seccomp() -> Step;
    drop_bounding(caps: &CapSets) -> Step;
    switch_user(uid: u32, gid: u32, groups: &[u32]) -> Step;
    credentials_changed() -> Step;
    apply_caps(caps: &CapSets) -> Step;
    enter_cwd(cwd: &Path) -> Step;
    set_umask(umask: Option<u32>) -> ();
    set_no_new_privs() -> Step;
    before_exec() -> Step;
    exec(exe: &CString, p: &ProcessPlan) -> Step<Infallible>;
}

impl ExecSteps for ExecRecorder {
    fn wait_go(&mut self) -> Step {
        self.0.step("wait_go")
    }
    fn enter_cwd_checked(&mut self, _cwd: &Path) -> Step {
        self.0.step("enter_cwd_checked")
    }
    fn attach_console(&mut self) -> Step {
        self.0.step("attach_console")
    }
}

fn launch_plan(extra: serde_json::Value) -> LaunchPlan {
    let mut spec = serde_json::json!({
        "ociVersion": "1.0.2", "root": {"path": "rootfs"},
        "process": {"cwd": "/", "args": ["/bin/true"], "user": {"uid": 1000, "gid": 1000},
                    "noNewPrivileges": true},
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}
    });
    merge(&mut spec, extra);
    let bundle = crate::bundle::Bundle {
        dir: "/b".into(),
        spec: serde_json::from_value(spec).expect("spec"),
        rootfs: "/b/rootfs".into(),
    };
    let opts = crate::plan::LaunchOptions {
        no_cgroups: true,
        ..Default::default()
    };
    crate::plan::build("c1", bundle, &opts, &HostFacts::default()).expect("plan")
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn run_init(plan: &LaunchPlan, r: &mut Recorder) -> StageError {
    match init_flow::sequence(r, plan) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// The steps credentials::assume takes, in order, as the recorder names them.
const CREDENTIALS: [&str; 10] = [
    "cloexec_from",
    "resolve_exe",
    "default_sigpipe",
    "drop_bounding",
    "switch_user",
    "credentials_changed",
    "apply_caps",
    "enter_cwd",
    "set_umask",
    "set_no_new_privs",
];

fn subsequence(calls: &[&str], of: &[&str]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| of.contains(c))
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn init_order_with_no_new_privs() {
    let plan = launch_plan(serde_json::json!({}));
    let mut r = Recorder::default();
    let StageError(stage, _) = run_init(&plan, &mut r);
    assert_eq!(stage, "exec", "the fake's execve returns: {:?}", r.calls);
    assert_eq!(r.calls[0], "close_inherited_fds", "brick's fds go first");
    assert_eq!(r.calls[1], "arm_parent_death");
    assert!(
        r.before("join_cgroup", "wait_go"),
        "into the cgroup before anything else"
    );
    assert!(r.before("set_not_dumpable", "join_namespaces"));
    // Re-armed after each credential change: the join, ns root, the user switch.
    assert_eq!(r.positions("arm_parent_death").len(), 3, "{:?}", r.calls);
    assert!(r.before("become_ns_root", "prepare_mounts"));
    assert!(
        r.before("become_ns_root", "new_ipcns"),
        "the IPC ns as the user ns's root"
    );
    assert!(
        r.before("new_ipcns", "prepare_mounts"),
        "mqueue is mounted in it"
    );
    assert!(
        !r.calls.contains(&"report_mounted"),
        "no runtime hooks, no Mounted"
    );
    assert!(r.before("wait_joined", "new_cgroupns"));
    assert!(r.before("new_cgroupns", "prepare_rest_mounts"));
    assert!(r.before("create_container_hooks", "enter_root"));
    assert!(r.before("enter_root", "ensure_cwd"));
    assert!(
        r.before("write_sysctls", "finalize_rootfs"),
        "sysctls before /proc/sys is ro"
    );
    assert!(r.before("label_keyring", "join_session_keyring"));
    assert!(r.before("finalize_rootfs", "apply_labels"));
    assert!(r.before("apply_labels", "cloexec_from"));
    assert_eq!(subsequence(&r.calls, &CREDENTIALS), CREDENTIALS);
    assert!(r.before("set_no_new_privs", "disarm_parent_death"));
    assert!(r.before("disarm_parent_death", "send_ready"));
    assert!(r.before("send_ready", "wait_start"));
    // With no_new_privs the filter comes after the gate, as late as possible.
    assert!(r.before("wait_start", "load_seccomp"));
    assert!(r.before("load_seccomp", "before_exec"));
    assert_eq!(r.calls.last(), Some(&"exec"));
}

#[test]
fn init_order_without_no_new_privs() {
    let plan = launch_plan(serde_json::json!({"process": {"noNewPrivileges": false}}));
    let mut r = Recorder::default();
    run_init(&plan, &mut r);
    // Loading a filter needs CAP_SYS_ADMIN then: before the bounding set and the user go.
    assert!(r.before("default_sigpipe", "load_seccomp"));
    assert!(r.before("load_seccomp", "drop_bounding"));
    assert!(!r.calls.contains(&"set_no_new_privs"));
    assert!(r.before("send_ready", "wait_start"));
}

#[test]
fn runtime_hooks_wait_for_the_first_mounts() {
    let plan = launch_plan(serde_json::json!({"hooks": {"prestart": [{"path": "/bin/true"}]}}));
    let mut r = Recorder::default();
    run_init(&plan, &mut r);
    assert!(r.before("prepare_mounts", "report_mounted"));
    assert!(r.before("report_mounted", "wait_joined"));
}

#[test]
fn a_failing_step_stops_the_init_and_names_its_stage() {
    let cases = [
        ("close_inherited_fds", "fds"),
        ("join_cgroup", "cgroup"),
        ("wait_go", "init"),
        ("prepare_mounts", "rootfs"),
        ("create_container_hooks", "hooks"),
        ("open_procfs", "procfs"),
        ("write_sysctls", "sysctl"),
        ("finalize_rootfs", "rootfs"),
        ("resolve_exe", "exec"),
        ("drop_bounding", "capabilities"),
        ("switch_user", "user"),
        ("set_no_new_privs", "noNewPrivileges"),
        ("send_ready", "init"),
        ("wait_start", "start"),
        ("load_seccomp", "seccomp"),
        ("before_exec", "hooks"),
    ];
    let plan = launch_plan(serde_json::json!({}));
    for (step, want) in cases {
        let mut r = Recorder::failing_at(step);
        let StageError(stage, err) = run_init(&plan, &mut r);
        assert_eq!(stage, want, "failing {step}");
        assert_eq!(err.to_string(), "injected failure");
        assert_eq!(
            r.calls.last(),
            Some(&step),
            "nothing runs after a failed {step}"
        );
    }
}

#[test]
fn an_init_without_a_process_stops_before_exec() {
    let plan = launch_plan(serde_json::json!({"process": null}));
    let mut r = Recorder::default();
    let StageError(stage, err) = run_init(&plan, &mut r);
    assert_eq!(stage, "exec");
    assert!(err.to_string().contains("no process"), "{err}");
    assert!(!r.calls.contains(&"resolve_exe") && !r.calls.contains(&"exec"));
    assert!(
        r.calls.contains(&"wait_start"),
        "created, and start reports the error"
    );
}

fn exec_plan(no_new_privs: bool) -> ExecPlan {
    let base: oci_spec::runtime::Process = serde_json::from_value(serde_json::json!({
        "cwd": "/", "args": ["/bin/sh"], "user": {"uid": 0, "gid": 0},
        "noNewPrivileges": no_new_privs
    }))
    .expect("process");
    let opts = ExecOptions {
        args: vec!["/bin/true".into()],
        ..Default::default()
    };
    crate::plan::exec::build(ExecInputs {
        id: "c1",
        opts: &opts,
        base: Some(base),
        file: None,
        seccomp: None,
        ns: &[],
        host: &HostFacts::default(),
    })
    .expect("exec plan")
}

fn run_exec(plan: &ExecPlan, r: &mut ExecRecorder) -> StageError {
    match exec_flow::sequence(r, plan) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

#[test]
fn exec_takes_the_init_s_credential_order() {
    for nnp in [true, false] {
        let plan = exec_plan(nnp);
        let mut r = ExecRecorder(Recorder::default());
        run_exec(&plan, &mut r);
        assert_eq!(r.calls[0], "join_cgroup", "into the cgroup first");
        assert!(r.before("wait_go", "enter_cwd_checked"));
        assert!(r.before("apply_labels", "cloexec_from"));
        let want: Vec<&str> = CREDENTIALS
            .iter()
            .copied()
            .filter(|s| nnp || *s != "set_no_new_privs")
            .collect();
        assert_eq!(subsequence(&r.calls, &CREDENTIALS), want, "nnp {nnp}");
        match nnp {
            true => assert!(r.before("set_no_new_privs", "load_seccomp")),
            false => assert!(r.before("load_seccomp", "drop_bounding")),
        }
        assert_eq!(r.calls.last(), Some(&"exec"));
    }
}

#[test]
fn a_failing_step_stops_exec() {
    let plan = exec_plan(true);
    for (step, want) in [
        ("wait_go", "init"),
        ("apply_caps", "capabilities"),
        ("load_seccomp", "seccomp"),
    ] {
        let mut r = ExecRecorder(Recorder::failing_at(step));
        let StageError(stage, _) = run_exec(&plan, &mut r);
        assert_eq!(stage, want);
        assert_eq!(r.calls.last(), Some(&step));
    }
}

#[test]
fn credentials_alone_stop_at_the_first_failure() {
    let plan = launch_plan(serde_json::json!({}));
    let mut r = Recorder::failing_at("drop_bounding");
    let e = credentials::assume(&mut r, &plan.process, 3).expect_err("fails");
    assert_eq!(e.0, "capabilities");
    assert!(
        !r.calls.contains(&"switch_user"),
        "no uid change after a failed bounding drop"
    );
}
