//! The OCI seccomp object: checked into a SeccompPlan (pure, part of the launch plan), then
//! compiled into a raw BPF program by an apply step in the runtime's own process.
//!
//! libseccomp does the compiling here, never in the container: the child only receives the
//! instructions and loads them with seccomp(2). Compiled programs are cached by content hash.

mod cache;
pub mod default_profile;
mod mapping;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use libseccomp::error::SeccompError as ScmpError;
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpFilterContext};
use libseccomp::{ScmpSyscall, ScmpVersion};
use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MFdFlags};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSyscall};

use mapping::{arg_conditions, scmp_action, scmp_arch};

pub use cache::CacheStatus;
pub use mapping::load_flags;

/// The kernel refuses programs longer than this (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// Syscalls brick itself makes between loading the filter and handing the listener fd over;
/// notifying them would wait on an agent that has no fd yet.
pub const NOTIFY_FORBIDDEN: &[&str] = &["close", "connect", "sendmsg", "socket", "write"];

/// Where to send the seccomp listener fd (runtime-spec `listenerPath`, `listenerMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    pub listener_path: PathBuf,
    pub metadata: Option<String>,
}

/// A filter ready for seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) in the child.
pub struct SeccompProgram {
    pub filter: Vec<libc::sock_filter>,
    /// SECCOMP_FILTER_FLAG_* bits for seccomp(2), including NEW_LISTENER when notify is set.
    pub flags: u32,
    pub notify: Option<NotifyTarget>,
    /// Syscall names that libseccomp does not know, left out of the filter.
    pub skipped: Vec<String>,
    pub cache: CacheStatus,
}

impl std::fmt::Debug for SeccompProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeccompProgram")
            .field("insns", &self.filter.len())
            .field("flags", &self.flags)
            .field("notify", &self.notify)
            .field("skipped", &self.skipped)
            .field("cache", &self.cache)
            .finish()
    }
}

impl SeccompProgram {
    /// The program as the bytes libseccomp exported (native endian sock_filter array).
    pub fn bpf_bytes(&self) -> Vec<u8> {
        insns_to_bytes(&self.filter)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SeccompPlanError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("create seccomp filter context")]
    Context {
        #[source]
        source: ScmpError,
    },
    #[error("linux.seccomp.architectures: add architecture {arch:?}")]
    AddArch {
        arch: String,
        #[source]
        source: ScmpError,
    },
    #[error("linux.seccomp.syscalls[{index}]: add rule for {name:?}")]
    AddRule {
        index: usize,
        name: String,
        #[source]
        source: ScmpError,
    },
    #[error("export seccomp filter as BPF")]
    Export {
        #[source]
        source: ScmpError,
    },
    #[error("read exported BPF from memfd")]
    ReadBack {
        #[source]
        source: std::io::Error,
    },
    #[error("create memfd for the exported BPF")]
    Memfd {
        #[source]
        source: Errno,
    },
    #[error("compiled seccomp filter has {insns} instructions, the kernel allows {MAX_INSNS}")]
    TooLarge { insns: usize },
}

/// A profile checked for everything that can be checked before libseccomp runs: the plan's
/// part. The program itself comes from `program`, an apply step (cache read, compile, write).
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    pub profile: LinuxSeccomp,
    default: ScmpAction,
    /// SECCOMP_FILTER_FLAG_* bits for seccomp(2), including NEW_LISTENER when notify is set.
    pub flags: u32,
    pub notify: Option<NotifyTarget>,
}

/// The plan's checks: the default action, the notify target, the load flags.
pub fn plan(seccomp: &LinuxSeccomp) -> Result<SeccompPlan, SeccompPlanError> {
    let default = default_action(seccomp)?;
    let notify = notify_target(seccomp, default)?;
    let flags = load_flags(seccomp, notify.is_some());
    Ok(SeccompPlan {
        profile: seccomp.clone(),
        default,
        flags,
        notify,
    })
}

/// Plan and program in one call, with this host's kernel release (tests, `features`).
pub fn compile(
    seccomp: &LinuxSeccomp,
    cache_dir: Option<&Path>,
) -> Result<SeccompProgram, SeccompPlanError> {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    program(&plan(seccomp)?, cache_dir, &kernel)
}

