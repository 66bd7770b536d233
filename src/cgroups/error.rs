//! The error type of the cgroups module.

use std::path::PathBuf;

use nix::errno::Errno;

/// Everything that can go wrong in the cgroups module.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("write {value:?} to {path:?}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("read {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parse {text:?} read from {path:?}")]
    Parse { path: PathBuf, text: String },
    #[error("create cgroup {path:?}")]
    Mkdir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("remove cgroup {path:?}")]
    Rmdir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("open {path:?}")]
    Open {
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error(
        "linux.resources.devices: cgroup v1 cannot deny {rule:?} inside the allowed {allowed:?}"
    )]
    DeviceHole { rule: String, allowed: String },
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidValue {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("linux.resources.{resource} needs the {controller} cgroup controller, which this host does not provide")]
    ControllerMissing {
        controller: &'static str,
        resource: &'static str,
    },
    #[error(
        "linux.resources.unified key {key:?} needs cgroup v2, but this host mounts only cgroup v1"
    )]
    UnifiedNeedsV2 { key: String },
    #[error("linux.resources.unified key {key:?}: cgroup2 directory {dir:?} has no such file (controller not enabled there?)")]
    UnifiedKey {
        key: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bpf: {op} for the device rules of {path:?}")]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: Errno,
    },
    #[error("no cgroup hierarchy is mounted")]
    NoHierarchy,
    #[error("pause/resume needs a freezer: this host has no v1 freezer and no cgroup2 hierarchy")]
    NoFreezer,
    #[error("cgroup {path:?} already holds processes; a container needs its own cgroup")]
    NotEmpty { path: PathBuf },
    #[error("send signal to process {pid}")]
    Signal {
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error("systemd: {op} unit {unit:?}")]
    Systemd {
        op: &'static str,
        unit: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{op} cgroup {path:?}: timed out")]
    Timeout { op: &'static str, path: PathBuf },
}
