//! Reading the host's /proc/self/mountinfo and /proc/self/cgroup (before pivot_root).

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use super::RootfsError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub root: PathBuf,
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_opts: String,
}

fn read(path: &str) -> Result<String, RootfsError> {
    crate::small_file::read(path).map_err(|source| RootfsError::HostFile {
        path: PathBuf::from(path),
        source,
    })
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push(
                    d.iter()
                        .fold(0u8, |acc, c| acc.wrapping_mul(8).wrapping_add(c - b'0')),
                );
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let mut post = post.split(' ');
            Some(MountInfo {
                root: unescape(pre.get(3)?),
                mount_point: unescape(pre.get(4)?),
                fstype: post.next()?.to_string(),
                super_opts: post.nth(1).unwrap_or("").to_string(),
            })
        })
        .collect()
}

pub fn mountinfo() -> Result<Vec<MountInfo>, RootfsError> {
    Ok(parse_mountinfo(&read("/proc/self/mountinfo")?))
}

/// (controllers, path) per line of /proc/self/cgroup; cgroup2 has empty controllers.
pub fn parse_proc_cgroup(text: &str) -> Vec<(String, PathBuf)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let _id = f.next()?;
            Some((f.next()?.to_string(), PathBuf::from(f.next()?)))
        })
        .collect()
}

pub fn proc_cgroup() -> Result<Vec<(String, PathBuf)>, RootfsError> {
    Ok(parse_proc_cgroup(&read("/proc/self/cgroup")?))
}

/// The mount point holding `path`: the longest mount point that is a prefix of it.
pub fn mount_point_of<'a>(infos: &'a [MountInfo], path: &Path) -> Option<&'a MountInfo> {
    infos
        .iter()
        .filter(|i| path.starts_with(&i.mount_point))
        .max_by_key(|i| i.mount_point.components().count())
}

/// Make the mount that contains `rootfs` private so pivot_root accepts it under a shared "/".
pub fn make_parent_private(rootfs: &Path) -> Result<(), RootfsError> {
    let infos = mountinfo()?;
    let Some(parent) = mount_point_of(&infos, rootfs) else {
        return Ok(());
    };
    mount(
        None::<&str>,
        &parent.mount_point,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|source| RootfsError::Propagation {
        path: parent.mount_point.clone(),
        flags: "MS_PRIVATE".to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines() {
        let t = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n\
                 32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu\n\
                 40 1 0:5 /a\\040b /mnt/x\\040y rw - tmpfs tmpfs rw\n";
        let m = parse_mountinfo(t);
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].fstype, "cgroup");
        assert_eq!(m[1].super_opts, "rw,cpu");
        assert_eq!(m[2].mount_point, PathBuf::from("/mnt/x y"));
        assert_eq!(m[2].root, PathBuf::from("/a b"));
        let best = mount_point_of(&m, Path::new("/sys/fs/cgroup/cpu/x"));
        assert_eq!(best.map(|i| i.fstype.as_str()), Some("cgroup"));
    }

    #[test]
    fn parses_proc_cgroup() {
        let c = parse_proc_cgroup("4:cpu,cpuacct:/a/b\n1:name=systemd:/s\n0::/u\n");
        assert_eq!(c[0], ("cpu,cpuacct".to_string(), PathBuf::from("/a/b")));
        assert_eq!(c[2], (String::new(), PathBuf::from("/u")));
    }
}
