//! What the verbs do to a container that exists: its live status, start, kill, delete.

use crate::cgroups::{Cgroup, CgroupError};
use crate::ipc::gate::{self, GateError};
use crate::ipc::{FromChild, IpcError};
use crate::process::hooks::{self, HookError};
use crate::state::{liveness, ContainerDir, Saved, Status, StoreError};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("container {0:?} is still being created")]
    Creating(String),
    #[error("cannot start a container that is {1} (only a created one): {0:?}")]
    NotCreated(String, Status),
    #[error("container not running")]
    NotRunning,
    #[error("cannot delete container {0:?} that is not stopped: {1} (use --force)")]
    NotStopped(String, Status),
    #[error("start")]
    Gate(#[from] GateError),
    #[error("start")]
    Ipc(#[from] IpcError),
    #[error("{0}")]
    Child(crate::ipc::ChildError),
    #[error("hooks")]
    Hook(#[from] HookError),
    #[error(transparent)]
    Listener(#[from] crate::host::create_flow::CreateError),
    #[error("cgroup")]
    Cgroup(#[from] CgroupError),
    #[error("send {1} to pid {0}")]
    Kill(i32, Signal, #[source] Errno),
}

pub struct Container {
    pub dir: ContainerDir,
    pub saved: Option<Saved>,
}

impl Container {
    /// The container, locked (for verbs that change it).
    pub fn load(root: &Path, id: &str) -> Result<Self, LifecycleError> {
        let dir = ContainerDir::open(root, id)?;
        let saved = dir.load()?;
        Ok(Container { dir, saved })
    }

    /// The container without its lock, for verbs that only read (state, list, ps, events).
    pub fn peek(root: &Path, id: &str) -> Result<Self, LifecycleError> {
        let dir = ContainerDir::peek(root, id)?;
        let saved = dir.load()?;
        Ok(Container { dir, saved })
    }

    fn cgroup(&self) -> Option<Cgroup> {
        let v = self.saved.as_ref()?.cgroup.clone()?;
        serde_json::from_value(v).ok()
    }

    /// The cgroup delete must clean up: the saved record, or where it does not parse, the
    /// default path (cleanup is never skipped because a record is unreadable).
    fn cgroup_for_cleanup(&self) -> Option<Cgroup> {
        let v = self.saved.as_ref()?.cgroup.clone()?;
        match serde_json::from_value(v) {
            Ok(cg) => Some(cg),
            Err(e) => {
                crate::log::warn(&format!(
                    "container {:?}: the cgroup record in state.json does not parse ({e}); cleaning the default cgroup path instead",
                    self.dir.id
                ));
                default_cgroup(&self.dir.id)
            }
        }
    }

    pub fn status(&self) -> Status {
        let Some(s) = &self.saved else {
            return Status::Creating;
        };
        let alive = liveness::is_alive(s.pid, s.start_time);
        let frozen = alive
            && matches!(s.status, Status::Running | Status::Paused)
            && self
                .cgroup()
                .is_some_and(|c| c.is_frozen().unwrap_or(false));
        crate::state::status::current(s.status, alive, frozen)
    }

    /// The OCI state, as `state` prints it and hooks read it.
    pub fn oci_state(&self) -> serde_json::Value {
        let status = self.status();
        let Some(s) = &self.saved else {
            return serde_json::json!({"ociVersion": crate::SPEC_VERSION, "id": self.dir.id, "status": "creating", "pid": 0, "bundle": ""});
        };
        s.oci_state(status, if status == Status::Stopped { 0 } else { s.pid })
    }

    fn saved_or_creating(&self) -> Result<&Saved, LifecycleError> {
        self.saved
            .as_ref()
            .ok_or_else(|| LifecycleError::Creating(self.dir.id.clone()))
    }

    /// Opens the start gate; Ok once the container has exec'd its process.
    pub fn start(&mut self) -> Result<(), LifecycleError> {
        let status = self.status();
        if status != Status::Created {
            return Err(LifecycleError::NotCreated(self.dir.id.clone(), status));
        }
        let ch = gate::open(&self.dir.path)?;
        let result = self.await_exec(&ch);
        let _ = std::fs::remove_file(self.dir.file(gate::GATE_NAME));
        result?;
        let saved = self
            .saved
            .as_mut()
            .ok_or_else(|| LifecycleError::Creating(self.dir.id.clone()))?;
        saved.status = Status::Running;
        self.dir.save(saved)?;
        // The process was executed: poststart sees "running" even if it has already exited.
        let hooks = self.saved.as_ref().and_then(|s| s.hooks.clone());
        let poststart = hooks::run(
            hooks.as_ref().and_then(|h| h.poststart().as_ref()),
            "poststart",
            || self.state_as(Status::Running),
        );
        // Spec v1.3: a failing poststart hook is an error, and the container is stopped.
        if let Err(e) = poststart {
            if let Err(stop) = self.stop() {
                crate::log::warn(&crate::error::chain(&stop));
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// SIGKILL to every process of the container, waiting until its init is gone.
    fn stop(&self) -> Result<(), LifecycleError> {
        let Some(s) = &self.saved else {
            return Ok(());
        };
        if let Some(cg) = self.cgroup_for_cleanup() {
            // A frozen cgroup would hold SIGKILL; without a freezer there is nothing to thaw.
            match cg.thaw() {
                Ok(()) | Err(CgroupError::NoFreezer) => {}
                Err(e) => return Err(e.into()),
            }
            cg.kill_all(libc::SIGKILL)?;
        }
        kill_init(s.pid, s.start_time)
    }

    /// The state as of a lifecycle step, not the live one: the workload may already have exited.
    fn state_as(&self, status: Status) -> serde_json::Value {
        match &self.saved {
            Some(s) => s.oci_state(status, s.pid),
            None => self.oci_state(),
        }
    }

    /// Reads the gate until it closes at execve; forwards a seccomp notify fd on the way.
    fn await_exec(&self, ch: &crate::ipc::Channel) -> Result<(), LifecycleError> {
        loop {
            match ch.recv_with_fd::<FromChild>()? {
                None | Some((FromChild::Ready, _)) => return Ok(()),
                Some((FromChild::Mounted, _)) => {
                    return Err(crate::ipc::IpcError::Decode("unexpected message".into()).into())
                }
                Some((FromChild::Error(e), _)) => return Err(LifecycleError::Child(e)),
                Some((FromChild::SeccompFd, fd)) => {
                    let target = self
                        .saved
                        .as_ref()
                        .and_then(|s| s.seccomp_listener.clone())
                        .map(|(listener_path, metadata)| crate::seccomp::NotifyTarget {
                            listener_path,
                            metadata,
                        });
                    crate::host::create_flow::forward_to_listener(
                        target.as_ref(),
                        fd,
                        &self.state_as(Status::Created),
                    )?;
                }
            }
        }
    }

    pub fn kill(&self, sig: Signal, all: bool) -> Result<(), LifecycleError> {
        let saved = self.saved_or_creating()?;
        if matches!(self.status(), Status::Stopped | Status::Creating) {
            return Err(LifecycleError::NotRunning);
        }
        if all {
            if let Some(cg) = self.cgroup() {
                return Ok(cg.kill_all(sig as i32)?);
            }
        }
        kill(Pid::from_raw(saved.pid), sig).map_err(|e| LifecycleError::Kill(saved.pid, sig, e))
    }

    /// Kills what is left (force or created), removes the cgroup, runs poststop, removes state.
    pub fn delete(self, force: bool) -> Result<(), LifecycleError> {
        let status = self.status();
        match status {
            // The spec: deleting a container that is not stopped MUST fail (runc lets created go).
            Status::Created | Status::Running | Status::Paused if !force => {
                return Err(LifecycleError::NotStopped(self.dir.id.clone(), status))
            }
            Status::Creating if !force && self.saved.is_some() => {
                return Err(LifecycleError::Creating(self.dir.id.clone()))
            }
            _ => {}
        }
        if status != Status::Stopped {
            self.stop()?;
        }
        if let Some(cg) = self.cgroup_for_cleanup() {
            cg.destroy()?;
        }
        let hooks = self.saved.as_ref().and_then(|s| s.hooks.clone());
        // The spec: a failing poststop hook is a warning, and the remaining hooks still run.
        hooks::run_warn(
            hooks.as_ref().and_then(|h| h.poststop().as_ref()),
            "poststop",
            || match &self.saved {
                Some(s) => s.oci_state(Status::Stopped, 0),
                None => self.oci_state(),
            },
        );
        self.dir.remove()?;
        Ok(())
    }
}

/// The whole of `delete`: as runc, a container that is already gone is fine when forced, and
/// a forced delete still cleans up a container whose state.json does not load.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<(), LifecycleError> {
    let dir = match ContainerDir::open(root, id) {
        Ok(dir) => dir,
        Err(StoreError::NotExist(_)) if force => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    match dir.load() {
        Ok(saved) => Container { dir, saved }.delete(force),
        Err(e @ (StoreError::Parse(..) | StoreError::Input(_))) if force => {
            crate::log::warn(&format!(
                "container {id:?}: {}; removing it by what can still be read",
                crate::error::chain(&e)
            ));
            delete_unreadable(dir)
        }
        Err(e) => Err(e.into()),
    }
}

/// `delete --force` of a container whose state.json does not load: kill what the readable
/// part names (else the default cgroup path), then remove its directory.
pub fn delete_unreadable(dir: ContainerDir) -> Result<(), LifecycleError> {
    let part = dir.salvage(&["pid", "start_time", "cgroup"]);
    let num = |k: &str| part.get(k).and_then(|v| v.as_i64());
    let record = part.get("cgroup").cloned();
    let cgroup = match record.map(serde_json::from_value::<Cgroup>) {
        Some(Ok(cg)) => Some(cg),
        // No readable record: the default path is where a container of this id would be.
        _ => default_cgroup(&dir.id),
    };
    if let Some(cg) = &cgroup {
        match cg.thaw() {
            Ok(()) | Err(CgroupError::NoFreezer) => {}
            Err(e) => return Err(e.into()),
        }
        cg.destroy()?;
    }
    if let (Some(pid), Some(start)) = (num("pid"), num("start_time")) {
        kill_init(pid as i32, start as u64)?;
    }
    dir.remove()?;
    Ok(())
}

/// The cgroup a container with this id gets when config.json names none.
fn default_cgroup(id: &str) -> Option<Cgroup> {
    let cfg = crate::cgroups::plan(None, id, false).ok()?;
    Cgroup::load(&cfg).ok()
}

/// SIGKILL to the init if it is still the process we started, then wait until it is gone.
fn kill_init(pid: i32, start_time: u64) -> Result<(), LifecycleError> {
    // pid 0 would signal our own process group; a reused pid is not our container.
    if !liveness::is_alive(pid, start_time) {
        return Ok(());
    }
    match kill(Pid::from_raw(pid), Signal::SIGKILL) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => return Err(LifecycleError::Kill(pid, Signal::SIGKILL, e)),
    }
    wait_gone(pid, start_time);
    Ok(())
}

/// Waits (up to 10 s) until the process is gone or a zombie, through a pidfd where we can.
pub fn wait_gone(pid: i32, start_time: u64) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if raw >= 0 {
        // SAFETY: a new fd from the kernel that we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the call.
        unsafe { libc::poll(&mut pfd, 1, 10_000) };
        return;
    }
    for _ in 0..1000 {
        if !liveness::is_alive(pid, start_time) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
