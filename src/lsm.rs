//! Linux security modules on this host: which are on (a host fact the plan takes), and the
//! loaded SELinux policy's verdict on a label (asked before anything is made).

/// Whether the host runs an LSM, decided before clone (the child sees only the container's /sys).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// The loaded policy's verdict on a context, as libselinux's security_check_context asks it.
pub fn check_context(label: &str) -> Result<(), nix::errno::Errno> {
    use nix::fcntl::{open, OFlag};
    let fd = open(
        "/sys/fs/selinux/context",
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    nix::unistd::write(&fd, label.as_bytes()).map(drop)
}

#[derive(Debug, thiserror::Error)]
#[error("{field} {label:?}: not a valid context in the loaded SELinux policy")]
pub struct BadLabel {
    pub field: &'static str,
    pub label: String,
    #[source]
    pub errno: nix::errno::Errno,
}

/// Every label the plan carries, refused before anything is made and naming the field (the
/// kernel's EINVAL would come from a mount or an attr write deep in the child).
pub fn check_labels(labels: &[(&'static str, String)]) -> Result<(), BadLabel> {
    for (field, label) in labels {
        check_context(label).map_err(|errno| BadLabel {
            field,
            label: label.clone(),
            errno,
        })?;
    }
    Ok(())
}
