//! Command-line flags, spelled as runc spells them (and crun's --cgroup-manager).

use clap::{
    ArgMatches, Args, Command as ClapCommand, FromArgMatches, Parser, Subcommand, ValueEnum,
};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "brick",
    about = "brick - a hardened OCI container runtime",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Enable debug logging
    #[arg(long, global = true)]
    pub debug: bool,
    /// Log file (default: stderr)
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<String>,
    /// Log format: text or json
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Root directory for container state (should be on tmpfs) [default: /run/brick, or
    /// $XDG_RUNTIME_DIR/brick for a normal user]
    #[arg(long = "root", global = true, value_name = "ROOT")]
    pub root_dir: Option<PathBuf>,
    /// Use the systemd cgroup driver (cgroupsPath is "slice:prefix:name")
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// crun's spelling of the cgroup driver choice: cgroupfs, systemd or disabled
    #[arg(long = "cgroup-manager", global = true, value_enum)]
    pub cgroup_manager: Option<CgroupManager>,
    /// Rootless mode: true, false, or auto (detected: a non-root user, or root in a user
    /// namespace that does not map every id)
    #[arg(
        long = "rootless",
        id = "global_rootless",
        value_name = "true|false|auto"
    )]
    pub rootless: Option<String>,
    /// Accepted for runc compatibility (checkpointing is not offered)
    #[arg(long, global = true, value_name = "PATH", hide = true)]
    pub criu: Option<String>,
    /// Print the version
    #[arg(short = 'v', long = "version")]
    pub version: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupManager {
    Cgroupfs,
    Systemd,
    Disabled,
}

/// The verbs. Subcommand is written out rather than derived so that each verb's flags are
/// built only when that verb runs (`Command::defer`): the derived tree cost every call ~45
/// page faults and ~0.1 ms for the 14 verbs it did not run.
#[derive(Debug)]
pub enum Command {
    Create(CreateArgs),
    Start(IdArg),
    State(IdArg),
    Kill(KillArgs),
    Delete(DeleteArgs),
    Run(RunArgs),
    List(ListArgs),
    Spec(SpecArgs),
    Features,
    Pause(IdArg),
    Resume(IdArg),
    Update(Box<UpdateArgs>),
    Ps(PsArgs),
    Events(EventsArgs),
    Exec(Box<ExecArgs>),
}

/// Name, help line, aliases and flags of each verb, in `brick --help` order.
type Verb = (
    &'static str,
    &'static str,
    &'static [&'static str],
    fn(ClapCommand) -> ClapCommand,
);

const VERBS: &[Verb] = &[
    (
        "create",
        "Create a container",
        &[],
        CreateArgs::augment_args,
    ),
    (
        "start",
        "Execute the user-defined process in a created container",
        &[],
        IdArg::augment_args,
    ),
    (
        "state",
        "Output the state of a container",
        &[],
        IdArg::augment_args,
    ),
    (
        "kill",
        "Send a signal (default SIGTERM) to the container's init process",
        &[],
        KillArgs::augment_args,
    ),
    (
        "delete",
        "Delete any resources held by the container",
        &[],
        DeleteArgs::augment_args,
    ),
    (
        "run",
        "Create and run a container",
        &[],
        RunArgs::augment_args,
    ),
    (
        "list",
        "List containers started by brick with the given root",
        &["ls"],
        ListArgs::augment_args,
    ),
    (
        "spec",
        "Create a new specification file",
        &[],
        SpecArgs::augment_args,
    ),
    ("features", "Show the enabled features", &[], no_args),
    (
        "pause",
        "Suspend every process of the container (cgroup freezer)",
        &[],
        IdArg::augment_args,
    ),
    (
        "resume",
        "Resume every process of a paused container",
        &[],
        IdArg::augment_args,
    ),
    (
        "update",
        "Update the container's resource limits",
        &[],
        UpdateArgs::augment_args,
    ),
    (
        "ps",
        "List the processes running in the container",
        &[],
        PsArgs::augment_args,
    ),
    (
        "events",
        "Show the container's resource usage and OOM events",
        &[],
        EventsArgs::augment_args,
    ),
    (
        "exec",
        "Execute a new process inside the container",
        &[],
        ExecArgs::augment_args,
    ),
];

fn no_args(cmd: ClapCommand) -> ClapCommand {
    cmd
}

impl Subcommand for Command {
    fn augment_subcommands(cmd: ClapCommand) -> ClapCommand {
        // clap copies every global flag into every verb it knows (~20 page faults for all 15):
        // only the verbs argv names are built, or all of them when it names none (help, typos).
        let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        let named = |(name, _, aliases, _): &&Verb| {
            argv.iter()
                .any(|a| a == *name || aliases.iter().any(|x| a == *x))
        };
        let verbs: Vec<&Verb> = match VERBS.iter().any(|v| named(&v)) {
            true => VERBS.iter().filter(named).collect(),
            false => VERBS.iter().collect(),
        };
        verbs
            .into_iter()
            .fold(cmd, |cmd, (name, about, aliases, args)| {
                let sub = ClapCommand::new(*name)
                    .about(*about)
                    .aliases(aliases.iter().copied());
                cmd.subcommand(sub.defer(*args))
            })
    }

