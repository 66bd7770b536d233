//! --pid-file, as engines read it: written with temp + rename, so a reader never sees an
//! empty or half-written file.

use std::path::Path;

pub fn write(path: &Path, pid: i32) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, pid.to_string())?;
    std::fs::rename(&tmp, path)
}
