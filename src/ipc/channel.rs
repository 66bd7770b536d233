//! A message channel on a SOCK_SEQPACKET socketpair: one JSON message per packet.

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{de::DeserializeOwned, Serialize};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use thiserror::Error;

/// Big enough for any message we send; SEQPACKET would truncate a larger one.
const MAX_MSG: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum IpcError {
    #[error("socketpair")]
    Socketpair(#[source] nix::errno::Errno),
    #[error("send message")]
    Send(#[source] nix::errno::Errno),
    #[error("receive message")]
    Recv(#[source] nix::errno::Errno),
    #[error("malformed message: {0}")]
    Decode(String),
}

pub struct Channel(OwnedFd);

impl Channel {
    /// Both ends are CLOEXEC, so neither leaks into the container's exec.
    pub fn pair() -> Result<(Channel, Channel), IpcError> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(IpcError::Socketpair)?;
        Ok((Channel(a), Channel(b)))
    }

    pub fn from_fd(fd: OwnedFd) -> Self {
        Channel(fd)
    }

    pub fn send<T: Serialize>(&self, msg: &T) -> Result<(), IpcError> {
        let bytes = serde_json::to_vec(msg).map_err(|e| IpcError::Decode(e.to_string()))?;
        send(self.0.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL).map_err(IpcError::Send)?;
        Ok(())
    }

    /// None when the peer closed its end without a message (it exited or exec'd).
    pub fn recv<T: DeserializeOwned>(&self) -> Result<Option<T>, IpcError> {
        let mut buf = vec![0u8; MAX_MSG];
        let n = loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.map_err(IpcError::Recv)?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| IpcError::Decode(e.to_string()))
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::{FromChild, ToChild};

    #[test]
    fn round_trip_and_eof() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&ToChild::Go { pid: 7 }).unwrap();
        assert!(matches!(
            b.recv::<ToChild>().unwrap(),
            Some(ToChild::Go { pid: 7 })
        ));
        b.send(&FromChild::Ready).unwrap();
        assert!(matches!(
            a.recv::<FromChild>().unwrap(),
            Some(FromChild::Ready)
        ));
        drop(b);
        assert!(a.recv::<FromChild>().unwrap().is_none());
    }
}
