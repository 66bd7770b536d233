//! The "cgroup" mount: fresh hierarchies inside a cgroup namespace, host binds without one.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{mkdirat, Mode};
use nix::unistd::symlinkat;

use super::mount_ops::{finish, fresh, legacy_flags, merr, set_attr_relaxed};
use super::resolve::{ensure, Create};
use super::sys::{clone_tree, mount_new, move_mount_fd, set_attr, FsContext};
use super::RootfsError;
use crate::mountinfo::MountInfo;
use crate::plan::rootfs::{attr, MountAttr, MountPlan, RootfsPlan};

const HOST_CGROUP: &str = "/sys/fs/cgroup";

/// The hierarchies are the plan's (from HostFacts); only our own membership is read here,
/// from /proc/self/cgroup, once the parent has put us in our cgroup.
pub fn mount_cgroup(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    plan: &RootfsPlan,
    guard: &super::proc_guard::Guard<'_>,
) -> Result<(), RootfsError> {
    let cgroup_ns = plan.cgroup_ns;
    let target =
        ensure(root, &m.destination, Create::Dir).map_err(merr(m, "resolve destination"))?;
    guard.check(m, target.as_fd(), None)?;
    let cgroups = proc_cgroup()?;
    if plan.cgroup2_root {
        let host = MountInfo {
            root: PathBuf::from("/"),
            mount_point: PathBuf::from(HOST_CGROUP),
            fstype: "cgroup2".to_string(),
            super_opts: String::new(),
        };
        let mnt = hierarchy(m, &host, &cgroups, cgroup_ns, m.attr)?;
        move_mount_fd(mnt.as_fd(), target.as_fd()).map_err(merr(m, "move_mount"))?;
        return finish(mnt.as_fd(), m);
    }
    // Hybrid or v1: a tmpfs like the host's /sys/fs/cgroup, one mount per host hierarchy.
    let dir_attr = m.attr.set & !attr::RDONLY;
    let tmpfs = FsContext::open("tmpfs").map_err(merr(m, "fsopen tmpfs"))?;
    tmpfs
        .set_string("mode", "755")
        .map_err(merr(m, "fsconfig tmpfs"))?;
    let tmpfs = tmpfs.mount(dir_attr).map_err(merr(m, "fsmount tmpfs"))?;
    move_mount_fd(tmpfs.as_fd(), target.as_fd()).map_err(merr(m, "move_mount tmpfs"))?;
    for info in &plan.cgroup_mounts {
        let Some(name) = info.mount_point.file_name() else {
            continue;
        };
        match mkdirat(tmpfs.as_fd(), name, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(merr(m, "mkdir hierarchy")(e)),
        }
        let name_str = name.to_string_lossy();
        if !(cgroup_ns && fresh_in_place(m, info, tmpfs.as_fd(), &name_str)) {
            let dir = nix::fcntl::openat(
                tmpfs.as_fd(),
                name,
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(merr(m, "open hierarchy dir"))?;
            let mnt = hierarchy(m, info, &cgroups, cgroup_ns, m.attr)?;
            move_mount_fd(mnt.as_fd(), dir.as_fd()).map_err(merr(m, "move_mount hierarchy"))?;
        }
        // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name, as on hosts.
        if name_str.contains(',') {
            for part in name_str.split(',') {
                match symlinkat(name, tmpfs.as_fd(), part) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(merr(m, "symlink co-mounted controller")(e)),
                }
            }
        }
    }
    if m.attr.set & attr::RDONLY != 0 {
        let ro = MountAttr {
            set: attr::RDONLY,
            clr: 0,
        };
        // Recursive: hierarchies mounted in place are read-only only from here.
        set_attr(tmpfs.as_fd(), ro, nix::mount::MsFlags::empty(), true)
            .map_err(merr(m, "mount_setattr ro"))?;
    }
    finish(tmpfs.as_fd(), m)
}

/// (controllers, path) per line of /proc/self/cgroup; cgroup2 has empty controllers.
fn parse_proc_cgroup(text: &str) -> Vec<(String, PathBuf)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let _id = f.next()?;
            Some((f.next()?.to_string(), PathBuf::from(f.next()?)))
        })
        .collect()
}

