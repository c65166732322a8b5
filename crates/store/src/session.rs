//! The session a device writes under: 8 bytes that, after its key, make its Automerge
//! actor (see `peercoach_core::session_actor`).
//!
//! Two copies of one data dir must never write the same (actor, sequence number): peers
//! would hold two different changes under one name. A fresh session at every start
//! guarantees that, but each new actor costs every device a pass over the whole document
//! and a line in every join, and a laptop starts the app (and runs offline commands)
//! thousands of times over the years. So a session is kept for as long as this data
//! dir is provably the one that made it:
//!
//! - `session` holds the 8 bytes and the boot they were made in
//!   (`/proc/sys/kernel/random/boot_id`);
//! - `session.seal`, written after it, holds the file identity of `session` as it was
//!   then: device, inode and change time (ctime), and the 8 bytes again.
//!
//! A copy of the data dir (a backup restored, a directory copied beside the original or
//! to another laptop) has new files, so a new inode or at least a new ctime, which no
//! tool can set back; a disk image restored or a virtual machine cloned keeps both, but
//! runs in another boot. Any of these takes a new session; so does a damaged or missing
//! file, and any system that has no boot id. Within one boot, on the same files, restarts
//! and offline commands keep the session. A crash cannot make two writers of one session
//! either: a change is on disk before it leaves this device, so a restart continues after
//! everything that was ever sent.

use std::fs;
use std::path::{Path, PathBuf};

use crate::atomic::{Durability, replace_file};
use crate::{StoreError, random_bytes};

const MAGIC: &[u8] = b"peercoach session 1\n";
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The session nonce to write under in the data dir `dir`: the one kept there if the
/// files are still the ones that made it in this boot, else a new one, kept from now on.
pub(crate) fn nonce(dir: &Path) -> Result<[u8; 8], StoreError> {
    let boot = fs::read_to_string(BOOT_ID).ok();
    nonce_in_boot(dir, boot.as_deref().map(str::trim))
}

/// As [`nonce`], in the boot named `boot` (`None`: this system has no boot id).
pub(crate) fn nonce_in_boot(dir: &Path, boot: Option<&str>) -> Result<[u8; 8], StoreError> {
    if let Some(boot) = boot
        && let Some(kept) = kept(dir, boot)
    {
        return Ok(kept);
    }
    fresh(dir, boot)
}

/// A new session for the data dir `dir`, kept from now on: the one it wrote under may
/// have changes that this device no longer holds (set aside), and writing on under it
/// would give them a second version.
pub(crate) fn renew(dir: &Path) -> Result<[u8; 8], StoreError> {
    let boot = fs::read_to_string(BOOT_ID).ok();
    fresh(dir, boot.as_deref().map(str::trim))
}

fn fresh(dir: &Path, boot: Option<&str>) -> Result<[u8; 8], StoreError> {
    let mut nonce = [0u8; 8];
    random_bytes(&mut nonce)?;
    let Some(boot) = boot else {
        // Nothing to tell a copy by: a session per start, as nothing is kept.
        return Ok(nonce);
    };
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(boot.as_bytes());
    replace_file(&session_path(dir), &bytes, Durability::Fsync)?;
    match identity(&session_path(dir)) {
        Some(identity) => {
            replace_file(&seal_path(dir), &seal(identity, nonce), Durability::Fsync)?;
        }
        None => tracing::debug!("no file identity here: a new session at every start"),
    }
    Ok(nonce)
}

fn session_path(dir: &Path) -> PathBuf {
    dir.join("session")
}

fn seal_path(dir: &Path) -> PathBuf {
    dir.join("session.seal")
}

/// The session kept in `dir`, if it was made in `boot` on these very files.
fn kept(dir: &Path, boot: &str) -> Option<[u8; 8]> {
    let bytes = fs::read(session_path(dir)).ok()?;
    let rest = bytes.strip_prefix(MAGIC)?;
    if rest.len() < 8 {
        return None;
    }
    let (nonce, made_in) = rest.split_at(8);
    let nonce: [u8; 8] = nonce.try_into().ok()?;
    if made_in != boot.as_bytes() {
        return None;
    }
    let identity = identity(&session_path(dir))?;
    let sealed = fs::read(seal_path(dir)).ok()?;
    (sealed == seal(identity, nonce)).then_some(nonce)
}

