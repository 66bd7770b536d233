use super::CmdResult;
use crate::cli::{Global, PsArgs};
use crate::host::cgroup_verbs;

pub fn run(g: &Global, a: &PsArgs) -> CmdResult {
    if a.format == "json" {
        println!(
            "{}",
            serde_json::to_string(&cgroup_verbs::pids(&g.root(), &a.id)?)?
        );
    } else {
        print!("{}", cgroup_verbs::ps_table(&g.root(), &a.id, &a.ps_args)?);
    }
    Ok(0)
}
