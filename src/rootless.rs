//! Rootless mode: brick run by a normal user (or by root in a user namespace it does not
//! fully own), where only what that user may do is possible.

use std::path::PathBuf;

/// Whether brick runs rootless: `--rootless true|false`, or detected (`auto`, the default) as
/// runc does: a non-zero euid, or root in a user namespace that does not map every id.
pub fn detect(flag: Option<&str>) -> bool {
    match flag {
        Some("true") => true,
        Some("false") => false,
        _ => euid() != 0 || in_partial_userns(),
    }
}

/// The default state root: /run/brick for root, `$XDG_RUNTIME_DIR/brick` for a normal user
/// (`/run/user/UID/brick` when it is not set), so each user sees only their own containers;
/// root of a user namespace (rootless podman's) takes XDG_RUNTIME_DIR when it is set.
pub fn default_state_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    match (euid(), xdg) {
        (0, Some(d)) if in_partial_userns() => PathBuf::from(d).join("brick"),
        (0, _) => PathBuf::from("/run/brick"),
        (_, Some(d)) => PathBuf::from(d).join("brick"),
        (uid, None) => PathBuf::from(format!("/run/user/{uid}/brick")),
    }
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// Root, but in a user namespace whose uid map is not the whole range (rootlesskit, a
/// container's podman): its cgroups and devices are not root's.
fn in_partial_userns() -> bool {
    crate::small_file::read("/proc/self/uid_map")
        .map(|m| !is_full_map(&m))
        .unwrap_or(false)
}

fn is_full_map(map: &str) -> bool {
    let fields: Vec<&str> = map.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_identity_map_of_every_id_is_the_initial_namespace() {
        assert!(is_full_map("         0          0 4294967295\n"));
        assert!(!is_full_map("0 1000 1\n"));
        assert!(!is_full_map("0 0 4294967295\n1 1 1\n"));
        assert!(detect(Some("true")));
        assert!(!detect(Some("false")));
    }
}
