//! Container cgroups on v1, hybrid and v2 hosts: plan the path and rules, create, apply
//! linux.resources, add processes, freeze, signal, report stats and destroy.

pub mod bpf;
pub mod conv;
pub mod devices;
mod entry;
mod error;
pub mod freeze;
mod fsio;
pub mod layout;
pub mod path;
pub mod stats;
mod systemd;
pub mod systemd_devices;
pub mod systemd_props;
mod v1;
mod v2;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::thread::sleep;
use std::time::Duration;

use nix::sys::signal::Signal;
use oci_spec::runtime::{Linux, LinuxResources};
use serde::{Deserialize, Serialize};

pub use devices::DeviceRule;
pub use entry::Entry;
pub use error::CgroupError;
use freeze::Freezer;
use fsio::{mkdir_all, procs_recursive, read_file, remove_dirs, rmdir_tree, write_file};
pub use layout::{Layout, Mode};
pub use path::SystemdUnit;

/// The cgroup a container should get, resolved from the spec without side effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CgroupConfig {
    /// Path from each hierarchy's root, e.g. "/brick/ID".
    pub path: String,
    /// The systemd unit, when --systemd-cgroup is on (see Cgroup::systemd for who makes it).
    pub systemd_unit: Option<SystemdUnit>,
    pub resources: Option<LinuxResources>,
    /// Allow rules appended after the spec's device rules: defaults, then linux.devices.
    pub device_extra: Vec<DeviceRule>,
    /// Made by a rootless brick: a cgroup it may not write is done without (when nothing
    /// was asked of it), and device rules are left out (the user namespace has no devices).
    #[serde(default)]
    pub rootless: bool,
}

/// Resolve linux.cgroupsPath and check every resource value that can be checked statically.
pub fn plan(
    spec_linux: Option<&Linux>,
    id: &str,
    systemd: bool,
) -> Result<CgroupConfig, CgroupError> {
    let given = spec_linux.and_then(|l| l.cgroups_path().as_deref());
    let (path, systemd_unit) = path::resolve(given, id, systemd)?;
    let resources = spec_linux.and_then(|l| l.resources().clone());
    let mut device_extra = devices::default_allowed();
    let linux_devices = spec_linux.and_then(|l| l.devices().as_ref());
    device_extra.extend(
        linux_devices
            .into_iter()
            .flatten()
            .filter_map(devices::for_linux_device),
    );
    if let Some(r) = &resources {
        devices::build(r.devices().as_ref(), &device_extra)?;
        for h in r.hugepage_limits().iter().flatten() {
            conv::hugepage_size(h.page_size())?;
        }
        for k in r.unified().iter().flat_map(|u| u.keys()) {
            conv::unified_key(k)?;
        }
    }
    Ok(CgroupConfig {
        path,
        systemd_unit,
        resources,
        device_extra,
        rootless: false,
    })
}

/// The first resource linux.resources asks a cgroup for (device rules need none rootless:
/// a user namespace cannot make device nodes), as "memory", "cpu", ….
pub fn first_resource(r: Option<&LinuxResources>) -> Option<&'static str> {
    // An object with no field set (`"cpu": {}`, as some engines send) asks for nothing.
    fn asked<T: Serialize>(v: &Option<T>) -> bool {
        let empty = |j: &serde_json::Value| match j {
            serde_json::Value::Null => true,
            serde_json::Value::Object(m) => m.values().all(serde_json::Value::is_null),
            serde_json::Value::Array(a) => a.is_empty(),
            _ => false,
        };
        v.as_ref()
            .is_some_and(|x| serde_json::to_value(x).map_or(true, |j| !empty(&j)))
    }
    let r = r?;
    let set = [
        ("memory", asked(r.memory())),
        ("cpu", asked(r.cpu())),
        ("pids", asked(r.pids())),
        ("blockIO", asked(r.block_io())),
        ("hugepageLimits", asked(r.hugepage_limits())),
        ("network", asked(r.network())),
        ("rdma", asked(r.rdma())),
        ("unified", asked(r.unified())),
    ];
    set.into_iter().find(|(_, on)| *on).map(|(name, _)| name)
}

