//! # peercoach-store: the data directory
//!
//! Everything a device keeps on disk, laid out so that no acknowledged edit is ever lost
//! (docs/design.md §4):
//!
//! ```text
//! <data dir>/            mode 0700: only this user
//!   lock                 one process per data dir (held while open)
//!   identity             iroh secret key + Automerge actor id, mode 0600
//!   settings.json        per-device settings (never synced)
//!   session              the session this device writes under, and the boot it began in
//!   session.seal         the identity of `session` as written (a copy has other files)
//!   control.sock         the running node's control socket (peercoach-node, Unix)
//!   window.ron           the desktop app's window: size, theme, last screen (eframe)
//!   notes/<notes id>/    a member's private notes, laid out as a team is (snapshot,
//!                        changes.log): synced only with the member's own devices
//!   teams/<team id>/
//!     snapshot           whole document: magic, length, CRC-32, Automerge save
//!     changes.log        magic, then one framed record (length, CRC-32, changes) per append
//!     peers/<id>.state   Automerge sync state per peer (a hint for faster reconnects)
//!     view               the read model as of the files (a cache for a fast first view)
//!     invites.json       invites this device made for the team, and which were used
//! ```
//!
//! Small files are only ever replaced whole, through one helper (`atomic.rs`: a
//! temporary file renamed over the old one, fsynced where a crash must not undo it).
//!
//! A change is appended and fsynced before the command that made it reports success. On
//! load, intact log records are applied up to the first bad one; a torn tail (a crash
//! mid-append) is dropped, damage in the middle is kept aside in a file, and an
//! unreadable snapshot is moved aside — never overwritten or deleted.
//!
//! ```no_run
//! use peercoach_store::DataDir;
//! let dir = DataDir::open("/tmp/peercoach-example".as_ref())?;
//! let identity = dir.identity_or_create()?;
//! for team in dir.team_ids()? {
//!     let (store, doc, report) = dir.open_team(&team)?;
//!     for warning in report.warnings() { eprintln!("{warning}"); }
//! }
//! # Ok::<(), peercoach_store::StoreError>(())
//! ```

mod atomic;
mod frame;
mod identity;
mod invites;
mod session;
mod settings;
mod team;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use peercoach_core::TeamId;
use peercoach_core::automerge::AutoCommit;

pub use frame::{Damage, Scan, SnapshotError, decode_snapshot, encode_record, scan_log};
pub use identity::Identity;
pub use invites::{Invite, Invites, Redeemed, Refusal};
pub use settings::{DeviceRelay, NetworkMode, NetworkSettings, Preferences, Settings};
pub use team::{LoadReport, TeamStore};

/// What went wrong with the data directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the data directory.
    #[error(
        "another peercoach process{} is using {dir}; close it, or talk to it (the CLI does so \
         automatically when it runs a node), or pick another --data-dir",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The holder's pid, if it wrote one.
        pid: Option<u32>,
    },
    /// The identity file is unreadable. It is never replaced automatically: it is this
    /// device's key.
    #[error(
        "the device identity at {path} is damaged ({reason}); it was left untouched — restore \
         it from a backup, or move it away to start this data dir as a new device"
    )]
    IdentityDamaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No such team in this data dir.
    #[error("there is no team {id} in this data dir")]
    NoSuchTeam {
        /// The id asked for.
        id: String,
    },
    /// A team with this id already has files here.
    #[error("a team already exists at {dir}")]
    TeamExists {
        /// Its directory.
        dir: PathBuf,
    },
    /// settings.json could not be written.
    #[error("could not write settings: {0}")]
    Settings(String),
    /// The operating system gave no random bytes (for a key or a secret).
    #[error("the operating system's random source failed: {0}")]
    NoRandomness(#[source] rand::rngs::SysError),
}

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Fills `bytes` from the operating system's random source (keys, invite secrets).
pub fn random_bytes(bytes: &mut [u8]) -> Result<(), StoreError> {
    use rand::TryRng;
    rand::rngs::SysRng
        .try_fill_bytes(bytes)
        .map_err(StoreError::NoRandomness)
}

pub(crate) fn now_ms() -> i64 {
    use peercoach_core::Env;
    peercoach_core::SystemEnv.now_ms()
}

/// Makes a rename or a new file in `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

