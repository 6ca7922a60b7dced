//! Reading local files as sources do: only regular files (a FIFO, a device
//! or a socket is refused before it can block or stream for ever), and
//! never more than the size limit, counted while reading, so `/dev/zero`
//! or a file that grows under us stops at the limit.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a local file was not read.
#[derive(Debug)]
pub enum LocalError {
    /// Not a regular file, or the read itself failed.
    Io(std::io::Error),
    /// Over the size limit.
    TooBig,
}

/// The bytes of the regular file at `path`, at most `max` of them.
///
/// # Errors
/// [`LocalError::Io`] for a missing or unreadable file or one that is not
/// a regular file; [`LocalError::TooBig`] past `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, LocalError> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer. The kind is checked on the open handle, so a file swapped
    // for a FIFO between a check and the open is still refused.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(LocalError::Io)?;
    let meta = file.metadata().map_err(LocalError::Io)?;
    if !meta.is_file() {
        return Err(LocalError::Io(not_regular(&meta)));
    }
    if meta.len() > max {
        return Err(LocalError::TooBig);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(LocalError::Io)?;
    if bytes.len() as u64 > max {
        return Err(LocalError::TooBig);
    }
    Ok(bytes)
}

/// Whether `path` is a regular file (symlinks followed), without opening it.
#[must_use]
pub fn is_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

fn not_regular(meta: &std::fs::Metadata) -> std::io::Error {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let kind = if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    };
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a regular file; only regular files are read"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_refused_and_files_are_bounded() {
        let zero = read_bounded(Path::new("/dev/zero"), 1024);
        assert!(
            matches!(&zero, Err(LocalError::Io(e)) if e.to_string().contains("device")),
            "{zero:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.md");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let r = read_bounded(&fifo, 1024);
            assert!(
                matches!(&r, Err(LocalError::Io(e)) if e.to_string().contains("FIFO")),
                "{r:?}"
            );
            assert!(!is_regular(&fifo));
        }
        let file = dir.path().join("a.txt");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_bounded(&file, 5).unwrap(), b"12345");
        assert!(matches!(read_bounded(&file, 4), Err(LocalError::TooBig)));
    }
}
