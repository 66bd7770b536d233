use super::CmdResult;
use crate::cli::{Global, IdArg};
use crate::host::cgroup_verbs;

pub fn run(g: &Global, a: &IdArg) -> CmdResult {
    cgroup_verbs::pause(&g.root(), &a.id)?;
    Ok(0)
}
