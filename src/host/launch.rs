//! The whole of `create` (and the create half of `run`): facts, plan, apply steps, claim the
//! id, create (create_flow.rs), save the state; a failure anywhere leaves nothing behind.

use super::create_flow::{abort_child, create, Console, CreateError, Created};
use crate::cgroups::Layout;
use crate::error::chain;
use crate::host_facts::HostFacts;
use crate::plan::LaunchPlan;
use crate::seccomp::SeccompProgram;
use crate::state::{ContainerDir, Saved};
use nix::unistd::Pid;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LaunchError {
    #[error("invalid container id")]
    Id(#[from] crate::state::id::IdError),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("config.json")]
    Plan(#[from] crate::plan::PlanError),
    #[error("state")]
    Store(#[from] crate::state::StoreError),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error("write pid file {0:?}")]
    PidFile(std::path::PathBuf, #[source] std::io::Error),
    #[error("host")]
    Facts(#[from] crate::host_facts::FactsError),
    #[error("config.json")]
    Label(#[from] crate::lsm::BadLabel),
    #[error("config.json: linux.seccomp")]
    Seccomp(#[from] crate::seccomp::SeccompPlanError),
}

/// The whole of `create`: plan first (no side effects), then claim the id and build the container.
pub fn launch(
    root: &Path,
    id: &str,
    bundle_dir: &Path,
    opts: &crate::plan::LaunchOptions,
    console: Console<'_>,
    pid_file: Option<&Path>,
) -> Result<(ContainerDir, Created, Saved), LaunchError> {
    crate::state::id::validate(id)?;
    let host = HostFacts::gather()?;
    let bundle = crate::bundle::load(bundle_dir)?;
    let plan = crate::plan::build(id, bundle, opts, &host)?;
    let applied = apply(&plan, &host, opts)?;
    let dir = ContainerDir::claim(root, id)?;
    let mut saved = creating(&plan);
    let done = create(&plan, &applied, &dir, &mut saved, &console)
        .map_err(LaunchError::from)
        .and_then(|created| {
            saved.status = crate::state::Status::Created;
            let written =
                dir.save(&saved)
                    .map_err(LaunchError::from)
                    .and_then(|()| match pid_file {
                        Some(p) => crate::state::pid_file::write(p, created.pid)
                            .map_err(|e| LaunchError::PidFile(p.to_path_buf(), e)),
                        None => Ok(()),
                    });
            if let Err(e) = written {
                abort_child(Pid::from_raw(created.pid));
                if let Some(cg) = &created.cgroup {
                    if let Err(d) = cg.destroy() {
                        crate::log::warn(&format!("remove the cgroup: {}", chain(&d)));
                    }
                }
                return Err(e);
            }
            Ok(created)
        });
    match done {
        Ok(created) => Ok((dir, created, saved)),
        Err(e) => {
            if let Err(r) = dir.remove() {
                crate::log::warn(&chain(&r));
            }
            Err(e)
        }
    }
}

/// What the plan needs from the host before anything is made: all of it can still fail
/// without leaving anything behind.
pub struct Applied {
    pub seccomp: Option<SeccompProgram>,
    pub cgroup_layout: Option<Layout>,
}

/// The plan's notes said, its labels checked against the policy, its seccomp program read
/// from the cache or compiled, the host's cgroup layout read from the facts.
fn apply(
    plan: &LaunchPlan,
    host: &HostFacts,
    opts: &crate::plan::LaunchOptions,
) -> Result<Applied, LaunchError> {
    plan.notes.iter().for_each(crate::plan::Note::log);
    crate::lsm::check_labels(&plan.selinux_labels)?;
    let cache = opts.seccomp_cache.as_deref();
    let seccomp = plan
        .seccomp
        .as_ref()
        .map(|s| crate::seccomp::program(s, cache, &host.kernel_release))
        .transpose()?;
    let cgroup_layout = match &plan.cgroup {
        Some(_) => Some(host.cgroup_layout().map_err(CreateError::Cgroup)?),
        None => None,
    };
    Ok(Applied {
        seccomp,
        cgroup_layout,
    })
}

/// The state saved while the container is being made (no pid or cgroup yet).
fn creating(plan: &LaunchPlan) -> Saved {
    Saved {
        oci_version: plan.spec.version().clone(),
        id: plan.id.clone(),
        status: crate::state::Status::Creating,
        pid: 0,
        start_time: 0,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs_path.clone(),
        created: crate::time::rfc3339_now(),
        owner: String::new(),
        annotations: plan
            .spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        hooks: Some(plan.hooks.clone()),
        cgroup: None,
        seccomp_listener: plan
            .seccomp
            .as_ref()
            .and_then(|s| s.notify.as_ref())
            .map(|n| (n.listener_path.clone(), n.metadata.clone())),
        config: Some(crate::plan::exec::saved_config(&plan.spec)),
    }
}
