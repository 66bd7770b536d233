//! The systemd cgroup driver: the container's cgroup is a transient scope made over D-Bus
//! (cgroups-rs's SystemdClient), then filled in by the cgroupfs code like any other.

use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

use cgroups_rs::systemd::dbus::error::Error as DbusError;
use cgroups_rs::systemd::SystemdClient;
use oci_spec::runtime::LinuxResources;

use super::systemd_devices::{parse_proc_devices, DeviceNames};
use super::systemd_props::{resource_properties, unit_properties};
use super::{CgroupError, DeviceRule, Mode, SystemdUnit};

/// How long systemd gets to run the start job and move the pid into the scope.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stale unit of the same name gets to go away.
const STALE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether systemd is PID 1, the way sd_booted(3) tells: /run/systemd/system is a directory.
pub fn booted() -> bool {
    std::fs::symlink_metadata("/run/systemd/system").is_ok_and(|m| m.is_dir())
}

/// The unit to create over D-Bus, or None when the cgroupfs driver keeps the systemd layout.
pub fn choose(unit: Option<&SystemdUnit>) -> Option<SystemdUnit> {
    let unit = unit?;
    if !booted() {
        crate::log::debug(&format!(
            "systemd cgroup driver: systemd is not PID 1 (no /run/systemd/system); \
             creating {:?} with the cgroupfs driver",
            unit.unit
        ));
        return None;
    }
    if !unit.unit.ends_with(".scope") {
        crate::log::debug(&format!(
            "systemd cgroup driver: {:?} is a slice, which cannot hold processes itself; \
             creating it with the cgroupfs driver",
            unit.unit
        ));
        return None;
    }
    Some(unit.clone())
}

/// Translate the resources once before any side effect, so bad values fail before clone.
pub fn check(
    mode: Mode,
    res: &LinuxResources,
    device_extra: &[DeviceRule],
) -> Result<(), CgroupError> {
    resource_properties(res, mode, device_extra, &DeviceNames::new(), false).map(|_| ())
}

/// StartTransientUnit with PIDs=[pid] and the resources, then wait until the kernel shows the
/// pid in the scope's cgroup `path`.
pub fn start(
    unit: &SystemdUnit,
    mode: Mode,
    pid: i32,
    path: &str,
    res: &LinuxResources,
    device_extra: &[DeviceRule],
) -> Result<(), CgroupError> {
    let pid_u32 = u32::try_from(pid).map_err(|_| CgroupError::InvalidValue {
        what: "pid",
        value: pid.to_string(),
        reason: "not a process id",
    })?;
    let mut props = unit_properties(unit, mode, pid_u32);
    let (res_props, approximate) =
        resource_properties(res, mode, device_extra, &device_names(), false)?;
    if approximate {
        crate::log::debug(&format!(
            "systemd cgroup driver: {:?}: systemd's DeviceAllow list is broader than the \
             device rules (systemd has no deny rules); brick's own device rules stay exact",
            unit.unit
        ));
    }
    props.extend(res_props);
    let client = SystemdClient::new(&unit.unit, props).map_err(dbus_err("prepare", unit))?;
    if client.exists() {
        // A failed or stopping unit keeps the name; create() found its cgroup empty.
        client.stop().map_err(dbus_err("stop the stale", unit))?;
        wait_until(STALE_TIMEOUT, || !client.exists()).map_err(|()| CgroupError::Timeout {
            op: "stop the stale systemd unit of",
            path: PathBuf::from(path),
        })?;
    }
    client
        .start()
        .map_err(dbus_err("start the transient", unit))?;
    crate::log::debug(&format!(
        "systemd cgroup driver: started {:?} in {:?} with pid {pid}",
        unit.unit, unit.slice
    ));
    let proc_cgroup = format!("/proc/{pid}/cgroup");
    let mut last_err = None;
    let joined = wait_until(JOIN_TIMEOUT, || {
        match crate::small_file::read(&proc_cgroup) {
            Ok(text) => in_cgroup(&text, path),
            Err(e) => {
                last_err = Some(e);
                true
            }
        }
    });
    if let Some(source) = last_err {
        return Err(CgroupError::Read {
            path: proc_cgroup.into(),
            source,
        });
    }
    joined.map_err(|()| CgroupError::Timeout {
        op: "wait for systemd to move the container into",
        path: PathBuf::from(path),
    })
}

