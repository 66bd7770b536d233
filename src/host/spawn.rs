//! One clone3 into the new namespaces (and, on cgroup v2, straight into the container's cgroup).

use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SpawnError {
    #[error("clone3 with flags {0:#x}")]
    Clone(u64, #[source] nix::errno::Errno),
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The kernel's struct clone_args (version 2, with the cgroup field).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

// The child arm diverges through `child`, which rustc reports as unreachable code.
#[allow(unreachable_code)]
/// Forks like fork(2) but into new namespaces; `child` runs in the new process and never returns.
pub fn spawn(
    flags: CloneFlags,
    cgroup: Option<BorrowedFd<'_>>,
    child: impl FnOnce() -> std::convert::Infallible,
) -> Result<Pid, SpawnError> {
    let mut args = CloneArgs {
        flags: flags.bits() as u64,
        // With CLONE_PARENT the kernel wants 0: the child inherits the caller's exit signal.
        exit_signal: match flags.contains(CloneFlags::CLONE_PARENT) {
            true => 0,
            false => libc::SIGCHLD as u64,
        },
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: brick is single-threaded here, so the child is a consistent copy (as after fork);
    // a zero stack makes clone3 reuse the current one copy-on-write.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(SpawnError::Clone(args.flags, nix::errno::Errno::last())),
        0 => match child() {},
        pid => Ok(Pid::from_raw(pid as i32)),
    }
}
