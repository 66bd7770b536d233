//! The messages, and the one way a child's failure crosses: whole, with stage and errno.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Parent → child.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToChild {
    /// Id maps are written: go on up to the cgroup namespace. Carries the child's pid as the
    /// host sees it, for the state given to hooks.
    Go { pid: i32 },
    /// The parent finished the cgroup (a systemd scope, a clone(2) fallback's cgroup2 move)
    /// and ran prestart/createRuntime hooks: go on to the start gate.
    Joined,
}

/// Child → parent (or → `start`, after the gate).
#[derive(Debug, Serialize, Deserialize)]
pub enum FromChild {
    /// The mounts that need no cgroup are made (they overlap the parent's cgroup join).
    Mounted,
    /// Everything up to the start gate is done.
    Ready,
    Error(ChildError),
    /// The seccomp notify fd rides along (SCM_RIGHTS), for the receiver to hand to listenerPath.
    SeccompFd,
}

/// A failure inside the container process: the stage it happened in, its errno, its chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChildError {
    pub stage: String,
    pub errno: Option<i32>,
    /// Each level of the error chain, outermost first; the errno level already rendered.
    pub chain: Vec<String>,
}

impl ChildError {
    pub fn new(stage: &str, err: &(dyn std::error::Error + 'static)) -> Self {
        ChildError {
            stage: stage.to_string(),
            errno: crate::error::deepest_errno(err),
            chain: crate::error::chain_parts(err),
        }
    }
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stage)?;
        for part in &self.chain {
            write!(f, ": {part}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ChildError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_stage_then_chain() {
        let e = ChildError::new("rootfs", &std::io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(e.to_string(), "rootfs: Permission denied (EACCES)");
        assert_eq!(e.errno, Some(libc::EACCES));
    }
}
