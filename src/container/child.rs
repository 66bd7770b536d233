//! The real implementation of the child's steps (steps.rs): each method makes the calls of
//! one step, with what the plan and the parent's handoff give it. The init and an exec'd
//! process share `Child`, and differ in their `Kind` (init_ops.rs, exec_ops.rs).

use super::steps::{Common, Step};
use super::{caps, exec, fds, identity, labels, procfs, seccomp};
use crate::cgroups::Entry;
use crate::ipc::{Channel, IpcError};
use crate::lsm::Lsm;
use crate::plan::process::{CapSets, ProcessPlan};
use crate::seccomp::SeccompProgram;
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// What differs between the init and an exec'd process in the shared steps.
pub trait Kind {
    /// After a credential change (the init re-arms its parent-death signal).
    fn credentials_changed(&mut self, report: &Channel) -> Step;
    /// Right before execve (the init's startContainer hooks).
    fn before_exec(&mut self) -> Step;
    /// A seccomp notify fd, to whoever `report` reaches, in that side's message.
    fn send_notify_fd(&self, report: &Channel, fd: BorrowedFd<'_>) -> Result<(), IpcError>;
}

/// A container process on its way to execve.
pub struct Child<'a, K> {
    pub process: &'a ProcessPlan,
    pub lsm: Lsm,
    pub id: &'a str,
    /// Whether to join a fresh session keyring (--no-new-keyring says no).
    pub new_keyring: bool,
    pub seccomp: Option<&'a SeccompProgram>,
    /// Where failures and a seccomp notify fd go: brick, or `brick start` after the gate.
    pub report: Channel,
    pub cgroup: Option<Entry>,
    pub proc: Option<procfs::Proc>,
    /// Made dumpable for its procfs writes (a new user namespace's init, which nothing else
    /// is in yet); never an exec'd process, which the container's own could then ptrace.
    pub dumpable_for_procfs: bool,
    pub kind: K,
}

impl<K: Kind> Common for Child<'_, K> {
    fn join_cgroup(&mut self) -> Step {
        match self.cgroup.take() {
            Some(entry) => Ok(entry.join_self()?),
            None => Ok(()),
        }
    }

    fn open_procfs(&mut self, needed: bool) -> Step {
        if needed && self.dumpable_for_procfs {
            // A non-dumpable process's /proc/self belongs to the host's root, which the user
            // namespace does not map: dumpable while only brick's code runs here.
            procfs::set_dumpable(true)?;
        }
        self.proc = procfs::Proc::open_if(needed)?;
        Ok(())
    }

    fn write_oom_score_adj(&mut self, adj: Option<i32>) -> Step {
        match &self.proc {
            Some(proc) => Ok(proc.write_oom_score_adj(adj)?),
            None => Ok(()),
        }
    }

    fn label_keyring(&mut self) -> Step {
        match &self.proc {
            Some(proc) => Ok(labels::keycreate(
                proc,
                self.lsm,
                self.process.selinux_label.as_deref(),
            )?),
            None => Ok(()),
        }
    }

    fn join_session_keyring(&mut self) -> Step {
        Ok(identity::join_session_keyring(self.new_keyring, self.id)?)
    }

    fn set_rlimits(&mut self) -> Step {
        Ok(identity::set_rlimits(&self.process.rlimits)?)
    }

    fn apply_labels(&mut self) -> Step {
        let p = self.process;
        match &self.proc {
            Some(proc) => Ok(labels::apply(
                proc,
                self.lsm,
                p.selinux_label.as_deref(),
                p.apparmor_profile.as_deref(),
            )?),
            None => Ok(()),
        }
    }

    fn close_procfs(&mut self) -> Step {
        if self.proc.take().is_some() && self.dumpable_for_procfs {
            procfs::set_dumpable(false)?;
        }
        Ok(())
    }

    fn cloexec_from(&mut self, first: u32) -> Step {
        Ok(fds::cloexec_from(first)?)
    }

    fn resolve_exe(&mut self, p: &ProcessPlan) -> Step<CString> {
        Ok(exec::resolve(p)?)
    }

    fn default_sigpipe(&mut self) -> Step {
        Ok(exec::default_sigpipe()?)
    }

    fn load_seccomp(&mut self) -> Step {
        let Some(prog) = self.seccomp else {
            return Ok(());
        };
        // A notify fd goes to brick, which hands it to listenerPath (the container's root
        // cannot reach the host's socket).
        if let Some(fd) = seccomp::load(prog)? {
            self.kind.send_notify_fd(&self.report, fd.as_fd())?;
        }
        Ok(())
    }

    fn drop_bounding(&mut self, sets: &CapSets) -> Step {
        Ok(caps::drop_bounding(sets)?)
    }

    fn switch_user(&mut self, uid: u32, gid: u32, groups: &[u32]) -> Step {
        Ok(identity::switch_user(uid, gid, groups)?)
    }

    fn credentials_changed(&mut self) -> Step {
        self.kind.credentials_changed(&self.report)
    }

    fn apply_caps(&mut self, sets: &CapSets) -> Step {
        Ok(caps::apply(sets)?)
    }

    fn enter_cwd(&mut self, cwd: &Path) -> Step {
        Ok(exec::enter_cwd(cwd)?)
    }

    fn set_umask(&mut self, umask: Option<u32>) {
        identity::set_umask(umask)
    }

    fn set_no_new_privs(&mut self) -> Step {
        Ok(identity::set_no_new_privs()?)
    }

    fn before_exec(&mut self) -> Step {
        self.kind.before_exec()
    }

    fn exec(&mut self, exe: &CString, p: &ProcessPlan) -> Step<Infallible> {
        Ok(exec::exec(exe, p)?)
    }
}
