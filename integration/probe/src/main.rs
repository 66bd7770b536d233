//! probe: a static helper run inside test containers. `probe report` prints what the
//! process sees; the action verbs exit 0 on success or print the errno name and exit 1.

mod console;
mod errno;
mod report;
mod syscall;
mod sysnr;

use errno::{errno_name, last_errno, signal_name};
use std::ffi::CString;
use std::io::Write;
use std::process::exit;

const USAGE: &str = "usage: probe report | write PATH [DATA] | append PATH DATA | read PATH | \
mknod PATH [c|b MAJ MIN] | mkdir PATH | stat PATH | lstat PATH | exec PATH [ARGS..] | \
sleep SECS | exit CODE | signals | sysctl NAME | recv-console SOCKET | chdir PATH | \
kill PID SIG | fd-count | unlink PATH | syscall NAME|nr:N [ARGS..] | syscall32 NR | \
syscallx32 NR | socket FAMILY [TYPE [PROTO]] | personality VALUE | alloc MB | fork N";

/// Print the errno name on stdout (for assertions) and details on stderr, then exit 1.
fn fail(op: &str, arg: &str, e: i32) -> ! {
    let name = errno_name(e);
    println!("{name}");
    eprintln!("probe: {op} {arg:?}: {name}");
    exit(1)
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| {
        eprintln!("probe: NUL in argument");
        exit(2)
    })
}

fn check(r: libc::c_int, op: &str, arg: &str) -> libc::c_int {
    if r < 0 {
        fail(op, arg, last_errno())
    }
    r
}

fn write_file(path: &str, data: &[u8], flags: libc::c_int) {
    let p = cstr(path);
    // SAFETY: valid C string; fd closed below.
    let fd = check(
        unsafe {
            libc::open(
                p.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC | flags,
                0o644,
            )
        },
        "open",
        path,
    );
    let mut off = 0;
    while off < data.len() {
        // SAFETY: buffer slice is valid for its length.
        let n = unsafe { libc::write(fd, data[off..].as_ptr().cast(), data.len() - off) };
        if n < 0 {
            fail("write", path, last_errno());
        }
        off += n as usize;
    }
    // SAFETY: fd is ours.
    if unsafe { libc::close(fd) } < 0 {
        fail("close", path, last_errno());
    }
}

/// Open without O_CREAT or O_TRUNC (never changes the file), print "ok" or the errno name.
fn open_only(path: &str, mode: &str) {
    let flags = match mode {
        "r" => libc::O_RDONLY,
        "w" => libc::O_WRONLY,
        "rw" => libc::O_RDWR,
        "path" => libc::O_PATH,
        _ => {
            eprintln!("probe: open mode must be r, w, rw or path");
            exit(2)
        }
    };
    let p = cstr(path);
    // SAFETY: valid C string; fd closed below.
    let fd = check(
        unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) },
        "open",
        path,
    );
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    println!("ok");
}

fn read_file(path: &str) {
    let p = cstr(path);
    // SAFETY: valid C string.
    let fd = check(
        unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) },
        "open",
        path,
    );
    let mut buf = [0u8; 65536];
    let mut out = std::io::stdout().lock();
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            fail("read", path, last_errno());
        }
        if n == 0 {
            break;
        }
        let _ = out.write_all(&buf[..n as usize]);
    }
}

fn stat(path: &str, follow: bool) {
    let p = cstr(path);
    // SAFETY: st is plain data filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe {
        if follow {
            libc::stat(p.as_ptr(), &mut st)
        } else {
            libc::lstat(p.as_ptr(), &mut st)
        }
    };
    check(r, "stat", path);
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFCHR => "c",
        libc::S_IFBLK => "b",
        libc::S_IFDIR => "d",
        libc::S_IFLNK => "l",
        libc::S_IFIFO => "p",
        libc::S_IFSOCK => "s",
        _ => "f",
    };
    let target = std::fs::read_link(path)
        .ok()
        .map(|t| t.to_string_lossy().into_owned());
    let v = serde_json::json!({
        "type": kind,
        "mode": format!("{:04o}", st.st_mode & 0o7777),
        "uid": st.st_uid, "gid": st.st_gid,
        "major": libc::major(st.st_rdev), "minor": libc::minor(st.st_rdev),
        "size": st.st_size, "ino": st.st_ino, "dev": st.st_dev,
        "target": if kind == "l" { target } else { None },
    });
    println!("{v}");
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

fn sleep(secs: &str) {
    // As pid 1 of a pid namespace, signals without a handler are ignored; die on them instead.
    for s in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: installing a handler that only calls _exit.
        unsafe { libc::signal(s, exit_on_signal as extern "C" fn(libc::c_int) as usize) };
    }
    let d: f64 = secs.parse().unwrap_or_else(|_| {
        eprintln!("probe: bad seconds {secs:?}");
        exit(2)
    });
    std::thread::sleep(std::time::Duration::from_secs_f64(d));
}

/// Print each signal received (one name a line), until SIGTERM.
fn signals() {
    // SAFETY: sigset manipulation on a local set; blocked signals are never "ignored" for pid 1.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        println!("ready");
        let _ = std::io::stdout().flush();
        loop {
            let s = libc::sigwaitinfo(&set, std::ptr::null_mut());
            if s < 0 {
                continue;
            }
            println!("{}", signal_name(s));
            let _ = std::io::stdout().flush();
            if s == libc::SIGTERM {
                return;
            }
        }
    }
}