/// A file's identity: device, inode, and change time in nanoseconds.
#[cfg(unix)]
fn identity(path: &Path) -> Option<[u64; 3]> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).ok()?;
    let ctime = (meta.ctime() as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(meta.ctime_nsec() as u64);
    Some([meta.dev(), meta.ino(), ctime])
}

#[cfg(not(unix))]
fn identity(_path: &Path) -> Option<[u64; 3]> {
    None
}

fn seal(identity: [u64; 3], nonce: [u8; 8]) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    for part in identity {
        bytes.extend_from_slice(&part.to_le_bytes());
    }
    bytes.extend_from_slice(&nonce);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: Option<&str> = Some("3f1c9a52-0000-4000-8000-000000000001");

    fn copy(from: &Path, to: &Path) {
        for name in ["session", "session.seal"] {
            fs::copy(from.join(name), to.join(name)).expect("copy");
        }
    }

    #[test]
    fn a_renewed_session_is_new_and_kept_from_then_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = nonce_in_boot(dir.path(), BOOT).expect("first");
        let renewed = fresh(dir.path(), BOOT).expect("renewed");
        assert_ne!(renewed, first);
        assert_eq!(nonce_in_boot(dir.path(), BOOT).expect("again"), renewed);
    }

    #[test]
    fn restarts_in_one_boot_keep_the_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = nonce_in_boot(dir.path(), BOOT).expect("first");
        for _ in 0..5 {
            assert_eq!(nonce_in_boot(dir.path(), BOOT).expect("again"), first);
        }
    }

    #[test]
    fn a_copied_data_dir_takes_its_own_session_and_the_original_keeps_its() {
        let original = tempfile::tempdir().expect("tempdir");
        let first = nonce_in_boot(original.path(), BOOT).expect("first");
        let backup = tempfile::tempdir().expect("tempdir");
        copy(original.path(), backup.path());
        let restored = nonce_in_boot(backup.path(), BOOT).expect("restored");
        assert_ne!(restored, first, "the copy writes beside the original");
        assert_eq!(nonce_in_boot(backup.path(), BOOT).expect("again"), restored);
        assert_eq!(
            nonce_in_boot(original.path(), BOOT).expect("original"),
            first
        );
    }

    #[test]
    fn a_backup_put_back_over_the_same_files_takes_a_new_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = nonce_in_boot(dir.path(), BOOT).expect("first");
        let backup = (
            fs::read(session_path(dir.path())).expect("session"),
            fs::read(seal_path(dir.path())).expect("seal"),
        );
        // File times tick coarsely: let the clock move before the restore.
        std::thread::sleep(std::time::Duration::from_millis(50));
        // Written over in place (same inode), as `cp` onto an existing file does.
        fs::write(session_path(dir.path()), &backup.0).expect("restore");
        fs::write(seal_path(dir.path()), &backup.1).expect("restore");
        assert_ne!(nonce_in_boot(dir.path(), BOOT).expect("after"), first);
    }

    #[test]
    fn another_boot_takes_a_new_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = nonce_in_boot(dir.path(), BOOT).expect("first");
        let next = nonce_in_boot(dir.path(), Some("another boot")).expect("next boot");
        assert_ne!(next, first);
        assert_eq!(
            nonce_in_boot(dir.path(), Some("another boot")).expect("again"),
            next
        );
    }

    #[test]
    fn damaged_or_missing_files_and_no_boot_id_take_a_new_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = nonce_in_boot(dir.path(), BOOT).expect("first");
        fs::write(seal_path(dir.path()), b"garbage").expect("damage");
        let second = nonce_in_boot(dir.path(), BOOT).expect("second");
        assert_ne!(second, first);
        fs::remove_file(seal_path(dir.path())).expect("remove");
        let third = nonce_in_boot(dir.path(), BOOT).expect("third");
        assert_ne!(third, second);
        fs::write(session_path(dir.path()), b"peercoach session 1\nab").expect("short");
        let fourth = nonce_in_boot(dir.path(), BOOT).expect("fourth");
        assert_ne!(fourth, third);
        assert_ne!(nonce_in_boot(dir.path(), None).expect("no boot id"), fourth);
        assert_ne!(
            nonce_in_boot(dir.path(), None).expect("no boot id"),
            nonce_in_boot(dir.path(), None).expect("no boot id"),
        );
    }
}
