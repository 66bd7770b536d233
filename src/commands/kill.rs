use super::CmdResult;
use crate::cli::{Global, KillArgs};
use crate::host::lifecycle::Container;

pub fn run(g: &Global, a: &KillArgs) -> CmdResult {
    let sig = crate::signals::parse(&a.signal)?;
    Container::load(&g.root(), &a.id)?.kill(sig, a.all)?;
    Ok(0)
}
