//! The verbs that act on a container's cgroup: pause, resume, update, ps and events.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::cgroups::conv::unset_zeros;
use crate::cgroups::{stats::flat_keyed, Cgroup, CgroupError, Mode};
use crate::host::lifecycle::{Container, LifecycleError};
use crate::state::{liveness, Status, StoreError};

#[derive(Debug, Error)]
pub enum VerbError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("container {0:?} is {1}, not running")]
    NotRunning(String, Status),
    #[error("container {0:?} is {1}, not paused")]
    NotPaused(String, Status),
    #[error("container {0:?} has no cgroup (it was created with --cgroup-manager disabled)")]
    NoCgroup(String),
    #[error("container {0:?}: the cgroup record in its state")]
    Record(String, #[source] serde_json::Error),
    #[error("{op} container {id:?}")]
    Cgroup {
        op: &'static str,
        id: String,
        #[source]
        source: CgroupError,
    },
    #[error("read resources from {0:?}")]
    ReadResources(PathBuf, #[source] io::Error),
    #[error("parse resources from {0:?} as linux.resources JSON")]
    ParseResources(PathBuf, #[source] serde_json::Error),
    #[error("run ps {0:?}")]
    PsSpawn(Vec<String>, #[source] io::Error),
    #[error("ps {args:?} failed ({status}): {stderr}")]
    PsFailed {
        args: Vec<String>,
        status: String,
        stderr: String,
    },
    #[error(transparent)]
    Input(#[from] crate::input_file::InputFileError),
    #[error("ps output has no PID column in its header {0:?}")]
    NoPidColumn(String),
    #[error("write to stdout")]
    Output(#[source] io::Error),
}

fn cgroup_of(c: &Container) -> Result<Cgroup, VerbError> {
    let id = c.dir.id.clone();
    let value = c
        .saved
        .as_ref()
        .and_then(|s| s.cgroup.clone())
        .ok_or_else(|| VerbError::NoCgroup(id.clone()))?;
    serde_json::from_value(value).map_err(|e| VerbError::Record(id, e))
}

fn cg_err<'a>(op: &'static str, id: &'a str) -> impl FnOnce(CgroupError) -> VerbError + 'a {
    move |source| VerbError::Cgroup {
        op,
        id: id.to_string(),
        source,
    }
}

/// Record the status we moved the container to; `state` derives paused from the freezer too.
fn save_status(c: &mut Container, status: Status) -> Result<(), VerbError> {
    if let Some(saved) = c.saved.as_mut() {
        saved.status = status;
        c.dir.save(saved)?;
    }
    Ok(())
}

/// Freeze every process of a running container and wait until the kernel says frozen.
pub fn pause(root: &Path, id: &str) -> Result<(), VerbError> {
    let mut c = Container::load(root, id)?;
    let status = c.status();
    // runc also freezes a created container; brick does not, as start would then hang.
    if status != Status::Running {
        return Err(VerbError::NotRunning(id.to_string(), status));
    }
    cgroup_of(&c)?.freeze().map_err(cg_err("freeze", id))?;
    save_status(&mut c, Status::Paused)
}

/// Thaw a paused container and wait until the kernel says it runs again.
pub fn resume(root: &Path, id: &str) -> Result<(), VerbError> {
    let mut c = Container::load(root, id)?;
    let status = c.status();
    if status != Status::Paused {
        return Err(VerbError::NotPaused(id.to_string(), status));
    }
    cgroup_of(&c)?.thaw().map_err(cg_err("thaw", id))?;
    save_status(&mut c, Status::Running)
}

/// Read a LinuxResources JSON from `path` ("-" is stdin); zeros mean "leave as is", as in runc.
pub fn read_resources(path: &Path) -> Result<LinuxResources, VerbError> {
    let mut text = Vec::new();
    if path == Path::new("-") {
        io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| VerbError::ReadResources(path.to_path_buf(), e))?;
    } else {
        // Regular files only: a FIFO or device given as --resources must not hang update.
        text = crate::input_file::read(path)?;
    }
    let res = serde_json::from_slice(&text)
        .map_err(|e| VerbError::ParseResources(path.to_path_buf(), e))?;
    Ok(unset_zeros(res))
}

/// Apply new limits to a created, running or paused container.
pub fn update(root: &Path, id: &str, res: &LinuxResources) -> Result<(), VerbError> {
    let c = Container::load(root, id)?;
    let status = c.status();
    if matches!(status, Status::Stopped | Status::Creating) {
        return Err(VerbError::NotRunning(id.to_string(), status));
    }
    cgroup_of(&c)?.update(res).map_err(cg_err("update", id))
}

/// Host pids of every process in the container's cgroup.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>, VerbError> {
    let cg = cgroup_of(&Container::peek(root, id)?)?;
    let mut pids = cg.pids().map_err(cg_err("list the processes of", id))?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// `ps ARGS` (default -ef) on the host, keeping the header and the container's processes.
pub fn ps_table(root: &Path, id: &str, ps_args: &[String]) -> Result<String, VerbError> {
    let pids = pids(root, id)?;
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".to_string()]
    } else {
        ps_args.to_vec()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| VerbError::PsSpawn(args.clone(), e))?;
    if !out.status.success() {
        return Err(VerbError::PsFailed {
            args,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    filter_ps(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// The header plus the lines whose PID column is one of `pids`.
pub fn filter_ps(output: &str, pids: &[i32]) -> Result<String, VerbError> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or_default();
    let col = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| VerbError::NoPidColumn(header.to_string()))?;
    let mut text = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            text.push_str(line);
            text.push('\n');
        }
    }
    Ok(text)
}

/// One line of `events` output, with runc's field order: type, id, then data if any.
#[derive(Debug, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl Event {
    pub fn new(kind: &'static str, id: &str, data: Option<Value>) -> Event {
        Event {
            kind,
            id: id.to_string(),
            data,
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// What `events` needs, taken from the state so the container's lock is not held meanwhile.
struct Watched {
    cg: Cgroup,
    pid: i32,
    start_time: u64,
}

fn watch(root: &Path, id: &str) -> Result<Watched, VerbError> {
    let c = Container::peek(root, id)?;
    let status = c.status();
    let (Some(s), Status::Created | Status::Running | Status::Paused) = (&c.saved, status) else {
        return Err(VerbError::NotRunning(id.to_string(), status));
    };
    Ok(Watched {
        cg: cgroup_of(&c)?,
        pid: s.pid,
        start_time: s.start_time,
    })
}

/// The stats event `events --stats` prints.
pub fn stats(root: &Path, id: &str) -> Result<Event, VerbError> {
    let w = watch(root, id)?;
    let data = w.cg.stats().map_err(cg_err("read the stats of", id))?;
    Ok(Event::new("stats", id, Some(data)))
}

/// How many times the kernel's OOM killer has acted in the container's memory cgroup.
fn oom_count(cg: &Cgroup) -> Option<u64> {
    let (dir, file) = match (cg.mode, &cg.v2) {
        (Mode::V2, Some(d)) => (d.clone(), "memory.events"),
        _ => (cg.v1.get("memory")?.clone(), "memory.oom_control"),
    };
    let text = crate::small_file::read(dir.join(file)).ok()?;
    let kv = flat_keyed(&text);
    // Kernels before 4.13 have no oom_kill counter in v1; under_oom at least shows one.
    kv.get("oom_kill").or(kv.get("under_oom")).copied()
}

/// How often OOM counters and liveness are checked between stats events.
const POLL: Duration = Duration::from_millis(100);

/// Stream events: a stats event every `interval`, an oom event whenever the OOM killer acts;
/// returns when the container stops or its cgroup is gone.
pub fn stream(
    root: &Path,
    id: &str,
    interval: Duration,
    out: &mut dyn Write,
) -> Result<(), VerbError> {
    let w = watch(root, id)?;
    let mut emit = |v: Event| -> Result<(), VerbError> {
        writeln!(out, "{v}")
            .and_then(|()| out.flush())
            .map_err(VerbError::Output)
    };
    let mut ooms = oom_count(&w.cg).unwrap_or(0);
    let mut next_stats = Instant::now() + interval;
    loop {
        let alive = liveness::is_alive(w.pid, w.start_time);
        // Read the counter after the liveness check so an OOM that ended the container shows.
        let now_ooms = oom_count(&w.cg).unwrap_or(ooms);
        for _ in ooms..now_ooms {
            emit(Event::new("oom", id, None))?;
        }
        ooms = ooms.max(now_ooms);
        if !alive {
            return Ok(());
        }
        if Instant::now() >= next_stats {
            match w.cg.stats() {
                Ok(data) => emit(Event::new("stats", id, Some(data)))?,
                // The cgroup went away: the container was deleted.
                Err(_) => return Ok(()),
            }
            next_stats += interval;
        }
        let wait = next_stats.saturating_duration_since(Instant::now());
        std::thread::sleep(wait.min(POLL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         420       1  0 10:01 ?        00:00:00 /bin/probe sleep 30
root         421     420  0 10:01 ?        00:00:00 sleep 4201
";

    #[test]
    fn filter_keeps_header_and_container_pids() {
        let t = filter_ps(PS, &[420, 4201]).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("UID"));
        assert!(lines[1].contains("probe sleep 30"));
        let t = filter_ps(
            "  PID TTY  TIME CMD\n  421 ?  0:00 sh\n   42 ? 0:00 x\n",
            &[421],
        )
        .unwrap();
        assert_eq!(t, "  PID TTY  TIME CMD\n  421 ?  0:00 sh\n");
        assert!(matches!(
            filter_ps("USER COMMAND\nroot x\n", &[1]),
            Err(VerbError::NoPidColumn(_))
        ));
    }

    #[test]
    fn event_shapes() {
        assert_eq!(
            Event::new("oom", "c1", None).to_string(),
            r#"{"type":"oom","id":"c1"}"#
        );
        let s = Event::new(
            "stats",
            "c1",
            Some(serde_json::json!({"pids": {"current": 1}})),
        );
        assert_eq!(
            s.to_string(),
            r#"{"type":"stats","id":"c1","data":{"pids":{"current":1}}}"#
        );
    }
}
