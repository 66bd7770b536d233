//! One clone3 into the new namespaces (and, on cgroup v2, straight into the container's cgroup);
//! clone(2) where clone3 is refused with ENOSYS (seccomp profiles of older engines, valgrind).

use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SpawnError {
    #[error("clone with flags {0:#x}")]
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

/// The new process, and whether it already sits in the cgroup given (else the caller moves it).
pub struct Spawned {
    pub pid: Pid,
    pub in_cgroup: bool,
}

// The child arm diverges through `child`, which rustc reports as unreachable code.
#[allow(unreachable_code)]
/// Forks like fork(2) but into new namespaces; `child` runs in the new process and never returns.
pub fn spawn(
    flags: CloneFlags,
    cgroup: Option<BorrowedFd<'_>>,
    child: impl FnOnce() -> std::convert::Infallible,
) -> Result<Spawned, SpawnError> {
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
    let in_cgroup = cgroup.is_some();
    let ret = match (ret, nix::errno::Errno::last()) {
        (-1, nix::errno::Errno::ENOSYS) => {
            args.flags &= !CLONE_INTO_CGROUP;
            // SAFETY: as above; x86_64 argument order: flags, stack (0 = shared COW), ptid, ctid, tls.
            let r = unsafe {
                libc::syscall(libc::SYS_clone, args.flags | args.exit_signal, 0, 0, 0, 0)
            };
            return finish(r, args.flags, false, child);
        }
        (r, _) => r,
    };
    finish(ret, args.flags, in_cgroup, child)
}

#[allow(unreachable_code)]
fn finish(
    ret: libc::c_long,
    flags: u64,
    in_cgroup: bool,
    child: impl FnOnce() -> std::convert::Infallible,
) -> Result<Spawned, SpawnError> {
    match ret {
        -1 => Err(SpawnError::Clone(flags, nix::errno::Errno::last())),
        0 => match child() {},
        pid => Ok(Spawned {
            pid: Pid::from_raw(pid as i32),
            in_cgroup,
        }),
    }
}
