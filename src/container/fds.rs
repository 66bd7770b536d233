//! Marks every fd from `first` up close-on-exec, so nothing of brick's reaches the workload.

use nix::errno::Errno;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum FdsError {
    #[error("mark fds >= {0} close-on-exec")]
    Sweep(u32, #[source] Errno),
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
