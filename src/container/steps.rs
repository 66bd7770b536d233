//! The child's syscall seam: each step the init and exec sequences take is one method here.
//! The sequences (init_flow, exec_flow, credentials) are written against these traits only,
//! so their order and their failure handling are unit-tested with a recording fake
//! (flow_tests.rs); child.rs implements them with the real calls. Real containers stay the
//! judge of what the kernel does.

use crate::plan::process::{CapSets, ProcessPlan};
use std::convert::Infallible;
use std::ffi::CString;
use std::path::Path;

/// What a step returns: its value, or why it failed (any error, its source chain kept).
pub type Step<T = ()> = Result<T, Box<dyn std::error::Error + 'static>>;

/// The steps both the init and an exec'd process take, in credentials::assume/execute's order
/// and in the setup before it.
pub trait Common {
    /// Into the container's cgroup (v1 tasks files; cgroup2 came with the clone).
    fn join_cgroup(&mut self) -> Step;
    /// The container's /proc, verified to be procfs, when something must be written there.
    fn open_procfs(&mut self, needed: bool) -> Step;
    fn write_oom_score_adj(&mut self, adj: Option<i32>) -> Step;
    /// The SELinux label of the session keyring made next.
    fn label_keyring(&mut self) -> Step;
    fn join_session_keyring(&mut self) -> Step;
    fn set_rlimits(&mut self) -> Step;
    /// SELinux/AppArmor labels to attr/exec: they apply at execve.
    fn apply_labels(&mut self) -> Step;
    fn close_procfs(&mut self) -> Step;
    fn cloexec_from(&mut self, first: u32) -> Step;
    fn resolve_exe(&mut self, p: &ProcessPlan) -> Step<CString>;
    fn default_sigpipe(&mut self) -> Step;
    fn load_seccomp(&mut self) -> Step;
    fn drop_bounding(&mut self, caps: &CapSets) -> Step;
    fn switch_user(&mut self, uid: u32, gid: u32, groups: &[u32]) -> Step;
    /// After a credential change, which clears the parent-death signal.
    fn credentials_changed(&mut self) -> Step;
    fn apply_caps(&mut self, caps: &CapSets) -> Step;
    fn enter_cwd(&mut self, cwd: &Path) -> Step;
    fn set_umask(&mut self, umask: Option<u32>);
    fn set_no_new_privs(&mut self) -> Step;
    /// Right before execve: the init's startContainer hooks; nothing for exec.
    fn before_exec(&mut self) -> Step;
    fn exec(&mut self, exe: &CString, p: &ProcessPlan) -> Step<Infallible>;
}

/// The init's own steps (init_flow.rs), before the shared ones.
pub trait InitSteps: Common {
    /// Every fd brick's process had but the ones this one uses.
    fn close_inherited_fds(&mut self) -> Step;
    fn arm_parent_death(&mut self) -> Step;
    fn disarm_parent_death(&mut self) -> Step;
    fn set_not_dumpable(&mut self) -> Step;
    /// Waits until the parent wrote the id maps; returns our pid as the host sees it.
    fn wait_go(&mut self) -> Step<i32>;
    fn join_namespaces(&mut self) -> Step;
    fn become_ns_root(&mut self) -> Step;
    fn new_ipcns(&mut self) -> Step;
    /// The bind of the rootfs and the mounts before the first cgroup mount.
    fn prepare_mounts(&mut self) -> Step;
    fn report_mounted(&mut self) -> Step;
    /// Waits until the parent completed the cgroup and ran prestart/createRuntime hooks.
    fn wait_joined(&mut self) -> Step;
    fn new_cgroupns(&mut self) -> Step;
    fn prepare_rest_mounts(&mut self) -> Step;
    fn create_container_hooks(&mut self) -> Step;
    fn enter_root(&mut self) -> Step;
    fn ensure_cwd(&mut self, cwd: &Path) -> Step;
    fn setup_console(&mut self) -> Step;
    fn set_names(&mut self) -> Step;
    fn write_sysctls(&mut self) -> Step;
    /// Masked and read-only paths, then the read-only root.
    fn finalize_rootfs(&mut self) -> Step;
    fn send_ready(&mut self) -> Step;
    /// Blocks until `brick start`; from then on failures go to it.
    fn wait_start(&mut self) -> Step;
}

/// An exec'd process's own steps (exec_flow.rs), before the shared ones.
pub trait ExecSteps: Common {
    /// Waits until brick has done what the process could not (a cgroup2 move).
    fn wait_go(&mut self) -> Step;
    /// chdir without creating anything, then check the cwd is inside the root.
    fn enter_cwd_checked(&mut self, cwd: &Path) -> Step;
    fn attach_console(&mut self) -> Step;
}
