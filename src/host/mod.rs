//! Runs in brick's own namespaces: spawning, the create sequence, id maps, hooks.

pub mod cgroup_verbs;
pub mod create_flow;
pub mod exec_flow;
pub mod exec_tty;
pub mod foreground;
pub mod hooks;
pub mod idmap;
pub mod lifecycle;
pub mod nsenter;
pub mod resource_flags;
pub mod spawn;
