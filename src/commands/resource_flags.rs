//! Pure parsing for the cgroup verbs: runc's update flags → LinuxResources, byte sizes with
//! k/m/g suffixes, Go-style durations for `events --interval`.

use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
use thiserror::Error;

use crate::cli::UpdateArgs;

#[derive(Debug, Error)]
pub enum FlagError {
    #[error("invalid value {value:?} for --{flag}: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: &'static str,
    },
}

fn invalid(flag: &'static str, value: &str, reason: &'static str) -> FlagError {
    FlagError::Invalid {
        flag,
        value: value.to_string(),
        reason,
    }
}

/// A byte size as docker's units.RAMInBytes reads it: "512", "64m", "1.5g", "2 GiB" (binary
/// multiples); "-1" means unlimited.
pub fn parse_bytes(flag: &'static str, text: &str) -> Result<i64, FlagError> {
    if text == "-1" {
        return Ok(-1);
    }
    let bad = || {
        invalid(
            flag,
            text,
            "expected bytes with an optional k, m, g, t or p suffix",
        )
    };
    let num_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, rest) = text.split_at(num_len);
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut chars = rest.chars().peekable();
    let mul: u64 = match chars.peek().map(char::to_ascii_lowercase) {
        Some('k') => 1 << 10,
        Some('m') => 1 << 20,
        Some('g') => 1 << 30,
        Some('t') => 1 << 40,
        Some('p') => 1 << 50,
        _ => 1,
    };
    if mul != 1 {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    let digits_ok = !num.is_empty()
        && !num.starts_with('.')
        && !num.ends_with('.')
        && num.matches('.').count() <= 1;
    if !digits_ok || chars.next().is_some() {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let bytes = value * mul as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(invalid(flag, text, "too large"));
    }
    Ok(bytes as i64)
}

