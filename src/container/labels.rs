//! SELinux and AppArmor labels, written to this thread's attr/*exec so they apply at execve.

use super::procfs::{Proc, ProcfsError};
use crate::plan::Lsm;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LabelError {
    #[error("process.selinuxLabel {0:?}")]
    Selinux(String, #[source] ProcfsError),
    #[error("linux.mountLabel {0:?}: label the session keyring")]
    Keycreate(String, #[source] ProcfsError),
    #[error("process.apparmorProfile {0:?}")]
    Apparmor(String, #[source] ProcfsError),
    #[error("process.apparmorProfile {0:?}: AppArmor is not enabled on this host")]
    NoApparmor(String),
}

/// The keyring made next gets the container's label (before join_session_keyring).
pub fn keycreate(proc: &Proc, lsm: Lsm, label: Option<&str>) -> Result<(), LabelError> {
    match label {
        Some(l) if lsm.selinux => proc
            .write(&format!("{}/attr/keycreate", Proc::thread_dir()), l)
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
    let dir = Proc::thread_dir();
    match selinux {
        Some(l) if lsm.selinux => proc
            .write(&format!("{dir}/attr/exec"), l)
            .map_err(|e| LabelError::Selinux(l.into(), e))?,
        Some(l) => crate::log::debug(&format!(
            "process.selinuxLabel {l:?} ignored: SELinux is not enabled"
        )),
        None => {}
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
        Some(p) => return Err(LabelError::NoApparmor(p.into())),
        None => {}
    }
    Ok(())
}
