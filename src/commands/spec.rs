use super::CmdResult;
use crate::cli::SpecArgs;

pub fn run(a: &SpecArgs) -> CmdResult {
    let dir = a.bundle.clone().unwrap_or_else(|| ".".into());
    crate::spec_default::write(&dir, a.rootless, a.runc_default)?;
    Ok(0)
}
