//! Container status as the OCI spec defines it, derived from what was saved plus liveness.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// The live status: a saved created/running/paused container whose process is gone is stopped.
pub fn current(saved: Status, alive: bool, frozen: bool) -> Status {
    match saved {
        Status::Creating | Status::Stopped => saved,
        _ if !alive => Status::Stopped,
        Status::Created => Status::Created,
        Status::Running | Status::Paused if frozen => Status::Paused,
        Status::Running | Status::Paused => Status::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        assert_eq!(current(Status::Created, true, false), Status::Created);
        assert_eq!(current(Status::Created, false, false), Status::Stopped);
        assert_eq!(current(Status::Running, true, false), Status::Running);
        assert_eq!(current(Status::Running, true, true), Status::Paused);
        assert_eq!(current(Status::Paused, true, false), Status::Running);
        assert_eq!(current(Status::Running, false, false), Status::Stopped);
        assert_eq!(current(Status::Creating, false, false), Status::Creating);
        assert_eq!(current(Status::Stopped, true, false), Status::Stopped);
    }

    #[test]
    fn serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Status::Running).unwrap(),
            "\"running\""
        );
    }
}
