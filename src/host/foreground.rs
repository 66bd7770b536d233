//! `run` without --detach: forward signals to the container and return its exit status.

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ForegroundError {
    #[error("block signals")]
    Mask(#[source] nix::errno::Errno),
    #[error("wait for the container")]
    Wait(#[source] nix::errno::Errno),
}

/// Signals a shell user sends that should reach the container instead of brick.
const FORWARDED: [Signal; 10] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGPIPE,
];

/// The exit code a shell would report: the status, or 128 + the signal.
fn code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

/// Blocks the forwarded signals now (the child was cloned before, so it is unaffected).
pub fn block() -> Result<SigSet, ForegroundError> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set.thread_block().map_err(ForegroundError::Mask)?;
    Ok(set)
}

pub fn wait(pid: i32, set: &SigSet) -> Result<i32, ForegroundError> {
    let pid = Pid::from_raw(pid);
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(ws) => {
                if let Some(c) = code(ws) {
                    return Ok(c);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(ForegroundError::Wait(e)),
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => {}
            Ok(sig) => {
                // ESRCH: it exited meanwhile, and its status comes next.
                let _gone = kill(pid, sig);
            }
            Err(e) => return Err(ForegroundError::Wait(e)),
        }
    }
}
