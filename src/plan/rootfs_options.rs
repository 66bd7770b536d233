//! Parsing of a mount's fstab-style option list into flags, attributes and data (runc's rules).

use nix::mount::MsFlags;

use super::{attr, MountAttr, RootfsPlanError, MS_NOSYMFOLLOW};

/// The result of reading one mount's option list, in order, last word wins.
#[derive(Debug)]
pub struct ParsedOptions {
    pub flags: MsFlags,
    /// Flags an option explicitly cleared ("rw", "suid", ...).
    pub cleared: MsFlags,
    pub atime_explicit: bool,
    /// Some(recursive) when "bind"/"rbind" is present.
    pub bind: Option<bool>,
    pub remount: bool,
    pub propagation: Vec<MsFlags>,
    pub rec_attr: MountAttr,
    pub data: Vec<String>,
}

impl Default for ParsedOptions {
    fn default() -> Self {
        Self {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            atime_explicit: false,
            bind: None,
            remount: false,
            propagation: Vec::new(),
            rec_attr: MountAttr::default(),
            data: Vec::new(),
        }
    }
}

const ATIME_FLAGS: MsFlags = MsFlags::MS_NOATIME
    .union(MsFlags::MS_RELATIME)
    .union(MsFlags::MS_STRICTATIME);

impl ParsedOptions {
    /// Attribute bits that correspond to the per-mount part of `flags`.
    fn per_mount(flags: MsFlags) -> u64 {
        let table = [
            (MsFlags::MS_RDONLY, attr::RDONLY),
            (MsFlags::MS_NOSUID, attr::NOSUID),
            (MsFlags::MS_NODEV, attr::NODEV),
            (MsFlags::MS_NOEXEC, attr::NOEXEC),
            (MsFlags::MS_NODIRATIME, attr::NODIRATIME),
            (MS_NOSYMFOLLOW, attr::NOSYMFOLLOW),
        ];
        table
            .iter()
            .filter(|(f, _)| flags.contains(*f))
            .fold(0, |acc, (_, a)| acc | a)
    }

    /// The atime mode mount(2) would pick: noatime, else strictatime, else relatime.
    fn atime(&self) -> u64 {
        if self.flags.contains(MsFlags::MS_NOATIME) {
            attr::NOATIME
        } else if self.flags.contains(MsFlags::MS_STRICTATIME) {
            attr::STRICTATIME
        } else {
            attr::RELATIME
        }
    }

    /// Everything, for a new mount (fsmount attr flags).
    pub fn full_attr(&self) -> MountAttr {
        MountAttr {
            set: Self::per_mount(self.flags) | self.atime(),
            clr: 0,
        }
    }

    /// Only what the options asked for, for a bind (whose flags come from its source).
    pub fn explicit_attr(&self) -> MountAttr {
        let mut a = MountAttr {
            set: Self::per_mount(self.flags),
            clr: Self::per_mount(self.cleared),
        };
        if self.atime_explicit {
            a.clr |= attr::ATIME_MASK;
            a.set |= self.atime();
        }
        a
    }
}

