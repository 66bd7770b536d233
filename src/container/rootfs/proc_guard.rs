//! Nothing but procfs over /proc: a fake /proc (tmpfs, a bind of a host dir) would make the
//! workload read lies and receive procfs writes. Checked on each mount's resolved target, so
//! an image symlink that aims another destination at /proc is caught too.

use std::cell::Cell;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::fstat;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

use super::resolve::open_in_root;
use super::RootfsError;
use crate::plan::rootfs::{MountKind, MountPlan, PROC_BIND_FILES};

fn is_procfs(fd: BorrowedFd<'_>) -> bool {
    fstatfs(fd).is_ok_and(|s| s.filesystem_type() == PROC_SUPER_MAGIC)
}

/// The rootfs' /proc as (device, inode), found once and again only while it does not exist
/// (a mount may make it).
pub struct Guard<'a> {
    root: BorrowedFd<'a>,
    rootfs: &'a Path,
    proc_dir: Cell<Option<(u64, u64)>>,
}

impl<'a> Guard<'a> {
    pub fn new(root: BorrowedFd<'a>, rootfs: &'a Path) -> Self {
        Guard {
            root,
            rootfs,
            proc_dir: Cell::new(None),
        }
    }

    fn proc_dir(&self) -> Option<(u64, u64)> {
        if self.proc_dir.get().is_none() {
            let fd = open_in_root(self.root, Path::new("/proc"), OFlag::O_PATH).ok();
            self.proc_dir.set(
                fd.and_then(|f| fstat(&f).ok())
                    .map(|s| (s.st_dev, s.st_ino)),
            );
        }
        self.proc_dir.get()
    }

    /// `target` is where `m` is about to be attached; `source` the bind's tree, if it is one.
    pub fn check(
        &self,
        m: &MountPlan,
        target: BorrowedFd<'_>,
        source: Option<BorrowedFd<'_>>,
    ) -> Result<(), RootfsError> {
        let procfs = match &m.kind {
            MountKind::Fresh => m.fstype == "proc",
            MountKind::Bind { .. } => source.is_some_and(is_procfs),
            MountKind::Cgroup => false,
        };
        let refuse = |reason: &'static str| RootfsError::ProcTarget {
            dst: m.destination.clone(),
            reason,
        };
        let st = fstat(target).map_err(|_| refuse("cannot stat the target"))?;
        if is_procfs(target) {
            // The target lies in a procfs already mounted: only procfs again on its root, or
            // a bind onto one of the files lxcfs-style setups replace.
            if st.st_ino == 1 && procfs {
                return Ok(());
            }
            let allowed = m.is_bind()
                && relative_path(target, self.rootfs).is_some_and(|p| {
                    PROC_BIND_FILES
                        .iter()
                        .any(|f| p == Path::new("/proc").join(f))
                });
            return match allowed {
                true => Ok(()),
                false => Err(refuse("it resolves into /proc, where only binds onto /proc/{cpuinfo,diskstats,loadavg,meminfo,slabinfo,stat,swaps,uptime} are allowed")),
            };
        }
        if procfs || self.proc_dir() != Some((st.st_dev, st.st_ino)) {
            return Ok(());
        }
        Err(refuse(
            "it resolves to /proc, where only procfs may be mounted",
        ))
    }
}

/// The target's path inside the container, from the kernel's name for the fd.
fn relative_path(target: BorrowedFd<'_>, rootfs: &Path) -> Option<PathBuf> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", target.as_raw_fd())).ok()?;
    let rel = link.strip_prefix(rootfs).ok()?;
    Some(Path::new("/").join(rel))
}
