//! What brick needs to know about the host, gathered once per command into one value the
//! plan takes as input: so the plan itself reads nothing, and its tests need no host.

use crate::cgroups::{layout, CgroupError, Layout};
use crate::lsm::Lsm;
use crate::mountinfo::MountInfo;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FactsError {
    #[error("read /proc/self/mountinfo")]
    Mounts(#[source] std::io::Error),
}

#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Every mount of brick's mount namespace, in mount order.
    pub mounts: Vec<MountInfo>,
    /// /sys/fs/cgroup itself is cgroup2 (a pure v2 host).
    pub cgroup2_root: bool,
    pub lsm: Lsm,
    /// The highest capability number the kernel knows.
    pub last_cap: u8,
    /// uname's release, part of the seccomp cache key.
    pub kernel_release: String,
    /// Who runs brick: a rootless container's id maps are checked against them.
    pub euid: u32,
    pub egid: u32,
}

impl HostFacts {
    pub fn gather() -> Result<HostFacts, FactsError> {
        Ok(HostFacts {
            mounts: crate::mountinfo::read().map_err(FactsError::Mounts)?,
            cgroup2_root: layout::cgroup2_root(),
            lsm: Lsm::detect(),
            last_cap: kernel_last_cap(),
            kernel_release: nix::sys::utsname::uname()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_default(),
            euid: crate::rootless::euid(),
            egid: crate::rootless::egid(),
        })
    }

    /// The cgroup hierarchies these mounts show (an error when there is none).
    pub fn cgroup_layout(&self) -> Result<Layout, CgroupError> {
        Layout::checked(Layout::from_mounts(&self.mounts, self.cgroup2_root))
    }

    /// The cgroup hierarchies mounted in /sys/fs/cgroup (v1 and hybrid hosts), which a
    /// container's "cgroup" mount shows; in mount order.
    pub fn cgroup_mounts(&self) -> Vec<MountInfo> {
        let top = Path::new("/sys/fs/cgroup");
        self.mounts
            .iter()
            .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
            .filter(|m| m.mount_point.parent() == Some(top))
            .cloned()
            .collect()
    }

    /// The mount point of the mount holding `path`.
    pub fn mount_point_of(&self, path: &Path) -> Option<&Path> {
        crate::mountinfo::mount_point_of(&self.mounts, path).map(|m| m.mount_point.as_path())
    }
}

/// The highest capability number this kernel knows (40 when it does not say).
pub fn kernel_last_cap() -> u8 {
    crate::small_file::read("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_mounts_are_those_under_sys_fs_cgroup() {
        let f = HostFacts {
            mounts: crate::mountinfo::parse(
                "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                 32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
                 41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                 50 1 0:39 / /mnt/cg rw - cgroup cgroup rw,pids\n",
            ),
            ..Default::default()
        };
        let points: Vec<_> = f
            .cgroup_mounts()
            .into_iter()
            .map(|m| m.mount_point)
            .collect();
        assert_eq!(
            points,
            ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/unified"].map(std::path::PathBuf::from)
        );
        assert_eq!(
            f.cgroup_layout().unwrap().mode,
            crate::cgroups::Mode::Hybrid
        );
        assert_eq!(
            f.mount_point_of(Path::new("/sys/fs/cgroup/cpu/x")),
            Some(Path::new("/sys/fs/cgroup/cpu"))
        );
    }
}
