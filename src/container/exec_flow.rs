//! `brick exec`'s processes, top to bottom: the child joins the container's namespaces and
//! forks the process that will exec (a setns'd pid namespace applies only to children); that
//! one puts itself in the container's cgroup (cgroups::Entry), waits until brick did the rest,
//! then sets itself up as init_flow does and execs. A failure is reported whole (stage, errno,
//! chain).

use super::child::Child;
use super::credentials;
use super::exec_ops::Exec;
use super::stage::{Stage, StageError};
use super::steps::ExecSteps;
use crate::cgroups::Entry;
use crate::container::procfs;
use crate::ipc::{Channel, ChildError};
use crate::plan::exec::ExecPlan;
use crate::process::spawn;
use crate::seccomp::SeccompProgram;
use nix::errno::Errno;
use nix::sched::{setns, CloneFlags};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};
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
}

/// A namespace of the container's init, opened by brick before the fork.
pub struct NsFd {
    pub name: &'static str,
    pub flag: CloneFlags,
    pub fd: OwnedFd,
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
    // The joiner keeps its own copy to report our pid; ours closes at execve.
    let report = ch.as_fd().try_clone_to_owned().at("init")?;
    let mut child = Child {
        process: &plan.process,
        lsm: plan.lsm,
        id: &plan.id,
        // A session keyring of its own: the caller's keys stay out of the container.
        new_keyring: true,
        seccomp,
        report: Channel::from_fd(report),
        cgroup: Some(cgroup),
        proc: None,
        // The container's processes run: a dumpable moment would let them ptrace brick's code.
        dumpable_for_procfs: false,
        kind: Exec { plan, console },
    };
    sequence(&mut child, plan)
}

/// An exec'd process's order. `s` makes the calls; `plan` decides which optional steps run.
pub fn sequence<S: ExecSteps + ?Sized>(
    s: &mut S,
    plan: &ExecPlan,
) -> Result<Infallible, StageError> {
    let p = &plan.process;
    // Into the cgroup first, while single-threaded; brick does the rest (the cgroup2 move
    // after a clone(2) fallback) before Go, so nothing below escapes limits.
    s.join_cgroup().at("cgroup")?;
    s.wait_go().at("init")?;
    // setns(mnt) put us at the container's root; the cwd is checked before seccomp could
    // deny getcwd, and a path through a leaked fd reads back unreachable (CVE-2024-21626).
    s.enter_cwd_checked(&p.cwd).at("cwd")?;
    // The pty comes from the container's own devpts; its master goes to the console socket.
    s.attach_console().at("console")?;
    // procfs writes go only through a handle verified to be the container's procfs.
    s.open_procfs(plan.needs_procfs()).at("procfs")?;
    s.write_oom_score_adj(p.oom_score_adj).at("oomScoreAdj")?;
    s.label_keyring().at("keyring")?;
    s.join_session_keyring().at("keyring")?;
    s.set_rlimits().at("rlimits")?;
    // LSM labels go to attr/exec, so they apply at execve and never confine brick itself.
    s.apply_labels().at("labels")?;
    s.close_procfs().at("procfs")?;
    // The same credential order as the init's (credentials.rs), then the late filter and execve.
    let exe = credentials::assume(s, p, 3 + plan.preserve_fds)?;
    credentials::execute(s, p, exe)
}
