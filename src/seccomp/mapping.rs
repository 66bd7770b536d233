//! Map OCI seccomp enums to libseccomp values and seccomp(2) flags.

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
    LinuxSyscall,
};

use super::SeccompPlanError;

pub(super) fn arg_conditions(
    rule: &LinuxSyscall,
    field: &str,
) -> Result<Vec<(u32, ScmpArgCompare)>, SeccompPlanError> {
    let mut out = Vec::new();
    for (i, arg) in rule.args().iter().flatten().enumerate() {
        let index = match u32::try_from(arg.index()) {
            Ok(n) if n < 6 => n,
            _ => {
                return Err(SeccompPlanError::Invalid {
                    field: format!("{field}.args[{i}].index"),
                    reason: format!("argument index {} is out of range 0..=5", arg.index()),
                })
            }
        };
        let (op, datum) = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
            LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
            LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
            LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
            LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
            LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
            // OCI puts the mask in value and the expected masked value in valueTwo.
            LinuxSeccompOperator::ScmpCmpMaskedEq => (
                ScmpCompareOp::MaskedEqual(arg.value()),
                arg.value_two().unwrap_or(0),
            ),
        };
        out.push((index, ScmpArgCompare::new(index, op, datum)));
    }
    Ok(out)
}

/// Map an OCI action; `errno_ret` (at field `errno_field`) only suits ERRNO and TRACE.
pub(super) fn scmp_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    errno_field: &str,
) -> Result<ScmpAction, SeccompPlanError> {
    let ret = match errno_ret {
        None => libc::EPERM as u16,
        Some(n) => u16::try_from(n).map_err(|_| SeccompPlanError::Invalid {
            field: errno_field.to_string(),
            reason: format!("{n} does not fit the 16-bit seccomp return data"),
        })?,
    };
    let takes_errno = matches!(
        action,
        LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
    );
    if errno_ret.is_some() && !takes_errno {
        return Err(SeccompPlanError::Invalid {
            field: errno_field.to_string(),
            reason: format!("action {action} does not take an errno"),
        });
    }
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(ret)),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(ret),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

pub(super) fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// Flags for seccomp(2); libseccomp's TSYNC/LOG/SSB/WAITKILL attributes only act on its own load.
pub fn load_flags(seccomp: &LinuxSeccomp, notify: bool) -> u32 {
    let mut flags = 0;
    for flag in seccomp.flags().iter().flatten() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            // The kernel rejects WAIT_KILLABLE_RECV without a listener, where it means nothing.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if notify => {
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        } as u32;
    }
    if notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        // TSYNC and NEW_LISTENER together are only accepted with TSYNC_ESRCH.
        if flags & libc::SECCOMP_FILTER_FLAG_TSYNC as u32 != 0 {
            flags |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u32;
        }
    }
    flags
}
