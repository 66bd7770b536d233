//! linux.resources → systemd transient unit properties (pure), in the D-Bus types systemd wants.
//!
//! systemd re-applies a unit's properties to its cgroup (daemon-reload, unit changes), so they
//! must say what brick's cgroupfs writes say. v1 and hybrid hosts get the legacy names
//! (CPUShares, MemoryLimit, BlockIOWeight, no cpuset); pure v2 hosts the unified ones.

use std::collections::HashMap;

use cgroups_rs::systemd::props::PropertiesBuilder;
use cgroups_rs::systemd::{
    Property, ALLOWED_CPUS, ALLOWED_MEMORY_NODES, BLOCK_IO_ACCOUNTING, CPU_QUOTA_PERIOD_US,
    CPU_QUOTA_PER_SEC_US, CPU_SHARES, CPU_WEIGHT, IO_ACCOUNTING, MEMORY_LIMIT, MEMORY_LOW,
    MEMORY_MAX, MEMORY_SWAP_MAX, TASKS_MAX,
};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::conv::{blkio_weight_to_io, shares_to_weight, v2_swap, DEFAULT_CPU_PERIOD};
use super::systemd_devices::{device_props, DeviceNames};
use super::{CgroupError, DeviceRule, Mode, SystemdUnit};

/// systemd's "infinity" for every u64 limit property.
pub const INFINITY: u64 = u64::MAX;
/// systemd keeps the CPU quota in whole percent, so the per-second value is rounded up to 10 ms.
const QUOTA_STEP_USEC: u64 = 10_000;
/// systemd's own ceiling for CPU and NUMA node sets (CPU_SET_MAX_NCPU).
const MAX_CPUSET_BITS: usize = 8192;

const MEMORY_HIGH: &str = "MemoryHigh";
const MEMORY_MIN: &str = "MemoryMin";
const IO_WEIGHT: &str = "IOWeight";
const BLOCK_IO_WEIGHT: &str = "BlockIOWeight";
const DEVICE_POLICY: &str = "DevicePolicy";
const DEVICE_ALLOW: &str = "DeviceAllow";

/// The properties that make the scope: description, parent slice, delegation, the first pid.
pub fn unit_properties(unit: &SystemdUnit, mode: Mode, pid: u32) -> Vec<Property<'static>> {
    let mut props = PropertiesBuilder::default()
        .description(format!("brick container {}", unit.unit))
        .slice(unit.slice.clone())
        // Delegate: brick, not systemd, owns what is inside the scope (devices, sub-cgroups).
        .delegate(true)
        .default_dependencies(false)
        .cpu_accounting(true)
        .memory_accounting(true)
        .task_accounting(true)
        .pids(vec![pid])
        .build();
    let io = if mode == Mode::V2 {
        IO_ACCOUNTING
    } else {
        BLOCK_IO_ACCOUNTING
    };
    props.push((io, true.into()));
    props
}

/// The resources as properties, and whether the device list is broader than the rules.
/// An `update` leaves devices out unless it sets them.
pub fn resource_properties(
    res: &LinuxResources,
    mode: Mode,
    device_extra: &[DeviceRule],
    names: &DeviceNames,
    update: bool,
) -> Result<(Vec<Property<'static>>, bool), CgroupError> {
    let v2 = mode == Mode::V2;
    let mut props = Vec::new();
    if let Some(m) = res.memory() {
        memory_props(&mut props, m, v2)?;
    }
    if let Some(c) = res.cpu() {
        cpu_props(&mut props, c, v2)?;
    }
    if let Some(limit) = res.pids().as_ref().map(|p| p.limit()).filter(|l| *l != 0) {
        set(&mut props, (TASKS_MAX, limit_value(limit).into()));
    }
    if let Some(b) = res.block_io() {
        io_props(&mut props, b, v2);
    }
    if let (true, Some(u)) = (v2, res.unified()) {
        unified_props(&mut props, u)?;
    }
    let mut approximate = false;
    if !update || res.devices().is_some() {
        let rules = super::devices::build(res.devices().as_ref(), device_extra)?;
        let d = device_props(&rules, names);
        approximate = d.approximate;
        set(&mut props, (DEVICE_POLICY, d.policy.into()));
        set(&mut props, (DEVICE_ALLOW, d.allow.into()));
    }
    Ok((props, approximate))
}

