//! Device rules as systemd unit properties: DevicePolicy and an allow-only DeviceAllow list.
//!
//! systemd only knows allow lists, so the ordered allow/deny rules are reduced to the set they
//! leave allowed. Where a deny only punches a hole that systemd cannot express, the systemd side
//! stays broader and says so; brick's own cgroupfs/eBPF rules, applied after, are exact.

use std::collections::BTreeMap;

use super::devices::DeviceRule;

/// Driver names by (kind, major), from /proc/devices: "char-NAME" covers a whole major.
pub type DeviceNames = BTreeMap<(char, i64), String>;

/// What systemd is told about devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProps {
    /// "strict" (only the list) or "auto" (everything, when the rules allow all devices).
    pub policy: &'static str,
    /// DeviceAllow entries (a(ss)): a path or "char-NAME"/"block-NAME", and a subset of "rwm".
    pub allow: Vec<(String, String)>,
    /// True when systemd's list is broader than the rules (a deny it cannot express).
    pub approximate: bool,
}

/// One allowed (kind, major, minor) with its access bits, kind 'c' or 'b'.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: char,
    major: Option<i64>,
    minor: Option<i64>,
    access: String,
}

/// Parse /proc/devices: "Character devices:" / "Block devices:" sections of "MAJOR NAME" lines.
pub fn parse_proc_devices(text: &str) -> DeviceNames {
    let mut out = DeviceNames::new();
    let mut kind = None;
    for line in text.lines() {
        match line.trim() {
            "Character devices:" => kind = Some('c'),
            "Block devices:" => kind = Some('b'),
            l => {
                let mut parts = l.split_whitespace();
                let (Some(k), Some(Ok(major)), Some(name)) =
                    (kind, parts.next().map(str::parse::<i64>), parts.next())
                else {
                    continue;
                };
                out.entry((k, major)).or_insert_with(|| name.to_string());
            }
        }
    }
    out
}

/// Reduce the ordered rules (deny-all implied first) to systemd's DevicePolicy and DeviceAllow.
pub fn device_props(rules: &[DeviceRule], names: &DeviceNames) -> DeviceProps {
    let mut all_allowed = false;
    let mut approximate = false;
    let mut entries: Vec<Entry> = Vec::new();
    for r in rules {
        let whole = r.kind == 'a' && r.major.is_none() && r.minor.is_none();
        let full = ['r', 'w', 'm'].iter().all(|c| r.access.contains(*c));
        if whole && full {
            all_allowed = r.allow;
            entries.clear();
            continue;
        }
        if all_allowed {
            // Allowing more changes nothing; a hole in allow-all has no systemd spelling.
            approximate |= !r.allow;
            continue;
        }
        if r.allow {
            for kind in kinds(r.kind) {
                let e = Entry {
                    kind,
                    major: r.major,
                    minor: r.minor,
                    access: r.access.clone(),
                };
                merge(&mut entries, e);
            }
        } else {
            approximate |= deny(&mut entries, r);
        }
    }
    if all_allowed {
        return DeviceProps {
            policy: "auto",
            allow: Vec::new(),
            approximate,
        };
    }
    let mut allow: Vec<(String, String)> = Vec::new();
    for e in &entries {
        let Some(path) = device_path(e, names) else {
            // No driver has this major, so no node of it can be opened: nothing to allow.
            continue;
        };
        if e.major.is_none() && e.minor.is_some() {
            approximate = true;
        }
        match allow.iter_mut().find(|(p, _)| *p == path) {
            Some((_, acc)) => *acc = union(acc, &e.access),
            None => allow.push((path, e.access.clone())),
        }
    }
    DeviceProps {
        policy: "strict",
        allow,
        approximate,
    }
}

/// The device kinds a rule kind stands for ('a' is both).
fn kinds(kind: char) -> Vec<char> {
    match kind {
        'a' => vec!['c', 'b'],
        k => vec![k],
    }
}

/// Add an allowed entry, widening the access of an identical one.
fn merge(entries: &mut Vec<Entry>, e: Entry) {
    let same = |x: &&mut Entry| x.kind == e.kind && x.major == e.major && x.minor == e.minor;
    match entries.iter_mut().find(same) {
        Some(x) => x.access = union(&x.access, &e.access),
        None => entries.push(e),
    }
}

/// Take a deny's access away from every entry it covers; true if it only partly covers one.
fn deny(entries: &mut Vec<Entry>, r: &DeviceRule) -> bool {
    let covers = |outer: Option<i64>, inner: Option<i64>| outer.is_none() || outer == inner;
    let mut partial = false;
    for e in entries.iter_mut() {
        if r.kind != 'a' && r.kind != e.kind {
            continue;
        }
        if covers(r.major, e.major) && covers(r.minor, e.minor) {
            e.access.retain(|c| !r.access.contains(c));
        } else if covers(e.major, r.major) && covers(e.minor, r.minor) {
            partial |= e.access.chars().any(|c| r.access.contains(c));
        }
    }
    entries.retain(|e| !e.access.is_empty());
    partial
}

