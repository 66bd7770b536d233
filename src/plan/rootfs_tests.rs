use super::*;

fn opts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn parse(list: &[&str]) -> ParsedOptions {
    parse_options(&opts(list)).expect("parse")
}

fn spec(json: &str) -> Spec {
    serde_json::from_str(json).expect("spec json")
}

fn mount(json: &str) -> Result<MountPlan, RootfsPlanError> {
    let m: Mount = serde_json::from_str(json).expect("mount json");
    plan_mount(&m, Path::new("/bundle"))
}

#[test]
fn every_flag_option() {
    let cases: &[(&str, MsFlags)] = &[
        ("ro", MsFlags::MS_RDONLY),
        ("nosuid", MsFlags::MS_NOSUID),
        ("nodev", MsFlags::MS_NODEV),
        ("noexec", MsFlags::MS_NOEXEC),
        ("sync", MsFlags::MS_SYNCHRONOUS),
        ("dirsync", MsFlags::MS_DIRSYNC),
        ("mand", MsFlags::MS_MANDLOCK),
        ("noatime", MsFlags::MS_NOATIME),
        ("nodiratime", MsFlags::MS_NODIRATIME),
        ("relatime", MsFlags::MS_RELATIME),
        ("strictatime", MsFlags::MS_STRICTATIME),
        ("lazytime", MsFlags::MS_LAZYTIME),
        ("nosymfollow", MS_NOSYMFOLLOW),
    ];
    for (opt, flag) in cases {
        assert_eq!(parse(&[opt]).flags, *flag, "{opt}");
    }
    let clears = [
        ("ro", "rw"),
        ("nosuid", "suid"),
        ("nodev", "dev"),
        ("noexec", "exec"),
        ("sync", "async"),
        ("mand", "nomand"),
        ("noatime", "atime"),
        ("nodiratime", "diratime"),
        ("relatime", "norelatime"),
        ("strictatime", "nostrictatime"),
        ("nosymfollow", "symfollow"),
    ];
    for (set, clear) in clears {
        let p = parse(&[set, clear]);
        assert!(p.flags.is_empty(), "{set},{clear}");
        assert!(!p.cleared.is_empty(), "{clear} recorded");
        assert!(!parse(&[clear, set]).flags.is_empty(), "{clear},{set}");
    }
    assert!(parse(&["defaults"]).flags.is_empty());
    assert!(parse(&["remount"]).remount);
}

#[test]
fn propagation_bind_and_data() {
    let p = parse(&[
        "rbind",
        "rprivate",
        "slave",
        "size=65536k",
        "mode=755",
        "tmpcopyup",
    ]);
    assert_eq!(p.bind, Some(true));
    assert_eq!(
        p.propagation,
        vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC, MsFlags::MS_SLAVE]
    );
    assert_eq!(p.data, vec!["size=65536k", "mode=755"]);
    assert_eq!(parse(&["bind"]).bind, Some(false));
    assert_eq!(parse(&["bind", "rbind"]).bind, Some(true));
    for (o, f) in [
        ("shared", MsFlags::MS_SHARED),
        ("rshared", MsFlags::MS_SHARED | MsFlags::MS_REC),
        ("private", MsFlags::MS_PRIVATE),
        ("rslave", MsFlags::MS_SLAVE | MsFlags::MS_REC),
        ("unbindable", MsFlags::MS_UNBINDABLE),
        ("runbindable", MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
    ] {
        assert_eq!(parse(&[o]).propagation, vec![f], "{o}");
    }
}

