//! The parent's side of create: cgroup, gate, clone, id maps, hooks, then wait for Ready.
//! Any failure kills the child and removes the cgroup; launch.rs removes the state dir.

use crate::cgroups::{Cgroup, CgroupError};
use crate::container::{init_flow, rootfs};
use crate::error::{chain, describe_errno};
use crate::host::{idmap, nsenter};
use crate::ipc::gate::{self, GateError};
use crate::ipc::{Channel, ChildError, FromChild, IpcError, ToChild};
use crate::plan::LaunchPlan;
use crate::process::{hooks, spawn};
use crate::signals::describe_exit;
use crate::state::{liveness, ContainerDir, Saved, Status};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CreateError {
    #[error("cgroup")]
    Cgroup(#[from] CgroupError),
    #[error("linux.resources.{resource}: rootless, and the cgroup is not delegated to uid {uid}")]
    RootlessCgroup {
        resource: &'static str,
        uid: u32,
        #[source]
        source: CgroupError,
    },
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("console socket {0:?}")]
    ConsoleSocket(std::path::PathBuf, #[source] std::io::Error),
    #[error("--console-socket given but process.terminal is false")]
    ConsoleSocketWithoutTerminal,
    #[error("process.terminal is true but no --console-socket was given")]
    NoConsoleSocket,
    #[error("namespaces")]
    NsEnter(#[from] nsenter::NsEnterError),
    #[error("rootfs")]
    Sources(#[from] crate::container::rootfs::RootfsError),
    #[error("spawn")]
    Spawn(#[from] spawn::SpawnError),
    #[error("open the user namespace {0:?}")]
    OpenUserns(std::path::PathBuf, #[source] std::io::Error),
    #[error("user namespace")]
    IdMap(#[from] idmap::IdMapError),
    #[error("hooks")]
    Hook(#[from] hooks::HookError),
    #[error("linux.seccomp.listenerPath")]
    Listener(#[from] crate::container::seccomp::SeccompError),
    #[error("sync with container")]
    Ipc(#[from] IpcError),
    #[error("{0}")]
    Child(ChildError),
    #[error("container init exited before it was ready: {0}")]
    ChildVanished(String),
    #[error("state")]
    Store(#[from] crate::state::StoreError),
}

/// What create hands back: the init process and, if one was made, its cgroup.
pub struct Created {
    pub pid: i32,
    pub start_time: u64,
    pub cgroup: Option<Cgroup>,
    /// brick's end of the console socket when it proxies the pty itself.
    pub console: Option<OwnedFd>,
}

/// Where the pty master goes: to a --console-socket, or (run -t in the foreground) to brick.
pub enum Console<'a> {
    Socket(Option<&'a Path>),
    Proxy,
}

/// The child's end of the console socket, and brick's own end when brick proxies the pty.
fn connect_console(
    console: &Console<'_>,
    terminal: bool,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>), CreateError> {
    match (terminal, console) {
        (false, Console::Socket(Some(_))) => Err(CreateError::ConsoleSocketWithoutTerminal),
        (false, _) => Ok((None, None)),
        (true, Console::Socket(None)) => Err(CreateError::NoConsoleSocket),
        (true, Console::Socket(Some(p))) => UnixStream::connect(p)
            .map(|s| (Some(OwnedFd::from(s)), None))
            .map_err(|e| CreateError::ConsoleSocket(p.to_path_buf(), e)),
        (true, Console::Proxy) => UnixStream::pair()
            .map(|(a, b)| (Some(OwnedFd::from(a)), Some(OwnedFd::from(b))))
            .map_err(|e| CreateError::ConsoleSocket("socketpair".into(), e)),
    }
}

/// Hands a seccomp notify fd to the agent at linux.seccomp.listenerPath with the state.
pub fn forward_notify_fd(
    plan: &LaunchPlan,
    fd: Option<OwnedFd>,
    state: &serde_json::Value,
) -> Result<(), CreateError> {
    let target = plan.seccomp.as_ref().and_then(|s| s.notify.as_ref());
    forward_to_listener(target, fd, state)
}

pub fn forward_to_listener(
    target: Option<&crate::seccomp::NotifyTarget>,
    fd: Option<OwnedFd>,
    state: &serde_json::Value,
) -> Result<(), CreateError> {
    let (Some(target), Some(fd)) = (target, fd) else {
        return Err(CreateError::Ipc(IpcError::Decode(
            "seccomp notify fd without a listener".into(),
        )));
    };
    let state: oci_spec::runtime::State = serde_json::from_value(state.clone())
        .map_err(|e| CreateError::Ipc(IpcError::Decode(e.to_string())))?;
    crate::container::seccomp::send_to_listener(target, fd.as_fd(), &state)?;
    Ok(())
}

/// Kills and reaps a child that will never become a container.
pub(super) fn abort_child(pid: Pid) {
    // ESRCH and ECHILD only mean it is gone already; the create error is what the user gets.
    let _gone = kill(pid, Signal::SIGKILL);
    let _reaped = waitpid(pid, None);
}

/// How a child that closed its channel ended: its wait status, waited for up to two seconds
/// (the channel closes a moment before the process is reaped), else killed.
fn vanished(pid: Pid) -> CreateError {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Ok(WaitStatus::StillAlive) => {
                abort_child(pid);
                return CreateError::ChildVanished("it closed its channel but did not exit".into());
            }
            Ok(status) => return CreateError::ChildVanished(describe_exit(status)),
            Err(e) => return CreateError::ChildVanished(format!("wait: {}", describe_errno(e))),
        }
    }
}

/// Builds the container and records each step in state.json before the next one, so that
/// `delete --force` finds whatever a create killed at any point left: the cgroup before it
/// is made, the init's pid as soon as it exists.
pub fn create(
    plan: &LaunchPlan,
    applied: &super::launch::Applied,
    dir: &ContainerDir,
    saved: &mut Saved,
    console: &Console<'_>,
) -> Result<Created, CreateError> {
    let prepared = match (&plan.cgroup, &applied.cgroup_layout) {
        (Some(cfg), Some(layout)) => Some(Cgroup::prepare(cfg, layout.clone())),
        _ => None,
    };
    saved.cgroup = prepared.as_ref().map(|p| p.record());
    dir.save(saved)?;
    let cgroup = match (prepared.map(|p| p.make()).transpose(), &plan.cgroup) {
        (Err(e), Some(cfg)) if cfg.rootless && crate::cgroups::is_denied(&e) => {
            match crate::cgroups::first_resource(cfg.resources.as_ref()) {
                Some(resource) => {
                    let uid = crate::rootless::euid();
                    return Err(CreateError::RootlessCgroup {
                        resource,
                        uid,
                        source: e,
                    });
                }
                None => {
                    crate::log::debug(&format!(
                        "rootless: no cgroup of its own ({}): none was asked for",
                        chain(&e)
                    ));
                    saved.cgroup = None;
                    dir.save(saved)?;
                    None
                }
            }
        }
        (made, _) => made?,
    };
    let result = spawn_and_sync(plan, applied, dir, saved, console, cgroup.as_ref());
    match result {
        Ok(console) => Ok(Created {
            pid: saved.pid,
            start_time: saved.start_time,
            cgroup,
            console,
        }),
        Err(e) => {
            if let Some(cg) = &cgroup {
                if let Err(d) = cg.destroy() {
                    crate::log::warn(&format!("remove the cgroup: {}", chain(&d)));
                }
            }
            Err(e)
        }
    }
}

fn spawn_and_sync(
    plan: &LaunchPlan,
    applied: &super::launch::Applied,
    dir: &ContainerDir,
    saved: &mut Saved,
    console: &Console<'_>,
    cgroup: Option<&Cgroup>,
) -> Result<Option<OwnedFd>, CreateError> {
    let gate = gate::listen_in(&dir.path)?;
    let (console, own_console) = connect_console(console, plan.process.terminal)?;
    let (parent_end, child_end) = Channel::pair()?;
    let parent_slot = std::cell::Cell::new(Some(parent_end));
    let mut entry = match cgroup {
        Some(cg) => cg.entry()?,
        None => Default::default(),
    };
    let clone_into = entry.clone_into.take();
    let userns = match &plan.namespaces.join_user {
        Some(p) => Some((
            std::fs::File::open(p).map_err(|e| CreateError::OpenUserns(p.clone(), e))?,
            p.clone(),
        )),
        None => None,
    };
    // In a user namespace the container's root may not search a source's parents: opened
    // here instead, by root (a rootless brick may not clone mounts of the host namespace; its
    // container's root is the user itself), unless a mount namespace is joined (its paths).
    let ns = &plan.namespaces;
    let host_side = ns.in_userns
        && !plan.id_writer.rootless
        && !ns.join.iter().any(|(f, _)| *f == CloneFlags::CLONE_NEWNS);
    let sources = rootfs::open_sources(&plan.rootfs, host_side)?;
    let saved_ns = nsenter::enter(
        &plan.namespaces.parent_join,
        plan.namespaces.new_timens.as_ref(),
    )?;
    let sources_slot = std::cell::RefCell::new(sources);
    // The init builds its hooks' state from the record saved so far (no pid yet).
    let hook_source = saved.clone();
    let init = || {
        // The child keeps only its own end, so EOF on either side means the other is gone.
        drop(parent_slot.take());
        let handoff = init_flow::Handoff {
            ch: child_end,
            gate,
            console,
            cgroup: entry,
            seccomp: applied.seccomp.as_ref(),
            saved: &hook_source,
            sources: std::mem::take(&mut *sources_slot.borrow_mut()),
        };
        init_flow::run(plan, handoff)
    };
    let (flags, into) = (
        plan.namespaces.clone_flags,
        clone_into.as_ref().map(|f| f.as_fd()),
    );
    let spawned = match &userns {
        Some((file, path)) => spawn::spawn_in_userns(file, path, flags, into, init),
        None => spawn::spawn(flags, into, init),
    };
    let left = nsenter::leave(saved_ns);
    drop(clone_into);
    let spawn::Spawned { pid, in_cgroup } = spawned?;
    let Some(parent_end) = parent_slot.take() else {
        abort_child(pid);
        return Err(CreateError::ChildVanished(
            "brick lost its end of the channel".into(),
        ));
    };
    // From here on the child holds its own copies; a failure must kill it.
    let synced = left
        .map_err(CreateError::from)
        .and_then(|()| {
            saved.pid = pid.as_raw();
            saved.start_time = liveness::read_stat(pid.as_raw()).map_or(0, |s| s.start_time);
            Ok(dir.save(saved)?)
        })
        .and_then(|()| sync(plan, saved, pid, &parent_end, cgroup, in_cgroup))
        .map_err(|e| queued_child_error(&parent_end).unwrap_or(e));
    match synced {
        Ok(()) => Ok(own_console),
        Err(CreateError::ChildVanished(_)) => Err(vanished(pid)),
        Err(e) => {
            abort_child(pid);
            Err(e)
        }
    }
}

fn sync(
    plan: &LaunchPlan,
    saved: &Saved,
    pid: Pid,
    ch: &Channel,
    cgroup: Option<&Cgroup>,
    cloned_into_cgroup: bool,
) -> Result<(), CreateError> {
    if plan.namespaces.new_userns {
        idmap::write_maps(pid, &plan.uid_map, &plan.gid_map, plan.id_writer)?;
    }
    ch.send(&ToChild::Go { pid: pid.as_raw() })?;
    // The child put itself in its cgroup (cgroups::Entry); we do only what it could not.
    if let Some(cg) = cgroup {
        cg.add_rest(pid.as_raw(), cloned_into_cgroup)?;
    }
    // Hooks see the mounts made so far, as with runc (mounts precede these hooks); without
    // hooks the child is not waited for here (one round trip fewer).
    if plan.has_runtime_hooks() {
        match ch.recv::<FromChild>()? {
            Some(FromChild::Mounted) => {}
            Some(FromChild::Error(e)) => return Err(CreateError::Child(e)),
            _ => return Err(CreateError::ChildVanished(String::new())),
        }
    }
    // prestart belongs (deprecated) to the start operation, so its hooks see "created".
    hooks::run(plan.hooks.prestart().as_ref(), "prestart", || {
        saved.oci_state(Status::Created, pid.as_raw())
    })?;
    hooks::run(
        plan.hooks.create_runtime().as_ref(),
        "createRuntime",
        || saved.oci_state(Status::Creating, pid.as_raw()),
    )?;
    // A child that failed already has its error queued: read it rather than the send's EPIPE.
    let _ = ch.send(&ToChild::Joined);
    loop {
        match ch.recv_with_fd::<FromChild>()? {
            Some((FromChild::Ready, _)) => return Ok(()),
            Some((FromChild::Error(e), _)) => return Err(CreateError::Child(e)),
            Some((FromChild::SeccompFd, fd)) => {
                let state = saved.oci_state(Status::Creating, pid.as_raw());
                forward_notify_fd(plan, fd, &state)?
            }
            Some((FromChild::Mounted, _)) | None => {
                return Err(CreateError::ChildVanished(String::new()))
            }
        }
    }
}

/// A child that failed first has its error queued: it explains our failure (EPIPE, ESRCH).
fn queued_child_error(ch: &Channel) -> Option<CreateError> {
    match ch.try_recv::<FromChild>() {
        Ok(Some(FromChild::Error(e))) => Some(CreateError::Child(e)),
        _ => None,
    }
}
