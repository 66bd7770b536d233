//! The per-container directory under --root: claimed with mkdir, locked with flock, state
//! written with temp + rename so a reader never sees half a file.

use super::status::Status;
use crate::input_file::{self, InputFileError};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

pub const STATE_FILE: &str = "state.json";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("create state root {0:?}")]
    Root(PathBuf, #[source] io::Error),
    #[error("container with id {0:?} already exists")]
    Exists(String),
    #[error("container \"{0}\" does not exist")]
    NotExist(String),
    #[error("claim {0:?}")]
    Claim(PathBuf, #[source] io::Error),
    #[error("lock {0:?}")]
    Lock(PathBuf, #[source] nix::errno::Errno),
    #[error("lock {path:?}: still held after {secs} s by {holder}")]
    LockTimeout {
        path: PathBuf,
        secs: u64,
        holder: String,
    },
    #[error("write {0:?}")]
    Write(PathBuf, #[source] io::Error),
    #[error("read {0:?}")]
    Read(PathBuf, #[source] io::Error),
    #[error(transparent)]
    Input(InputFileError),
    #[error("parse {0:?}: {1}")]
    Parse(PathBuf, String),
    #[error("remove {0:?}")]
    Remove(PathBuf, #[source] io::Error),
}

/// What brick remembers about a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    pub id: String,
    /// The last status brick wrote; `status::current` turns it into the live one.
    pub status: Status,
    pub pid: i32,
    /// The init process's start time in clock ticks, so a reused pid is not mistaken for it.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Hooks still to run after create: poststart and poststop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The cgroup module's own record of what it created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<serde_json::Value>,
    /// linux.seccomp.listenerPath and listenerMetadata, for a notify fd that arrives at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_listener: Option<(PathBuf, Option<String>)>,
    /// Namespaces the init process owns (or joined), for `exec` and `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

/// How long a verb waits for another brick process to release a container's lock.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A container's directory, held open and (while `lock` lives) locked.
pub struct ContainerDir {
    pub id: String,
    pub path: PathBuf,
    lock: Option<Flock<File>>,
}

fn ensure_root(root: &Path) -> Result<(), StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(|e| StoreError::Root(root.to_path_buf(), e))
}

impl ContainerDir {
    /// Claims `root/id` for a new container; a duplicate id fails here, atomically.
    pub fn claim(root: &Path, id: &str) -> Result<Self, StoreError> {
        ensure_root(root)?;
        let path = root.join(id);
        match DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Exists(id.to_string()))
            }
            Err(e) => return Err(StoreError::Claim(path, e)),
        }
        let mut dir = ContainerDir {
            id: id.to_string(),
            path,
            lock: None,
        };
        dir.lock()?;
        Ok(dir)
    }

    /// Opens and locks an existing container's directory (waiting at most LOCK_TIMEOUT).
    pub fn open(root: &Path, id: &str) -> Result<Self, StoreError> {
        let mut dir = Self::peek(root, id)?;
        dir.lock()?;
        // A concurrent delete may have removed it while we waited for the lock.
        if !dir.path.is_dir() {
            return Err(StoreError::NotExist(id.to_string()));
        }
        Ok(dir)
    }

    /// An existing container's directory without its lock, for verbs that only read
    /// (state.json is replaced by rename, so a reader never sees half a file).
    pub fn peek(root: &Path, id: &str) -> Result<Self, StoreError> {
        let path = root.join(id);
        if !path.is_dir() {
            return Err(StoreError::NotExist(id.to_string()));
        }
        Ok(ContainerDir {
            id: id.to_string(),
            path,
            lock: None,
        })
    }

    /// flock with a deadline: a lock that outlives its holder must not hang a verb for ever.
    fn lock(&mut self) -> Result<(), StoreError> {
        let mut file = File::open(&self.path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::NotExist(self.id.clone()),
            _ => StoreError::Read(self.path.clone(), e),
        })?;
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(flock) => {
                    self.lock = Some(flock);
                    return Ok(());
                }
                Err((f, Errno::EWOULDBLOCK | Errno::EINTR)) if Instant::now() < deadline => {
                    file = f;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err((f, Errno::EWOULDBLOCK)) => {
                    return Err(StoreError::LockTimeout {
                        path: self.path.clone(),
                        secs: LOCK_TIMEOUT.as_secs(),
                        holder: lock_holder(&f),
                    })
                }
                Err((_, errno)) => return Err(StoreError::Lock(self.path.clone(), errno)),
            }
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn save(&self, saved: &Saved) -> Result<(), StoreError> {
        let dst = self.file(STATE_FILE);
        let tmp = self.file(".state.json.tmp");
        let body =
            serde_json::to_vec(saved).map_err(|e| StoreError::Parse(dst.clone(), e.to_string()))?;
        let write = || -> io::Result<()> {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&body)?;
            fs::rename(&tmp, &dst)
        };
        write().map_err(|e| StoreError::Write(dst.clone(), e))
    }

    /// None while create has claimed the id but not yet written any state.
    pub fn load(&self) -> Result<Option<Saved>, StoreError> {
        let path = self.file(STATE_FILE);
        match input_file::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Parse(path, e.to_string())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(StoreError::Input(e)),
        }
    }

    /// What can still be read from a state.json that does not load, for `delete --force`:
    /// each of `keys` whose value still parses, even in a truncated file.
    pub fn salvage(&self, keys: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        let bytes = input_file::read(&self.file(STATE_FILE)).unwrap_or_default();
        salvage_keys(&bytes, keys)
    }

    /// Removes the directory; the lock is released when `self` drops.
    pub fn remove(&self) -> Result<(), StoreError> {
        // Usually state.json is all there is: two unlinks instead of a directory walk.
        let _ = fs::remove_file(self.file(STATE_FILE));
        match fs::remove_dir(&self.path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(_) => {}
        }
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Remove(self.path.clone(), e)),
        }
    }
}

