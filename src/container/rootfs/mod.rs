//! The rootfs steps run inside the container child (already in its new mount namespace).
//!
//! Every config path is resolved inside the rootfs with openat2(RESOLVE_IN_ROOT), every mount
//! is made with the fd-based mount API onto the resolved fd, so no path string is walked twice
//! and no image symlink can send a mount, mkdir or mknod outside the rootfs.

mod cgroup;
mod dev;
mod mount_ops;
mod mounts;
mod paths;
mod pivot;
mod proc_guard;
mod resolve;
mod sources;
mod sys;

pub use sources::{open_sources, Sources};

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use crate::plan::rootfs::RootfsPlan;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("open rootfs {path:?}")]
    OpenRootfs {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("set propagation {flags} on {path:?}")]
    Propagation {
        path: PathBuf,
        flags: String,
        #[source]
        source: Errno,
    },
    #[error("bind rootfs {path:?} onto itself")]
    BindRootfs {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("mount {src:?} on {dst:?} ({step})")]
    Mount {
        src: String,
        dst: PathBuf,
        step: &'static str,
        #[source]
        source: Errno,
    },
    #[error("mounts: id-map {src:?} on {dst:?}: the kernel refused it (this filesystem, or a rootless brick, cannot be id-mapped)")]
    Idmap {
        src: String,
        dst: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("mounts: refused to mount on {dst:?}: {reason}")]
    ProcTarget { dst: PathBuf, reason: &'static str },
    #[error("read host file {path:?}")]
    HostFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mount on {dst:?}: no entry for hierarchy {hierarchy:?} in /proc/self/cgroup")]
    CgroupPath { dst: PathBuf, hierarchy: String },
    #[error("create device {path:?} ({step})")]
    Device {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: Errno,
    },
    #[error("create symlink {path:?} -> {target:?}")]
    Symlink {
        path: PathBuf,
        target: String,
        #[source]
        source: Errno,
    },
    #[error("maskedPaths: {path:?} is not the null device 1:3")]
    NotDevNull { path: PathBuf },
    #[error("maskedPaths: mask {path:?} ({step})")]
    Mask {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: Errno,
    },
    #[error("readonlyPaths: make {path:?} read-only ({step})")]
    ReadonlyPath {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: Errno,
    },
    #[error("root.readonly: remount {path:?} read-only")]
    RootReadonly {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("enter rootfs {path:?} ({step})")]
    Enter {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: Errno,
    },
    #[error("bind the console onto \"/dev/console\" ({step})")]
    Console {
        step: &'static str,
        #[source]
        source: Errno,
    },
}

/// What `prepare` leaves for `prepare_rest`: the bound rootfs, the first mount not made yet,
/// and the sources brick opened before the clone that are still to be attached.
pub struct Staged {
    root: OwnedFd,
    next: usize,
    sources: Sources,
}

/// Before the cgroup join: set "/" propagation, bind the rootfs onto itself, and make the
/// config mounts that come before the first cgroup mount.
pub fn prepare(plan: &RootfsPlan, mut sources: Sources) -> Result<Staged, RootfsError> {
    let slash = Path::new("/");
    mount(
        None::<&str>,
        slash,
        None::<&str>,
        plan.root_propagation,
        None::<&str>,
    )
    .map_err(|source| RootfsError::Propagation {
        path: slash.to_path_buf(),
        flags: format!("{:?}", plan.root_propagation),
        source,
    })?;
    if let Some(parent) = &plan.rootfs_parent {
        // pivot_root refuses a shared parent; keep the rootfs' own parent mount private.
        mount(
            None::<&str>,
            parent,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|source| RootfsError::Propagation {
            path: parent.clone(),
            flags: "MS_PRIVATE".to_string(),
            source,
        })?;
    }
    let root = bind_rootfs(&plan.rootfs)?;
    let next = mounts::first_cgroup_mount(plan);
    mounts::mount_range(root.as_fd(), plan, 0..next, &mut sources)?;
    Ok(Staged {
        root,
        next,
        sources,
    })
}

/// After the cgroup join (and a new cgroup namespace): the remaining mounts, then /dev.
pub fn prepare_rest(plan: &RootfsPlan, staged: Staged) -> Result<(), RootfsError> {
    let Staged {
        root,
        next,
        mut sources,
    } = staged;
    let range = next..plan.mounts.len();
    mounts::mount_range(root.as_fd(), plan, range, &mut sources)?;
    dev::setup_dev(root.as_fd(), plan)
}

/// pivot_root into the rootfs (or MS_MOVE + chroot with no_pivot), then chdir("/").
pub fn enter(plan: &RootfsPlan) -> Result<(), RootfsError> {
    pivot::enter(&plan.rootfs, plan.no_pivot)
}

/// After enter(): bind the pty slave onto /dev/console without following any symlink.
pub fn mount_console(slave: BorrowedFd<'_>) -> Result<(), RootfsError> {
    dev::mount_console(slave)
}

/// After enter(): readonlyPaths, maskedPaths, root.readonly, then rootfsPropagation on "/".
pub fn finalize(plan: &RootfsPlan) -> Result<(), RootfsError> {
    let root = open_root(Path::new("/"))?;
    paths::finalize(root.as_fd(), plan)
}

fn open_root(path: &Path) -> Result<OwnedFd, RootfsError> {
    open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|source| RootfsError::OpenRootfs {
        path: path.to_path_buf(),
        source,
    })
}

/// Recursive bind of the rootfs onto itself, so it is a mount point pivot_root accepts.
fn bind_rootfs(rootfs: &Path) -> Result<OwnedFd, RootfsError> {
    let err = |source| RootfsError::BindRootfs {
        path: rootfs.to_path_buf(),
        source,
    };
    let tree = sys::clone_tree(nix::fcntl::AT_FDCWD, rootfs, true).map_err(err)?;
    let target = open_root(rootfs)?;
    sys::move_mount_fd(tree.as_fd(), target.as_fd()).map_err(err)?;
    // The tree fd now names the root of the attached bind: every lookup starts there.
    Ok(tree)
}