pub(super) fn propagation_flag(opt: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// (clear?, flag) for the classic flag options.
fn flag_option(opt: &str) -> Option<(bool, MsFlags)> {
    Some(match opt {
        "ro" => (false, MsFlags::MS_RDONLY),
        "rw" => (true, MsFlags::MS_RDONLY),
        "nosuid" => (false, MsFlags::MS_NOSUID),
        "suid" => (true, MsFlags::MS_NOSUID),
        "nodev" => (false, MsFlags::MS_NODEV),
        "dev" => (true, MsFlags::MS_NODEV),
        "noexec" => (false, MsFlags::MS_NOEXEC),
        "exec" => (true, MsFlags::MS_NOEXEC),
        "sync" => (false, MsFlags::MS_SYNCHRONOUS),
        "async" => (true, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (false, MsFlags::MS_DIRSYNC),
        "mand" => (false, MsFlags::MS_MANDLOCK),
        "nomand" => (true, MsFlags::MS_MANDLOCK),
        "noatime" => (false, MsFlags::MS_NOATIME),
        "atime" => (true, MsFlags::MS_NOATIME),
        "nodiratime" => (false, MsFlags::MS_NODIRATIME),
        "diratime" => (true, MsFlags::MS_NODIRATIME),
        "relatime" => (false, MsFlags::MS_RELATIME),
        "norelatime" => (true, MsFlags::MS_RELATIME),
        "strictatime" => (false, MsFlags::MS_STRICTATIME),
        "nostrictatime" => (true, MsFlags::MS_STRICTATIME),
        "lazytime" => (false, MsFlags::MS_LAZYTIME),
        "nolazytime" => (true, MsFlags::MS_LAZYTIME),
        "silent" => (false, MsFlags::MS_SILENT),
        "loud" => (true, MsFlags::MS_SILENT),
        "nosymfollow" => (false, MS_NOSYMFOLLOW),
        "symfollow" => (true, MS_NOSYMFOLLOW),
        "defaults" => (false, MsFlags::empty()),
        _ => return None,
    })
}

/// (clear?, attr bits, atime mode) for the recursive r* options.
fn rec_option(opt: &str) -> Option<(bool, u64)> {
    Some(match opt {
        "rro" => (false, attr::RDONLY),
        "rrw" => (true, attr::RDONLY),
        "rnosuid" => (false, attr::NOSUID),
        "rsuid" => (true, attr::NOSUID),
        "rnodev" => (false, attr::NODEV),
        "rdev" => (true, attr::NODEV),
        "rnoexec" => (false, attr::NOEXEC),
        "rexec" => (true, attr::NOEXEC),
        "rnodiratime" => (false, attr::NODIRATIME),
        "rdiratime" => (true, attr::NODIRATIME),
        "rnosymfollow" => (false, attr::NOSYMFOLLOW),
        "rsymfollow" => (true, attr::NOSYMFOLLOW),
        _ => return None,
    })
}

/// Recursive atime modes: each replaces the whole atime field.
fn rec_atime_option(opt: &str) -> Option<u64> {
    Some(match opt {
        "rnoatime" => attr::NOATIME,
        "ratime" | "rrelatime" | "rnostrictatime" => attr::RELATIME,
        "rstrictatime" | "rnorelatime" => attr::STRICTATIME,
        _ => return None,
    })
}

/// Parse an fstab-style option list the way runc does; unknown words become fs data.
pub fn parse_options(options: &[String]) -> Result<ParsedOptions, RootfsPlanError> {
    let mut p = ParsedOptions::default();
    for opt in options {
        let opt = opt.as_str();
        if let Some((clear, flag)) = flag_option(opt) {
            if clear {
                p.flags.remove(flag);
                p.cleared.insert(flag);
            } else {
                p.flags.insert(flag);
                p.cleared.remove(flag);
            }
            if ATIME_FLAGS.contains(flag) && !flag.is_empty() {
                p.atime_explicit = true;
            }
        } else if let Some(flag) = propagation_flag(opt) {
            p.propagation.push(flag);
        } else if let Some((clear, bits)) = rec_option(opt) {
            if clear {
                p.rec_attr.set &= !bits;
                p.rec_attr.clr |= bits;
            } else {
                p.rec_attr.set |= bits;
                p.rec_attr.clr &= !bits;
            }
        } else if let Some(mode) = rec_atime_option(opt) {
            p.rec_attr.clr |= attr::ATIME_MASK;
            p.rec_attr.set = (p.rec_attr.set & !attr::ATIME_MASK) | mode;
        } else {
            match opt {
                "bind" => p.bind = Some(p.bind.unwrap_or(false)),
                "rbind" => p.bind = Some(true),
                "remount" => p.remount = true,
                // tmpcopyup only matters for overlay images; the mount itself is unchanged.
                "tmpcopyup" | "" => {}
                // Id maps are planned from the whole mount entry (rootfs.rs).
                "idmap" | "ridmap" => {}
                other => p.data.push(other.to_string()),
            }
        }
    }
    Ok(p)
}
