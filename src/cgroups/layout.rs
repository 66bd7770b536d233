//! Which cgroup hierarchies this host mounts: pure v1, pure v2 or hybrid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
use serde::{Deserialize, Serialize};

use super::CgroupError;
use crate::mountinfo::MountInfo;

/// The cgroup mode of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only v1 hierarchies.
    V1,
    /// v1 controllers plus a cgroup2 tree (usually /sys/fs/cgroup/unified) that holds no resources.
    Hybrid,
    /// /sys/fs/cgroup is cgroup2.
    V2,
}

/// One mounted v1 hierarchy: its mount point, the cgroup it shows as its root, and its controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Mount {
    pub mount_point: PathBuf,
    pub root: String,
    pub controllers: Vec<String>,
}

/// The hierarchies found on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub mode: Mode,
    /// v1 controller name (e.g. "memory", "name=systemd") → its hierarchy.
    pub v1: BTreeMap<String, V1Mount>,
    /// Mount point and root of the cgroup2 hierarchy.
    pub unified: Option<(PathBuf, String)>,
}

/// Whether /sys/fs/cgroup itself is a cgroup2 mount (a pure v2 host).
pub fn cgroup2_root() -> bool {
    statfs("/sys/fs/cgroup").is_ok_and(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC)
}

/// Mount options of a v1 cgroup mount that are not controller names.
const NON_CONTROLLER_OPTS: &[&str] = &[
    "rw",
    "ro",
    "noprefix",
    "clone_children",
    "xattr",
    "cpuset_v2_mode",
    "favordynmods",
    "none",
];

impl Layout {
    /// Detect the layout from statfs(/sys/fs/cgroup) and /proc/self/mountinfo (for verbs that
    /// do not gather HostFacts).
    pub fn detect() -> Result<Layout, CgroupError> {
        let mounts = crate::mountinfo::read().map_err(|source| CgroupError::Read {
            path: "/proc/self/mountinfo".into(),
            source,
        })?;
        Layout::checked(Layout::from_mounts(&mounts, cgroup2_root()))
    }

    /// A layout with no hierarchy at all is an error: brick could enforce nothing.
    pub fn checked(layout: Layout) -> Result<Layout, CgroupError> {
        if layout.v1.is_empty() && layout.unified.is_none() {
            return Err(CgroupError::NoHierarchy);
        }
        Ok(layout)
    }

    /// The directory of cgroup `path` ("/a/b") in a hierarchy mounted at `mount_point` showing `root`.
    pub fn dir_in(mount_point: &Path, root: &str, path: &str) -> PathBuf {
        let rel = match path.strip_prefix(root) {
            // A mount whose root is a sub-cgroup shows that cgroup at its mount point.
            Some(rest) if root != "/" && (rest.is_empty() || rest.starts_with('/')) => rest,
            _ => path,
        };
        mount_point.join(rel.trim_start_matches('/'))
    }

    /// Every distinct v1 hierarchy directory for `path`, keyed by controller.
    pub fn v1_dirs(&self, path: &str) -> BTreeMap<String, PathBuf> {
        self.v1
            .iter()
            .map(|(c, m)| (c.clone(), Layout::dir_in(&m.mount_point, &m.root, path)))
            .collect()
    }

    /// The cgroup2 directory for `path`, if there is a cgroup2 hierarchy.
    pub fn v2_dir(&self, path: &str) -> Option<PathBuf> {
        self.unified
            .as_ref()
            .map(|(mp, root)| Layout::dir_in(mp, root, path))
    }
}

