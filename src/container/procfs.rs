//! Writes to procfs only through a handle verified to be the root of a real procfs, walking
//! with openat2 so no symlink or other mount is crossed (fake-/proc and redirect attacks).

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use thiserror::Error;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const PROC_ROOT_INO: u64 = 1;

#[derive(Debug, Error)]
pub enum ProcfsError {
    #[error("open /proc")]
    Open(#[source] Errno),
    #[error("/proc is not the root of a procfs mount")]
    NotProcfs,
    #[error("open /proc/{0}")]
    OpenFile(String, #[source] Errno),
    #[error("write {value:?} to /proc/{path}")]
    Write {
        path: String,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("/proc/thread-self points at {0:?}, not PID/task/TID")]
    ThreadSelf(String),
    #[error("prctl(PR_SET_DUMPABLE)")]
    Dumpable(#[source] Errno),
}

pub fn set_dumpable(on: bool) -> Result<(), ProcfsError> {
    // SAFETY: plain prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0) };
    if r < 0 {
        return Err(ProcfsError::Dumpable(Errno::last()));
    }
    Ok(())
}

fn is_procfs(fd: &OwnedFd) -> Result<bool, Errno> {
    let fs = nix::sys::statfs::fstatfs(fd)?;
    Ok(fs.filesystem_type().0 as i64 == PROC_SUPER_MAGIC)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

/// openat2 beneath `dir`, following no link and crossing no mount.
fn openat_strict(dir: &OwnedFd, path: &str, flags: OFlag) -> Result<OwnedFd, Errno> {
    let cpath = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow {
        flags: (flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW).bits() as u64,
        mode: 0,
        resolve: RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH,
    };
    // SAFETY: valid fd, NUL-terminated path and an open_how of the size we pass.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            cpath.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new fd from the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// Where this procfs keeps the calling thread: its thread-self link, read through the
/// verified root. getpid() would name another process when /proc belongs to another pid
/// namespace (a bind of the host's /proc: pid 1 there is the host's init).
fn own_thread_dir(root: &OwnedFd) -> Result<String, ProcfsError> {
    let target = nix::fcntl::readlinkat(root, "thread-self")
        .map_err(|e| ProcfsError::OpenFile("thread-self".into(), e))?;
    let text = target.to_string_lossy().into_owned();
    match is_thread_dir(&text) {
        true => Ok(text),
        false => Err(ProcfsError::ThreadSelf(text)),
    }
}

/// "PID/task/TID" and nothing else.
fn is_thread_dir(text: &str) -> bool {
    let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = text.split('/').collect();
    matches!(parts.as_slice(), [pid, "task", tid] if number(pid) && number(tid))
}

pub struct Proc {
    root: OwnedFd,
    /// "PID/task/TID" of the calling thread as this procfs numbers it (its own pid namespace).
    thread: String,
}

impl Proc {
    /// The container's /proc, after pivot_root; refused unless it is a procfs root.
    pub fn open() -> Result<Self, ProcfsError> {
        let root = nix::fcntl::open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(ProcfsError::Open)?;
        let st = nix::sys::stat::fstat(&root).map_err(ProcfsError::Open)?;
        if !is_procfs(&root).map_err(ProcfsError::Open)? || st.st_ino != PROC_ROOT_INO {
            return Err(ProcfsError::NotProcfs);
        }
        let thread = own_thread_dir(&root)?;
        Ok(Proc { root, thread })
    }

    /// Only opened when something must be written, so a config without /proc still runs.
    pub fn open_if(needed: bool) -> Result<Option<Self>, ProcfsError> {
        if needed {
            Self::open().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Writes `value` to /proc/<rel> after checking the opened file is on procfs too.
    pub fn write(&self, rel: &str, value: &str) -> Result<(), ProcfsError> {
        let fd = openat_strict(&self.root, rel, OFlag::O_WRONLY)
            .map_err(|e| ProcfsError::OpenFile(rel.to_string(), e))?;
        if !is_procfs(&fd).map_err(|e| ProcfsError::OpenFile(rel.to_string(), e))? {
            return Err(ProcfsError::NotProcfs);
        }
        std::fs::File::from(fd)
            .write_all(value.as_bytes())
            .map_err(|source| ProcfsError::Write {
                path: rel.to_string(),
                value: value.to_string(),
                source,
            })
    }

    /// The calling thread's own directory in this procfs, spelled without the symlink.
    pub fn thread_dir(&self) -> &str {
        &self.thread
    }

    pub fn exists(&self, rel: &str) -> bool {
        openat_strict(&self.root, rel, OFlag::O_PATH).is_ok()
    }

    /// Each (file under /proc, value) the plan made of linux.sysctl.
    pub fn write_sysctls(&self, list: &[(String, String)]) -> Result<(), ProcfsError> {
        for (name, value) in list {
            self.write(name, value)?;
        }
        Ok(())
    }

    pub fn write_oom_score_adj(&self, adj: Option<i32>) -> Result<(), ProcfsError> {
        match adj {
            Some(v) => self.write(&format!("{}/oom_score_adj", self.thread), &v.to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_dir_is_pid_task_tid_only() {
        assert!(is_thread_dir("12/task/13"));
        for bad in [
            "12/task",
            "../1/task/1",
            "12/task/13/x",
            "a/task/1",
            "1/tasks/1",
            "",
        ] {
            assert!(!is_thread_dir(bad), "{bad}");
        }
    }

    #[test]
    fn own_thread_dir_names_this_thread() {
        let root = nix::fcntl::open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        // SAFETY: gettid cannot fail.
        let tid = unsafe { libc::gettid() };
        let dir = own_thread_dir(&root).unwrap();
        assert!(dir.ends_with(&format!("/task/{tid}")), "{dir}");
    }
}