#[test]
fn recursive_attrs() {
    let p = parse(&[
        "rro",
        "rnosuid",
        "rnodev",
        "rnoexec",
        "rnodiratime",
        "rnosymfollow",
    ]);
    let all = attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC;
    assert_eq!(p.rec_attr.set, all | attr::NODIRATIME | attr::NOSYMFOLLOW);
    assert_eq!(p.rec_attr.clr, 0);
    let p = parse(&[
        "rro",
        "rrw",
        "rsuid",
        "rdev",
        "rexec",
        "rdiratime",
        "rsymfollow",
    ]);
    assert_eq!(p.rec_attr.set, 0);
    assert_eq!(p.rec_attr.clr, all | attr::NODIRATIME | attr::NOSYMFOLLOW);
    let p = parse(&["rnoatime"]);
    assert_eq!(
        (p.rec_attr.set, p.rec_attr.clr),
        (attr::NOATIME, attr::ATIME_MASK)
    );
    let p = parse(&["rnoatime", "rstrictatime"]);
    assert_eq!(p.rec_attr.set, attr::STRICTATIME);
    for o in ["ratime", "rrelatime", "rnostrictatime"] {
        assert_eq!(parse(&[o]).rec_attr.set, attr::RELATIME, "{o}");
        assert_eq!(parse(&[o]).rec_attr.clr, attr::ATIME_MASK, "{o}");
    }
    assert_eq!(parse(&["rnorelatime"]).rec_attr.set, attr::STRICTATIME);
}

#[test]
fn unknown_options_are_data() {
    assert_eq!(parse(&["newinstance", "ptmxmode=0666"]).data.len(), 2);
}

fn mapped(json: &str, linux: &str) -> Result<MountPlan, RootfsPlanError> {
    let m: Mount = serde_json::from_str(json).expect("mount json");
    let l: oci_spec::runtime::Linux = serde_json::from_str(linux).expect("linux json");
    plan_mount_mapped(&m, Path::new("/bundle"), Some(&l))
}

#[test]
fn idmap_takes_the_mounts_maps_else_the_containers() {
    let own = r#"{"destination":"/m","type":"bind","source":"/src","options":["rbind","ridmap"],
        "uidMappings":[{"containerID":1000,"hostID":0,"size":1}],
        "gidMappings":[{"containerID":1000,"hostID":0,"size":1}]}"#;
    let userns = r#"{"uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
        "gidMappings":[{"containerID":0,"hostID":200000,"size":10}]}"#;
    let m = mapped(own, userns).expect("plan");
    let i = m.idmap.expect("id-mapped");
    assert_eq!((i.uid_map.as_str(), i.recursive), ("1000 0 1\n", true));
    let m = mapped(
        r#"{"destination":"/m","type":"bind","source":"/src","options":["bind","idmap"]}"#,
        userns,
    )
    .expect("plan");
    let i = m.idmap.expect("id-mapped");
    assert_eq!(i.uid_map, "0 100000 65536\n");
    assert_eq!((i.gid_map.as_str(), i.recursive), ("0 200000 10\n", false));
    assert!(mapped(
        r#"{"destination":"/m","type":"bind","source":"/s","options":["bind"]}"#,
        "{}"
    )
    .expect("plan")
    .idmap
    .is_none());
}

#[test]
fn idmap_errors_name_the_mount() {
    let cases = [
        // No maps anywhere.
        r#"{"destination":"/m","type":"bind","source":"/s","options":["bind","idmap"]}"#,
        // Not a bind.
        r#"{"destination":"/m","type":"tmpfs","source":"tmpfs","options":["idmap"]}"#,
        // Maps without the option, and one kind of map alone.
        r#"{"destination":"/m","type":"bind","source":"/s","options":["bind"],
            "uidMappings":[{"containerID":0,"hostID":1,"size":1}],
            "gidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#,
        r#"{"destination":"/m","type":"bind","source":"/s","options":["bind","idmap"],
            "uidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#,
    ];
    for c in cases {
        let e = mapped(c, "{}").unwrap_err();
        assert!(e.to_string().contains("\"/m\""), "{e}");
    }
}