impl Layout {
    /// The layout the mounts show; `pure_v2` says /sys/fs/cgroup itself is cgroup2.
    pub fn from_mounts(mounts: &[MountInfo], pure_v2: bool) -> Layout {
        let mut v1: BTreeMap<String, V1Mount> = BTreeMap::new();
        let mut unified: Option<(PathBuf, String)> = None;
        for info in mounts {
            let root = info.root.to_string_lossy().into_owned();
            let mount_point = info.mount_point.clone();
            // A later mount on or above a cgroup mount hides it (a tmpfs over the unified dir).
            if unified
                .as_ref()
                .is_some_and(|(p, _)| p.starts_with(&mount_point))
            {
                unified = None;
            }
            v1.retain(|_, m| !m.mount_point.starts_with(&mount_point));
            match info.fstype.as_str() {
                "cgroup2" => {
                    // Prefer /sys/fs/cgroup (pure v2) or the first cgroup2 mount seen.
                    let preferred = mount_point == Path::new("/sys/fs/cgroup");
                    if unified.is_none() || preferred {
                        unified = Some((mount_point, root));
                    }
                }
                "cgroup" => {
                    let controllers: Vec<String> = info
                        .super_opts
                        .split(',')
                        .filter(|o| {
                            !NON_CONTROLLER_OPTS.contains(o) && !o.starts_with("release_agent=")
                        })
                        .map(str::to_string)
                        .collect();
                    let m = V1Mount {
                        mount_point,
                        root,
                        controllers: controllers.clone(),
                    };
                    for c in controllers {
                        // A hierarchy bind-mounted twice: keep the first, prefer root "/".
                        let replace = match v1.get(&c) {
                            None => true,
                            Some(old) => old.root != "/" && m.root == "/",
                        };
                        if replace {
                            v1.insert(c, m.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        let mode = if pure_v2 {
            v1.clear();
            Mode::V2
        } else if v1.is_empty() && unified.is_some() {
            Mode::V2
        } else if unified.is_some() {
            Mode::Hybrid
        } else {
            Mode::V1
        };
        Layout { mode, v1, unified }
    }
}

/// mountinfo text straight to a layout, for the parser tests below.
#[cfg(test)]
fn parse_mountinfo(text: &str, pure_v2: bool) -> Layout {
    Layout::from_mounts(&crate::mountinfo::parse(text), pure_v2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_layout() {
        let l = parse_mountinfo(HYBRID, false);
        assert_eq!(l.mode, Mode::Hybrid);
        let names: Vec<&str> = l.v1.keys().map(String::as_str).collect();
        assert_eq!(names, ["cpu", "cpuacct", "memory", "name=systemd"]);
        assert_eq!(
            l.v2_dir("/brick/x"),
            Some(PathBuf::from("/sys/fs/cgroup/unified/brick/x"))
        );
        assert_eq!(
            l.v1_dirs("/brick/x")["memory"],
            PathBuf::from("/sys/fs/cgroup/memory/brick/x")
        );
    }

    #[test]
    fn a_mount_over_a_cgroup_mount_hides_it() {
        let text = format!("{HYBRID}50 41 0:60 / /sys/fs/cgroup/unified rw - tmpfs none rw\n");
        let l = parse_mountinfo(&text, false);
        assert_eq!(l.mode, Mode::V1, "the covered cgroup2 is not usable");
        assert!(l.unified.is_none());
        let text = format!("{HYBRID}51 31 0:61 / /sys/fs/cgroup rw - tmpfs none rw\n");
        assert!(parse_mountinfo(&text, false).v1.is_empty());
    }

    #[test]
    fn combined_and_pure_v2() {
        let text = "29 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let l = parse_mountinfo(text, false);
        assert_eq!(l.mode, Mode::V1);
        assert_eq!(l.v1["cpu"], l.v1["cpuacct"]);
        let text = "29 26 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = parse_mountinfo(text, true);
        assert_eq!(l.mode, Mode::V2);
        assert_eq!(l.v2_dir("/a"), Some(PathBuf::from("/sys/fs/cgroup/a")));
    }

    #[test]
    fn non_root_mount() {
        let p = Layout::dir_in(
            Path::new("/sys/fs/cgroup/memory"),
            "/docker/abc",
            "/docker/abc/x",
        );
        assert_eq!(p, PathBuf::from("/sys/fs/cgroup/memory/x"));
        let p = Layout::dir_in(Path::new("/sys/fs/cgroup/memory"), "/docker/abc", "/other");
        assert_eq!(p, PathBuf::from("/sys/fs/cgroup/memory/other"));
    }
}