    fn augment_subcommands_for_update(cmd: ClapCommand) -> ClapCommand {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        VERBS
            .iter()
            .any(|(n, _, aliases, _)| *n == name || aliases.contains(&name))
    }
}

impl FromArgMatches for Command {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, sub)) = m.subcommand() else {
            return Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand));
        };
        Ok(match name {
            "create" => Command::Create(CreateArgs::from_arg_matches(sub)?),
            "start" => Command::Start(IdArg::from_arg_matches(sub)?),
            "state" => Command::State(IdArg::from_arg_matches(sub)?),
            "kill" => Command::Kill(KillArgs::from_arg_matches(sub)?),
            "delete" => Command::Delete(DeleteArgs::from_arg_matches(sub)?),
            "run" => Command::Run(RunArgs::from_arg_matches(sub)?),
            "list" => Command::List(ListArgs::from_arg_matches(sub)?),
            "spec" => Command::Spec(SpecArgs::from_arg_matches(sub)?),
            "features" => Command::Features,
            "pause" => Command::Pause(IdArg::from_arg_matches(sub)?),
            "resume" => Command::Resume(IdArg::from_arg_matches(sub)?),
            "update" => Command::Update(Box::new(UpdateArgs::from_arg_matches(sub)?)),
            "ps" => Command::Ps(PsArgs::from_arg_matches(sub)?),
            "events" => Command::Events(EventsArgs::from_arg_matches(sub)?),
            "exec" => Command::Exec(Box::new(ExecArgs::from_arg_matches(sub)?)),
            other => {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::InvalidSubcommand,
                    format!("unknown command {other:?}"),
                ))
            }
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct IdArg {
    pub id: String,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CreateOpts {
    /// Path to the root of the bundle directory (default: current directory)
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// AF_UNIX socket that receives the master end of the console's pseudoterminal
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// File to write the container's process id to
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root to jail the process inside the rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors (from 3) to the container
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: CreateOpts,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: CreateOpts,
    /// Detach from the container's process
    #[arg(short, long)]
    pub detach: bool,
    /// Accepted for runc compatibility: keep the container after it exits
    #[arg(long)]
    pub keep: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to all processes inside the container
    #[arg(short, long)]
    pub all: bool,
    pub id: String,
    /// Signal name (TERM, SIGTERM) or number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Forcibly delete the container if it is still running (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Output format: table or json
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Display only container ids
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Path to the root of the bundle directory
    #[arg(short, long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Generate a configuration for a rootless container
    #[arg(long)]
    pub rootless: bool,
    /// Write runc's plain default instead of brick's hardened one
    #[arg(long = "runc-default")]
    pub runc_default: bool,
}

#[derive(Args, Debug, Default)]
pub struct UpdateArgs {
    /// LinuxResources JSON file to apply ('-' reads stdin); the other flags are then ignored
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Block IO weight (10..1000)
    #[arg(long = "blkio-weight", value_name = "N")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds (0: keep)
    #[arg(long = "cpu-period", value_name = "US")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period (-1: unlimited)
    #[arg(long = "cpu-quota", value_name = "US", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share", alias = "cpu-shares", value_name = "N")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "US")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds per period
    #[arg(long = "cpu-rt-runtime", value_name = "US", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs the container may run on (e.g. 0-1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use
    #[arg(long = "cpuset-mems", value_name = "LIST")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g/t/p suffix; -1: unlimited)
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit)
    #[arg(
        long = "memory-reservation",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (-1: unlimited swap)
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Accepted for compatibility: kernel memory limit (deprecated by the kernel)
    #[arg(
        long = "kernel-memory",
        value_name = "BYTES",
        allow_hyphen_values = true,
        hide = true
    )]
    pub kernel_memory: Option<String>,
    /// Accepted for compatibility: kernel TCP memory limit (deprecated by the kernel)
    #[arg(
        long = "kernel-memory-tcp",
        value_name = "BYTES",
        allow_hyphen_values = true,
        hide = true
    )]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of processes (-1: unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Output format: table (ps output) or json (an array of pids)
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    pub id: String,
    /// Options passed to ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Interval between stats events (e.g. 5s, 500ms, 1m)
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub interval: String,
    /// Print the container's stats once, then exit
    #[arg(long)]
    pub stats: bool,
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Path to a runtime-spec process.json (then no command is given)
    #[arg(short, long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// AF_UNIX socket that receives the master end of the pseudoterminal
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Current working directory in the container
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (NAME=VALUE; repeatable)
    #[arg(short, long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// UID (format: <uid>[:<gid>])
    #[arg(short, long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Additional gid (repeatable)
    #[arg(
        short = 'g',
        long = "additional-gids",
        value_name = "GID",
        value_delimiter = ','
    )]
    pub additional_gids: Vec<u32>,
    /// Add a capability to the bounding, effective and permitted sets (repeatable)
    #[arg(short, long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// AppArmor profile for the process
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// SELinux label for the process
    #[arg(long = "process-label", value_name = "LABEL")]
    pub process_label: Option<String>,
    /// Detach from the process: return once it has started
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the process's host pid to
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Pass N additional file descriptors (from 3) to the process
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// Allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}
