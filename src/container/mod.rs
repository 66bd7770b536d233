//! Runs inside the container's namespaces: the init sequence and the steps it calls.

pub mod caps;
pub mod console;
pub mod exec;
pub mod exec_flow;
pub mod fds;
pub mod identity;
pub mod init_flow;
pub mod labels;
pub mod namespaces;
pub mod parent_death;
pub mod procfs;
pub mod rootfs;
pub mod seccomp;
