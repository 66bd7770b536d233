//! Raw system calls for the seccomp tests. Each verb prints "OK" or the errno name and exits 0,
//! so a test can compare what a filter did; a killed probe shows as 128+SIGSYS in the shell.
//!
//! Without ARGS, `syscall NAME` passes zeros, or for the few calls where zeros would act
//! (unload a kexec image, PTRACE_TRACEME, set an empty hostname) invalid values, so a call that
//! a filter wrongly lets through fails in the kernel (EFAULT, EINVAL, EBADF, ESRCH, EPERM).

use crate::errno::{errno_name, last_errno};
use crate::sysnr::SYSCALLS;
use std::process::exit;

/// x32 syscalls are native-looking numbers with this bit set (__X32_SYSCALL_BIT).
const X32_SYSCALL_BIT: u64 = 0x4000_0000;

fn usage(msg: &str) -> ! {
    eprintln!("probe: {msg}");
    exit(2)
}

/// Decimal (may be negative) or 0x-prefixed hex, as the raw 64-bit register value.
pub fn parse_num(s: &str) -> u64 {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse::<i64>().map(|v| v as u64).ok(),
    };
    parsed.unwrap_or_else(|| usage(&format!("bad number {s:?}")))
}

fn number_of(name: &str) -> i64 {
    if let Some(n) = name.strip_prefix("nr:") {
        return parse_num(n) as i64;
    }
    SYSCALLS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, nr)| *nr)
        .unwrap_or_else(|| usage(&format!("unknown syscall {name:?} (use nr:N)")))
}

/// Arguments that make the call fail harmlessly if a filter lets it through.
fn default_args(name: &str) -> [u64; 6] {
    let bad_fd = u64::MAX; // -1
    match name {
        // One segment at NULL: EFAULT (zero segments would unload the loaded image).
        "kexec_load" => [0, 1, 0, 0, 0, 0],
        "kexec_file_load" => [bad_fd, bad_fd, 0, 0, 0, 0],
        "finit_module" | "setns" | "open_by_handle_at" | "fanotify_mark" => [bad_fd, 0, 0, 0, 0, 0],
        "pidfd_getfd" => [bad_fd, bad_fd, 0, 0, 0, 0],
        // An invalid request on pid 0: ESRCH (request 0 is PTRACE_TRACEME).
        "ptrace" => [bad_fd, 0, 0, 0, 0, 0],
        // A bad pointer: EFAULT (NULL would switch accounting off).
        "acct" => [1, 0, 0, 0, 0, 0],
        // A bad pointer of length 1: EFAULT (length 0 would set an empty name).
        "sethostname" | "setdomainname" => [1, 1, 0, 0, 0, 0],
        "clone" => [libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
        _ => [0; 6],
    }
}

fn print_result(ret: i64, errno: i32) {
    if ret < 0 {
        println!("{}", errno_name(errno));
    } else {
        println!("OK");
    }
}

/// `syscall NAME [ARGS..]`: NAME is an x86_64 name or nr:N; missing ARGS are zero.
pub fn syscall(name: &str, args: &[String]) {
    let nr = number_of(name);
    if name == "vfork" || name == "exit" || name == "exit_group" {
        usage(&format!("{name} is not a probe-able syscall"));
    }
    let mut a = default_args(name);
    if !args.is_empty() {
        a = [0; 6];
        if args.len() > 6 {
            usage("at most 6 arguments");
        }
        for (slot, s) in a.iter_mut().zip(args) {
            *slot = parse_num(s);
        }
    }
    let is_clone = name == "clone" || name == "fork";
    if name == "clone" && a[0] & 0xff == 0 {
        // An exit signal, so the parent can wait for the child.
        a[0] |= libc::SIGCHLD as u64;
    }
    // SAFETY: a raw syscall with integer arguments; pointers are NULL or invalid by design,
    // and clone runs without CLONE_VM, so the child owns a copy of this stack.
    let ret = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    let errno = last_errno();
    if is_clone && ret == 0 {
        // SAFETY: the child of a raw clone/fork leaves at once.
        unsafe { libc::_exit(0) }
    }
    if is_clone && ret > 0 {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(ret as libc::pid_t, &mut status, libc::__WALL) };
    }
    print_result(ret, errno);
}

/// Turn a raw kernel return (-errno on failure) into the printed result.
fn print_raw(ret: i64) {
    if (-4095..0).contains(&ret) {
        println!("{}", errno_name((-ret) as i32));
    } else {
        println!("OK");
    }
}

/// `syscall32 NR`: an i386 syscall through `int 0x80`, all arguments zero.
pub fn syscall32(nr: &str) {
    let nr = parse_num(nr) as u32;
    let ret: u32;
    // SAFETY: int 0x80 with zero arguments; rbx is saved by hand (LLVM reserves it), and the
    // kernel may clobber r8-r11 on this entry path.
    unsafe {
        std::arch::asm!(
            "xchg {b}, rbx",
            "int 0x80",
            "xchg {b}, rbx",
            b = inout(reg) 0u64 => _,
            inout("eax") nr => ret,
            in("ecx") 0u32,
            in("edx") 0u32,
            in("esi") 0u32,
            in("edi") 0u32,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
        );
    }
    print_raw(ret as i32 as i64);
}

/// `syscallx32 NR`: the x32 ABI's number (NR | 0x40000000) through `syscall`, arguments zero.
pub fn syscallx32(nr: &str) {
    let nr = parse_num(nr) | X32_SYSCALL_BIT;
    let ret: i64;
    // SAFETY: a syscall with zero arguments; the instruction clobbers rcx and r11.
    unsafe {
        std::arch::asm!(
            "syscall",
            inout("rax") nr => ret,
            in("rdi") 0u64,
            in("rsi") 0u64,
            in("rdx") 0u64,
            in("r10") 0u64,
            in("r8") 0u64,
            in("r9") 0u64,
            out("rcx") _,
            out("r11") _,
        );
    }
    print_raw(ret);
}

/// `socket FAMILY [TYPE [PROTO]]`: the type defaults to one the family supports.
pub fn socket(family: &str, ty: Option<&str>, proto: Option<&str>) {
    let family = parse_num(family) as libc::c_int;
    let ty = match ty {
        Some(t) => parse_num(t) as libc::c_int,
        None => match family {
            libc::AF_NETLINK => libc::SOCK_RAW,
            libc::AF_PACKET => libc::SOCK_DGRAM,
            libc::AF_ALG => libc::SOCK_SEQPACKET,
            _ => libc::SOCK_STREAM,
        },
    };
    let proto = proto.map(|p| parse_num(p) as libc::c_int).unwrap_or(0);
    // SAFETY: plain syscall; the fd, if any, is closed at exit.
    let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, proto) };
    print_result(fd.into(), last_errno());
}

/// `personality VALUE`: the raw call, so the value reaches the filter unchanged.
pub fn personality(value: &str) {
    let v = parse_num(value);
    // SAFETY: plain syscall with an integer argument.
    let ret = unsafe { libc::syscall(libc::SYS_personality, v) };
    print_result(ret, last_errno());
}
