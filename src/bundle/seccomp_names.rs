//! Check the names in a raw `linux.seccomp` JSON object, so that a typo is reported with
//! its field path (oci-spec's own parse error only says "unknown variant" with a column).

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A name oci-spec would not parse, with the field it sits in.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: unknown {kind} {value:?}")]
pub struct UnknownName {
    pub field: String,
    pub kind: &'static str,
    pub value: String,
}

/// Validate every enumerated name in the raw `linux.seccomp` value; call it when parsing
/// config.json fails (or before) to turn a serde error into one naming the field.
pub fn check_raw(seccomp: &Value) -> Result<(), UnknownName> {
    let base = "linux.seccomp";
    check::<LinuxSeccompAction>(
        seccomp.get("defaultAction"),
        &format!("{base}.defaultAction"),
        "action",
    )?;
    for (i, arch) in items(seccomp, "architectures") {
        check::<Arch>(
            Some(arch),
            &format!("{base}.architectures[{i}]"),
            "architecture",
        )?;
    }
    for (i, flag) in items(seccomp, "flags") {
        check::<LinuxSeccompFilterFlag>(Some(flag), &format!("{base}.flags[{i}]"), "flag")?;
    }
    for (i, rule) in items(seccomp, "syscalls") {
        let field = format!("{base}.syscalls[{i}]");
        check::<LinuxSeccompAction>(rule.get("action"), &format!("{field}.action"), "action")?;
        for (j, arg) in items(rule, "args") {
            check::<LinuxSeccompOperator>(
                arg.get("op"),
                &format!("{field}.args[{j}].op"),
                "operator",
            )?;
        }
    }
    Ok(())
}

fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
}

/// Accept exactly what oci-spec's deserializer accepts; absent values are its business.
fn check<T: DeserializeOwned>(
    v: Option<&Value>,
    field: &str,
    kind: &'static str,
) -> Result<(), UnknownName> {
    let Some(v) = v else { return Ok(()) };
    if serde_json::from_value::<T>(v.clone()).is_ok() {
        return Ok(());
    }
    Err(UnknownName {
        field: field.to_string(),
        kind,
        value: match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PODMAN_LIKE: &str = include_str!("../seccomp/testdata/podman_like.json");

    #[test]
    fn unknown_names_are_reported_with_their_field() {
        let base = |rule: serde_json::Value| {
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["a"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["b"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["c"], "action": "SCMP_ACT_ERRNO"}, rule]})
        };
        let e = check_raw(&base(json!({"names": ["d"], "action": "SCMP_ACT_FOO"}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO""#
        );
        let rule = json!({"names": ["d"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                     {"index": 1, "value": 1, "op": "SCMP_CMP_LIKE"}]});
        let e = check_raw(&base(rule)).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"linux.seccomp.syscalls[3].args[1].op: unknown operator "SCMP_CMP_LIKE""#
        );
        let e = check_raw(&json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]}))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_Z80""#
        );
        let e = check_raw(&json!({"defaultAction": "SCMP_ACT_NOPE"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE""#
        );
        let e = check_raw(
            &json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_X""#
        );
        let ok: serde_json::Value = serde_json::from_str(PODMAN_LIKE).expect("fixture");
        check_raw(&ok).expect("fixture names are all known");
    }
}
