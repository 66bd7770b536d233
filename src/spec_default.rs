//! `brick spec`: writes a config.json. brick's default is hardened; --runc-default writes the
//! plain runc-style one; --rootless adds a user namespace mapping the caller's ids.

use serde_json::{json, Value};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("{0:?} already exists")]
    Exists(std::path::PathBuf),
    #[error("write {0:?}")]
    Write(std::path::PathBuf, #[source] std::io::Error),
}

/// The few capabilities a typical service needs; everything else is dropped.
pub const HARDENED_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETGID",
    "CAP_SETUID",
];
const RUNC_CAPS: &[&str] = &["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn mounts(hardened: bool) -> Value {
    let tmpfs_dev = if hardened {
        json!(["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"])
    } else {
        json!(["nosuid", "strictatime", "mode=755", "size=65536k"])
    };
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": tmpfs_dev},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
    ])
}

pub fn generate(rootless: bool, runc_default: bool) -> Value {
    let hardened = !runc_default;
    let caps = if hardened { HARDENED_CAPS } else { RUNC_CAPS };
    let mut masked: Vec<&str> = MASKED_PATHS.to_vec();
    let mut readonly: Vec<&str> = READONLY_PATHS.to_vec();
    if hardened {
        masked.retain(|p| *p != "/proc/asound");
        readonly.insert(0, "/proc/asound");
    }
    let mut spec = json!({
        "ociVersion": crate::SPEC_VERSION,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "brick",
        "mounts": mounts(hardened),
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": masked,
            "readonlyPaths": readonly
        }
    });
    if hardened {
        // The profile is part of the binary; a parse failure would be caught by its unit test.
        if let Ok(profile) =
            serde_json::from_str::<Value>(crate::seccomp::default_profile::DEFAULT_PROFILE)
        {
            spec["linux"]["seccomp"] = profile;
        }
    }
    if rootless {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        if let Some(ns) = spec["linux"]["namespaces"].as_array_mut() {
            ns.push(json!({"type": "user"}));
        }
        spec["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        spec["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
        spec["linux"].as_object_mut().map(|l| l.remove("resources"));
        // A rootless container cannot mount a fresh sysfs or cgroupfs: bind the host's instead.
        if let Some(ms) = spec["mounts"].as_array_mut() {
            ms.retain(|m| m["type"] != "cgroup");
            // gid 5 (tty) is not mapped in a one-id user namespace, so devpts would refuse it.
            for m in ms.iter_mut().filter(|m| m["type"] == "devpts") {
                if let Some(o) = m["options"].as_array_mut() {
                    o.retain(|x| x != "gid=5");
                }
            }
            // Hardened: the host's cgroup and other mounts below /sys read-only too (rro).
            let ro = if hardened { "rro" } else { "ro" };
            for m in ms.iter_mut().filter(|m| m["type"] == "sysfs") {
                *m = json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", ro]});
            }
        }
    }
    spec
}

pub fn write(dir: &Path, rootless: bool, runc_default: bool) -> Result<(), SpecError> {
    let path = dir.join("config.json");
    if path.exists() {
        return Err(SpecError::Exists(path));
    }
    let body = serde_json::to_string_pretty(&generate(rootless, runc_default)).unwrap_or_default();
    std::fs::write(&path, body + "\n").map_err(|e| SpecError::Write(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_defaults_parse_as_oci_specs() {
        for (rootless, runc) in [(false, false), (false, true), (true, false), (true, true)] {
            let v = generate(rootless, runc);
            let spec: oci_spec::runtime::Spec = serde_json::from_value(v).unwrap();
            crate::validate::validate(&spec).unwrap();
        }
    }

    #[test]
    fn hardened_default_is_hardened() {
        let v = generate(false, false);
        assert_eq!(v["process"]["noNewPrivileges"], true);
        assert_eq!(v["root"]["readonly"], true);
        assert!(v["linux"]["maskedPaths"]
            .as_array()
            .unwrap()
            .contains(&json!("/proc/kcore")));
        assert!(
            v["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .len()
                <= 8
        );
        assert!(v["process"]["capabilities"].get("inheritable").is_none());
        assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert!(
            generate(false, true)["linux"].get("seccomp").is_none(),
            "runc default has none"
        );
    }
}
