//! The child's fds: brick's own closed right after clone, every other one from `first` up
//! close-on-exec, so nothing of brick's reaches the workload.

use nix::errno::Errno;
use std::os::fd::RawFd;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FdsError {
    #[error("mark fds >= {0} close-on-exec")]
    Sweep(u32, #[source] Errno),
    #[error("close inherited fds {0}..={1}")]
    Close(u32, u32, #[source] Errno),
}

const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

pub fn cloexec_from(first: u32) -> Result<(), FdsError> {
    // SAFETY: close_range only changes flags of fds in the given range.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    if Errno::last() != Errno::ENOSYS && Errno::last() != Errno::EINVAL {
        return Err(FdsError::Sweep(first, Errno::last()));
    }
    // Kernels before 5.11: walk the fd table ourselves.
    let max = nix::unistd::sysconf(nix::unistd::SysconfVar::OPEN_MAX)
        .ok()
        .flatten()
        .unwrap_or(1024) as i32;
    for fd in first as i32..max {
        // SAFETY: setting FD_CLOEXEC on a possibly-closed fd is harmless (EBADF).
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Closes every fd from `first` up except `keep`: nothing of brick's (a container's locked
/// state directory, the runtime's own namespaces) is held by the child a moment longer than
/// needed, even while it waits at the start gate.
pub fn close_all_but(first: u32, keep: &[RawFd]) -> Result<(), FdsError> {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|fd| u32::try_from(*fd).ok())
        .filter(|fd| *fd >= first)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    let mut lo = first;
    for k in kept.iter().copied().chain(std::iter::once(u32::MAX)) {
        if k > lo {
            close_range(lo, k - 1, &kept)?;
        }
        lo = k.saturating_add(1);
    }
    Ok(())
}

/// close_range(2), or one close per open fd where the kernel lacks it (before 5.9).
fn close_range(lo: u32, hi: u32, kept: &[u32]) -> Result<(), FdsError> {
    // SAFETY: close_range only closes fds in the range; none in it is used after this.
    let r = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) };
    if r == 0 {
        return Ok(());
    }
    if Errno::last() != Errno::ENOSYS {
        return Err(FdsError::Close(lo, hi, Errno::last()));
    }
    let open: Vec<u32> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| FdsError::Close(lo, hi, Errno::from_raw(e.raw_os_error().unwrap_or(0))))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in open
        .into_iter()
        .filter(|fd| (lo..=hi).contains(fd) && !kept.contains(fd))
    {
        // SAFETY: closing an fd nothing in the child uses; EBADF (the listing's own) is fine.
        unsafe { libc::close(fd as i32) };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, OwnedFd};

    fn is_open(fd: RawFd) -> bool {
        // SAFETY: F_GETFD only reads the flags of fd.
        unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
    }

    #[test]
    fn closes_everything_but_what_is_kept() {
        // In a forked child, so the test harness's own fds are not touched.
        let fds: Vec<OwnedFd> = (0..6)
            .map(|_| std::fs::File::open("/dev/null").unwrap().into())
            .collect();
        let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
        // SAFETY: the child only makes syscalls and _exits.
        match unsafe { libc::fork() } {
            0 => {
                let keep = [raw[1], raw[4]];
                let ok = close_all_but(raw[0] as u32, &keep).is_ok()
                    && raw.iter().all(|fd| is_open(*fd) == keep.contains(fd))
                    && is_open(0);
                // SAFETY: leave without running the parent's atexit or test harness code.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            }
        }
    }
}
