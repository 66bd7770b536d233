//! brick: a hardened, runc-compatible OCI runtime. Modules in data-flow order.

pub mod cli;
pub mod commands;
pub mod error;
pub mod format;
pub mod input_file;
pub mod log;
pub mod lsm;
pub mod mountinfo;
pub mod signals;
pub mod small_file;
pub mod time;

pub mod bundle;
pub mod cgroups;
pub mod container;
pub mod host;
pub mod ipc;
pub mod plan;
pub mod process;
pub mod seccomp;
pub mod state;
pub mod validate;

pub mod features;
pub mod host_facts;
pub mod rootless;
pub mod spec_default;

/// The newest runtime-spec version brick implements.
pub const SPEC_VERSION: &str = "1.3.0";

/// What `--version` prints: brick's version, its commit, the spec version.
pub fn version_text() -> String {
    format!(
        "brick version {}\ncommit: {}\nspec: {}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("BRICK_COMMIT").unwrap_or("unknown"),
        SPEC_VERSION
    )
}
