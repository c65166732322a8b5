//! Framing for the append-only change log and the snapshot file.
//!
//! Automerge's own loaders handle a torn file badly (docs/design.md §4), so every record we
//! write carries its length and a CRC-32 of its payload. On load we keep every intact
//! record up to the first bad one, and say precisely where and why the rest was dropped.
//! These functions are pure (bytes in, verdicts out) so they can be tested byte by byte.

/// The first bytes of a change log file.
pub const LOG_MAGIC: &[u8; 8] = b"PCLOG\x00\x01\n";
/// The first bytes of a snapshot file.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"PCSNAP\x01\n";
/// Bytes before each record's payload: length (u32 LE) and CRC-32 (u32 LE).
pub const RECORD_HEADER: usize = 8;
/// The largest record we write or accept (a generous bound; one change is far smaller).
pub const MAX_RECORD: usize = 256 * 1024 * 1024;

/// Frames a payload as one log record.
pub fn encode_record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER + payload.len());
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Why scanning a log stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The last record is incomplete: a write that a crash cut short. Safe to drop.
    TornTail,
    /// A complete record whose checksum does not match, or a nonsensical length, with
    /// bytes after it: damage on disk, not a crash. The rest is kept aside.
    Corrupt,
}

/// The result of scanning a log's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    /// Intact payloads, in order.
    pub records: Vec<&'a [u8]>,
    /// Offset just past the last intact record: where the file should end.
    pub valid_len: usize,
    /// Why scanning stopped early, if it did.
    pub damage: Option<Damage>,
}

/// Whether `bytes` start with the log magic (an empty file is a fresh log).
pub fn has_log_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(LOG_MAGIC)
}

