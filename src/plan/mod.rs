//! Bundle → LaunchPlan: everything decided without side effects, before anything is touched.

pub mod exec;
pub mod namespaces;
pub mod process;
pub mod rootfs;
pub mod seccomp;

use crate::bundle::Bundle;
use oci_spec::runtime::{Hooks, LinuxIdMapping, Spec};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
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
    #[error("{0} {1:?}: not a valid context in the loaded SELinux policy")]
    BadLabel(&'static str, String, #[source] nix::errno::Errno),
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
}

/// Whether the host runs an LSM, decided before clone (the child sees only the container's /sys).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lsm {
    pub selinux: bool,
    pub apparmor: bool,
}

/// SELinux is on when selinuxfs shows. A confined brick (container_engine_t) may not stat it:
/// that still means SELinux, so labels are applied, never silently dropped (fail closed).
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce")
        .try_exists()
        .unwrap_or(true)
}

impl Lsm {
    pub fn detect() -> Self {
        Lsm {
            selinux: selinux_enabled(),
            apparmor: crate::small_file::read("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.trim() == "Y"),
        }
    }
}

pub struct LaunchPlan {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs_path: PathBuf,
    pub spec: Spec,
    pub namespaces: namespaces::NamespacePlan,
    pub process: process::ProcessPlan,
    pub rootfs: rootfs::RootfsPlan,
    pub seccomp: Option<seccomp::SeccompProgram>,
    pub cgroup: Option<crate::cgroups::CgroupConfig>,
    pub uid_map: String,
    pub gid_map: String,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// linux.sysctl as (file under /proc, value), sorted by name.
    pub sysctl: Vec<(String, String)>,
    pub hooks: Hooks,
    pub new_keyring: bool,
    pub preserve_fds: u32,
    pub lsm: Lsm,
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

/// AppArmor asked for but absent is an error; SELinux labels are ignored without SELinux, as
/// runc does, and said so at debug level.
fn check_lsm(
    lsm: Lsm,
    p: &process::ProcessPlan,
    linux: &oci_spec::runtime::Linux,
) -> Result<(), PlanError> {
    if let (Some(profile), false) = (&p.apparmor_profile, lsm.apparmor) {
        return Err(PlanError::NoApparmor(profile.clone()));
    }
    if lsm.selinux {
        // Refused before anything is made, naming the field (the kernel's EINVAL would come
        // from a mount or attr write deep in the child).
        let labels = [
            ("process.selinuxLabel", p.selinux_label.as_deref()),
            ("linux.mountLabel", linux.mount_label().as_deref()),
        ];
        for (what, l) in labels {
            if let Some(l) = l.filter(|l| !l.is_empty()) {
                check_context(l).map_err(|e| PlanError::BadLabel(what, l.to_string(), e))?;
            }
        }
    }
    if !lsm.selinux {
        if let Some(l) = &p.selinux_label {
            crate::log::debug(&format!(
                "process.selinuxLabel {l:?} ignored: SELinux is not enabled"
            ));
        }
        if let Some(l) = linux.mount_label() {
            crate::log::debug(&format!(
                "linux.mountLabel {l:?} ignored: SELinux is not enabled"
            ));
        }
    }
    Ok(())
}

/// The loaded policy's verdict on a context, as libselinux's security_check_context asks it.
fn check_context(label: &str) -> Result<(), nix::errno::Errno> {
    use nix::fcntl::{open, OFlag};
    let fd = open(
        "/sys/fs/selinux/context",
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    nix::unistd::write(&fd, label.as_bytes()).map(drop)
}

pub fn build(id: &str, bundle: Bundle, opts: &LaunchOptions) -> Result<LaunchPlan, PlanError> {
    let spec = bundle.spec;
    // validate() ran first, so process and linux are present.
    // Without a process the container is created but has nothing to exec: start fails.
    let mut no_process = oci_spec::runtime::Process::default();
    no_process.set_args(None);
    no_process.set_capabilities(None);
    let proc_cfg = spec.process().as_ref().unwrap_or(&no_process);
    let process = process::plan(proc_cfg, process::kernel_last_cap())?;
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = namespaces::plan(&spec);
    let lsm = Lsm::detect();
    let mut rootfs = rootfs::plan_rootfs(&spec, &bundle.dir, &bundle.rootfs, opts.no_pivot)?;
    // Decided once here: the child applies linux.mountLabel only if the plan still carries it.
    if !lsm.selinux {
        rootfs.mount_label = None;
    }
    let seccomp = match linux.seccomp() {
        Some(s) => Some(seccomp::compile(s, opts.seccomp_cache.as_deref())?),
        None => None,
    };
    let cgroup = if opts.no_cgroups {
        None
    } else {
        Some(crate::cgroups::plan(Some(&linux), id, opts.systemd_cgroup)?)
    };
    check_lsm(lsm, &process, &linux)?;
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
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        sysctl,
        hooks: spec.hooks().clone().unwrap_or_default(),
        new_keyring: !opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        lsm,
        spec,
    })
}
