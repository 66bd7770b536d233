use super::CmdResult;
use crate::cli::{ExecArgs, Global};
use crate::host::exec_flow;
use crate::plan::exec::ExecOptions;

/// Exits with the process's status (0 with --detach).
pub fn run(g: &Global, a: &ExecArgs) -> CmdResult {
    let opts = ExecOptions {
        args: a.args.clone(),
        tty: a.tty,
        console_socket: a.console_socket.clone(),
        cwd: a.cwd.clone(),
        env: a.env.clone(),
        user: a.user.clone(),
        additional_gids: a.additional_gids.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        apparmor: a.apparmor.clone(),
        process_label: a.process_label.clone(),
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        rootless: g.is_rootless(),
    };
    let cache = g.root().join(".seccomp-cache");
    Ok(exec_flow::exec(
        &g.root(),
        &a.id,
        &opts,
        a.process.as_deref(),
        Some(&cache),
    )?)
}
