//! `brick exec`'s processes, top to bottom: the child joins the container's namespaces and
//! forks the process that will exec (a setns'd pid namespace applies only to children); that
//! one puts itself in the container's cgroup (cgroups::Entry), waits until brick did the rest,
//! then sets itself up as init_flow does and execs. A failure is reported whole (stage, errno,
//! chain).

use crate::cgroups::Entry;
use crate::container::{caps, console, exec, fds, identity, labels, procfs, seccomp};
use crate::ipc::{Channel, ChildError};
use crate::plan::exec::ExecPlan;
use crate::process::spawn;
use crate::seccomp::SeccompProgram;
use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::error::Error;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use thiserror::Error as ThisError;

/// Messages between `brick exec` and its processes on the SEQPACKET channel.
#[derive(Debug, Serialize, Deserialize)]
pub enum ExecMsg {
    /// Child → brick: the process that will exec, as the host sees its pid, and whether
    /// clone3 placed it in the cgroup2 directory.
    Pid {
        pid: i32,
        in_cgroup: bool,
    },
    /// brick → process: it is in the container's cgroup; go on.
    Go,
    Error(ChildError),
    /// The seccomp notify fd rides along (SCM_RIGHTS), for brick to hand to listenerPath.
    SeccompFd,
}

#[derive(Debug, ThisError)]
pub enum ExecFlowError {
    #[error("join the container's {0} namespace")]
    Join(&'static str, #[source] Errno),
    #[error("fork into the container's pid namespace")]
    Fork(#[source] spawn::SpawnError),
    #[error("chdir to process.cwd {0:?}")]
    Chdir(PathBuf, #[source] Errno),
    #[error("process.cwd {0:?} is outside the container's root")]
    CwdOutside(PathBuf),
    #[error("brick exec went away before the process was in the container's cgroup")]
    NoGo,
}

/// A namespace of the container's init, opened by brick before the fork.
pub struct NsFd {
    pub name: &'static str,
    pub flag: CloneFlags,
    pub fd: OwnedFd,
}

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

/// Reports the error on the channel and exits; never returns to brick's code.
fn report(ch: &Channel, err: StageError) -> Infallible {
    let StageError(stage, err) = err;
    let _ = ch.send(&ExecMsg::Error(ChildError::new(stage, err.as_ref())));
    // SAFETY: _exit skips atexit handlers and buffered I/O that belong to brick's copy.
    unsafe { libc::_exit(1) }
}

/// Entry point of the child cloned by `brick exec`.
pub fn run(
    plan: &ExecPlan,
    seccomp: Option<&SeccompProgram>,
    ns: Vec<NsFd>,
    cgroup: Entry,
    console: Option<OwnedFd>,
    ch: Channel,
) -> Infallible {
    match enter(plan, seccomp, ns, cgroup, console, &ch) {
        Ok((pid, in_cgroup)) => {
            let _ = ch.send(&ExecMsg::Pid { pid, in_cgroup });
            // SAFETY: as above; the process that execs is brick's child (CLONE_PARENT).
            unsafe { libc::_exit(0) }
        }
        Err(e) => report(&ch, e),
    }
}

fn enter(
    plan: &ExecPlan,
    seccomp: Option<&SeccompProgram>,
    ns: Vec<NsFd>,
    mut cgroup: Entry,
    console: Option<OwnedFd>,
    ch: &Channel,
) -> Result<(i32, bool), StageError> {
    // Not dumpable before any namespace is joined: nothing in the container may open
    // /proc/<pid>/exe (brick's binary) or ptrace us (CVE-2019-5736); forks inherit it.
    procfs::set_dumpable(false).at("init")?;
    // Every namespace but user while still host root, then user (plan::exec::NAMESPACES).
    for n in &ns {
        setns(n.fd.as_fd(), n.flag)
            .map_err(|e| ExecFlowError::Join(n.name, e))
            .at("namespaces")?;
    }
    drop(ns);
    // The pid (and time) namespace applies to children: fork, as brick's child, straight into
    // the container's cgroup where cgroup2 allows it.
    let clone_into = cgroup.clone_into.take();
    let spawned = spawn::spawn(
        CloneFlags::CLONE_PARENT,
        clone_into.as_ref().map(|f| f.as_fd()),
        move || match process(plan, seccomp, ch, console, cgroup) {
            Ok(never) => match never {},
            Err(e) => report(ch, e),
        },
    )
    .map_err(ExecFlowError::Fork)
    .at("namespaces")?;
    // Without CLONE_INTO_CGROUP (clone3 refused), brick's add_rest before Go moves it.
    Ok((spawned.pid.as_raw(), spawned.in_cgroup))
}

/// The process that execs, inside every namespace of the container.
fn process(
    plan: &ExecPlan,
    seccomp: Option<&SeccompProgram>,
    ch: &Channel,
    console: Option<OwnedFd>,
    cgroup: Entry,
) -> Result<Infallible, StageError> {
    let p = &plan.process;
    // Into the cgroup first, while single-threaded; brick does the rest (the cgroup2 move
    // after a clone(2) fallback) before Go, so nothing below escapes limits.
    cgroup.join_self().at("cgroup")?;
    match ch.recv::<ExecMsg>().at("init")? {
        Some(ExecMsg::Go) => {}
        _ => return Err(ExecFlowError::NoGo).at("init"),
    }
    // setns(mnt) put us at the container's root; the cwd is checked before seccomp could
    // deny getcwd, and a path through a leaked fd reads back unreachable (CVE-2024-21626).
    enter_cwd_checked(&p.cwd).at("cwd")?;
    // The pty comes from the container's own devpts; its master goes to the console socket.
    if let Some(sock) = console {
        console::attach_pty(sock, plan.console_size).at("console")?;
    }
    // procfs writes go only through a handle verified to be the container's procfs.
    let proc = procfs::Proc::open_if(plan.needs_procfs()).at("procfs")?;
    if let Some(proc) = &proc {
        proc.write_oom_score_adj(p.oom_score_adj)
            .at("oomScoreAdj")?;
        labels::keycreate(proc, plan.lsm, p.selinux_label.as_deref()).at("keyring")?;
    }
    // A session keyring of our own: the caller's keys stay out of the container.
    identity::join_session_keyring(true, &plan.id).at("keyring")?;
    identity::set_rlimits(&p.rlimits).at("rlimits")?;
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
    // Every fd but stdio and --preserve-fds closes at execve: no brick fd reaches the process.
    fds::cloexec_from(3 + plan.preserve_fds).at("fds")?;
    // argv[0] is found in the container's PATH, inside the container's root.
    let exe = exec::resolve(p).at("exec")?;
    // SIGPIPE's default (brick ignores it), before any filter could refuse the call.
    exec::default_sigpipe().at("exec")?;
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before capset.
    if !p.no_new_privs {
        load_seccomp(seccomp, ch)?;
    }
    // The bounding set is dropped while CAP_SETPCAP is still held.
    caps::drop_bounding(&p.caps).at("capabilities")?;
    // KEEPCAPS keeps the permitted set across setuid, so capset sets the exact final sets.
    identity::switch_user(p.uid, p.gid, &p.additional_gids).at("user")?;
    // Exactly the configured sets: inheritable and ambient only if asked for (CVE-2022-29162).
    caps::apply(&p.caps).at("capabilities")?;
    // The cwd is entered again as the process's user (its permissions apply).
    exec::enter_cwd(&p.cwd).at("cwd")?;
    identity::set_umask(p.umask);
    if p.no_new_privs {
        identity::set_no_new_privs().at("noNewPrivileges")?;
    }
    // With no_new_privs, the filter comes last: it never has to allow brick's own syscalls.
    if p.no_new_privs {
        load_seccomp(seccomp, ch)?;
    }
    // The channel is CLOEXEC: its closing tells brick that execve happened.
    exec::exec(&exe, p).at("exec")
}

/// chdir without creating anything (exec must not change the container's files), then check.
fn enter_cwd_checked(cwd: &Path) -> Result<(), ExecFlowError> {
    nix::unistd::chdir(cwd).map_err(|e| ExecFlowError::Chdir(cwd.to_path_buf(), e))?;
    let now = nix::unistd::getcwd().map_err(|e| ExecFlowError::Chdir(cwd.to_path_buf(), e))?;
    if !now.is_absolute() || now.starts_with("(unreachable)") {
        return Err(ExecFlowError::CwdOutside(cwd.to_path_buf()));
    }
    Ok(())
}

/// Loads the planned filter, if any; a notify fd goes to brick, which hands it to listenerPath.
fn load_seccomp(prog: Option<&SeccompProgram>, ch: &Channel) -> Result<(), StageError> {
    let Some(prog) = prog else {
        return Ok(());
    };
    if let Some(fd) = seccomp::load(prog).at("seccomp")? {
        ch.send_with_fd(&ExecMsg::SeccompFd, fd.as_fd())
            .at("seccomp")?;
    }
    Ok(())
}
