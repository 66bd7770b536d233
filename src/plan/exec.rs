//! `brick exec`, decided without side effects: the process (from --process, or the container's
//! own process with the flags laid over it), which namespaces to join and in what order.

use super::process::{self, ProcessPlan, ProcessPlanError};
use super::Lsm;
use crate::seccomp::{SeccompPlan, SeccompPlanError};
use nix::sched::CloneFlags;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, LinuxSeccomp, Process, Spec};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExecPlanError {
    #[error("no command given: pass the command after the container id, or --process")]
    NoArgs,
    #[error("--user {0:?}: expected uid[:gid], both numbers")]
    User(String),
    #[error("--cap {0:?}: unknown capability")]
    Cap(String),
    #[error("--env {0:?}: expected NAME=VALUE")]
    Env(String),
    #[error("process.cwd {0:?}: must be an absolute path")]
    Cwd(PathBuf),
    #[error("--console-socket needs --tty")]
    ConsoleWithoutTty,
    #[error("--tty with --detach needs --console-socket (nothing would hold the terminal)")]
    DetachedTty,
    #[error("the container's config has no process to take defaults from; use --process")]
    NoBase,
    #[error(transparent)]
    Process(#[from] ProcessPlanError),
    #[error("linux.seccomp")]
    Seccomp(#[from] SeccompPlanError),
    #[error("process.apparmorProfile {0:?}: AppArmor is not enabled on this host")]
    NoApparmor(String),
    #[error("{path:?}: {field}: {msg} (exec refuses to run without what create saved)")]
    SavedConfig {
        path: PathBuf,
        field: String,
        msg: String,
    },
}

/// What `brick exec`'s flags ask for (already parsed; no file is read here).
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    /// brick runs unprivileged: the user namespace is joined first (see to_join).
    pub rootless: bool,
}

/// The namespace kinds, in the order they are joined: every kind but user first, while brick
/// is still root of the host's user namespace (a namespace the container joined by path may
/// be owned by it, and could not be entered from inside the container's user namespace),
/// mount last of those (its fds were opened before), then user.
pub const NAMESPACES: [(&str, CloneFlags); 8] = [
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("time", CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("user", CloneFlags::CLONE_NEWUSER),
];

/// A namespace of the container's init and of brick itself, as (device, inode) pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsIds {
    pub name: &'static str,
    pub container: (u64, u64),
    pub own: (u64, u64),
}

/// The kinds to join, in NAMESPACES order: those where the init is elsewhere than brick
/// (joining one's own user namespace is even an error). Rootless, the user namespace comes
/// first: only its root may enter the others, which it owns.
pub fn to_join(ids: &[NsIds], rootless: bool) -> Vec<(&'static str, CloneFlags)> {
    let mut join: Vec<_> = NAMESPACES
        .iter()
        .filter(|(name, _)| ids.iter().any(|i| i.name == *name && i.container != i.own))
        .copied()
        .collect();
    if rootless {
        join.sort_by_key(|(name, _)| *name != "user");
    }
    join
}

pub struct ExecPlan {
    pub id: String,
    pub process: ProcessPlan,
    pub console_size: Option<oci_spec::runtime::Box>,
    pub join: Vec<(&'static str, CloneFlags)>,
    /// The container's checked profile; its program comes from seccomp::program.
    pub seccomp: Option<SeccompPlan>,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    pub lsm: Lsm,
}

impl ExecPlan {
    /// Whether the process must open the container's /proc to write something there.
    pub fn needs_procfs(&self) -> bool {
        let p = &self.process;
        p.oom_score_adj.is_some()
            || (self.lsm.selinux && p.selinux_label.is_some())
            || p.apparmor_profile.is_some()
    }
}

/// What create keeps in state.json for exec: the process and the seccomp profile, so a
/// changed bundle cannot change what exec runs.
pub fn saved_config(spec: &Spec) -> serde_json::Value {
    serde_json::json!({
        "process": spec.process(),
        "seccomp": spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
    })
}

/// The process and seccomp profile saved by create: a part that does not parse is an error
/// naming the field, never "absent" (exec would then run without the container's filter).
pub fn from_saved(
    v: &serde_json::Value,
    path: &std::path::Path,
) -> Result<(Option<Process>, Option<LinuxSeccomp>), ExecPlanError> {
    if !v.is_object() {
        return Err(saved_err(path, "config".into(), "not a JSON object".into()));
    }
    Ok((part(v, "process", path)?, part(v, "seccomp", path)?))
}

fn part<T: serde::de::DeserializeOwned>(
    v: &serde_json::Value,
    key: &str,
    path: &std::path::Path,
) -> Result<Option<T>, ExecPlanError> {
    let Some(x) = v.get(key).filter(|x| !x.is_null()) else {
        return Ok(None);
    };
    serde_path_to_error::deserialize(x).map(Some).map_err(|e| {
        let field = match e.path().to_string().as_str() {
            "." => format!("config.{key}"),
            p => format!("config.{key}.{p}"),
        };
        saved_err(path, field, e.inner().to_string())
    })
}

fn saved_err(path: &std::path::Path, field: String, msg: String) -> ExecPlanError {
    ExecPlanError::SavedConfig {
        path: path.to_path_buf(),
        field,
        msg,
    }
}

/// Everything the plan is made from.
pub struct ExecInputs<'a> {
    pub id: &'a str,
    pub opts: &'a ExecOptions,
    /// The container's own process (from state.json or its bundle).
    pub base: Option<Process>,
    /// --process FILE, parsed.
    pub file: Option<Process>,
    pub seccomp: Option<&'a LinuxSeccomp>,
    pub ns: &'a [NsIds],
    pub host: &'a crate::host_facts::HostFacts,
}

pub fn build(i: ExecInputs<'_>) -> Result<ExecPlan, ExecPlanError> {
    let o = i.opts;
    let proc_cfg = match i.file {
        // As runc: a process file is taken as it is; the process flags do not apply.
        Some(p) => p,
        None => overlay(i.base.ok_or(ExecPlanError::NoBase)?, o)?,
    };
    if proc_cfg.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(ExecPlanError::NoArgs);
    }
    if !proc_cfg.cwd().is_absolute() {
        return Err(ExecPlanError::Cwd(proc_cfg.cwd().clone()));
    }
    let process = process::plan(&proc_cfg, i.host.last_cap)?;
    if process.terminal && o.detach && o.console_socket.is_none() {
        return Err(ExecPlanError::DetachedTty);
    }
    if !process.terminal && o.console_socket.is_some() {
        return Err(ExecPlanError::ConsoleWithoutTty);
    }
    if let (Some(profile), false) = (&process.apparmor_profile, i.host.lsm.apparmor) {
        return Err(ExecPlanError::NoApparmor(profile.clone()));
    }
    let seccomp = i.seccomp.map(crate::seccomp::plan).transpose()?;
    Ok(ExecPlan {
        id: i.id.to_string(),
        console_size: proc_cfg.console_size(),
        process,
        join: to_join(i.ns, i.opts.rootless),
        seccomp,
        console_socket: o.console_socket.clone(),
        detach: o.detach,
        pid_file: o.pid_file.clone(),
        preserve_fds: o.preserve_fds,
        lsm: i.host.lsm,
    })
}

