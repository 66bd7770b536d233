//! Switching the process root to the prepared rootfs.

use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use super::RootfsError;

pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<(), RootfsError> {
    let err = |step| {
        move |source: Errno| RootfsError::Enter {
            path: rootfs.to_path_buf(),
            step,
            source,
        }
    };
    let dir = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let new_root = open(rootfs, dir, Mode::empty()).map_err(err("open rootfs"))?;
    fchdir(new_root.as_fd()).map_err(err("fchdir rootfs"))?;
    if no_pivot {
        mount(Some("."), "/", None::<&str>, MsFlags::MS_MOVE, None::<&str>)
            .map_err(err("move rootfs to /"))?;
        chroot(".").map_err(err("chroot"))?;
    } else {
        let old_root = open("/", dir, Mode::empty()).map_err(err("open old root"))?;
        // pivot_root(".", ".") stacks the old root on the new one; no put_old dir is needed.
        pivot_root(".", ".").map_err(err("pivot_root"))?;
        fchdir(old_root.as_fd()).map_err(err("fchdir old root"))?;
        // Slave first, so detaching the old root cannot propagate an unmount to the host.
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(err("make old root rslave"))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(err("detach old root"))?;
    }
    chdir("/").map_err(err("chdir /"))
}
