//! Atomic, change-only file writes: a temp file in the same folder, fsync,
//! rename. A reader (or a crash) sees the old file or the new one, never
//! half of one; unchanged bytes are not rewritten, so servers' ETags and
//! readers' caches stay valid.

use std::io::Write;
use std::path::Path;

use crate::error::PublishError;

/// Writes `bytes` to `path` unless it already holds exactly them.
/// Returns whether the file changed.
///
/// # Errors
/// When the folder, temp file, sync or rename fails; the old file is untouched then.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, PublishError> {
    let failed = |source| PublishError::Write {
        path: path.to_owned(),
        source,
    };
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".feedloom-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(failed)?;
    tmp.write_all(bytes).map_err(failed)?;
    tmp.as_file().sync_all().map_err(failed)?;
    // Published files are for any web server to read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(failed)?;
    }
    tmp.persist(path).map_err(|e| failed(e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(true)
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
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["all.rss"]);
    }
}
