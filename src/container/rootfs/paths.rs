//! After pivot: readonlyPaths, maskedPaths, a read-only /dev or "/", rootfsPropagation.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::{fstat, SFlag};

use super::resolve::{file_type, open_in_root};
use super::sys::{clone_tree, move_mount_fd, set_attr, FsContext};
use super::RootfsError;
use crate::plan::rootfs::{attr, MountAttr, RootfsPlan};

const RDONLY: MountAttr = MountAttr {
    set: attr::RDONLY,
    clr: 0,
};

pub fn finalize(root: BorrowedFd<'_>, plan: &RootfsPlan) -> Result<(), RootfsError> {
    for p in &plan.readonly_paths {
        readonly_path(root, p)?;
    }
    if !plan.masked_paths.is_empty() {
        let null = dev_null(root)?;
        for p in &plan.masked_paths {
            mask(root, null.as_fd(), p, plan.mount_label.as_deref())?;
        }
    }
    let ro_dev = plan.mounts.iter().any(|m| {
        !m.is_bind() && m.destination == Path::new("/dev") && m.attr.set & attr::RDONLY != 0
    });
    if ro_dev {
        readonly_top(root, Path::new("/dev"))?;
    }
    if plan.readonly {
        set_attr(root, RDONLY, MsFlags::empty(), false).map_err(|source| {
            RootfsError::RootReadonly {
                path: PathBuf::from("/"),
                source,
            }
        })?;
    }
    if let Some(p) = plan.rootfs_propagation {
        set_attr(root, MountAttr::default(), p, p.contains(MsFlags::MS_REC)).map_err(|source| {
            RootfsError::Propagation {
                path: PathBuf::from("/"),
                flags: format!("{p:?}"),
                source,
            }
        })?;
    }
    Ok(())
}

/// Open a target, treating a missing one as "nothing to do".
fn open_opt(root: BorrowedFd<'_>, path: &Path) -> Result<Option<OwnedFd>, Errno> {
    match open_in_root(root, path, OFlag::O_PATH) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The container's /dev/null, verified to really be the 1:3 char device (CVE-2025-31133).
fn dev_null(root: BorrowedFd<'_>) -> Result<OwnedFd, RootfsError> {
    let path = PathBuf::from("/dev/null");
    let fd = open_in_root(root, &path, OFlag::O_PATH).map_err(|source| RootfsError::Mask {
        path: path.clone(),
        step: "open /dev/null",
        source,
    })?;
    let st = fstat(fd.as_fd()).map_err(|source| RootfsError::Mask {
        path: path.clone(),
        step: "fstat /dev/null",
        source,
    })?;
    let is_chr = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
    if !is_chr || st.st_rdev != libc::makedev(1, 3) {
        return Err(RootfsError::NotDevNull { path });
    }
    Ok(fd)
}

fn mask(
    root: BorrowedFd<'_>,
    null: BorrowedFd<'_>,
    path: &Path,
    label: Option<&str>,
) -> Result<(), RootfsError> {
    let err = |step| {
        move |source| RootfsError::Mask {
            path: path.to_path_buf(),
            step,
            source,
        }
    };
    let Some(target) = open_opt(root, path).map_err(err("resolve"))? else {
        return Ok(());
    };
    let mnt = if file_type(target.as_fd()).map_err(err("fstat"))? == SFlag::S_IFDIR {
        let ctx = FsContext::open("tmpfs").map_err(err("fsopen tmpfs"))?;
        ctx.set_string("source", "tmpfs")
            .map_err(err("fsconfig source"))?;
        if let Some(l) = label {
            ctx.set_string("context", l)
                .map_err(err("fsconfig context"))?;
        }
        ctx.mount(attr::RDONLY).map_err(err("fsmount tmpfs"))?
    } else {
        clone_tree(null, Path::new(""), false).map_err(err("open_tree /dev/null"))?
    };
    move_mount_fd(mnt.as_fd(), target.as_fd()).map_err(err("move_mount"))
}

/// Bind a path onto itself (recursively) and make the whole subtree read-only.
fn readonly_path(root: BorrowedFd<'_>, path: &Path) -> Result<(), RootfsError> {
    let err = |step| {
        move |source| RootfsError::ReadonlyPath {
            path: path.to_path_buf(),
            step,
            source,
        }
    };
    let Some(target) = open_opt(root, path).map_err(err("resolve"))? else {
        return Ok(());
    };
    let mnt = clone_tree(target.as_fd(), Path::new(""), true).map_err(err("open_tree"))?;
    // A detached copy takes attributes without a remount, so locked nosuid/nodev/noexec stay.
    set_attr(mnt.as_fd(), RDONLY, MsFlags::empty(), true).map_err(err("mount_setattr"))?;
    move_mount_fd(mnt.as_fd(), target.as_fd()).map_err(err("move_mount"))
}

/// Make the mount at `path` (only its top) read-only.
fn readonly_top(root: BorrowedFd<'_>, path: &Path) -> Result<(), RootfsError> {
    let err = |step| {
        move |source| RootfsError::Mount {
            src: String::new(),
            dst: path.to_path_buf(),
            step,
            source,
        }
    };
    let fd = open_in_root(root, path, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(err("resolve for read-only remount"))?;
    set_attr(fd.as_fd(), RDONLY, MsFlags::empty(), false).map_err(err("mount_setattr ro"))
}
