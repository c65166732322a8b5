//! The device identity: the iroh secret key (which is also the device's endpoint id) and
//! the Automerge actor id this device writes with. One file, mode 0600, never rewritten.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{StoreError, fsync_dir, io_err};

const MAGIC: &[u8; 6] = b"PCID1\n";
const LEN: usize = MAGIC.len() + 32 + 16 + 4;

/// This device's keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The iroh secret key bytes (ed25519).
    pub secret_key: [u8; 32],
    /// The Automerge actor id bytes.
    pub actor: [u8; 16],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("Identity")
            .field("actor", &peercoach_core::ActorHex::from_bytes(&self.actor))
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A fresh random identity, from the operating system's random source.
    pub fn generate() -> Result<Self, StoreError> {
        let mut secret_key = [0u8; 32];
        let mut actor = [0u8; 16];
        crate::random_bytes(&mut secret_key)?;
        crate::random_bytes(&mut actor)?;
        Ok(Self { secret_key, actor })
    }

    /// The actor as the document spells it.
    pub fn actor_hex(&self) -> peercoach_core::ActorHex {
        peercoach_core::ActorHex::from_bytes(&self.actor)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.secret_key);
        out.extend_from_slice(&self.actor);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != LEN {
            return Err(format!("it has {} bytes, expected {LEN}", bytes.len()));
        }
        if !bytes.starts_with(MAGIC) {
            return Err("it does not start with the identity header".into());
        }
        let body = &bytes[..LEN - 4];
        let crc = u32::from_le_bytes([
            bytes[LEN - 4],
            bytes[LEN - 3],
            bytes[LEN - 2],
            bytes[LEN - 1],
        ]);
        if crc32fast::hash(body) != crc {
            return Err("its checksum does not match".into());
        }
        let mut secret_key = [0u8; 32];
        let mut actor = [0u8; 16];
        secret_key.copy_from_slice(&bytes[6..38]);
        actor.copy_from_slice(&bytes[38..54]);
        Ok(Self { secret_key, actor })
    }
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("identity")
}

/// Loads the identity, or `None` when there is none yet.
pub(crate) fn load(dir: &Path) -> Result<Option<Identity>, StoreError> {
    let path = path(dir);
    match fs::read(&path) {
        Ok(bytes) => Identity::decode(&bytes)
            .map(Some)
            .map_err(|reason| StoreError::IdentityDamaged { path, reason }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path, e)),
    }
}

/// Writes a new identity file (0600), refusing to replace an existing one. The bytes go to
/// a temporary file first, fsynced, and then take the identity's name by a hard link (which
/// fails if the name is taken): a process killed part way leaves no identity, or a whole
/// one, never an empty file that the next start would have to refuse as damaged.
pub(crate) fn create(dir: &Path, identity: &Identity) -> Result<(), StoreError> {
    let path = path(dir);
    let tmp = dir.join("identity.tmp");
    // Left by a creation that was killed before the link: it was never the identity.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&tmp, e)),
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| io_err(&tmp, e))?;
    file.write_all(&identity.encode())
        .map_err(|e| io_err(&tmp, e))?;
    file.sync_all().map_err(|e| io_err(&tmp, e))?;
    drop(file);
    let linked = fs::hard_link(&tmp, &path).map_err(|e| io_err(&path, e));
    let removed = fs::remove_file(&tmp).map_err(|e| io_err(&tmp, e));
    linked?;
    removed?;
    fsync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let id = Identity::generate().expect("random bytes");
        let bytes = id.encode();
        assert_eq!(Identity::decode(&bytes), Ok(id));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1;
            assert!(Identity::decode(&b).is_err(), "flip at {i}");
        }
        assert!(Identity::decode(&bytes[..10]).is_err());
        assert!(Identity::decode(b"").is_err());
    }

    #[test]
    fn a_new_identity_is_whole_and_never_replaces_one() {
        let dir = tempfile::tempdir().expect("dir");
        // A creation killed before its link left only the temporary file.
        fs::write(dir.path().join("identity.tmp"), b"").expect("stale tmp");
        let first = Identity::generate().expect("random bytes");
        create(dir.path(), &first).expect("created");
        assert_eq!(load(dir.path()).expect("readable"), Some(first.clone()));
        assert!(
            !dir.path().join("identity.tmp").exists(),
            "no temporary file is left"
        );
        let second = Identity::generate().expect("random bytes");
        assert!(
            create(dir.path(), &second).is_err(),
            "an identity is never replaced"
        );
        assert_eq!(load(dir.path()).expect("readable"), Some(first));
    }
}
