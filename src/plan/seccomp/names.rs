//! Check the names in a raw `linux.seccomp` JSON object, so that a typo is reported with
//! its field path (oci-spec's own parse error only says "unknown variant" with a column).

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::SeccompPlanError;

/// Validate every enumerated name in the raw `linux.seccomp` value; call it when parsing
/// config.json fails (or before) to turn a serde error into one naming the field.
pub fn check_raw(seccomp: &Value) -> Result<(), SeccompPlanError> {
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
) -> Result<(), SeccompPlanError> {
    let Some(v) = v else { return Ok(()) };
    if serde_json::from_value::<T>(v.clone()).is_ok() {
        return Ok(());
    }
    Err(SeccompPlanError::UnknownName {
        field: field.to_string(),
        kind,
        value: match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    })
}
