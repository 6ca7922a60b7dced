//! The run lock: one file beside the state file, locked with the operating
//! system's advisory lock, so two overlapping runs never both fetch and
//! publish. The kernel drops the lock when its process dies, so a lock
//! left by a killed process never blocks the next run.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another feedloom holds it.
    #[error("another feedloom run or daemon is using {path}; this one stops here")]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("locking {path}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// The lock file for a state file: `feedloom.db` → `feedloom.lock`.
#[must_use]
pub fn path_for(state_file: &Path) -> PathBuf {
    state_file.with_extension("lock")
}

/// Takes the lock for `state_file`, or says who has it.
///
/// # Errors
/// [`LockError::Busy`] when another process holds it.
pub fn acquire(state_file: &Path) -> Result<Lock, LockError> {
    let path = path_for(state_file);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(LockError::Busy { path }),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/feedloom.db");
        let first = acquire(&state).unwrap();
        assert!(matches!(acquire(&state), Err(LockError::Busy { .. })));
        drop(first);
        assert!(acquire(&state).is_ok());
    }
}