/// Replace a property set earlier (unified keys override typed fields) or append it.
fn set(props: &mut Vec<Property<'static>>, prop: Property<'static>) {
    match props.iter_mut().find(|p| p.0 == prop.0) {
        Some(old) => *old = prop,
        None => props.push(prop),
    }
}

/// A byte or count limit: negative is unlimited.
fn limit_value(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(INFINITY)
}

fn memory_props(
    props: &mut Vec<Property<'static>>,
    m: &LinuxMemory,
    v2: bool,
) -> Result<(), CgroupError> {
    // As on cgroupfs, a 0 limit or reservation means "not set".
    let limit = m.limit().filter(|l| *l != 0);
    if let Some(l) = limit {
        let name = if v2 { MEMORY_MAX } else { MEMORY_LIMIT };
        set(props, (name, limit_value(l).into()));
    }
    if !v2 {
        // systemd has no v1 soft limit or memsw property; the cgroupfs code writes those.
        return Ok(());
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        set(props, (MEMORY_LOW, limit_value(r).into()));
    }
    // OCI swap is memory+swap; an update of swap alone is left to the cgroupfs code,
    // which reads the limit in force.
    if let Some(l) = limit {
        if let Some(swap) = v2_swap(Some(l), m.swap())? {
            set(
                props,
                (MEMORY_SWAP_MAX, max_or_number("memory.swap", &swap)?.into()),
            );
        }
    }
    Ok(())
}

fn cpu_props(
    props: &mut Vec<Property<'static>>,
    c: &LinuxCpu,
    v2: bool,
) -> Result<(), CgroupError> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        match (v2, shares_to_weight(s)) {
            (true, Some(w)) => set(props, (CPU_WEIGHT, w.into())),
            (true, None) => {}
            (false, _) => set(props, (CPU_SHARES, s.clamp(2, 262_144).into())),
        }
    }
    if let Some(p) = c.period().filter(|p| *p != 0) {
        set(props, (CPU_QUOTA_PERIOD_US, p.into()));
    }
    if let Some(q) = c.quota() {
        set(
            props,
            (CPU_QUOTA_PER_SEC_US, quota_per_sec(q, c.period()).into()),
        );
    }
    if !v2 {
        // systemd manages cpusets only on cgroup v2.
        return Ok(());
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.trim().is_empty()) {
        set(props, (ALLOWED_CPUS, cpuset_mask("cpu.cpus", cpus)?.into()));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.trim().is_empty()) {
        set(
            props,
            (ALLOWED_MEMORY_NODES, cpuset_mask("cpu.mems", mems)?.into()),
        );
    }
    Ok(())
}

fn io_props(props: &mut Vec<Property<'static>>, b: &LinuxBlockIo, v2: bool) {
    let Some(w) = b.weight().filter(|w| *w != 0) else {
        return;
    };
    if !v2 {
        set(
            props,
            (BLOCK_IO_WEIGHT, u64::from(w.clamp(10, 1000)).into()),
        );
    } else if let Some(v) = blkio_weight_to_io(w) {
        set(props, (IO_WEIGHT, v.into()));
    }
}

