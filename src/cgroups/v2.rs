//! Apply linux.resources to a cgroup2 directory (pure v2 hosts), with v1→v2 conversions.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::conv::{
    blkio_weight_to_io, cpu_max, hugepage_size, pids_value, rdma_line, shares_to_weight,
    unified_key, v2_bytes, v2_swap,
};
use super::fsio::{has_file, read_file, write_file};
use super::v1::check_usage;
use super::CgroupError;

/// Turn on, in each ancestor of `leaf` below `mount_point`, every controller the ancestor has.
pub fn enable_controllers(mount_point: &Path, leaf: &Path) -> Result<(), CgroupError> {
    let Ok(rel) = leaf.strip_prefix(mount_point) else {
        return Ok(());
    };
    let mut dir = mount_point.to_path_buf();
    for comp in rel.components() {
        let available = read_file(&dir, "cgroup.controllers")?;
        let enabled = read_file(&dir, "cgroup.subtree_control")?;
        for c in available.split_whitespace() {
            if !enabled.split_whitespace().any(|e| e == c) {
                // One at a time: a controller the kernel refuses here must not block the others;
                // a resource that needs it then fails naming its file.
                let _ = write_file(&dir, "cgroup.subtree_control", &format!("+{c}"));
            }
        }
        dir.push(comp);
    }
    Ok(())
}

/// Write every resource the spec sets (devices are handled by the caller).
pub fn apply(dir: &Path, res: &LinuxResources, update: bool) -> Result<(), CgroupError> {
    if let Some(m) = res.memory() {
        memory(dir, m, update)?;
    }
    if let Some(c) = res.cpu() {
        cpu(dir, c)?;
    }
    if let Some(v) = res.pids().as_ref().and_then(|p| pids_value(p.limit())) {
        write_file(dir, "pids.max", &v)?;
    }
    if let Some(b) = res.block_io() {
        io(dir, b)?;
    }
    for h in res.hugepage_limits().iter().flatten() {
        let size = hugepage_size(h.page_size())?;
        write_file(dir, &format!("hugetlb.{size}.max"), &v2_bytes(h.limit()))?;
    }
    for (dev, r) in res.rdma().iter().flatten() {
        write_file(
            dir,
            "rdma.max",
            &rdma_line(dev, r.hca_handles(), r.hca_objects())?,
        )?;
    }
    // net_cls/net_prio have no v2 counterpart; runc ignores them there too.
    Ok(())
}

/// linux.resources.unified: raw key/value pairs written as files, after the typed resources.
pub fn unified(dir: &Path, map: &HashMap<String, String>) -> Result<(), CgroupError> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for k in keys {
        match write_file(dir, unified_key(k)?, &map[k]) {
            Err(CgroupError::Write { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Err(CgroupError::UnifiedKey {
                    key: k.clone(),
                    dir: dir.to_path_buf(),
                    source,
                })
            }
            other => other?,
        }
    }
    Ok(())
}

fn memory(dir: &Path, m: &LinuxMemory, update: bool) -> Result<(), CgroupError> {
    if let (true, Some(true), Some(limit)) = (update, m.check_before_update(), m.limit()) {
        check_usage(dir, limit, "memory.current")?;
    }
    // As in runc, a 0 limit or reservation means "not set", not "no memory at all".
    let limit = m.limit().filter(|l| *l != 0);
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        write_file(dir, "memory.low", &v2_bytes(r))?;
    }
    // An update may change swap alone; the split needs the limit that is in force.
    let limit_in_force = match limit {
        Some(l) => Some(l),
        None if m.swap().is_some() => Some(read_limit(dir)?),
        None => None,
    };
    let swap = v2_swap(limit_in_force, m.swap())?;
    if let Some(s) = &swap {
        if !has_file(dir, "memory.swap.max") && s != "max" {
            return Err(CgroupError::ControllerMissing {
                controller: "memory (swap accounting)",
                resource: "memory.swap",
            });
        }
    }
    if let Some(s) = swap.as_deref().filter(|_| has_file(dir, "memory.swap.max")) {
        write_file(dir, "memory.swap.max", s)?;
    }
    if let Some(l) = limit {
        write_file(dir, "memory.max", &v2_bytes(l))?;
    }
    // kernel, kernelTCP, swappiness, disableOOMKiller and useHierarchy have no v2 files.
    Ok(())
}

fn read_limit(dir: &Path) -> Result<i64, CgroupError> {
    let text = read_file(dir, "memory.max")?;
    if text == "max" {
        return Ok(-1);
    }
    text.parse().map_err(|_| CgroupError::Parse {
        path: dir.join("memory.max"),
        text,
    })
}

fn cpu(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(w) = c.shares().and_then(shares_to_weight) {
        write_file(dir, "cpu.weight", &w.to_string())?;
    }
    if c.quota().is_some() || c.period().is_some() {
        let current = read_file(dir, "cpu.max")?;
        if let Some(v) = cpu_max(c.quota(), c.period(), &current) {
            write_file(dir, "cpu.max", &v)?;
        }
    }
    if let Some(b) = c.burst() {
        write_file(dir, "cpu.max.burst", &b.to_string())?;
    }
    if let Some(i) = c.idle() {
        write_file(dir, "cpu.idle", &i.to_string())?;
    }
    let rt = c
        .realtime_runtime()
        .filter(|r| *r != 0)
        .map(|r| r.to_string());
    let rt = rt.or(c
        .realtime_period()
        .filter(|p| *p != 0)
        .map(|p| p.to_string()));
    if let Some(v) = rt {
        return Err(CgroupError::InvalidValue {
            what: "cpu.realtimeRuntime/realtimePeriod",
            value: v,
            reason: "cgroup v2 has no realtime CPU bandwidth files",
        });
    }
    if let Some(v) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        write_file(dir, "cpuset.cpus", v)?;
    }
    if let Some(v) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        write_file(dir, "cpuset.mems", v)?;
    }
    Ok(())
}

fn io(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // BFQ takes the v1 scale (1..1000) unchanged; io.weight needs the 1..10000 scale.
    let bfq = has_file(dir, "io.bfq.weight");
    let weight = |w: u16| -> Option<(&'static str, String)> {
        if bfq {
            Some(("io.bfq.weight", w.to_string()))
        } else {
            blkio_weight_to_io(w).map(|v| ("io.weight", v.to_string()))
        }
    };
    if let Some((file, v)) = b.weight().and_then(weight) {
        write_file(dir, file, &v)?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some((file, v)) = d.weight().and_then(weight) {
            write_file(dir, file, &format!("{}:{} {}", d.major(), d.minor(), v))?;
        }
    }
    let limits = [
        (b.throttle_read_bps_device(), "rbps"),
        (b.throttle_write_bps_device(), "wbps"),
        (b.throttle_read_iops_device(), "riops"),
        (b.throttle_write_iops_device(), "wiops"),
    ];
    for (list, key) in limits {
        for d in list.iter().flatten() {
            // A rate of 0 lifts the limit in v1; v2 spells that "max".
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            write_file(
                dir,
                "io.max",
                &format!("{}:{} {key}={rate}", d.major(), d.minor()),
            )?;
        }
    }
    Ok(())
}