/// The container's process with the flags laid over it, as runc does: new args, a terminal
/// only with --tty, env and gids appended, --cap added to bounding, effective and permitted
/// (never inheritable or ambient: CVE-2022-29162).
fn overlay(mut p: Process, o: &ExecOptions) -> Result<Process, ExecPlanError> {
    if o.args.is_empty() {
        return Err(ExecPlanError::NoArgs);
    }
    p.set_args(Some(o.args.clone()));
    p.set_terminal(Some(o.tty));
    if let Some(cwd) = &o.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(a) = &o.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &o.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    let env = merge_env(p.env().clone().unwrap_or_default(), &o.env)?;
    p.set_env(Some(env));
    if let Some(u) = &o.user {
        let (uid, gid) = parse_user(u)?;
        p.user_mut().set_uid(uid);
        if let Some(g) = gid {
            p.user_mut().set_gid(g);
        }
    }
    if !o.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&o.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
    }
    if !o.caps.is_empty() {
        let added: Capabilities = o
            .caps
            .iter()
            .map(|c| parse_cap(c))
            .collect::<Result<_, _>>()?;
        let mut c = p.capabilities().clone().unwrap_or_else(empty_caps);
        let with = |set: &Option<Capabilities>| {
            Some(
                set.clone()
                    .unwrap_or_default()
                    .union(&added)
                    .copied()
                    .collect(),
            )
        };
        c.set_bounding(with(c.bounding()));
        c.set_effective(with(c.effective()));
        c.set_permitted(with(c.permitted()));
        p.set_capabilities(Some(c));
    }
    Ok(p)
}

fn empty_caps() -> LinuxCapabilities {
    let mut c = LinuxCapabilities::default();
    c.set_bounding(None);
    c.set_effective(None);
    c.set_permitted(None);
    c.set_inheritable(None);
    c.set_ambient(None);
    c
}

/// NAME=VALUE entries; a name already set is replaced in place, so the last one wins.
fn merge_env(mut env: Vec<String>, add: &[String]) -> Result<Vec<String>, ExecPlanError> {
    for e in add {
        let Some((name, _)) = e.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            return Err(ExecPlanError::Env(e.clone()));
        };
        let prefix = format!("{name}=");
        match env.iter_mut().find(|x| x.starts_with(&prefix)) {
            Some(slot) => slot.clone_from(e),
            None => env.push(e.clone()),
        }
    }
    Ok(env)
}

fn parse_user(u: &str) -> Result<(u32, Option<u32>), ExecPlanError> {
    let bad = || ExecPlanError::User(u.to_string());
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// "SYS_ADMIN", "sys_admin" or "CAP_SYS_ADMIN".
fn parse_cap(name: &str) -> Result<Capability, ExecPlanError> {
    let upper = name.to_ascii_uppercase();
    let full = match upper.starts_with("CAP_") {
        true => upper,
        false => format!("CAP_{upper}"),
    };
    serde_json::from_value(serde_json::Value::String(full))
        .map_err(|_| ExecPlanError::Cap(name.to_string()))
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
