//! Pure conversions from OCI resource values to cgroupfs file values (v1 and v2).

use super::CgroupError;
use oci_spec::runtime::LinuxResources;

/// Default CFS period when the spec gives a quota without one.
pub const DEFAULT_CPU_PERIOD: u64 = 100_000;

/// v1 cpu.shares (2..262144) → v2 cpu.weight (1..10000); 0 means unset.
pub fn shares_to_weight(shares: u64) -> Option<u64> {
    if shares == 0 {
        return None;
    }
    let s = shares.clamp(2, 262_144);
    Some(1 + ((s - 2) * 9999) / 262_142)
}

/// v1 blkio weight (10..1000) → v2 io.weight (1..10000); 0 means unset.
pub fn blkio_weight_to_io(weight: u16) -> Option<u64> {
    if weight == 0 {
        return None;
    }
    let w = u64::from(weight.clamp(10, 1000));
    Some(1 + ((w - 10) * 9999) / 990)
}

/// A byte limit for v2 files: negative means unlimited ("max").
pub fn v2_bytes(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// A byte limit for v1 files: negative means unlimited (-1).
pub fn v1_bytes(v: i64) -> String {
    if v < 0 {
        "-1".to_string()
    } else {
        v.to_string()
    }
}

/// OCI swap is memory+swap; v2 memory.swap.max is swap alone, so it is `swap - limit`.
pub fn v2_swap(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>, CgroupError> {
    let swap = match swap {
        None | Some(0) => return Ok(None),
        Some(s) if s < 0 => return Ok(Some("max".to_string())),
        Some(s) => s,
    };
    match limit {
        None | Some(0) => Err(CgroupError::InvalidValue {
            what: "memory.swap",
            value: swap.to_string(),
            reason: "a swap limit needs a memory limit",
        }),
        Some(l) if l < 0 => Err(CgroupError::InvalidValue {
            what: "memory.swap",
            value: swap.to_string(),
            reason: "a swap limit needs a finite memory limit",
        }),
        Some(l) if swap < l => Err(CgroupError::InvalidValue {
            what: "memory.swap",
            value: swap.to_string(),
            reason: "memory+swap must be at least the memory limit",
        }),
        Some(l) => Ok(Some((swap - l).to_string())),
    }
}

/// pids.max value: positive is a limit, negative is unlimited, 0 is unset.
pub fn pids_value(limit: i64) -> Option<String> {
    match limit {
        0 => None,
        l if l < 0 => Some("max".to_string()),
        l => Some(l.to_string()),
    }
}

/// v2 cpu.max "QUOTA PERIOD"; fields the spec leaves out keep their current values.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>, current: &str) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut cur = current.split_whitespace();
    let cur_quota = cur.next().unwrap_or("max").to_string();
    let cur_period = cur
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_CPU_PERIOD);
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        Some(_) => "max".to_string(),
        None => cur_quota,
    };
    let p = match period {
        Some(p) if p > 0 => p,
        _ => cur_period,
    };
    Some(format!("{q} {p}"))
}

/// Validate a hugepage size such as "2MB" or "1GB" (it becomes part of a file name).
pub fn hugepage_size(size: &str) -> Result<&str, CgroupError> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && ["KB", "MB", "GB", "TB", "PB"].contains(&unit);
    if ok {
        Ok(size)
    } else {
        Err(CgroupError::InvalidValue {
            what: "hugepageLimits.pageSize",
            value: size.to_string(),
            reason: "expected a number and KB, MB, GB, TB or PB",
        })
    }
}

/// rdma.max line: "DEVICE hca_handle=N hca_object=N" with "max" for what is not given.
pub fn rdma_line(
    device: &str,
    handles: Option<u32>,
    objects: Option<u32>,
) -> Result<String, CgroupError> {
    if device.is_empty() || device.contains(char::is_whitespace) {
        return Err(CgroupError::InvalidValue {
            what: "rdma device",
            value: device.to_string(),
            reason: "must be a single word",
        });
    }
    let h = handles.map_or("max".to_string(), |v| v.to_string());
    let o = objects.map_or("max".to_string(), |v| v.to_string());
    Ok(format!("{device} hca_handle={h} hca_object={o}"))
}

