//! Build-time facts for the binary.
//! - BRICK_BUILD_ID: brick's version, commit and a hash of the seccomp compiler's sources and
//!   Cargo.lock, so a new build never loads a seccomp program cached by an older one.
//! - Optional link-time function order (bench/README.md, "Where the memory goes"): with
//!   BRICK_LINK_ORDER naming a symbol list, lld packs the functions a container's life touches
//!   together, so far fewer pages of brick are mapped at run time.
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=BRICK_LINK_ORDER");
    println!("cargo:rerun-if-env-changed=BRICK_COMMIT");
    if let Ok(path) = std::env::var("BRICK_LINK_ORDER") {
        println!("cargo:rerun-if-changed={path}");
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={path}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    let commit = std::env::var("BRICK_COMMIT").unwrap_or_else(|_| "unknown".into());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!(
        "cargo:rustc-env=BRICK_BUILD_ID={version}+{commit}+{}",
        compiler_hash()
    );
}

/// sha256 over the seccomp compiler's source files (sorted by path) and Cargo.lock.
fn compiler_hash() -> String {
    let mut files = vec![PathBuf::from("Cargo.lock")];
    collect(Path::new("src/seccomp"), &mut files);
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        h.update(f.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f).unwrap_or_default());
        h.update([0]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}
