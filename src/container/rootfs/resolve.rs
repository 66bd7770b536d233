//! Resolution of hostile config paths strictly inside the rootfs (openat2 RESOLVE_IN_ROOT).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};

use super::sys::openat2;

/// Symlinks are followed but can never leave the root; /proc magic links are refused.
const RESOLVE: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
/// Same bound as the kernel's symlink nesting limit.
const MAX_LINKS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    No,
    Dir,
    File,
}

/// Open `path` (absolute or not, always taken relative to `root`) with extra `flags`.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    openat2(root, path, flags.bits(), 0, RESOLVE)
}

/// An O_PATH fd of `path` inside `root`, creating missing parts one component at a time.
pub fn ensure(root: BorrowedFd<'_>, path: &Path, create: Create) -> Result<OwnedFd, Errno> {
    ensure_depth(root, path, create, 0)
}

fn open_flags(dir: bool) -> OFlag {
    if dir {
        OFlag::O_PATH | OFlag::O_DIRECTORY
    } else {
        OFlag::O_PATH
    }
}

fn ensure_depth(
    root: BorrowedFd<'_>,
    path: &Path,
    create: Create,
    depth: usize,
) -> Result<OwnedFd, Errno> {
    if depth > MAX_LINKS {
        return Err(Errno::ELOOP);
    }
    match open_in_root(root, path, open_flags(create != Create::File)) {
        Err(Errno::ENOENT) if create != Create::No => {}
        r => return r,
    }
    let comps: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            Component::ParentDir => Some(std::ffi::OsStr::new("..")),
            _ => None,
        })
        .collect();
    // Usually only the last component is missing: start from its parent when that exists.
    let parent: PathBuf = std::iter::once(std::ffi::OsStr::new("/"))
        .chain(comps.iter().copied().take(comps.len().saturating_sub(1)))
        .collect();
    let (mut cur, skip) = match open_in_root(root, &parent, open_flags(true)) {
        Ok(fd) if !comps.is_empty() => (fd, comps.len() - 1),
        _ => (open_in_root(root, Path::new("/"), open_flags(true))?, 0),
    };
    let mut prefix: PathBuf = match skip {
        0 => PathBuf::from("/"),
        _ => parent,
    };
    for (i, name) in comps.iter().enumerate().skip(skip) {
        let last = i + 1 == comps.len();
        let as_file = last && create == Create::File;
        prefix.push(name);
        // The whole path was just found missing, so its last component needs no second look.
        if !last {
            match open_in_root(root, &prefix, open_flags(true)) {
                Ok(fd) => {
                    cur = fd;
                    continue;
                }
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        let made = if as_file {
            nix::fcntl::openat(
                cur.as_fd(),
                *name,
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o644),
            )
            .map(drop)
        } else {
            mkdirat(cur.as_fd(), *name, Mode::from_bits_truncate(0o755))
        };
        match made {
            Ok(()) => {}
            Err(Errno::EEXIST) => {
                let st = fstatat(cur.as_fd(), *name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
                if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
                    // A dangling symlink: create its target instead, still inside the root.
                    let target = PathBuf::from(readlinkat(cur.as_fd(), *name)?);
                    let base = prefix.parent().map(Path::to_path_buf).unwrap_or_default();
                    let mut next = if target.is_absolute() {
                        target
                    } else {
                        base.join(target)
                    };
                    for rest in &comps[i + 1..] {
                        next.push(rest);
                    }
                    return ensure_depth(root, &next, create, depth + 1);
                }
            }
            Err(e) => return Err(e),
        }
        cur = open_in_root(root, &prefix, open_flags(!as_file))?;
    }
    Ok(cur)
}

/// Kind of the object `fd` refers to.
pub fn file_type(fd: BorrowedFd<'_>) -> Result<SFlag, Errno> {
    let st = nix::sys::stat::fstat(fd)?;
    Ok(SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT)
}
