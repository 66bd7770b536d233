use super::*;
use caps::Capability as Cap;

fn base() -> Process {
    serde_json::from_value(serde_json::json!({
        "terminal": true, "cwd": "/", "args": ["/bin/init"],
        "env": ["PATH=/bin", "A=1"],
        "user": {"uid": 0, "gid": 0, "additionalGids": [5]},
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
        "noNewPrivileges": false
    }))
    .unwrap()
}

fn plan_with(opts: &ExecOptions, file: Option<Process>) -> Result<ExecPlan, ExecPlanError> {
    build(ExecInputs {
        id: "c1",
        opts,
        base: Some(base()),
        file,
        seccomp: None,
        ns: &[],
        host: &crate::host_facts::HostFacts {
            last_cap: 40,
            ..Default::default()
        },
    })
}

#[test]
fn flags_overlay_the_container_process() {
    let opts = ExecOptions {
        args: vec!["probe".into(), "report".into()],
        cwd: Some("/tmp".into()),
        env: vec!["A=2".into(), "B=3".into()],
        user: Some("1000:1001".into()),
        additional_gids: vec![7],
        caps: vec!["sys_admin".into(), "CAP_NET_RAW".into()],
        no_new_privs: true,
        ..Default::default()
    };
    let p = plan_with(&opts, None).unwrap().process;
    let strs = |v: &[std::ffi::CString]| {
        v.iter()
            .map(|c| c.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strs(&p.args), ["probe", "report"]);
    assert_eq!(
        strs(&p.env),
        ["PATH=/bin", "A=2", "B=3"],
        "last value wins, in place"
    );
    assert_eq!(p.cwd, PathBuf::from("/tmp"));
    assert_eq!(
        (p.uid, p.gid, p.additional_gids.clone()),
        (1000, 1001, vec![5, 7])
    );
    assert!(!p.terminal, "a terminal only with --tty");
    assert!(p.no_new_privs);
    for set in [&p.caps.bounding, &p.caps.effective, &p.caps.permitted] {
        assert!(set.contains(&Cap::CAP_SYS_ADMIN) && set.contains(&Cap::CAP_KILL));
    }
    assert!(
        p.caps.inheritable.is_empty(),
        "CVE-2022-29162: --cap never inheritable"
    );
    assert!(p.caps.ambient.is_empty());
}

#[test]
fn user_without_gid_keeps_the_config_gid() {
    let opts = ExecOptions {
        args: vec!["x".into()],
        user: Some("42".into()),
        ..Default::default()
    };
    let p = plan_with(&opts, None).unwrap().process;
    assert_eq!((p.uid, p.gid), (42, 0));
}

#[test]
fn bad_flags_are_refused() {
    let mut opts = ExecOptions {
        args: vec!["x".into()],
        user: Some("root".into()),
        ..Default::default()
    };
    assert!(matches!(
        plan_with(&opts, None),
        Err(ExecPlanError::User(_))
    ));
    opts.user = None;
    opts.caps = vec!["CAP_NOPE".into()];
    assert!(matches!(plan_with(&opts, None), Err(ExecPlanError::Cap(_))));
    opts.caps.clear();
    opts.env = vec!["NOEQUALS".into()];
    assert!(matches!(plan_with(&opts, None), Err(ExecPlanError::Env(_))));
    opts.env.clear();
    opts.args.clear();
    assert!(matches!(plan_with(&opts, None), Err(ExecPlanError::NoArgs)));
}

#[test]
fn tty_and_console_socket_rules() {
    let mut opts = ExecOptions {
        args: vec!["x".into()],
        console_socket: Some("/s".into()),
        ..Default::default()
    };
    assert!(matches!(
        plan_with(&opts, None),
        Err(ExecPlanError::ConsoleWithoutTty)
    ));
    opts.console_socket = None;
    opts.tty = true;
    opts.detach = true;
    assert!(matches!(
        plan_with(&opts, None),
        Err(ExecPlanError::DetachedTty)
    ));
    opts.console_socket = Some("/s".into());
    assert!(plan_with(&opts, None).unwrap().process.terminal);
}

#[test]
fn a_process_file_is_taken_whole() {
    let mut file = base();
    file.set_args(Some(vec!["/bin/probe".into(), "exit".into(), "7".into()]));
    file.set_cwd("/etc".into());
    let opts = ExecOptions {
        cwd: Some("/ignored".into()),
        ..Default::default()
    };
    let p = plan_with(&opts, Some(file)).unwrap().process;
    assert_eq!(p.cwd, PathBuf::from("/etc"));
    assert_eq!(p.args.len(), 3);
    let mut rel = base();
    rel.set_cwd("etc".into());
    assert!(matches!(
        plan_with(&opts, Some(rel)),
        Err(ExecPlanError::Cwd(_))
    ));
}

#[test]
fn only_foreign_namespaces_are_joined_user_last() {
    let ns = |name, c: u64, o: u64| NsIds {
        name,
        container: (1, c),
        own: (1, o),
    };
    let ids = [
        ns("user", 10, 11),
        ns("mnt", 20, 21),
        ns("net", 30, 30),
        ns("pid", 40, 41),
    ];
    let names: Vec<_> = to_join(&ids, false).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["pid", "mnt", "user"]);
    let rootless: Vec<_> = to_join(&ids, true).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        rootless,
        ["user", "pid", "mnt"],
        "rootless joins its user ns first"
    );
}

#[test]
fn saved_config_round_trips() {
    let spec: Spec = serde_json::from_value(serde_json::json!({
        "ociVersion": "1.0.2", "root": {"path": "r"}, "process": base(),
        "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}
    }))
    .unwrap();
    let at = std::path::Path::new("/run/brick/c/state.json");
    let (p, s) = from_saved(&saved_config(&spec), at).unwrap();
    assert_eq!(p.unwrap().args().clone().unwrap(), ["/bin/init"]);
    assert!(s.is_some());
    let (p, s) = from_saved(&serde_json::json!({}), at).unwrap();
    assert!(p.is_none() && s.is_none());
}

#[test]
fn saved_config_that_does_not_parse_is_an_error_naming_the_field() {
    let at = std::path::Path::new("/run/brick/c/state.json");
    let bad = serde_json::json!({"seccomp": {"defaultAction": "SCMP_ACT_BOGUS"}});
    let e = from_saved(&bad, at).unwrap_err().to_string();
    assert!(e.contains("config.seccomp.defaultAction"), "{e}");
    assert!(e.contains("state.json"), "{e}");
    let bad = serde_json::json!({"process": {"args": "sh"}});
    let e = from_saved(&bad, at).unwrap_err().to_string();
    assert!(e.contains("config.process.args"), "{e}");
    assert!(from_saved(&serde_json::json!([]), at).is_err());
}