fn proc_cgroup() -> Result<Vec<(String, PathBuf)>, RootfsError> {
    let path = "/proc/self/cgroup";
    let text = crate::small_file::read(path).map_err(|source| RootfsError::HostFile {
        path: PathBuf::from(path),
        source,
    })?;
    Ok(parse_proc_cgroup(&text))
}

/// A fresh hierarchy mounted straight onto `dir/name` with mount(2), writable until the
/// recursive read-only above; false sends it down the fd API, which names a failing step.
fn fresh_in_place(m: &MountPlan, info: &MountInfo, dir: BorrowedFd<'_>, name: &str) -> bool {
    let Some(flags) = legacy_flags(m.attr.set & !attr::RDONLY, m.flags) else {
        return false;
    };
    mount_new(
        &info.fstype,
        dir,
        name,
        &info.fstype,
        flags,
        &fresh_data(info),
    )
    .is_ok()
}

/// A fresh instance's mount data: a v1 hierarchy's controllers, nothing for cgroup2.
fn fresh_data(info: &MountInfo) -> String {
    match info.fstype.as_str() {
        "cgroup" => controllers(&info.super_opts).join(","),
        _ => String::new(),
    }
}

/// Controllers (or "name=...") a v1 hierarchy was mounted with, from its super options.
fn controllers(super_opts: &str) -> Vec<&str> {
    const GENERIC: &[&str] = &[
        "rw",
        "ro",
        "xattr",
        "noprefix",
        "clone_children",
        "nsdelegate",
    ];
    super_opts
        .split(',')
        .filter(|o| !GENERIC.contains(o) && !o.starts_with("release_agent="))
        .collect()
}

/// One hierarchy: a fresh instance inside a cgroup ns, else a bind of our own host cgroup dir.
fn hierarchy(
    m: &MountPlan,
    info: &MountInfo,
    cgroups: &[(String, PathBuf)],
    cgroup_ns: bool,
    a: MountAttr,
) -> Result<OwnedFd, RootfsError> {
    if cgroup_ns {
        let mut fm = m.clone();
        fm.source = info.fstype.clone();
        return fresh(&fm, &info.fstype, &fresh_data(info), a.set);
    }
    let ctrls = controllers(&info.super_opts);
    let own = cgroups.iter().find(|(c, _)| {
        if info.fstype == "cgroup2" {
            c.is_empty()
        } else {
            !c.is_empty() && c.split(',').all(|x| ctrls.contains(&x))
        }
    });
    let Some((_, path)) = own else {
        return Err(RootfsError::CgroupPath {
            dst: m.destination.clone(),
            hierarchy: info.mount_point.to_string_lossy().into_owned(),
        });
    };
    // Paths in /proc/self/cgroup are relative to the hierarchy root, the mount shows info.root.
    let rel = path.strip_prefix(&info.root).unwrap_or(path);
    let host = info.mount_point.join(rel.strip_prefix("/").unwrap_or(rel));
    let mnt =
        clone_tree(nix::fcntl::AT_FDCWD, &host, false).map_err(merr(m, "open_tree hierarchy"))?;
    set_attr_relaxed(mnt.as_fd(), a).map_err(merr(m, "mount_setattr hierarchy"))?;
    Ok(mnt)
}

#[cfg(test)]
mod tests {
    use super::controllers;

    #[test]
    fn parses_proc_cgroup() {
        let c = super::parse_proc_cgroup("4:cpu,cpuacct:/a/b\n1:name=systemd:/s\n0::/u\n");
        assert_eq!(
            c[0],
            ("cpu,cpuacct".to_string(), std::path::PathBuf::from("/a/b"))
        );
        assert_eq!(c[2], (String::new(), std::path::PathBuf::from("/u")));
    }

    #[test]
    fn controller_names() {
        assert_eq!(controllers("rw,cpu,cpuacct"), vec!["cpu", "cpuacct"]);
        assert_eq!(controllers("rw,xattr,name=systemd"), vec!["name=systemd"]);
        assert!(controllers("rw,nsdelegate").is_empty());
    }
}
