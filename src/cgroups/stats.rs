//! Resource usage in the shape of runc's `events --stats` data object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::fsio::{parse_u64, read_file};

/// nanoseconds per USER_HZ tick, which cpuacct.stat counts in.
const NS_PER_TICK: u64 = 1_000_000_000 / 100;

fn num(dir: &Path, name: &str) -> u64 {
    read_file(dir, name)
        .ok()
        .and_then(|t| parse_u64(&t))
        .unwrap_or(0)
}

/// Parse "key value" lines (memory.stat, cpu.stat, cgroup.events).
pub fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), parse_u64(v)?))
        })
        .collect()
}

fn keyed(dir: &Path, name: &str) -> BTreeMap<String, u64> {
    read_file(dir, name)
        .map(|t| flat_keyed(&t))
        .unwrap_or_default()
}

fn list(dir: &Path, name: &str) -> Vec<u64> {
    read_file(dir, name)
        .map(|t| t.split_whitespace().filter_map(parse_u64).collect())
        .unwrap_or_default()
}

/// v1 "MAJ:MIN Op VALUE" lines (blkio.*_recursive) → runc blkio entries.
pub fn blkio_v1_entries(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, val) = (f.next()?, f.next()?, f.next()?);
            let (maj, min) = dev.split_once(':')?;
            Some(
                json!({"major": maj.parse::<u64>().ok()?, "minor": min.parse::<u64>().ok()?,
                        "op": op, "value": val.parse::<u64>().ok()?}),
            )
        })
        .collect()
}

/// v2 io.stat "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." → (bytes entries, ios entries).
pub fn io_stat_entries(text: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(maj), Ok(min)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            let (target, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            target.push(json!({"major": maj, "minor": min, "op": op, "value": v}));
        }
    }
    (bytes, ios)
}

/// Hugepage sizes that have files named `hugetlb.SIZE.<suffix>` in `dir`.
fn hugepage_sizes(dir: &Path, suffix: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut sizes: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size = name.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
            (!size.contains('.')).then(|| size.to_string())
        })
        .collect();
    sizes.sort();
    sizes
}

fn mem_entry(dir: &Path, prefix: &str) -> Value {
    json!({
        "limit": num(dir, &format!("{prefix}limit_in_bytes")),
        "usage": num(dir, &format!("{prefix}usage_in_bytes")),
        "max": num(dir, &format!("{prefix}max_usage_in_bytes")),
        "failcnt": num(dir, &format!("{prefix}failcnt")),
    })
}

/// Stats from v1 controller directories.
pub fn v1(dirs: &BTreeMap<String, PathBuf>) -> Value {
    let mut out = Map::new();
    let mut cpu = json!({"usage": {}, "throttling": {}});
    if let Some(d) = dirs.get("cpuacct") {
        let st = keyed(d, "cpuacct.stat");
        cpu["usage"] = json!({
            "total": num(d, "cpuacct.usage"),
            "percpu": list(d, "cpuacct.usage_percpu"),
            "percpu_kernel": list(d, "cpuacct.usage_percpu_sys"),
            "percpu_user": list(d, "cpuacct.usage_percpu_user"),
            "kernel": st.get("system").copied().unwrap_or(0) * NS_PER_TICK,
            "user": st.get("user").copied().unwrap_or(0) * NS_PER_TICK,
        });
    }
    if let Some(d) = dirs.get("cpu") {
        let st = keyed(d, "cpu.stat");
        cpu["throttling"] = throttling(&st, 1);
    }
    out.insert("cpu".into(), cpu);
    if let Some(d) = dirs.get("memory") {
        let raw = keyed(d, "memory.stat");
        out.insert(
            "memory".into(),
            json!({
                "cache": raw.get("total_cache").or(raw.get("cache")).copied().unwrap_or(0),
                "usage": mem_entry(d, "memory."),
                "swap": mem_entry(d, "memory.memsw."),
                "kernel": mem_entry(d, "memory.kmem."),
                "kernelTCP": mem_entry(d, "memory.kmem.tcp."),
                "raw": raw,
            }),
        );
    }
    if let Some(d) = dirs.get("pids") {
        out.insert("pids".into(), pids(d));
    }
    if let Some(d) = dirs.get("blkio") {
        // CFQ/BFQ keep their own counters; the throttle ones exist with any scheduler.
        let pick = |stem: &str| {
            ["blkio.", "blkio.bfq.", "blkio.throttle."]
                .iter()
                .map(|p| {
                    read_file(d, &format!("{p}{stem}"))
                        .map(|t| blkio_v1_entries(&t))
                        .unwrap_or_default()
                })
                .find(|v| !v.is_empty())
                .unwrap_or_default()
        };
        out.insert(
            "blkio".into(),
            json!({"ioServiceBytesRecursive": pick("io_service_bytes_recursive"),
                   "ioServicedRecursive": pick("io_serviced_recursive")}),
        );
    }
    if let Some(d) = dirs.get("hugetlb") {
        let mut h = Map::new();
        for size in hugepage_sizes(d, ".usage_in_bytes") {
            h.insert(
                size.clone(),
                json!({"usage": num(d, &format!("hugetlb.{size}.usage_in_bytes")),
                       "max": num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
                       "failcnt": num(d, &format!("hugetlb.{size}.failcnt"))}),
            );
        }
        out.insert("hugetlb".into(), Value::Object(h));
    }
    Value::Object(out)
}

