//! Reads a bundle: config.json parsed with oci-spec, the rootfs resolved against the bundle.

use oci_spec::runtime::Spec;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("bundle {0:?}")]
    Dir(PathBuf, #[source] io::Error),
    #[error("read {0:?}")]
    Read(PathBuf, #[source] io::Error),
    #[error("parse {path:?}: {msg}")]
    Parse { path: PathBuf, msg: String },
    #[error("config.json: root.path is missing")]
    NoRoot,
    #[error("root.path {0:?}")]
    Rootfs(PathBuf, #[source] io::Error),
    #[error("root.path {0:?} is not a directory")]
    RootfsNotDir(PathBuf),
}

pub struct Bundle {
    /// Absolute, symlink-free bundle directory.
    pub dir: PathBuf,
    pub spec: Spec,
    /// Absolute, symlink-free rootfs directory.
    pub rootfs: PathBuf,
}

/// Loads `dir/config.json`; a relative root.path is relative to the bundle, as the spec says.
pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
    let dir = fs::canonicalize(dir).map_err(|e| BundleError::Dir(dir.to_path_buf(), e))?;
    let path = dir.join("config.json");
    let bytes = fs::read(&path).map_err(|e| BundleError::Read(path.clone(), e))?;
    // Straight into the Spec when it fits; only a config that does not fit takes the slower
    // path through a JSON tree, whose errors name the field.
    let spec = match serde_json::from_slice::<Spec>(&bytes) {
        Ok(spec) => spec,
        Err(_) => parse_naming_field(&path, &bytes)?,
    };
    let root = spec.root().as_ref().ok_or(BundleError::NoRoot)?;
    let rootfs = dir.join(root.path());
    let rootfs =
        fs::canonicalize(&rootfs).map_err(|e| BundleError::Rootfs(root.path().clone(), e))?;
    if !rootfs.is_dir() {
        return Err(BundleError::RootfsNotDir(root.path().clone()));
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// The error of a config.json that is not a Spec, naming the field that does not fit.
fn parse_naming_field(path: &Path, bytes: &[u8]) -> Result<Spec, BundleError> {
    let path = path.to_path_buf();
    let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| BundleError::Parse {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    // Seccomp names are checked on the raw JSON so the error names the exact field.
    if let Some(seccomp) = raw.pointer("/linux/seccomp") {
        crate::plan::seccomp::check_raw(seccomp).map_err(|e| BundleError::Parse {
            path: path.clone(),
            msg: crate::error::chain(&e),
        })?;
    }
    // serde_path_to_error names the field (e.g. "process.args") that does not fit.
    serde_path_to_error::deserialize(raw).map_err(|e| BundleError::Parse {
        path,
        msg: format!("{}: {}", e.path(), e.inner()),
    })
}
