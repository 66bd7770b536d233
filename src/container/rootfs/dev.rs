//! Device nodes, /dev symlinks and /dev/console, never following a symlink of the image.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mknodat, umask, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::resolve::{ensure, open_in_root, Create};
use super::sys::{clone_tree, move_mount_fd};
use super::RootfsError;
use crate::plan::rootfs::{DeviceKind, DevicePlan, RootfsPlan};

pub fn setup_dev(root: BorrowedFd<'_>, plan: &RootfsPlan) -> Result<(), RootfsError> {
    if !plan.setup_dev {
        return Ok(());
    }
    // Modes from the config are exact, so the inherited umask must not trim them.
    let old = umask(Mode::empty());
    // Devices mostly share one parent (/dev): it is resolved once, not once per node.
    let mut parent: Option<(PathBuf, Parent)> = None;
    let made = plan.devices.iter().try_for_each(|d| {
        let dir = d.path.parent().unwrap_or(Path::new("/"));
        if parent.as_ref().is_none_or(|(p, _)| p != dir) {
            parent = Some((dir.to_path_buf(), Parent::open(root, dir, d)?));
        }
        match &parent {
            Some((_, p)) => create_device(p, d, plan.user_ns),
            None => Ok(()),
        }
    });
    umask(old);
    made?;
    let dev =
        ensure(root, Path::new("/dev"), Create::Dir).map_err(|source| RootfsError::Device {
            path: PathBuf::from("/dev"),
            step: "resolve",
            source,
        })?;
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    for (name, target) in links {
        link(dev.as_fd(), name, target, false)?;
    }
    // ptmx must be the container's own devpts instance, whatever the image had there.
    link(dev.as_fd(), "ptmx", "pts/ptmx", true)
}

fn link(dev: BorrowedFd<'_>, name: &str, target: &str, replace: bool) -> Result<(), RootfsError> {
    let err = |source| RootfsError::Symlink {
        path: Path::new("/dev").join(name),
        target: target.to_string(),
        source,
    };
    if replace {
        remove(dev, OsStr::new(name)).map_err(err)?;
    }
    match symlinkat(target, dev, name) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Unlink whatever is at `name` (a symlink is removed, not followed).
fn remove(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(), Errno> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A directory device nodes are made in, and whether new files there take its group.
struct Parent {
    fd: OwnedFd,
    setgid: bool,
}

impl Parent {
    fn open(root: BorrowedFd<'_>, dir: &Path, d: &DevicePlan) -> Result<Self, RootfsError> {
        let fd = ensure(root, dir, Create::Dir).map_err(derr(d, "resolve parent"))?;
        let st = nix::sys::stat::fstat(fd.as_fd()).map_err(derr(d, "stat parent"))?;
        let setgid = st.st_mode & libc::S_ISGID != 0;
        Ok(Self { fd, setgid })
    }
}

fn derr<'a>(d: &'a DevicePlan, step: &'static str) -> impl Fn(Errno) -> RootfsError + 'a {
    move |source| RootfsError::Device {
        path: d.path.clone(),
        step,
        source,
    }
}

fn create_device(dir: &Parent, d: &DevicePlan, user_ns: bool) -> Result<(), RootfsError> {
    let err = |step| derr(d, step);
    let name = match d.path.file_name() {
        Some(n) => n.to_os_string(),
        None => return Err(err("resolve parent")(Errno::EINVAL)),
    };
    let parent = &dir.fd;
    remove(parent.as_fd(), &name).map_err(err("unlink existing"))?;
    let kind = match d.kind {
        DeviceKind::Char => SFlag::S_IFCHR,
        DeviceKind::Block => SFlag::S_IFBLK,
        DeviceKind::Fifo => SFlag::S_IFIFO,
    };
    if !user_ns {
        let dev = libc::makedev(d.major as libc::c_uint, d.minor as libc::c_uint);
        let mode = Mode::from_bits_truncate(d.mode);
        match mknodat(parent.as_fd(), name.as_os_str(), kind, mode, dev) {
            // Still host root (or user ns root): a root-owned node needs no chown.
            Ok(()) if d.uid == 0 && d.gid == 0 && !dir.setgid => return Ok(()),
            Ok(()) => {
                let (uid, gid) = (Some(Uid::from_raw(d.uid)), Some(Gid::from_raw(d.gid)));
                return fchownat(
                    parent.as_fd(),
                    name.as_os_str(),
                    uid,
                    gid,
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(err("chown"));
            }
            // Some sandboxes refuse mknod even to root: fall back to a bind of the host node.
            Err(Errno::EPERM) => {}
            Err(e) => return Err(err("mknod")(e)),
        }
    }
    let file = openat(
        parent.as_fd(),
        name.as_os_str(),
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(err("create bind target"))?;
    drop(file);
    let target = openat(
        parent.as_fd(),
        name.as_os_str(),
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(err("open bind target"))?;
    // In a user ns the host's node is bound in; the host path is the container path.
    let host =
        clone_tree(nix::fcntl::AT_FDCWD, &d.path, false).map_err(err("open_tree host node"))?;
    move_mount_fd(host.as_fd(), target.as_fd()).map_err(err("move_mount"))
}

/// Bind `slave` onto /dev/console of the current root, replacing a symlink found there.
pub fn mount_console(slave: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let err = |step| move |source| RootfsError::Console { step, source };
    let root = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(err("open /"))?;
    let dev = open_in_root(
        root.as_fd(),
        Path::new("/dev"),
        OFlag::O_PATH | OFlag::O_DIRECTORY,
    )
    .map_err(err("resolve /dev"))?;
    let name = OsStr::new("console");
    match fstatat(dev.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => {
            let t = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
            if t != SFlag::S_IFREG && t != SFlag::S_IFCHR {
                // A symlink (CVE-2025-52565) or anything odd is removed, never followed.
                remove(dev.as_fd(), name).map_err(err("unlink /dev/console"))?;
                create_console(dev.as_fd()).map_err(err("create /dev/console"))?;
            }
        }
        Err(Errno::ENOENT) => {
            create_console(dev.as_fd()).map_err(err("create /dev/console"))?;
        }
        Err(e) => return Err(err("stat /dev/console")(e)),
    }
    let target = openat(
        dev.as_fd(),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(err("open /dev/console"))?;
    let pty = clone_tree(slave, Path::new(""), false).map_err(err("open_tree pty"))?;
    move_mount_fd(pty.as_fd(), target.as_fd()).map_err(err("move_mount"))
}

fn create_console(dev: BorrowedFd<'_>) -> Result<(), Errno> {
    openat(
        dev,
        "console",
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )
    .map(drop)
}
