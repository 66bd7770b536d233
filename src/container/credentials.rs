//! The one credential and exec sequence: the init and every exec'd process call these, so
//! the security-critical order cannot differ between them.

use super::exec::ExecError;
use super::stage::{Stage, StageError};
use super::steps::Common;
use crate::plan::process::ProcessPlan;
use std::convert::Infallible;
use std::ffi::CString;

/// From the fd sweep to no_new_privs; returns argv[0] resolved (None: the config has no
/// process, so there is nothing to exec).
pub fn assume<S: Common + ?Sized>(
    s: &mut S,
    p: &ProcessPlan,
    fds_from: u32,
) -> Result<Option<CString>, StageError> {
    // Every fd but stdio and --preserve-fds closes at execve (leaked-fd escapes).
    s.cloexec_from(fds_from).at("fds")?;
    // argv[0] is found in the container's PATH now, so create fails if it is missing.
    let exe = match p.args.is_empty() {
        true => None,
        false => Some(s.resolve_exe(p).at("exec")?),
    };
    // SIGPIPE's default, before any filter could refuse the call; from here the process writes
    // only to sockets (MSG_NOSIGNAL) and to hook stdin pipes filled before the hook runs.
    s.default_sigpipe().at("exec")?;
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before capset.
    if !p.no_new_privs {
        s.load_seccomp().at("seccomp")?;
    }
    // The bounding set is dropped while CAP_SETPCAP is still held.
    s.drop_bounding(&p.caps).at("capabilities")?;
    // KEEPCAPS keeps the permitted set across setuid, so capset sets the exact final sets.
    s.switch_user(p.uid, p.gid, &p.additional_gids).at("user")?;
    s.credentials_changed().at("init")?;
    // Exactly the configured sets: inheritable and ambient only if asked for (CVE-2022-29162).
    s.apply_caps(&p.caps).at("capabilities")?;
    // The cwd is entered again as the process's user (its permissions apply).
    s.enter_cwd(&p.cwd).at("cwd")?;
    s.set_umask(p.umask);
    if p.no_new_privs {
        s.set_no_new_privs().at("noNewPrivileges")?;
    }
    Ok(exe)
}

/// After `assume` (and, for the init, the start gate): the late filter, hooks, execve.
pub fn execute<S: Common + ?Sized>(
    s: &mut S,
    p: &ProcessPlan,
    exe: Option<CString>,
) -> Result<Infallible, StageError> {
    // With no_new_privs, the filter comes as late as possible: it never has to allow brick.
    if p.no_new_privs {
        s.load_seccomp().at("seccomp")?;
    }
    s.before_exec().at("hooks")?;
    let exe = exe.ok_or(ExecError::NoProcess).at("exec")?;
    // The channel to brick is CLOEXEC: its closing tells brick that execve happened.
    s.exec(&exe, p).at("exec")
}
