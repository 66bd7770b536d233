use super::CmdResult;
use crate::cli::{Global, ListArgs};
use crate::host::lifecycle::{Container, LifecycleError};
use crate::state::StoreError;

pub fn run(g: &Global, a: &ListArgs) -> CmdResult {
    let mut states = Vec::new();
    for id in crate::state::store::list_ids(&g.root())? {
        match Container::peek(&g.root(), &id) {
            Ok(c) => states.push(c.oci_state()),
            // A container deleted while we list is simply not listed.
            Err(LifecycleError::Store(StoreError::NotExist(_))) => {}
            // As runc: a bad entry is reported and the others are still listed.
            Err(e) => eprintln!("brick: list: container {id:?}: {}", crate::error::chain(&e)),
        }
    }
    if a.quiet {
        for s in &states {
            println!("{}", s["id"].as_str().unwrap_or_default());
        }
    } else if a.format == "json" {
        println!("{}", serde_json::to_string(&states)?);
    } else {
        print!("{}", crate::format::list_table(&states));
    }
    Ok(0)
}
