//! An exec'd process's steps with the real calls (the order is exec_flow.rs's).

use super::child::{Child, Kind};
use super::console;
use super::exec_flow::ExecMsg;
use super::steps::{ExecSteps, Step};
use crate::ipc::{Channel, IpcError};
use crate::plan::exec::ExecPlan;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// What only an exec'd process has: its plan and the console socket.
pub struct Exec<'a> {
    pub plan: &'a ExecPlan,
    pub console: Option<OwnedFd>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecOpsError {
    #[error("brick exec went away before the process was in the container's cgroup")]
    NoGo,
    #[error("chdir to process.cwd {0:?}")]
    Chdir(PathBuf, #[source] nix::errno::Errno),
    #[error("process.cwd {0:?} is outside the container's root")]
    CwdOutside(PathBuf),
}

impl Kind for Exec<'_> {
    fn credentials_changed(&mut self, _report: &Channel) -> Step {
        // brick exec does not wait on its process before Go: no parent-death signal to renew.
        Ok(())
    }

    fn before_exec(&mut self) -> Step {
        Ok(())
    }

    fn send_notify_fd(&self, report: &Channel, fd: BorrowedFd<'_>) -> Result<(), IpcError> {
        report.send_with_fd(&ExecMsg::SeccompFd, fd)
    }
}

impl ExecSteps for Child<'_, Exec<'_>> {
    fn wait_go(&mut self) -> Step {
        match self.report.recv::<ExecMsg>()? {
            Some(ExecMsg::Go) => Ok(()),
            _ => Err(ExecOpsError::NoGo.into()),
        }
    }

    fn enter_cwd_checked(&mut self, cwd: &Path) -> Step {
        let err = |e| ExecOpsError::Chdir(cwd.to_path_buf(), e);
        nix::unistd::chdir(cwd).map_err(err)?;
        let now = nix::unistd::getcwd().map_err(err)?;
        if !now.is_absolute() || now.starts_with("(unreachable)") {
            return Err(ExecOpsError::CwdOutside(cwd.to_path_buf()).into());
        }
        Ok(())
    }

    fn attach_console(&mut self) -> Step {
        match self.kind.console.take() {
            Some(sock) => Ok(console::attach_pty(sock, self.kind.plan.console_size).map(drop)?),
            None => Ok(()),
        }
    }
}