fn throttling(st: &BTreeMap<String, u64>, time_scale: u64) -> Value {
    let time = st
        .get("throttled_time")
        .copied()
        .or(st.get("throttled_usec").map(|u| u * time_scale));
    json!({
        "periods": st.get("nr_periods").copied().unwrap_or(0),
        "throttled_periods": st.get("nr_throttled").copied().unwrap_or(0),
        "throttled_time": time.unwrap_or(0),
    })
}

fn pids(d: &Path) -> Value {
    // runc reports an unlimited pids.max as 0.
    let limit = match num(d, "pids.max") {
        u64::MAX => 0,
        l => l,
    };
    json!({"current": num(d, "pids.current"), "limit": limit})
}

/// Stats from a cgroup2 directory (pure v2 hosts).
pub fn v2(d: &Path) -> Value {
    let cs = keyed(d, "cpu.stat");
    let us = |k: &str| cs.get(k).copied().unwrap_or(0) * 1000;
    let raw = keyed(d, "memory.stat");
    let (usage, limit) = (num(d, "memory.current"), num(d, "memory.max"));
    let (swap_usage, swap_limit) = (num(d, "memory.swap.current"), num(d, "memory.swap.max"));
    let events = keyed(d, "memory.events");
    let (bytes, ios) = read_file(d, "io.stat")
        .map(|t| io_stat_entries(&t))
        .unwrap_or_default();
    let mut huge = Map::new();
    for size in hugepage_sizes(d, ".current") {
        let ev = keyed(d, &format!("hugetlb.{size}.events"));
        huge.insert(
            size.clone(),
            json!({"usage": num(d, &format!("hugetlb.{size}.current")),
                   "max": num(d, &format!("hugetlb.{size}.max")),
                   "failcnt": ev.get("max").copied().unwrap_or(0)}),
        );
    }
    json!({
        "cpu": {
            "usage": {"total": us("usage_usec"), "kernel": us("system_usec"), "user": us("user_usec")},
            "throttling": throttling(&cs, 1000),
        },
        "memory": {
            "cache": raw.get("file").copied().unwrap_or(0),
            "usage": {"limit": limit, "usage": usage, "max": num(d, "memory.peak"),
                      "failcnt": events.get("max").copied().unwrap_or(0)},
            // runc reports v2 swap as memory+swap, the v1 memsw meaning.
            "swap": {"limit": swap_limit.saturating_add(limit), "usage": swap_usage + usage, "failcnt": 0},
            "raw": raw,
        },
        "pids": pids(d),
        "blkio": {"ioServiceBytesRecursive": bytes, "ioServicedRecursive": ios},
        "hugetlb": huge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        let kv = flat_keyed("cache 10\nrss 20\nbad\nx max\n");
        assert_eq!(kv["cache"], 10);
        assert_eq!(kv["x"], u64::MAX);
        let e = blkio_v1_entries("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[0],
            json!({"major": 8, "minor": 0, "op": "Read", "value": 4096})
        );
        let (b, i) = io_stat_entries("259:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(b.len(), 2);
        assert_eq!(
            i[1],
            json!({"major": 259, "minor": 0, "op": "Write", "value": 2})
        );
        let t = throttling(
            &flat_keyed("nr_periods 5\nnr_throttled 2\nthrottled_usec 7\n"),
            1000,
        );
        assert_eq!(t["throttled_time"], 7000);
    }
}