/// Allocate and touch MB mebibytes (a memory hog for cgroup limit tests), then print "ok".
fn alloc(mb: &str) {
    let mb: usize = mb.parse().unwrap_or(0);
    let mut chunks: Vec<Vec<u8>> = Vec::with_capacity(mb);
    for _ in 0..mb {
        // Non-zero bytes so every page is really faulted in and charged.
        chunks.push(vec![1u8; 1 << 20]);
    }
    println!("ok {}", chunks.len());
}

/// Fork N children that wait; print "ok N" or the errno of the first failing fork.
/// The children are killed and reaped either way.
fn fork_n(n: &str) {
    let n: usize = n.parse().unwrap_or(0);
    let mut kids = Vec::new();
    let mut failed = None;
    for _ in 0..n {
        // SAFETY: the child only calls async-signal-safe pause/_exit.
        match unsafe { libc::fork() } {
            0 => loop {
                // SAFETY: plain syscall in the child.
                unsafe { libc::pause() };
            },
            -1 => {
                failed = Some(last_errno());
                break;
            }
            pid => kids.push(pid),
        }
    }
    for &k in &kids {
        // SAFETY: plain syscalls on our own children.
        unsafe {
            libc::kill(k, libc::SIGKILL);
            libc::waitpid(k, std::ptr::null_mut(), 0);
        }
    }
    match failed {
        Some(e) => fail("fork", &format!("#{}", kids.len() + 1), e),
        None => println!("ok {}", kids.len()),
    }
}

fn exec(args: &[String]) -> ! {
    let c: Vec<CString> = args.iter().map(|a| cstr(a)).collect();
    let mut ptrs: Vec<*const libc::c_char> = c.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NULL-terminated argv of valid C strings.
    unsafe { libc::execv(ptrs[0], ptrs.as_ptr()) };
    fail("exec", &args[0], last_errno())
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| -> &str {
        a.get(i).map(String::as_str).unwrap_or_else(|| {
            eprintln!("{USAGE}");
            exit(2)
        })
    };
    match arg(1) {
        "report" => println!("{}", report::report()),
        "ns-owners" => println!("{}", report::namespace_owners()),
        "write" => write_file(
            arg(2),
            a.get(3).map(String::as_str).unwrap_or("probe\n").as_bytes(),
            libc::O_TRUNC,
        ),
        "append" => write_file(arg(2), arg(3).as_bytes(), libc::O_APPEND),
        "read" => read_file(arg(2)),
        "mkdir" => {
            let p = cstr(arg(2));
            // SAFETY: valid C string.
            check(unsafe { libc::mkdir(p.as_ptr(), 0o755) }, "mkdir", arg(2));
        }
        "unlink" => {
            let p = cstr(arg(2));
            // SAFETY: valid C string.
            check(unsafe { libc::unlink(p.as_ptr()) }, "unlink", arg(2));
        }
        "mknod" => {
            let p = cstr(arg(2));
            let (kind, maj, min) = if a.len() >= 6 {
                (
                    arg(3),
                    arg(4).parse().unwrap_or(1),
                    arg(5).parse().unwrap_or(3),
                )
            } else {
                ("c", 1, 3)
            };
            let t = if kind == "b" {
                libc::S_IFBLK
            } else {
                libc::S_IFCHR
            };
            // SAFETY: valid C string.
            check(
                unsafe { libc::mknod(p.as_ptr(), t | 0o666, libc::makedev(maj, min)) },
                "mknod",
                arg(2),
            );
        }
        "stat" => stat(arg(2), true),
        "lstat" => stat(arg(2), false),
        "exec" => exec(&a[2..]),
        "chdir" => {
            let p = cstr(arg(2));
            // SAFETY: valid C string.
            check(unsafe { libc::chdir(p.as_ptr()) }, "chdir", arg(2));
        }
        "sleep" => sleep(arg(2)),
        "exit" => exit(arg(2).parse().unwrap_or(2)),
        "signals" => signals(),
        "sysctl" => {
            let path = format!("/proc/sys/{}", arg(2).replace('.', "/"));
            match std::fs::read_to_string(&path) {
                Ok(s) => println!("{}", s.trim_end()),
                Err(e) => fail("read", &path, e.raw_os_error().unwrap_or(0)),
            }
        }
        "kill" => {
            let pid: i32 = arg(2).parse().unwrap_or(0);
            let sig: i32 = arg(3).parse().unwrap_or(0);
            // SAFETY: plain syscall.
            check(unsafe { libc::kill(pid, sig) }, "kill", arg(2));
        }
        "fd-count" => println!(
            "{}",
            std::fs::read_dir("/proc/self/fd")
                .map(|d| d.count() - 1)
                .unwrap_or(0)
        ),
        "open" => open_only(arg(2), arg(3)),
        "readlink" => match std::fs::read_link(arg(2)) {
            Ok(t) => println!("{}", t.to_string_lossy()),
            Err(e) => fail("readlink", arg(2), e.raw_os_error().unwrap_or(0)),
        },
        "recv-console" => console::recv_console(arg(2)),
        "syscall" => syscall::syscall(arg(2), &a[3..]),
        "syscall32" => syscall::syscall32(arg(2)),
        "syscallx32" => syscall::syscallx32(arg(2)),
        "socket" => syscall::socket(
            arg(2),
            a.get(3).map(String::as_str),
            a.get(4).map(String::as_str),
        ),
        "personality" => syscall::personality(arg(2)),
        "alloc" => alloc(arg(2)),
        "fork" => fork_n(arg(2)),
        _ => {
            eprintln!("{USAGE}");
            exit(2)
        }
    }
}
