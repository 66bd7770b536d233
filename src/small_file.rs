//! Kernel pseudo-files (procfs, cgroupfs, sysfs) read whole: they report no size, so std's
//! statx-then-grow-from-32-bytes read costs up to eight syscalls where two reads do.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// One page covers every file brick reads this way but mountinfo, which grows as needed.
const FIRST_READ: usize = 4096;

pub fn read(path: impl AsRef<Path>) -> io::Result<String> {
    let mut file = File::open(path)?;
    // File's own read_to_string asks statx and lseek for a size first; a plain loop does not.
    let mut buf = vec![0u8; FIRST_READ];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_pseudo_files_whole_and_reports_missing_ones() {
        let maps = super::read("/proc/self/maps").unwrap();
        assert!(maps.ends_with('\n') && maps.lines().count() > 3);
        // Larger than the first read: the buffer grows and nothing is lost.
        let big = super::read("/proc/self/smaps").unwrap();
        assert!(big.len() > super::FIRST_READ && big.ends_with('\n'));
        assert_eq!(
            big.matches(" r-xp ").count(),
            maps.matches(" r-xp ").count()
        );
        let err = super::read("/proc/self/no-such-file").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