#[test]
fn fresh_mount_attrs() {
    let m = mount(r#"{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev","noatime"]}"#).expect("plan");
    assert_eq!(m.kind, MountKind::Fresh);
    assert_eq!(
        m.attr.set,
        attr::NOSUID | attr::NOEXEC | attr::NODEV | attr::NOATIME
    );
    assert!(!m.is_bind());
    let m = mount(r#"{"destination":"/x","type":"tmpfs","options":["strictatime","ro"]}"#)
        .expect("plan");
    assert_eq!(m.attr.set, attr::RDONLY | attr::STRICTATIME);
    assert!(m.label);
    assert_eq!(m.data_with_label(Some("s0:c1,c2")), "context=\"s0:c1,c2\"");
    let m = mount(r#"{"destination":"/y","type":"tmpfs","options":["mode=755"]}"#).expect("plan");
    assert_eq!(m.data_with_label(Some("l")), "mode=755,context=\"l\"");
    assert_eq!(m.data_with_label(None), "mode=755");
    let m =
        mount(r#"{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue"}"#).expect("plan");
    assert!(!m.label, "mqueue cannot take context=");
    assert_eq!(m.data_with_label(Some("l")), "");
}

#[test]
fn bind_detection_and_attrs() {
    let m = mount(r#"{"destination":"/b","source":"data","options":["rbind","ro","rw","nosuid"]}"#)
        .expect("plan");
    assert_eq!(m.kind, MountKind::Bind { recursive: true });
    assert_eq!(m.bind_source, Some(PathBuf::from("/bundle/data")));
    assert_eq!(
        m.attr,
        MountAttr {
            set: attr::NOSUID,
            clr: attr::RDONLY
        }
    );
    let m = mount(r#"{"destination":"/b","type":"bind","source":"/abs","options":["noatime"]}"#)
        .expect("plan");
    assert_eq!(m.kind, MountKind::Bind { recursive: false });
    assert_eq!(m.bind_source, Some(PathBuf::from("/abs")));
    assert_eq!(
        m.attr,
        MountAttr {
            set: attr::NOATIME,
            clr: attr::ATIME_MASK
        }
    );
    assert!(!m.label);
    let m = mount(r#"{"destination":"/b","type":"none","source":"/abs","options":["bind"]}"#)
        .expect("plan");
    assert_eq!(m.attr, MountAttr::default());
    assert!(matches!(
        mount(r#"{"destination":"/b","type":"bind","options":["bind"]}"#),
        Err(RootfsPlanError::MissingSource { .. })
    ));
}

#[test]
fn relative_destination_rejected() {
    let e = mount(r#"{"destination":"proc","type":"proc"}"#).unwrap_err();
    assert_eq!(
        e,
        RootfsPlanError::RelativeDestination { dst: "proc".into() }
    );
    assert!(e.to_string().contains("\"proc\""));
    let m = mount(r#"{"destination":"/a/./b//c/","type":"tmpfs"}"#).expect("plan");
    assert_eq!(m.destination, PathBuf::from("/a/b/c"));
    assert_eq!(
        mount(r#"{"destination":"/cg","type":"cgroup"}"#).map(|m| m.kind),
        Ok(MountKind::Cgroup)
    );
}

const BASE: &str = r#"{"ociVersion":"1.3.0","root":{"path":"rootfs","readonly":true},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
           {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}],
 "linux":{"namespaces":[{"type":"mount"},{"type":"user"}],
   "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0},
              {"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":384}],
   "maskedPaths":["/proc/kcore","/sys/firmware"],"readonlyPaths":["/proc/sys"],
   "rootfsPropagation":"rshared","mountLabel":"system_u:object_r:container_file_t:s0"}}"#;

#[test]
fn whole_plan() {
    let p = plan_rootfs(
        &spec(BASE),
        Path::new("/b"),
        Path::new("/b/rootfs"),
        true,
        &HostFacts::default(),
    )
    .expect("plan");
    assert!(p.readonly && p.no_pivot && p.user_ns && !p.cgroup_ns && p.setup_dev);
    assert_eq!(p.root_propagation, MsFlags::MS_SHARED | MsFlags::MS_REC);
    assert_eq!(
        p.rootfs_propagation,
        Some(MsFlags::MS_SHARED | MsFlags::MS_REC)
    );
    assert_eq!(
        p.masked_paths,
        vec![PathBuf::from("/proc/kcore"), PathBuf::from("/sys/firmware")]
    );
    assert_eq!(p.readonly_paths, vec![PathBuf::from("/proc/sys")]);
    assert_eq!(p.mounts.len(), 2);
    assert!(p.mount_label.is_some());
    let names: Vec<_> = p
        .devices
        .iter()
        .map(|d| d.path.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
            "/dev/fuse",
            "/dev/null"
        ]
    );
    let null = p.devices.last().expect("null");
    assert_eq!((null.major, null.minor, null.mode), (1, 3, 0o600));
    let fuse = &p.devices[5];
    assert_eq!(
        (fuse.kind, fuse.major, fuse.minor, fuse.mode),
        (DeviceKind::Char, 10, 229, 0o666)
    );
}

#[test]
fn defaults_and_dev_bind() {
    let s = spec(
        r#"{"ociVersion":"1.3.0","mounts":[{"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}]}"#,
    );
    let p = plan_rootfs(
        &s,
        Path::new("/b"),
        Path::new("/r"),
        false,
        &HostFacts::default(),
    )
    .expect("plan");
    assert!(!p.setup_dev && !p.readonly && !p.user_ns);
    assert_eq!(p.root_propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
    assert_eq!(p.rootfs_propagation, None);
    assert_eq!(p.devices.len(), 6);
    assert!(p
        .devices
        .iter()
        .all(|d| d.mode == 0o666 && d.kind == DeviceKind::Char));
    assert!(matches!(
        plan_rootfs(
            &s,
            Path::new("/b"),
            Path::new("r"),
            false,
            &HostFacts::default()
        ),
        Err(RootfsPlanError::RootfsNotAbsolute { .. })
    ));
}

#[test]
fn bad_lists_rejected() {
    let bad = [
        (r#""maskedPaths":["proc/kcore"]"#, "maskedPaths"),
        (r#""readonlyPaths":["x"]"#, "readonlyPaths"),
        (r#""rootfsPropagation":"sideways""#, "rootfsPropagation"),
        (
            r#""devices":[{"path":"dev/x","type":"c","major":1,"minor":1}]"#,
            "devices",
        ),
        (r#""devices":[{"path":"/dev/x","type":"a"}]"#, "devices"),
    ];
    for (linux, field) in bad {
        let s = spec(&format!(r#"{{"ociVersion":"1.3.0","linux":{{{linux}}}}}"#));
        let e = plan_rootfs(
            &s,
            Path::new("/b"),
            Path::new("/r"),
            false,
            &HostFacts::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains(field), "{e}");
    }
}

#[test]
fn only_procfs_over_proc_and_only_lxcfs_files_inside() {
    let ok = |j: &str| check_proc(&mount(j).unwrap());
    assert!(ok(r#"{"destination": "/proc", "type": "proc", "source": "proc"}"#).is_ok());
    // A bind's source is checked in the child (it must be a procfs).
    assert!(ok(
        r#"{"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]}"#
    )
    .is_ok());
    assert!(ok(
        r#"{"destination": "/proc/uptime", "type": "bind", "source": "/u", "options": ["bind"]}"#
    )
    .is_ok());
    assert!(ok(r#"{"destination": "/proc2", "type": "tmpfs", "source": "tmpfs"}"#).is_ok());
    let e = ok(r#"{"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"mounts: "tmpfs" on "/proc": only procfs (type "proc", or a bind of a procfs) may be mounted over /proc"#
    );
    assert!(ok(r#"{"destination": "/proc/./", "type": "tmpfs", "source": "tmpfs"}"#).is_err());
    for bad in [
        r#"{"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}"#,
        r#"{"destination": "/proc/sys", "type": "bind", "source": "/x", "options": ["bind"]}"#,
        r#"{"destination": "/proc/uptime", "type": "tmpfs", "source": "tmpfs"}"#,
        r#"{"destination": "/proc/1/task", "type": "bind", "source": "/x", "options": ["bind"]}"#,
    ] {
        let e = ok(bad).unwrap_err();
        assert!(
            matches!(e, RootfsPlanError::InsideProc { .. }),
            "{bad}: {e}"
        );
    }
}
