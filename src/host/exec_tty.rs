//! `exec --tty` in the foreground: brick holds the pty master and copies it to and from its
//! own stdio (stdin in raw mode when it is a terminal), passes window size changes on and
//! forwards signals, until the process exits.

use crate::error::describe_errno;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io::{IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TtyError {
    #[error("receive the pty master")]
    Recv(#[source] Errno),
    #[error("the process sent no pty master")]
    NoMaster,
    #[error("signalfd")]
    Signalfd(#[source] Errno),
    #[error("poll")]
    Poll(#[source] Errno),
    #[error("wait for the process")]
    Wait(#[source] Errno),
    #[error("copy to stdout")]
    Stdout(#[source] std::io::Error),
}

/// The master the process sent over our end of its console socket.
pub fn recv_master(sock: &OwnedFd) -> Result<OwnedFd, TtyError> {
    let mut buf = [0u8; 256];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            other => break other.map_err(TtyError::Recv)?,
        }
    };
    for c in msg.cmsgs().map_err(TtyError::Recv)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(raw) = fds.first() {
                // SAFETY: SCM_RIGHTS delivered this fd to us; we take ownership once.
                return Ok(unsafe { OwnedFd::from_raw_fd(*raw) });
            }
        }
    }
    Err(TtyError::NoMaster)
}

/// Puts stdin back the way it was when dropped.
struct RawMode(Option<Termios>);

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawMode(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        if let Err(e) = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw) {
            // Still usable, only cooked: keystrokes are echoed twice and ^C reaches brick.
            crate::log::warn(&format!(
                "put the terminal in raw mode: {}",
                describe_errno(e)
            ));
        }
        RawMode(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            if let Err(e) = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t) {
                crate::log::warn(&format!(
                    "restore the terminal's mode (run `stty sane`): {}",
                    describe_errno(e)
                ));
            }
        }
    }
}

/// Our terminal's size onto the pty, if stdin is a terminal.
fn copy_winsize(master: BorrowedFd<'_>) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ read and write one winsize we own.
    unsafe {
        if libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match nix::unistd::read(fd, buf) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            Err(_) => return,
        }
    }
}

fn code(ws: WaitStatus) -> Option<i32> {
    match ws {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

/// Copies until the process has exited and the pty has nothing more to say.
pub fn proxy(master: OwnedFd, pid: i32, set: &SigSet) -> Result<i32, TtyError> {
    let _raw = RawMode::enter();
    copy_winsize(master.as_fd());
    let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(TtyError::Signalfd)?;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let mut stdin_open = true;
    let mut status: Option<i32> = None;
    let mut buf = [0u8; 8192];
    let target = Pid::from_raw(pid);
    loop {
        if status.is_none() {
            status = match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
                Ok(ws) => code(ws),
                Err(Errno::EINTR) => None,
                Err(e) => return Err(TtyError::Wait(e)),
            };
        }
        let mut fds = vec![
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        // Once the process is gone, only what the pty still holds is copied.
        let timeout = match status {
            Some(_) => PollTimeout::ZERO,
            None => PollTimeout::NONE,
        };
        match poll(&mut fds, timeout) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(TtyError::Poll(e)),
            Ok(_) => {}
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (m_ready, s_ready, i_ready) = (ready(0), ready(1), ready(2));
        drop(fds);
        if m_ready {
            match read_some(master.as_fd(), &mut buf) {
                Ok(n) if n > 0 => {
                    out.write_all(&buf[..n]).map_err(TtyError::Stdout)?;
                    out.flush().map_err(TtyError::Stdout)?;
                    continue;
                }
                // EIO: every slave fd is closed.
                _ => {
                    if let Some(c) = status {
                        return Ok(c);
                    }
                    return wait_final(target);
                }
            }
        }
        if let (Some(c), false) = (status, m_ready) {
            return Ok(c);
        }
        if s_ready {
            while let Ok(Some(info)) = sfd.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => {}
                    Ok(Signal::SIGWINCH) => copy_winsize(master.as_fd()),
                    Ok(sig) => {
                        // ESRCH: it exited meanwhile, and its status comes next.
                        let _gone = kill(target, sig);
                    }
                    Err(_) => {}
                }
            }
        }
        if i_ready {
            match read_some(stdin.as_fd(), &mut buf) {
                Ok(n) if n > 0 => write_all(master.as_fd(), &buf[..n]),
                _ => stdin_open = false,
            }
        }
    }
}

/// The pty closed before we saw the exit: wait for it.
fn wait_final(target: Pid) -> Result<i32, TtyError> {
    loop {
        match waitpid(target, None) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(TtyError::Wait(e)),
            Ok(ws) => {
                if let Some(c) = code(ws) {
                    return Ok(c);
                }
            }
        }
    }
}
