//! A message channel on a SOCK_SEQPACKET socketpair: one JSON message per packet.

use nix::sys::socket::{
    recv, recvmsg, send, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned,
    MsgFlags, SockFlag, SockType,
};
use serde::{de::DeserializeOwned, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::FromRawFd;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use thiserror::Error;

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

    /// A message with one fd attached (SCM_RIGHTS).
    pub fn send_with_fd<T: Serialize>(&self, msg: &T, fd: BorrowedFd<'_>) -> Result<(), IpcError> {
        let bytes = serde_json::to_vec(msg).map_err(|e| IpcError::Decode(e.to_string()))?;
        let fds = [fd.as_raw_fd()];
        sendmsg::<()>(
            self.0.as_raw_fd(),
            &[IoSlice::new(&bytes)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(IpcError::Send)?;
        Ok(())
    }

    /// None when the peer closed its end without a message (it exited or exec'd).
    pub fn recv<T: DeserializeOwned>(&self) -> Result<Option<T>, IpcError> {
        Ok(self.recv_with_fd()?.map(|(msg, _)| msg))
    }

    /// A message already queued, without waiting (None also when nothing is queued).
    pub fn try_recv<T: DeserializeOwned>(&self) -> Result<Option<T>, IpcError> {
        match self.recv_flags(MsgFlags::MSG_DONTWAIT) {
            Err(IpcError::Recv(nix::errno::Errno::EAGAIN)) => Ok(None),
            r => Ok(r?.map(|(msg, _)| msg)),
        }
    }

    /// A message and the fd that came with it, if any (received CLOEXEC).
    pub fn recv_with_fd<T: DeserializeOwned>(
        &self,
    ) -> Result<Option<(T, Option<OwnedFd>)>, IpcError> {
        self.recv_flags(MsgFlags::empty())
    }

    fn recv_flags<T: DeserializeOwned>(
        &self,
        flags: MsgFlags,
    ) -> Result<Option<(T, Option<OwnedFd>)>, IpcError> {
        // The packet's length first, so the buffer is no larger than the message (a zeroed
        // 64 KiB buffer cost 16 page faults per message).
        let len = loop {
            match recv(
                self.0.as_raw_fd(),
                &mut [],
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC | flags,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(IpcError::Recv(e)),
                Ok(n) => break n,
            }
        };
        let mut buf = vec![0u8; len.max(1)];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let (n, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC | flags,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(IpcError::Recv(e)),
                Ok(r) => {
                    let mut fd = None;
                    for c in r.cmsgs().map_err(IpcError::Recv)? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            // SAFETY: SCM_RIGHTS delivered these fds to us; we take ownership once.
                            fd = fds.first().map(|raw| unsafe { OwnedFd::from_raw_fd(*raw) });
                        }
                    }
                    break (r.bytes, fd);
                }
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..n]).map_err(|e| IpcError::Decode(e.to_string()))?;
        Ok(Some((msg, fd)))
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
