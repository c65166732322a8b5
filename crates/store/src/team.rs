//! One team's files: `snapshot` (a whole Automerge save, framed and checksummed) and
//! `changes.log` (every change since, one framed record per append, fsynced before the
//! command that made it reports success).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use peercoach_base::DeviceId;
use peercoach_core::TeamId;
use peercoach_core::automerge::{AutoCommit, Change, ChangeHash, ReadDoc};

use crate::atomic::{self, Durability};
use crate::frame::{self, Damage};
use crate::{Invites, StoreError, fsync_dir, io_err, now_ms};

/// The team's invites file.
const INVITES: &str = "invites.json";

/// Compact when the log has grown past this many bytes…
const COMPACT_LOG_BYTES: u64 = 8 * 1024 * 1024;
/// …or this many records (`PEERCOACH_COMPACT_RECORDS` lowers it, so that crash tests
/// land kills inside compaction often).
const COMPACT_LOG_RECORDS: usize = 2_000;

fn compact_log_records() -> usize {
    static RECORDS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *RECORDS.get_or_init(|| {
        std::env::var("PEERCOACH_COMPACT_RECORDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(COMPACT_LOG_RECORDS)
    })
}

/// What loading found; anything here that is not `None` deserves a clear message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The snapshot was unreadable and was moved to this path (never deleted). Its
    /// reason is in `snapshot_problem`.
    pub snapshot_moved_to: Option<PathBuf>,
    /// Why the snapshot was unreadable.
    pub snapshot_problem: Option<String>,
    /// A crash had cut the last log record short; this many bytes were dropped.
    pub torn_tail_bytes: Option<u64>,
    /// The log was damaged in the middle; the unreadable rest was kept at this path.
    pub damaged_log_moved_to: Option<PathBuf>,
    /// Intact log records applied.
    pub log_records: usize,
}

impl LoadReport {
    /// Lines for people, one per problem found.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(path), Some(problem)) = (&self.snapshot_moved_to, &self.snapshot_problem) {
            out.push(format!(
                "the team snapshot was unreadable ({problem}); it was moved to {} and the team \
                 was recovered from the change log — connect to a teammate to recover anything \
                 older",
                path.display()
            ));
        }
        if let Some(bytes) = self.torn_tail_bytes {
            out.push(format!(
                "the change log ended in an incomplete write ({bytes} bytes, from a crash); \
                 it was dropped — no acknowledged change was in it"
            ));
        }
        if let Some(path) = &self.damaged_log_moved_to {
            out.push(format!(
                "the change log was damaged; everything before the damage was loaded, and the \
                 unreadable rest was kept at {}",
                path.display()
            ));
        }
        out
    }
}

/// The open files of one team.
#[derive(Debug)]
pub struct TeamStore {
    dir: PathBuf,
    log: File,
    log_bytes: u64,
    log_records: usize,
    saved_heads: Vec<ChangeHash>,
    /// How many changes the saved document holds.
    saved_changes: u64,
    /// A failed append may have left part of a record past `log_bytes`: it is cut off
    /// before the next write.
    torn_tail: bool,
}

