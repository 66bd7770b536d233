//! argv → cli → commands; prints the error chain as "brick: <verb>: ..." and sets the exit code.
// The CLI is tested through the binary (tests/cli.rs); a test build of this file is empty, so
// the harness's own main can run.
#![cfg(not(test))]
// std's start-up reads /proc/self/maps and maps a signal stack on every run; brick needs only
// what `process_start` below does.
#![no_main]

use brick::cli::{Cli, Command};
use brick::commands;
use clap::Parser;

fn verb(c: &Command) -> &'static str {
    match c {
        Command::Create(_) => "create",
        Command::Start(_) => "start",
        Command::State(_) => "state",
        Command::Kill(_) => "kill",
        Command::Delete(_) => "delete",
        Command::Run(_) => "run",
        Command::List(_) => "list",
        Command::Spec(_) => "spec",
        Command::Features => "features",
        Command::Pause(_) => "pause",
        Command::Resume(_) => "resume",
        Command::Update(_) => "update",
        Command::Ps(_) => "ps",
        Command::Events(_) => "events",
        Command::Exec(_) => "exec",
    }
}

/// The C entry point: stdio made safe and SIGPIPE ignored (as std's start-up would), then brick.
/// Every path ends in `std::process::exit`, which flushes stdout.
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    process_start();
    run();
    std::process::exit(0)
}

/// Closed stdio fds become /dev/null, so no file brick opens lands on 0-2 and gets our output;
/// SIGPIPE is ignored so a write to a gone reader is EPIPE (hooks' stdin), not death.
fn process_start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: a valid array of three pollfds and a zero timeout.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0 {
        for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
            // SAFETY: a static path; the lowest free fd is the closed one we are filling.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd != p.fd {
                std::process::exit(1);
            }
        }
    }
    // SAFETY: setting a disposition to SIG_IGN runs no code of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn run() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let g = &cli.global;
    let format = match g.log_format {
        brick::cli::LogFormat::Json => brick::log::Format::Json,
        brick::cli::LogFormat::Text => brick::log::Format::Text,
    };
    brick::log::init(g.log.as_deref(), format, g.debug);
    if g.version {
        print!("{}", brick::version_text());
        std::process::exit(0);
    }
    let Some(command) = &cli.command else {
        eprintln!("brick: no command given; see brick --help");
        std::process::exit(1);
    };
    let result = match command {
        Command::Create(a) => commands::create::run(g, a),
        Command::Start(a) => commands::start::run(g, a),
        Command::State(a) => commands::state::run(g, a),
        Command::Kill(a) => commands::kill::run(g, a),
        Command::Delete(a) => commands::delete::run(g, a),
        Command::Run(a) => commands::run::run(g, a),
        Command::List(a) => commands::list::run(g, a),
        Command::Spec(a) => commands::spec::run(a),
        Command::Features => commands::features::run(),
        Command::Pause(a) => commands::pause::run(g, a),
        Command::Resume(a) => commands::resume::run(g, a),
        Command::Update(a) => commands::update::run(g, a),
        Command::Ps(a) => commands::ps::run(g, a),
        Command::Events(a) => commands::events::run(g, a),
        Command::Exec(a) => commands::exec::run(g, a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = format!("{}: {}", verb(command), brick::error::chain(e.as_ref()));
            brick::log::log("error", &msg);
            eprintln!("brick: {msg}");
            std::process::exit(1);
        }
    }
}
