//! Until Ready, the init dies with brick: a create or run killed midway leaves no process
//! waiting at a start gate that nobody will open.

use nix::errno::Errno;
use std::os::fd::{AsFd, AsRawFd};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ParentDeathError {
    #[error("prctl(PR_SET_PDEATHSIG)")]
    Set(#[source] Errno),
    #[error("poll the channel to brick")]
    Poll(#[source] Errno),
    #[error("brick exited before the container was ready")]
    Gone,
}

fn set(sig: libc::c_int) -> Result<(), ParentDeathError> {
    // SAFETY: plain prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    Errno::result(r).map(drop).map_err(ParentDeathError::Set)
}

/// SIGKILL when brick dies, then a check that it had not died already: its end of `ch` is
/// then hung up. Every credential change clears the setting, so callers arm it again after.
pub fn arm(ch: &impl AsFd) -> Result<(), ParentDeathError> {
    set(libc::SIGKILL)?;
    let mut pfd = libc::pollfd {
        fd: ch.as_fd().as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n < 0 {
        return Err(ParentDeathError::Poll(Errno::last()));
    }
    if pfd.revents & (libc::POLLHUP | libc::POLLRDHUP) != 0 {
        return Err(ParentDeathError::Gone);
    }
    Ok(())
}

/// Right before Ready: from here the init outlives `brick create`, which exits once it has
/// saved the state; a brick that dies after Ready is caught by the Ready send failing or by
/// the state it already saved (pid and cgroup).
pub fn disarm() -> Result<(), ParentDeathError> {
    set(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::Channel;

    #[test]
    fn a_hung_up_channel_means_the_parent_is_gone() {
        // In a forked child: PDEATHSIG must not be set on the test harness.
        let (a, b) = Channel::pair().unwrap();
        // SAFETY: the child only makes syscalls and _exits.
        match unsafe { libc::fork() } {
            0 => {
                let alive = arm(&b).is_ok();
                drop(a);
                // The parent drops its copy of `a` too; wait (with a deadline) for the hangup.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                let mut gone = false;
                while !gone && std::time::Instant::now() < deadline {
                    gone = matches!(arm(&b), Err(ParentDeathError::Gone));
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let ok = alive && gone && disarm().is_ok();
                // SAFETY: leave without running the harness's code.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            pid => {
                drop(a);
                drop(b);
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            }
        }
    }
}
