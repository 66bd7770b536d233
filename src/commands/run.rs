use super::{launch_options, CmdResult};
use crate::cli::{Global, RunArgs};
use crate::host::create_flow::Console;
use crate::host::lifecycle::Container;
use crate::host::{exec_tty, foreground};

/// create + start, then (unless --detach) wait, forward signals, delete, exit with its status.
pub fn run(g: &Global, a: &RunArgs) -> CmdResult {
    let bundle = a.opts.bundle.clone().unwrap_or_else(|| ".".into());
    let (dir, created, saved) = crate::host::launch::launch(
        &g.root(),
        &a.id,
        &bundle,
        &launch_options(g, &a.opts),
        // A terminal without --console-socket in the foreground: brick holds the pty itself.
        match (&a.opts.console_socket, a.detach) {
            (None, false) => Console::Proxy,
            (path, _) => Console::Socket(path.as_deref()),
        },
        a.opts.pid_file.as_deref(),
    )?;
    let signals = if a.detach {
        None
    } else {
        Some(foreground::block()?)
    };
    // Still locked since create: start from what create saved, without reading it back.
    let mut c = Container {
        dir,
        saved: Some(saved),
    };
    if let Err(e) = c.start() {
        // The start error is what the user gets; a cleanup failure is said as well.
        if let Err(d) = c.delete(true) {
            crate::log::warn(&format!(
                "delete after a failed start: {}",
                crate::error::chain(&d)
            ));
        }
        return Err(e.into());
    }
    let Some(set) = signals else {
        return Ok(0);
    };
    drop(c);
    let code = match &created.console {
        Some(sock) => exec_tty::proxy(exec_tty::recv_master(sock)?, created.pid, &set)?,
        None => foreground::wait(created.pid, &set)?,
    };
    if !a.keep {
        Container::load(&g.root(), &a.id)?.delete(true)?;
    }
    Ok(code)
}
