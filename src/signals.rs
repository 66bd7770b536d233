//! Signal names and numbers as `kill` takes them: "KILL", "SIGKILL", "kill" or "9".

use nix::sys::signal::Signal;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown signal {0:?}")]
pub struct SignalError(pub String);

pub fn parse(s: &str) -> Result<Signal, SignalError> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| SignalError(s.to_string()));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| SignalError(s.to_string()))
}

/// A wait status as a person reads it: "exit status 1", "killed by signal SIGSYS".
pub fn describe_exit(status: nix::sys::wait::WaitStatus) -> String {
    use nix::sys::wait::WaitStatus;
    match status {
        WaitStatus::Exited(_, code) => format!("exit status {code}"),
        WaitStatus::Signaled(_, sig, core) => format!(
            "killed by signal {}{}",
            sig.as_str(),
            if core { " (core dumped)" } else { "" }
        ),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_read_as_text() {
        use nix::sys::wait::WaitStatus;
        let pid = nix::unistd::Pid::from_raw(7);
        assert_eq!(describe_exit(WaitStatus::Exited(pid, 1)), "exit status 1");
        assert_eq!(
            describe_exit(WaitStatus::Signaled(pid, Signal::SIGSYS, false)),
            "killed by signal SIGSYS"
        );
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("KILL"), Ok(Signal::SIGKILL));
        assert_eq!(parse("SIGTERM"), Ok(Signal::SIGTERM));
        assert_eq!(parse("term"), Ok(Signal::SIGTERM));
        assert_eq!(parse("9"), Ok(Signal::SIGKILL));
        assert_eq!(parse("15"), Ok(Signal::SIGTERM));
        assert!(parse("SIGFOO").is_err());
        assert!(parse("99").is_err());
        assert!(parse("").is_err());
    }
}
