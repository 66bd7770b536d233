use super::resource_flags;
use super::CmdResult;
use crate::cli::{EventsArgs, Global};
use crate::host::cgroup_verbs;

/// --stats prints one stats event; otherwise events stream until the container stops.
pub fn run(g: &Global, a: &EventsArgs) -> CmdResult {
    let interval = resource_flags::parse_duration(&a.interval)?;
    if a.stats {
        println!("{}", cgroup_verbs::stats(&g.root(), &a.id)?);
        return Ok(0);
    }
    cgroup_verbs::stream(&g.root(), &a.id, interval, &mut std::io::stdout().lock())?;
    Ok(0)
}
