//! Small file helpers for cgroupfs whose errors name the file and the value.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use super::CgroupError;

/// Write `value` to `dir/name` in a single write(2), as cgroupfs parses one value per write.
pub fn write_file(dir: &Path, name: &str, value: &str) -> Result<(), CgroupError> {
    OpenFile::write_first(dir, name, value).map(drop)
}

/// A cgroupfs file kept open for more values, one write(2) each (v1 device rules).
pub struct OpenFile {
    path: PathBuf,
    file: fs::File,
}

impl OpenFile {
    /// Open `dir/name` and write its first value; an open error names that value too.
    pub fn write_first(dir: &Path, name: &str, value: &str) -> Result<OpenFile, CgroupError> {
        let path = dir.join(name);
        let mut f = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => OpenFile { path, file },
            Err(source) => {
                return Err(CgroupError::Write {
                    path,
                    value: value.to_string(),
                    source,
                })
            }
        };
        f.write(value)?;
        Ok(f)
    }

    pub fn write(&mut self, value: &str) -> Result<(), CgroupError> {
        self.file
            .write_all(value.as_bytes())
            .map_err(|source| CgroupError::Write {
                path: self.path.clone(),
                value: value.to_string(),
                source,
            })
    }
}

/// Read `dir/name` as text with the trailing newline removed.
pub fn read_file(dir: &Path, name: &str) -> Result<String, CgroupError> {
    let path = dir.join(name);
    match crate::small_file::read(&path) {
        Ok(s) => Ok(s.trim_end_matches('\n').to_string()),
        Err(source) => Err(CgroupError::Read { path, source }),
    }
}

/// Read `dir/name` as an unsigned number; "max" reads as u64::MAX.
pub fn read_u64(dir: &Path, name: &str) -> Result<u64, CgroupError> {
    let text = read_file(dir, name)?;
    parse_u64(&text).ok_or_else(|| CgroupError::Parse {
        path: dir.join(name),
        text,
    })
}

/// Parse one cgroupfs number; "max" is unlimited.
pub fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "max" {
        return Some(u64::MAX);
    }
    t.parse().ok()
}

/// Whether `dir/name` exists (controllers differ by kernel and scheduler).
pub fn has_file(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

/// Create `dir` and every missing parent; returns the directories it made, outermost first.
pub fn mkdir_all(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut made = Vec::new();
    match mkdir_parents(dir, &mut made) {
        Ok(()) => Ok(made),
        Err(e) => {
            remove_dirs(&made);
            Err(e)
        }
    }
}

// mkdir first and parents only on ENOENT: one syscall per hierarchy when the parent exists.
fn mkdir_parents(p: &Path, made: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
    let err = |source| CgroupError::Mkdir {
        path: p.to_path_buf(),
        source,
    };
    match fs::create_dir(p) {
        Ok(()) => made.push(p.to_path_buf()),
        // Another container's create may have made a shared parent meanwhile.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let parent = p.parent().ok_or_else(|| err(e))?;
            mkdir_parents(parent, made)?;
            match fs::create_dir(p) {
                Ok(()) => made.push(p.to_path_buf()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(source) => return Err(err(source)),
            }
        }
        Err(source) => return Err(err(source)),
    }
    Ok(())
}

/// Best-effort removal of directories this process made, innermost first (cleanup path only).
pub fn remove_dirs(made: &[PathBuf]) {
    for p in made.iter().rev() {
        // A shared parent stays if another cgroup appeared in it (EBUSY); that is correct.
        let _ = fs::remove_dir(p);
    }
}

/// Removed, or already gone; false for anything else (busy, sub-cgroups) without a retry.
pub fn rmdir_if_idle(dir: &Path) -> bool {
    match fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == ErrorKind::NotFound,
    }
}

/// Remove a cgroup directory and any sub-cgroups the container made, retrying while busy.
pub fn rmdir_tree(dir: &Path) -> Result<(), CgroupError> {
    // Most cgroups have no sub-cgroups: try the rmdir before listing the directory.
    match fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        // Only directories are sub-cgroups; cgroupfs control files are regular files.
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            rmdir_tree(&entry.path())?;
        }
    }
    let mut tries = 0;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            // Exiting tasks keep a cgroup busy for a moment after SIGKILL.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 100 => {
                tries += 1;
                sleep(Duration::from_millis(10 * tries.min(10)));
            }
            Err(source) => {
                return Err(CgroupError::Rmdir {
                    path: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Pids listed in `dir/cgroup.procs` and in every sub-cgroup below it.
pub fn procs_recursive(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let text = match crate::small_file::read(dir.join("cgroup.procs")) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.join("cgroup.procs"),
                source,
            })
        }
    };
    out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                procs_recursive(&entry.path(), out)?;
            }
        }
    }
    Ok(())
}
