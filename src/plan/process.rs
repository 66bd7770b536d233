//! The container process, decided in the parent: argv, env, ids, rlimits, capabilities.

use caps::{Capability, CapsHashSet};
use oci_spec::runtime::{PosixRlimitType, Process};
use std::ffi::CString;
use std::path::PathBuf;
use std::str::FromStr;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProcessPlanError {
    #[error("process.{0}: contains a NUL byte")]
    Nul(&'static str),
    #[error("process.capabilities.{set}: unknown capability {name:?}")]
    UnknownCap { set: &'static str, name: String },
}

#[derive(Debug, Clone, Default)]
pub struct CapSets {
    pub bounding: CapsHashSet,
    pub effective: CapsHashSet,
    pub permitted: CapsHashSet,
    pub inheritable: CapsHashSet,
    pub ambient: CapsHashSet,
    /// The kernel's highest capability, read by the parent: the child drops the bounding set
    /// up to it without reading the container's /proc.
    pub last_cap: u8,
}

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<CString>,
    pub env: Vec<CString>,
    /// PATH from process.env (or the usual default), to look argv[0] up inside the container.
    pub path: String,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64, u64, &'static str)>,
    /// None: the config has no capabilities object, so every capability is dropped.
    pub caps: CapSets,
    pub no_new_privs: bool,
    pub terminal: bool,
    pub oom_score_adj: Option<i32>,
    pub selinux_label: Option<String>,
    pub apparmor_profile: Option<String>,
    /// What the caller should say about the planning (capabilities skipped).
    pub notes: Vec<super::Note>,
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn cstrings(list: &[String], field: &'static str) -> Result<Vec<CString>, ProcessPlanError> {
    list.iter()
        .map(|s| CString::new(s.as_bytes()).map_err(|_| ProcessPlanError::Nul(field)))
        .collect()
}

fn rlimit(typ: PosixRlimitType) -> (libc::__rlimit_resource_t, &'static str) {
    use PosixRlimitType::*;
    match typ {
        RlimitCpu => (libc::RLIMIT_CPU, "RLIMIT_CPU"),
        RlimitFsize => (libc::RLIMIT_FSIZE, "RLIMIT_FSIZE"),
        RlimitData => (libc::RLIMIT_DATA, "RLIMIT_DATA"),
        RlimitStack => (libc::RLIMIT_STACK, "RLIMIT_STACK"),
        RlimitCore => (libc::RLIMIT_CORE, "RLIMIT_CORE"),
        RlimitRss => (libc::RLIMIT_RSS, "RLIMIT_RSS"),
        RlimitNproc => (libc::RLIMIT_NPROC, "RLIMIT_NPROC"),
        RlimitNofile => (libc::RLIMIT_NOFILE, "RLIMIT_NOFILE"),
        RlimitMemlock => (libc::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
        RlimitAs => (libc::RLIMIT_AS, "RLIMIT_AS"),
        RlimitLocks => (libc::RLIMIT_LOCKS, "RLIMIT_LOCKS"),
        RlimitSigpending => (libc::RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
        RlimitMsgqueue => (libc::RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
        RlimitNice => (libc::RLIMIT_NICE, "RLIMIT_NICE"),
        RlimitRtprio => (libc::RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
        RlimitRttime => (libc::RLIMIT_RTTIME, "RLIMIT_RTTIME"),
    }
}

/// Names oci-spec parsed become caps-crate values; names this kernel lacks are skipped.
fn cap_set(
    notes: &mut Vec<super::Note>,
    names: Option<&oci_spec::runtime::Capabilities>,
    set: &'static str,
    last_cap: u8,
) -> Result<CapsHashSet, ProcessPlanError> {
    let mut out = CapsHashSet::new();
    for cap in names.into_iter().flatten() {
        let name = cap.to_string();
        let name = if name.starts_with("CAP_") {
            name
        } else {
            format!("CAP_{name}")
        };
        let parsed = Capability::from_str(&name).map_err(|_| ProcessPlanError::UnknownCap {
            set,
            name: name.clone(),
        })?;
        if parsed.index() > last_cap {
            notes.push(super::Note::Warning(format!(
                "process.capabilities.{set}: {name} is unknown to this kernel; skipped"
            )));
            continue;
        }
        out.insert(parsed);
    }
    Ok(out)
}

pub fn plan(process: &Process, last_cap: u8) -> Result<ProcessPlan, ProcessPlanError> {
    let args = cstrings(process.args().as_deref().unwrap_or_default(), "args")?;
    let env_list = process.env().clone().unwrap_or_default();
    let env = cstrings(&env_list, "env")?;
    let path = env_list
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let user = process.user();
    let mut rlimits = Vec::new();
    for r in process.rlimits().as_deref().unwrap_or_default() {
        let (res, name) = rlimit(r.typ());
        rlimits.push((res, r.soft(), r.hard(), name));
    }
    let c = process.capabilities().as_ref();
    let mut notes = Vec::new();
    let n = &mut notes;
    let mut caps = CapSets {
        bounding: cap_set(
            n,
            c.and_then(|c| c.bounding().as_ref()),
            "bounding",
            last_cap,
        )?,
        effective: cap_set(
            n,
            c.and_then(|c| c.effective().as_ref()),
            "effective",
            last_cap,
        )?,
        permitted: cap_set(
            n,
            c.and_then(|c| c.permitted().as_ref()),
            "permitted",
            last_cap,
        )?,
        inheritable: cap_set(
            n,
            c.and_then(|c| c.inheritable().as_ref()),
            "inheritable",
            last_cap,
        )?,
        ambient: cap_set(n, c.and_then(|c| c.ambient().as_ref()), "ambient", last_cap)?,
        last_cap,
    };
    // The kernel raises an ambient capability only if it is permitted and inheritable; runc
    // skips the others silently, so the plan drops them here, said once at debug level.
    let raisable: CapsHashSet = caps
        .permitted
        .intersection(&caps.inheritable)
        .copied()
        .collect();
    let skipped: Vec<String> = caps
        .ambient
        .difference(&raisable)
        .map(|c| c.to_string())
        .collect();
    if !skipped.is_empty() {
        notes.push(super::Note::Debug(format!(
            "process.capabilities.ambient: {} not in permitted and inheritable; skipped",
            skipped.join(", ")
        )));
        caps.ambient.retain(|c| raisable.contains(c));
    }
    Ok(ProcessPlan {
        args,
        env,
        path,
        cwd: process.cwd().clone(),
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        rlimits,
        caps,
        no_new_privs: process.no_new_privileges().unwrap_or(false),
        terminal: process.terminal().unwrap_or(false),
        oom_score_adj: process.oom_score_adj(),
        selinux_label: process.selinux_label().clone().filter(|l| !l.is_empty()),
        apparmor_profile: process.apparmor_profile().clone().filter(|p| !p.is_empty()),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(json: serde_json::Value) -> Process {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn plans_ids_env_path_and_caps() {
        let p = plan(
            &process(serde_json::json!({
                "cwd": "/w", "args": ["probe", "report"],
                "env": ["A=1", "PATH=/bin:/x"],
                "user": {"uid": 5, "gid": 6, "additionalGids": [7], "umask": 18},
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
                "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"]},
                "noNewPrivileges": true
            })),
            40,
        )
        .unwrap();
        assert_eq!(p.path, "/bin:/x");
        assert_eq!(
            (p.uid, p.gid, p.additional_gids.clone(), p.umask),
            (5, 6, vec![7], Some(18))
        );
        assert_eq!(
            p.rlimits,
            vec![(libc::RLIMIT_NOFILE, 10, 20, "RLIMIT_NOFILE")]
        );
        assert!(p.caps.bounding.contains(&Capability::CAP_KILL));
        assert_eq!(p.caps.bounding.len(), 2);
        assert!(
            p.caps.inheritable.is_empty(),
            "never grant inheritable caps not asked for"
        );
        assert!(p.no_new_privs);
    }

    #[test]
    fn ambient_needs_permitted_and_inheritable() {
        let p = plan(
            &process(serde_json::json!({"cwd": "/", "args": ["x"], "user": {"uid": 0, "gid": 0},
                "capabilities": {"permitted": ["CAP_CHOWN", "CAP_KILL"], "inheritable": ["CAP_KILL"],
                    "ambient": ["CAP_CHOWN", "CAP_KILL"]}})),
            40,
        )
        .unwrap();
        assert_eq!(p.caps.ambient.len(), 1);
        assert!(p.caps.ambient.contains(&Capability::CAP_KILL));
    }

    #[test]
    fn caps_beyond_the_kernel_are_skipped() {
        let p = plan(
            &process(
                serde_json::json!({"cwd": "/", "args": ["x"], "user": {"uid": 0, "gid": 0},
                "capabilities": {"bounding": ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"]}}),
            ),
            37,
        )
        .unwrap();
        assert_eq!(p.caps.bounding.len(), 1);
    }

    #[test]
    fn nul_in_args_is_refused() {
        let e = plan(
            &process(
                serde_json::json!({"cwd": "/", "args": ["a\u{0}b"], "user": {"uid": 0, "gid": 0}}),
            ),
            40,
        );
        assert_eq!(e.err(), Some(ProcessPlanError::Nul("args")));
    }
}
