//! Static checks on a config, all made before any side effect.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashSet;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ValidateError {
    #[error("ociVersion {0:?}: brick runs configs of spec version 1.x")]
    Version(String),
    #[error("process.args: empty")]
    NoArgs,
    #[error("process.cwd {0:?}: must be an absolute path")]
    Cwd(String),
    #[error("linux: missing (brick runs Linux containers only)")]
    NoLinux,
    #[error("linux.namespaces: {0:?} appears twice")]
    DuplicateNamespace(String),
    #[error("linux.namespaces: a mount namespace is required")]
    NoMountNamespace,
    #[error("linux.uidMappings/gidMappings: given without a user namespace")]
    MapsWithoutUserns,
    #[error("linux.uidMappings/gidMappings: a new user namespace needs both")]
    UsernsWithoutMaps,
    #[error("linux.sysctl {0:?}: needs a new {1} namespace")]
    SysctlNamespace(String, &'static str),
    #[error("linux.sysctl {0:?}: not a namespaced sysctl, so it would change the host")]
    SysctlHost(String),
    #[error("linux.sysctl {0:?}: name must be relative and must not contain \"..\"")]
    SysctlName(String),
    #[error("hostname: needs a uts namespace of the container's own")]
    HostnameWithoutUts,
    #[error("linux.timeOffsets: needs a new time namespace")]
    TimeOffsetsWithoutTimens,
    #[error("mounts[{0}].destination {1:?}: must be an absolute path")]
    MountDestination(usize, String),
}

/// Which namespaces the config asks to create (no path) or join (path given).
fn namespaces(
    spec: &Spec,
) -> Result<(HashSet<LinuxNamespaceType>, HashSet<LinuxNamespaceType>), ValidateError> {
    let mut new = HashSet::new();
    let mut join = HashSet::new();
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in &list {
        if new.contains(&ns.typ()) || join.contains(&ns.typ()) {
            return Err(ValidateError::DuplicateNamespace(
                format!("{:?}", ns.typ()).to_lowercase(),
            ));
        }
        if ns.path().is_some() {
            join.insert(ns.typ());
        } else {
            new.insert(ns.typ());
        }
    }
    Ok((new, join))
}

/// The namespace a sysctl belongs to, or None for host-wide ones (refused).
fn sysctl_namespace(name: &str) -> Option<(LinuxNamespaceType, &'static str)> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&name) || name.starts_with("fs.mqueue.") {
        return Some((LinuxNamespaceType::Ipc, "ipc"));
    }
    if name.starts_with("net.") {
        return Some((LinuxNamespaceType::Network, "network"));
    }
    if name == "kernel.hostname" || name == "kernel.domainname" {
        return Some((LinuxNamespaceType::Uts, "uts"));
    }
    None
}

/// The file under /proc/sys: "a.b.c" or "a/b.c/d" (with a slash, dots are literal, as sysctl(8)).
pub fn sysctl_path(name: &str) -> String {
    if name.contains('/') {
        name.to_string()
    } else {
        name.replace('.', "/")
    }
}