/// A Go time.ParseDuration string ("5s", "500ms", "1m30s", "1.5h"); must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, FlagError> {
    let bad = || {
        invalid(
            "interval",
            text,
            "expected a duration such as 5s, 500ms or 1m",
        )
    };
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * secs;
        rest = &rest[unit_len..];
    }
    if total <= 0.0 || !total.is_finite() {
        return Err(invalid("interval", text, "must be positive"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// The resources `brick update` flags ask for; only what a flag sets is Some.
pub fn from_flags(a: &UpdateArgs) -> Result<LinuxResources, FlagError> {
    let mut res = LinuxResources::default();
    let bytes = |flag, v: &Option<String>| v.as_deref().map(|t| parse_bytes(flag, t)).transpose();
    let limit = bytes("memory", &a.memory)?;
    let reservation = bytes("memory-reservation", &a.memory_reservation)?;
    let swap = bytes("memory-swap", &a.memory_swap)?;
    let kernel = bytes("kernel-memory", &a.kernel_memory)?;
    let kernel_tcp = bytes("kernel-memory-tcp", &a.kernel_memory_tcp)?;
    if [limit, reservation, swap, kernel, kernel_tcp]
        .iter()
        .any(Option::is_some)
    {
        let mut m = LinuxMemory::default();
        m.set_limit(limit);
        m.set_reservation(reservation);
        m.set_swap(swap);
        #[allow(deprecated)]
        {
            m.set_kernel(kernel);
        }
        m.set_kernel_tcp(kernel_tcp);
        res.set_memory(Some(m));
    }
    let any_cpu = a.cpu_period.is_some()
        || a.cpu_quota.is_some()
        || a.cpu_share.is_some()
        || a.cpu_rt_period.is_some()
        || a.cpu_rt_runtime.is_some()
        || a.cpuset_cpus.is_some()
        || a.cpuset_mems.is_some();
    if any_cpu {
        let mut c = LinuxCpu::default();
        c.set_period(a.cpu_period);
        c.set_quota(a.cpu_quota);
        c.set_shares(a.cpu_share);
        c.set_realtime_period(a.cpu_rt_period);
        c.set_realtime_runtime(a.cpu_rt_runtime);
        c.set_cpus(a.cpuset_cpus.clone());
        c.set_mems(a.cpuset_mems.clone());
        res.set_cpu(Some(c));
    }
    if let Some(l) = a.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(l);
        res.set_pids(Some(p));
    }
    if let Some(w) = a.blkio_weight {
        if w != 0 && !(10..=1000).contains(&w) {
            return Err(invalid("blkio-weight", &w.to_string(), "must be 10..1000"));
        }
        let mut b = LinuxBlockIo::default();
        b.set_weight(Some(w));
        res.set_block_io(Some(b));
    }
    Ok(crate::cgroups::conv::unset_zeros(res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn bytes_like_ram_in_bytes() {
        let ok = |t: &str| parse_bytes("memory", t).unwrap();
        assert_eq!(ok("1024"), 1024);
        assert_eq!(ok("64m"), 64 << 20);
        assert_eq!(ok("64M"), 64 << 20);
        assert_eq!(ok("1.5g"), 3 << 29);
        assert_eq!(ok("2 GiB"), 2 << 30);
        assert_eq!(ok("10kb"), 10 << 10);
        assert_eq!(ok("7b"), 7);
        assert_eq!(ok("-1"), -1);
        for bad in ["", "m", "1x", "-2", "1..2m", ".5m", "1mm", "1 2"] {
            assert!(parse_bytes("memory", bad).is_err(), "{bad}");
        }
        let e = parse_bytes("memory", "lots").unwrap_err().to_string();
        assert!(e.starts_with("invalid value \"lots\" for --memory"), "{e}");
    }

    #[test]
    fn durations_like_go() {
        let ms = |t: &str| parse_duration(t).unwrap().as_millis();
        assert_eq!(ms("5s"), 5000);
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("1m30s"), 90_000);
        assert_eq!(ms("1.5h"), 5_400_000);
        assert_eq!(parse_duration("100us").unwrap().as_micros(), 100);
        for bad in ["", "5", "s", "0s", "5x", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    fn update(argv: &[&str]) -> UpdateArgs {
        let mut full = vec!["brick", "update"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::parse_from(full).command {
            Some(crate::cli::Command::Update(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_to_resources() {
        let r = from_flags(&update(&[
            "--memory",
            "64m",
            "--cpu-quota",
            "-1",
            "--cpu-share",
            "512",
            "--pids-limit",
            "20",
            "--cpuset-cpus",
            "0",
            "id1",
        ]))
        .unwrap();
        assert_eq!(r.memory().unwrap().limit(), Some(64 << 20));
        assert_eq!(r.memory().unwrap().swap(), None);
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(
            (c.quota(), c.shares(), c.period()),
            (Some(-1), Some(512), None)
        );
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(r.pids().unwrap().limit(), 20);
        assert!(r.block_io().is_none());
        let r = from_flags(&update(&["--cpu-shares", "2", "x"])).unwrap();
        assert_eq!(r.cpu().as_ref().unwrap().shares(), Some(2));
        assert!(from_flags(&update(&["--blkio-weight", "5", "x"])).is_err());
        assert!(from_flags(&update(&["x"])).unwrap().memory().is_none());
    }

    #[test]
    fn zeros_mean_unchanged() {
        let json = r#"{"memory":{"limit":0,"reservation":0,"swap":0},
            "cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0,
                   "cpus":"","mems":""},"blockIO":{"weight":0}}"#;
        let r = crate::cgroups::conv::unset_zeros(serde_json::from_str(json).unwrap());
        let m = r.memory().unwrap();
        assert_eq!((m.limit(), m.reservation(), m.swap()), (None, None, None));
        let c = r.cpu().as_ref().unwrap();
        assert_eq!((c.shares(), c.quota(), c.period()), (None, None, None));
        assert!(c.cpus().is_none() && c.mems().is_none());
        assert_eq!(r.block_io().as_ref().unwrap().weight(), None);
    }
}
