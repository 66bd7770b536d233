//! Writes the user namespace's id maps from the parent: directly as root, or as a normal user
//! directly for a map of its own id alone (with setgroups denied, as the kernel requires) and
//! through newuidmap/newgidmap (the subordinate ranges of /etc/subuid) for anything more.

use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use thiserror::Error;

pub use crate::plan::namespaces::MapWriter as Writer;

#[derive(Debug, Error)]
pub enum IdMapError {
    #[error("write {map:?} to {path:?}")]
    Write {
        map: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{helper} for {map:?}: run it (Debian's uidmap package has it)")]
    Helper {
        helper: &'static str,
        map: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{helper} for {map:?} failed ({status}): {stderr} (are the ranges in /etc/sub{kind}?)"
    )]
    HelperFailed {
        helper: &'static str,
        map: String,
        kind: &'static str,
        status: String,
        stderr: String,
    },
}

fn shown(map: &str) -> String {
    map.trim_end().replace('\n', ", ")
}

fn write(pid: Pid, file: &str, map: &str) -> Result<(), IdMapError> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::write(&path, map).map_err(|source| IdMapError::Write {
        map: shown(map),
        path,
        source,
    })
}

/// A map of `id` alone ("N id 1"): the one a user may write without a helper.
fn only_own(map: &str, id: u32) -> bool {
    let lines: Vec<Vec<&str>> = map
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    match lines.as_slice() {
        [l] => l.len() == 3 && l[1] == id.to_string() && l[2] == "1",
        _ => false,
    }
}

fn helper(helper: &'static str, kind: &'static str, pid: Pid, map: &str) -> Result<(), IdMapError> {
    let out = Command::new(helper)
        .arg(pid.to_string())
        .args(map.split_whitespace())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| IdMapError::Helper {
            helper,
            map: shown(map),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(IdMapError::HelperFailed {
        helper,
        map: shown(map),
        kind,
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

pub fn write_maps(pid: Pid, uid_map: &str, gid_map: &str, w: Writer) -> Result<(), IdMapError> {
    if !w.rootless {
        write(pid, "uid_map", uid_map)?;
        return write(pid, "gid_map", gid_map);
    }
    if only_own(uid_map, w.euid) {
        write(pid, "uid_map", uid_map)?;
    } else {
        helper("newuidmap", "uid", pid, uid_map)?;
    }
    if only_own(gid_map, w.egid) {
        // Without CAP_SETGID in the parent namespace the kernel takes a gid map only after
        // setgroups is denied (else the user could drop a group that denies it access).
        write(pid, "setgroups", "deny")?;
        write(pid, "gid_map", gid_map)
    } else {
        helper("newgidmap", "gid", pid, gid_map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_map_of_the_own_id_is_written_without_a_helper() {
        assert!(only_own("0 1000 1\n", 1000));
        assert!(only_own("5 1000 1\n", 1000));
        assert!(!only_own("0 1000 2\n", 1000));
        assert!(!only_own("0 1001 1\n", 1000));
        assert!(!only_own("0 1000 1\n1 100000 65536\n", 1000));
        assert!(!only_own("", 1000));
    }
}