/// The unified keys systemd has a property for; the others are only written as files.
fn unified_props(
    props: &mut Vec<Property<'static>>,
    map: &HashMap<String, String>,
) -> Result<(), CgroupError> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let v = map[key].trim();
        let name = match key.as_str() {
            "memory.max" => MEMORY_MAX,
            "memory.high" => MEMORY_HIGH,
            "memory.low" => MEMORY_LOW,
            "memory.min" => MEMORY_MIN,
            "memory.swap.max" => MEMORY_SWAP_MAX,
            "pids.max" => TASKS_MAX,
            "cpu.weight" => CPU_WEIGHT,
            "cpuset.cpus" => {
                set(props, (ALLOWED_CPUS, cpuset_mask("cpuset.cpus", v)?.into()));
                continue;
            }
            "cpuset.mems" => {
                set(
                    props,
                    (ALLOWED_MEMORY_NODES, cpuset_mask("cpuset.mems", v)?.into()),
                );
                continue;
            }
            "cpu.max" => {
                cpu_max_props(props, v)?;
                continue;
            }
            _ => continue,
        };
        set(
            props,
            (name, max_or_number("linux.resources.unified", v)?.into()),
        );
    }
    Ok(())
}

/// "QUOTA [PERIOD]" of cpu.max, QUOTA being a number or "max".
fn cpu_max_props(props: &mut Vec<Property<'static>>, v: &str) -> Result<(), CgroupError> {
    let mut it = v.split_whitespace();
    let quota = it.next().unwrap_or("max");
    let period = match it.next() {
        Some(p) => Some(
            p.parse::<u64>()
                .map_err(|_| bad("cpu.max", v, "expected \"QUOTA [PERIOD]\""))?,
        ),
        None => None,
    };
    if let Some(p) = period.filter(|p| *p != 0) {
        set(props, (CPU_QUOTA_PERIOD_US, p.into()));
    }
    let per_sec = match quota {
        "max" => INFINITY,
        q => {
            let q = q
                .parse::<i64>()
                .map_err(|_| bad("cpu.max", v, "expected \"QUOTA [PERIOD]\""))?;
            quota_per_sec(q, period)
        }
    };
    set(props, (CPU_QUOTA_PER_SEC_US, per_sec.into()));
    Ok(())
}

/// CPUQuotaPerSecUSec from a CFS quota and period (µs), rounded up to whole percent so that
/// the quota systemd writes is never below the one brick writes.
pub fn quota_per_sec(quota: i64, period: Option<u64>) -> u64 {
    let Ok(q) = u64::try_from(quota) else {
        return INFINITY;
    };
    if q == 0 {
        return INFINITY;
    }
    let period = period.filter(|p| *p != 0).unwrap_or(DEFAULT_CPU_PERIOD);
    let per_sec = u128::from(q) * 1_000_000 / u128::from(period);
    let step = u128::from(QUOTA_STEP_USEC);
    u64::try_from(per_sec.div_ceil(step) * step).unwrap_or(INFINITY)
}

/// A cpu or memory-node list ("0-3,8") as systemd's bitmask: byte i holds bits 8i..8i+7,
/// lowest bit first.
pub fn cpuset_mask(what: &'static str, list: &str) -> Result<Vec<u8>, CgroupError> {
    let mut mask = Vec::new();
    for part in list.trim().split(',') {
        let part = part.trim();
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let parse = |s: &str| s.trim().parse::<usize>().ok();
        let (Some(lo), Some(hi)) = (parse(lo), parse(hi)) else {
            return Err(bad(what, list, "expected a list like \"0-3,8\""));
        };
        if lo > hi || hi >= MAX_CPUSET_BITS {
            return Err(bad(what, list, "range is reversed or beyond 8191"));
        }
        if mask.len() <= hi / 8 {
            mask.resize(hi / 8 + 1, 0u8);
        }
        for bit in lo..=hi {
            mask[bit / 8] |= 1 << (bit % 8);
        }
    }
    Ok(mask)
}

/// "max" or a number, as a u64 property value.
fn max_or_number(what: &'static str, v: &str) -> Result<u64, CgroupError> {
    match v {
        "max" => Ok(INFINITY),
        n => n
            .parse()
            .map_err(|_| bad(what, v, "expected a number or \"max\"")),
    }
}

fn bad(what: &'static str, value: &str, reason: &'static str) -> CgroupError {
    CgroupError::InvalidValue {
        what,
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
#[path = "systemd_props_tests.rs"]
mod tests;
