//! Atomic, change-only file writes: a temp file in the same folder, fsync,
//! rename. A reader (or a crash) sees the old file or the new one, never
//! half of one; unchanged bytes are not rewritten, so servers' ETags and
//! readers' caches stay valid.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::PublishError;

/// A file being written beside the one it will replace.
pub struct Staged {
    path: PathBuf,
    tmp: BufWriter<NamedTempFile>,
    /// Bytes written so far.
    len: u64,
    /// `len` when write-back was last started (see [`crate::writeback`]).
    written_back: u64,
}

/// Bytes written between two requests to start write-back: a large file's
/// `fsync` then waits for at most this much.
const WRITE_BACK_EVERY: u64 = 16 * 1024 * 1024;

fn failed(path: &Path) -> impl Fn(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Write {
        path: path.to_owned(),
        source,
    }
}

impl Staged {
    /// Starts a temp file in `path`'s folder (created if missing).
    ///
    /// # Errors
    /// When the folder or the temp file cannot be created.
    pub fn new(path: &Path) -> Result<Self, PublishError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(failed(path))?;
        let tmp = tempfile::Builder::new()
            .prefix(".feedloom-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(failed(path))?;
        Ok(Self {
            path: path.to_owned(),
            tmp: BufWriter::with_capacity(256 * 1024, tmp),
            len: 0,
            written_back: 0,
        })
    }

    /// The file this will replace.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends bytes.
    ///
    /// # Errors
    /// When the disk refuses them (full, read-only).
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        self.len += bytes.len() as u64;
        self.tmp.write_all(bytes).map_err(failed(&self.path))?;
        self.write_back_if_due();
        Ok(())
    }

    /// Starts write-back of what reached the file once enough did.
    fn write_back_if_due(&mut self) {
        if self.len - self.written_back >= WRITE_BACK_EVERY {
            crate::writeback::start(self.tmp.get_ref().as_file());
            self.written_back = self.len;
        }
    }

    /// Bytes written so far.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `len` bytes of `from`, starting at `start`. The kernel
    /// copies them file to file (`copy_file_range` where it can), so
    /// they never pass through this process.
    ///
    /// # Errors
    /// When either file fails, or `from` is shorter than that.
    pub fn copy_from(&mut self, from: &File, start: u64, len: u64) -> Result<(), PublishError> {
        {
            let fail = failed(&self.path);
            self.tmp.flush().map_err(&fail)?;
            let mut source = from;
            source.seek(SeekFrom::Start(start)).map_err(&fail)?;
            let copied = std::io::copy(&mut source.take(len), self.tmp.get_mut().as_file_mut())
                .map_err(&fail)?;
            if copied != len {
                return Err(fail(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the last published file is shorter than its recorded layout",
                )));
            }
        }
        self.len += len;
        self.write_back_if_due();
        Ok(())
    }

    /// Replaces the published file with this one if their bytes differ;
    /// otherwise drops this one. Returns whether the file changed.
    ///
    /// # Errors
    /// When syncing or renaming fails; the old file is untouched then.
    pub fn commit(self) -> Result<bool, PublishError> {
        let path = self.path;
        let fail = failed(&path);
        let mut tmp = self.tmp.into_inner().map_err(|e| fail(e.into_error()))?;
        if same_bytes(tmp.as_file_mut(), &path).map_err(&fail)? {
            return Ok(false); // The temp file is removed on drop.
        }
        tmp.as_file().sync_all().map_err(&fail)?;
        // Published files are for any web server to read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(&fail)?;
        }
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(path.parent().unwrap_or(Path::new("."))) {
            let _ = d.sync_all();
        }
        Ok(true)
    }
}

/// Whether the staged file holds exactly the bytes of the file at `path`.
fn same_bytes(staged: &mut File, path: &Path) -> std::io::Result<bool> {
    let Ok(old) = File::open(path) else {
        return Ok(false);
    };
    if old.metadata()?.len() != staged.metadata()?.len() {
        return Ok(false);
    }
    staged.seek(SeekFrom::Start(0))?;
    let mut new_bytes = BufReader::new(&*staged);
    let mut old_bytes = BufReader::new(old);
    let (mut new_buf, mut old_buf) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = new_bytes.read(&mut new_buf)?;
        if n == 0 {
            return Ok(true);
        }
        old_bytes.read_exact(&mut old_buf[..n])?;
        if new_buf[..n] != old_buf[..n] {
            return Ok(false);
        }
    }
}

/// Writes `bytes` to `path` unless it already holds exactly them.
/// Returns whether the file changed.
///
/// # Errors
/// When the folder, temp file, sync or rename fails; the old file is untouched then.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, PublishError> {
    let mut staged = Staged::new(path)?;
    staged.append(bytes)?;
    staged.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_on_change_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/all.rss");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert!(write_if_changed(&path, b"twoo").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"twoo");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["all.rss"]);
    }
}
