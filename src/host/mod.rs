//! Runs in brick's own namespaces: the create, start, exec and delete sequences, id maps,
//! the namespaces joined around clone, the terminal.

pub mod cgroup_verbs;
pub mod create_flow;
pub mod exec_flow;
pub mod exec_tty;
pub mod foreground;
pub mod idmap;
pub mod launch;
pub mod lifecycle;
pub mod nsenter;
