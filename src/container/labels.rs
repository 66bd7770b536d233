//! SELinux and AppArmor labels, written to this thread's attr/*exec so they apply at execve.

use super::procfs::{Proc, ProcfsError};
use crate::plan::Lsm;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LabelError {
    #[error("process.selinuxLabel {0:?}")]
    Selinux(String, #[source] ProcfsError),
    #[error("process.selinuxLabel {0:?}: label the session keyring")]
    Keycreate(String, #[source] ProcfsError),
    #[error("process.apparmorProfile {0:?}")]
    Apparmor(String, #[source] ProcfsError),
}

/// The keyring made next gets the container's label (before join_session_keyring).
pub fn keycreate(proc: &Proc, lsm: Lsm, label: Option<&str>) -> Result<(), LabelError> {
    match label {
        Some(l) if lsm.selinux => proc
            .write(&format!("{}/attr/keycreate", proc.thread_dir()), l)
            .map_err(|e| LabelError::Keycreate(l.into(), e)),
        _ => Ok(()),
    }
}

pub fn apply(
    proc: &Proc,
    lsm: Lsm,
    selinux: Option<&str>,
    apparmor: Option<&str>,
) -> Result<(), LabelError> {
    let dir = proc.thread_dir();
    match selinux {
        Some(l) if lsm.selinux => proc
            .write(&format!("{dir}/attr/exec"), l)
            .map_err(|e| LabelError::Selinux(l.into(), e))?,
        // Without SELinux the label is ignored; the plan said so at debug level.
        _ => {}
    }
    match apparmor {
        Some(p) if lsm.apparmor => {
            let modern = format!("{dir}/attr/apparmor/exec");
            let path = if proc.exists(&modern) {
                modern
            } else {
                format!("{dir}/attr/exec")
            };
            proc.write(&path, &format!("exec {p}"))
                .map_err(|e| LabelError::Apparmor(p.into(), e))?
        }
        // The plan refused a profile on a host without AppArmor.
        _ => {}
    }
    Ok(())
}
