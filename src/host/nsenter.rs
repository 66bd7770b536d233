//! Namespaces the parent enters before clone because they only apply to its children (pid,
//! time) or must be entered before a new user namespace exists (net, ipc, uts, cgroup), and
//! leaves again after, so that hooks it runs later stay in the runtime's namespaces.

use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NsEnterError {
    #[error("open namespace {0:?}")]
    Open(PathBuf, #[source] std::io::Error),
    #[error("setns {0:?}")]
    Setns(PathBuf, #[source] nix::errno::Errno),
    #[error("new time namespace")]
    Unshare(#[source] nix::errno::Errno),
    #[error("write {0:?} to /proc/self/timens_offsets")]
    Offsets(String, #[source] std::io::Error),
    #[error("namespace type {0:#x} cannot be joined by the runtime")]
    Kind(i32),
    #[error("return to the runtime's own namespace {0:?}")]
    Leave(PathBuf, #[source] nix::errno::Errno),
}

/// The parent's own namespaces, to return to after clone.
pub struct Saved(Vec<(CloneFlags, File, PathBuf)>);

fn open(path: &Path) -> Result<File, NsEnterError> {
    File::open(path).map_err(|e| NsEnterError::Open(path.to_path_buf(), e))
}

/// The /proc/self/ns entry of a namespace type the parent may join.
pub fn own_entry(flag: CloneFlags) -> Result<&'static str, NsEnterError> {
    let names = [
        (CloneFlags::CLONE_NEWNET, "net"),
        (CloneFlags::CLONE_NEWIPC, "ipc"),
        (CloneFlags::CLONE_NEWUTS, "uts"),
        (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
        // The active pid and time namespaces: setns back to one's own is always allowed.
        (CloneFlags::CLONE_NEWPID, "pid"),
        (CloneFlags::from_bits_retain(libc::CLONE_NEWTIME), "time"),
    ];
    names
        .iter()
        .find(|(f, _)| *f == flag)
        .map(|(_, n)| *n)
        .ok_or(NsEnterError::Kind(flag.bits()))
}

/// Each joined type's own namespace is saved first, so leave() can return to exactly it.
pub fn enter(
    joins: &[(CloneFlags, PathBuf)],
    new_time: Option<&Vec<(String, i64, u32)>>,
) -> Result<Saved, NsEnterError> {
    let mut saved = Saved(Vec::new());
    let timens = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    for (flag, path) in joins {
        let own = PathBuf::from(format!("/proc/self/ns/{}", own_entry(*flag)?));
        saved.0.push((*flag, open(&own)?, own));
        let target = open(path)?;
        if let Err(e) = setns(target.as_fd(), *flag) {
            // Undo what was joined so far before reporting; the setns error is the cause.
            let _undone = leave(saved);
            return Err(NsEnterError::Setns(path.clone(), e));
        }
    }
    if let Some(offsets) = new_time {
        let own = PathBuf::from("/proc/self/ns/time");
        saved.0.push((timens, open(&own)?, own));
        unshare(timens).map_err(NsEnterError::Unshare)?;
        let text: String = offsets
            .iter()
            .map(|(clock, secs, nanos)| format!("{clock} {secs} {nanos}\n"))
            .collect();
        if !text.is_empty() {
            std::fs::write("/proc/self/timens_offsets", &text)
                .map_err(|e| NsEnterError::Offsets(text.trim_end().to_string(), e))?;
        }
    }
    Ok(saved)
}

/// Back to the namespaces we started in, in reverse order; a failure is an error, because
/// everything brick does after (hooks, cleanup) would otherwise run in the container's.
pub fn leave(saved: Saved) -> Result<(), NsEnterError> {
    let mut first_err = None;
    for (flag, file, path) in saved.0.into_iter().rev() {
        if let Err(e) = setns(file.as_fd(), flag) {
            first_err.get_or_insert(NsEnterError::Leave(path, e));
        }
    }
    first_err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_saves_its_own_namespace() {
        assert_eq!(own_entry(CloneFlags::CLONE_NEWNET).unwrap(), "net");
        assert_eq!(own_entry(CloneFlags::CLONE_NEWIPC).unwrap(), "ipc");
        assert_eq!(own_entry(CloneFlags::CLONE_NEWUTS).unwrap(), "uts");
        assert_eq!(own_entry(CloneFlags::CLONE_NEWCGROUP).unwrap(), "cgroup");
        assert_eq!(own_entry(CloneFlags::CLONE_NEWPID).unwrap(), "pid");
        assert!(own_entry(CloneFlags::CLONE_NEWUSER).is_err());
    }
}
