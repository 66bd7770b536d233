//! Pure planning of the container's root filesystem: config mounts, devices, masks.

use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxDeviceType, LinuxNamespaceType, Mount, Spec};

use crate::host_facts::HostFacts;
use crate::mountinfo::MountInfo;

/// `mount_setattr(2)` attribute bits (linux/mount.h), also used as `fsmount(2)` attr flags.
pub mod attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x0;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x20_0000;
}

/// Files in /proc that a config may bind over (lxcfs-style setups); nothing else in /proc.
pub const PROC_BIND_FILES: [&str; 8] = [
    "cpuinfo",
    "diskstats",
    "loadavg",
    "meminfo",
    "slabinfo",
    "stat",
    "swaps",
    "uptime",
];

/// `MS_NOSYMFOLLOW`, which nix does not name.
pub const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RootfsPlanError {
    #[error("root.path {path:?} is not absolute")]
    RootfsNotAbsolute { path: PathBuf },
    #[error("mounts: destination {dst:?} is not absolute")]
    RelativeDestination { dst: PathBuf },
    #[error("mounts: bind mount on {dst:?} has no source")]
    MissingSource { dst: PathBuf },
    #[error("mounts: mount on {dst:?} has no type")]
    MissingType { dst: PathBuf },
    #[error("mounts: {option:?} on {dst:?}: only a bind mount can be id-mapped")]
    IdmapNotBind { dst: PathBuf, option: &'static str },
    #[error("mounts: {option:?} on {dst:?}: no uidMappings/gidMappings on the mount and no user namespace mappings in linux")]
    IdmapNoMappings { dst: PathBuf, option: &'static str },
    #[error("mounts: uidMappings/gidMappings on {dst:?} need both, and the option \"idmap\" or \"ridmap\"")]
    IdmapMappingsAlone { dst: PathBuf },
    #[error("mounts: {fstype:?} on \"/proc\": only procfs (type \"proc\", or a bind of a procfs) may be mounted over /proc")]
    NotProcOverProc { fstype: String },
    #[error("mounts: {dst:?} is inside /proc, where only binds onto /proc/{{cpuinfo,diskstats,loadavg,meminfo,slabinfo,stat,swaps,uptime}} are allowed")]
    InsideProc { dst: PathBuf },
    #[error("linux.rootfsPropagation: invalid value {value:?}")]
    InvalidRootfsPropagation { value: String },
    #[error("linux.devices: path {path:?} is not absolute")]
    RelativeDevicePath { path: PathBuf },
    #[error("linux.devices: device {path:?} has type \"a\", which only cgroup rules may use")]
    InvalidDeviceType { path: PathBuf },
    #[error("linux.{field}: path {path:?} is not absolute")]
    RelativeMaskPath { field: &'static str, path: String },
}

/// A `mount_setattr` change: bits to set and bits to clear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountAttr {
    pub set: u64,
    pub clr: u64,
}

impl MountAttr {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clr == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// Clone of a host path (open_tree); `recursive` for rbind.
    Bind { recursive: bool },
    /// The container's cgroup hierarchies (fresh with a cgroup ns, host binds without).
    Cgroup,
    /// A new filesystem instance of `fstype` (fsopen).
    Fresh,
}

/// An id-mapped bind: the maps ("container host size" lines, as a user namespace takes them:
/// a file owned by `container` on disk shows as `host`), and whether submounts are mapped too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdmapPlan {
    pub uid_map: String,
    pub gid_map: String,
    pub recursive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    /// Source as written in the config, for messages and for fresh mounts.
    pub source: String,
    /// Host path for binds: absolute, relative ones joined to the bundle.
    pub bind_source: Option<PathBuf>,
    /// Absolute path inside the container.
    pub destination: PathBuf,
    pub fstype: String,
    pub kind: MountKind,
    /// Classic mount(2) flags after every set/clear option, propagation excluded.
    pub flags: MsFlags,
    /// Attributes for the top mount: fresh mounts get all, binds only the explicit ones.
    pub attr: MountAttr,
    /// Attributes applied with AT_RECURSIVE (rro, rnosuid, ...).
    pub rec_attr: MountAttr,
    /// Propagation changes in config order, each possibly with MS_REC.
    pub propagation: Vec<MsFlags>,
    /// Filesystem options (comma separated), unknown options included as runc does.
    pub data: String,
    /// The option list has "remount": change attributes of what is already there.
    pub remount: bool,
    /// Gets `context="<mountLabel>"` when SELinux is enabled.
    pub label: bool,
    /// "idmap"/"ridmap": brick opens the source before the clone and id-maps it.
    pub idmap: Option<IdmapPlan>,
}

impl MountPlan {
    pub fn is_bind(&self) -> bool {
        matches!(self.kind, MountKind::Bind { .. })
    }

    /// Data with the SELinux mount label appended when one applies.
    pub fn data_with_label(&self, label: Option<&str>) -> String {
        match label {
            Some(l) if self.label && !l.is_empty() => {
                let ctx = format!("context=\"{l}\"");
                if self.data.is_empty() {
                    ctx
                } else {
                    format!("{},{ctx}", self.data)
                }
            }
            _ => self.data.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
    Fifo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    /// Absolute path inside the container (also the host path bound in a user ns).
    pub path: PathBuf,
    pub kind: DeviceKind,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsPlan {
    /// Absolute host path of the rootfs (the lead passes it canonical).
    pub rootfs: PathBuf,
    pub readonly: bool,
    /// Propagation set on the host "/" copy first (rslave unless rootfsPropagation says).
    pub root_propagation: MsFlags,
    /// linux.rootfsPropagation, applied to the new "/" at the end.
    pub rootfs_propagation: Option<MsFlags>,
    pub mounts: Vec<MountPlan>,
    /// Create devices and /dev symlinks (false when the config bind-mounts /dev).
    pub setup_dev: bool,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub no_pivot: bool,
    pub mount_label: Option<String>,
    /// Devices are bind-mounted from the host, because mknod is refused in a user ns.
    pub user_ns: bool,
    pub cgroup_ns: bool,
    /// The host's cgroup hierarchies, for a "cgroup" mount (empty when the config has none).
    pub cgroup_mounts: Vec<MountInfo>,
    /// /sys/fs/cgroup on the host is cgroup2 itself.
    pub cgroup2_root: bool,
    /// The host mount holding the rootfs, made private when "/" is shared (pivot_root needs it).
    pub rootfs_parent: Option<PathBuf>,
}

/// Decide everything about the rootfs; `bundle` anchors relative bind sources.
pub fn plan_rootfs(
    spec: &Spec,
    bundle: &Path,
    rootfs: &Path,
    no_pivot: bool,
    host: &HostFacts,
) -> Result<RootfsPlan, RootfsPlanError> {
    if !rootfs.is_absolute() {
        return Err(RootfsPlanError::RootfsNotAbsolute {
            path: rootfs.to_path_buf(),
        });
    }
    let linux = spec.linux().as_ref();
    let has_ns = |t: LinuxNamespaceType| {
        linux
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|ns| ns.iter().any(|n| n.typ() == t))
    };
    let mounts = spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| plan_mount_mapped(m, bundle, linux))
        .collect::<Result<Vec<_>, _>>()?;
    mounts.iter().try_for_each(check_proc)?;
    let rootfs_propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|v| !v.is_empty())
        .map(|v| {
            propagation_flag(v).ok_or_else(|| RootfsPlanError::InvalidRootfsPropagation {
                value: v.to_string(),
            })
        })
        .transpose()?;
    let setup_dev = !mounts
        .iter()
        .any(|m| m.is_bind() && m.destination == Path::new("/dev"));
    let mut devices = default_devices();
    for d in linux
        .and_then(|l| l.devices().as_deref())
        .unwrap_or_default()
    {
        let dev = plan_device(d)?;
        devices.retain(|x| x.path != dev.path);
        devices.push(dev);
    }
    let root_propagation = match rootfs_propagation {
        // An unbindable "/" could not be bound onto itself: finalize() applies it after the pivot.
        Some(f) if f.contains(MsFlags::MS_UNBINDABLE) => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        Some(f) => f,
        None => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    let has_cgroup_mount = mounts.iter().any(|m| m.kind == MountKind::Cgroup);
    Ok(RootfsPlan {
        rootfs: rootfs.to_path_buf(),
        readonly: spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        root_propagation,
        rootfs_propagation,
        mounts,
        setup_dev,
        devices,
        masked_paths: abs_paths(
            "maskedPaths",
            linux.and_then(|l| l.masked_paths().as_deref()),
        )?,
        readonly_paths: abs_paths(
            "readonlyPaths",
            linux.and_then(|l| l.readonly_paths().as_deref()),
        )?,
        no_pivot,
        mount_label: linux
            .and_then(|l| l.mount_label().clone())
            .filter(|l| !l.is_empty()),
        user_ns: has_ns(LinuxNamespaceType::User),
        cgroup_ns: has_ns(LinuxNamespaceType::Cgroup),
        cgroup_mounts: match has_cgroup_mount {
            true => host.cgroup_mounts(),
            false => Vec::new(),
        },
        cgroup2_root: host.cgroup2_root,
        rootfs_parent: match root_propagation.contains(MsFlags::MS_SHARED) {
            true => host.mount_point_of(rootfs).map(Path::to_path_buf),
            false => None,
        },
    })
}

fn abs_paths(
    field: &'static str,
    list: Option<&[String]>,
) -> Result<Vec<PathBuf>, RootfsPlanError> {
    list.unwrap_or_default()
        .iter()
        .map(|p| {
            if Path::new(p).is_absolute() {
                Ok(PathBuf::from(p))
            } else {
                Err(RootfsPlanError::RelativeMaskPath {
                    field,
                    path: p.clone(),
                })
            }
        })
        .collect()
}

/// Drop "." and repeated slashes; ".." is kept for the in-root resolver to handle.
fn clean_destination(dst: &Path) -> PathBuf {
    dst.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// "container host size" lines, as a user namespace's uid_map takes them.
fn map_lines(maps: &[oci_spec::runtime::LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// plan_mount, then the id map of an "idmap"/"ridmap" bind: the mount's own mappings, else
/// the container's user namespace mappings (runtime-spec 1.2).
fn plan_mount_mapped(
    m: &Mount,
    bundle: &Path,
    linux: Option<&oci_spec::runtime::Linux>,
) -> Result<MountPlan, RootfsPlanError> {
    let mut p = plan_mount(m, bundle)?;
    let dst = p.destination.clone();
    let opts = m.options().as_deref().unwrap_or_default();
    let option = match (
        opts.iter().any(|o| o == "ridmap"),
        opts.iter().any(|o| o == "idmap"),
    ) {
        (true, _) => Some("ridmap"),
        (false, true) => Some("idmap"),
        _ => None,
    };
    let own = (m.uid_mappings().as_deref(), m.gid_mappings().as_deref());
    let Some(option) = option else {
        if own.0.is_some() || own.1.is_some() {
            return Err(RootfsPlanError::IdmapMappingsAlone { dst });
        }
        return Ok(p);
    };
    if !p.is_bind() {
        return Err(RootfsPlanError::IdmapNotBind { dst, option });
    }
    let (uids, gids) = match own {
        (Some(u), Some(g)) => (u, g),
        (None, None) => (
            linux
                .and_then(|l| l.uid_mappings().as_deref())
                .unwrap_or_default(),
            linux
                .and_then(|l| l.gid_mappings().as_deref())
                .unwrap_or_default(),
        ),
        _ => return Err(RootfsPlanError::IdmapMappingsAlone { dst }),
    };
    if uids.is_empty() || gids.is_empty() {
        return Err(RootfsPlanError::IdmapNoMappings { dst, option });
    }
    p.idmap = Some(IdmapPlan {
        uid_map: map_lines(uids),
        gid_map: map_lines(gids),
        recursive: option == "ridmap",
    });
    Ok(p)
}

/// Plan one entry of config.json `mounts`.
pub fn plan_mount(m: &Mount, bundle: &Path) -> Result<MountPlan, RootfsPlanError> {
    let dst = m.destination();
    if !dst.is_absolute() {
        return Err(RootfsPlanError::RelativeDestination { dst: dst.clone() });
    }
    let destination = clean_destination(dst);
    let options = m.options().as_deref().unwrap_or_default();
    let parsed = parse_options(options)?;
    let fstype = m.typ().clone().unwrap_or_default();
    let kind = if parsed.bind.is_some() || fstype == "bind" {
        MountKind::Bind {
            recursive: parsed.bind.unwrap_or(false),
        }
    } else if fstype == "cgroup" || fstype == "cgroup2" {
        MountKind::Cgroup
    } else if fstype.is_empty() && !parsed.remount {
        return Err(RootfsPlanError::MissingType { dst: destination });
    } else {
        MountKind::Fresh
    };
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bind_source = match kind {
        MountKind::Bind { .. } => {
            let src = m.source().as_ref().filter(|s| !s.as_os_str().is_empty());
            let src = src.ok_or_else(|| RootfsPlanError::MissingSource {
                dst: destination.clone(),
            })?;
            Some(if src.is_absolute() {
                src.clone()
            } else {
                bundle.join(src)
            })
        }
        _ => None,
    };
    let is_bind = bind_source.is_some();
    let attr = if is_bind {
        parsed.explicit_attr()
    } else {
        parsed.full_attr()
    };
    Ok(MountPlan {
        source,
        bind_source,
        destination,
        // Not mqueue: its superblock is the IPC namespace's own, already made without
        // context=, so the kernel refuses one (EINVAL); the rootfs step labels its root instead.
        label: !is_bind && matches!(fstype.as_str(), "tmpfs" | "devpts"),
        idmap: None,
        fstype,
        kind,
        flags: parsed.flags,
        attr,
        rec_attr: parsed.rec_attr,
        propagation: parsed.propagation,
        data: parsed.data.join(","),
        remount: parsed.remount,
    })
}

/// What a config may mount at or inside /proc (the resolved target is checked again in the
/// child, where an image symlink could aim another destination there).
fn check_proc(m: &MountPlan) -> Result<(), RootfsPlanError> {
    let proc = Path::new("/proc");
    let Ok(rel) = m.destination.strip_prefix(proc) else {
        return Ok(());
    };
    // A remount changes the flags of what is there already (procfs stays procfs).
    if m.remount {
        return Ok(());
    }
    if rel.as_os_str().is_empty() {
        return match (&m.kind, m.fstype.as_str()) {
            (MountKind::Fresh, "proc") | (MountKind::Bind { .. }, _) => Ok(()),
            _ => Err(RootfsPlanError::NotProcOverProc {
                fstype: m.fstype.clone(),
            }),
        };
    }
    match m.is_bind() && PROC_BIND_FILES.iter().any(|f| rel == Path::new(f)) {
        true => Ok(()),
        false => Err(RootfsPlanError::InsideProc {
            dst: m.destination.clone(),
        }),
    }
}

fn default_devices() -> Vec<DevicePlan> {
    let dev = |name: &str, major, minor| DevicePlan {
        path: PathBuf::from("/dev").join(name),
        kind: DeviceKind::Char,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    };
    vec![
        dev("null", 1, 3),
        dev("zero", 1, 5),
        dev("full", 1, 7),
        dev("random", 1, 8),
        dev("urandom", 1, 9),
        dev("tty", 5, 0),
    ]
}

fn plan_device(d: &oci_spec::runtime::LinuxDevice) -> Result<DevicePlan, RootfsPlanError> {
    let path = d.path();
    if !path.is_absolute() {
        return Err(RootfsPlanError::RelativeDevicePath { path: path.clone() });
    }
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
        LinuxDeviceType::B => DeviceKind::Block,
        LinuxDeviceType::P => DeviceKind::Fifo,
        LinuxDeviceType::A => {
            return Err(RootfsPlanError::InvalidDeviceType { path: path.clone() })
        }
    };
    Ok(DevicePlan {
        path: clean_destination(path),
        kind,
        // Negative numbers are invalid; -1 style wildcards make no sense for a node.
        major: u64::try_from(d.major()).unwrap_or(0),
        minor: u64::try_from(d.minor()).unwrap_or(0),
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

#[path = "rootfs_options.rs"]
mod options;
use options::propagation_flag;
pub use options::{parse_options, ParsedOptions};

#[cfg(test)]
#[path = "rootfs_tests.rs"]
mod tests;