impl TeamStore {
    /// The team's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn snapshot_path(dir: &Path) -> PathBuf {
        dir.join("snapshot")
    }

    fn log_path(dir: &Path) -> PathBuf {
        dir.join("changes.log")
    }

    /// Creates the files of a new team from its first document (genesis or a joiner's
    /// received copy).
    pub(crate) fn create(
        dir: PathBuf,
        doc: &mut AutoCommit,
        saved: Option<&[u8]>,
    ) -> Result<Self, StoreError> {
        if Self::snapshot_path(&dir).exists() || Self::log_path(&dir).exists() {
            return Err(StoreError::TeamExists { dir });
        }
        // The files are made in a staging directory and renamed into place whole: a
        // crash part-way (a joiner killed while saving the team it received) leaves no
        // half-made team behind, only a staging directory the next attempt clears.
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return Err(io_err(
                &dir,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a team directory"),
            ));
        };
        let staging = parent.join(format!(".{}.creating", name.to_string_lossy()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
        }
        fs::create_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
        let (log, log_bytes) = open_log(&staging, true)?;
        let mut store = Self {
            dir: staging.clone(),
            log,
            log_bytes,
            log_records: 0,
            saved_heads: Vec::new(),
            saved_changes: 0,
            torn_tail: false,
        };
        match saved {
            // Bytes that already are this document's save (a joiner's received copy):
            // no need to encode it again.
            Some(bytes) => store.write_snapshot(bytes, doc)?,
            None => store.compact(doc)?,
        }
        // An empty directory left in the way is replaced; the open log moves with it.
        fs::rename(&staging, &dir).map_err(|e| io_err(&dir, e))?;
        fsync_dir(parent)?;
        store.dir = dir;
        Ok(store)
    }

    /// Loads a team: the snapshot, then every intact log record. Damage is repaired as
    /// docs/design.md §4 says and described in the report.
    pub(crate) fn open(dir: PathBuf) -> Result<(Self, AutoCommit, LoadReport), StoreError> {
        let mut report = LoadReport::default();
        let snapshot_path = Self::snapshot_path(&dir);
        let mut doc = match fs::read(&snapshot_path) {
            Ok(bytes) => {
                let loaded = frame::decode_snapshot(&bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|body| AutoCommit::load(body).map_err(|e| e.to_string()));
                match loaded {
                    Ok(doc) => doc,
                    Err(problem) => {
                        let aside = dir.join(format!("snapshot.damaged-{}", now_ms()));
                        fs::rename(&snapshot_path, &aside)
                            .map_err(|e| io_err(&snapshot_path, e))?;
                        fsync_dir(&dir)?;
                        tracing::warn!(?aside, %problem, "moved an unreadable snapshot aside");
                        report.snapshot_moved_to = Some(aside);
                        report.snapshot_problem = Some(problem);
                        AutoCommit::new()
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AutoCommit::new(),
            Err(e) => return Err(io_err(&snapshot_path, e)),
        };

        let log_path = Self::log_path(&dir);
        let (mut log, _) = open_log(&dir, false)?;
        let mut bytes = Vec::new();
        log.read_to_end(&mut bytes)
            .map_err(|e| io_err(&log_path, e))?;
        if !bytes.is_empty() && !frame::has_log_magic(&bytes) {
            // Not a log we wrote: keep it whole, start a fresh one.
            let aside = dir.join(format!("changes.log.damaged-{}", now_ms()));
            fs::write(&aside, &bytes).map_err(|e| io_err(&aside, e))?;
            report.damaged_log_moved_to = Some(aside);
            bytes.clear();
        }
        let scan = frame::scan_log(&bytes);
        let mut valid_len = scan.valid_len;
        for (i, record) in scan.records.iter().enumerate() {
            if let Err(e) = doc.load_incremental(record) {
                // A checksummed record Automerge cannot read: treat as damage here.
                tracing::warn!(record = i, error = %e, "unreadable log record");
                valid_len = frame::LOG_MAGIC.len()
                    + scan.records[..i]
                        .iter()
                        .map(|r| frame::RECORD_HEADER + r.len())
                        .sum::<usize>();
                break;
            }
            report.log_records += 1;
        }
        let damage = if valid_len < scan.valid_len {
            Some(Damage::Corrupt)
        } else {
            scan.damage
        };
        match damage {
            None => {}
            Some(Damage::TornTail) => {
                report.torn_tail_bytes = Some((bytes.len() - valid_len) as u64);
            }
            Some(Damage::Corrupt) => {
                let aside = dir.join(format!("changes.log.damaged-{}", now_ms()));
                fs::write(&aside, &bytes[valid_len..]).map_err(|e| io_err(&aside, e))?;
                tracing::warn!(?aside, "kept the damaged part of the change log aside");
                report.damaged_log_moved_to = Some(aside);
            }
        }
        let log_bytes = if bytes.is_empty() {
            log.write_all(frame::LOG_MAGIC)
                .map_err(|e| io_err(&log_path, e))?;
            frame::LOG_MAGIC.len() as u64
        } else {
            valid_len as u64
        };
        if log_bytes != bytes.len() as u64 {
            log.set_len(log_bytes).map_err(|e| io_err(&log_path, e))?;
        }
        log.sync_all().map_err(|e| io_err(&log_path, e))?;

        let saved_heads = doc.get_heads();
        let mut store = Self {
            dir,
            log,
            log_bytes,
            log_records: report.log_records,
            saved_heads,
            saved_changes: change_count(&doc),
            torn_tail: false,
        };
        // A long log, or a snapshot that had to be dropped: write a fresh snapshot now.
        // Everything is safe in the log already, so a failure (a full disk) only means
        // the next open tries again.
        if (store.should_compact() || report.snapshot_moved_to.is_some())
            && let Err(e) = store.compact(&mut doc)
        {
            tracing::warn!(error = %e, "could not write a fresh snapshot; the log holds everything");
        }
        Ok((store, doc, report))
    }

    /// Appends every change not yet saved and fsyncs. When this returns, the changes
    /// survive a crash. Does nothing when there is nothing new.
    pub fn append(&mut self, doc: &mut AutoCommit) -> Result<(), StoreError> {
        let heads = doc.get_heads();
        if heads == self.saved_heads {
            return Ok(());
        }
        let payload = doc.save_after(&self.saved_heads);
        self.write_record(payload, heads, change_count(doc))
    }

    /// Like [`TeamStore::append`], given the changes new since the last save (the ones
    /// just applied), so that Automerge need not rebuild them from the document: that
    /// costs time in proportion to its history. When they do not account for every new
    /// change (by count, and by the heads they lead to), this is `append`.
    pub fn append_changes(
        &mut self,
        doc: &mut AutoCommit,
        changes: &[Change],
    ) -> Result<(), StoreError> {
        let heads = doc.get_heads();
        if heads == self.saved_heads {
            return Ok(());
        }
        let count = change_count(doc);
        let hashes: BTreeSet<ChangeHash> = changes.iter().map(Change::hash).collect();
        let mut expected: BTreeSet<ChangeHash> =
            self.saved_heads.iter().chain(&hashes).copied().collect();
        for change in changes {
            for dep in change.deps() {
                expected.remove(dep);
            }
        }
        let accounted = hashes.len() == changes.len()
            && self.saved_changes + changes.len() as u64 == count
            && expected.iter().eq(heads.iter().collect::<BTreeSet<_>>());
        if !accounted {
            return self.append(doc);
        }
        let payload: Vec<u8> = changes
            .iter()
            .flat_map(|c| c.raw_bytes().iter().copied())
            .collect();
        self.write_record(payload, heads, count)
    }

    fn write_record(
        &mut self,
        payload: Vec<u8>,
        heads: Vec<ChangeHash>,
        changes: u64,
    ) -> Result<(), StoreError> {
        if payload.is_empty() {
            self.saved_heads = heads;
            self.saved_changes = changes;
            return Ok(());
        }
        let record = frame::encode_record(&payload);
        let path = Self::log_path(&self.dir);
        if self.torn_tail {
            self.log
                .set_len(self.log_bytes)
                .map_err(|e| io_err(&path, e))?;
            self.torn_tail = false;
        }
        let written = self
            .log
            .write_all(&record)
            .and_then(|()| self.log.sync_data());
        if let Err(e) = written {
            // A full disk or an I/O error: part of the record may be in the file. Cut it
            // off now (or before the next write), or every record after it would sit
            // behind a torn one that the loader stops at. The changes stay unsaved and
            // go out with the next append.
            self.torn_tail = self.log.set_len(self.log_bytes).is_err();
            return Err(io_err(&path, e));
        }
        self.log_bytes += record.len() as u64;
        self.log_records += 1;
        self.saved_heads = heads;
        self.saved_changes = changes;
        Ok(())
    }

    /// Whether the log has grown enough to fold into a new snapshot.
    pub fn should_compact(&self) -> bool {
        self.log_bytes > COMPACT_LOG_BYTES || self.log_records > compact_log_records()
    }

    /// Writes the whole document as a new snapshot (temp file, fsync, rename, fsync the
    /// directory) and only then empties the log. A crash at any point leaves either the
    /// old snapshot with the full log, or the new snapshot with a log whose changes it
    /// already holds (loading them again is harmless).
    pub fn compact(&mut self, doc: &mut AutoCommit) -> Result<(), StoreError> {
        let save = doc.save();
        self.write_snapshot(&save, doc)
    }

    /// Writes `save`, the save of `doc`, as the snapshot.
    fn write_snapshot(&mut self, save: &[u8], doc: &mut AutoCommit) -> Result<(), StoreError> {
        let heads = doc.get_heads();
        let bytes = frame::encode_snapshot(save);
        // On failure the old snapshot and the log still hold everything.
        atomic::replace_file(&Self::snapshot_path(&self.dir), &bytes, Durability::Fsync)?;
        let log_path = Self::log_path(&self.dir);
        self.log
            .set_len(frame::LOG_MAGIC.len() as u64)
            .map_err(|e| io_err(&log_path, e))?;
        self.log.sync_all().map_err(|e| io_err(&log_path, e))?;
        self.log_bytes = frame::LOG_MAGIC.len() as u64;
        self.log_records = 0;
        self.saved_heads = heads;
        self.saved_changes = change_count(doc);
        Ok(())
    }

    /// Saves a copy of the read model at `heads` (made by `payload`, only when needed)
    /// for the next open to show before the document has loaded (see
    /// `peercoach_core::view_cache`). Nothing is written when `heads` are not what the
    /// files hold, or when the saved copy already describes these files. The copy carries
    /// the files' fingerprint, so it can never describe other files. Not fsynced: it is a
    /// cache, and a torn copy fails its checksum. Returns whether it was written.
    pub fn write_view(
        &self,
        heads: &[ChangeHash],
        payload: impl FnOnce() -> Vec<u8>,
    ) -> Result<bool, StoreError> {
        if heads != self.saved_heads.as_slice() || self.torn_tail {
            return Ok(false);
        }
        let print = fingerprint(&self.dir)?;
        if saved_fingerprint(&self.dir) == Some(print) {
            return Ok(false);
        }
        let bytes = frame::encode_view(&print, &payload());
        atomic::replace_file(&view_path(&self.dir), &bytes, Durability::Hint)?;
        Ok(true)
    }

    /// Whether the saved view was made from the files as they are now (by its header;
    /// the payload's checksum is checked when it is read).
    pub fn view_is_current(&self) -> bool {
        let now = fingerprint(&self.dir).ok();
        now.is_some() && saved_fingerprint(&self.dir) == now
    }

    /// Saved sync state for a peer, if any (a hint; losing it costs only a fuller sync).
    pub fn peer_state(&self, peer: &DeviceId) -> Option<Vec<u8>> {
        fs::read(self.peer_state_path(peer)).ok()
    }

    /// Saves a peer's sync state (replaced whole; not fsynced, as it is only a hint).
    pub fn save_peer_state(&self, peer: &DeviceId, state: &[u8]) -> Result<(), StoreError> {
        let dir = self.dir.join("peers");
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        atomic::replace_file(&self.peer_state_path(peer), state, Durability::Hint)
    }

    /// The saved log of signatures of the document's changes, if any.
    pub fn signatures(&self) -> Option<Vec<u8>> {
        fs::read(self.dir.join(SIGNATURES)).ok()
    }

    /// Appends signatures to the log, not fsynced: what a crash loses costs only a
    /// change relayed without its signature (the peer then takes it from its author, who
    /// signs its own changes whenever it sends them). A torn last entry is skipped when
    /// read.
    pub fn append_signatures(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.dir.join(SIGNATURES);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        file.write_all(bytes).map_err(|e| io_err(&path, e))
    }

    fn peer_state_path(&self, peer: &DeviceId) -> PathBuf {
        self.dir.join("peers").join(format!("{peer}.state"))
    }

    /// The invites this device made for the team (see [`Invites`]). A file that cannot
    /// be read counts as empty: its invites stop working, and the joiner is told so.
    pub fn invites(&self) -> Invites {
        let path = self.dir.join(INVITES);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "unreadable invites; treating as none");
                Invites::default()
            }),
            Err(_) => Invites::default(),
        }
    }

    /// Saves the team's invites, durably: a redeemed invite must stay redeemed.
    pub fn save_invites(&self, invites: &Invites) -> Result<(), StoreError> {
        let path = self.dir.join(INVITES);
        let bytes = serde_json::to_vec_pretty(invites)
            .map_err(|e| io_err(&path, std::io::Error::other(e)))?;
        atomic::replace_file(&path, &bytes, Durability::Fsync)
    }

    /// The team id this directory is named after.
    pub fn team_id(&self) -> Option<TeamId> {
        self.dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| TeamId::parse(n).ok())
    }
}

