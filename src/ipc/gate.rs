//! The start gate: a listening unix socket in the container's state directory. The waiting
//! child accepts one connection from `brick start`, then execs; the CLOEXEC connection closing
//! at execve tells `start` that the exec happened, and an error message tells it why not.

use super::channel::{Channel, IpcError};
use nix::sys::socket::{
    accept4, bind, connect, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const GATE_NAME: &str = "start.sock";

#[derive(Debug, Error)]
pub enum GateError {
    #[error("start gate socket")]
    Socket(#[source] nix::errno::Errno),
    #[error("bind start gate {0:?}")]
    Bind(PathBuf, #[source] nix::errno::Errno),
    #[error("wait for start")]
    Accept(#[source] nix::errno::Errno),
    #[error("connect to the container's start gate {0:?}")]
    Connect(PathBuf, #[source] nix::errno::Errno),
    #[error(transparent)]
    Ipc(#[from] IpcError),
}

fn seqpacket() -> Result<OwnedFd, GateError> {
    socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(GateError::Socket)
}

/// The address of `dir/start.sock`, through /proc/self/fd when the path is too long for sun_path
/// (the directory fd is then returned too: it must stay open until the bind or connect).
fn addr(dir: &Path) -> Result<(UnixAddr, PathBuf, Option<OwnedFd>), GateError> {
    let full = dir.join(GATE_NAME);
    let (chosen, dir_fd) = if full.as_os_str().len() < 100 {
        (full.clone(), None)
    } else {
        let fd = open_dir(dir)?;
        let short = PathBuf::from(format!("/proc/self/fd/{}/{GATE_NAME}", fd.as_raw_fd()));
        (short, Some(fd))
    };
    let a = UnixAddr::new(&chosen).map_err(|e| GateError::Bind(full.clone(), e))?;
    Ok((a, full, dir_fd))
}

fn open_dir(dir: &Path) -> Result<OwnedFd, GateError> {
    nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| GateError::Bind(dir.to_path_buf(), e))
}

/// Made by the parent before clone; the child inherits it and waits on it.
pub fn listen_in(dir: &Path) -> Result<OwnedFd, GateError> {
    let fd = seqpacket()?;
    let (a, full, _dir_fd) = addr(dir)?;
    bind(fd.as_raw_fd(), &a).map_err(|e| GateError::Bind(full.clone(), e))?;
    listen(&fd, Backlog::new(1).unwrap_or(Backlog::MAXCONN))
        .map_err(|e| GateError::Bind(full, e))?;
    Ok(fd)
}

/// In the child: block until `start` connects; the returned channel reports exec failures.
pub fn wait(listener: OwnedFd) -> Result<Channel, GateError> {
    let conn = loop {
        match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(GateError::Accept)?,
        }
    };
    // SAFETY: accept4 returned a new fd that nothing else owns.
    let conn = Channel::from_fd(unsafe { OwnedFd::from_raw_fd(conn) });
    // The one message is "start"; its content does not matter, only its arrival.
    let _ = conn.recv::<serde_json::Value>()?;
    Ok(conn)
}

/// In `brick start`: open the gate; the channel then yields None (exec'd) or an error.
pub fn open(dir: &Path) -> Result<Channel, GateError> {
    let fd = seqpacket()?;
    let (a, full, _dir_fd) = addr(dir)?;
    connect(fd.as_raw_fd(), &a).map_err(|e| GateError::Connect(full, e))?;
    let ch = Channel::from_fd(fd);
    ch.send(&serde_json::json!("start"))?;
    Ok(ch)
}
