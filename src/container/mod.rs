//! Runs inside the container's namespaces: the init sequence and the steps it calls.

pub mod caps;
mod child;
pub mod console;
mod credentials;
pub mod exec;
pub mod exec_flow;
mod exec_ops;
pub mod fds;
pub mod identity;
pub mod init_flow;
mod init_ops;
pub mod labels;
pub mod namespaces;
pub mod parent_death;
pub mod procfs;
pub mod rootfs;
pub mod seccomp;
mod stage;
pub mod steps;

#[cfg(test)]
mod flow_tests;
