//! The init's steps with the real calls (the order is init_flow.rs's).

use super::child::{Child, Kind};
use super::steps::{InitSteps, Step};
use super::{console, exec, fds, identity, namespaces, parent_death, procfs, rootfs};
use crate::ipc::{gate, Channel, FromChild, IpcError, ToChild};
use crate::plan::LaunchPlan;
use crate::process::hooks;
use crate::state::{Saved, Status};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

/// What only the init has: its plan, the record its hooks' state comes from, the start
/// gate, the console socket, the mounts staged before the cgroup join, its pid.
pub struct Init<'a> {
    pub plan: &'a LaunchPlan,
    pub saved: &'a Saved,
    pub gate: Option<OwnedFd>,
    pub console: Option<OwnedFd>,
    pub staged: Option<rootfs::Staged>,
    /// Bind sources brick opened before the clone (rootfs/sources.rs), until prepare.
    pub sources: Option<rootfs::Sources>,
    /// As the host sees it (from Go), for the state hooks read.
    pub pid: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum InitOpsError {
    #[error("brick went away before the container was ready")]
    ParentGone,
    #[error("unexpected message from brick")]
    Unexpected,
    #[error("the start gate was used already")]
    NoGate,
}

impl Kind for Init<'_> {
    fn credentials_changed(&mut self, report: &Channel) -> Step {
        Ok(parent_death::arm(report)?)
    }

    fn before_exec(&mut self) -> Step {
        let (plan, saved, pid) = (self.plan, self.saved, self.pid);
        let state = || saved.oci_state(Status::Created, pid);
        Ok(hooks::run(
            plan.hooks.start_container().as_ref(),
            "startContainer",
            state,
        )?)
    }

    fn send_notify_fd(&self, report: &Channel, fd: BorrowedFd<'_>) -> Result<(), IpcError> {
        report.send_with_fd(&FromChild::SeccompFd, fd)
    }
}

impl Child<'_, Init<'_>> {
    /// The fds this process works with: the channel, the gate, the console, its cgroup entry
    /// the --log file and the opened bind sources; every other fd it inherited is brick's.
    fn used_fds(&self) -> Vec<RawFd> {
        let mut used = vec![self.report.as_fd().as_raw_fd()];
        used.extend(self.kind.gate.as_ref().map(|g| g.as_raw_fd()));
        used.extend(self.kind.console.as_ref().map(|c| c.as_raw_fd()));
        used.extend(self.cgroup.iter().flat_map(|c| c.raw_fds()));
        used.extend(crate::log::raw_fd());
        used.extend(self.kind.sources.iter().flat_map(|s| s.raw_fds()));
        used
    }
}

impl InitSteps for Child<'_, Init<'_>> {
    fn close_inherited_fds(&mut self) -> Step {
        let used = self.used_fds();
        Ok(fds::close_all_but(3 + self.kind.plan.preserve_fds, &used)?)
    }

    fn arm_parent_death(&mut self) -> Step {
        Ok(parent_death::arm(&self.report)?)
    }

    fn disarm_parent_death(&mut self) -> Step {
        Ok(parent_death::disarm()?)
    }

    fn set_not_dumpable(&mut self) -> Step {
        Ok(procfs::set_dumpable(false)?)
    }

    fn wait_go(&mut self) -> Step<i32> {
        match self.report.recv::<ToChild>()? {
            Some(ToChild::Go { pid }) => {
                self.kind.pid = pid;
                Ok(pid)
            }
            Some(_) => Err(InitOpsError::Unexpected.into()),
            None => Err(InitOpsError::ParentGone.into()),
        }
    }

    fn join_namespaces(&mut self) -> Step {
        Ok(namespaces::join(&self.kind.plan.namespaces.join)?)
    }

    fn become_ns_root(&mut self) -> Step {
        Ok(identity::become_ns_root(
            self.kind.plan.namespaces.in_userns,
        )?)
    }

    fn prepare_mounts(&mut self) -> Step {
        let sources = self.kind.sources.take().unwrap_or_default();
        self.kind.staged = Some(rootfs::prepare(&self.kind.plan.rootfs, sources)?);
        Ok(())
    }

    fn report_mounted(&mut self) -> Step {
        Ok(self.report.send(&FromChild::Mounted)?)
    }

    fn wait_joined(&mut self) -> Step {
        match self.report.recv::<ToChild>()? {
            Some(ToChild::Joined) => Ok(()),
            Some(_) => Err(InitOpsError::Unexpected.into()),
            None => Err(InitOpsError::ParentGone.into()),
        }
    }

    fn new_ipcns(&mut self) -> Step {
        Ok(namespaces::new_ipcns(self.kind.plan.namespaces.late_ipcns)?)
    }

    fn new_cgroupns(&mut self) -> Step {
        Ok(namespaces::new_cgroupns(
            self.kind.plan.namespaces.new_cgroupns,
        )?)
    }

    fn prepare_rest_mounts(&mut self) -> Step {
        let plan = self.kind.plan;
        match self.kind.staged.take() {
            Some(staged) => Ok(rootfs::prepare_rest(&plan.rootfs, staged)?),
            None => Err(InitOpsError::Unexpected.into()),
        }
    }

    fn create_container_hooks(&mut self) -> Step {
        let (plan, saved, pid) = (self.kind.plan, self.kind.saved, self.kind.pid);
        let state = || saved.oci_state(Status::Creating, pid);
        Ok(hooks::run(
            plan.hooks.create_container().as_ref(),
            "createContainer",
            state,
        )?)
    }

    fn enter_root(&mut self) -> Step {
        Ok(rootfs::enter(&self.kind.plan.rootfs)?)
    }

    fn ensure_cwd(&mut self, cwd: &Path) -> Step {
        Ok(exec::ensure_cwd(cwd)?)
    }

    fn setup_console(&mut self) -> Step {
        let size = self
            .kind
            .plan
            .spec
            .process()
            .as_ref()
            .and_then(|p| p.console_size());
        Ok(console::setup(self.kind.console.take(), size)?)
    }

    fn set_names(&mut self) -> Step {
        let plan = self.kind.plan;
        Ok(namespaces::set_names(
            plan.hostname.as_deref(),
            plan.domainname.as_deref(),
        )?)
    }

    fn write_sysctls(&mut self) -> Step {
        match &self.proc {
            Some(proc) => Ok(proc.write_sysctls(&self.kind.plan.sysctl)?),
            None => Ok(()),
        }
    }

    fn finalize_rootfs(&mut self) -> Step {
        Ok(rootfs::finalize(&self.kind.plan.rootfs)?)
    }

    fn send_ready(&mut self) -> Step {
        Ok(self.report.send(&FromChild::Ready)?)
    }

    fn wait_start(&mut self) -> Step {
        let listener = self.kind.gate.take().ok_or(InitOpsError::NoGate)?;
        self.report = gate::wait(listener)?;
        Ok(())
    }
}
