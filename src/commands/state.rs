use super::CmdResult;
use crate::cli::{Global, IdArg};
use crate::host::lifecycle::Container;

pub fn run(g: &Global, a: &IdArg) -> CmdResult {
    // state only reads: it never waits for a lock another verb holds.
    let c = Container::peek(&g.root(), &a.id)?;
    println!("{}", serde_json::to_string_pretty(&c.oci_state())?);
    Ok(0)
}
