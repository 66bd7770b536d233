//! Device access rules: built from the spec in order, written to v1 devices.allow/deny.

use std::path::Path;

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};
use serde::{Deserialize, Serialize};

use super::fsio::OpenFile;
use super::CgroupError;

/// One device cgroup rule; `None` major/minor is the wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a' (all), 'b' (block) or 'c' (char).
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Subset of "rwm".
    pub access: String,
}

impl DeviceRule {
    fn new(allow: bool, kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> Self {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.to_string(),
        }
    }

    /// The line the v1 devices.allow / devices.deny files take: "c 1:3 rwm".
    pub fn v1_line(&self) -> String {
        let num = |n: Option<i64>| n.map_or("*".to_string(), |v| v.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// Convert one linux.resources.devices entry; fifos are not governed by the device controller.
pub fn from_spec(r: &LinuxDeviceCgroup) -> Result<Option<DeviceRule>, CgroupError> {
    let kind = match r.typ().unwrap_or_default() {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => return Ok(None),
    };
    let access = r.access().as_deref().unwrap_or("");
    let access = if access.is_empty() { "rwm" } else { access };
    let mut seen = String::new();
    for ch in access.chars() {
        if !"rwm".contains(ch) || seen.contains(ch) {
            return Err(CgroupError::InvalidValue {
                what: "device rule access",
                value: access.to_string(),
                reason: "must be a subset of \"rwm\"",
            });
        }
        seen.push(ch);
    }
    let wild = |n: Option<i64>| n.filter(|v| *v >= 0);
    Ok(Some(DeviceRule::new(
        r.allow(),
        kind,
        wild(r.major()),
        wild(r.minor()),
        access,
    )))
}

/// Devices every container may use, appended after the spec's rules so they always stay usable.
pub fn default_allowed() -> Vec<DeviceRule> {
    let c = |maj: i64, min: Option<i64>| DeviceRule::new(true, 'c', Some(maj), min, "rwm");
    vec![
        // mknod of any node is allowed; opening it still needs an allow rule.
        DeviceRule::new(true, 'c', None, None, "m"),
        DeviceRule::new(true, 'b', None, None, "m"),
        c(1, Some(3)), // /dev/null
        c(1, Some(5)), // /dev/zero
        c(1, Some(7)), // /dev/full
        c(1, Some(8)), // /dev/random
        c(1, Some(9)), // /dev/urandom
        c(5, Some(0)), // /dev/tty
        c(5, Some(1)), // /dev/console
        c(5, Some(2)), // /dev/ptmx
        c(136, None),  // /dev/pts/*
    ]
}

/// A node listed in linux.devices must also be usable, so it gets an allow rule.
pub fn for_linux_device(d: &LinuxDevice) -> Option<DeviceRule> {
    let kind = match d.typ() {
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::A | LinuxDeviceType::P => return None,
    };
    Some(DeviceRule::new(
        true,
        kind,
        Some(d.major()),
        Some(d.minor()),
        "rwm",
    ))
}

/// The full ordered list: deny-all is implied first, then spec rules, defaults, linux.devices.
pub fn build(
    spec_rules: Option<&Vec<LinuxDeviceCgroup>>,
    extra: &[DeviceRule],
) -> Result<Vec<DeviceRule>, CgroupError> {
    let mut out = Vec::new();
    for r in spec_rules.into_iter().flatten() {
        if let Some(rule) = from_spec(r)? {
            out.push(rule);
        }
    }
    out.extend(extra.iter().cloned());
    Ok(out)
}

/// Reset the v1 device cgroup to deny-all, then apply the rules in order.
/// Whether `outer` names every device `inner` names, and is not the very same entry.
fn strictly_covers(outer: &DeviceRule, inner: &DeviceRule) -> bool {
    let kind = outer.kind == 'a' || outer.kind == inner.kind;
    let num = |o: Option<i64>, i: Option<i64>| o.is_none() || o == i;
    let same = outer.kind == inner.kind && outer.major == inner.major && outer.minor == inner.minor;
    kind && num(outer.major, inner.major) && num(outer.minor, inner.minor) && !same
}

/// A v1 device list that starts denying everything only removes exact entries: a deny inside
/// a broader allow would silently do nothing, so it is refused (runc refuses it too).
pub fn check_v1(rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let mut allows: Vec<&DeviceRule> = Vec::new();
    for r in rules {
        if r.kind == 'a' && r.major.is_none() && r.minor.is_none() {
            // "a *:*" resets the list: deny-all starts an allow list, allow-all a deny list.
            allows.clear();
            if r.allow {
                return Ok(());
            }
            continue;
        }
        if r.allow {
            allows.push(r);
            continue;
        }
        let hole = allows
            .iter()
            .find(|a| strictly_covers(a, r) && a.access.chars().any(|c| r.access.contains(c)));
        if let Some(a) = hole {
            return Err(CgroupError::DeviceHole {
                rule: r.v1_line(),
                allowed: a.v1_line(),
            });
        }
    }
    Ok(())
}

pub fn apply_v1(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    check_v1(rules)?;
    // One open per file, one write per rule: the kernel parses each write(2) as one rule.
    let mut deny = OpenFile::write_first(dir, "devices.deny", "a")?;
    let mut allow: Option<OpenFile> = None;
    for r in rules {
        let line = r.v1_line();
        match (r.allow, &mut allow) {
            (false, _) => deny.write(&line)?,
            (true, Some(f)) => f.write(&line)?,
            (true, None) => allow = Some(OpenFile::write_first(dir, "devices.allow", &line)?),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxDeviceBuilder, LinuxDeviceCgroupBuilder};

    #[test]
    fn v1_refuses_a_deny_inside_a_wider_allow() {
        let r =
            |allow, kind, major, minor, access| DeviceRule::new(allow, kind, major, minor, access);
        let hole = [
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', Some(42), None, "rw"),
            r(false, 'c', Some(42), Some(2), "rw"),
        ];
        assert!(matches!(
            check_v1(&hole),
            Err(CgroupError::DeviceHole { .. })
        ));
        let exact = [
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', Some(42), Some(2), "rw"),
            r(false, 'c', Some(42), Some(2), "rw"),
        ];
        assert!(
            check_v1(&exact).is_ok(),
            "an exact entry is removed by the kernel"
        );
        let other_access = [
            r(false, 'a', None, None, "rwm"),
            r(true, 'c', Some(42), None, "r"),
            r(false, 'c', Some(42), Some(2), "w"),
        ];
        assert!(check_v1(&other_access).is_ok());
        let blacklist = [
            r(true, 'a', None, None, "rwm"),
            r(false, 'c', Some(42), Some(2), "rw"),
        ];
        assert!(
            check_v1(&blacklist).is_ok(),
            "after allow-all, denies are exceptions"
        );
    }

    #[test]
    fn spec_rules() {
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap();
        let r = from_spec(&deny_all).unwrap().unwrap();
        assert_eq!(r.v1_line(), "a *:* rwm");
        assert!(!r.allow);
        let null = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rw")
            .build()
            .unwrap();
        assert_eq!(from_spec(&null).unwrap().unwrap().v1_line(), "c 1:3 rw");
        let bad = LinuxDeviceCgroupBuilder::default()
            .access("rwx")
            .build()
            .unwrap();
        assert!(from_spec(&bad).is_err());
        let dup = LinuxDeviceCgroupBuilder::default()
            .access("rr")
            .build()
            .unwrap();
        assert!(from_spec(&dup).is_err());
        let fifo = LinuxDeviceCgroupBuilder::default()
            .typ(LinuxDeviceType::P)
            .build()
            .unwrap();
        assert_eq!(from_spec(&fifo).unwrap(), None);
        let wild = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(8)
            .build()
            .unwrap();
        assert_eq!(from_spec(&wild).unwrap().unwrap().v1_line(), "b 8:* rwm");
    }

    #[test]
    fn order_and_extras() {
        let dev = LinuxDeviceBuilder::default()
            .path("/dev/fuse")
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(229)
            .build()
            .unwrap();
        let mut extra = default_allowed();
        extra.push(for_linux_device(&dev).unwrap());
        let spec = vec![LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap()];
        let rules = build(Some(&spec), &extra).unwrap();
        assert_eq!(rules[0].v1_line(), "a *:* rwm");
        assert_eq!(rules[1].v1_line(), "c *:* m");
        assert_eq!(rules.last().unwrap().v1_line(), "c 10:229 rwm");
        assert!(rules.iter().any(|r| r.v1_line() == "c 136:* rwm"));
    }
}
