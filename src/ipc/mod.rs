//! Parent ⇄ child messages over a SEQPACKET socketpair, and the start gate.

pub mod channel;
pub mod gate;
pub mod protocol;

pub use channel::{Channel, IpcError};
pub use protocol::{ChildError, FromChild, ToChild};