/// How many changes a document holds (its change graph's size: cheap).
/// The file of the document's signatures.
const SIGNATURES: &str = "signatures";

fn change_count(doc: &AutoCommit) -> u64 {
    doc.stats().num_changes
}

fn open_log(dir: &Path, create_new: bool) -> Result<(File, u64), StoreError> {
    let path = TeamStore::log_path(dir);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .create_new(create_new)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    let len = file.metadata().map_err(|e| io_err(&path, e))?.len();
    if create_new {
        file.write_all(frame::LOG_MAGIC)
            .map_err(|e| io_err(&path, e))?;
        file.sync_all().map_err(|e| io_err(&path, e))?;
        fsync_dir(dir)?;
        return Ok((file, frame::LOG_MAGIC.len() as u64));
    }
    Ok((file, len))
}

fn view_path(dir: &Path) -> PathBuf {
    dir.join("view")
}

/// The fingerprint the saved view of the team in `dir` names, if there is one.
fn saved_fingerprint(dir: &Path) -> Option<[u8; frame::FINGERPRINT]> {
    let mut prefix = [0u8; frame::VIEW_PREFIX];
    File::open(view_path(dir))
        .and_then(|mut f| f.read_exact(&mut prefix))
        .ok()?;
    frame::view_fingerprint(&prefix)
}

/// The team's files as far as a saved view is concerned: length and CRC-32 of the
/// snapshot and of the log. Equal fingerprints mean the files hold the same document.
fn fingerprint(dir: &Path) -> Result<[u8; frame::FINGERPRINT], StoreError> {
    let mut print = [0u8; frame::FINGERPRINT];
    for (i, path) in [TeamStore::snapshot_path(dir), TeamStore::log_path(dir)]
        .iter()
        .enumerate()
    {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(path, e)),
        };
        let at = i * 12;
        print[at..at + 8].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        print[at + 8..at + 12].copy_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
    }
    Ok(print)
}

/// The saved view of the team in `dir`, if there is one and it was made from the files
/// as they are now.
pub(crate) fn read_view(dir: &Path) -> Option<Vec<u8>> {
    let path = view_path(dir);
    let bytes = fs::read(&path).ok()?;
    let (print, payload) = match frame::decode_view(&bytes) {
        Ok(found) => found,
        Err(e) => {
            tracing::debug!(?path, error = %e, "saved view unusable");
            return None;
        }
    };
    if fingerprint(dir).ok()? != print {
        return None;
    }
    let start = bytes.len() - payload.len();
    let mut bytes = bytes;
    bytes.drain(..start);
    Some(bytes)
}
