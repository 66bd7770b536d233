//! Reads a bundle: config.json parsed with oci-spec, the rootfs resolved against the bundle.

mod seccomp_names;
pub use seccomp_names::check_raw as check_seccomp_names;

use oci_spec::runtime::Spec;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("bundle {0:?}")]
    Dir(PathBuf, #[source] io::Error),
    #[error(transparent)]
    Read(#[from] crate::input_file::InputFileError),
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
    // Regular files only, size-capped: a FIFO or device as config.json must not hang create.
    let bytes = crate::input_file::read(&path)?;
    // Straight into the Spec when it fits; only a config that does not fit takes the slower
    // path through a JSON tree, whose errors name the field.
    // serde would also read a struct from an array ("[]" as an empty Spec): objects only.
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let spec = match serde_json::from_slice::<Spec>(&bytes) {
        Ok(spec) if object => spec,
        _ => parse_naming_field(&path, &bytes)?,
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
    if !raw.is_object() {
        return Err(BundleError::Parse {
            path,
            msg: format!(
                "the top level must be a JSON object, not {}",
                json_kind(&raw)
            ),
        });
    }
    // Seccomp names are checked on the raw JSON so the error names the exact field.
    if let Some(seccomp) = raw.pointer("/linux/seccomp") {
        seccomp_names::check_raw(seccomp).map_err(|e| BundleError::Parse {
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

/// "an array", "a string", ... for messages about a value of the wrong kind.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
