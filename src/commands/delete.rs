use super::CmdResult;
use crate::cli::{DeleteArgs, Global};
use crate::host::lifecycle;

pub fn run(g: &Global, a: &DeleteArgs) -> CmdResult {
    lifecycle::delete(&g.root(), &a.id, a.force)?;
    Ok(0)
}
