use super::CmdResult;
use crate::cli::{DeleteArgs, Global};
use crate::host::lifecycle::{Container, LifecycleError};
use crate::state::StoreError;

pub fn run(g: &Global, a: &DeleteArgs) -> CmdResult {
    match Container::load(&g.root, &a.id) {
        Ok(c) => c.delete(a.force)?,
        // As runc: deleting a container that is already gone is fine when forced.
        Err(LifecycleError::Store(StoreError::NotExist(_))) if a.force => {}
        Err(e) => return Err(e.into()),
    }
    Ok(0)
}
