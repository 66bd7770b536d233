//! cgroup2 device rules: compile them to a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::devices::DeviceRule;
use super::CgroupError;

const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const ATTACH_CGROUP_DEVICE: u32 = 6;
const F_ALLOW_MULTI: u32 = 2;
const CMD_PROG_LOAD: i64 = 5;
const CMD_PROG_ATTACH: i64 = 8;
const CMD_PROG_DETACH: i64 = 9;
const CMD_PROG_GET_FD_BY_ID: i64 = 13;
const CMD_PROG_QUERY: i64 = 16;

const LDX_W: u8 = 0x61;
const MOV_X: u8 = 0xbf;
const MOV_K: u8 = 0xb7;
const AND_K: u8 = 0x57;
const RSH_K: u8 = 0x77;
const JNE_K: u8 = 0x55;
const JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;
/// Placeholder offset of a jump to the end of the current rule's block.
const TO_NEXT: i16 = i16::MIN;

/// One eBPF instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

impl Insn {
    fn bytes(self) -> [u8; 8] {
        #[cfg(target_endian = "little")]
        let regs = self.dst | (self.src << 4);
        #[cfg(target_endian = "big")]
        let regs = (self.dst << 4) | self.src;
        let o = self.off.to_ne_bytes();
        let i = self.imm.to_ne_bytes();
        [self.code, regs, o[0], o[1], i[0], i[1], i[2], i[3]]
    }
}

/// The kernel's access bits for a device cgroup program: mknod 1, read 2, write 4.
fn access_mask(access: &str) -> i32 {
    access.chars().fold(0, |m, c| match c {
        'm' => m | 1,
        'r' => m | 2,
        'w' => m | 4,
        _ => m,
    })
}

fn imm(what: &'static str, v: i64) -> Result<i32, CgroupError> {
    i32::try_from(v).map_err(|_| CgroupError::InvalidValue {
        what,
        value: v.to_string(),
        reason: "out of range",
    })
}

/// Compile rules to a program. The last matching rule decides, so rules are tested newest first;
/// nothing matching means deny, the implied deny-all that precedes every rule list.
/// A rule that matches every access ends the program: the verifier refuses unreachable code.
pub fn program(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    // r1 = ctx {access_type, major, minor}; r3 = device type, r4 = access, r5 = major, r6 = minor.
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(MOV_X, 3, 2, 0, 0),
        insn(AND_K, 3, 0, 0, 0xffff),
        insn(MOV_X, 4, 2, 0, 0),
        insn(RSH_K, 4, 0, 0, 16),
        insn(LDX_W, 5, 1, 4, 0),
        insn(LDX_W, 6, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        let mut b = Vec::new();
        if r.kind != 'a' {
            b.push(insn(
                JNE_K,
                3,
                0,
                TO_NEXT,
                if r.kind == 'b' { 1 } else { 2 },
            ));
            if let Some(m) = r.major {
                b.push(insn(JNE_K, 5, 0, TO_NEXT, imm("device major", m)?));
            }
            if let Some(m) = r.minor {
                b.push(insn(JNE_K, 6, 0, TO_NEXT, imm("device minor", m)?));
            }
        }
        let mask = access_mask(&r.access);
        let always = b.is_empty() && mask == 7;
        if mask != 7 {
            b.push(insn(MOV_X, 7, 4, 0, 0));
            if r.allow {
                // An allow rule covers a request only if it grants every requested bit.
                b.push(insn(AND_K, 7, 0, 0, !mask & 7));
                b.push(insn(JNE_K, 7, 0, TO_NEXT, 0));
            } else {
                // A deny rule applies if it names any requested bit.
                b.push(insn(AND_K, 7, 0, 0, mask));
                b.push(insn(JEQ_K, 7, 0, TO_NEXT, 0));
            }
        }
        b.push(insn(MOV_K, 0, 0, 0, i32::from(r.allow)));
        b.push(insn(EXIT, 0, 0, 0, 0));
        let len = b.len();
        for (i, ins) in b.iter_mut().enumerate() {
            if ins.off == TO_NEXT {
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(b);
        if always {
            return Ok(p);
        }
    }
    p.push(insn(MOV_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    Ok(p)
}

/// A zeroed `union bpf_attr`, filled field by field at the uapi offsets.
struct Attr([u64; 16]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 16])
    }
    fn u32(mut self, off: usize, v: u32) -> Attr {
        let word = &mut self.0[off / 8];
        let mut b = word.to_ne_bytes();
        b[off % 8..off % 8 + 4].copy_from_slice(&v.to_ne_bytes());
        *word = u64::from_ne_bytes(b);
        self
    }
    fn u64(mut self, off: usize, v: u64) -> Attr {
        self.0[off / 8] = v;
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        let b = self.0[off / 8].to_ne_bytes();
        let mut v = [0u8; 4];
        v.copy_from_slice(&b[off % 8..off % 8 + 4]);
        u32::from_ne_bytes(v)
    }
    fn call(&mut self, cmd: i64) -> Result<i64, Errno> {
        let size = size_of_val(&self.0);
        // SAFETY: the attr buffer is valid (and writable, for results) for its whole size.
        let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, self.0.as_mut_ptr(), size) };
        Errno::result(r)
    }
}

