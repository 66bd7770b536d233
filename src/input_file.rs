//! Files brick is pointed at (config.json, state.json, --process, --resources), read so that
//! no path can make it block or read for ever: regular files only, checked before the open
//! and again on the open fd, opened non-blocking and without a controlling tty, size-capped.

use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, stat, FileStat, Mode, SFlag};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A config or state file above this is refused: no real one comes near it.
pub const MAX_LEN: u64 = 32 << 20;

#[derive(Debug, Error)]
pub enum InputFileError {
    #[error("read {0:?}")]
    Open(PathBuf, #[source] nix::errno::Errno),
    #[error("read {0:?}: not a regular file but a {1}")]
    NotRegular(PathBuf, &'static str),
    #[error("read {path:?}: {len} bytes is more than the {max} MiB brick reads")]
    TooLarge { path: PathBuf, len: u64, max: u64 },
    #[error("read {0:?}")]
    Read(PathBuf, #[source] std::io::Error),
}

impl InputFileError {
    /// The file does not exist (callers give that case a message of their own).
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputFileError::Open(_, nix::errno::Errno::ENOENT))
    }
}

fn kind(st: &FileStat) -> &'static str {
    match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFREG => "regular file",
        SFlag::S_IFDIR => "directory",
        SFlag::S_IFIFO => "FIFO",
        SFlag::S_IFSOCK => "socket",
        SFlag::S_IFCHR => "character device",
        SFlag::S_IFBLK => "block device",
        _ => "special file",
    }
}

fn check(path: &Path, st: &FileStat) -> Result<(), InputFileError> {
    if st.st_mode & SFlag::S_IFMT.bits() != SFlag::S_IFREG.bits() {
        return Err(InputFileError::NotRegular(path.to_path_buf(), kind(st)));
    }
    let len = st.st_size.max(0) as u64;
    if len > MAX_LEN {
        return Err(InputFileError::TooLarge {
            path: path.to_path_buf(),
            len,
            max: MAX_LEN >> 20,
        });
    }
    Ok(())
}

/// The whole of a regular file at `path` (symlinks followed), at most MAX_LEN bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, InputFileError> {
    let err = |e| InputFileError::Open(path.to_path_buf(), e);
    // stat first, so a device or FIFO is refused without even being opened.
    check(path, &stat(path).map_err(err)?)?;
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let fd: OwnedFd = nix::fcntl::open(path, flags, Mode::empty()).map_err(err)?;
    // The path may have been swapped between the two: the fd is what counts.
    let st = fstat(&fd).map_err(err)?;
    check(path, &st)?;
    let mut buf = Vec::with_capacity(st.st_size.max(0) as usize);
    std::fs::File::from(fd)
        .take(MAX_LEN + 1)
        .read_to_end(&mut buf)
        .map_err(|e| InputFileError::Read(path.to_path_buf(), e))?;
    if buf.len() as u64 > MAX_LEN {
        return Err(InputFileError::TooLarge {
            path: path.to_path_buf(),
            len: buf.len() as u64,
            max: MAX_LEN >> 20,
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_only_and_never_blocks() {
        let dir = std::env::temp_dir().join(format!("brick-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("config.json");
        std::fs::write(&f, b"{}").unwrap();
        assert_eq!(read(&f).unwrap(), b"{}");
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        let e = read(&fifo).unwrap_err().to_string();
        assert!(e.ends_with("not a regular file but a FIFO"), "{e}");
        let e = read(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.ends_with("character device"), "{e}");
        assert!(read(&dir).unwrap_err().to_string().ends_with("directory"));
        assert!(read(&dir.join("missing")).unwrap_err().is_not_found());
        let big = dir.join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_LEN + 1)
            .unwrap();
        let e = read(&big).unwrap_err().to_string();
        assert!(e.contains("32 MiB"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