/// The first value after each `"key":` that parses whole; the rest of the file may be broken.
fn salvage_keys(bytes: &[u8], keys: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for key in keys {
        let pat = format!("\"{key}\":");
        let Some(at) = bytes.windows(pat.len()).position(|w| w == pat.as_bytes()) else {
            continue;
        };
        let rest = &bytes[at + pat.len()..];
        let mut values =
            serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>();
        if let Some(Ok(v)) = values.next() {
            out.insert(key.to_string(), v);
        }
    }
    out
}

/// Who holds a lock, as /proc/locks names it: the pid that took it (which may have exited,
/// with a child still holding the file).
fn lock_holder(file: &File) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = file.metadata() else {
        return "another process".into();
    };
    let locks = crate::small_file::read("/proc/locks").unwrap_or_default();
    let suffix = format!(":{} ", meta.ino());
    let pid = locks
        .lines()
        .filter(|l| l.contains("FLOCK") && !l.contains("->"))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let at = f.iter().position(|x| format!("{x} ").ends_with(&suffix))?;
            f.get(at.checked_sub(1)?)?.parse::<i32>().ok()
        });
    match pid {
        Some(p) if super::liveness::read_stat(p).is_some() => format!("pid {p}"),
        Some(p) => format!("a process that inherited it from pid {p} (exited)"),
        None => "another process".into(),
    }
}

/// Every container id under `root`, sorted (for `list`).
pub fn list_ids(root: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Read(root.to_path_buf(), e)),
    };
    let mut ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salvage_reads_what_a_truncated_state_still_holds() {
        let mut full = serde_json::to_vec(&saved("c1")).unwrap();
        let cut = full.len() - 3;
        full.truncate(cut);
        assert!(serde_json::from_slice::<Saved>(&full).is_err());
        let got = salvage_keys(&full, &["pid", "start_time", "id", "nothing"]);
        assert_eq!(got.get("pid"), Some(&serde_json::json!(1)));
        assert_eq!(got.get("start_time"), Some(&serde_json::json!(2)));
        assert_eq!(got.get("id"), Some(&serde_json::json!("c1")));
        assert!(!got.contains_key("nothing"));
        assert!(salvage_keys(b"\x00garbage", &["pid"]).is_empty());
    }

    fn tmp_root(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("brick-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }

    fn saved(id: &str) -> Saved {
        Saved {
            oci_version: "1.3.0".into(),
            id: id.into(),
            status: Status::Created,
            pid: 1,
            start_time: 2,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "now".into(),
            owner: String::new(),
            annotations: BTreeMap::new(),
            hooks: None,
            cgroup: None,
            seccomp_listener: None,
            config: None,
        }
    }

    #[test]
    fn claim_is_exclusive_and_state_round_trips() {
        let root = tmp_root("claim");
        let dir = ContainerDir::claim(&root, "c1").unwrap();
        assert!(matches!(
            ContainerDir::claim(&root, "c1"),
            Err(StoreError::Exists(_))
        ));
        assert!(dir.load().unwrap().is_none());
        dir.save(&saved("c1")).unwrap();
        let back = dir.load().unwrap().unwrap();
        assert_eq!(back.id, "c1");
        assert_eq!(back.status, Status::Created);
        assert_eq!(list_ids(&root).unwrap(), vec!["c1".to_string()]);
        dir.remove().unwrap();
        drop(dir);
        let err = ContainerDir::open(&root, "c1").err().unwrap();
        assert_eq!(err.to_string(), "container \"c1\" does not exist");
        let _ = fs::remove_dir_all(&root);
    }
}