fn fd_result(r: i64) -> OwnedFd {
    // SAFETY: the bpf syscall returned a new fd (always close-on-exec) that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

fn bpf_err<'a>(op: &'static str, dir: &'a Path) -> impl Fn(Errno) -> CgroupError + 'a {
    move |source| CgroupError::Bpf {
        op,
        path: dir.to_path_buf(),
        source,
    }
}

/// Replace the device programs of cgroup2 directory `dir` with one enforcing `rules`.
pub fn apply(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let prog = program(rules)?;
    let code: Vec<[u8; 8]> = prog.iter().map(|i| i.bytes()).collect();
    let license = c"Apache-2.0";
    let cg = open(
        dir,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|source| CgroupError::Open {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut old_ids = [0u32; 64];
    let mut query = Attr::new()
        .u32(0, cg.as_raw_fd() as u32)
        .u32(4, ATTACH_CGROUP_DEVICE)
        .u64(16, old_ids.as_mut_ptr() as u64)
        .u32(24, old_ids.len() as u32);
    query
        .call(CMD_PROG_QUERY)
        .map_err(bpf_err("query programs", dir))?;
    let old_count = query.get_u32(24) as usize;
    let mut load = Attr::new()
        .u32(0, PROG_TYPE_CGROUP_DEVICE)
        .u32(4, code.len() as u32)
        .u64(8, code.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64);
    let prog_fd = fd_result(
        load.call(CMD_PROG_LOAD)
            .map_err(bpf_err("load program", dir))?,
    );
    Attr::new()
        .u32(0, cg.as_raw_fd() as u32)
        .u32(4, prog_fd.as_raw_fd() as u32)
        .u32(8, ATTACH_CGROUP_DEVICE)
        .u32(12, F_ALLOW_MULTI)
        .call(CMD_PROG_ATTACH)
        .map_err(bpf_err("attach program", dir))?;
    // The new program is in force before the old ones go, so there is no window without rules.
    for id in &old_ids[..old_count.min(old_ids.len())] {
        let by_id = Attr::new().u32(0, *id).call(CMD_PROG_GET_FD_BY_ID);
        let old = fd_result(by_id.map_err(bpf_err("open old program", dir))?);
        Attr::new()
            .u32(0, cg.as_raw_fd() as u32)
            .u32(4, old.as_raw_fd() as u32)
            .u32(8, ATTACH_CGROUP_DEVICE)
            .call(CMD_PROG_DETACH)
            .map_err(bpf_err("detach old program", dir))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "bpf_tests.rs"]
mod tests;
