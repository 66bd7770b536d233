//! The container's init process, top to bottom: one step per line, each with the reason for
//! its place in the order. The steps are the seam's (steps.rs), so the order is unit-tested;
//! credentials.rs holds the tail the init shares with exec. A failure is reported whole
//! (stage, errno, chain) and the process exits; it never returns to brick's code.

use super::child::Child;
use super::credentials;
use super::init_ops::Init;
use super::stage::{Stage, StageError};
use super::steps::InitSteps;
use crate::cgroups::Entry;
use crate::ipc::{Channel, ChildError, FromChild};
use crate::plan::LaunchPlan;
use crate::seccomp::SeccompProgram;
use crate::state::Saved;
use std::convert::Infallible;
use std::os::fd::OwnedFd;

/// What the parent made for the init before the clone.
pub struct Handoff<'a> {
    /// The channel to the parent (after the start gate: to `brick start`).
    pub ch: Channel,
    pub gate: OwnedFd,
    pub console: Option<OwnedFd>,
    pub cgroup: Entry,
    /// The compiled filter (seccomp::program, an apply step of the parent's).
    pub seccomp: Option<&'a SeccompProgram>,
    /// The record create saved, which hooks' state is built from.
    pub saved: &'a Saved,
    /// Bind sources opened on the host side (rootfs::open_sources).
    pub sources: super::rootfs::Sources,
}

/// Entry point of the cloned child.
pub fn run(plan: &LaunchPlan, handoff: Handoff<'_>) -> Infallible {
    let mut child = Child {
        process: &plan.process,
        lsm: plan.lsm,
        id: &plan.id,
        new_keyring: plan.new_keyring,
        seccomp: handoff.seccomp,
        report: handoff.ch,
        cgroup: Some(handoff.cgroup),
        proc: None,
        dumpable_for_procfs: plan.namespaces.new_userns,
        kind: Init {
            plan,
            saved: handoff.saved,
            gate: Some(handoff.gate),
            console: handoff.console,
            staged: None,
            sources: Some(handoff.sources),
            pid: 0,
        },
    };
    let StageError(stage, err) = match sequence(&mut child, plan) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // Nothing to do if nobody listens any more: the exit status says the rest.
    let _unheard = child
        .report
        .send(&FromChild::Error(ChildError::new(stage, err.as_ref())));
    // SAFETY: _exit skips atexit handlers and buffered I/O that belong to the parent's copy.
    unsafe { libc::_exit(1) }
}

/// The init's order. `s` makes the calls; `plan` decides which optional steps are taken.
pub fn sequence<S: InitSteps + ?Sized>(
    s: &mut S,
    plan: &LaunchPlan,
) -> Result<Infallible, StageError> {
    let p = &plan.process;
    // brick's own fds (the locked state directory, its namespaces) close at once: only what
    // this process uses stays, so no lock or handle of brick's outlives brick in it.
    s.close_inherited_fds().at("fds")?;
    // Until Ready the init dies with brick (checked after setting it), so a create killed
    // midway leaves nothing waiting; every credential change clears it, so it is re-armed.
    s.arm_parent_death().at("init")?;
    // Into the cgroup first, while single-threaded: nothing below runs outside its limits.
    s.join_cgroup().at("cgroup")?;
    // The parent writes id maps (a new user namespace needs them before anything else).
    s.wait_go().at("init")?;
    // Not dumpable: nothing in the container may open /proc/<pid>/exe (brick) or ptrace us;
    // after the maps, which a rootless parent writes only to a /proc/<pid> it still owns.
    s.set_not_dumpable().at("init")?;
    // A mount namespace joined by path (a user namespace was joined before the clone).
    s.join_namespaces().at("namespaces")?;
    s.arm_parent_death().at("init")?;
    // Root of the user namespace (new or joined) owns what we create from here on.
    s.become_ns_root().at("user")?;
    s.arm_parent_death().at("init")?;
    // With a new user namespace, the IPC namespace as its root: mqueue's root is then ours.
    s.new_ipcns().at("namespaces")?;
    // Mounts before the first cgroup mount overlap what the parent still does for the cgroup
    // (systemd's scope, a clone(2) fallback); nothing here runs container code or forks.
    s.prepare_mounts().at("rootfs")?;
    if plan.has_runtime_hooks() {
        // prestart/createRuntime hooks see the mounts made so far, as with runc.
        s.report_mounted().at("init")?;
    }
    // The parent has placed us in our cgroup and run prestart/createRuntime hooks.
    s.wait_joined().at("init")?;
    // After the cgroup join, so the container sees that cgroup as its root.
    s.new_cgroupns().at("namespaces")?;
    // Every other mount and device, resolved inside the rootfs, before createContainer hooks.
    s.prepare_rest_mounts().at("rootfs")?;
    // createContainer hooks: container namespaces, paths still resolved from the host root.
    s.create_container_hooks().at("hooks")?;
    // pivot_root (or chroot with --no-pivot): from here "/" is the container's root.
    s.enter_root().at("rootfs")?;
    // cwd is created while the root is still writable, inside the new root only, and checked.
    s.ensure_cwd(&p.cwd).at("cwd")?;
    // The pty comes from the container's own devpts, and /dev/console is bound to it.
    s.setup_console().at("console")?;
    s.set_names().at("hostname")?;
    // procfs writes go only through a handle verified to be procfs (fake-/proc attacks);
    // sysctls come before readonlyPaths make /proc/sys read-only.
    s.open_procfs(plan.needs_procfs()).at("procfs")?;
    s.write_sysctls().at("sysctl")?;
    s.write_oom_score_adj(p.oom_score_adj).at("oomScoreAdj")?;
    // The session keyring made next is labelled with the container's label.
    s.label_keyring().at("keyring")?;
    s.join_session_keyring().at("keyring")?;
    s.set_rlimits().at("rlimits")?;
    // Masked and read-only paths, then the read-only root: nothing below may write the rootfs.
    s.finalize_rootfs().at("rootfs")?;
    // LSM labels go to attr/exec, so they apply at execve and never confine brick itself.
    s.apply_labels().at("labels")?;
    s.close_procfs().at("procfs")?;
    // The fd sweep, argv[0], SIGPIPE, an early filter, the bounding set, the user, the
    // capabilities, the cwd, no_new_privs: the order exec shares.
    let exe = credentials::assume(s, p, 3 + plan.preserve_fds)?;
    // From Ready on the init outlives `brick create`; a brick killed after this point left
    // the pid and cgroup in state.json for `delete --force`.
    s.disarm_parent_death().at("init")?;
    s.send_ready().at("init")?;
    // Blocked until `brick start`; from here errors go to the start command.
    s.wait_start().at("start")?;
    // The late filter (with no_new_privs), startContainer hooks, execve.
    credentials::execute(s, p, exe)
}
