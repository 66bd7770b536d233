//! Unit tests for plan(): path resolution and static checks, no cgroupfs access.

use super::*;
use oci_spec::runtime::{
    LinuxBuilder, LinuxDeviceCgroupBuilder, LinuxHugepageLimitBuilder, LinuxResourcesBuilder,
};
use std::collections::HashMap;

fn linux(res: LinuxResources, path: Option<&str>) -> Linux {
    let b = LinuxBuilder::default().resources(res);
    match path {
        Some(p) => b.cgroups_path(p).build().unwrap(),
        None => b.build().unwrap(),
    }
}

#[test]
fn plan_paths_and_devices() {
    let cfg = plan(None, "c1", false).unwrap();
    assert_eq!(cfg.path, "/brick/c1");
    assert_eq!(cfg.resources, None);
    assert!(cfg.device_extra.iter().any(|r| r.v1_line() == "c 1:3 rwm"));
    let l = linux(LinuxResources::default(), Some("/x/y"));
    assert_eq!(plan(Some(&l), "c1", false).unwrap().path, "/x/y");
    let cfg = plan(Some(&l), "c1", true);
    assert!(matches!(cfg, Err(CgroupError::InvalidPath { .. })));
    let l = linux(LinuxResources::default(), Some("system.slice:brick:c1"));
    let cfg = plan(Some(&l), "c1", true).unwrap();
    assert_eq!(cfg.path, "/system.slice/brick-c1.scope");
    assert_eq!(cfg.systemd_unit.unwrap().slice, "system.slice");
}

#[test]
fn plan_rejects_bad_values() {
    let bad_dev = LinuxDeviceCgroupBuilder::default()
        .access("rwz")
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .devices(vec![bad_dev])
        .build()
        .unwrap();
    assert!(plan(Some(&linux(res, None)), "c1", false).is_err());
    let huge = LinuxHugepageLimitBuilder::default()
        .page_size("../2MB")
        .limit(1)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![huge])
        .build()
        .unwrap();
    assert!(plan(Some(&linux(res, None)), "c1", false).is_err());
    let unified = HashMap::from([("cgroup.procs".to_string(), "1".to_string())]);
    let res = LinuxResourcesBuilder::default()
        .unified(unified)
        .build()
        .unwrap();
    let err = plan(Some(&linux(res, None)), "c1", false).unwrap_err();
    assert!(err.to_string().contains("cgroup.procs"), "{err}");
}

#[test]
fn error_text_names_file_and_value() {
    let e =
        fsio::write_file(std::path::Path::new("/nonexistent-brick"), "cpu.max", "1 2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "write \"1 2\" to \"/nonexistent-brick/cpu.max\""
    );
}

#[test]
fn empty_cpusets_fill_from_the_nearest_filled_ancestor() {
    // A parallel create can leave a shared parent made but not yet filled.
    let root = std::env::temp_dir().join(format!("brick-cpuset-{}", std::process::id()));
    let leaf = root.join("shared/leaf");
    std::fs::create_dir_all(&leaf).unwrap();
    std::fs::write(root.join("cpuset.cpus"), "0-1\n").unwrap();
    std::fs::write(root.join("cpuset.mems"), "0\n").unwrap();
    for d in [root.join("shared"), leaf.clone()] {
        std::fs::write(d.join("cpuset.cpus"), "\n").unwrap();
        std::fs::write(d.join("cpuset.mems"), "\n").unwrap();
    }
    fill_cpuset(&leaf).unwrap();
    for d in [root.join("shared"), leaf] {
        assert_eq!(
            std::fs::read_to_string(d.join("cpuset.cpus"))
                .unwrap()
                .trim(),
            "0-1"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("cpuset.mems"))
                .unwrap()
                .trim(),
            "0"
        );
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn only_a_resource_with_a_value_asks_for_a_cgroup() {
    let r = |j: serde_json::Value| -> LinuxResources { serde_json::from_value(j).unwrap() };
    let none = r(
        serde_json::json!({"devices": [{"allow": false, "access": "rwm"}], "cpu": {}, "memory": {}}),
    );
    assert_eq!(
        first_resource(Some(&none)),
        None,
        "devices and empty objects ask for nothing"
    );
    let mem = r(serde_json::json!({"cpu": {}, "memory": {"limit": 1048576}}));
    assert_eq!(first_resource(Some(&mem)), Some("memory"));
    let pids = r(serde_json::json!({"pids": {"limit": 10}}));
    assert_eq!(first_resource(Some(&pids)), Some("pids"));
    assert_eq!(first_resource(None), None);
}
