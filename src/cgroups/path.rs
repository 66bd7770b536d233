//! linux.cgroupsPath rules: absolute, relative to brick's parent, or systemd "slice:prefix:name".

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::CgroupError;

/// Parent of relative and default cgroup paths; absolute so it never nests under brick's own cgroup.
pub const DEFAULT_PARENT: &str = "/brick";
/// Prefix of the scope unit name when systemd mode is on and no path is given.
pub const DEFAULT_SCOPE_PREFIX: &str = "brick";

/// The systemd unit a cgroup belongs to, translated but not yet registered over D-Bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemdUnit {
    /// Parent slice, e.g. "system.slice".
    pub slice: String,
    /// Unit name, e.g. "brick-ID.scope" (or a ".slice" name).
    pub unit: String,
}

/// Resolve the cgroup path ("/a/b", from each hierarchy's root) and the systemd unit, if any.
pub fn resolve(
    cgroups_path: Option<&Path>,
    id: &str,
    systemd: bool,
) -> Result<(String, Option<SystemdUnit>), CgroupError> {
    check_id(id)?;
    let given = cgroups_path
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty());
    if systemd {
        let spec = given.unwrap_or_else(|| format!("system.slice:{DEFAULT_SCOPE_PREFIX}:{id}"));
        let unit = parse_systemd(&spec)?;
        let path = format!("{}/{}", expand_slice(&unit.slice, &spec)?, unit.unit);
        return Ok((path, Some(unit)));
    }
    let path = match given {
        None => format!("{DEFAULT_PARENT}/{id}"),
        Some(p) if p.starts_with('/') => clean(&p)?,
        Some(p) => clean(&format!("{DEFAULT_PARENT}/{p}"))?,
    };
    Ok((path, None))
}

/// The container ID becomes a path component, so it must be one.
fn check_id(id: &str) -> Result<(), CgroupError> {
    if id.is_empty() || id == "." || id == ".." || id.contains(['/', '\0', '\n']) {
        return Err(invalid(id, "container ID is not a single path component"));
    }
    Ok(())
}

/// Join components with single slashes; refuse "." and ".." (hostile input) and the root cgroup.
fn clean(p: &str) -> Result<String, CgroupError> {
    let mut out = String::new();
    for comp in p.split('/').filter(|c| !c.is_empty()) {
        if comp == "." || comp == ".." {
            return Err(invalid(p, "\".\" and \"..\" are not allowed"));
        }
        if comp.contains(['\0', '\n']) {
            return Err(invalid(p, "control characters are not allowed"));
        }
        out.push('/');
        out.push_str(comp);
    }
    if out.is_empty() {
        return Err(invalid(p, "the root cgroup cannot hold a container"));
    }
    Ok(out)
}

/// Split "slice:prefix:name" into the parent slice and the unit name.
fn parse_systemd(spec: &str) -> Result<SystemdUnit, CgroupError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(invalid(
            spec,
            "systemd cgroupsPath must be \"slice:prefix:name\"",
        ));
    };
    if name.is_empty()
        || [slice, prefix, name]
            .iter()
            .any(|s| s.contains(['/', '\0', '\n']))
    {
        return Err(invalid(
            spec,
            "systemd cgroupsPath parts must be plain names",
        ));
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok(SystemdUnit {
        slice: slice.to_string(),
        unit,
    })
}

/// systemd nests "a-b.slice" inside "a.slice": "a-b.slice" → "/a.slice/a-b.slice".
fn expand_slice(slice: &str, spec: &str) -> Result<String, CgroupError> {
    if slice == "-.slice" {
        return Ok(String::new());
    }
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(invalid(spec, "the slice must end in \".slice\""));
    };
    let mut out = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(invalid(spec, "slice name has an empty \"-\" component"));
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        out.push('/');
        out.push_str(&prefix);
        out.push_str(".slice");
    }
    Ok(out)
}

fn invalid(path: &str, reason: &'static str) -> CgroupError {
    CgroupError::InvalidPath {
        path: path.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(p: Option<&str>) -> Result<String, CgroupError> {
        resolve(p.map(Path::new), "c1", false).map(|r| r.0)
    }
    fn sd(p: Option<&str>) -> Result<(String, Option<SystemdUnit>), CgroupError> {
        resolve(p.map(Path::new), "c1", true)
    }

    #[test]
    fn cgroupfs_paths() {
        assert_eq!(fs(None).unwrap(), "/brick/c1");
        assert_eq!(fs(Some("")).unwrap(), "/brick/c1");
        assert_eq!(fs(Some("/a//b/")).unwrap(), "/a/b");
        assert_eq!(fs(Some("a/b")).unwrap(), "/brick/a/b");
        assert!(fs(Some("/a/../b")).is_err());
        assert!(fs(Some("./b")).is_err());
        assert!(fs(Some("/")).is_err());
        assert!(fs(Some("//")).is_err());
        assert!(resolve(None, "../x", false).is_err());
        assert!(resolve(None, "a/b", false).is_err());
    }

    #[test]
    fn systemd_paths() {
        let (p, u) = sd(None).unwrap();
        assert_eq!(p, "/system.slice/brick-c1.scope");
        assert_eq!(u.unwrap().unit, "brick-c1.scope");
        let (p, _) = sd(Some("machine-pod1.slice:crio:abc")).unwrap();
        assert_eq!(p, "/machine.slice/machine-pod1.slice/crio-abc.scope");
        let (p, _) = sd(Some(":docker:abc")).unwrap();
        assert_eq!(p, "/system.slice/docker-abc.scope");
        let (p, _) = sd(Some("-.slice::abc")).unwrap();
        assert_eq!(p, "/abc.scope");
        let (p, u) = sd(Some("user.slice:x:sub.slice")).unwrap();
        assert_eq!(p, "/user.slice/sub.slice");
        assert_eq!(u.unwrap().unit, "sub.slice");
        assert!(sd(Some("/a/b")).is_err());
        assert!(sd(Some("a:b")).is_err());
        assert!(sd(Some("a:b:c:d")).is_err());
        assert!(sd(Some("nota-slice:p:n")).is_err());
        assert!(sd(Some("a--b.slice:p:n")).is_err());
        assert!(sd(Some("system.slice:p:")).is_err());
        assert!(sd(Some("system.slice:p:../x")).is_err());
    }
}
