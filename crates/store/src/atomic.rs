//! Replacing a small file whole: the one way the store rewrites a file in place.
//!
//! The new bytes go to `<file>.tmp` first, which is then renamed over the file: a crash
//! part-way leaves the old file or the new one, never half of each. With
//! [`Durability::Fsync`], the data and the rename are also forced to disk before the call
//! returns (a redeemed invite must stay redeemed after a power cut); a [`Durability::Hint`]
//! file (a peer's sync state, the saved view) is only a cache, and losing its last write
//! costs nothing but time.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::{StoreError, fsync_dir, io_err};

/// Whether a replaced file must survive a crash right after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// fsync the file and its directory.
    Fsync,
    /// A cache: atomic, not forced to disk.
    Hint,
}

/// Replaces `path` with `bytes` (see the module docs). If writing the new bytes fails,
/// the temporary file is removed and `path` is as it was; if the rename fails, `path` is
/// as it was and the temporary file is left for the next write to replace; if only the
/// final fsync of the directory fails, `path` holds the new bytes but a crash could still
/// undo the rename, and the error says so.
pub(crate) fn replace_file(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), StoreError> {
    let Some(file_name) = path.file_name() else {
        return Err(io_err(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"),
        ));
    };
    let mut name = file_name.to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let written = File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        if durability == Durability::Fsync {
            file.sync_all()?;
        }
        Ok(())
    });
    if let Err(e) = written {
        if let Err(cleanup) = fs::remove_file(&tmp) {
            tracing::debug!(path = %tmp.display(), error = %cleanup, "no partial file to remove");
        }
        return Err(io_err(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    if durability == Durability::Fsync
        && let Some(dir) = path.parent()
    {
        fsync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.json");
        replace_file(&path, b"one", Durability::Fsync).expect("write");
        replace_file(&path, b"two", Durability::Hint).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["settings.json"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        replace_file(&path, b"old", Durability::Fsync).expect("write");
        // A directory where the temporary file must go makes the write fail.
        fs::create_dir(dir.path().join("state.tmp")).expect("mkdir");
        assert!(replace_file(&path, b"new", Durability::Fsync).is_err());
        assert_eq!(fs::read(&path).expect("read"), b"old");
    }
}