/// SetUnitProperties for `brick update`, so systemd re-applies the new values, not the old.
pub fn update(
    unit: &SystemdUnit,
    mode: Mode,
    res: &LinuxResources,
    device_extra: &[DeviceRule],
) -> Result<(), CgroupError> {
    let (props, _) = resource_properties(res, mode, device_extra, &device_names(), true)?;
    if props.is_empty() {
        return Ok(());
    }
    let mut client =
        SystemdClient::new(&unit.unit, Vec::new()).map_err(dbus_err("prepare", unit))?;
    client
        .set_properties(&props)
        .map_err(dbus_err("set properties of", unit))
}

/// StopUnit (a missing unit is fine) and clear a failed state, so the name can be reused.
pub fn stop(unit: &SystemdUnit) -> Result<(), CgroupError> {
    let client = SystemdClient::new(&unit.unit, Vec::new()).map_err(dbus_err("prepare", unit))?;
    client.stop().map_err(dbus_err("stop", unit))
}

/// Whether /proc/PID/cgroup text shows the process in `path` in any hierarchy.
pub fn in_cgroup(proc_cgroup: &str, path: &str) -> bool {
    proc_cgroup
        .lines()
        .any(|l| l.splitn(3, ':').nth(2) == Some(path))
}

/// Driver names of the host's device majors; without /proc/devices no "char-NAME" is used.
fn device_names() -> DeviceNames {
    match crate::small_file::read("/proc/devices") {
        Ok(text) => parse_proc_devices(&text),
        Err(e) => {
            crate::log::debug(&format!("read /proc/devices: {e}"));
            DeviceNames::new()
        }
    }
}

/// Poll `done` with a growing pause until it holds or `timeout` passes.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if done() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(());
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

fn dbus_err<'a>(
    op: &'static str,
    unit: &'a SystemdUnit,
) -> impl FnOnce(DbusError) -> CgroupError + 'a {
    move |e| CgroupError::Systemd {
        op,
        unit: unit.unit.clone(),
        // The wrapper's text repeats the D-Bus error's, so the chain starts at the D-Bus error.
        source: match e {
            DbusError::Dbus(inner) => Box::new(inner),
            other => Box::new(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroup_match() {
        let v2 = "0::/system.slice/brick-c1.scope\n";
        assert!(in_cgroup(v2, "/system.slice/brick-c1.scope"));
        assert!(!in_cgroup(v2, "/system.slice"));
        let hybrid = "12:memory:/user.slice\n1:name=systemd:/system.slice/brick-c1.scope\n0::/\n";
        assert!(in_cgroup(hybrid, "/system.slice/brick-c1.scope"));
        assert!(!in_cgroup(
            "0::/system.slice/brick-c1.scope/sub\n",
            "/system.slice/brick-c1.scope"
        ));
    }

    #[test]
    fn choose_without_systemd() {
        let unit = SystemdUnit {
            slice: "system.slice".into(),
            unit: "brick-c1.scope".into(),
        };
        assert_eq!(choose(None), None);
        // This machine (and any without systemd as PID 1) falls back to cgroupfs.
        if !booted() {
            assert_eq!(choose(Some(&unit)), None);
        }
        let slice = SystemdUnit {
            slice: "system.slice".into(),
            unit: "sub.slice".into(),
        };
        assert_eq!(choose(Some(&slice)), None);
    }

    #[test]
    fn waits_and_times_out() {
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(1), || {
            n += 1;
            n == 3
        })
        .is_ok());
        assert!(wait_until(Duration::from_millis(5), || false).is_err());
    }
}