/// "rwm"-ordered union of two access strings.
fn union(a: &str, b: &str) -> String {
    "rwm"
        .chars()
        .filter(|c| a.contains(*c) || b.contains(*c))
        .collect()
}

/// systemd's name for an entry: "/dev/char/M:N" (parsed, the node need not exist),
/// "char-NAME" for a whole major, "char-*" for every major.
fn device_path(e: &Entry, names: &DeviceNames) -> Option<String> {
    let (dir, group) = match e.kind {
        'b' => ("block", "block"),
        _ => ("char", "char"),
    };
    match (e.major, e.minor) {
        (Some(maj), Some(min)) => Some(format!("/dev/{dir}/{maj}:{min}")),
        (Some(maj), None) => names
            .get(&(e.kind, maj))
            .map(|name| format!("{group}-{name}")),
        // A wildcard major with a fixed minor is broader in systemd (noted as approximate).
        (None, _) => Some(format!("{group}-*")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::devices::default_allowed;

    const PROC_DEVICES: &str = "Character devices:\n  1 mem\n  5 /dev/tty\n  5 /dev/console\n\
        136 pts\n 10 misc\n\nBlock devices:\n  8 sd\n259 blkext\n";

    fn rule(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        acc: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: acc.to_string(),
        }
    }

    fn pairs(p: &DeviceProps) -> Vec<(&str, &str)> {
        p.allow
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }

    #[test]
    fn proc_devices() {
        let n = parse_proc_devices(PROC_DEVICES);
        assert_eq!(n[&('c', 136)], "pts");
        assert_eq!(n[&('c', 5)], "/dev/tty");
        assert_eq!(n[&('b', 8)], "sd");
        assert!(!n.contains_key(&('b', 1)));
    }

    #[test]
    fn default_container_rules() {
        let names = parse_proc_devices(PROC_DEVICES);
        let mut rules = vec![rule(false, 'a', None, None, "rwm")];
        rules.extend(default_allowed());
        let p = device_props(&rules, &names);
        assert_eq!(p.policy, "strict");
        assert!(!p.approximate);
        let got = pairs(&p);
        assert_eq!(got[0], ("char-*", "m"));
        assert_eq!(got[1], ("block-*", "m"));
        assert!(got.contains(&("/dev/char/1:3", "rwm")));
        assert!(got.contains(&("/dev/char/5:2", "rwm")));
        assert!(got.contains(&("char-pts", "rwm")));
        assert_eq!(got.len(), 11);
    }

    #[test]
    fn allow_all_and_reset() {
        let names = DeviceNames::new();
        let all = rule(true, 'a', None, None, "rwm");
        let p = device_props(
            &[all.clone(), rule(true, 'c', Some(1), Some(3), "r")],
            &names,
        );
        assert_eq!((p.policy, p.allow.len(), p.approximate), ("auto", 0, false));
        // A hole in allow-all: systemd stays at "auto" and the result is marked approximate.
        let p = device_props(
            &[all.clone(), rule(false, 'c', Some(1), Some(3), "w")],
            &names,
        );
        assert_eq!((p.policy, p.approximate), ("auto", true));
        // A later deny-all starts over.
        let rules = [
            all,
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'b', Some(8), Some(0), "r"),
        ];
        let p = device_props(&rules, &names);
        assert_eq!(p.policy, "strict");
        assert_eq!(pairs(&p), [("/dev/block/8:0", "r")]);
    }

    #[test]
    fn denies_and_merges() {
        let names = parse_proc_devices(PROC_DEVICES);
        let rules = [
            rule(true, 'c', Some(1), Some(3), "rw"),
            rule(true, 'c', Some(1), Some(3), "m"),
            rule(true, 'c', Some(10), Some(200), "rwm"),
            rule(false, 'c', Some(10), None, "w"),
            rule(true, 'a', Some(1), Some(5), "r"),
            rule(true, 'c', Some(99), None, "rwm"),
        ];
        let p = device_props(&rules, &names);
        assert!(!p.approximate);
        assert_eq!(
            pairs(&p),
            [
                ("/dev/char/1:3", "rwm"),
                ("/dev/char/10:200", "rm"),
                ("/dev/char/1:5", "r"),
                ("/dev/block/1:5", "r"),
            ]
        );
        // Denying one minor of an allowed major cannot be said to systemd.
        let rules = [
            rule(true, 'c', Some(136), None, "rwm"),
            rule(false, 'c', Some(136), Some(3), "rwm"),
        ];
        let p = device_props(&rules, &names);
        assert!(p.approximate);
        assert_eq!(pairs(&p), [("char-pts", "rwm")]);
        let p = device_props(&[rule(true, 'c', None, Some(3), "r")], &names);
        assert!(p.approximate);
        assert_eq!(pairs(&p), [("char-*", "r")]);
    }
}
