//! Who the container process is: user and groups, rlimits, umask, keyring, no_new_privs.

use nix::errno::Errno;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum IdentityError {
    #[error("become root of the new user namespace")]
    NsRoot(#[source] Errno),
    #[error("setgroups {0:?}")]
    Groups(Vec<u32>, #[source] Errno),
    #[error("setresgid {0}")]
    Gid(u32, #[source] Errno),
    #[error("setresuid {0}")]
    Uid(u32, #[source] Errno),
    #[error("prctl(PR_SET_KEEPCAPS)")]
    KeepCaps(#[source] Errno),
    #[error("{name} soft {soft} hard {hard}")]
    Rlimit {
        name: &'static str,
        soft: u64,
        hard: u64,
        #[source]
        source: Errno,
    },
    #[error("join a new session keyring")]
    Keyring(#[source] Errno),
    #[error("prctl(PR_SET_NO_NEW_PRIVS)")]
    NoNewPrivs(#[source] Errno),
}

fn check(r: libc::c_int) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// In a user namespace we start as the host's uid (an overflow id there): the namespace's
/// root must own what we create, so files and mounts are never the host root's.
pub fn become_ns_root(in_userns: bool) -> Result<(), IdentityError> {
    if !in_userns {
        return Ok(());
    }
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .map_err(IdentityError::NsRoot)?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).map_err(IdentityError::NsRoot)
}

/// KEEPCAPS, then groups, gid, uid: the permitted set survives for the exact capset after.
pub fn switch_user(uid: u32, gid: u32, groups: &[u32]) -> Result<(), IdentityError> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) })
        .map_err(IdentityError::KeepCaps)?;
    let gids: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
    match setgroups(&gids) {
        // A user namespace with setgroups denied cannot change groups; none were asked for.
        Err(Errno::EPERM) if groups.is_empty() => {}
        other => other.map_err(|e| IdentityError::Groups(groups.to_vec(), e))?,
    }
    let g = Gid::from_raw(gid);
    setresgid(g, g, g).map_err(|e| IdentityError::Gid(gid, e))?;
    let u = Uid::from_raw(uid);
    setresuid(u, u, u).map_err(|e| IdentityError::Uid(uid, e))
}

pub fn set_rlimits(
    limits: &[(libc::__rlimit_resource_t, u64, u64, &'static str)],
) -> Result<(), IdentityError> {
    for &(res, soft, hard, name) in limits {
        let lim = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: a valid rlimit struct for the duration of the call.
        check(unsafe { libc::setrlimit(res, &lim) }).map_err(|source| IdentityError::Rlimit {
            name,
            soft,
            hard,
            source,
        })?;
    }
    Ok(())
}

pub fn set_umask(umask: Option<u32>) {
    if let Some(m) = umask {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(m as libc::mode_t) };
    }
}

/// A fresh session keyring, so the container cannot read the caller's keys.
pub fn join_session_keyring(wanted: bool, id: &str) -> Result<(), IdentityError> {
    if !wanted {
        return Ok(());
    }
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name = std::ffi::CString::new(format!("_ses.{id}")).unwrap_or_default();
    // SAFETY: keyctl with a valid NUL-terminated name.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    match r {
        r if r >= 0 => Ok(()),
        // Kernels without keyrings, or seccomp'd hosts, leave the caller's keyring: as runc does.
        _ if matches!(Errno::last(), Errno::ENOSYS | Errno::EACCES) => Ok(()),
        _ => Err(IdentityError::Keyring(Errno::last())),
    }
}

pub fn set_no_new_privs() -> Result<(), IdentityError> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })
        .map_err(IdentityError::NoNewPrivs)
}
