//! Black-box checks of the binary that need no root: flags, output formats, and bad input
//! refused before any side effect.

use std::path::PathBuf;
use std::process::{Command, Output};

fn brick(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brick"))
        .args(args)
        .output()
        .expect("run brick")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brick-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_names_brick_and_spec() {
    let o = brick(&["--version"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("brick version "), "{out}");
    assert!(out.contains("\nspec: 1."), "{out}");
    assert!(out.contains("\ncommit: "), "{out}");
}

#[test]
fn features_is_oci_json() {
    let o = brick(&["features"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert!(v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&"user".into()));
    assert!(v["hooks"].as_array().unwrap().len() == 6);
    assert!(v["mountOptions"]
        .as_array()
        .unwrap()
        .contains(&"rro".into()));
}

#[test]
fn spec_writes_a_valid_config_and_refuses_to_overwrite() {
    let d = tmp("spec");
    let dir = d.to_str().unwrap();
    assert!(brick(&["spec", "--bundle", dir]).status.success());
    let body = std::fs::read(d.join("config.json")).unwrap();
    let spec: oci_spec::runtime::Spec = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        spec.process().as_ref().unwrap().no_new_privileges(),
        Some(true)
    );
    let again = brick(&["spec", "--bundle", dir]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn hostile_ids_are_refused_before_anything_is_made() {
    let root = tmp("ids");
    for id in ["a/b", "..", "../x", ""] {
        let o = brick(&[
            "--root",
            root.to_str().unwrap(),
            "create",
            "--bundle",
            "/nonexistent",
            id,
        ]);
        assert_eq!(o.status.code(), Some(1), "{id:?}");
        assert!(
            stderr(&o).contains("container id"),
            "{id:?}: {}",
            stderr(&o)
        );
    }
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        0,
        "nothing created under --root"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn malformed_config_names_the_field() {
    let d = tmp("badcfg");
    std::fs::create_dir_all(d.join("rootfs")).unwrap();
    std::fs::write(
        d.join("config.json"),
        r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":"sh","user":{"uid":0,"gid":0}}}"#,
    )
    .unwrap();
    let root = d.join("state");
    let o = brick(&[
        "--root",
        root.to_str().unwrap(),
        "create",
        "--bundle",
        d.to_str().unwrap(),
        "x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.starts_with("brick: create: "), "{err}");
    assert!(err.contains("process.args"), "{err}");
    assert!(!root.join("x").exists(), "no state dir is left");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn unknown_container_uses_the_phrase_clients_match() {
    let root = tmp("missing");
    for verb in ["state", "start", "kill", "delete"] {
        let o = brick(&["--root", root.to_str().unwrap(), verb, "nope"]);
        assert_eq!(o.status.code(), Some(1), "{verb}");
        assert!(
            stderr(&o).contains("container \"nope\" does not exist"),
            "{verb}: {}",
            stderr(&o)
        );
    }
    let o = brick(&[
        "--root",
        root.to_str().unwrap(),
        "delete",
        "--force",
        "nope",
    ]);
    assert!(
        o.status.success(),
        "delete --force of a missing container is not an error"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn json_log_lines_carry_level_msg_time() {
    let d = tmp("log");
    let log = d.join("log.json");
    let o = brick(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--root",
        d.to_str().unwrap(),
        "state",
        "nope",
    ]);
    assert!(!o.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("does not exist"));
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
    std::fs::remove_dir_all(&d).unwrap();
}
