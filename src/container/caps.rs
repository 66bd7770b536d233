//! Capabilities: the bounding set first (needs CAP_SETPCAP), then one capset for E/P/I, then ambient.

use crate::plan::process::CapSets;
use caps::{CapSet, Capability, CapsHashSet};
use nix::errno::Errno;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CapsError {
    #[error("drop {0} from the bounding set")]
    Bounding(Capability, #[source] caps::errors::CapsError),
    #[error("capset")]
    Capset(#[source] Errno),
    #[error("clear the ambient set")]
    AmbientClear(#[source] caps::errors::CapsError),
    #[error("raise {0} in the ambient set")]
    Ambient(Capability, #[source] caps::errors::CapsError),
}

pub fn drop_bounding(sets: &CapSets) -> Result<(), CapsError> {
    let last = sets.last_cap;
    for cap in caps::all() {
        if cap.index() > last || sets.bounding.contains(&cap) {
            continue;
        }
        caps::drop(None, CapSet::Bounding, cap).map_err(|e| CapsError::Bounding(cap, e))?;
    }
    Ok(())
}

fn mask(set: &CapsHashSet) -> u64 {
    set.iter().fold(0u64, |m, c| m | c.bitmask())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// All three sets in one capset call, so no intermediate state is ever invalid.
pub fn apply(sets: &CapSets) -> Result<(), CapsError> {
    let (e, p, i) = (
        mask(&sets.effective),
        mask(&sets.permitted),
        mask(&sets.inheritable),
    );
    let header = CapHeader {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [
        CapData {
            effective: e as u32,
            permitted: p as u32,
            inheritable: i as u32,
        },
        CapData {
            effective: (e >> 32) as u32,
            permitted: (p >> 32) as u32,
            inheritable: (i >> 32) as u32,
        },
    ];
    // SAFETY: a version-3 header and two data words, as capset(2) requires.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if r != 0 {
        return Err(CapsError::Capset(Errno::last()));
    }
    caps::clear(None, CapSet::Ambient).map_err(CapsError::AmbientClear)?;
    // The plan kept only ambient capabilities that are permitted and inheritable.
    for cap in &sets.ambient {
        caps::raise(None, CapSet::Ambient, *cap).map_err(|e| CapsError::Ambient(*cap, e))?;
    }
    Ok(())
}
