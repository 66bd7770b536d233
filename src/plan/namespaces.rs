//! Which namespaces to create at clone, which to join by path, and in what order.

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::PathBuf;

/// Who writes the id maps: root (or a user with CAP_SETUID over the namespace), or a normal
/// user, who needs newuidmap/newgidmap for anything but its own id (host/idmap.rs).
#[derive(Debug, Clone, Copy, Default)]
pub struct MapWriter {
    pub rootless: bool,
    pub euid: u32,
    pub egid: u32,
}

#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Created by the clone itself, so that all are owned by a new user namespace if any.
    pub clone_flags: CloneFlags,
    /// A user namespace joined by path: joined before the clone (by a short-lived process,
    /// host/spawn.rs), so the namespaces the clone makes belong to it.
    pub join_user: Option<PathBuf>,
    /// Joined by the child right after clone (mount).
    pub join: Vec<(CloneFlags, PathBuf)>,
    /// Joined by the parent around clone: pid and time apply only to children, and net, ipc,
    /// uts and cgroup must be entered before a new user namespace exists (it could not).
    pub parent_join: Vec<(CloneFlags, PathBuf)>,
    /// A new cgroup namespace is made by the child once it is inside its cgroup.
    pub new_cgroupns: bool,
    /// With a new user namespace the IPC namespace is made by the child as its root, so the
    /// mqueue filesystem's root belongs to a mapped id (the clone's would be host root's).
    pub late_ipcns: bool,
    /// A new time namespace is made by the parent (unshare affects children) with these offsets.
    pub new_timens: Option<Vec<(String, i64, u32)>>,
    pub new_userns: bool,
    /// In a user namespace of its own (new or joined): it must become that namespace's root.
    pub in_userns: bool,
    pub new_pidns: bool,
    pub new_netns: bool,
    pub new_utsns: bool,
}

pub fn flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

pub fn plan(spec: &Spec) -> NamespacePlan {
    let mut p = NamespacePlan {
        clone_flags: CloneFlags::empty(),
        join_user: None,
        join: Vec::new(),
        parent_join: Vec::new(),
        new_cgroupns: false,
        late_ipcns: false,
        new_timens: None,
        new_userns: false,
        in_userns: false,
        new_pidns: false,
        new_netns: false,
        new_utsns: false,
    };
    let list = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for ns in &list {
        let typ = ns.typ();
        match (typ, ns.path()) {
            (LinuxNamespaceType::User, Some(path)) => p.join_user = Some(path.clone()),
            (LinuxNamespaceType::Mount, Some(path)) => p.join.push((flag(typ), path.clone())),
            (_, Some(path)) => p.parent_join.push((flag(typ), path.clone())),
            (LinuxNamespaceType::Cgroup, None) => p.new_cgroupns = true,
            (LinuxNamespaceType::Time, None) => {
                let offsets = spec
                    .linux()
                    .as_ref()
                    .and_then(|l| l.time_offsets().clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(clock, o)| (clock, o.secs().unwrap_or(0), o.nanosecs().unwrap_or(0)))
                    .collect();
                p.new_timens = Some(offsets);
            }
            (_, None) => p.clone_flags |= flag(typ),
        }
    }
    p.new_userns = p.clone_flags.contains(CloneFlags::CLONE_NEWUSER);
    if p.new_userns && p.clone_flags.contains(CloneFlags::CLONE_NEWIPC) {
        p.clone_flags.remove(CloneFlags::CLONE_NEWIPC);
        p.late_ipcns = true;
    }
    p.in_userns = p.new_userns || p.join_user.is_some();
    p.new_pidns = p.clone_flags.contains(CloneFlags::CLONE_NEWPID);
    p.new_netns = p.clone_flags.contains(CloneFlags::CLONE_NEWNET);
    p.new_utsns = p.clone_flags.contains(CloneFlags::CLONE_NEWUTS);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ns: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2", "root": {"path": "r"},
            "linux": {"namespaces": ns, "timeOffsets": {"monotonic": {"secs": 5}}}
        }))
        .unwrap()
    }

    #[test]
    fn splits_new_and_joined() {
        let p = plan(&spec(serde_json::json!([
            {"type": "mount"}, {"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"},
            {"type": "user", "path": "/proc/1/ns/user"}, {"type": "cgroup"}, {"type": "time"}
        ])));
        assert_eq!(
            p.clone_flags,
            CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID
        );
        assert_eq!(
            p.join_user.as_deref(),
            Some(std::path::Path::new("/proc/1/ns/user")),
            "user is joined before the clone"
        );
        assert!(p.join.is_empty());
        assert_eq!(
            p.parent_join[0].0,
            CloneFlags::CLONE_NEWNET,
            "net is joined before clone"
        );
        assert!(p.new_cgroupns && p.new_pidns && !p.new_userns);
        assert_eq!(p.new_timens, Some(vec![("monotonic".to_string(), 5, 0)]));
    }

    #[test]
    fn pid_by_path_is_joined_by_the_parent() {
        let p = plan(&spec(
            serde_json::json!([{"type": "mount"}, {"type": "pid", "path": "/proc/9/ns/pid"}]),
        ));
        assert_eq!(p.parent_join.len(), 1);
        assert!(!p.new_pidns);
    }
}
