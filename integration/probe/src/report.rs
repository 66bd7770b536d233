//! `probe report`: one JSON object describing the process as it sees itself.

use serde_json::{json, Map, Value};
use std::ffi::CStr;
use std::fs;

fn read_trim(path: &str) -> Value {
    match fs::read(path) {
        Ok(b) => {
            let s = String::from_utf8_lossy(&b);
            Value::String(s.trim_end_matches(['\n', '\0']).to_string())
        }
        Err(_) => Value::Null,
    }
}

fn status_fields() -> Map<String, Value> {
    let mut m = Map::new();
    let text = fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            m.insert(k.to_string(), Value::String(v.trim().to_string()));
        }
    }
    m
}

fn ids() -> Value {
    let (mut r, mut e, mut s) = (0, 0, 0);
    let (mut gr, mut ge, mut gs) = (0, 0, 0);
    // SAFETY: plain out-parameters.
    unsafe {
        libc::getresuid(&mut r, &mut e, &mut s);
        libc::getresgid(&mut gr, &mut ge, &mut gs);
    }
    json!({"uid": r, "euid": e, "suid": s, "gid": gr, "egid": ge, "sgid": gs})
}

fn groups() -> Vec<u32> {
    let mut buf = vec![0 as libc::gid_t; 65536];
    // SAFETY: buf has room for the given count.
    let n = unsafe { libc::getgroups(buf.len() as i32, buf.as_mut_ptr()) };
    buf.truncate(n.max(0) as usize);
    buf
}

fn uname() -> (String, String) {
    // SAFETY: utsname is plain data, filled by the kernel.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut u) };
    let f = |a: &[libc::c_char]| {
        unsafe { CStr::from_ptr(a.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    (f(&u.nodename), f(&u.domainname))
}

const RLIMITS: [(&str, i32); 16] = [
    ("RLIMIT_CPU", 0),
    ("RLIMIT_FSIZE", 1),
    ("RLIMIT_DATA", 2),
    ("RLIMIT_STACK", 3),
    ("RLIMIT_CORE", 4),
    ("RLIMIT_RSS", 5),
    ("RLIMIT_NPROC", 6),
    ("RLIMIT_NOFILE", 7),
    ("RLIMIT_MEMLOCK", 8),
    ("RLIMIT_AS", 9),
    ("RLIMIT_LOCKS", 10),
    ("RLIMIT_SIGPENDING", 11),
    ("RLIMIT_MSGQUEUE", 12),
    ("RLIMIT_NICE", 13),
    ("RLIMIT_RTPRIO", 14),
    ("RLIMIT_RTTIME", 15),
];

fn lim(v: libc::rlim_t) -> Value {
    if v == libc::RLIM_INFINITY {
        Value::String("unlimited".into())
    } else {
        json!(v)
    }
}

fn rlimits() -> Value {
    let mut m = Map::new();
    for (name, res) in RLIMITS {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: out-parameter.
        if unsafe { libc::getrlimit(res as _, &mut rl) } == 0 {
            m.insert(
                name.into(),
                json!({"soft": lim(rl.rlim_cur), "hard": lim(rl.rlim_max)}),
            );
        }
    }
    Value::Object(m)
}

fn namespaces() -> Value {
    let mut m = Map::new();
    if let Ok(rd) = fs::read_dir("/proc/self/ns") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(t) = fs::read_link(e.path()) {
                let t = t.to_string_lossy().into_owned();
                let ino = t
                    .split_once('[')
                    .and_then(|(_, r)| r.trim_end_matches(']').parse::<u64>().ok());
                m.insert(name, ino.map(|i| json!(i)).unwrap_or(Value::String(t)));
            }
        }
    }
    Value::Object(m)
}

/// The inode of the user namespace that owns each of our namespaces (NS_GET_USERNS); null
/// where the kernel refuses (the owner is outside our user namespace, e.g. the host's). Not in
/// the report: it opens the ns files, which SELinux's container_t may not read.
pub fn namespace_owners() -> Value {
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    let mut m = Map::new();
    for name in ["mnt", "net", "ipc", "uts", "pid", "cgroup", "time"] {
        let path = std::ffi::CString::new(format!("/proc/self/ns/{name}")).unwrap();
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            continue;
        }
        let owner = unsafe { libc::ioctl(fd, NS_GET_USERNS as _) };
        unsafe { libc::close(fd) };
        if owner < 0 {
            m.insert(name.to_string(), Value::Null);
            continue;
        }
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::fstat(owner, &mut st) } == 0;
        unsafe { libc::close(owner) };
        m.insert(
            name.to_string(),
            if ok { json!(st.st_ino) } else { Value::Null },
        );
    }
    Value::Object(m)
}

