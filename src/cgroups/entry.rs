//! How a new process enters its cgroup without a move by the parent. A v1 `cgroup.procs`
//! write of another pid takes the kernel's global threadgroup lock, whose first writer waits
//! out an RCU grace period (7-16 ms here). Two ways avoid it: clone3(CLONE_INTO_CGROUP) places
//! the child in the cgroup2 directory, and the single-threaded child writes "0" to each v1
//! `tasks` file, which moves only itself and takes no global lock (Linux >= 6.0).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode as FileMode;

use super::{Cgroup, CgroupError};

/// A v1 hierarchy's `tasks` file, opened by brick for the child to write.
pub struct TasksFile {
    path: PathBuf,
    fd: OwnedFd,
}

/// What the child needs to put itself in its cgroup.
#[derive(Default)]
pub struct Entry {
    /// The cgroup2 directory, for clone3(CLONE_INTO_CGROUP).
    pub clone_into: Option<OwnedFd>,
    tasks: Vec<TasksFile>,
}

impl Entry {
    /// The fds the child must keep open until it has joined (see fds::close_all_but).
    pub fn raw_fds(&self) -> impl Iterator<Item = std::os::fd::RawFd> + '_ {
        use std::os::fd::AsRawFd;
        let tasks = self.tasks.iter().map(|t| t.fd.as_raw_fd());
        self.clone_into.iter().map(|f| f.as_raw_fd()).chain(tasks)
    }

    /// Run by the child first, while it is the only thread: "0" means "this thread".
    pub fn join_self(self) -> Result<(), CgroupError> {
        for TasksFile { path, fd } in self.tasks {
            std::fs::File::from(fd)
                .write_all(b"0")
                .map_err(|source| CgroupError::Write {
                    path,
                    value: "0".into(),
                    source,
                })?;
        }
        Ok(())
    }
}

impl Cgroup {
    /// The entry for a new process; empty while a systemd scope is still to be made (it needs
    /// the pid, so `add_rest` moves the process then).
    pub fn entry(&self) -> Result<Entry, CgroupError> {
        if self.pending.borrow().is_some() {
            return Ok(Entry::default());
        }
        let clone_into = match &self.v2 {
            Some(dir) => Some(open_at(dir, OFlag::O_DIRECTORY | OFlag::O_RDONLY)?),
            None => None,
        };
        let freezer = self.v1.get("freezer");
        let mut dirs: Vec<PathBuf> = self.dirs();
        dirs.retain(|d| Some(d) != self.v2.as_ref());
        // A paused container's freezer stops us on the spot: join it last (exec --ignore-paused).
        dirs.sort_by_key(|d| Some(d) == freezer);
        let mut tasks = Vec::new();
        for dir in dirs {
            let path = dir.join("tasks");
            let fd = open_at(&path, OFlag::O_WRONLY)?;
            tasks.push(TasksFile { path, fd });
        }
        Ok(Entry { clone_into, tasks })
    }

    /// Whatever the child's entry could not do: the systemd scope (made now, with the pid in
    /// it), or the cgroup2 directory when clone3 fell back to clone(2).
    pub fn add_rest(&self, pid: i32, cloned_into: bool) -> Result<(), CgroupError> {
        if self.pending.borrow().is_some() {
            return self.add_pid(pid);
        }
        match (&self.v2, cloned_into) {
            (Some(dir), false) => super::fsio::write_file(dir, "cgroup.procs", &pid.to_string()),
            _ => Ok(()),
        }
    }
}

fn open_at(path: &std::path::Path, flags: OFlag) -> Result<OwnedFd, CgroupError> {
    open(path, flags | OFlag::O_CLOEXEC, FileMode::empty()).map_err(|source| CgroupError::Open {
        path: path.to_path_buf(),
        source,
    })
}
