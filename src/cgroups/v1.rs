//! Apply linux.resources to v1 controller directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources, LinuxThrottleDevice};

use super::conv::{hugepage_size, pids_value, rdma_line, v1_bytes};
use super::fsio::{has_file, read_file, read_u64, write_file};
use super::CgroupError;

type Dirs = BTreeMap<String, PathBuf>;

/// The directory of `controller`, or an error naming the resource that needs it.
fn ctl<'a>(
    dirs: &'a Dirs,
    controller: &'static str,
    resource: &'static str,
) -> Result<&'a Path, CgroupError> {
    dirs.get(controller)
        .map(PathBuf::as_path)
        .ok_or(CgroupError::ControllerMissing {
            controller,
            resource,
        })
}

/// Write every resource the spec sets (devices and unified are handled by the caller).
pub fn apply(dirs: &Dirs, res: &LinuxResources, update: bool) -> Result<(), CgroupError> {
    if let Some(m) = res.memory() {
        memory(ctl(dirs, "memory", "memory")?, m, update)?;
    }
    if let Some(c) = res.cpu() {
        cpu(dirs, c)?;
    }
    if let Some(p) = res.pids() {
        if let Some(v) = pids_value(p.limit()) {
            write_file(ctl(dirs, "pids", "pids")?, "pids.max", &v)?;
        }
    }
    if let Some(b) = res.block_io() {
        blkio(dirs, b)?;
    }
    for h in res.hugepage_limits().iter().flatten() {
        let size = hugepage_size(h.page_size())?;
        let dir = ctl(dirs, "hugetlb", "hugepageLimits")?;
        write_file(
            dir,
            &format!("hugetlb.{size}.limit_in_bytes"),
            &v1_bytes(h.limit()),
        )?;
    }
    if let Some(n) = res.network() {
        // Network tagging is not a limit: hosts without net_cls/net_prio skip it (runc 1.1.5 refuses).
        if let (Some(id), Some(dir)) = (n.class_id(), dirs.get("net_cls")) {
            write_file(dir, "net_cls.classid", &id.to_string())?;
        }
        if let Some(dir) = dirs.get("net_prio") {
            for p in n.priorities().iter().flatten() {
                write_file(
                    dir,
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
    }
    for (dev, r) in res.rdma().iter().flatten() {
        let line = rdma_line(dev, r.hca_handles(), r.hca_objects())?;
        write_file(ctl(dirs, "rdma", "rdma")?, "rdma.max", &line)?;
    }
    Ok(())
}

fn memory(dir: &Path, m: &LinuxMemory, update: bool) -> Result<(), CgroupError> {
    if let (true, Some(true), Some(limit)) = (update, m.check_before_update(), m.limit()) {
        check_usage(dir, limit, "memory.usage_in_bytes")?;
    }
    // As in runc, a 0 limit or reservation means "not set", not "no memory at all".
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        write_file(dir, "memory.soft_limit_in_bytes", &v1_bytes(r))?;
    }
    limit_and_swap(dir, m.limit().filter(|l| *l != 0), m.swap())?;
    // Kernel memory limits are deprecated; newer kernels drop the files or refuse the write.
    for (val, file) in [
        (m.kernel(), "memory.kmem.limit_in_bytes"),
        (m.kernel_tcp(), "memory.kmem.tcp.limit_in_bytes"),
    ] {
        if let Some(v) = val {
            if has_file(dir, file) {
                match write_file(dir, file, &v1_bytes(v)) {
                    Err(CgroupError::Write { source, .. })
                        if source.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
                    other => other?,
                }
            }
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::InvalidValue {
                what: "memory.swappiness",
                value: s.to_string(),
                reason: "must be 0..100",
            });
        }
        write_file(dir, "memory.swappiness", &s.to_string())?;
    }
    if let Some(d) = m.disable_oom_killer() {
        write_file(dir, "memory.oom_control", if d { "1" } else { "0" })?;
    }
    if let Some(h) = m.use_hierarchy() {
        let want = if h { "1" } else { "0" };
        // Newer kernels only accept the value they already have; skip the no-op write.
        if read_file(dir, "memory.use_hierarchy")? != want {
            write_file(dir, "memory.use_hierarchy", want)?;
        }
    }
    Ok(())
}

/// checkBeforeUpdate: refuse a new limit below what the cgroup already uses.
pub fn check_usage(dir: &Path, limit: i64, usage_file: &str) -> Result<(), CgroupError> {
    if limit > 0 && read_u64(dir, usage_file)? > limit as u64 {
        return Err(CgroupError::InvalidValue {
            what: "memory.limit",
            value: limit.to_string(),
            reason: "below the cgroup's current memory usage (checkBeforeUpdate)",
        });
    }
    Ok(())
}

/// The kernel keeps limit <= memsw, so the order of the two writes depends on the direction.
fn limit_and_swap(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<(), CgroupError> {
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    let swap = swap.filter(|s| *s != 0);
    let Some(swap) = swap else {
        if let Some(l) = limit {
            write_file(dir, "memory.limit_in_bytes", &v1_bytes(l))?;
        }
        return Ok(());
    };
    if !has_file(dir, MEMSW) {
        if swap < 0 {
            // Unlimited swap is what a host without swap accounting gives anyway.
            if let Some(l) = limit {
                write_file(dir, "memory.limit_in_bytes", &v1_bytes(l))?;
            }
            return Ok(());
        }
        return Err(CgroupError::ControllerMissing {
            controller: "memory (swap accounting)",
            resource: "memory.swap",
        });
    }
    let cur_memsw = read_u64(dir, MEMSW)?;
    let raising = swap < 0 || swap as u64 > cur_memsw;
    if raising {
        write_file(dir, MEMSW, &v1_bytes(swap))?;
    }
    if let Some(l) = limit {
        write_file(dir, "memory.limit_in_bytes", &v1_bytes(l))?;
    }
    if !raising {
        write_file(dir, MEMSW, &v1_bytes(swap))?;
    }
    Ok(())
}

fn cpu(dirs: &Dirs, c: &LinuxCpu) -> Result<(), CgroupError> {
    let needs_cpu = c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.realtime_period().is_some()
        || c.realtime_runtime().is_some()
        || c.idle().is_some();
    if needs_cpu {
        let dir = ctl(dirs, "cpu", "cpu")?;
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            write_file(dir, "cpu.shares", &s.to_string())?;
        }
        cfs(dir, c)?;
        if let Some(b) = c.burst() {
            write_file(dir, "cpu.cfs_burst_us", &b.to_string())?;
        }
        if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
            write_file(dir, "cpu.rt_period_us", &p.to_string())?;
        }
        if let Some(r) = c.realtime_runtime() {
            write_file(dir, "cpu.rt_runtime_us", &r.to_string())?;
        }
        if let Some(i) = c.idle() {
            write_file(dir, "cpu.idle", &i.to_string())?;
        }
    }
    let cpus = c.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = c.mems().as_deref().filter(|s| !s.is_empty());
    if cpus.is_some() || mems.is_some() {
        let dir = ctl(dirs, "cpuset", "cpu.cpus/cpu.mems")?;
        if let Some(v) = cpus {
            write_file(dir, "cpuset.cpus", v)?;
        }
        if let Some(v) = mems {
            write_file(dir, "cpuset.mems", v)?;
        }
    }
    Ok(())
}

