//! brick's hardened default seccomp profile: seccomp-profiles/default.json, explained in
//! seccomp-profiles/README.md. `brick spec` writes it into config.json as `linux.seccomp`.

/// The default profile, an OCI `linux.seccomp` JSON object (x86_64 only, unknown → ENOSYS).
pub const DEFAULT_PROFILE: &str = include_str!("../../seccomp-profiles/default.json");

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use libseccomp::ScmpSyscall;
    use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

    use super::DEFAULT_PROFILE;
    use crate::bundle::check_seccomp_names as check_raw;
    use crate::seccomp::compile;

    /// The calls the profile must refuse with EPERM whatever their arguments.
    const BLOCKED: &[&str] = &[
        "kexec_load",
        "kexec_file_load",
        "open_by_handle_at",
        "init_module",
        "finit_module",
        "delete_module",
        "iopl",
        "ioperm",
        "swapon",
        "swapoff",
        "sysfs",
        "_sysctl",
        "adjtimex",
        "clock_adjtime",
        "lookup_dcookie",
        "perf_event_open",
        "fanotify_init",
        "kcmp",
        "bpf",
        "userfaultfd",
        "keyctl",
        "add_key",
        "request_key",
        "mount",
        "umount2",
        "pivot_root",
        "ptrace",
        "setns",
        "process_vm_readv",
        "process_vm_writev",
        "reboot",
        "syslog",
        "settimeofday",
        "clock_settime",
        "modify_ldt",
        "fsopen",
        "move_mount",
        "open_tree",
    ];

    /// Allowed only for some argument values.
    const CONDITIONAL: &[&str] = &["personality", "socket", "clone", "unshare"];

    /// Names newer than the libseccomp this is built with may be skipped; nothing else may.
    const NEWER_THAN_LIBSECCOMP: &[&str] = &[
        "cachestat",
        "fchmodat2",
        "map_shadow_stack",
        "futex_wake",
        "futex_wait",
        "futex_requeue",
        "mseal",
        "setxattrat",
        "getxattrat",
        "listxattrat",
        "removexattrat",
        "open_tree_attr",
        "file_getattr",
        "file_setattr",
        "futex_waitv",
        "set_mempolicy_home_node",
    ];

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_KILL_THREAD: u32 = 0;
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    const CLONE_NS: [u64; 7] = [
        0x0002_0000, // NEWNS
        0x0200_0000, // NEWCGROUP
        0x0400_0000, // NEWUTS
        0x0800_0000, // NEWIPC
        0x1000_0000, // NEWUSER
        0x2000_0000, // NEWPID
        0x4000_0000, // NEWNET
    ];
    const CLONE_NEWTIME: u64 = 0x80;

    const fn errno(e: i32) -> u32 {
        0x0005_0000 | e as u32
    }

    fn profile() -> LinuxSeccomp {
        serde_json::from_str(DEFAULT_PROFILE).expect("default profile parses as LinuxSeccomp")
    }

    fn nr(name: &str) -> u32 {
        let n = ScmpSyscall::from_name(name)
            .unwrap_or_else(|_| panic!("libseccomp does not know {name}"))
            .as_raw_syscall();
        u32::try_from(n).expect("native syscall number")
    }

    /// Run the compiled classic-BPF program on one seccomp_data, as the kernel would.
    fn verdict(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let word = |off: u32| -> u32 {
            match off {
                0 => nr,
                4 => arch,
                8 | 12 => 0,
                16..=60 if off % 4 == 0 => {
                    let arg = args[(off as usize - 16) / 8];
                    match off % 8 {
                        0 => arg as u32,
                        _ => (arg >> 32) as u32,
                    }
                }
                _ => panic!("load at offset {off}"),
            }
        };
        let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            let jump = |cond: bool| usize::from(if cond { i.jt } else { i.jf });
            match i.code {
                0x20 => a = word(i.k),            // ld [k]
                0x00 => a = i.k,                  // ld #k
                0x60 => a = mem[i.k as usize],    // ld M[k]
                0x61 => x = mem[i.k as usize],    // ldx M[k]
                0x02 => mem[i.k as usize] = a,    // st M[k]
                0x03 => mem[i.k as usize] = x,    // stx M[k]
                0x07 => x = a,                    // tax
                0x87 => a = x,                    // txa
                0x54 => a &= i.k,                 // and #k
                0x05 => pc += i.k as usize,       // ja
                0x15 => pc += jump(a == i.k),     // jeq
                0x25 => pc += jump(a > i.k),      // jgt
                0x35 => pc += jump(a >= i.k),     // jge
                0x45 => pc += jump(a & i.k != 0), // jset
                0x06 => return i.k,               // ret #k
                code => panic!("unexpected BPF opcode {code:#x} at {}", pc - 1),
            }
        }
    }

    #[test]
    fn parses_checks_and_compiles() {
        let raw: serde_json::Value = serde_json::from_str(DEFAULT_PROFILE).expect("JSON");
        check_raw(&raw).expect("every enumerated name is known");
        let p = profile();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(libc::ENOSYS as u32));
        let prog = compile(&p, None).expect("compiles");
        let unexpected: Vec<_> = prog
            .skipped
            .iter()
            .filter(|n| !NEWER_THAN_LIBSECCOMP.contains(&n.as_str()))
            .collect();
        assert!(
            unexpected.is_empty(),
            "unknown names (typos?): {unexpected:?}"
        );
    }

    #[test]
    fn blocked_names_are_never_allowed() {
        // name → (unconditional rules, conditional rules, allowed by some rule)
        let mut seen: BTreeMap<&str, (usize, usize, bool)> = BTreeMap::new();
        let p = profile();
        for rule in p.syscalls().iter().flatten() {
            let conditional = rule.args().as_ref().is_some_and(|a| !a.is_empty());
            let allow = rule.action() == LinuxSeccompAction::ScmpActAllow;
            for name in rule.names() {
                let e = seen.entry(name.as_str()).or_default();
                match conditional {
                    true => e.1 += 1,
                    false => e.0 += 1,
                }
                e.2 |= allow;
            }
        }
        for name in BLOCKED {
            let (uncond, cond, allowed) = seen.get(name).copied().unwrap_or_default();
            assert_eq!((uncond, cond, allowed), (1, 0, false), "{name}");
            nr(name);
        }
        for name in CONDITIONAL {
            let (uncond, cond, _) = seen.get(name).copied().unwrap_or_default();
            assert_eq!(
                (uncond, cond),
                (0, 2),
                "{name}: one allow and one refuse rule"
            );
        }
        // libseccomp lets an unconditional rule silently override conditional ones.
        let mixed: BTreeSet<_> = seen
            .iter()
            .filter(|(_, (u, c, _))| *u > 1 || (*u == 1 && *c > 0))
            .map(|(n, _)| *n)
            .collect();
        assert!(mixed.is_empty(), "names in several rules: {mixed:?}");
    }

    #[test]
    fn compiled_filter_gives_the_documented_answers() {
        let prog = compile(&profile(), None).expect("compiles").filter;
        let call = |name: &str, args: [u64; 6]| verdict(&prog, AUDIT_ARCH_X86_64, nr(name), args);
        let a0 = |v: u64| [v, 0, 0, 0, 0, 0];
        for name in BLOCKED {
            assert_eq!(call(name, [0; 6]), errno(libc::EPERM), "{name}");
        }
        for name in [
            "read",
            "write",
            "openat",
            "execve",
            "mmap",
            "futex",
            "exit_group",
        ] {
            assert_eq!(call(name, [0; 6]), RET_ALLOW, "{name}");
        }
        for name in ["clone3", "io_uring_setup", "get_mempolicy"] {
            assert_eq!(call(name, [0; 6]), errno(libc::ENOSYS), "{name}");
        }
        // A number no syscall has yet gets the default errno.
        let unknown = verdict(&prog, AUDIT_ARCH_X86_64, 1000, [0; 6]);
        assert_eq!(unknown, errno(libc::ENOSYS));

        for v in [0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
            assert_eq!(call("personality", a0(v)), RET_ALLOW, "personality({v:#x})");
        }
        for v in [0x40_0000, 0x1, 0x1_0000_0000, u64::MAX] {
            assert_eq!(
                call("personality", a0(v)),
                errno(libc::EPERM),
                "personality({v:#x})"
            );
        }
        for family in [1, 2, 10, 16, 17] {
            assert_eq!(call("socket", a0(family)), RET_ALLOW, "socket({family})");
        }
        for family in [0, 3, 15, 31, 38, 40, 0x1_0000_0002, u64::MAX] {
            let got = call("socket", a0(family));
            assert_eq!(got, errno(libc::EAFNOSUPPORT), "socket({family:#x})");
        }

        let sigchld = libc::SIGCHLD as u64;
        let threads = 0x003d_0f00; // pthread_create's flags
        assert_eq!(call("clone", a0(sigchld)), RET_ALLOW);
        assert_eq!(call("clone", a0(threads)), RET_ALLOW);
        assert_eq!(call("unshare", a0(0x400 | 0x200)), RET_ALLOW); // FILES | FS
        for ns in CLONE_NS {
            assert_eq!(
                call("clone", a0(ns | sigchld)),
                errno(libc::EPERM),
                "{ns:#x}"
            );
            assert_eq!(call("unshare", a0(ns)), errno(libc::EPERM), "{ns:#x}");
        }
        assert_eq!(call("unshare", a0(CLONE_NEWTIME)), errno(libc::EPERM));

        // Foreign ABIs never reach the x86_64 rules: the bad-arch action or the default.
        let refused = [RET_KILL_THREAD, RET_KILL_PROCESS, errno(libc::ENOSYS)];
        let i386_getpid = verdict(&prog, AUDIT_ARCH_I386, 20, [0; 6]);
        assert!(refused.contains(&i386_getpid), "i386: {i386_getpid:#x}");
        let x32_getpid = verdict(&prog, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 39, [0; 6]);
        assert!(refused.contains(&x32_getpid), "x32: {x32_getpid:#x}");
    }
}
