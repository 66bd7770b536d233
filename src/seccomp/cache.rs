//! On-disk cache of compiled seccomp programs, keyed by a hash of the profile and toolchain.
//!
//! Nothing read from the cache is trusted: the directory and file must belong to us and be
//! writable by nobody else, and the header must carry the key and a hash of the payload.
//! Any failure means "compile again"; the cache never makes compile() fail.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, openat, renameat, OFlag};
use nix::sys::stat::{fchmod, fstat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{geteuid, unlinkat, UnlinkatFlags};
use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"BRKSCMP\x01";
const HEADER_LEN: usize = 8 + 32 + 4 + 4 + 32;
/// Programs are at most 4096 instructions; names of skipped syscalls are short.
const MAX_FILE_LEN: usize = HEADER_LEN + super::MAX_INSNS * 8 + 64 * 1024;

/// What happened with the cache during one compile, for debug logs and measurements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache directory was given.
    Disabled,
    /// Used a verified entry; libseccomp was not called.
    Hit,
    /// Internal: no entry yet (becomes Stored).
    Miss,
    /// Compiled and stored a new entry.
    Stored,
    /// An entry failed verification (reason); compiled and replaced it.
    Rejected { reason: String },
    /// Compiled without the cache: directory unusable or the write failed (reason).
    Unusable { reason: String },
}

impl CacheStatus {
    pub(super) fn after_store(self) -> Self {
        match self {
            CacheStatus::Miss => CacheStatus::Stored,
            other => other,
        }
    }
}

pub(super) struct Entry {
    pub bpf: Vec<u8>,
    pub skipped: Vec<String>,
}

/// The build that compiles: version, commit and a hash of the compiler's sources (build.rs).
pub(super) const BUILD_ID: &str = env!("BRICK_BUILD_ID");

/// sha256 over a format tag, brick's build, the canonical JSON of the profile and `env` (what
/// else the output depends on: architecture, libseccomp, kernel; build_environment).
pub(super) fn key(seccomp: &LinuxSeccomp, env: &str) -> [u8; 32] {
    key_for_build(seccomp, BUILD_ID, env)
}

/// A program compiled by one build is never served to another, even if the tag was not bumped.
pub(super) fn key_for_build(seccomp: &LinuxSeccomp, build: &str, env: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    // Bumped whenever brick's own compile logic changes (v2: bad-arch action).
    h.update(b"brick seccomp cache v2\0");
    h.update(build.as_bytes());
    h.update(b"\0");
    // Struct serialization has a fixed field order, so equal profiles give equal bytes.
    h.update(serde_json::to_vec(seccomp).unwrap_or_default());
    h.update(b"\0");
    h.update(env.as_bytes());
    h.finalize().into()
}

fn file_name(key: &[u8; 32]) -> String {
    let mut s = String::with_capacity(68);
    for b in key {
        s.push_str(&format!("{b:02x}"));
    }
    s.push_str(".bpf");
    s
}

/// Ok(None) when there is no entry; Err(status) when the dir or entry cannot be trusted.
pub(super) fn load(dir: &Path, key: &[u8; 32]) -> Result<Option<Entry>, CacheStatus> {
    let dirfd = match open_dir(dir) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(unusable(format!("open {dir:?}: {e}"))),
    };
    trusted(&dirfd, SFlag::S_IFDIR).map_err(|r| unusable(format!("{dir:?}: {r}")))?;
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
    let fd = match openat(&dirfd, file_name(key).as_str(), flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(rejected(format!("open entry: {e}"))),
    };
    let st = trusted(&fd, SFlag::S_IFREG).map_err(rejected)?;
    if st.st_size < 0 || st.st_size as usize > MAX_FILE_LEN {
        return Err(rejected(format!("size {} out of range", st.st_size)));
    }
    let mut buf = Vec::with_capacity(st.st_size as usize);
    File::from(fd)
        .take(MAX_FILE_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| rejected(format!("read entry: {e}")))?;
    decode(&buf, key).map(Some).map_err(rejected)
}

