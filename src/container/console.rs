//! process.terminal: a pty from the container's own devpts, its master sent to the console
//! socket, its slave made the controlling terminal, stdio and /dev/console.

use crate::container::rootfs;
use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use thiserror::Error;

const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error("open /dev/ptmx")]
    Ptmx(#[source] Errno),
    #[error("/dev/ptmx is not on a devpts filesystem")]
    NotDevpts,
    #[error("unlock the pty")]
    Unlock(#[source] Errno),
    #[error("open the pty peer")]
    Peer(#[source] Errno),
    #[error("send the pty master to the console socket")]
    Send(#[source] Errno),
    #[error("make the pty the controlling terminal")]
    Ctty(#[source] Errno),
    #[error("set the console size")]
    Size(#[source] Errno),
    #[error("dup the pty onto stdio")]
    Dup(#[source] Errno),
    #[error("bind /dev/console")]
    Bind(#[source] rootfs::RootfsError),
}

fn ioctl(fd: &OwnedFd, req: libc::c_ulong, arg: libc::c_ulong) -> Result<i32, Errno> {
    // SAFETY: the requests used here take an integer or pointer argument we own.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), req, arg) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

pub fn setup(
    socket: Option<OwnedFd>,
    size: Option<oci_spec::runtime::Box>,
) -> Result<(), ConsoleError> {
    let Some(socket) = socket else {
        return Ok(());
    };
    let slave = attach_pty(socket, size)?;
    rootfs::mount_console(slave.as_fd()).map_err(ConsoleError::Bind)
}

/// A new pty: its master sent to `socket`, its slave our controlling terminal and stdio.
/// Returns the slave (for /dev/console); `exec` uses this without the /dev/console bind.
pub fn attach_pty(
    socket: OwnedFd,
    size: Option<oci_spec::runtime::Box>,
) -> Result<OwnedFd, ConsoleError> {
    let master = nix::fcntl::open(
        "/dev/ptmx",
        nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(ConsoleError::Ptmx)?;
    let fs = nix::sys::statfs::fstatfs(&master).map_err(ConsoleError::Ptmx)?;
    if fs.filesystem_type().0 as i64 != DEVPTS_SUPER_MAGIC {
        return Err(ConsoleError::NotDevpts);
    }
    let unlock: libc::c_int = 0;
    ioctl(
        &master,
        libc::TIOCSPTLCK,
        &unlock as *const _ as libc::c_ulong,
    )
    .map_err(ConsoleError::Unlock)?;
    // TIOCGPTPEER opens the slave through the master: no path, so no symlink can redirect it.
    let flags = (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) as libc::c_ulong;
    let raw = ioctl(&master, libc::TIOCGPTPEER, flags).map_err(ConsoleError::Peer)?;
    // SAFETY: TIOCGPTPEER returned a new fd that we own.
    let slave = unsafe { OwnedFd::from_raw_fd(raw) };
    if let Some(sz) = size {
        let ws = libc::winsize {
            ws_row: sz.height() as u16,
            ws_col: sz.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        ioctl(&slave, libc::TIOCSWINSZ, &ws as *const _ as libc::c_ulong)
            .map_err(ConsoleError::Size)?;
    }
    let mut n: libc::c_uint = 0;
    let name = match ioctl(&master, libc::TIOCGPTN, &mut n as *mut _ as libc::c_ulong) {
        Ok(_) => format!("/dev/pts/{n}"),
        Err(_) => "/dev/ptmx".to_string(),
    };
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(ConsoleError::Send)?;
    drop(master);
    drop(socket);
    nix::unistd::setsid().map_err(ConsoleError::Ctty)?;
    ioctl(&slave, libc::TIOCSCTTY, 0).map_err(ConsoleError::Ctty)?;
    for target in 0..3 {
        // SAFETY: dup2 onto stdio numbers, which we intend to replace.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(ConsoleError::Dup(Errno::last()));
        }
    }
    Ok(slave)
}
