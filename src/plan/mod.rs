//! Bundle + HostFacts → LaunchPlan: everything decided without side effects, before anything
//! is touched. Nothing here reads or writes the host: what it needs to know comes in HostFacts,
//! and what needs the host (the seccomp program, the SELinux policy's verdict on a label) is
//! an apply step the caller runs on the plan.

pub mod exec;
pub mod namespaces;
pub mod process;
pub mod rootfs;

use crate::bundle::Bundle;
use crate::host_facts::HostFacts;
use crate::seccomp;
use oci_spec::runtime::{Hooks, LinuxIdMapping, Spec};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    #[error(transparent)]
    Validate(#[from] crate::validate::ValidateError),
    #[error(transparent)]
    Process(#[from] process::ProcessPlanError),
    #[error("mounts")]
    Rootfs(#[from] rootfs::RootfsPlanError),
    #[error("linux.seccomp")]
    Seccomp(#[from] seccomp::SeccompPlanError),
    #[error("linux.cgroupsPath")]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error("process.apparmorProfile {0:?}: AppArmor is not enabled on this host")]
    NoApparmor(String),
    #[error("linux.namespaces: rootless (uid {0}) needs a user namespace, and there is none")]
    RootlessNoUserns(u32),
    #[error(
        "linux.resources.{resource}: rootless (uid {uid}) without a cgroup of its own: set \
         linux.cgroupsPath to a cgroup v2 directory delegated to uid {uid}"
    )]
    RootlessResources { resource: &'static str, uid: u32 },
}

/// Options from the command line that shape the launch.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
    pub no_cgroups: bool,
    pub seccomp_cache: Option<PathBuf>,
    /// brick runs unprivileged (rootless::detect): cgroups are best effort, maps need helpers.
    pub rootless: bool,
}

/// Something the plan decided that the caller says (the plan itself logs nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Debug(String),
    Warning(String),
}

impl Note {
    /// Said by the apply step, at the note's level.
    pub fn log(&self) {
        match self {
            Note::Debug(t) => crate::log::debug(t),
            Note::Warning(t) => crate::log::warn(t),
        }
    }
}

