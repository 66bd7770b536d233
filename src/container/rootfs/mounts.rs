//! The config's mounts, each made with the fd-based mount API onto a fd resolved in the root.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::SFlag;

use super::mount_ops::{finish, fresh, legacy_flags, merr, set_attr_relaxed};
use super::resolve::{ensure, file_type, open_in_root, Create};
use super::sys::{clone_tree, mount_new, move_mount_fd, set_attr};
use super::{cgroup, proc_guard, RootfsError};
use crate::plan::rootfs::{attr, MountAttr, MountKind, MountPlan, RootfsPlan};

/// The config's mounts in `range`, in config order.
pub fn mount_range(
    root: BorrowedFd<'_>,
    plan: &RootfsPlan,
    range: std::ops::Range<usize>,
    sources: &mut super::Sources,
) -> Result<(), RootfsError> {
    // The plan dropped the label where SELinux is off.
    let label = plan.mount_label.as_deref();
    let guard = proc_guard::Guard::new(root, &plan.rootfs);
    for i in range {
        let m = &plan.mounts[i];
        mount_one(root, m, plan, label, &guard, sources.take(i))?;
    }
    Ok(())
}

/// Index of the first cgroup filesystem mount: it shows the cgroup we are in, so it and every
/// later mount wait until the parent has moved us into the container's cgroup.
pub fn first_cgroup_mount(plan: &RootfsPlan) -> usize {
    plan.mounts
        .iter()
        .position(|m| matches!(m.kind, MountKind::Cgroup))
        .unwrap_or(plan.mounts.len())
}

fn mount_one(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    plan: &RootfsPlan,
    label: Option<&str>,
    guard: &proc_guard::Guard<'_>,
    opened: Option<OwnedFd>,
) -> Result<(), RootfsError> {
    if m.remount {
        return remount(root, m);
    }
    match &m.kind {
        MountKind::Bind { recursive } => {
            let src = m.bind_source.as_deref().unwrap_or(Path::new(""));
            // Opened by brick before the clone (sources.rs), or here.
            let tree = match opened {
                Some(t) => t,
                None => source_tree(root, src, &plan.rootfs, *recursive)
                    .map_err(merr(m, "open_tree"))?,
            };
            let is_dir =
                file_type(tree.as_fd()).map_err(merr(m, "fstat source"))? == SFlag::S_IFDIR;
            let create = if is_dir { Create::Dir } else { Create::File };
            let target =
                ensure(root, &m.destination, create).map_err(merr(m, "resolve destination"))?;
            guard.check(m, target.as_fd(), Some(tree.as_fd()))?;
            set_attr_relaxed(tree.as_fd(), m.attr).map_err(merr(m, "mount_setattr"))?;
            move_mount_fd(tree.as_fd(), target.as_fd()).map_err(merr(m, "move_mount"))?;
            finish(tree.as_fd(), m)
        }
        MountKind::Cgroup => cgroup::mount_cgroup(root, m, plan, guard),
        MountKind::Fresh => {
            let target = ensure(root, &m.destination, Create::Dir)
                .map_err(merr(m, "resolve destination"))?;
            guard.check(m, target.as_fd(), None)?;
            let mut a = m.attr;
            if m.destination == Path::new("/dev") {
                // Devices are created after this; a read-only /dev is applied in finalize().
                a.set &= !attr::RDONLY;
            }
            let data = m.data_with_label(label);
            // The fd API is kept for what needs the new mount's fd, and to name a failing step.
            let labelled_mqueue = label.is_some() && m.fstype == "mqueue";
            if !labelled_mqueue && m.rec_attr.is_empty() && m.propagation.is_empty() {
                if let Some(flags) = legacy_flags(a.set, m.flags) {
                    if mount_new(&m.source, target.as_fd(), "", &m.fstype, flags, &data).is_ok() {
                        return Ok(());
                    }
                }
            }
            let mnt = fresh_or_host(m, &data, a)?;
            move_mount_fd(mnt.as_fd(), target.as_fd()).map_err(merr(m, "move_mount"))?;
            if let Some(l) = label.filter(|_| m.fstype == "mqueue") {
                // mqueue takes no context= (see the plan): its root gets the label, as runc does.
                label_root(mnt.as_fd(), l).map_err(merr(m, "label the mqueue root"))?;
            }
            finish(mnt.as_fd(), m)
        }
    }
}

/// Set the SELinux label of a mount's root, through its fd (no path lookup in the rootfs).
fn label_root(mnt: BorrowedFd<'_>, label: &str) -> Result<(), Errno> {
    let path = std::ffi::CString::new(format!("/proc/self/fd/{}", mnt.as_raw_fd()))
        .map_err(|_| Errno::EINVAL)?;
    // SAFETY: NUL-terminated path and name; the value buffer is valid for its length.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"security.selinux".as_ptr(),
            label.as_ptr().cast(),
            label.len(),
            0,
        )
    };
    Errno::result(r).map(drop)
}

/// A source inside the rootfs is resolved inside it, so an image symlink cannot aim the bind
/// at the host (CVE-2024-45310 family); other sources are host paths the config named.
fn source_tree(
    root: BorrowedFd<'_>,
    src: &Path,
    rootfs: &Path,
    recursive: bool,
) -> Result<OwnedFd, Errno> {
    match src.strip_prefix(rootfs) {
        Ok(rel) => {
            let fd = open_in_root(root, rel, OFlag::O_PATH | OFlag::O_CLOEXEC)?;
            clone_tree(fd.as_fd(), Path::new(""), recursive)
        }
        Err(_) => clone_tree(nix::fcntl::AT_FDCWD, src, recursive),
    }
}

/// A fresh mount; a sysfs the kernel refuses (user ns without its own net ns)
/// becomes a bind of the host's, as runc does.
fn fresh_or_host(m: &MountPlan, data: &str, a: MountAttr) -> Result<OwnedFd, RootfsError> {
    let r = fresh(m, &m.fstype, data, a.set);
    let (host, recursive) = match (&r, host_fallback(&m.fstype)) {
        (
            Err(RootfsError::Mount {
                source: Errno::EPERM,
                ..
            }),
            Some(fallback),
        ) => fallback,
        _ => return r,
    };
    let tree = clone_tree(nix::fcntl::AT_FDCWD, Path::new(host), recursive)
        .map_err(merr(m, "open_tree host fallback"))?;
    set_attr(tree.as_fd(), a, MsFlags::empty(), false)
        .map_err(merr(m, "mount_setattr host fallback"))?;
    Ok(tree)
}

/// The host path bound instead of a fresh mount that the kernel refuses.
fn host_fallback(fstype: &str) -> Option<(&'static str, bool)> {
    match fstype {
        "sysfs" => Some(("/sys", true)),
        _ => None,
    }
}

/// Change the attributes of what is already mounted at the destination.
fn remount(root: BorrowedFd<'_>, m: &MountPlan) -> Result<(), RootfsError> {
    let target = open_in_root(root, &m.destination, OFlag::O_PATH)
        .map_err(merr(m, "resolve destination"))?;
    set_attr_relaxed(target.as_fd(), m.attr).map_err(merr(m, "mount_setattr"))?;
    finish(target.as_fd(), m)
}