/// The BPF program for a planned profile: from the cache in `cache_dir` when it holds a
/// verified entry, else compiled by libseccomp (and stored there).
pub fn program(
    p: &SeccompPlan,
    cache_dir: Option<&Path>,
    kernel_release: &str,
) -> Result<SeccompProgram, SeccompPlanError> {
    let (seccomp, default, flags, notify) = (&p.profile, p.default, p.flags, p.notify.clone());
    let env = build_environment(kernel_release);
    let key = cache_dir.map(|_| cache::key(seccomp, &env));
    let mut status = CacheStatus::Disabled;
    if let (Some(dir), Some(key)) = (cache_dir, key.as_ref()) {
        match cache::load(dir, key) {
            Ok(Some(entry)) => {
                if let Some(filter) = bytes_to_insns(&entry.bpf) {
                    return Ok(SeccompProgram {
                        filter,
                        flags,
                        notify,
                        skipped: entry.skipped,
                        cache: CacheStatus::Hit,
                    });
                }
                status = CacheStatus::Rejected {
                    reason: "payload is not a valid BPF program".into(),
                };
            }
            Ok(None) => status = CacheStatus::Miss,
            Err(reason) => status = reason,
        }
    }

    let (bpf, skipped) = build_bpf(seccomp, default)?;
    let filter = bytes_to_insns(&bpf).ok_or(SeccompPlanError::TooLarge {
        insns: bpf.len() / INSN_SIZE,
    })?;
    if let (Some(dir), Some(key)) = (cache_dir, key.as_ref()) {
        let entry = cache::Entry { bpf, skipped };
        status = match cache::store(dir, key, &entry) {
            Ok(()) => status.after_store(),
            Err(reason) => reason,
        };
        return Ok(SeccompProgram {
            filter,
            flags,
            notify,
            skipped: entry.skipped,
            cache: status,
        });
    }
    Ok(SeccompProgram {
        filter,
        flags,
        notify,
        skipped,
        cache: status,
    })
}

/// Run libseccomp: build the filter context and export it as BPF bytes.
fn build_bpf(
    seccomp: &LinuxSeccomp,
    default: ScmpAction,
) -> Result<(Vec<u8>, Vec<String>), SeccompPlanError> {
    let mut ctx =
        ScmpFilterContext::new(default).map_err(|source| SeccompPlanError::Context { source })?;
    // A syscall of an architecture the profile does not list (i386 via int 0x80, x32) gets the
    // profile's default answer; with an allowing default it is killed, or it would bypass rules.
    if !matches!(default, ScmpAction::Allow | ScmpAction::Log) {
        ctx.set_act_badarch(default)
            .map_err(|source| SeccompPlanError::Context { source })?;
    }
    for arch in seccomp.architectures().iter().flatten() {
        ctx.add_arch(scmp_arch(*arch))
            .map_err(|source| SeccompPlanError::AddArch {
                arch: arch.to_string(),
                source,
            })?;
    }
    let mut skipped = Vec::new();
    for (index, rule) in seccomp.syscalls().iter().flatten().enumerate() {
        add_rules(&mut ctx, index, rule, default, &mut skipped)?;
    }
    Ok((export(&ctx)?, skipped))
}