/// Scans a whole log file (magic included).
pub fn scan_log(bytes: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    let mut pos = LOG_MAGIC.len().min(bytes.len());
    let damage = loop {
        let rest = &bytes[pos..];
        if rest.is_empty() {
            break None;
        }
        if rest.len() < RECORD_HEADER {
            break Some(Damage::TornTail);
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len == 0 || len > MAX_RECORD {
            break Some(Damage::Corrupt);
        }
        let Some(payload) = rest.get(RECORD_HEADER..RECORD_HEADER + len) else {
            break Some(Damage::TornTail);
        };
        if crc32fast::hash(payload) != crc {
            // The last record with a bad checksum is a torn write (pages of it never
            // reached the disk); one with data after it is damage.
            if RECORD_HEADER + len == rest.len() {
                break Some(Damage::TornTail);
            }
            break Some(Damage::Corrupt);
        }
        records.push(payload);
        pos += RECORD_HEADER + len;
    };
    Scan {
        records,
        valid_len: pos,
        damage,
    }
}

/// Wraps a whole-document save as a snapshot file.
pub fn encode_snapshot(doc: &[u8]) -> Vec<u8> {
    encode_file(SNAPSHOT_MAGIC, &[doc])
}

/// A whole file: magic, body length (u64 LE), CRC-32 of the body (u32 LE), body (the
/// parts, concatenated).
fn encode_file(magic: &[u8; 8], parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(magic.len() + 12 + len);
    out.extend_from_slice(magic);
    out.extend_from_slice(&(len as u64).to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    for part in parts {
        crc.update(part);
    }
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// The first bytes of a saved read model (a cache; see `TeamStore::write_view`).
pub const VIEW_MAGIC: &[u8; 8] = b"PCVIEW\x01\n";
/// Bytes of the fingerprint at the start of a view's body.
pub const FINGERPRINT: usize = 24;

/// Wraps a saved read model with the fingerprint of the team files it reflects.
pub fn encode_view(fingerprint: &[u8; FINGERPRINT], payload: &[u8]) -> Vec<u8> {
    encode_file(VIEW_MAGIC, &[fingerprint, payload])
}

/// Bytes at the start of a view file up to the end of its fingerprint.
pub const VIEW_PREFIX: usize = VIEW_MAGIC.len() + 12 + FINGERPRINT;

/// The fingerprint named by the first [`VIEW_PREFIX`] bytes of a view file, unchecked
/// (enough to tell that a view need not be written again; [`decode_view`] checks it all).
pub fn view_fingerprint(prefix: &[u8]) -> Option<[u8; FINGERPRINT]> {
    let print = prefix.strip_prefix(VIEW_MAGIC)?.get(12..12 + FINGERPRINT)?;
    print.try_into().ok()
}

/// Unwraps a view file: the fingerprint it was made for, and its payload.
pub fn decode_view(bytes: &[u8]) -> Result<([u8; FINGERPRINT], &[u8]), SnapshotError> {
    let body = decode_file(VIEW_MAGIC, bytes)?;
    let (print, payload) =
        body.split_first_chunk::<FINGERPRINT>()
            .ok_or(SnapshotError::Truncated {
                have: bytes.len(),
                want: VIEW_PREFIX,
            })?;
    Ok((*print, payload))
}

/// Why a snapshot file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Zero bytes.
    #[error("the file is empty")]
    Empty,
    /// Not our format.
    #[error("the file does not start with a peercoach snapshot header")]
    BadMagic,
    /// Shorter than its header says.
    #[error("the file is truncated ({have} of {want} bytes)")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes expected.
        want: usize,
    },
    /// Longer than its header says.
    #[error("the file has {0} unexpected bytes after the document")]
    Trailing(usize),
    /// Bit rot.
    #[error("the checksum does not match: the file is damaged")]
    Checksum,
}

/// Unwraps a snapshot file, checking header, length and checksum.
pub fn decode_snapshot(bytes: &[u8]) -> Result<&[u8], SnapshotError> {
    decode_file(SNAPSHOT_MAGIC, bytes)
}

fn decode_file<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Result<&'a [u8], SnapshotError> {
    if bytes.is_empty() {
        return Err(SnapshotError::Empty);
    }
    let header = magic.len() + 12;
    if !bytes.starts_with(magic) {
        return Err(SnapshotError::BadMagic);
    }
    if bytes.len() < header {
        return Err(SnapshotError::Truncated {
            have: bytes.len(),
            want: header,
        });
    }
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(&bytes[8..16]);
    let len = usize::try_from(u64::from_le_bytes(len_bytes)).unwrap_or(usize::MAX);
    let crc = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let body = &bytes[header..];
    if body.len() < len {
        return Err(SnapshotError::Truncated {
            have: bytes.len(),
            want: header.saturating_add(len),
        });
    }
    if body.len() > len {
        return Err(SnapshotError::Trailing(body.len() - len));
    }
    if crc32fast::hash(body) != crc {
        return Err(SnapshotError::Checksum);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(payloads: &[&[u8]]) -> Vec<u8> {
        let mut bytes = LOG_MAGIC.to_vec();
        for p in payloads {
            bytes.extend(encode_record(p));
        }
        bytes
    }

    #[test]
    fn every_cut_of_the_last_record_is_a_torn_tail_and_keeps_the_rest() {
        let full = log_of(&[b"first", b"second", b"third record"]);
        let two = log_of(&[b"first", b"second"]).len();
        for cut in two + 1..full.len() {
            let scan = scan_log(&full[..cut]);
            assert_eq!(scan.records, vec![&b"first"[..], b"second"], "cut at {cut}");
            assert_eq!(scan.valid_len, two);
            assert_eq!(scan.damage, Some(Damage::TornTail), "cut at {cut}");
        }
        let scan = scan_log(&full);
        assert_eq!(scan.records.len(), 3);
        assert_eq!(scan.damage, None);
        assert_eq!(scan.valid_len, full.len());
    }

    #[test]
    fn a_flipped_byte_stops_at_that_record() {
        let full = log_of(&[b"first", b"second", b"third"]);
        let second_at = log_of(&[b"first"]).len();
        for i in second_at..second_at + RECORD_HEADER + 6 {
            let mut bytes = full.clone();
            bytes[i] ^= 0x40;
            let scan = scan_log(&bytes);
            assert_eq!(scan.records, vec![&b"first"[..]], "flip at {i}");
            assert_eq!(scan.valid_len, second_at);
            assert!(scan.damage.is_some());
        }
        // A flip in the last record's payload looks like a torn write.
        let mut bytes = full.clone();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(scan_log(&bytes).damage, Some(Damage::TornTail));
        // A flip in a middle record, with data after it, is corruption.
        let mut bytes = full;
        bytes[second_at + RECORD_HEADER] ^= 1;
        assert_eq!(scan_log(&bytes).damage, Some(Damage::Corrupt));
    }

    #[test]
    fn empty_and_magic_only_logs_hold_nothing() {
        assert_eq!(scan_log(b"").records.len(), 0);
        let scan = scan_log(LOG_MAGIC);
        assert_eq!(
            (scan.records.len(), scan.damage, scan.valid_len),
            (0, None, 8)
        );
    }

    #[test]
    fn snapshots_detect_every_kind_of_damage() {
        let snap = encode_snapshot(b"automerge bytes");
        assert_eq!(decode_snapshot(&snap), Ok(&b"automerge bytes"[..]));
        assert_eq!(decode_snapshot(b""), Err(SnapshotError::Empty));
        assert_eq!(
            decode_snapshot(b"garbage garbage garbage"),
            Err(SnapshotError::BadMagic)
        );
        for cut in 1..snap.len() {
            assert!(decode_snapshot(&snap[..cut]).is_err(), "cut at {cut}");
        }
        for i in 8..snap.len() {
            let mut bytes = snap.clone();
            bytes[i] ^= 0x10;
            assert!(decode_snapshot(&bytes).is_err(), "flip at {i}");
        }
        let mut longer = snap;
        longer.push(0);
        assert_eq!(decode_snapshot(&longer), Err(SnapshotError::Trailing(1)));
    }
}
