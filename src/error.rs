//! How errors are printed: a chain joined by ": ", ending in the errno as "Description (ENAME)".

use nix::errno::Errno;
use std::error::Error as StdError;

/// The errno carried by one level of a chain, if that level is an errno.
fn errno_of(e: &(dyn StdError + 'static)) -> Option<Errno> {
    if let Some(errno) = e.downcast_ref::<Errno>() {
        return Some(*errno);
    }
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.raw_os_error())
        .map(Errno::from_raw)
}

/// "Permission denied (EACCES)": the libc text first, the name for grepping.
pub fn describe_errno(errno: Errno) -> String {
    format!("{} ({:?})", errno.desc(), errno)
}

/// Every level's text, the errno level rendered by `describe_errno`.
pub fn chain_parts(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(level) = cur {
        match errno_of(level) {
            Some(errno) => {
                parts.push(describe_errno(errno));
                break;
            }
            None => parts.push(level.to_string()),
        }
        cur = level.source();
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// The whole chain on one line.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    chain_parts(e).join(": ")
}

/// The deepest errno in a chain, for the child's error report.
pub fn deepest_errno(e: &(dyn StdError + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    let mut found = None;
    while let Some(level) = cur {
        if let Some(errno) = errno_of(level) {
            found = Some(errno as i32);
        }
        cur = level.source();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("mount {src:?} on {dst:?}")]
    struct Mount {
        src: String,
        dst: String,
        #[source]
        source: Errno,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("rootfs")]
    struct Stage(#[source] Mount);

    #[test]
    fn chain_ends_in_errno_name() {
        let e = Stage(Mount {
            src: "proc".into(),
            dst: "/proc".into(),
            source: Errno::EACCES,
        });
        assert_eq!(
            chain(&e),
            "rootfs: mount \"proc\" on \"/proc\": Permission denied (EACCES)"
        );
        assert_eq!(deepest_errno(&e), Some(libc::EACCES));
    }

    #[test]
    fn io_errors_are_errnos_too() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(chain(&e), "No such file or directory (ENOENT)");
    }
}