/// A unified key becomes a file name in the container's cgroup, so it must be one and harmless.
pub fn unified_key(key: &str) -> Result<&str, CgroupError> {
    let bad = key.is_empty()
        || key.contains(['/', '\0', '\n'])
        || !key.contains('.')
        || key.starts_with('.')
        || [
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.kill",
            "cgroup.subtree_control",
        ]
        .contains(&key);
    if bad {
        return Err(CgroupError::InvalidValue {
            what: "linux.resources.unified key",
            value: key.to_string(),
            reason: "must name a controller file of the container's cgroup",
        });
    }
    Ok(key)
}

/// runc's update format uses 0 for "leave as is"; turn those into None before applying.
pub fn unset_zeros(mut res: LinuxResources) -> LinuxResources {
    let nz = |v: Option<i64>| v.filter(|x| *x != 0);
    let nzu = |v: Option<u64>| v.filter(|x| *x != 0);
    if let Some(m) = res.memory_mut() {
        m.set_limit(nz(m.limit()));
        m.set_reservation(nz(m.reservation()));
        m.set_swap(nz(m.swap()));
        #[allow(deprecated)]
        {
            m.set_kernel(nz(m.kernel()));
        }
        m.set_kernel_tcp(nz(m.kernel_tcp()));
    }
    if let Some(c) = res.cpu_mut() {
        c.set_shares(nzu(c.shares()));
        c.set_quota(nz(c.quota()));
        c.set_period(nzu(c.period()));
        c.set_realtime_period(nzu(c.realtime_period()));
        c.set_realtime_runtime(nz(c.realtime_runtime()));
        let empty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
        let (cpus, mems) = (empty(c.cpus()), empty(c.mems()));
        c.set_cpus(cpus);
        c.set_mems(mems);
    }
    if let Some(b) = res.block_io_mut() {
        b.set_weight(b.weight().filter(|w| *w != 0));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights() {
        assert_eq!(shares_to_weight(0), None);
        assert_eq!(shares_to_weight(2), Some(1));
        assert_eq!(shares_to_weight(1024), Some(39));
        assert_eq!(shares_to_weight(262_144), Some(10_000));
        assert_eq!(blkio_weight_to_io(10), Some(1));
        assert_eq!(blkio_weight_to_io(500), Some(4950));
        assert_eq!(blkio_weight_to_io(1000), Some(10_000));
        assert_eq!(blkio_weight_to_io(0), None);
    }

    #[test]
    fn swap() {
        assert_eq!(
            v2_swap(Some(100), Some(300)).unwrap().as_deref(),
            Some("200")
        );
        assert_eq!(v2_swap(Some(100), Some(100)).unwrap().as_deref(), Some("0"));
        assert_eq!(
            v2_swap(Some(100), Some(-1)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(v2_swap(Some(100), None).unwrap(), None);
        assert!(v2_swap(None, Some(300)).is_err());
        assert!(v2_swap(Some(-1), Some(300)).is_err());
        assert!(v2_swap(Some(300), Some(100)).is_err());
    }

    #[test]
    fn values() {
        assert_eq!(v2_bytes(-1), "max");
        assert_eq!(v1_bytes(-5), "-1");
        assert_eq!(pids_value(0), None);
        assert_eq!(pids_value(-1).as_deref(), Some("max"));
        assert_eq!(pids_value(32).as_deref(), Some("32"));
        assert_eq!(
            cpu_max(Some(50_000), None, "max 100000").as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max(None, Some(20_000), "5000 100000").as_deref(),
            Some("5000 20000")
        );
        assert_eq!(
            cpu_max(Some(-1), Some(10_000), "").as_deref(),
            Some("max 10000")
        );
        assert_eq!(cpu_max(None, None, "max 100000"), None);
    }

    #[test]
    fn names() {
        assert!(hugepage_size("2MB").is_ok());
        assert!(hugepage_size("1GB").is_ok());
        assert!(hugepage_size("2M").is_err());
        assert!(hugepage_size("../x").is_err());
        assert!(hugepage_size("MB").is_err());
        assert_eq!(
            rdma_line("mlx4_0", Some(2), None).unwrap(),
            "mlx4_0 hca_handle=2 hca_object=max"
        );
        assert!(rdma_line("a b", None, None).is_err());
        assert!(unified_key("memory.max").is_ok());
        assert!(unified_key("../memory.max").is_err());
        assert!(unified_key("cgroup.procs").is_err());
        assert!(unified_key("x").is_err());
    }
}
