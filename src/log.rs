//! Logging as runc does it: text or JSON lines (level, msg, time) to --log or stderr.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    file: Option<Mutex<File>>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Opens the log file (append, created 0600); errors here are not fatal, as in runc.
pub fn init(path: Option<&str>, format: Format, debug: bool) {
    let file = path
        .filter(|p| !p.is_empty() && *p != "/dev/stderr")
        .and_then(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)
                .ok()
        });
    let _ = LOGGER.set(Logger {
        file: file.map(Mutex::new),
        format,
        debug,
    });
}

/// The --log file's fd, which a child that logs must keep open.
pub fn raw_fd() -> Option<std::os::fd::RawFd> {
    use std::os::fd::AsRawFd;
    let file = LOGGER.get()?.file.as_ref()?;
    file.lock().ok().map(|f| f.as_raw_fd())
}

pub fn debug_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.debug)
}

/// True when a --log file other than stderr was given: errors then go to both.
pub fn has_file() -> bool {
    LOGGER.get().is_some_and(|l| l.file.is_some())
}

pub fn log(level: &str, msg: &str) {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    if level == "debug" && !logger.debug {
        return;
    }
    let line = match logger.format {
        Format::Json => {
            let v =
                serde_json::json!({"level": level, "msg": msg, "time": crate::time::rfc3339_now()});
            format!("{v}\n")
        }
        Format::Text => format!(
            "time=\"{}\" level={} msg={:?}\n",
            crate::time::rfc3339_now(),
            level,
            msg
        ),
    };
    match &logger.file {
        Some(f) => {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None if level != "error" => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        // Errors without a log file are printed once by main, plainly.
        None => {}
    }
}

pub fn debug(msg: &str) {
    log("debug", msg);
}

pub fn warn(msg: &str) {
    log("warning", msg);
}
