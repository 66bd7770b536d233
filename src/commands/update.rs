use super::resource_flags;
use super::CmdResult;
use crate::cli::{Global, UpdateArgs};
use crate::host::cgroup_verbs;

/// As runc: with --resources, the JSON is all that is applied and the other flags are ignored.
pub fn run(g: &Global, a: &UpdateArgs) -> CmdResult {
    let res = match &a.resources {
        Some(path) => cgroup_verbs::read_resources(path)?,
        None => resource_flags::from_flags(a)?,
    };
    cgroup_verbs::update(&g.root(), &a.id, &res)?;
    Ok(0)
}
