use super::{launch_options, CmdResult};
use crate::cli::{CreateArgs, Global};
use crate::host::create_flow;

pub fn run(g: &Global, a: &CreateArgs) -> CmdResult {
    let bundle = a.opts.bundle.clone().unwrap_or_else(|| ".".into());
    crate::host::launch::launch(
        &g.root(),
        &a.id,
        &bundle,
        &launch_options(g, &a.opts),
        create_flow::Console::Socket(a.opts.console_socket.as_deref()),
        a.opts.pid_file.as_deref(),
    )?;
    Ok(0)
}
