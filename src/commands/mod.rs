//! One short file per verb: turn flags into calls; no syscalls here.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod resource_flags;
pub mod resume;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use crate::cli::{CgroupManager, Global};
use std::error::Error as StdError;

/// A command's failure: its chain is printed after "brick: <verb>: ".
pub type CmdResult = Result<i32, Box<dyn StdError + 'static>>;

impl Global {
    /// --root, or the default for who runs brick (rootless::default_state_root).
    pub fn root(&self) -> std::path::PathBuf {
        self.root_dir
            .clone()
            .unwrap_or_else(crate::rootless::default_state_root)
    }

    pub fn is_rootless(&self) -> bool {
        crate::rootless::detect(self.rootless.as_deref())
    }
}

/// Global options turned into what the launch needs.
pub fn launch_options(g: &Global, opts: &crate::cli::CreateOpts) -> crate::plan::LaunchOptions {
    crate::plan::LaunchOptions {
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        systemd_cgroup: g.systemd_cgroup || g.cgroup_manager == Some(CgroupManager::Systemd),
        no_cgroups: g.cgroup_manager == Some(CgroupManager::Disabled),
        seccomp_cache: Some(g.root().join(".seccomp-cache")),
        rootless: g.is_rootless(),
    }
}
