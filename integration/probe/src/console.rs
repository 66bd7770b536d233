//! `probe recv-console SOCKET`: a console-socket server. Accept one connection, take the
//! pty master fd sent with SCM_RIGHTS, then copy the master to stdout until EOF/EIO.

use crate::errno::last_errno;
use crate::fail;
use std::io::Write;

fn recv_fd(conn: libc::c_int) -> (libc::c_int, String) {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut cbuf = [0u64; 64];
    // SAFETY: msghdr points at live local buffers for the duration of recvmsg.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    let n = unsafe { libc::recvmsg(conn, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        fail("recvmsg", "console", last_errno());
    }
    let name = String::from_utf8_lossy(&data[..n as usize]).into_owned();
    // SAFETY: walking the control buffer the kernel filled, with the libc CMSG helpers.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::c_int);
                return (fd, name);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    eprintln!("probe: no SCM_RIGHTS fd received");
    std::process::exit(1)
}

pub fn recv_console(path: &str) {
    // SAFETY: socket setup on a local sockaddr_un; fds are closed at exit.
    unsafe {
        let s = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            fail("socket", path, last_errno());
        }
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (i, b) in path.bytes().take(addr.sun_path.len() - 1).enumerate() {
            addr.sun_path[i] = b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if libc::bind(s, (&addr as *const libc::sockaddr_un).cast(), len) < 0 {
            fail("bind", path, last_errno());
        }
        if libc::listen(s, 1) < 0 {
            fail("listen", path, last_errno());
        }
        let conn = libc::accept4(
            s,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        );
        if conn < 0 {
            fail("accept", path, last_errno());
        }
        let (master, name) = recv_fd(conn);
        libc::close(conn);
        libc::close(s);
        eprintln!("probe: got pty master for {name:?}");
        let mut out = std::io::stdout().lock();
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(master, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 && last_errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
            let _ = out.write_all(&buf[..n as usize]);
            let _ = out.flush();
        }
    }
}
