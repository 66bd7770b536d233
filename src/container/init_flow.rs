//! The container's init process, top to bottom: one step per line, each with the reason for
//! its place in the order. A failure is reported whole (stage, errno, chain) and the process
//! exits; it never returns to brick's code.

use crate::cgroups::Entry;
use crate::container::rootfs;
use crate::container::{
    caps, console, exec, fds, identity, labels, namespaces, parent_death, procfs, seccomp,
};
use crate::ipc::{gate, Channel, ChildError, FromChild, ToChild};
use crate::plan::LaunchPlan;
use crate::process::hooks;
use crate::seccomp::SeccompProgram;
use crate::state::{Saved, Status};
use std::convert::Infallible;
use std::error::Error;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// An error tagged with the stage it stopped.
struct StageError(&'static str, Box<dyn Error + 'static>);

trait Stage<T> {
    fn at(self, stage: &'static str) -> Result<T, StageError>;
}

impl<T, E: Error + 'static> Stage<T> for Result<T, E> {
    fn at(self, stage: &'static str) -> Result<T, StageError> {
        self.map_err(|e| StageError(stage, Box::new(e)))
    }
}

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
}

/// Entry point of the cloned child.
pub fn run(plan: &LaunchPlan, handoff: Handoff<'_>) -> Infallible {
    let Handoff {
        ch,
        gate,
        console,
        cgroup,
        seccomp,
        saved,
    } = handoff;
    let mut report_to = ch;
    let what = Given { saved, seccomp };
    let StageError(stage, err) = match sequence(plan, &what, &mut report_to, gate, console, cgroup)
    {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = report_to.send(&FromChild::Error(ChildError::new(stage, err.as_ref())));
    // SAFETY: _exit skips atexit handlers and buffered I/O that belong to the parent's copy.
    unsafe { libc::_exit(1) }
}

/// The parent's borrowed parts of the handoff.
struct Given<'a> {
    saved: &'a Saved,
    seccomp: Option<&'a SeccompProgram>,
}