/// The kernel checks quota against the current period, so a period it refuses is retried last.
fn cfs(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    let period = c.period().filter(|p| *p != 0).map(|p| p.to_string());
    let mut retry = None;
    if let Some(p) = &period {
        match write_file(dir, "cpu.cfs_period_us", p) {
            Err(CgroupError::Write { source, .. })
                if source.raw_os_error() == Some(libc::EINVAL) =>
            {
                retry = Some(p)
            }
            other => other?,
        }
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        write_file(dir, "cpu.cfs_quota_us", &v1_bytes(q))?;
    }
    if let Some(p) = retry {
        write_file(dir, "cpu.cfs_period_us", p)?;
    }
    Ok(())
}

fn blkio(dirs: &Dirs, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let dir = ctl(dirs, "blkio", "blockIO")?;
    // CFQ named the files blkio.weight*, BFQ names them blkio.bfq.weight*.
    let weight_file = |plain: &'static str, bfq: &'static str| {
        if has_file(dir, plain) || !has_file(dir, bfq) {
            plain
        } else {
            bfq
        }
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        write_file(
            dir,
            weight_file("blkio.weight", "blkio.bfq.weight"),
            &w.to_string(),
        )?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        write_file(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let file = weight_file("blkio.weight_device", "blkio.bfq.weight_device");
            write_file(dir, file, &format!("{}:{} {}", d.major(), d.minor(), w))?;
        }
        if let Some(w) = d.leaf_weight() {
            write_file(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {}", d.major(), d.minor(), w),
            )?;
        }
    }
    let throttles: [(&Option<Vec<LinuxThrottleDevice>>, &str); 4] = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
        ),
    ];
    for (list, file) in throttles {
        for d in list.iter().flatten() {
            write_file(
                dir,
                file,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            )?;
        }
    }
    Ok(())
}
