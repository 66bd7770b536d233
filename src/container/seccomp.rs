//! Load a precompiled seccomp program in the container process, and hand the notify
//! listener fd to the seccomp agent.
//!
//! load() runs in the child late in init: no libseccomp, no allocation, one seccomp(2) call.

use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use oci_spec::runtime::{ContainerProcessState, State, SECCOMP_FD_NAME};

use crate::seccomp::{NotifyTarget, SeccompProgram, MAX_INSNS};

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp program has {insns} instructions, expected 1..={MAX_INSNS}")]
    BadLength { insns: usize },
    #[error("load seccomp filter (flags {flags:#x})")]
    Load {
        flags: u32,
        #[source]
        source: Errno,
    },
    #[error("load seccomp filter: thread {tid} could not be synchronized (TSYNC)")]
    Tsync { tid: i64 },
    #[error("encode container process state for the seccomp agent")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
    #[error("connect to seccomp listener {path:?}")]
    Connect {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("send seccomp fd to listener {path:?}")]
    Send {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Install the filter on the calling thread (all threads with TSYNC).
/// Needs no_new_privs set beforehand, or CAP_SYS_ADMIN in the caller's user namespace.
/// Returns the listener fd when the program was compiled with SCMP_ACT_NOTIFY rules.
pub fn load(prog: &SeccompProgram) -> Result<Option<OwnedFd>, SeccompError> {
    let insns = prog.filter.len();
    let len = match u16::try_from(insns) {
        Ok(n) if n > 0 && insns <= MAX_INSNS => n,
        _ => return Err(SeccompError::BadLength { insns }),
    };
    let fprog = libc::sock_fprog {
        len,
        // The kernel copies the program and never writes through this pointer.
        filter: prog.filter.as_ptr().cast_mut(),
    };
    // SAFETY: fprog points at `len` valid instructions that outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(prog.flags),
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(SeccompError::Load {
            flags: prog.flags,
            source: Errno::last(),
        });
    }
    let wants_listener = prog.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 != 0;
    if !wants_listener {
        // Without NEW_LISTENER a positive return is the tid that TSYNC failed on.
        return match ret {
            0 => Ok(None),
            tid => Err(SeccompError::Tsync { tid }),
        };
    }
    let raw = i32::try_from(ret).map_err(|_| SeccompError::Load {
        flags: prog.flags,
        source: Errno::EBADF,
    })?;
    // SAFETY: with NEW_LISTENER the kernel returns a fresh fd (O_CLOEXEC) that we now own.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(raw) }))
}

/// The runtime-spec containerProcessState message for the agent, naming the one fd sent.
pub fn process_state(target: &NotifyTarget, state: &State) -> ContainerProcessState {
    let mut msg = ContainerProcessState::default();
    msg.set_version(state.version().clone());
    msg.set_fds(vec![SECCOMP_FD_NAME.to_string()]);
    msg.set_pid(state.pid().unwrap_or(0));
    msg.set_metadata(target.metadata.clone());
    msg.set_state(state.clone());
    msg
}

/// Connect to `listenerPath` and send the container process state with the listener fd
/// attached (SCM_RIGHTS), as the runtime-spec describes. Called by the runtime, not the child.
pub fn send_to_listener(
    target: &NotifyTarget,
    notify_fd: BorrowedFd<'_>,
    state: &State,
) -> Result<(), SeccompError> {
    let path = &target.listener_path;
    let json = serde_json::to_vec(&process_state(target, state))
        .map_err(|source| SeccompError::Encode { source })?;
    // std's UnixStream opens with SOCK_CLOEXEC.
    let mut stream = UnixStream::connect(path).map_err(|source| SeccompError::Connect {
        path: path.clone(),
        source,
    })?;
    let send_err = |source: std::io::Error| SeccompError::Send {
        path: path.clone(),
        source,
    };
    let fds = [notify_fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let sent = loop {
        match sendmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &[IoSlice::new(&json)],
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(Errno::EINTR) => continue,
            other => break other.map_err(|e| send_err(e.into()))?,
        }
    };
    // The fd travels with the first byte; the rest of a large state may follow separately.
    stream.write_all(&json[sent..]).map_err(send_err)?;
    Ok(())
}
