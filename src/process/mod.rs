//! Starting processes, for brick's own side and the container's alike: the one clone into new
//! namespaces (spawn) and OCI hooks (hooks). Neither depends on host/ or container/.

pub mod hooks;
pub mod spawn;
