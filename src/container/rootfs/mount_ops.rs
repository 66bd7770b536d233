//! Mount steps both the config mounts and the cgroup mount use: new instances, attributes,
//! propagation, the mount(2) shortcut, and errors that name the mount and the step.

use std::os::fd::{BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::sys::{set_attr, FsContext};
use super::RootfsError;
use crate::plan::rootfs::{attr, MountAttr, MountPlan, MS_NOSYMFOLLOW};

/// Wrap an errno as a Mount error naming this mount and the failing step.
pub fn merr<'a>(m: &'a MountPlan, step: &'static str) -> impl Fn(Errno) -> RootfsError + 'a {
    move |source| RootfsError::Mount {
        src: m.source.clone(),
        dst: m.destination.clone(),
        step,
        source,
    }
}

/// mount(2) flags for a new mount with attributes `set` and the plan's superblock flags; None
/// where only the fd API does it right: read-only (mount(2) would make the superblock
/// read-only too, and a superblock can be shared with the host) or a bit mount(2) lacks.
pub fn legacy_flags(set: u64, planned: MsFlags) -> Option<MsFlags> {
    const BITS: [(u64, MsFlags); 7] = [
        (attr::NOSUID, MsFlags::MS_NOSUID),
        (attr::NODEV, MsFlags::MS_NODEV),
        (attr::NOEXEC, MsFlags::MS_NOEXEC),
        (attr::NOATIME, MsFlags::MS_NOATIME),
        (attr::STRICTATIME, MsFlags::MS_STRICTATIME),
        (attr::NODIRATIME, MsFlags::MS_NODIRATIME),
        (attr::NOSYMFOLLOW, MS_NOSYMFOLLOW),
    ];
    let known = BITS.iter().fold(0, |acc, (bit, _)| acc | bit);
    if set & !known != 0 {
        return None;
    }
    let sb =
        MsFlags::MS_SYNCHRONOUS | MsFlags::MS_DIRSYNC | MsFlags::MS_MANDLOCK | MsFlags::MS_LAZYTIME;
    let flags = BITS
        .iter()
        .filter(|(bit, _)| set & bit == *bit)
        .fold(planned & sb, |acc, (_, f)| acc | *f);
    Some(flags)
}

/// A new instance of `fstype` carrying the mount's data, superblock flags and attributes.
pub fn fresh(
    m: &MountPlan,
    fstype: &str,
    data: &str,
    attr_set: u64,
) -> Result<OwnedFd, RootfsError> {
    let ctx = FsContext::open(fstype).map_err(merr(m, "fsopen"))?;
    if !m.source.is_empty() {
        ctx.set_string("source", &m.source)
            .map_err(merr(m, "fsconfig source"))?;
    }
    ctx.set_data(data).map_err(merr(m, "fsconfig data"))?;
    let sb_flags = [
        (MsFlags::MS_SYNCHRONOUS, "sync"),
        (MsFlags::MS_DIRSYNC, "dirsync"),
        (MsFlags::MS_MANDLOCK, "mand"),
        (MsFlags::MS_LAZYTIME, "lazytime"),
    ];
    for (flag, key) in sb_flags {
        if m.flags.contains(flag) {
            ctx.set_flag(key).map_err(merr(m, "fsconfig flags"))?;
        }
    }
    ctx.mount(attr_set).map_err(merr(m, "fsmount"))
}

/// Set attributes; clears the kernel refuses (flags locked by a user ns) are dropped, as runc does.
pub fn set_attr_relaxed(fd: BorrowedFd<'_>, a: MountAttr) -> Result<(), Errno> {
    if a.is_empty() {
        return Ok(());
    }
    match set_attr(fd, a, MsFlags::empty(), false) {
        Err(Errno::EPERM) if a.clr != 0 => {
            // Without clears the atime mode cannot change either (the kernel requires both).
            let retry = MountAttr {
                set: a.set & !attr::ATIME_MASK,
                clr: 0,
            };
            set_attr_relaxed(fd, retry)
        }
        r => r,
    }
}

/// Recursive attributes and propagation, on the now attached mount.
pub fn finish(mnt: BorrowedFd<'_>, m: &MountPlan) -> Result<(), RootfsError> {
    if !m.rec_attr.is_empty() {
        set_attr(mnt, m.rec_attr, MsFlags::empty(), true)
            .map_err(merr(m, "mount_setattr recursive"))?;
    }
    for p in &m.propagation {
        set_attr(mnt, MountAttr::default(), *p, p.contains(MsFlags::MS_REC))
            .map_err(merr(m, "set propagation"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_flags_only_where_mount2_matches_the_fd_api() {
        let set = attr::NOSUID | attr::NODEV | attr::STRICTATIME;
        let planned = MsFlags::MS_LAZYTIME | MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC;
        // Superblock flags come from the plan, mount flags only from the attributes.
        assert_eq!(
            legacy_flags(set, planned),
            Some(
                MsFlags::MS_NOSUID
                    | MsFlags::MS_NODEV
                    | MsFlags::MS_STRICTATIME
                    | MsFlags::MS_LAZYTIME
            )
        );
        assert_eq!(legacy_flags(attr::RDONLY | attr::NOSUID, planned), None);
        assert_eq!(legacy_flags(0x10_0000, MsFlags::empty()), None, "idmap bit");
        assert_eq!(legacy_flags(0, MsFlags::empty()), Some(MsFlags::empty()));
    }
}
