//! Bind sources opened by brick before the clone, on the host side: in a user namespace the
//! container's root may not be able to search a source's parents, and an id-mapped mount
//! needs host privileges (mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace of its maps).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::resolve::open_in_root;
use super::sys::{clone_tree, set_idmap};
use super::RootfsError;
use crate::plan::rootfs::{IdmapPlan, MountKind, MountPlan, RootfsPlan};

/// Detached mount trees by index into the plan's mounts, made before the clone.
#[derive(Default)]
pub struct Sources {
    trees: Vec<(usize, OwnedFd)>,
}

impl Sources {
    /// The tree made for mount `i`, if one was.
    pub fn take(&mut self, i: usize) -> Option<OwnedFd> {
        let at = self.trees.iter().position(|(j, _)| *j == i)?;
        Some(self.trees.swap_remove(at).1)
    }

    /// The fds the child must keep through its fd sweep.
    pub fn raw_fds(&self) -> Vec<RawFd> {
        self.trees.iter().map(|(_, fd)| fd.as_raw_fd()).collect()
    }
}

/// Opens every id-mapped bind, and with `host_side` (a user namespace the child cannot
/// search from) every bind of a host path, as detached trees the child attaches.
pub fn open_sources(plan: &RootfsPlan, host_side: bool) -> Result<Sources, RootfsError> {
    let mut out = Sources::default();
    let mut rootfs: Option<OwnedFd> = None;
    for (i, m) in plan.mounts.iter().enumerate() {
        let MountKind::Bind { recursive } = m.kind else {
            continue;
        };
        let src = m.bind_source.as_deref().unwrap_or(Path::new(""));
        let inside = src.strip_prefix(&plan.rootfs).ok();
        if m.idmap.is_none() && (!host_side || inside.is_some()) || m.remount {
            continue;
        }
        let err = |step| move |source| mount_err(m, step, source);
        let tree = match inside {
            // Resolved inside the rootfs, as the child would (image symlinks stay inside).
            Some(rel) => {
                if rootfs.is_none() {
                    rootfs = Some(open_dir(&plan.rootfs).map_err(err("open rootfs"))?);
                }
                let root = rootfs.as_ref().map(|r| r.as_fd()).ok_or(Errno::EBADF);
                let fd = root
                    .and_then(|r| open_in_root(r, rel, OFlag::O_PATH | OFlag::O_CLOEXEC))
                    .map_err(err("resolve source"))?;
                clone_tree(fd.as_fd(), Path::new(""), recursive).map_err(err("open_tree"))?
            }
            // A rootless brick may not clone the host's mounts at all: for an id map, say so.
            None => clone_tree(nix::fcntl::AT_FDCWD, src, recursive).map_err(|e| match e {
                Errno::EPERM if m.idmap.is_some() => idmap_err(m, e),
                e => mount_err(m, "open_tree", e),
            })?,
        };
        if let Some(idmap) = &m.idmap {
            let ns = userns_with(idmap).map_err(err("user namespace for the id map"))?;
            set_idmap(tree.as_fd(), ns.as_fd(), idmap.recursive).map_err(|e| match e {
                Errno::EINVAL | Errno::EPERM | Errno::ENOSYS | Errno::EOPNOTSUPP => idmap_err(m, e),
                e => mount_err(m, "mount_setattr idmap", e),
            })?;
        }
        out.trees.push((i, tree));
    }
    Ok(out)
}

fn idmap_err(m: &MountPlan, source: Errno) -> RootfsError {
    RootfsError::Idmap {
        src: m.source.clone(),
        dst: m.destination.clone(),
        source,
    }
}

fn mount_err(m: &MountPlan, step: &'static str, source: Errno) -> RootfsError {
    RootfsError::Mount {
        src: m.source.clone(),
        dst: m.destination.clone(),
        step,
        source,
    }
}

fn open_dir(p: &Path) -> Result<OwnedFd, Errno> {
    open(
        p,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// A user namespace with `idmap`'s maps: a forked child unshares one, brick writes the maps
/// and keeps a handle of it, and the child is killed (the handle keeps the namespace).
fn userns_with(idmap: &IdmapPlan) -> Result<OwnedFd, Errno> {
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let parent = nix::unistd::getpid().as_raw();
    // SAFETY: the child only makes raw syscalls (prctl, unshare, write, pause) and _exits.
    let pid = match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => unsafe {
            // It holds brick's fds (the locked state dir): it must not outlive brick.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
            let b = [u8::from(ok)];
            libc::write(ready_w.as_raw_fd(), b.as_ptr().cast(), 1);
            loop {
                libc::pause();
            }
        },
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(ready_w);
    let made = wait_ready(ready_r.as_fd()).and_then(|()| {
        write_map(pid, "uid_map", &idmap.uid_map)?;
        write_map(pid, "gid_map", &idmap.gid_map)?;
        open_dir_file(&format!("/proc/{pid}/ns/user"))
    });
    let _killed = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _reaped = nix::sys::wait::waitpid(pid, None);
    made
}

fn wait_ready(r: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut b = [0u8; 1];
    match nix::unistd::read(r, &mut b)? {
        1 if b[0] == 1 => Ok(()),
        1 => Err(Errno::EPERM),
        _ => Err(Errno::ECHILD),
    }
}

fn write_map(pid: nix::unistd::Pid, file: &str, map: &str) -> Result<(), Errno> {
    std::fs::write(format!("/proc/{pid}/{file}"), map)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

fn open_dir_file(p: &str) -> Result<OwnedFd, Errno> {
    open(p, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
}