/// Whether `e` says this user may not make or write the cgroup (no delegation).
pub fn is_denied(e: &CgroupError) -> bool {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    let io = |s: &std::io::Error| {
        matches!(s.kind(), PermissionDenied | ReadOnlyFilesystem)
            || s.raw_os_error() == Some(libc::EPERM)
    };
    match e {
        CgroupError::Mkdir { source, .. } | CgroupError::Write { source, .. } => io(source),
        CgroupError::Open { source, .. } => {
            matches!(source, nix::errno::Errno::EACCES | nix::errno::Errno::EPERM)
        }
        _ => false,
    }
}

/// A container's cgroup: one directory per v1 controller and/or one cgroup2 directory.
/// Serializable so later commands can re-open it from state.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cgroup {
    pub path: String,
    pub mode: Mode,
    /// v1 controller ("memory", "name=systemd", …) → directory.
    pub v1: BTreeMap<String, PathBuf>,
    /// The cgroup2 directory; on hybrid hosts it holds the processes but no resources.
    pub v2: Option<PathBuf>,
    pub device_extra: Vec<DeviceRule>,
    /// The transient scope that owns this cgroup: set when systemd is PID 1 and the
    /// systemd driver is on; otherwise the cgroupfs driver makes the same path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<SystemdUnit>,
    /// Made rootless: no device rules (see CgroupConfig::rootless).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rootless: bool,
    /// Resources waiting for the scope, which systemd makes only once it has a pid (add_pid).
    #[serde(skip)]
    pending: RefCell<Option<LinuxResources>>,
}

impl Cgroup {
    /// Resolve the directories of `cfg` on this host without creating anything.
    pub fn load(cfg: &CgroupConfig) -> Result<Cgroup, CgroupError> {
        Ok(Cgroup::on(&Layout::detect()?, cfg))
    }

    fn on(layout: &Layout, cfg: &CgroupConfig) -> Cgroup {
        Cgroup {
            path: cfg.path.clone(),
            mode: layout.mode,
            v1: layout.v1_dirs(&cfg.path),
            v2: layout.v2_dir(&cfg.path),
            device_extra: cfg.device_extra.clone(),
            systemd: None,
            rootless: cfg.rootless,
            pending: RefCell::new(None),
        }
    }

    /// Make the directories in every hierarchy and apply the resources; on failure remove them.
    /// Under systemd nothing is made yet: the scope needs a pid, so add_pid makes it.
    pub fn create(cfg: &CgroupConfig) -> Result<Cgroup, CgroupError> {
        Cgroup::prepare(cfg, Layout::detect()?).make()
    }

