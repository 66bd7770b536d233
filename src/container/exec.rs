//! The last steps: the working directory, argv[0] found in the container's PATH, execve.

use crate::plan::process::ProcessPlan;
use nix::errno::Errno;
use nix::sys::signal::{SigHandler, Signal};
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExecError {
    #[error("create process.cwd {0:?}")]
    MkCwd(PathBuf, #[source] std::io::Error),
    #[error("chdir to process.cwd {0:?}")]
    Chdir(PathBuf, #[source] Errno),
    #[error("process.cwd {0:?} is outside the container's root")]
    CwdOutside(PathBuf),
    #[error("{0:?}: executable file not found in $PATH")]
    NotFound(String, #[source] Errno),
    #[error("{0:?}: not an executable file")]
    NotExecutable(String, #[source] Errno),
    #[error("config.json has no process to start")]
    NoProcess,
    #[error("restore SIGPIPE's default action")]
    Sigpipe(#[source] Errno),
    #[error("execve {0:?}")]
    Exec(String, #[source] Errno),
}

/// mkdir -p inside the new root (after pivot_root, ".." and symlinks cannot leave it), then
/// enter it once as root and check where we are, before any seccomp filter may deny getcwd.
pub fn ensure_cwd(cwd: &Path) -> Result<(), ExecError> {
    if !cwd.is_dir() {
        std::fs::create_dir_all(cwd).map_err(|e| ExecError::MkCwd(cwd.to_path_buf(), e))?;
    }
    nix::unistd::chdir(cwd).map_err(|e| ExecError::Chdir(cwd.to_path_buf(), e))?;
    // A cwd reached through a leaked fd reads back as "(unreachable)/..." (CVE-2024-21626).
    let now = nix::unistd::getcwd().map_err(|e| ExecError::Chdir(cwd.to_path_buf(), e))?;
    if !now.is_absolute() || now.starts_with("(unreachable)") {
        return Err(ExecError::CwdOutside(cwd.to_path_buf()));
    }
    Ok(())
}

/// chdir again as the container user, so its permissions on the path are checked too.
pub fn enter_cwd(cwd: &Path) -> Result<(), ExecError> {
    nix::unistd::chdir(cwd).map_err(|e| ExecError::Chdir(cwd.to_path_buf(), e))
}

fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A name with a '/' is used as given (relative to cwd); a bare name is searched in PATH.
pub fn resolve(p: &ProcessPlan) -> Result<CString, ExecError> {
    let arg0 = p
        .args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let candidates: Vec<PathBuf> = if arg0.contains('/') {
        let path = Path::new(&arg0);
        vec![if path.is_absolute() {
            path.to_path_buf()
        } else {
            p.cwd.join(path)
        }]
    } else {
        p.path
            .split(':')
            .map(|dir| {
                if dir.is_empty() {
                    p.cwd.clone()
                } else {
                    PathBuf::from(dir)
                }
            })
            .map(|dir| dir.join(&arg0))
            .collect()
    };
    if let Some(found) = candidates.iter().find(|c| is_executable_file(c)) {
        return CString::new(found.as_os_str().as_bytes())
            .map_err(|_| ExecError::NotFound(arg0, Errno::EINVAL));
    }
    if arg0.contains('/') && candidates[0].exists() {
        return Err(ExecError::NotExecutable(arg0, Errno::EACCES));
    }
    Err(ExecError::NotFound(arg0, Errno::ENOENT))
}

/// brick ignores SIGPIPE and an ignored signal stays ignored across execve: give it back.
pub fn default_sigpipe() -> Result<(), ExecError> {
    // SAFETY: setting a disposition to SIG_DFL runs no code of ours.
    unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) }
        .map(drop)
        .map_err(ExecError::Sigpipe)
}

/// Returns only on failure.
pub fn exec(path: &CString, p: &ProcessPlan) -> Result<std::convert::Infallible, ExecError> {
    let e = nix::unistd::execve(path, &p.args, &p.env)
        .err()
        .unwrap_or(Errno::EINVAL);
    Err(ExecError::Exec(
        OsStr::from_bytes(path.as_bytes())
            .to_string_lossy()
            .into_owned(),
        e,
    ))
}
