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
    #[error("pipe to the process that joins the user namespace")]
    Pipe(#[source] nix::errno::Errno),
    #[error("join the user namespace {0:?}")]
    JoinUserns(std::path::PathBuf, #[source] nix::errno::Errno),
    #[error("the process that joins the user namespace exited without a report")]
    NoReport,
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
        // A joined cgroup namespace whose root does not hold the caller's cgroup (exec from a
        // process outside the container's cgroup): the kernel refuses the move; brick moves
        // the child after the clone instead.
        (-1, nix::errno::Errno::ENOENT) if cgroup.is_some() => {
            args.flags &= !CLONE_INTO_CGROUP;
            args.cgroup = 0;
            // SAFETY: as above.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &mut args as *mut CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
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

/// Like `spawn`, but with the user namespace at `path` joined first, so that the namespaces
/// the clone makes belong to it (a mount namespace owned by the host's user namespace would
/// refuse the container's mounts). A short-lived process joins it and clones the init as
/// brick's own child (CLONE_PARENT), then reports its pid on a pipe and exits.
pub fn spawn_in_userns(
    userns: &std::fs::File,
    path: &std::path::Path,
    flags: CloneFlags,
    cgroup: Option<BorrowedFd<'_>>,
    child: impl FnOnce() -> std::convert::Infallible,
) -> Result<Spawned, SpawnError> {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    let (read, write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(SpawnError::Pipe)?;
    let write = std::cell::Cell::new(Some(write));
    let joiner = spawn(CloneFlags::empty(), None, || {
        let report = |msg: [i32; 3]| {
            let bytes: Vec<u8> = msg.iter().flat_map(|v| v.to_le_bytes()).collect();
            if let Some(w) = write.take() {
                // Nothing to do if brick is gone: its read then sees EOF.
                let _sent = std::fs::File::from(w).write_all(&bytes);
            }
            // SAFETY: leave without running brick's atexit handlers or destructors.
            unsafe { libc::_exit(0) }
        };
        if let Err(e) = nix::sched::setns(userns.as_fd(), CloneFlags::CLONE_NEWUSER) {
            return report([-1, e as i32, 0]);
        }
        match spawn(flags | CloneFlags::CLONE_PARENT, cgroup, child) {
            Ok(s) => report([s.pid.as_raw(), i32::from(s.in_cgroup), 0]),
            Err(SpawnError::Clone(_, e)) => report([-2, e as i32, 0]),
            Err(_) => report([-2, 0, 0]),
        }
    })?;
    drop(write.take());
    let mut buf = [0u8; 12];
    let got = std::fs::File::from(read).read_exact(&mut buf);
    let _reaped = nix::sys::wait::waitpid(joiner.pid, None);
    got.map_err(|_| SpawnError::NoReport)?;
    let word = |i: usize| i32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let errno = nix::errno::Errno::from_raw(word(4));
    match word(0) {
        -1 => Err(SpawnError::JoinUserns(path.to_path_buf(), errno)),
        -2 => Err(SpawnError::Clone(flags.bits() as u64, errno)),
        pid => Ok(Spawned {
            pid: Pid::from_raw(pid),
            in_cgroup: word(4) != 0,
        }),
    }
}