    /// Where the cgroup will be on this host, with no side effect: its record can be saved
    /// before anything exists, so a create killed at any point leaves nothing unrecorded.
    pub fn prepare(cfg: &CgroupConfig, layout: Layout) -> Prepared<'_> {
        let mut cg = Cgroup::on(&layout, cfg);
        cg.systemd = systemd::choose(cfg.systemd_unit.as_ref());
        Prepared { cg, layout, cfg }
    }

    /// Makes what `prepare` planned (see create).
    fn make_on(&self, layout: &Layout, cfg: &CgroupConfig) -> Result<(), CgroupError> {
        if self.systemd.is_some() {
            self.check_empty(&[])?;
            let res = cfg.resources.clone().unwrap_or_default();
            systemd::check(self.mode, &res, &self.device_extra)?;
            *self.pending.borrow_mut() = Some(res);
            return Ok(());
        }
        let mut made = Vec::new();
        let res = self
            .make_dirs(&mut made)
            .and_then(|()| self.check_empty(&made))
            .and_then(|()| self.configure(layout, cfg.resources.as_ref()));
        if res.is_err() {
            remove_dirs(&made);
        }
        res
    }

    /// A directory that already existed must hold no process: a container needs its own.
    fn check_empty(&self, made: &[PathBuf]) -> Result<(), CgroupError> {
        for dir in self.dirs().into_iter().filter(|d| !made.contains(d)) {
            let mut pids = Vec::new();
            procs_recursive(&dir, &mut pids)?;
            if !pids.is_empty() {
                return Err(CgroupError::NotEmpty { path: dir });
            }
        }
        Ok(())
    }

    fn make_dirs(&self, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            made.extend(mkdir_all(&dir)?);
        }
        Ok(())
    }

    fn configure(
        &self,
        layout: &Layout,
        resources: Option<&LinuxResources>,
    ) -> Result<(), CgroupError> {
        if let Some(leaf) = self.v1.get("cpuset") {
            // A new v1 cpuset has no cpus or mems, and tasks cannot join it until it has.
            fill_cpuset(leaf)?;
        }
        // Under systemd too: Delegate=yes turns on only what systemd delegates (not hugetlb,
        // rdma, misc), so the rest are turned on down to the scope, as runc does.
        if let (Mode::V2, Some((mount, _)), Some(leaf)) = (self.mode, &layout.unified, &self.v2) {
            v2::enable_controllers(mount, leaf)?;
        }
        match resources {
            Some(r) => self.apply(r, false),
            None => self.apply(&LinuxResources::default(), false),
        }
    }

    fn apply(&self, res: &LinuxResources, update: bool) -> Result<(), CgroupError> {
        match (self.mode, &self.v2) {
            (Mode::V2, Some(dir)) => v2::apply(dir, res, update)?,
            _ => v1::apply(&self.v1, res, update)?,
        }
        if !self.rootless && (!update || res.devices().is_some()) {
            let rules = devices::build(res.devices().as_ref(), &self.device_extra)?;
            match (self.mode, &self.v2, self.v1.get("devices")) {
                (Mode::V2, Some(dir), _) => bpf::apply(dir, &rules)?,
                (_, _, Some(dir)) => devices::apply_v1(dir, &rules)?,
                // A v1 host without the devices controller has nothing to enforce them with.
                _ => {}
            }
        }
        if let Some(map) = res.unified().as_ref().filter(|m| !m.is_empty()) {
            match &self.v2 {
                Some(dir) => v2::unified(dir, map)?,
                None => {
                    let key = map.keys().min().cloned().unwrap_or_default();
                    return Err(CgroupError::UnifiedNeedsV2 { key });
                }
            }
        }
        Ok(())
    }

    /// What state.json keeps, for later commands to re-open it (Cgroup::deserialize).
    pub fn record(&self) -> serde_json::Value {
        // Plain strings and maps: serializing cannot fail; Null would read as "no record".
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Every distinct directory of this cgroup (controllers can share a hierarchy).
    pub fn dirs(&self) -> Vec<PathBuf> {
        let set: BTreeSet<&PathBuf> = self.v1.values().chain(self.v2.iter()).collect();
        set.into_iter().cloned().collect()
    }

    /// Move `pid` into this cgroup in every hierarchy. Under systemd the first call starts the
    /// scope with `pid` in it, then makes what systemd does not (other v1 hierarchies) and
    /// applies the resources through cgroupfs on the scope's directories.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        let pending = self.pending.borrow_mut().take();
        if let (Some(unit), Some(res)) = (&self.systemd, pending) {
            systemd::start(unit, self.mode, pid, &self.path, &res, &self.device_extra)?;
            self.make_dirs(&mut Vec::new())?;
            self.configure(&Layout::detect()?, Some(&res))?;
        }
        for dir in self.dirs() {
            write_file(&dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// The directory whose cgroup.procs lists the container's processes.
    fn procs_dir(&self) -> Option<&PathBuf> {
        match self.mode {
            Mode::V2 => self.v2.as_ref(),
            _ => ["freezer", "memory", "pids"]
                .iter()
                .find_map(|c| self.v1.get(*c))
                .or_else(|| self.v1.values().next())
                .or(self.v2.as_ref()),
        }
    }

    /// Pids of every process in the cgroup and its sub-cgroups.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut out = Vec::new();
        if let Some(dir) = self.procs_dir() {
            procs_recursive(dir, &mut out)?;
        }
        Ok(out)
    }

    fn freezer(&self) -> Option<Freezer<'_>> {
        match (self.mode, self.v1.get("freezer"), &self.v2) {
            (Mode::V2, _, Some(d)) => Some(Freezer::V2(d)),
            (_, Some(d), _) => Some(Freezer::V1(d)),
            (_, None, Some(d)) => Some(Freezer::V2(d)),
            _ => None,
        }
    }

    /// Freeze every process and wait until the kernel reports them frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.freezer().ok_or(CgroupError::NoFreezer)?.freeze()
    }

    /// Thaw every process and wait until the kernel reports them running.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.freezer().ok_or(CgroupError::NoFreezer)?.thaw()
    }

    /// Whether the cgroup is paused.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        self.freezer().ok_or(CgroupError::NoFreezer)?.is_frozen()
    }

    /// Send `sig` to every process in the cgroup (see freeze::kill_all for how none escape).
    pub fn kill_all(&self, sig: i32) -> Result<(), CgroupError> {
        let sig = Signal::try_from(sig).map_err(|_| CgroupError::InvalidValue {
            what: "signal",
            value: sig.to_string(),
            reason: "not a signal number",
        })?;
        // No directory, no process in it: a create killed before it made the cgroup.
        let Some(dir) = self.procs_dir().filter(|d| d.exists()) else {
            return Ok(());
        };
        freeze::kill_all(dir, self.freezer(), self.v2.as_deref(), sig)
    }

    /// Apply new resources to a running container (brick update).
    pub fn update(&self, res: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(unit) = &self.systemd {
            systemd::update(unit, self.mode, res, &self.device_extra)?;
        }
        self.apply(res, true)
    }

    /// Resource usage in the shape of runc's `events --stats` "data" object.
    pub fn stats(&self) -> Result<serde_json::Value, CgroupError> {
        if let Some(dir) = self.procs_dir() {
            read_file(dir, "cgroup.procs")?;
        }
        Ok(match (self.mode, &self.v2) {
            (Mode::V2, Some(dir)) => stats::v2(dir),
            _ => stats::v1(&self.v1),
        })
    }

    /// SIGKILL whatever is left, wait until empty, then remove every directory; idempotent.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut dirs = self.dirs();
        // Usually empty and without sub-cgroups: the kernel's rmdir is the check (EBUSY if
        // not). The first that is busy sends it and the rest down the kill-and-wait path.
        if self.systemd.is_none() {
            let gone = dirs.iter().take_while(|d| fsio::rmdir_if_idle(d)).count();
            dirs.drain(..gone);
            if dirs.is_empty() {
                return Ok(());
            }
        }
        // A missing directory reads as no pids and removes as done (delete is idempotent).
        if !self.pids()?.is_empty() {
            self.kill_all(libc::SIGKILL)?;
            self.wait_empty()?;
        }
        if let Some(unit) = &self.systemd {
            // The scope is empty now; stopping it releases the name. Without D-Bus the
            // container must still be deletable, so this only warns.
            if let Err(e) = systemd::stop(unit) {
                crate::log::warn(&crate::error::chain(&e));
            }
        }
        for dir in &dirs {
            rmdir_tree(dir)?;
        }
        Ok(())
    }

    /// Wait for killed processes to leave; re-signal by pid in case some sat outside cgroup2.
    fn wait_empty(&self) -> Result<(), CgroupError> {
        for i in 0..500 {
            let pids = self.pids()?;
            if pids.is_empty() {
                return Ok(());
            }
            if i % 50 == 49 {
                for pid in pids {
                    let _ =
                        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            sleep(Duration::from_millis(10));
        }
        Err(CgroupError::Timeout {
            op: "empty",
            path: self.procs_dir().cloned().unwrap_or_default(),
        })
    }
}

/// A cgroup resolved on this host but not made yet.
pub struct Prepared<'a> {
    cg: Cgroup,
    layout: Layout,
    cfg: &'a CgroupConfig,
}

impl Prepared<'_> {
    /// What state.json keeps, written before the directories exist.
    pub fn record(&self) -> serde_json::Value {
        self.cg.record()
    }

    /// Makes the directories and applies the resources (removing them again on failure).
    pub fn make(self) -> Result<Cgroup, CgroupError> {
        self.cg.make_on(&self.layout, self.cfg)?;
        Ok(self.cg)
    }
}

/// Give an empty v1 cpuset its parent's cpus and mems, filling empty ancestors first: a
/// parallel create may have made a shared parent and not yet filled it.
fn fill_cpuset(dir: &std::path::Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        fill_from_parent(dir, file)?;
    }
    Ok(())
}

fn fill_from_parent(dir: &std::path::Path, file: &str) -> Result<String, CgroupError> {
    let own = read_file(dir, file)?;
    let Some(parent) = dir.parent().filter(|_| own.is_empty()) else {
        return Ok(own);
    };
    let value = fill_from_parent(parent, file)?;
    write_file(dir, file, &value)?;
    Ok(value)
}

#[cfg(test)]
mod tests;
