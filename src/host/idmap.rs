//! Writes the user namespace's id maps from the parent, which holds the host privileges.

use nix::unistd::Pid;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("write {map:?} to {path:?}")]
pub struct IdMapError {
    map: String,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn write(pid: Pid, file: &str, map: &str) -> Result<(), IdMapError> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::write(&path, map).map_err(|source| IdMapError {
        map: map.trim_end().replace('\n', ", "),
        path,
        source,
    })
}

pub fn write_maps(pid: Pid, uid_map: &str, gid_map: &str) -> Result<(), IdMapError> {
    write(pid, "uid_map", uid_map)?;
    write(pid, "gid_map", gid_map)
}