/// An open data directory, locked for this process.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Opens (creating if needed) and locks a data directory.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(path).map_err(|e| io_err(path, e))?;
        // Only this user may read it: the device's key, invite secrets, a relay token,
        // private notes and the team's records all live here.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_err(path, e))?;
        }
        let lock_path = path.join("lock");
        let mut lock = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let pid = fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(StoreError::Locked {
                    dir: path.to_owned(),
                    pid,
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, e)),
        }
        lock.set_len(0).map_err(|e| io_err(&lock_path, e))?;
        write!(lock, "{}", std::process::id()).map_err(|e| io_err(&lock_path, e))?;
        Ok(Self {
            path: path.to_owned(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device's calendar file (iCalendar), for a calendar app to subscribe to.
    pub fn calendar_path(&self) -> PathBuf {
        Self::calendar_path_in(&self.path)
    }

    /// The calendar file of the data dir at `path` (the window shows it without opening
    /// the dir).
    pub fn calendar_path_in(path: &Path) -> PathBuf {
        path.join("calendar.ics")
    }

    /// Replaces the calendar file whole: a calendar app reading it sees the old file or
    /// the new one, never half of each.
    pub fn write_calendar(&self, ics: &str) -> Result<(), StoreError> {
        atomic::replace_file(
            &self.calendar_path(),
            ics.as_bytes(),
            atomic::Durability::Fsync,
        )
    }

    /// The control socket's path (used by peercoach-node).
    pub fn control_socket_path(path: &Path) -> PathBuf {
        path.join("control.sock")
    }

    /// The device identity, if one exists.
    pub fn identity(&self) -> Result<Option<Identity>, StoreError> {
        identity::load(&self.path)
    }

    /// The device identity, created on first use.
    pub fn identity_or_create(&self) -> Result<Identity, StoreError> {
        if let Some(id) = identity::load(&self.path)? {
            return Ok(id);
        }
        let id = Identity::generate()?;
        identity::create(&self.path, &id)?;
        Ok(id)
    }

    /// The 8 bytes this device writes its session actor with: kept across starts while
    /// these files are the ones that made them, in this boot; new for a copy of the data
    /// dir (see `session.rs`).
    pub fn session_nonce(&self) -> Result<[u8; 8], StoreError> {
        session::nonce(&self.path)
    }

    /// A new session nonce, kept from now on (see `session::renew`).
    pub fn renew_session_nonce(&self) -> Result<[u8; 8], StoreError> {
        session::renew(&self.path)
    }

    /// Settings; an unreadable file is moved aside and defaults are used (it holds
    /// nothing that cannot be set again).
    pub fn settings(&self) -> Settings {
        let path = settings::path(&self.path);
        match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    let aside = self
                        .path
                        .join(format!("settings.json.damaged-{}", now_ms()));
                    match fs::rename(&path, &aside) {
                        Ok(()) => {
                            tracing::warn!(error = %e, ?aside, "unreadable settings moved aside")
                        }
                        Err(moved) => tracing::warn!(
                            error = %e, %moved,
                            "unreadable settings (could not move them aside); using defaults"
                        ),
                    }
                    Settings::default()
                }
            },
            Err(_) => Settings::default(),
        }
    }

    /// Saves settings: replaced whole and fsynced.
    pub fn save_settings(&self, settings: &Settings) -> Result<(), StoreError> {
        let bytes =
            serde_json::to_vec_pretty(settings).map_err(|e| StoreError::Settings(e.to_string()))?;
        atomic::replace_file(
            &settings::path(&self.path),
            &bytes,
            atomic::Durability::Fsync,
        )
    }

    fn teams_dir(&self) -> PathBuf {
        self.path.join("teams")
    }

    /// Teams with files here.
    pub fn team_ids(&self) -> Result<Vec<TeamId>, StoreError> {
        let dir = self.teams_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir, e)),
        };
        let mut ids: Vec<TeamId> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| TeamId::parse(e.file_name().to_str()?).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Creates a team's files from its first document.
    pub fn create_team(&self, id: &TeamId, doc: &mut AutoCommit) -> Result<TeamStore, StoreError> {
        TeamStore::create(self.teams_dir().join(id.as_str()), doc, None)
    }

    /// Like [`DataDir::create_team`] when `saved` already is `doc`'s save (for example
    /// the copy a joiner received): it is written as the snapshot without encoding the
    /// document again.
    pub fn create_team_from_save(
        &self,
        id: &TeamId,
        doc: &mut AutoCommit,
        saved: &[u8],
    ) -> Result<TeamStore, StoreError> {
        TeamStore::create(self.teams_dir().join(id.as_str()), doc, Some(saved))
    }

    fn notes_dir(&self) -> PathBuf {
        self.path.join("notes")
    }

    /// Opens this device's copy of a private notes document (see
    /// `peercoach_core::notes`), creating it empty if there is none yet. Its files are
    /// laid out as a team's (snapshot and change log), under `notes/<id>/`.
    pub fn open_or_create_notes(
        &self,
        id: &TeamId,
    ) -> Result<(TeamStore, AutoCommit, LoadReport), StoreError> {
        let dir = self.notes_dir().join(id.as_str());
        if !dir.is_dir() {
            fs::create_dir_all(self.notes_dir()).map_err(|e| io_err(&self.notes_dir(), e))?;
            let mut doc = AutoCommit::new();
            let store = TeamStore::create(dir, &mut doc, None)?;
            return Ok((store, doc, LoadReport::default()));
        }
        TeamStore::open(dir)
    }

    /// The saved read model of a team (see [`TeamStore::write_view`]), when it was made
    /// from the team's files as they are now. Cheap next to opening the team.
    pub fn read_view(&self, id: &TeamId) -> Option<Vec<u8>> {
        team::read_view(&self.teams_dir().join(id.as_str()))
    }

    /// Opens a team: returns its store, its document, and what loading had to repair.
    pub fn open_team(
        &self,
        id: &TeamId,
    ) -> Result<(TeamStore, AutoCommit, LoadReport), StoreError> {
        let dir = self.teams_dir().join(id.as_str());
        if !dir.is_dir() {
            return Err(StoreError::NoSuchTeam { id: id.to_string() });
        }
        TeamStore::open(dir)
    }
}