/// Undo mountinfo's octal escapes (\040 for space etc.).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts() -> Value {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        if f.len() < sep + 4 || sep < 6 {
            continue;
        }
        v.push(json!({
            "id": f[0].parse::<u64>().unwrap_or(0),
            "parent": f[1].parse::<u64>().unwrap_or(0),
            "dev": f[2],
            "root": unescape(f[3]),
            "mountpoint": unescape(f[4]),
            "options": f[5].split(',').collect::<Vec<_>>(),
            "optional": f[6..sep].to_vec(),
            "fstype": f[sep + 1],
            "source": unescape(f[sep + 2]),
            "super": f[sep + 3].split(',').collect::<Vec<_>>(),
        }));
    }
    Value::Array(v)
}

fn fds() -> Value {
    let names: Vec<String> = fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut m = Map::new();
    // The read_dir fd is closed by now, so its readlink fails and it is skipped.
    for n in names {
        if let Ok(t) = fs::read_link(format!("/proc/self/fd/{n}")) {
            m.insert(n, Value::String(t.to_string_lossy().into_owned()));
        }
    }
    Value::Object(m)
}

fn tty() -> Value {
    let mut m = Map::new();
    for fd in 0..3 {
        // SAFETY: isatty only inspects the fd.
        m.insert(
            fd.to_string(),
            Value::Bool(unsafe { libc::isatty(fd) } == 1),
        );
    }
    Value::Object(m)
}

pub fn report() -> Value {
    let st = status_fields();
    let g = |k: &str| st.get(k).cloned().unwrap_or(Value::Null);
    let (hostname, domainname) = uname();
    let env: Map<String, Value> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                Value::String(v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| e.to_string());
    let umask = st.get("Umask").and_then(|v| v.as_str()).map(str::to_string);
    // SAFETY: trivial getters.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    json!({
        "ids": ids(),
        "uid": ids()["uid"], "gid": ids()["gid"],
        "groups": groups(),
        "umask": umask,
        "cwd": cwd.unwrap_or_else(|e| format!("ERROR: {e}")),
        "hostname": hostname,
        "domainname": domainname,
        "env": env,
        "args": std::env::args().collect::<Vec<_>>(),
        "exe": fs::read_link("/proc/self/exe").map(|p| p.to_string_lossy().into_owned()).ok(),
        "caps": {"inh": g("CapInh"), "prm": g("CapPrm"), "eff": g("CapEff"), "bnd": g("CapBnd"), "amb": g("CapAmb")},
        "no_new_privs": g("NoNewPrivs"),
        "seccomp": g("Seccomp"),
        "seccomp_filters": g("Seccomp_filters"),
        "attr_current": read_trim("/proc/self/attr/current"),
        "rlimits": rlimits(),
        "oom_score_adj": read_trim("/proc/self/oom_score_adj").as_str().and_then(|s| s.parse::<i64>().ok()),
        "cgroup": read_trim("/proc/self/cgroup").as_str().map(|s| s.lines().map(str::to_string).collect::<Vec<_>>()),
        "ns": namespaces(),
        "mounts": mounts(),
        "fds": fds(),
        "tty": tty(),
        "pid": pid,
        "ppid": ppid,
        "uid_map": read_trim("/proc/self/uid_map"),
        "gid_map": read_trim("/proc/self/gid_map"),
        "setgroups": read_trim("/proc/self/setgroups"),
    })
}