pub fn validate(spec: &Spec) -> Result<(), ValidateError> {
    let version = spec.version();
    if version.split('.').next() != Some("1") {
        return Err(ValidateError::Version(version.clone()));
    }
    // process may be absent at create; start then fails, as the spec says.
    if let Some(process) = spec.process() {
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(ValidateError::NoArgs);
        }
        if !process.cwd().is_absolute() {
            return Err(ValidateError::Cwd(process.cwd().display().to_string()));
        }
    }
    let linux = spec.linux().as_ref().ok_or(ValidateError::NoLinux)?;
    let (new, join) = namespaces(spec)?;
    if !new.contains(&LinuxNamespaceType::Mount) && !join.contains(&LinuxNamespaceType::Mount) {
        return Err(ValidateError::NoMountNamespace);
    }
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    let user_new = new.contains(&LinuxNamespaceType::User);
    if has_maps && !user_new {
        return Err(ValidateError::MapsWithoutUserns);
    }
    let both_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        && linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if user_new && !both_maps {
        return Err(ValidateError::UsernsWithoutMaps);
    }
    let uts = new.contains(&LinuxNamespaceType::Uts) || join.contains(&LinuxNamespaceType::Uts);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !uts {
        return Err(ValidateError::HostnameWithoutUts);
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
        && !new.contains(&LinuxNamespaceType::Time)
    {
        return Err(ValidateError::TimeOffsetsWithoutTimens);
    }
    for name in linux
        .sysctl()
        .as_ref()
        .map(|s| s.keys().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if name.contains("..") || name.starts_with('/') || name.is_empty() {
            return Err(ValidateError::SysctlName(name.clone()));
        }
        match sysctl_namespace(&sysctl_path(name).replace('/', ".")) {
            Some((ns, label)) if !new.contains(&ns) && !join.contains(&ns) => {
                return Err(ValidateError::SysctlNamespace(name.clone(), label))
            }
            Some(_) => {}
            None => return Err(ValidateError::SysctlHost(name.clone())),
        }
    }
    for (i, m) in spec
        .mounts()
        .as_ref()
        .map(|m| m.iter().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if !m.destination().is_absolute() {
            return Err(ValidateError::MountDestination(
                i,
                m.destination().display().to_string(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Spec {
        let mut base = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]}
        });
        json_merge(&mut base, json);
        serde_json::from_value(base).unwrap()
    }

    fn json_merge(a: &mut serde_json::Value, b: serde_json::Value) {
        match (a, b) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }

    #[test]
    fn accepts_a_plain_config() {
        assert_eq!(validate(&spec(serde_json::json!({}))), Ok(()));
    }

    #[test]
    fn rejects_other_major_versions() {
        let s = spec(serde_json::json!({"ociVersion": "2.0.0"}));
        assert_eq!(validate(&s), Err(ValidateError::Version("2.0.0".into())));
    }

    #[test]
    fn rejects_empty_args_and_relative_cwd() {
        assert_eq!(
            validate(&spec(serde_json::json!({"process": {"args": []}}))),
            Err(ValidateError::NoArgs)
        );
        assert!(matches!(
            validate(&spec(serde_json::json!({"process": {"cwd": "tmp"}}))),
            Err(ValidateError::Cwd(_))
        ));
    }

    #[test]
    fn sysctl_needs_its_namespace() {
        let s = spec(serde_json::json!({"linux": {"sysctl": {"net.ipv4.ip_forward": "1"}}}));
        assert!(matches!(
            validate(&s),
            Err(ValidateError::SysctlNamespace(_, "network"))
        ));
        let s = spec(serde_json::json!({"linux": {"sysctl": {"vm.swappiness": "1"}}}));
        assert!(matches!(validate(&s), Err(ValidateError::SysctlHost(_))));
        let s = spec(serde_json::json!({"linux": {"sysctl": {"kernel.domainname": "x"}}}));
        assert_eq!(validate(&s), Ok(()));
    }

    #[test]
    fn userns_needs_maps_and_maps_need_userns() {
        let maps = serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
        let s =
            spec(serde_json::json!({"linux": {"uidMappings": maps.clone(), "gidMappings": maps}}));
        assert_eq!(validate(&s), Err(ValidateError::MapsWithoutUserns));
        let s = spec(
            serde_json::json!({"linux": {"namespaces": [{"type": "mount"}, {"type": "user"}]}}),
        );
        assert_eq!(validate(&s), Err(ValidateError::UsernsWithoutMaps));
    }

    #[test]
    fn mount_namespace_required_and_no_duplicates() {
        let s = spec(serde_json::json!({"linux": {"namespaces": [{"type": "pid"}]}}));
        assert_eq!(validate(&s), Err(ValidateError::NoMountNamespace));
        let s = spec(
            serde_json::json!({"linux": {"namespaces": [{"type": "mount"}, {"type": "mount"}]}}),
        );
        assert!(matches!(
            validate(&s),
            Err(ValidateError::DuplicateNamespace(_))
        ));
    }
}
