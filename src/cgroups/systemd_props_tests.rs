//! Unit tests for the systemd property translation: names, values and D-Bus signatures.

use super::*;
use crate::cgroups::devices::default_allowed;
use crate::cgroups::systemd_devices::parse_proc_devices;
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder,
    LinuxPidsBuilder, LinuxResourcesBuilder,
};

const MIB: i64 = 1 << 20;

fn props(res: &LinuxResources, mode: Mode) -> Vec<Property<'static>> {
    let names = parse_proc_devices("Character devices:\n136 pts\n");
    resource_properties(res, mode, &default_allowed(), &names, false)
        .unwrap()
        .0
}

fn get<'a>(props: &'a [Property<'static>], name: &str) -> Option<&'a Property<'static>> {
    props.iter().find(|p| p.0 == name)
}

fn sig(props: &[Property<'static>], name: &str) -> String {
    get(props, name).unwrap().1.value_signature().to_string()
}

fn has(props: &[Property<'static>], want: Property<'static>) -> bool {
    props.contains(&want)
}

#[test]
fn unit_props() {
    let unit = SystemdUnit {
        slice: "system.slice".into(),
        unit: "brick-c1.scope".into(),
    };
    let p = unit_properties(&unit, Mode::V2, 42);
    assert!(has(&p, ("Slice", "system.slice".into())));
    assert!(has(&p, ("Delegate", true.into())));
    assert!(has(&p, ("DefaultDependencies", false.into())));
    assert!(has(&p, ("PIDs", vec![42u32].into())));
    assert!(has(
        &p,
        ("Description", "brick container brick-c1.scope".into())
    ));
    assert!(has(&p, ("IOAccounting", true.into())));
    assert_eq!(sig(&p, "PIDs"), "au");
    assert_eq!(sig(&p, "Description"), "s");
    let p = unit_properties(&unit, Mode::Hybrid, 42);
    assert!(has(&p, ("BlockIOAccounting", true.into())));
    assert!(get(&p, "IOAccounting").is_none());
}

#[test]
fn cpu_quota_rounding() {
    assert_eq!(quota_per_sec(50_000, Some(100_000)), 500_000);
    assert_eq!(quota_per_sec(100_000, None), 1_000_000);
    // 1.5% becomes 2%: systemd keeps whole percent and must not undercut the cgroupfs quota.
    assert_eq!(quota_per_sec(1_500, Some(100_000)), 20_000);
    assert_eq!(quota_per_sec(1, Some(3)), 340_000);
    assert_eq!(quota_per_sec(10_000, Some(1_000_000)), 10_000);
    assert_eq!(quota_per_sec(-1, Some(100_000)), INFINITY);
    assert_eq!(quota_per_sec(0, None), INFINITY);
    assert_eq!(quota_per_sec(i64::MAX, Some(1)), INFINITY);
}

#[test]
fn cpu_props_by_mode() {
    let cpu = LinuxCpuBuilder::default()
        .shares(1024u64)
        .quota(150_000i64)
        .period(100_000u64)
        .cpus("0-4,9")
        .mems("0")
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default().cpu(cpu).build().unwrap();
    let p = props(&res, Mode::V2);
    assert!(has(&p, ("CPUWeight", 39u64.into())));
    assert!(has(&p, ("CPUQuotaPerSecUSec", 1_500_000u64.into())));
    assert!(has(&p, ("CPUQuotaPeriodUSec", 100_000u64.into())));
    assert!(has(&p, ("AllowedCPUs", vec![0x1fu8, 0x02].into())));
    assert!(has(&p, ("AllowedMemoryNodes", vec![0x01u8].into())));
    assert_eq!(sig(&p, "AllowedCPUs"), "ay");
    assert_eq!(sig(&p, "CPUWeight"), "t");
    let p = props(&res, Mode::V1);
    assert!(has(&p, ("CPUShares", 1024u64.into())));
    assert!(get(&p, "CPUWeight").is_none());
    assert!(get(&p, "AllowedCPUs").is_none());
    let cpu = LinuxCpuBuilder::default().shares(1u64).build().unwrap();
    let res = LinuxResourcesBuilder::default().cpu(cpu).build().unwrap();
    assert!(has(&props(&res, Mode::Hybrid), ("CPUShares", 2u64.into())));
    assert!(has(&props(&res, Mode::V2), ("CPUWeight", 1u64.into())));
}

#[test]
fn cpuset_bitmask() {
    assert_eq!(cpuset_mask("c", "0-4,9").unwrap(), [0x1f, 0x02]);
    assert_eq!(cpuset_mask("c", "1,7").unwrap(), [0x82]);
    assert_eq!(cpuset_mask("c", " 2 , 4-5 ").unwrap(), [0b0011_0100]);
    assert_eq!(cpuset_mask("c", "16").unwrap(), [0, 0, 1]);
    let all = cpuset_mask("c", "0-8191").unwrap();
    assert_eq!(all.len(), 1024);
    assert!(all.iter().all(|b| *b == 0xff));
    for bad in ["3-1", "x", "1,,2", "8192", "1-2-3", "-1", "0-99999999999"] {
        assert!(cpuset_mask("c", bad).is_err(), "{bad}");
    }
}

#[test]
fn memory_and_swap() {
    let mem = LinuxMemoryBuilder::default()
        .limit(512 * MIB)
        .swap(1024 * MIB)
        .reservation(256 * MIB)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(mem)
        .build()
        .unwrap();
    let p = props(&res, Mode::V2);
    assert!(has(&p, ("MemoryMax", (512u64 << 20).into())));
    assert!(has(&p, ("MemoryLow", (256u64 << 20).into())));
    // OCI swap is memory+swap; MemorySwapMax is swap alone.
    assert!(has(&p, ("MemorySwapMax", (512u64 << 20).into())));
    let p = props(&res, Mode::V1);
    assert!(has(&p, ("MemoryLimit", (512u64 << 20).into())));
    assert!(get(&p, "MemorySwapMax").is_none());
    assert!(get(&p, "MemoryLow").is_none());
    let mem = LinuxMemoryBuilder::default()
        .limit(-1)
        .swap(0)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(mem)
        .build()
        .unwrap();
    let p = props(&res, Mode::V2);
    assert!(has(&p, ("MemoryMax", INFINITY.into())));
    assert!(get(&p, "MemorySwapMax").is_none());
    let mem = LinuxMemoryBuilder::default()
        .limit(100 * MIB)
        .swap(-1)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(mem)
        .build()
        .unwrap();
    assert!(has(
        &props(&res, Mode::V2),
        ("MemorySwapMax", INFINITY.into())
    ));
    let mem = LinuxMemoryBuilder::default()
        .limit(100 * MIB)
        .swap(50 * MIB)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(mem)
        .build()
        .unwrap();
    let names = DeviceNames::new();
    assert!(resource_properties(&res, Mode::V2, &[], &names, false).is_err());
}

#[test]
fn pids_and_io() {
    let pids = |limit: i64| {
        let res = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(limit).build().unwrap())
            .build()
            .unwrap();
        props(&res, Mode::V2)
    };
    assert!(has(&pids(100), ("TasksMax", 100u64.into())));
    assert!(has(&pids(-1), ("TasksMax", INFINITY.into())));
    assert!(get(&pids(0), "TasksMax").is_none());
    assert_eq!(sig(&pids(5), "TasksMax"), "t");
    let io = LinuxBlockIoBuilder::default()
        .weight(500u16)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .block_io(io)
        .build()
        .unwrap();
    assert!(has(&props(&res, Mode::V2), ("IOWeight", 4950u64.into())));
    assert!(has(
        &props(&res, Mode::V1),
        ("BlockIOWeight", 500u64.into())
    ));
}

#[test]
fn devices() {
    let deny_all = LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .devices(vec![deny_all])
        .build()
        .unwrap();
    let p = props(&res, Mode::V2);
    assert!(has(&p, ("DevicePolicy", "strict".into())));
    assert_eq!(sig(&p, "DeviceAllow"), "a(ss)");
    let null = ("/dev/char/1:3".to_string(), "rwm".to_string());
    let pts = ("char-pts".to_string(), "rwm".to_string());
    let Some((_, allow)) = get(&p, "DeviceAllow") else {
        panic!("no DeviceAllow");
    };
    let list: Vec<(String, String)> = allow.try_clone().unwrap().try_into().unwrap();
    assert!(list.contains(&null) && list.contains(&pts));
    // Resources without devices still get the default rules on create, none on update.
    let empty = LinuxResources::default();
    assert!(get(&props(&empty, Mode::V1), "DeviceAllow").is_some());
    let names = DeviceNames::new();
    let (p, _) = resource_properties(&empty, Mode::V2, &[], &names, true).unwrap();
    assert!(p.is_empty());
}

#[test]
fn unified_overrides() {
    let unified = HashMap::from([
        ("memory.high".to_string(), "max".to_string()),
        ("memory.max".to_string(), "1048576".to_string()),
        ("cpu.max".to_string(), "50000 200000".to_string()),
        ("cpuset.cpus".to_string(), "8".to_string()),
        ("hugetlb.2MB.max".to_string(), "0".to_string()),
    ]);
    let mem = LinuxMemoryBuilder::default()
        .limit(MIB * 8)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .memory(mem)
        .unified(unified)
        .build()
        .unwrap();
    let p = props(&res, Mode::V2);
    assert!(has(&p, ("MemoryHigh", INFINITY.into())));
    assert!(has(&p, ("MemoryMax", 1_048_576u64.into())));
    assert_eq!(p.iter().filter(|x| x.0 == "MemoryMax").count(), 1);
    assert!(has(&p, ("CPUQuotaPerSecUSec", 250_000u64.into())));
    assert!(has(&p, ("CPUQuotaPeriodUSec", 200_000u64.into())));
    assert!(has(&p, ("AllowedCPUs", vec![0u8, 1].into())));
    assert!(p.iter().all(|x| !x.0.starts_with("hugetlb")));
    let bad = HashMap::from([("pids.max".to_string(), "lots".to_string())]);
    let res = LinuxResourcesBuilder::default()
        .unified(bad)
        .build()
        .unwrap();
    let names = DeviceNames::new();
    assert!(resource_properties(&res, Mode::V2, &[], &names, false).is_err());
    // v1 has no unified hierarchy to speak of; the cgroupfs code reports that.
    let p = props(&res, Mode::V1);
    assert!(get(&p, "TasksMax").is_none());
}
