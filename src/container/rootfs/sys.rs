//! Thin wrappers over the fd-based mount syscalls that nix does not wrap.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;

use crate::plan::rootfs::MountAttr;

const OPEN_TREE_CLONE: libc::c_uint = 0x1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

#[repr(C)]
struct MountAttrRaw {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cstr(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

fn path_cstr(p: &Path) -> Result<CString, Errno> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// Turn a syscall's fd result into an OwnedFd.
fn fd_result(ret: libc::c_long) -> Result<OwnedFd, Errno> {
    if ret < 0 {
        return Err(Errno::last());
    }
    let fd = i32::try_from(ret).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this new fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn unit_result(ret: libc::c_long) -> Result<(), Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// openat2(2); `flags` gets O_CLOEXEC added.
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> Result<OwnedFd, Errno> {
    let p = path_cstr(path)?;
    let how = OpenHow {
        flags: u64::from((flags | libc::O_CLOEXEC) as u32),
        mode: u64::from(mode),
        resolve,
    };
    loop {
        // SAFETY: valid C string and a correctly sized open_how that outlive the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                p.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        // EAGAIN means a concurrent rename raced the lookup; retrying is the documented answer.
        match fd_result(ret) {
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// open_tree(OPEN_TREE_CLONE) of `path` relative to `dir` (empty path: `dir` itself).
pub fn clone_tree(dir: BorrowedFd<'_>, path: &Path, recursive: bool) -> Result<OwnedFd, Errno> {
    let p = path_cstr(path)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    if path.as_os_str().is_empty() {
        flags |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    // SAFETY: valid fd and C string.
    fd_result(unsafe { libc::syscall(libc::SYS_open_tree, dir.as_raw_fd(), p.as_ptr(), flags) })
}

/// Attach the detached (or attached) mount `from` onto the object `to` refers to.
pub fn move_mount_fd(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), Errno> {
    let empty = c"";
    // SAFETY: valid fds and a static empty C string.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            empty.as_ptr(),
            to.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
}

/// mount_setattr(2) on the mount `fd` is the root of; `propagation` is MS_* or empty.
pub fn set_attr(
    fd: BorrowedFd<'_>,
    a: MountAttr,
    propagation: MsFlags,
    recursive: bool,
) -> Result<(), Errno> {
    let raw = MountAttrRaw {
        attr_set: a.set,
        attr_clr: a.clr,
        propagation: (propagation & !MsFlags::MS_REC).bits(),
        userns_fd: 0,
    };
    mount_setattr(fd, &raw, recursive)
}

fn mount_setattr(fd: BorrowedFd<'_>, raw: &MountAttrRaw, recursive: bool) -> Result<(), Errno> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: valid fd, empty C string and a correctly sized mount_attr.
    unit_result(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            raw as *const MountAttrRaw,
            std::mem::size_of::<MountAttrRaw>(),
        )
    })
}

/// mount(2) of a new `fstype` instance on `name` inside the directory `dir` refers to (empty
/// name: that directory), reached through /proc/self/fd so nothing is walked in the rootfs.
/// One syscall where fsopen, fsconfig, fsmount and move_mount take five or more.
pub fn mount_new(
    source: &str,
    dir: BorrowedFd<'_>,
    name: &str,
    fstype: &str,
    flags: MsFlags,
    data: &str,
) -> Result<(), Errno> {
    let target = match name {
        "" => format!("/proc/self/fd/{}", dir.as_raw_fd()),
        n => format!("/proc/self/fd/{}/{n}", dir.as_raw_fd()),
    };
    let source = (!source.is_empty()).then_some(source);
    let data = (!data.is_empty()).then_some(data);
    nix::mount::mount(source, target.as_str(), Some(fstype), flags, data)
}

/// A filesystem context being configured (fsopen).
pub struct FsContext(OwnedFd);

impl FsContext {
    pub fn open(fstype: &str) -> Result<Self, Errno> {
        let t = cstr(fstype)?;
        // SAFETY: valid C string.
        fd_result(unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) }).map(Self)
    }

    fn config(&self, cmd: libc::c_uint, key: Option<&str>, val: Option<&str>) -> Result<(), Errno> {
        let k = key.map(cstr).transpose()?;
        let v = val.map(cstr).transpose()?;
        let kp = k.as_ref().map_or(std::ptr::null(), |k| k.as_ptr());
        let vp = v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
        // SAFETY: valid fd and C strings (or null where the command takes none).
        unit_result(unsafe {
            libc::syscall(libc::SYS_fsconfig, self.0.as_raw_fd(), cmd, kp, vp, 0)
        })
    }

    /// Apply mount(2)-style data: "a=b" as strings, bare words as flags.
    pub fn set_data(&self, data: &str) -> Result<(), Errno> {
        for item in split_data(data) {
            match item.split_once('=') {
                // mount(2) data quotes values with commas; fsconfig takes them bare.
                Some((k, v)) => {
                    let v = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(v);
                    self.config(FSCONFIG_SET_STRING, Some(k), Some(v))?
                }
                None => self.config(FSCONFIG_SET_FLAG, Some(item), None)?,
            }
        }
        Ok(())
    }

    pub fn set_flag(&self, key: &str) -> Result<(), Errno> {
        self.config(FSCONFIG_SET_FLAG, Some(key), None)
    }

    pub fn set_string(&self, key: &str, val: &str) -> Result<(), Errno> {
        self.config(FSCONFIG_SET_STRING, Some(key), Some(val))
    }

    /// Create the superblock and return a detached mount with `attr` flags.
    pub fn mount(self, attr: u64) -> Result<OwnedFd, Errno> {
        self.config(FSCONFIG_CMD_CREATE, None, None)?;
        let attr = libc::c_uint::try_from(attr).map_err(|_| Errno::EINVAL)?;
        // SAFETY: valid fd.
        fd_result(unsafe {
            libc::syscall(libc::SYS_fsmount, self.0.as_raw_fd(), FSMOUNT_CLOEXEC, attr)
        })
    }
}

/// Split mount data on commas that are not inside double quotes (SELinux contexts have commas).
pub fn split_data(data: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in data.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&data[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&data[start..]);
    out.retain(|s| !s.is_empty());
    out
}

/// mount_setattr(MOUNT_ATTR_IDMAP) of the detached tree `fd` with the user namespace `userns`.
pub fn set_idmap(fd: BorrowedFd<'_>, userns: BorrowedFd<'_>, recursive: bool) -> Result<(), Errno> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let raw = MountAttrRaw {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    mount_setattr(fd, &raw, recursive)
}

#[cfg(test)]
mod tests {
    use super::split_data;

    #[test]
    fn split_keeps_quoted_commas() {
        assert_eq!(
            split_data("mode=755,context=\"s0:c1,c2\",x"),
            vec!["mode=755", "context=\"s0:c1,c2\"", "x"]
        );
        assert!(split_data("").is_empty());
    }
}