fn sequence(
    plan: &LaunchPlan,
    given: &Given<'_>,
    report_to: &mut Channel,
    gate: OwnedFd,
    console: Option<OwnedFd>,
    cgroup: Entry,
) -> Result<Infallible, StageError> {
    let p = &plan.process;
    // brick's own fds (the locked state directory, its namespaces) close at once: only what
    // this process uses stays, so no lock or handle of brick's outlives brick in it.
    let keep = used_fds(report_to, &gate, console.as_ref(), &cgroup);
    fds::close_all_but(3 + plan.preserve_fds, &keep).at("fds")?;
    // Until Ready the init dies with brick (checked after setting it), so a create killed
    // midway leaves nothing waiting; every credential change below clears it, so it is re-armed.
    parent_death::arm(report_to).at("init")?;
    // Into the cgroup first, while single-threaded: nothing below runs outside its limits.
    cgroup.join_self().at("cgroup")?;
    // Not dumpable: nothing in the container may open /proc/<pid>/exe (brick) or ptrace us.
    procfs::set_dumpable(false).at("init")?;
    // The parent writes id maps (a new user namespace needs them before anything else).
    let pid = match report_to.recv::<ToChild>().at("init")? {
        Some(ToChild::Go { pid }) => pid,
        _ => std::process::exit(1),
    };
    // A mount namespace joined by path (a user namespace was joined before the clone).
    namespaces::join(&plan.namespaces.join).at("namespaces")?;
    parent_death::arm(report_to).at("init")?;
    // Root of the user namespace (new or joined) owns what we create from here on.
    identity::become_ns_root(plan.namespaces.in_userns).at("user")?;
    parent_death::arm(report_to).at("init")?;
    // Mounts before the first cgroup mount overlap what the parent still does for the cgroup
    // (systemd's scope, a clone(2) fallback); nothing here runs container code or forks.
    let staged = rootfs::prepare(&plan.rootfs).at("rootfs")?;
    if plan.has_runtime_hooks() {
        report_to.send(&FromChild::Mounted).at("init")?;
    }
    // The parent has placed us in our cgroup and run prestart/createRuntime hooks.
    match report_to.recv::<ToChild>().at("init")? {
        Some(ToChild::Joined) => {}
        _ => std::process::exit(1),
    }
    // After the cgroup join, so the container sees that cgroup as its root.
    namespaces::new_cgroupns(plan.namespaces.new_cgroupns).at("namespaces")?;
    // Every other mount and device, resolved inside the rootfs, before createContainer hooks.
    rootfs::prepare_rest(&plan.rootfs, staged).at("rootfs")?;
    // createContainer hooks: container namespaces, paths still resolved from the host root.
    hooks::run(
        plan.hooks.create_container().as_ref(),
        "createContainer",
        || given.saved.oci_state(Status::Creating, pid),
    )
    .at("hooks")?;
    // pivot_root (or chroot with --no-pivot): from here "/" is the container's root.
    rootfs::enter(&plan.rootfs).at("rootfs")?;
    // cwd is created while the root is still writable, inside the new root only, and checked.
    exec::ensure_cwd(&p.cwd).at("cwd")?;
    // The pty comes from the container's own devpts, and /dev/console is bound to it.
    console::setup(
        console,
        plan.spec.process().as_ref().and_then(|p| p.console_size()),
    )
    .at("console")?;
    namespaces::set_names(plan.hostname.as_deref(), plan.domainname.as_deref()).at("hostname")?;
    // procfs writes go only through a handle verified to be procfs (fake-/proc attacks);
    // sysctls come before readonlyPaths make /proc/sys read-only.
    let proc = procfs::Proc::open_if(plan.needs_procfs()).at("procfs")?;
    if let Some(proc) = &proc {
        proc.write_sysctls(&plan.sysctl).at("sysctl")?;
        proc.write_oom_score_adj(p.oom_score_adj)
            .at("oomScoreAdj")?;
        // The session keyring made next is labelled with the container's label.
        labels::keycreate(proc, plan.lsm, p.selinux_label.as_deref()).at("keyring")?;
    }
    identity::join_session_keyring(plan.new_keyring, &plan.id).at("keyring")?;
    identity::set_rlimits(&p.rlimits).at("rlimits")?;
    // Masked and read-only paths, then the read-only root: nothing below may write the rootfs.
    rootfs::finalize(&plan.rootfs).at("rootfs")?;
    // LSM labels go to attr/exec, so they apply at execve and never confine brick itself.
    if let Some(proc) = &proc {
        labels::apply(
            proc,
            plan.lsm,
            p.selinux_label.as_deref(),
            p.apparmor_profile.as_deref(),
        )
        .at("labels")?;
    }
    drop(proc);
    // Every fd but stdio and --preserve-fds closes at execve (leaked-fd escapes).
    fds::cloexec_from(3 + plan.preserve_fds).at("fds")?;
    // argv[0] is found in the container's PATH now, so create fails if it is missing.
    let exe = match p.args.is_empty() {
        true => None,
        false => Some(exec::resolve(p).at("exec")?),
    };
    // SIGPIPE's default, before any filter could refuse the call; from here the init writes
    // only to sockets (MSG_NOSIGNAL) and to hook stdin pipes filled before the hook runs.
    exec::default_sigpipe().at("exec")?;
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before capset.
    if !p.no_new_privs {
        load_seccomp(given.seccomp, report_to)?;
    }
    // The bounding set is dropped while CAP_SETPCAP is still held.
    caps::drop_bounding(&p.caps).at("capabilities")?;
    // KEEPCAPS keeps the permitted set across setuid, so capset sets the exact final sets.
    identity::switch_user(p.uid, p.gid, &p.additional_gids).at("user")?;
    parent_death::arm(report_to).at("init")?;
    caps::apply(&p.caps).at("capabilities")?;
    // The cwd is entered again as the container user (its permissions apply).
    exec::enter_cwd(&p.cwd).at("cwd")?;
    identity::set_umask(p.umask);
    if p.no_new_privs {
        identity::set_no_new_privs().at("noNewPrivileges")?;
    }
    // From Ready on the init outlives `brick create`; a brick killed after this point left
    // the pid and cgroup in state.json for `delete --force`.
    parent_death::disarm().at("init")?;
    report_to.send(&FromChild::Ready).at("init")?;
    // Blocked until `brick start`; from here errors go to the start command.
    *report_to = gate::wait(gate).at("start")?;
    // With no_new_privs, the filter comes as late as possible: it never has to allow brick.
    if p.no_new_privs {
        load_seccomp(given.seccomp, report_to)?;
    }
    hooks::run(
        plan.hooks.start_container().as_ref(),
        "startContainer",
        || given.saved.oci_state(Status::Created, pid),
    )
    .at("hooks")?;
    let exe = exe.ok_or(exec::ExecError::NoProcess).at("exec")?;
    exec::exec(&exe, p).at("exec")
}

/// The fds this process works with: the channel, the gate, the console, its cgroup entry and
/// the --log file; every other fd it inherited is brick's.
fn used_fds(
    ch: &Channel,
    gate: &OwnedFd,
    console: Option<&OwnedFd>,
    cgroup: &Entry,
) -> Vec<std::os::fd::RawFd> {
    let mut fds = vec![ch.as_fd().as_raw_fd(), gate.as_raw_fd()];
    fds.extend(console.map(|c| c.as_raw_fd()));
    fds.extend(cgroup.raw_fds());
    fds.extend(crate::log::raw_fd());
    fds
}

/// Loads the planned filter, if any; a notify fd goes to whoever we report to, who hands it
/// to listenerPath (the container's root cannot reach the host's socket).
fn load_seccomp(prog: Option<&SeccompProgram>, report_to: &Channel) -> Result<(), StageError> {
    let Some(prog) = prog else {
        return Ok(());
    };
    if let Some(fd) = seccomp::load(prog).at("seccomp")? {
        report_to
            .send_with_fd(&FromChild::SeccompFd, fd.as_fd())
            .at("seccomp")?;
    }
    Ok(())
}
