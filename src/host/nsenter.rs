//! Namespaces the parent enters before clone because they only apply to its children (pid,
//! time), and leaves again after, so that hooks it runs later stay in the runtime's namespaces.

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
}

/// The parent's own namespaces, to return to after clone.
pub struct Saved(Vec<(CloneFlags, File, PathBuf)>);

fn open(path: &Path) -> Result<File, NsEnterError> {
    File::open(path).map_err(|e| NsEnterError::Open(path.to_path_buf(), e))
}

pub fn enter(
    joins: &[(CloneFlags, PathBuf)],
    new_time: Option<&Vec<(String, i64, u32)>>,
) -> Result<Saved, NsEnterError> {
    let mut saved = Vec::new();
    let timens = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
    for (flag, path) in joins {
        let name = if *flag == timens { "time" } else { "pid" };
        let own = PathBuf::from(format!("/proc/self/ns/{name}"));
        saved.push((*flag, open(&own)?, own));
        let target = open(path)?;
        setns(target.as_fd(), *flag).map_err(|e| NsEnterError::Setns(path.clone(), e))?;
    }
    if let Some(offsets) = new_time {
        let own = PathBuf::from("/proc/self/ns/time");
        saved.push((timens, open(&own)?, own));
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
    Ok(Saved(saved))
}

/// Back to the namespaces we started in; best effort, since create exits soon anyway.
pub fn leave(saved: Saved) {
    for (flag, file, _) in saved.0.into_iter().rev() {
        let _ = setns(file.as_fd(), flag);
    }
}