fn add_rules(
    ctx: &mut ScmpFilterContext,
    index: usize,
    rule: &LinuxSyscall,
    default: ScmpAction,
    skipped: &mut Vec<String>,
) -> Result<(), SeccompPlanError> {
    let field = format!("linux.seccomp.syscalls[{index}]");
    let action = scmp_action(
        rule.action(),
        rule.errno_ret(),
        &format!("{field}.errnoRet"),
    )?;
    let conds = arg_conditions(rule, &field)?;
    if action == ScmpAction::Notify {
        if let Some(name) = rule
            .names()
            .iter()
            .find(|n| NOTIFY_FORBIDDEN.contains(&n.as_str()))
        {
            return Err(SeccompPlanError::Invalid {
                field: format!("{field}.action"),
                reason: format!("SCMP_ACT_NOTIFY cannot be used for {name:?}: brick needs it to hand over the listener fd"),
            });
        }
    }
    // Comparisons repeating an argument are OR-ed, one rule each (runc's semantics).
    let mut seen = [false; 6];
    let repeats = conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[c.0 as usize], true));
    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            skipped.push(name.clone());
            continue;
        };
        // libseccomp refuses a rule whose action is the default one; it would be a no-op anyway.
        if action == default {
            continue;
        }
        let add_err = |source| SeccompPlanError::AddRule {
            index,
            name: name.clone(),
            source,
        };
        let all: Vec<ScmpArgCompare> = conds.iter().map(|c| c.1).collect();
        if repeats {
            for cmp in &all {
                ctx.add_rule_conditional(action, syscall, std::slice::from_ref(cmp))
                    .map_err(add_err)?;
            }
        } else {
            ctx.add_rule_conditional(action, syscall, &all)
                .map_err(add_err)?;
        }
    }
    Ok(())
}

fn default_action(seccomp: &LinuxSeccomp) -> Result<ScmpAction, SeccompPlanError> {
    let field = "linux.seccomp.defaultAction";
    let action = scmp_action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if action == ScmpAction::Notify {
        return Err(SeccompPlanError::Invalid {
            field: field.into(),
            reason: "SCMP_ACT_NOTIFY cannot be the default action: brick needs some syscalls to hand over the listener fd".into(),
        });
    }
    Ok(action)
}

fn notify_target(
    seccomp: &LinuxSeccomp,
    default: ScmpAction,
) -> Result<Option<NotifyTarget>, SeccompPlanError> {
    let uses_notify = default == ScmpAction::Notify
        || seccomp
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    if !uses_notify {
        return Ok(None);
    }
    match seccomp.listener_path() {
        Some(path) if path.is_absolute() => Ok(Some(NotifyTarget {
            listener_path: path.clone(),
            metadata: seccomp.listener_metadata().clone(),
        })),
        Some(path) => Err(SeccompPlanError::Invalid {
            field: "linux.seccomp.listenerPath".into(),
            reason: format!("{path:?} is not an absolute path"),
        }),
        None => Err(SeccompPlanError::Invalid {
            field: "linux.seccomp.listenerPath".into(),
            reason: "required when SCMP_ACT_NOTIFY is used".into(),
        }),
    }
}

/// libseccomp 2.5 can only export to an fd, so export into a memfd and read it back.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompPlanError> {
    let fd = memfd_create(c"brick-seccomp-bpf", MFdFlags::MFD_CLOEXEC)
        .map_err(|source| SeccompPlanError::Memfd { source })?;
    ctx.export_bpf(&fd)
        .map_err(|source| SeccompPlanError::Export { source })?;
    let mut file = File::from(fd);
    let mut bpf = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bpf))
        .map_err(|source| SeccompPlanError::ReadBack { source })?;
    Ok(bpf)
}

const INSN_SIZE: usize = std::mem::size_of::<libc::sock_filter>();

/// Decode exported bytes; None unless a whole number of 1..=MAX_INSNS instructions.
pub(crate) fn bytes_to_insns(bytes: &[u8]) -> Option<Vec<libc::sock_filter>> {
    if bytes.is_empty() || bytes.len() % INSN_SIZE != 0 || bytes.len() / INSN_SIZE > MAX_INSNS {
        return None;
    }
    let insns = bytes
        .chunks_exact(INSN_SIZE)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(insns)
}

pub(crate) fn insns_to_bytes(insns: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * INSN_SIZE);
    for i in insns {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

/// What the compiled output depends on besides the profile itself, for the cache key.
pub(crate) fn build_environment(kernel: &str) -> String {
    let lib = ScmpVersion::current()
        .map(
            |ScmpVersion {
                 major,
                 minor,
                 micro,
                 ..
             }| format!("{major}.{minor}.{micro}"),
        )
        .unwrap_or_default();
    format!(
        "arch={:?} libseccomp={lib} kernel={kernel}",
        ScmpArch::native()
    )
}
