use super::CmdResult;
use crate::cli::{Global, ListArgs};
use crate::host::lifecycle::Container;

pub fn run(g: &Global, a: &ListArgs) -> CmdResult {
    let mut states = Vec::new();
    for id in crate::state::store::list_ids(&g.root)? {
        // A container deleted while we list is simply not listed.
        if let Ok(c) = Container::load(&g.root, &id) {
            states.push(c.oci_state());
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
