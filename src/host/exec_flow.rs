//! `brick exec`, the runtime's side: open the container's namespaces while its state is
//! locked, plan, clone the child that joins them, put the process it forks into the
//! container's cgroup, wait until it execs, then wait for its exit status (or detach).

use crate::cgroups::{Cgroup, CgroupError};
use crate::container::exec_flow::{self, ExecMsg, NsFd};
use crate::host::create_flow::{forward_to_listener, CreateError};
use crate::host::exec_tty;
use crate::host::foreground::{self, ForegroundError};
use crate::host::lifecycle::{Container, LifecycleError};
use crate::ipc::{Channel, ChildError, IpcError};
use crate::plan::exec::{self as xplan, ExecInputs, ExecOptions, ExecPlan, ExecPlanError, NsIds};
use crate::process::spawn;
use crate::state::{liveness, Saved, Status};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::Process;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::linux::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExecError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("container not running")]
    NotRunning,
    #[error("cannot exec in a paused container (use --ignore-paused to override)")]
    Paused,
    #[error("container {0:?} is still being created")]
    Creating(String),
    #[error("open the container's namespace {0:?}")]
    OpenNs(PathBuf, #[source] std::io::Error),
    #[error("--process")]
    ReadProcess(#[from] crate::input_file::InputFileError),
    #[error("parse --process {path:?}: {msg}")]
    ParseProcess { path: PathBuf, msg: String },
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error(transparent)]
    Plan(#[from] ExecPlanError),
    #[error("host")]
    Facts(#[from] crate::host_facts::FactsError),
    #[error("linux.seccomp")]
    Seccomp(#[from] crate::seccomp::SeccompPlanError),
    #[error("the container's cgroup record in state.json")]
    Record(#[source] serde_json::Error),
    #[error("cgroup")]
    Cgroup(#[from] CgroupError),
    #[error("console socket {0:?}")]
    ConsoleSocket(PathBuf, #[source] std::io::Error),
    #[error("pty socketpair")]
    PtyPair(#[source] nix::errno::Errno),
    #[error("spawn")]
    Spawn(#[from] spawn::SpawnError),
    #[error("sync with the exec'd process")]
    Ipc(#[from] IpcError),
    #[error("{0}")]
    Child(ChildError),
    #[error("the process exited before it was exec'd: {0}")]
    Vanished(String),
    #[error(transparent)]
    Listener(#[from] CreateError),
    #[error("write pid file {0:?}")]
    PidFile(PathBuf, #[source] std::io::Error),
    #[error(transparent)]
    Foreground(#[from] ForegroundError),
    #[error("terminal")]
    Tty(#[from] exec_tty::TtyError),
}

/// The container as exec found it, with the namespaces of its init held open.
struct Target {
    saved: Saved,
    /// state.json, named in errors about what it holds.
    state_file: PathBuf,
    ns: Vec<NsFd>,
    ids: Vec<NsIds>,
    cgroup: Option<Cgroup>,
}

fn ns_id(f: &File) -> std::io::Result<(u64, u64)> {
    let m = f.metadata()?;
    Ok((m.st_dev(), m.st_ino()))
}

/// Loads the state under its lock, checks the status and opens the init's namespaces; the
/// init is checked alive again after, so the fds are its own and not a reused pid's.
fn open_target(root: &Path, id: &str, ignore_paused: bool) -> Result<Target, ExecError> {
    let c = Container::load(root, id)?;
    let saved = c
        .saved
        .clone()
        .ok_or_else(|| ExecError::Creating(id.to_string()))?;
    match c.status() {
        Status::Running | Status::Created => {}
        Status::Paused if ignore_paused => {}
        Status::Paused => return Err(ExecError::Paused),
        Status::Stopped => return Err(ExecError::NotRunning),
        Status::Creating => return Err(ExecError::Creating(id.to_string())),
    }
    let (mut ns, mut ids) = (Vec::new(), Vec::new());
    for (name, flag) in xplan::NAMESPACES {
        let path = PathBuf::from(format!("/proc/{}/ns/{name}", saved.pid));
        let theirs = match File::open(&path) {
            Ok(f) => f,
            // A kernel without this kind of namespace.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ExecError::OpenNs(path, e)),
        };
        let own_path = PathBuf::from(format!("/proc/self/ns/{name}"));
        let own = File::open(&own_path)
            .and_then(|f| ns_id(&f))
            .map_err(|e| ExecError::OpenNs(own_path, e))?;
        let container = ns_id(&theirs).map_err(|e| ExecError::OpenNs(path, e))?;
        ids.push(NsIds {
            name,
            container,
            own,
        });
        ns.push(NsFd {
            name,
            flag,
            fd: theirs.into(),
        });
    }
    if !liveness::is_alive(saved.pid, saved.start_time) {
        return Err(ExecError::NotRunning);
    }
    let cgroup = saved
        .cgroup
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(ExecError::Record)?;
    Ok(Target {
        saved,
        state_file: c.dir.file(crate::state::store::STATE_FILE),
        ns,
        ids,
        cgroup,
    })
}

fn read_process(path: &Path) -> Result<Process, ExecError> {
    // Regular files only: a FIFO or device given as --process must not hang exec.
    let bytes = crate::input_file::read(path)?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| ExecError::ParseProcess {
        path: path.to_path_buf(),
        msg: format!("{}: {}", e.path(), e.inner()),
    })
}

/// The pty's socket for the process, and brick's end when brick itself holds the terminal.
type Console = (Option<OwnedFd>, Option<OwnedFd>);

fn console(plan: &ExecPlan) -> Result<Console, ExecError> {
    match (&plan.console_socket, plan.process.terminal) {
        (_, false) => Ok((None, None)),
        (Some(p), true) => UnixStream::connect(p)
            .map(|s| (Some(OwnedFd::from(s)), None))
            .map_err(|e| ExecError::ConsoleSocket(p.clone(), e)),
        (None, true) => {
            let (a, b) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .map_err(ExecError::PtyPair)?;
            Ok((Some(b), Some(a)))
        }
    }
}

/// The whole of `exec`: returns the process's exit status (0 with --detach).
pub fn exec(
    root: &Path,
    id: &str,
    opts: &ExecOptions,
    process_file: Option<&Path>,
    seccomp_cache: Option<&Path>,
) -> Result<i32, ExecError> {
    let host = crate::host_facts::HostFacts::gather()?;
    let target = open_target(root, id, opts.ignore_paused)?;
    let file = process_file.map(read_process).transpose()?;
    let (base, seccomp) = match &target.saved.config {
        Some(v) => xplan::from_saved(v, &target.state_file)?,
        // A container created without the saved config: its bundle is read again.
        None => {
            let spec = crate::bundle::load(&target.saved.bundle)?.spec;
            let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().clone());
            (spec.process().clone(), seccomp)
        }
    };
    let plan = xplan::build(ExecInputs {
        id,
        opts,
        base,
        file,
        seccomp: seccomp.as_ref(),
        ns: &target.ids,
        host: &host,
    })?;
    plan.process.notes.iter().for_each(crate::plan::Note::log);
    // The apply step: the container's filter from the cache, or compiled.
    let program = plan
        .seccomp
        .as_ref()
        .map(|s| crate::seccomp::program(s, seccomp_cache, &host.kernel_release))
        .transpose()?;
    let Target {
        saved, ns, cgroup, ..
    } = target;
    let ns = pick(ns, &plan.join);
    let (child_console, own_console) = console(&plan)?;
    let entry = match &cgroup {
        Some(cg) => cg.entry()?,
        None => Default::default(),
    };
    let (parent_end, child_end) = Channel::pair()?;
    let parent_slot = std::cell::Cell::new(Some(parent_end));
    let child = spawn::spawn(CloneFlags::empty(), None, || {
        // The child keeps only its own end, so EOF on either side means the other is gone.
        drop(parent_slot.take());
        exec_flow::run(&plan, program.as_ref(), ns, entry, child_console, child_end)
    })?
    .pid;
    // Blocked after the clone, so the process keeps the caller's signal mask.
    let signals = match plan.detach {
        true => None,
        false => Some(foreground::block()?),
    };
    let Some(ch) = parent_slot.take() else {
        return Err(ExecError::Vanished(
            "brick lost its end of the channel".into(),
        ));
    };
    let pid = sync(&plan, &ch, child, cgroup.as_ref(), &saved)?;
    let Some(set) = signals else {
        return Ok(0);
    };
    match own_console {
        Some(sock) => {
            let master = exec_tty::recv_master(&sock)?;
            Ok(exec_tty::proxy(master, pid, &set)?)
        }
        None => Ok(foreground::wait(pid, &set)?),
    }
}

/// The namespaces to join, in the plan's order.
fn pick(mut all: Vec<NsFd>, join: &[(&str, CloneFlags)]) -> Vec<NsFd> {
    let mut out = Vec::new();
    for (name, _) in join {
        if let Some(i) = all.iter().position(|n| n.name == *name) {
            out.push(all.swap_remove(i));
        }
    }
    out
}

/// Kills and reaps a process that will never be exec'd.
fn abort(pid: i32) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = waitpid(Pid::from_raw(pid), None);
}

/// Child → pid; cgroup; Go; then the channel's closing at execve (or an error).
fn sync(
    plan: &ExecPlan,
    ch: &Channel,
    child: Pid,
    cgroup: Option<&Cgroup>,
    saved: &Saved,
) -> Result<i32, ExecError> {
    let first = ch.recv::<ExecMsg>();
    // The child that joined the namespaces exits once it has forked the process.
    let joined = waitpid(child, None);
    let (pid, in_cgroup) = match first? {
        Some(ExecMsg::Pid { pid, in_cgroup }) => (pid, in_cgroup),
        Some(ExecMsg::Error(e)) => return Err(ExecError::Child(e)),
        _ => {
            let how = match joined {
                Ok(status) => crate::signals::describe_exit(status),
                Err(e) => format!("wait: {}", crate::error::describe_errno(e)),
            };
            return Err(ExecError::Vanished(how));
        }
    };
    let started = (|| -> Result<(), ExecError> {
        if let Some(cg) = cgroup {
            cg.add_rest(pid, in_cgroup)?;
        }
        ch.send(&ExecMsg::Go)?;
        loop {
            match ch.recv_with_fd::<ExecMsg>()? {
                None => return Ok(()),
                Some((ExecMsg::Error(e), _)) => return Err(ExecError::Child(e)),
                Some((ExecMsg::SeccompFd, fd)) => {
                    let target = plan.seccomp.as_ref().and_then(|s| s.notify.as_ref());
                    forward_to_listener(target, fd, &saved.oci_state(Status::Running, saved.pid))?;
                }
                Some(_) => return Err(IpcError::Decode("unexpected message".into()).into()),
            }
        }
    })();
    if let Err(e) = started {
        abort(pid);
        // A process that failed first has its error queued: it explains ours (EPIPE).
        return Err(match ch.try_recv::<ExecMsg>() {
            Ok(Some(ExecMsg::Error(c))) => ExecError::Child(c),
            _ => e,
        });
    }
    if let Some(path) = &plan.pid_file {
        crate::state::pid_file::write(path, pid)
            .map_err(|e| ExecError::PidFile(path.clone(), e))?;
    }
    Ok(pid)
}
