use super::CmdResult;
use crate::cli::{Global, IdArg};
use crate::host::lifecycle::Container;

pub fn run(g: &Global, a: &IdArg) -> CmdResult {
    Container::load(&g.root(), &a.id)?.start()?;
    Ok(0)
}
