//! Namespace steps inside the child: join by path, a late cgroup namespace, host and domain names.

use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NamespaceError {
    #[error("open {0:?}")]
    Open(PathBuf, #[source] std::io::Error),
    #[error("join {0:?}")]
    Join(PathBuf, #[source] nix::errno::Errno),
    #[error("new cgroup namespace")]
    Cgroupns(#[source] nix::errno::Errno),
    #[error("new IPC namespace")]
    Ipcns(#[source] nix::errno::Errno),
    #[error("sethostname {0:?}")]
    Hostname(String, #[source] nix::errno::Errno),
    #[error("setdomainname {0:?}")]
    Domainname(String, #[source] nix::errno::Errno),
}

pub fn join(list: &[(CloneFlags, PathBuf)]) -> Result<(), NamespaceError> {
    for (flag, path) in list {
        let f = File::open(path).map_err(|e| NamespaceError::Open(path.clone(), e))?;
        setns(f.as_fd(), *flag).map_err(|e| NamespaceError::Join(path.clone(), e))?;
    }
    Ok(())
}

pub fn new_ipcns(wanted: bool) -> Result<(), NamespaceError> {
    if wanted {
        unshare(CloneFlags::CLONE_NEWIPC).map_err(NamespaceError::Ipcns)?;
    }
    Ok(())
}

pub fn new_cgroupns(wanted: bool) -> Result<(), NamespaceError> {
    if wanted {
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(NamespaceError::Cgroupns)?;
    }
    Ok(())
}

pub fn set_names(hostname: Option<&str>, domainname: Option<&str>) -> Result<(), NamespaceError> {
    if let Some(h) = hostname {
        nix::unistd::sethostname(h).map_err(|e| NamespaceError::Hostname(h.into(), e))?;
    }
    if let Some(d) = domainname {
        // SAFETY: the pointer and length describe `d`'s bytes for the duration of the call.
        let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
        if r != 0 {
            return Err(NamespaceError::Domainname(
                d.into(),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}
