//! Container state under --root: id rules, the locked directory, status and liveness.

pub mod id;
pub mod liveness;
mod oci;
pub mod pid_file;
pub mod status;
pub mod store;

pub use status::Status;
pub use store::{ContainerDir, Saved, StoreError};