/// Write atomically: a private temp file in the same directory, then rename over the entry.
pub(super) fn store(dir: &Path, key: &[u8; 32], entry: &Entry) -> Result<(), CacheStatus> {
    let dirfd = create_dir(dir).map_err(|e| unusable(format!("create {dir:?}: {e}")))?;
    trusted(&dirfd, SFlag::S_IFDIR).map_err(|r| unusable(format!("{dir:?}: {r}")))?;
    let name = file_name(key);
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mode = Mode::from_bits_truncate(0o600);
    let fd = openat(&dirfd, tmp.as_str(), flags, mode)
        .map_err(|e| unusable(format!("create temp entry: {e}")))?;
    let written = fchmod(&fd, mode)
        .map_err(std::io::Error::from)
        .and_then(|()| File::from(fd).write_all(&encode(key, entry)))
        .map_err(|e| format!("write temp entry: {e}"))
        .and_then(|()| {
            renameat(&dirfd, tmp.as_str(), &dirfd, name.as_str())
                .map_err(|e| format!("rename temp entry: {e}"))
        });
    if let Err(reason) = written {
        // Best effort: a leftover temp file is never read, only wastes space.
        let _ = unlinkat(&dirfd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(unusable(reason));
    }
    Ok(())
}

fn open_dir(dir: &Path) -> Result<OwnedFd, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    open(dir, flags, Mode::empty())
}

/// Open the cache directory, creating it (mode 0700, parents as needed) when missing.
fn create_dir(dir: &Path) -> Result<OwnedFd, Errno> {
    match open_dir(dir) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let (Some(parent), Some(leaf)) = (dir.parent(), dir.file_name()) else {
        return Err(Errno::EINVAL);
    };
    std::fs::create_dir_all(parent).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    let parent_fd = open_dir(parent)?;
    match mkdirat(&parent_fd, leaf, Mode::from_bits_truncate(0o700)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    open_dir(dir)
}

/// The object must be of `kind`, owned by our euid and not writable by group or others.
fn trusted<F: AsFd>(fd: F, kind: SFlag) -> Result<FileStat, String> {
    let st = fstat(fd).map_err(|e| format!("fstat: {e}"))?;
    if st.st_mode & SFlag::S_IFMT.bits() != kind.bits() {
        return Err(format!("unexpected file type {:o}", st.st_mode));
    }
    if st.st_uid != geteuid().as_raw() {
        return Err(format!("owned by uid {}, not {}", st.st_uid, geteuid()));
    }
    if st.st_mode & 0o022 != 0 {
        return Err(format!(
            "mode {:o} is group or world writable",
            st.st_mode & 0o7777
        ));
    }
    Ok(st)
}

pub(super) fn encode(key: &[u8; 32], entry: &Entry) -> Vec<u8> {
    let names = entry.skipped.join("\n").into_bytes();
    let mut payload = entry.bpf.clone();
    payload.extend_from_slice(&names);
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key);
    out.extend_from_slice(&(entry.bpf.len() as u32).to_le_bytes());
    out.extend_from_slice(&(names.len() as u32).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    out
}

pub(super) fn decode(buf: &[u8], key: &[u8; 32]) -> Result<Entry, String> {
    if buf.len() < HEADER_LEN || &buf[..8] != MAGIC {
        return Err("bad magic".into());
    }
    if &buf[8..40] != key {
        return Err("key mismatch".into());
    }
    let word = |at: usize| u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    let (bpf_len, names_len) = (word(40) as usize, word(44) as usize);
    let payload = &buf[HEADER_LEN..];
    if payload.len() != bpf_len.saturating_add(names_len) {
        return Err("length mismatch".into());
    }
    if Sha256::digest(payload).as_slice() != &buf[48..80] {
        return Err("payload hash mismatch".into());
    }
    let names = std::str::from_utf8(&payload[bpf_len..]).map_err(|_| "names are not UTF-8")?;
    Ok(Entry {
        bpf: payload[..bpf_len].to_vec(),
        skipped: names
            .split('\n')
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect(),
    })
}

fn rejected(reason: String) -> CacheStatus {
    CacheStatus::Rejected { reason }
}

fn unusable(reason: String) -> CacheStatus {
    CacheStatus::Unusable { reason }
}
