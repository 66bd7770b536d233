//! /proc/self/mountinfo: the one parser, for the cgroup layout, the container's cgroup mount
//! and the mount that holds the rootfs.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// The directory of the filesystem this mount shows at its mount point.
    pub root: PathBuf,
    pub mount_point: PathBuf,
    pub fstype: String,
    pub super_opts: String,
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
pub fn unescape(s: &str) -> PathBuf {
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

/// Every line: "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER".
pub fn parse(text: &str) -> Vec<MountInfo> {
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

/// This process's mounts, in mount order.
pub fn read() -> std::io::Result<Vec<MountInfo>> {
    Ok(parse(&crate::small_file::read("/proc/self/mountinfo")?))
}

/// The mount holding `path`: the longest mount point that is a prefix of it (the last of
/// those, which is the one on top).
pub fn mount_point_of<'a>(infos: &'a [MountInfo], path: &Path) -> Option<&'a MountInfo> {
    infos
        .iter()
        .filter(|i| path.starts_with(&i.mount_point))
        .max_by_key(|i| i.mount_point.components().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_lines() {
        let t = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n\
                 32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu\n\
                 40 1 0:5 /a\\040b /mnt/x\\040y rw - tmpfs tmpfs rw\n";
        let m = parse(t);
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].fstype, "cgroup");
        assert_eq!(m[1].super_opts, "rw,cpu");
        assert_eq!(m[2].mount_point, PathBuf::from("/mnt/x y"));
        assert_eq!(m[2].root, PathBuf::from("/a b"));
        let best = mount_point_of(&m, Path::new("/sys/fs/cgroup/cpu/x"));
        assert_eq!(best.map(|i| i.fstype.as_str()), Some("cgroup"));
        assert_eq!(unescape("/a\\040b"), PathBuf::from("/a b"));
    }
}
