//! Runs OCI hooks: the container state on stdin, path/args/env as given, a timeout in seconds.

use oci_spec::runtime::Hook;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HookError {
    #[error("{kind} hook {path:?}: start")]
    Spawn {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} hook {path:?}: {status}")]
    Failed {
        kind: &'static str,
        path: PathBuf,
        status: String,
    },
    #[error("{kind} hook {path:?}: not a regular file")]
    NotRegular { kind: &'static str, path: PathBuf },
    #[error("{kind} hook {path:?}: timed out after {secs}s")]
    Timeout {
        kind: &'static str,
        path: PathBuf,
        secs: i64,
    },
    #[error("{kind} hook {path:?}: wait")]
    Wait {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Waits for `pid` up to `secs` seconds through a pidfd; false on timeout.
fn wait_exit(pid: u32, secs: i64) -> std::io::Result<bool> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the fd was just returned by the kernel and is ours alone.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = secs.saturating_mul(1000).clamp(0, i32::MAX as i64) as i32;
    loop {
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        match n {
            0 => return Ok(false),
            n if n > 0 => return Ok(true),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// A pipe already holding the whole state, when it fits: nothing is written once the hook
/// runs, so one that exits unread cannot raise SIGPIPE (the container's init no longer
/// ignores it by then). None: the caller writes after the spawn, as before.
fn prefilled_stdin(state: &[u8]) -> Option<OwnedFd> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let room = nix::fcntl::fcntl(&write, nix::fcntl::FcntlArg::F_GETPIPE_SZ).ok()?;
    if usize::try_from(room).ok()? < state.len() {
        return None;
    }
    std::fs::File::from(write).write_all(state).ok()?;
    Some(read)
}

fn run_one(hook: &Hook, kind: &'static str, state: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    // A FIFO, socket or device is never executed (exec would refuse it, less clearly).
    if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Err(HookError::NotRegular { kind, path });
    }
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(&path);
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(prefilled_stdin(state).map_or_else(Stdio::piped, Stdio::from));
    let mut child = cmd.spawn().map_err(|source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    })?;
    // Only a state too big for a prefilled pipe leaves a pipe to write here; a hook that does
    // not read its stdin is not an error.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(state);
    }
    if let Some(secs) = hook.timeout().filter(|t| *t > 0) {
        let done = wait_exit(child.id(), secs).map_err(|source| HookError::Wait {
            kind,
            path: path.clone(),
            source,
        })?;
        if !done {
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Timeout { kind, path, secs });
        }
    }
    let status = child.wait().map_err(|source| HookError::Wait {
        kind,
        path: path.clone(),
        source,
    })?;
    if status.success() {
        return Ok(());
    }
    let status = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => match nix::sys::signal::Signal::try_from(sig) {
            Ok(s) => format!("killed by signal {}", s.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        },
        _ => "failed".to_string(),
    };
    Err(HookError::Failed { kind, path, status })
}

/// Runs every hook of one kind in order; the first failure stops the rest. The state is
/// built only when there is a hook to read it.
pub fn run(
    hooks: Option<&Vec<Hook>>,
    kind: &'static str,
    state: impl FnOnce() -> serde_json::Value,
) -> Result<(), HookError> {
    let Some(hooks) = hooks.filter(|h| !h.is_empty()) else {
        return Ok(());
    };
    let bytes = serde_json::to_vec(&state()).unwrap_or_default();
    hooks.iter().try_for_each(|h| run_one(h, kind, &bytes))
}

/// Runs every hook of one kind even if some fail, warning for each (poststop, per the spec).
pub fn run_warn(
    hooks: Option<&Vec<Hook>>,
    kind: &'static str,
    state: impl FnOnce() -> serde_json::Value,
) {
    let Some(hooks) = hooks.filter(|h| !h.is_empty()) else {
        return;
    };
    let bytes = serde_json::to_vec(&state()).unwrap_or_default();
    for h in hooks {
        if let Err(e) = run_one(h, kind, &bytes) {
            crate::log::warn(&crate::error::chain(&e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: serde_json::Value) -> Hook {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn state_reaches_stdin_and_failures_name_the_hook() {
        let dir = std::env::temp_dir().join(format!("brick-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let ok = hook(
            serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", out.display())]}),
        );
        run(
            Some(&vec![ok]),
            "prestart",
            || serde_json::json!({"id": "x"}),
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), r#"{"id":"x"}"#);
        let bad = hook(serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}));
        let e = run(Some(&vec![bad]), "poststart", || serde_json::json!({})).unwrap_err();
        assert_eq!(e.to_string(), "poststart hook \"/bin/sh\": exit status 3");
        let slow =
            hook(serde_json::json!({"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}));
        let e = run(Some(&vec![slow]), "createRuntime", || serde_json::json!({})).unwrap_err();
        assert!(matches!(e, HookError::Timeout { secs: 1, .. }));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stdin_is_filled_before_the_hook_runs() {
        use std::io::Read;
        let state = vec![b'x'; 40_000];
        let fd = prefilled_stdin(&state).expect("40 kB fits a pipe");
        let mut got = Vec::new();
        // The write end is closed already: the read ends at the state's end, not in a wait.
        std::fs::File::from(fd).read_to_end(&mut got).unwrap();
        assert_eq!(got, state);
        assert!(
            prefilled_stdin(&vec![b'x'; 4 << 20]).is_none(),
            "4 MiB needs a late write"
        );
    }
}