/// A field's SELinux label, to be checked against the loaded policy before anything is made.
pub type LabelCheck = (&'static str, String);

pub use crate::lsm::Lsm;

pub struct LaunchPlan {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs_path: PathBuf,
    pub spec: Spec,
    pub namespaces: namespaces::NamespacePlan,
    pub process: process::ProcessPlan,
    pub rootfs: rootfs::RootfsPlan,
    /// The checked profile; its program comes from seccomp::program (an apply step).
    pub seccomp: Option<seccomp::SeccompPlan>,
    pub cgroup: Option<crate::cgroups::CgroupConfig>,
    pub uid_map: String,
    pub gid_map: String,
    /// Who writes the maps, and how (host/idmap.rs).
    pub id_writer: namespaces::MapWriter,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// linux.sysctl as (file under /proc, value), sorted by name.
    pub sysctl: Vec<(String, String)>,
    pub hooks: Hooks,
    pub new_keyring: bool,
    pub preserve_fds: u32,
    pub lsm: Lsm,
    /// Labels the loaded SELinux policy must accept (lsm::check_labels), when SELinux is on.
    pub selinux_labels: Vec<LabelCheck>,
    /// What the plan decided that the caller should say.
    pub notes: Vec<Note>,
}

impl LaunchPlan {
    /// Whether the child must open the container's /proc to write something there.
    pub fn needs_procfs(&self) -> bool {
        let p = &self.process;
        !self.sysctl.is_empty()
            || p.oom_score_adj.is_some()
            || (self.lsm.selinux && p.selinux_label.is_some())
            || p.apparmor_profile.is_some()
    }

    /// Whether prestart or createRuntime hooks run: they must see the child's first mounts.
    pub fn has_runtime_hooks(&self) -> bool {
        let any = |h: Option<&Vec<oci_spec::runtime::Hook>>| h.is_some_and(|v| !v.is_empty());
        any(self.hooks.prestart().as_ref()) || any(self.hooks.create_runtime().as_ref())
    }
}

/// "container host size" lines, as /proc/<pid>/uid_map wants them.
fn id_map(maps: Option<&Vec<LinuxIdMapping>>) -> String {
    maps.into_iter()
        .flatten()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// AppArmor asked for but absent is an error; SELinux labels are ignored without SELinux (a
/// note says so, as runc logs it), and checked against the policy with it.
fn plan_lsm(
    lsm: Lsm,
    p: &process::ProcessPlan,
    linux: &oci_spec::runtime::Linux,
) -> Result<(Vec<LabelCheck>, Vec<Note>), PlanError> {
    if let (Some(profile), false) = (&p.apparmor_profile, lsm.apparmor) {
        return Err(PlanError::NoApparmor(profile.clone()));
    }
    let labels = [
        ("process.selinuxLabel", p.selinux_label.clone()),
        ("linux.mountLabel", linux.mount_label().clone()),
    ];
    let labels = labels
        .into_iter()
        .filter_map(|(what, l)| l.filter(|l| !l.is_empty()).map(|l| (what, l)));
    if lsm.selinux {
        return Ok((labels.collect(), Vec::new()));
    }
    let notes = labels
        .map(|(what, l)| Note::Debug(format!("{what} {l:?} ignored: SELinux is not enabled")))
        .collect();
    Ok((Vec::new(), notes))
}

/// A rootless container gets a cgroup only where one is named (linux.cgroupsPath, or the
/// systemd driver); without, it runs in the caller's, which brick leaves alone.
fn rootless_cgroup(
    linux: &oci_spec::runtime::Linux,
    id: &str,
    systemd: bool,
    uid: u32,
    notes: &mut Vec<Note>,
) -> Result<Option<crate::cgroups::CgroupConfig>, PlanError> {
    if linux.cgroups_path().is_none() && !systemd {
        if let Some(resource) = crate::cgroups::first_resource(linux.resources().as_ref()) {
            return Err(PlanError::RootlessResources { resource, uid });
        }
        notes.push(Note::Debug(
            "rootless: no linux.cgroupsPath, so no cgroup of its own".into(),
        ));
        return Ok(None);
    }
    let mut cfg = crate::cgroups::plan(Some(linux), id, systemd)?;
    cfg.rootless = true;
    Ok(Some(cfg))
}

pub fn build(
    id: &str,
    bundle: Bundle,
    opts: &LaunchOptions,
    host: &HostFacts,
) -> Result<LaunchPlan, PlanError> {
    crate::validate::validate(&bundle.spec)?;
    let spec = bundle.spec;
    // Without a process the container is created but has nothing to exec: start fails.
    let mut no_process = oci_spec::runtime::Process::default();
    no_process.set_args(None);
    no_process.set_capabilities(None);
    let proc_cfg = spec.process().as_ref().unwrap_or(&no_process);
    let process = process::plan(proc_cfg, host.last_cap)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = namespaces::plan(&spec);
    let lsm = host.lsm;
    let mut rootfs = rootfs::plan_rootfs(&spec, &bundle.dir, &bundle.rootfs, opts.no_pivot, host)?;
    // Decided once here: the child applies linux.mountLabel only if the plan still carries it.
    if !lsm.selinux {
        rootfs.mount_label = None;
    }
    let seccomp = linux.seccomp().as_ref().map(seccomp::plan).transpose()?;
    let (selinux_labels, mut notes) = plan_lsm(lsm, &process, &linux)?;
    if opts.rootless && host.euid != 0 && !namespaces.in_userns {
        return Err(PlanError::RootlessNoUserns(host.euid));
    }
    let cgroup = match (opts.no_cgroups, opts.rootless) {
        (true, _) => None,
        (false, false) => Some(crate::cgroups::plan(Some(&linux), id, opts.systemd_cgroup)?),
        (false, true) => rootless_cgroup(&linux, id, opts.systemd_cgroup, host.euid, &mut notes)?,
    };
    notes.extend(process.notes.iter().cloned());
    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    sysctl.sort();
    let sysctl = sysctl
        .into_iter()
        .map(|(name, v)| (format!("sys/{}", crate::validate::sysctl_path(&name)), v))
        .collect();
    Ok(LaunchPlan {
        id: id.to_string(),
        bundle: bundle.dir,
        rootfs_path: bundle.rootfs,
        namespaces,
        process,
        rootfs,
        seccomp,
        cgroup,
        uid_map: id_map(linux.uid_mappings().as_ref()),
        gid_map: id_map(linux.gid_mappings().as_ref()),
        // Root of a user namespace (rootless podman's) has CAP_SETUID there: writes directly.
        id_writer: namespaces::MapWriter {
            rootless: opts.rootless && host.euid != 0,
            euid: host.euid,
            egid: host.egid,
        },
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        sysctl,
        hooks: spec.hooks().clone().unwrap_or_default(),
        new_keyring: !opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        lsm,
        selinux_labels,
        notes,
        spec,
    })
}
