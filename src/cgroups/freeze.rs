//! Freeze, thaw and signal every process of a cgroup (v1 freezer or v2 cgroup.freeze/kill).

use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::fsio::{has_file, procs_recursive, read_file, write_file};
use super::CgroupError;

/// Where the freezer of a cgroup lives.
#[derive(Debug, Clone, Copy)]
pub enum Freezer<'a> {
    /// v1 freezer controller directory (freezer.state).
    V1(&'a Path),
    /// cgroup2 directory (cgroup.freeze, cgroup.events).
    V2(&'a Path),
}

/// Polls of the freezer state before giving up (about 5 s in total).
const POLLS: u32 = 500;

impl<'a> Freezer<'a> {
    /// Freeze and wait until the kernel reports every task frozen; on timeout, thaw and fail.
    pub fn freeze(self) -> Result<(), CgroupError> {
        self.request(true)?;
        for i in 0..POLLS {
            if self.settled(true)? {
                return Ok(());
            }
            // A v1 freeze can stall on a task in uninterruptible sleep; asking again retries it.
            if i % 50 == 49 {
                self.request(true)?;
            }
            sleep(Duration::from_millis(10));
        }
        self.request(false)?;
        Err(CgroupError::Timeout {
            op: "freeze",
            path: self.dir().to_path_buf(),
        })
    }

    /// Thaw and wait until the kernel reports the cgroup running.
    pub fn thaw(self) -> Result<(), CgroupError> {
        // A cgroup that is not there holds nothing frozen (delete --force of what never made one).
        if !self.dir().exists() {
            return Ok(());
        }
        self.request(false)?;
        for _ in 0..POLLS {
            if self.settled(false)? {
                return Ok(());
            }
            sleep(Duration::from_millis(10));
        }
        Err(CgroupError::Timeout {
            op: "thaw",
            path: self.dir().to_path_buf(),
        })
    }

    /// Whether the cgroup has been asked to freeze (runc's "paused").
    pub fn is_frozen(self) -> Result<bool, CgroupError> {
        if !self.dir().exists() {
            return Ok(false);
        }
        match self {
            Freezer::V1(dir) => Ok(read_file(dir, "freezer.state")? != "THAWED"),
            Freezer::V2(dir) => Ok(read_file(dir, "cgroup.freeze")? == "1"),
        }
    }

    fn dir(self) -> &'a Path {
        match self {
            Freezer::V1(d) | Freezer::V2(d) => d,
        }
    }

    fn request(self, frozen: bool) -> Result<(), CgroupError> {
        match self {
            Freezer::V1(dir) => write_file(
                dir,
                "freezer.state",
                if frozen { "FROZEN" } else { "THAWED" },
            ),
            Freezer::V2(dir) => write_file(dir, "cgroup.freeze", if frozen { "1" } else { "0" }),
        }
    }

    fn settled(self, frozen: bool) -> Result<bool, CgroupError> {
        match self {
            Freezer::V1(dir) => {
                let want = if frozen { "FROZEN" } else { "THAWED" };
                Ok(read_file(dir, "freezer.state")? == want)
            }
            Freezer::V2(dir) => {
                let want = if frozen { "frozen 1" } else { "frozen 0" };
                Ok(read_file(dir, "cgroup.events")?.lines().any(|l| l == want))
            }
        }
    }
}

/// Signal every process in `procs_dir` (and its sub-cgroups).
/// SIGKILL uses cgroup.kill when `v2_dir` has it; otherwise the cgroup is frozen while the
/// pids are listed and signalled, so no process can fork or exit and hand its pid to another.
pub fn kill_all(
    procs_dir: &Path,
    freezer: Option<Freezer<'_>>,
    v2_dir: Option<&Path>,
    sig: Signal,
) -> Result<(), CgroupError> {
    if sig == Signal::SIGKILL {
        if let Some(dir) = v2_dir.filter(|d| has_file(d, "cgroup.kill")) {
            write_file(dir, "cgroup.kill", "1")?;
            // A v1-frozen task cannot act on SIGKILL until it is thawed.
            return match freezer {
                Some(f) if f.is_frozen()? => f.thaw(),
                _ => Ok(()),
            };
        }
    }
    let was_frozen = match freezer {
        Some(f) => f.is_frozen()?,
        None => false,
    };
    if let (Some(f), false) = (freezer, was_frozen) {
        f.freeze()?;
    }
    let result = signal_listed(procs_dir, sig);
    // A paused container stays paused, except that SIGKILL must be able to take effect.
    if let (Some(f), true) = (freezer, !was_frozen || sig == Signal::SIGKILL) {
        f.thaw()?;
    }
    result
}

fn signal_listed(procs_dir: &Path, sig: Signal) -> Result<(), CgroupError> {
    let mut pids = Vec::new();
    procs_recursive(procs_dir, &mut pids)?;
    for pid in pids {
        match kill(Pid::from_raw(pid), sig) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(source) => return Err(CgroupError::Signal { pid, source }),
        }
    }
    Ok(())
}
