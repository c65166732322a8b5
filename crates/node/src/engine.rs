//! The engine: a data dir with its open teams, answering [`Request`]s. It does no
//! networking; the node wraps it with sync, and the CLI uses it directly when no node
//! runs on the data dir.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use peercoach_core::automerge::{ActorId, AutoCommit, AutomergeError, Change, ChangeHash};
use peercoach_core::export::{self, CsvTable, ImportError};
use peercoach_core::metrics::{self, MetricsConfig};
use peercoach_core::notes::{NoteId, NotesDoc, notes_doc_id};
use peercoach_core::view_cache::{self, View};
use peercoach_core::{
    ActorHex, Applied, Command, CommandError, Env, RequestId, SessionId, SystemEnv, Team, TeamDoc,
    TeamId, views,
};
use peercoach_net::{DeviceId, JoinError, TicketError};
use peercoach_store::{DataDir, Identity, StoreError, TeamStore};

use crate::api::{
    CalendarWhat, DeviceRow, ExportFormat, MemberRow, Query, Ref, RefKind, Reply, Request,
    RotaReply, TeamEntry, b64, unb64,
};
use crate::sync::signed::{self, Signatures, Signer};
use crate::sync::versions;

/// Why a request failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The data dir.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A command's rules.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// An import.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A change could not be written to disk (a full disk, an I/O error), so it was
    /// undone.
    #[error(
        "your teammates' devices would refuse this change ({0}), so it was not made: another device wrote something odd there"
    )]
    WouldBeRefused(String),
    #[error("could not save the change, so it was not made: {0}")]
    NotSaved(#[source] StoreError),
    /// No team yet.
    #[error(
        "no team in this data dir yet: create one with `peercoach init --name NAME --team TEAM`, \
         or join one with `peercoach join TICKET --name NAME`"
    )]
    NoTeam,
    /// Several teams and none chosen.
    #[error("this data dir holds several teams ({names}); pick one with --team")]
    WhichTeam {
        /// Their names.
        names: String,
    },
    /// No team matches.
    #[error("no team matches {0:?}")]
    UnknownTeam(String),
    /// A reference names nothing, or several things.
    #[error("{kind} {text:?}: {reason}")]
    Resolve {
        /// Kind.
        kind: &'static str,
        /// As typed.
        text: String,
        /// Why.
        reason: String,
    },
    /// A file that is neither an Automerge save nor our JSON export.
    #[error("neither an Automerge save file nor a peercoach JSON export")]
    UnknownFileFormat,
    /// A file that starts like an Automerge save but does not load.
    #[error("not a readable Automerge file: {0}")]
    NotAutomerge(#[source] Box<AutomergeError>),
    /// An Automerge document that holds no peercoach team.
    #[error("the Automerge document holds no peercoach team")]
    NoTeamInDocument,
    /// A file that names this team but does not share its history.
    #[error("the file claims this team's id but does not share its history; not merged")]
    ForeignHistory,
    /// Merging a file's document failed.
    #[error("could not merge: {0}")]
    Merge(#[source] Box<AutomergeError>),
    /// A message that could not be decoded.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Network settings a person gave.
    #[error(transparent)]
    Settings(#[from] crate::connect::SettingsError),
    /// The network is being bound again under earlier settings.
    #[error("the network is being set up again; try again in a moment")]
    Rebinding,
    /// The network did not take new settings (a relay refused this device, a port).
    #[error(transparent)]
    NotApplied(#[from] crate::connect::NotApplied),
    /// Invites, joins and status need the network.
    #[error(
        "{0} needs a running node: start `peercoach serve` (or the app) on this data dir first"
    )]
    NeedsNode(&'static str),
    /// The node stopped before it answered.
    #[error("the node has stopped")]
    Stopped,
    /// An invite's lifetime out of range.
    #[error("an invite must expire between 1 minute and 30 days from now")]
    InviteExpiry,
    /// A device-link ticket's lifetime out of range: it gives everything, private notes
    /// included.
    #[error(
        "a ticket that links another of your devices must expire between 1 minute and 1 hour \
         from now (it gives everything you can read, private notes included)"
    )]
    DeviceInviteExpiry,
    /// An imported file holds compressed changes or a bundle.
    #[error(
        "refused the file: it holds compressed changes, which are not taken (they cannot be \
         measured before they are unpacked); import a saved document instead"
    )]
    CompressedImport,
    /// An imported file holds a change over the limits (nothing of the file was taken).
    #[error("refused the file: its change {change} has {why}; nothing was imported")]
    OverLimits {
        /// The change, shortened.
        change: String,
        /// Why.
        why: crate::sync::Refusal,
    },
    /// The invite could not be recorded, so it was not made.
    #[error("could not save the invite: {0}")]
    InviteNotSaved(#[source] StoreError),
    /// A ticket that cannot be used.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// Joining over the network failed (unreachable, refused, cut off).
    #[error(transparent)]
    Join(#[from] JoinError),
    /// The ticket's team is already here.
    #[error("this device already has team {team_name}")]
    AlreadyJoined {
        /// Its name.
        team_name: String,
    },
    /// The inviter sent a document that does not load.
    #[error("the inviter sent an unreadable document: {0}")]
    JoinDocument(#[source] Box<AutomergeError>),
    /// The inviter sent another team than the ticket names.
    #[error("the inviter sent a different team than the ticket names")]
    WrongTeam,
    /// What the inviter sent is not the team once the changes no signature vouches for
    /// are left out.
    #[error(
        "the inviter's copy of the team, and your place in it, rest on {changes} change(s) that no signature of their device vouches for: not joined (nothing was kept; ask another member for an invite)"
    )]
    JoinUnvouched {
        /// How many were left out.
        changes: usize,
    },
    /// No app runs on this data dir to show a window or quit.
    #[error("no peercoach app is running on this data dir")]
    NoApp,
    /// The node on this data dir runs without a window (`peercoach serve`).
    #[error(
        "the node on this data dir runs without a window (peercoach serve); stop it to open the app"
    )]
    NoWindow,
    /// A join is already under way on this device.
    #[error("a join is already under way; wait for it or cancel it")]
    JoinUnderway,
    /// A join was cancelled before it finished.
    #[error("the join was cancelled")]
    JoinCancelled,
    /// The answer was not the one the request names (a node of another build).
    #[error(transparent)]
    WrongReply(#[from] crate::api::call::WrongReply),
    /// Private notes go only into a JSON export.
    #[error("private notes can only be exported as JSON (--format json)")]
    NotesNeedJson,
}

/// My private notes in one team (see `peercoach_core::notes`), open.
#[derive(Debug)]
pub struct OpenNotes {
    /// The team they belong to.
    pub team: TeamId,
    /// Their files.
    pub store: TeamStore,
    /// The document.
    pub doc: NotesDoc,
    /// The signatures of its changes.
    pub signatures: Signatures,
}

/// One open team.
#[derive(Debug)]
pub struct OpenTeam {
    /// Its files.
    pub store: TeamStore,
    /// Its document and view.
    pub doc: TeamDoc,
    /// The signatures of its changes.
    pub signatures: Signatures,
}

/// A data dir and its open teams.
pub struct Engine {
    data: DataDir,
    identity: Identity,
    endpoint_id: String,
    /// The actor this device writes with: its key and the data dir's session bytes, kept
    /// across starts on the same files in one boot and new for a copy, so two copies of
    /// one data dir never write the same (actor, sequence number).
    session: peercoach_core::automerge::ActorId,
    /// When this engine opened (seconds, as change timestamps are written).
    opened_s: i64,
    /// Another session of this very device that wrote while this one runs: a copy of
    /// this data dir (restored from a backup, copied to another laptop) running too.
    another_copy: Option<peercoach_core::automerge::ActorId>,
    /// Sessions this engine wrote under and left (after setting a version aside): what
    /// they wrote is its own, not another copy's.
    left_sessions: HashSet<peercoach_core::automerge::ActorId>,
    teams: BTreeMap<TeamId, OpenTeam>,
    /// Private notes documents opened so far, by their document id.
    notes: BTreeMap<TeamId, OpenNotes>,
    /// Every team dir has been opened. The data dir is locked to this engine, so teams
    /// appear after that only through it: the directory need not be read again.
    all_open: bool,
    env: Box<dyn Env + Send>,
    warnings: Vec<String>,
    /// Saved read models of teams not opened yet (see [`Engine::preview_all`]).
    views: BTreeMap<TeamId, View>,
    /// `settings.json` as read at opening and as saved since: the data dir is locked to
    /// this engine, so no one else writes it.
    settings: peercoach_store::Settings,
    /// What the calendar file holds, as last written by this engine.
    calendar_written: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data", &self.data.path())
            .field("teams", &self.teams.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The iroh endpoint id (public key, hex) of a secret key.
pub fn endpoint_id_of(identity: &Identity) -> String {
    iroh_base::SecretKey::from_bytes(&identity.secret_key)
        .public()
        .to_string()
}

impl Engine {
    /// Opens and locks a data dir, creating the device identity on first use.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        Self::open_with_env(path, Box::new(SystemEnv))
    }

    /// Like [`Engine::open`], with a chosen clock and id source.
    pub fn open_with_env(path: &Path, mut env: Box<dyn Env + Send>) -> Result<Self, EngineError> {
        let data = DataDir::open(path)?;
        let identity = data.identity_or_create()?;
        let endpoint_id = endpoint_id_of(&identity);
        let key = iroh_base::SecretKey::from_bytes(&identity.secret_key).public();
        let nonce = data.session_nonce()?;
        let session = peercoach_core::session_actor(key.as_bytes(), nonce);
        let settings = data.settings();
        let opened_s = env.now_ms().div_euclid(1000);
        Ok(Self {
            settings,
            data,
            identity,
            endpoint_id,
            session,
            opened_s,
            another_copy: None,
            left_sessions: HashSet::new(),
            teams: BTreeMap::new(),
            notes: BTreeMap::new(),
            all_open: false,
            env,
            warnings: Vec::new(),
            views: BTreeMap::new(),
            calendar_written: None,
        })
    }

    /// The data dir.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// This device's settings (`settings.json`), kept in memory.
    pub fn settings(&self) -> &peercoach_store::Settings {
        &self.settings
    }

    /// Keeps the port the endpoint was bound to, so that binding again keeps it, and
    /// saves it for the next start (in force here even if it cannot be saved).
    pub fn remember_port(&mut self, port: u16) -> Result<(), EngineError> {
        self.settings.network.port = port;
        self.data.save_settings(&self.settings)?;
        Ok(())
    }

    /// Saves the device's settings; they take effect here once they are on disk.
    pub fn save_settings(
        &mut self,
        settings: peercoach_store::Settings,
    ) -> Result<(), EngineError> {
        self.data.save_settings(&settings)?;
        self.settings = settings;
        Ok(())
    }

    /// Whether another copy of this device (its data dir restored or copied) has
    /// written while this one runs.
    pub fn another_copy_running(&self) -> bool {
        self.another_copy.is_some()
    }

    /// This device's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// This device's endpoint id.
    pub fn endpoint_id(&self) -> &str {
        &self.endpoint_id
    }

    /// Keeps a warning for the person, given with the reply to what they asked.
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Problems found while opening teams (snapshot moved aside, …), once each.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The clock.
    pub fn now_ms(&mut self) -> i64 {
        self.env.now_ms()
    }

    /// Opens every team in the data dir.
    pub fn open_all(&mut self) -> Result<(), EngineError> {
        if self.all_open {
            return Ok(());
        }
        for id in self.data.team_ids()? {
            self.load(&id)?;
        }
        self.all_open = true;
        Ok(())
    }

    /// The device's calendar as it stands: for every team I am in, its coaching hour, my
    /// scheduled sessions and my open follow-ups with a due date.
    pub fn calendar(&mut self) -> Result<String, EngineError> {
        self.open_all()?;
        let teams: Vec<(
            TeamId,
            std::sync::Arc<peercoach_core::Team>,
            peercoach_core::MemberId,
        )> = self
            .teams
            .iter()
            .filter_map(|(id, t)| Some((id.clone(), t.doc.shared_team(), t.doc.me()?.clone())))
            .collect();
        let sources: Vec<peercoach_core::calendar::Source<'_>> = teams
            .iter()
            .map(|(id, team, me)| peercoach_core::calendar::Source {
                id,
                name: &team.name,
                team,
                me,
            })
            .collect();
        Ok(peercoach_core::calendar::device_calendar(
            &sources,
            &crate::clock::offset_ms,
            &peercoach_core::calendar::TzDatabase,
        ))
    }

    /// Rewrites the device's calendar file when what it holds changed (and once at the
    /// first call), so a calendar app subscribed to it stays current.
    pub fn refresh_calendar(&mut self) {
        let ics = match self.calendar() {
            Ok(ics) => ics,
            Err(e) => {
                tracing::warn!(error = %e, "could not make the calendar");
                return;
            }
        };
        if self.calendar_written.is_none() {
            // What the file holds from before: unchanged, it is not written again.
            self.calendar_written = std::fs::read_to_string(self.data.calendar_path()).ok();
        }
        if self.calendar_written.as_deref() == Some(ics.as_str()) {
            return;
        }
        match self.data.write_calendar(&ics) {
            Ok(()) => self.calendar_written = Some(ics),
            Err(e) => tracing::warn!(error = %e, "could not write the calendar file"),
        }
    }

    /// Reads the saved read model of every team not open yet, when it was made from the
    /// team's files as they are now: a large team's views can show before its document
    /// has loaded. Returns the teams found, with their models; opening a team later uses
    /// its model if the document's heads match, and reads the document otherwise.
    pub fn preview_all(&mut self) -> Vec<(TeamId, View)> {
        let Ok(ids) = self.data.team_ids() else {
            return Vec::new();
        };
        for id in ids {
            if self.teams.contains_key(&id) || self.views.contains_key(&id) {
                continue;
            }
            if let Some(view) = self.saved_view(&id) {
                self.views.insert(id, view);
            }
        }
        self.views
            .iter()
            .map(|(id, view)| (id.clone(), view.clone()))
            .collect()
    }

    fn saved_view(&self, id: &TeamId) -> Option<View> {
        let bytes = self.data.read_view(id)?;
        match view_cache::decode(&bytes) {
            Ok(view) => Some(view),
            Err(e) => {
                tracing::debug!(team = %id, error = %e, "saved view not used");
                None
            }
        }
    }

    /// Saves the read model of every open team whose saved copy no longer matches its
    /// files, so the next start shows views at once. The node does this once its teams
    /// are open (after a crash, or the CLI's edits, the copy is stale) and when it stops;
    /// the CLI, which opens the data dir for one command, never writes one.
    pub fn save_views(&mut self) {
        for (id, open) in &self.teams {
            let doc = &open.doc;
            if let Err(e) = open
                .store
                .write_view(doc.model_heads(), || doc.view_bytes())
            {
                tracing::warn!(team = %id, error = %e, "could not save the team's view");
            }
        }
    }

    fn load(&mut self, id: &TeamId) -> Result<(), EngineError> {
        if self.teams.contains_key(id) {
            return Ok(());
        }
        // Read before opening: opening may rewrite the files (a compaction, a torn tail
        // cut), and the copy is checked against the document's heads either way.
        let view = self.views.remove(id).or_else(|| self.saved_view(id));
        let (store, doc, report) = self.data.open_team(id)?;
        for w in report.warnings() {
            tracing::warn!("{w}");
            self.warnings.push(w);
        }
        let (store, doc) = match versions::without_waiting(doc) {
            (mut doc, true) => {
                let mut store = store;
                if let Err(e) = store.compact(&mut doc) {
                    tracing::warn!(team = %id.short(), error = %e, "could not rewrite the team without its waiting changes");
                }
                (store, doc)
            }
            (doc, false) => (store, doc),
        };
        let (mut doc, _) = TeamDoc::from_doc_with_view(doc, self.identity.actor_hex(), view);
        doc.write_as_session(self.session.clone());
        if let Some(newer) = doc.newer_schema() {
            // Said once, when the team opens: everything keeps working.
            self.warnings.push(format!(
                "team {}: a teammate's device runs a newer peercoach (records of version {}, \
                 this one reads {}); what only the newer version knows is kept, not shown",
                doc.team().name,
                newer.found,
                peercoach_core::schema::SCHEMA_VERSION
            ));
        }
        let signatures = load_signatures(&store, &mut self.warnings);
        self.teams.insert(
            id.clone(),
            OpenTeam {
                store,
                doc,
                signatures,
            },
        );
        Ok(())
    }

    /// Picks a team by what a person typed: its id, an id prefix or its name.
    pub fn find_team(&mut self, text: &str) -> Result<TeamId, EngineError> {
        self.open_all()?;
        let teams: Vec<(&TeamId, &str)> = self
            .teams
            .iter()
            .map(|(id, t)| (id, t.doc.team().name.as_str()))
            .collect();
        let matches =
            peercoach_core::ids::matching(text, &teams, |(id, _)| id.as_str(), |(_, n)| Some(n));
        match matches.as_slice() {
            [(one, _)] => Ok((*one).clone()),
            [] => Err(EngineError::UnknownTeam(text.to_owned())),
            _ => Err(EngineError::WhichTeam {
                names: self.team_names(),
            }),
        }
    }

    /// The team a request names (an id, found once from what a person typed by
    /// [`Engine::find_team`]), or by default the last used, or the only one.
    pub fn select(&mut self, team: Option<&TeamId>) -> Result<TeamId, EngineError> {
        self.open_all()?;
        if let Some(id) = team {
            return match self.teams.contains_key(id) {
                true => Ok(id.clone()),
                false => Err(EngineError::UnknownTeam(id.to_string())),
            };
        }
        let last = self
            .settings
            .last_team
            .as_deref()
            .and_then(|t| TeamId::parse(t).ok())
            .filter(|t| self.teams.contains_key(t));
        if let Some(last) = last {
            return Ok(last);
        }
        match self.teams.keys().collect::<Vec<_>>().as_slice() {
            [] => Err(EngineError::NoTeam),
            [one] => Ok((*one).clone()),
            _ => Err(EngineError::WhichTeam {
                names: self.team_names(),
            }),
        }
    }

    fn team_names(&self) -> String {
        self.teams
            .values()
            .map(|t| t.doc.team().name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// An open team: the one named, or the default (see [`Engine::select`]).
    pub fn team(&mut self, team: Option<&TeamId>) -> Result<&mut OpenTeam, EngineError> {
        let id = self.select(team)?;
        self.open_team(&id)
    }

    /// An open team, by its exact id: how the node finds a team named by a frame, a
    /// ticket or its own bookkeeping.
    pub fn open_team(&mut self, id: &TeamId) -> Result<&mut OpenTeam, EngineError> {
        if !self.teams.contains_key(id) && !self.all_open {
            self.open_all()?;
        }
        self.teams
            .get_mut(id)
            .ok_or_else(|| EngineError::UnknownTeam(id.to_string()))
    }

    /// All open teams.
    pub fn teams_mut(&mut self) -> impl Iterator<Item = (&TeamId, &mut OpenTeam)> {
        self.teams.iter_mut()
    }

    /// The id of this device's member's private notes document in `team`, if it is a
    /// member there.
    pub fn notes_id(&self, team: &TeamId) -> Option<TeamId> {
        let me = self.teams.get(team)?.doc.me()?;
        Some(notes_doc_id(team, me))
    }

    /// My private notes in `team`, opened on first use (created empty if this device has
    /// none yet). The CLI opens them only for a command about notes; the node opens every
    /// team's at start, so that they sync with my other devices.
    pub fn notes(&mut self, team: &TeamId) -> Result<&mut OpenNotes, EngineError> {
        self.open_team(team)?;
        let id = self.notes_id(team).ok_or(CommandError::NotAMember)?;
        if !self.notes.contains_key(&id) {
            let (store, doc, report) = self.data.open_or_create_notes(&id)?;
            for w in report.warnings() {
                tracing::warn!("{w}");
                self.warnings.push(w);
            }
            let doc = NotesDoc::from_doc(doc, &ActorHex::from_bytes(self.session.to_bytes()));
            let signatures = load_signatures(&store, &mut self.warnings);
            self.notes.insert(
                id.clone(),
                OpenNotes {
                    team: team.clone(),
                    store,
                    doc,
                    signatures,
                },
            );
        }
        self.notes
            .get_mut(&id)
            .ok_or_else(|| EngineError::UnknownTeam(id.to_string()))
    }

    /// My private notes in `team` as they are, if they are open (nothing is opened here).
    pub fn open_notes_of(&self, team: &TeamId) -> std::sync::Arc<Vec<peercoach_core::notes::Note>> {
        self.notes_id(team)
            .and_then(|id| self.notes.get(&id))
            .map(|open| open.doc.shared_notes())
            .unwrap_or_default()
    }

    /// The team a private notes document belongs to.
    pub fn team_of_notes(&self, notes_id: &TeamId) -> Option<TeamId> {
        self.notes.get(notes_id).map(|open| open.team.clone())
    }

    /// Appends the signatures recorded for a synced document's changes since the last
    /// call to its log (see [`TeamStore::append_signatures`]).
    pub fn save_signatures(&mut self, id: &TeamId) {
        let (store, table) = match (self.teams.get_mut(id), self.notes.get_mut(id)) {
            (Some(open), _) => (&open.store, &mut open.signatures),
            (None, Some(open)) => (&open.store, &mut open.signatures),
            (None, None) => return,
        };
        if let Some(bytes) = table.take_unsaved()
            && let Err(e) = store.append_signatures(&bytes)
        {
            tracing::warn!(team = %id.short(), error = %e, "could not save signatures");
        }
    }

    /// The files and the document of anything the node syncs: a team, or private notes.
    pub fn synced_mut(&mut self, id: &TeamId) -> Option<(&mut TeamStore, &mut AutoCommit)> {
        if let Some(open) = self.teams.get_mut(id) {
            return Some((&mut open.store, open.doc.automerge()));
        }
        self.notes
            .get_mut(id)
            .map(|open| (&mut open.store, open.doc.automerge()))
    }

    /// Writes a private note and makes it durable; a note that cannot be saved is undone.
    fn add_note(
        &mut self,
        team: &TeamId,
        text: &str,
        session: Option<&SessionId>,
        request: Option<&RequestId>,
    ) -> Result<NoteId, EngineError> {
        let open = self.open_team(team)?;
        if let Some(s) = session
            && !open.doc.team().sessions.contains_key(s)
        {
            return Err(CommandError::NotFound {
                kind: "session",
                id: s.to_string(),
            }
            .into());
        }
        if let Some(r) = request
            && !open.doc.team().requests.contains_key(r)
        {
            return Err(CommandError::NotFound {
                kind: "request",
                id: r.to_string(),
            }
            .into());
        }
        self.write_notes(team, |doc, env| doc.add(text, session, request, env))
    }

    /// Changes my private notes in `team` with `write`, and makes it durable; a change
    /// that cannot be saved is undone.
    fn write_notes<T>(
        &mut self,
        team: &TeamId,
        write: impl FnOnce(
            &mut peercoach_core::notes::NotesDoc,
            &mut dyn peercoach_core::Env,
        ) -> Result<T, CommandError>,
    ) -> Result<T, EngineError> {
        self.notes(team)?;
        let notes_id = self.notes_id(team).ok_or(CommandError::NotAMember)?;
        let env = &mut self.env;
        let open = self
            .notes
            .get_mut(&notes_id)
            .ok_or_else(|| EngineError::UnknownTeam(notes_id.to_string()))?;
        let written = write(&mut open.doc, env.as_mut())?;
        self.save_notes_or_undo(&notes_id)?;
        Ok(written)
    }

    /// As [`Engine::save_or_undo`], for a notes document.
    fn save_notes_or_undo(&mut self, notes_id: &TeamId) -> Result<(), EngineError> {
        let Some(open) = self.notes.get_mut(notes_id) else {
            return Err(EngineError::UnknownTeam(notes_id.to_string()));
        };
        if let Err(e) = open.store.append(open.doc.automerge()) {
            tracing::error!(error = %e, "could not save a note; undoing it");
            let team = open.team.clone();
            self.notes.remove(notes_id);
            if let Err(reload) = self.notes(&team) {
                tracing::error!(error = %reload, "could not read the notes again");
            }
            return Err(EngineError::NotSaved(e));
        }
        Ok(())
    }

    /// Applies a command to the team a person picked, and makes it durable (appended and
    /// fsynced) before returning.
    pub fn apply(
        &mut self,
        team: Option<&TeamId>,
        command: Command,
    ) -> Result<Applied, EngineError> {
        let id = self.select(team)?;
        self.apply_to(&id, command)
    }

    /// Applies a command to a team given by id, and makes it durable before returning.
    pub fn apply_to(&mut self, id: &TeamId, command: Command) -> Result<Applied, EngineError> {
        self.open_team(id)?;
        let id = id.clone();
        let env = &mut self.env;
        let open = self
            .teams
            .get_mut(&id)
            .ok_or(EngineError::UnknownTeam(id.to_string()))?;
        let applied = open.doc.apply(command, env.as_mut())?;
        // A change the sync rules refuse would never reach a teammate, and every later
        // change of this device would wait behind it: it is not made at all.
        let refused = open
            .doc
            .automerge()
            .get_last_local_change()
            .and_then(|change| {
                let team = open.doc.team();
                crate::sync::screen::Rules::of(open.doc.automerge_ref(), team)
                    .check(&change)
                    .err()
            });
        if let Some(why) = refused {
            tracing::warn!(%why, "a local change the sync rules refuse; undoing it");
            self.teams.remove(&id);
            self.load(&id)?;
            return Err(EngineError::WouldBeRefused(why.to_string()));
        }
        self.save_or_undo(&id)?;
        Ok(applied)
    }

    /// Makes a team's new changes durable. When they cannot be written (a full disk, an
    /// I/O error), the team is read again from its files, which undoes them: a command
    /// that reports failure leaves nothing behind, in memory or on disk. Changes from
    /// peers that were waiting to be saved go too; they come back with the next sync.
    fn save_or_undo(&mut self, id: &TeamId) -> Result<(), EngineError> {
        let open = self
            .teams
            .get_mut(id)
            .ok_or(EngineError::UnknownTeam(id.to_string()))?;
        if let Err(e) = open.store.append(open.doc.automerge()) {
            tracing::error!(error = %e, "could not save a change; undoing it");
            self.teams.remove(id);
            if let Err(reload) = self.load(id) {
                tracing::error!(error = %reload, "could not read the team again");
                self.all_open = false;
            }
            return Err(EngineError::NotSaved(e));
        }
        // The change is safe in the log; a snapshot that cannot be written now (the
        // disk is full) is tried again after a later change.
        if open.store.should_compact()
            && let Err(e) = open.store.compact(open.doc.automerge())
        {
            tracing::warn!(error = %e, "could not write a fresh snapshot; the log holds everything");
        }
        Ok(())
    }

    /// Adds a team from its first document (genesis, a join, or an imported file).
    pub fn add_team(&mut self, doc: AutoCommit) -> Result<TeamId, EngineError> {
        self.add_team_saved(doc, None)
    }

    /// Adds a team whose save bytes we already hold (a joiner's received copy), so they
    /// become the snapshot as they are.
    pub fn add_team_saved(
        &mut self,
        doc: AutoCommit,
        saved: Option<&[u8]>,
    ) -> Result<TeamId, EngineError> {
        let doc = TeamDoc::from_doc(doc, self.identity.actor_hex());
        self.keep_team(doc, saved)
    }

    /// Like [`Engine::add_team_saved`], with the team's model already read (a joiner
    /// reads it to check the copy it was handed).
    pub fn add_team_read(
        &mut self,
        doc: TeamDoc,
        saved: Option<&[u8]>,
    ) -> Result<TeamId, EngineError> {
        self.keep_team(doc, saved)
    }

    /// Adds a team built in memory (the demo generator's history), written by this device
    /// from now on.
    pub fn add_team_doc(&mut self, mut doc: TeamDoc) -> Result<TeamId, EngineError> {
        doc.act_as(self.identity.actor_hex());
        self.keep_team(doc, None)
    }

    /// Writes a new team's first files and opens it as the current team.
    fn keep_team(&mut self, mut doc: TeamDoc, saved: Option<&[u8]>) -> Result<TeamId, EngineError> {
        let id = doc.team().id.clone().ok_or(EngineError::NoTeamInDocument)?;
        let store = match saved {
            Some(bytes) => self
                .data
                .create_team_from_save(&id, doc.automerge(), bytes)?,
            None => self.data.create_team(&id, doc.automerge())?,
        };
        doc.write_as_session(self.session.clone());
        self.teams.insert(
            id.clone(),
            OpenTeam {
                store,
                doc,
                signatures: Signatures::default(),
            },
        );
        self.set_current(&id)?;
        Ok(id)
    }

    fn set_current(&mut self, id: &TeamId) -> Result<(), EngineError> {
        if self.settings.last_team.as_deref() != Some(id.as_str()) {
            let mut settings = self.settings.clone();
            settings.last_team = Some(id.to_string());
            self.save_settings(settings)?;
        }
        Ok(())
    }

    /// Answers one request.
    pub fn handle(&mut self, request: Request) -> Result<Reply, EngineError> {
        match request {
            Request::Init { name, team_name } => {
                let (mut doc, member) = TeamDoc::genesis(
                    self.identity.actor_hex(),
                    &team_name,
                    &name,
                    &self.endpoint_id,
                    self.env.as_mut(),
                )?;
                let team_id = self.add_team(doc.automerge().clone())?;
                Ok(Reply::TeamCreated {
                    team_id: team_id.to_string(),
                    member_id: member.to_string(),
                })
            }
            Request::Teams => {
                self.open_all()?;
                let current = self.select(None).ok();
                let teams = self
                    .teams
                    .iter()
                    .map(|(id, t)| TeamEntry {
                        id: id.to_string(),
                        name: t.doc.team().name.clone(),
                        current: current.as_ref() == Some(id),
                        me: t.doc.me().map(ToString::to_string),
                        members: t.doc.team().current_members().len(),
                    })
                    .collect();
                Ok(Reply::Teams { teams })
            }
            Request::SelectTeam { team } => Ok(Reply::Selected {
                team_id: self.find_team(&team)?,
            }),
            Request::UseTeam { team } => {
                let id = self.find_team(&team)?;
                self.set_current(&id)?;
                let name = self.team(Some(&id))?.doc.team().name.clone();
                Ok(Reply::Done {
                    created: None,
                    summary: format!("now using team {name}"),
                })
            }
            Request::Resolve { team, refs } => {
                let open = self.team(team.as_ref())?;
                let ids = refs
                    .iter()
                    .map(|r| resolve(open.doc.team(), r))
                    .collect::<Result<_, _>>()?;
                Ok(Reply::Resolved { ids })
            }
            Request::Apply { team, command } => {
                let applied = self.apply(team.as_ref(), command)?;
                Ok(Reply::Done {
                    created: applied.created,
                    summary: applied.summary,
                })
            }
            Request::Query { team, query } => answer(self, team.as_ref(), query),
            Request::Export {
                team,
                format,
                table,
                private_notes,
            } => {
                let now_ms = self.env.now_ms();
                let id = self.select(team.as_ref())?;
                if private_notes && format != ExportFormat::Json {
                    return Err(EngineError::NotesNeedJson);
                }
                let notes = if private_notes {
                    Some(self.notes(&id)?.doc.notes().to_vec())
                } else {
                    None
                };
                let open = self.open_team(&id)?;
                let me = open.doc.me().cloned();
                let bytes = match format {
                    ExportFormat::Json => {
                        let mut value =
                            serde_json::to_value(export::to_export(open.doc.team(), me.as_ref()))
                                .map_err(|e| EngineError::BadRequest(e.to_string()))?;
                        if let (Some(notes), Some(object)) = (notes, value.as_object_mut()) {
                            let notes = serde_json::to_value(notes)
                                .map_err(|e| EngineError::BadRequest(e.to_string()))?;
                            object.insert("private_notes".into(), notes);
                        }
                        serde_json::to_vec_pretty(&value)
                            .map_err(|e| EngineError::BadRequest(e.to_string()))?
                    }
                    ExportFormat::Csv => export::to_csv(
                        open.doc.team(),
                        me.as_ref(),
                        table.unwrap_or(CsvTable::Requests),
                    )
                    .into_bytes(),
                    ExportFormat::Md => export::to_markdown(open.doc.team(), now_ms).into_bytes(),
                    ExportFormat::Automerge => open.doc.automerge().save(),
                };
                Ok(Reply::Exported {
                    bytes_b64: b64(&bytes),
                })
            }
            Request::Network { set } => {
                if let Some(network) = set {
                    // Only "team relay only" without a relay of its own needs the teams'
                    // relays: do not load every document for the rest.
                    let needs_teams = network.mode == peercoach_store::NetworkMode::TeamRelay
                        && network.relays.is_empty();
                    if needs_teams {
                        self.open_all()?;
                    }
                    let relays: Vec<peercoach_core::TeamRelay> = self
                        .teams
                        .values()
                        .flat_map(|open| open.doc.team().relays.clone())
                        .collect();
                    crate::connect::validate(&network, &relays)?;
                    let mut settings = self.settings.clone();
                    settings.network = network;
                    self.save_settings(settings)?;
                }
                Ok(Reply::Network(self.settings.network.clone()))
            }
            Request::Preferences { set } => {
                if let Some(preferences) = set {
                    let mut settings = self.settings.clone();
                    settings.preferences = preferences;
                    self.save_settings(settings)?;
                }
                Ok(Reply::Preferences(self.settings.preferences.clone()))
            }
            Request::ShowWindow { .. } | Request::Quit => Err(EngineError::NoApp),
            Request::CancelJoin => Ok(Reply::Done {
                created: None,
                summary: "no join is under way".into(),
            }),
            Request::Status { .. } => Err(EngineError::NeedsNode("status")),
            Request::Reconnect => Err(EngineError::NeedsNode("reconnect")),
            Request::Invite { .. } => Err(EngineError::NeedsNode("invite")),
            Request::Join { .. } => Err(EngineError::NeedsNode("join")),
            Request::AddNote {
                team,
                text,
                on_session: session,
                on_request: request,
            } => {
                let id = self.select(team.as_ref())?;
                let session = session
                    .map(|s| SessionId::parse(&s))
                    .transpose()
                    .map_err(|e| EngineError::BadRequest(e.to_string()))?;
                let request = request
                    .map(|r| RequestId::parse(&r))
                    .transpose()
                    .map_err(|e| EngineError::BadRequest(e.to_string()))?;
                let note = self.add_note(&id, &text, session.as_ref(), request.as_ref())?;
                Ok(Reply::Done {
                    created: Some(peercoach_core::RecordId::Note(note)),
                    summary: "note saved: only you can read it, on your own devices".into(),
                })
            }
            Request::DeleteNote { team, note } => {
                let id = self.select(team.as_ref())?;
                let note =
                    NoteId::parse(&note).map_err(|e| EngineError::BadRequest(e.to_string()))?;
                self.write_notes(&id, |doc, env| doc.delete(&note, env))?;
                Ok(Reply::Done {
                    created: None,
                    summary: "note deleted (in the trash for 30 days)".into(),
                })
            }
            Request::RestoreNote { team, note } => {
                let id = self.select(team.as_ref())?;
                let note =
                    NoteId::parse(&note).map_err(|e| EngineError::BadRequest(e.to_string()))?;
                self.write_notes(&id, |doc, env| doc.restore(&note, env))?;
                Ok(Reply::Done {
                    created: None,
                    summary: "note restored".into(),
                })
            }
            Request::Import { team, bytes_b64 } => {
                let bytes = unb64(&bytes_b64).map_err(EngineError::BadRequest)?;
                self.import(team.as_ref(), &bytes)
            }
        }
    }

    fn import(&mut self, team: Option<&TeamId>, bytes: &[u8]) -> Result<Reply, EngineError> {
        const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
        if bytes.starts_with(&AUTOMERGE_MAGIC) {
            // Every change in the file meets the limits a peer's changes meet, before
            // anything of it reaches a team: a file of changes is screened change by
            // change without loading it; a saved document must be loaded on its own
            // first (here, once, by the person importing it).
            let whole_document = match crate::sync::screen::change_chunks(bytes) {
                Ok(chunks) => {
                    for chunk in chunks {
                        let change = Change::try_from(chunk)
                            .map_err(|e| EngineError::NotAutomerge(Box::new(e.into())))?;
                        screen_import(&change)?;
                    }
                    false
                }
                Err(crate::sync::screen::ChunkError::Document) => true,
                // A compressed change or a bundle inflates without a bound before it
                // can be measured; junk is refused by the load below.
                Err(crate::sync::screen::ChunkError::OtherChunk) => {
                    return Err(EngineError::CompressedImport);
                }
                Err(crate::sync::screen::ChunkError::NotChunks) => false,
            };
            let mut incoming =
                AutoCommit::load(bytes).map_err(|e| EngineError::NotAutomerge(Box::new(e)))?;
            if whole_document {
                for change in incoming.get_changes(&[]) {
                    screen_import(&change)?;
                }
            }
            let incoming_team = Team::read(&incoming);
            let id = incoming_team
                .id
                .clone()
                .ok_or(EngineError::NoTeamInDocument)?;
            self.open_all()?;
            let Some(open) = self.teams.get_mut(&id) else {
                let name = incoming_team.name.clone();
                self.add_team(incoming)?;
                return Ok(Reply::Done {
                    created: Some(peercoach_core::RecordId::Team(id)),
                    summary: format!("added team {name} from the file"),
                });
            };
            // Same team id is not enough: the histories must share their genesis, or the
            // merge would put two conflicting root objects side by side.
            if !shares_genesis(open.doc.automerge(), &mut incoming) {
                return Err(EngineError::ForeignHistory);
            }
            let before = open.doc.team().clone();
            let me = DeviceId::from(
                iroh_base::SecretKey::from_bytes(&self.identity.secret_key).public(),
            );
            let (taken, left_out) = importable(open, &mut incoming, me);
            open.doc.apply_changes(taken)?;
            self.save_or_undo(&id)?;
            let Some(open) = self.teams.get(&id) else {
                return Err(EngineError::UnknownTeam(id.to_string()));
            };
            let after = open.doc.team();
            let added = (after.requests.len() + after.offers.len() + after.sessions.len())
                .saturating_sub(
                    before.requests.len() + before.offers.len() + before.sessions.len(),
                );
            let mut summary = format!("merged the file into {}: {added} new records", after.name);
            if left_out > 0 {
                summary.push_str(&format!(
                    "; left out {left_out} {} made on other members' devices that no \
                     signature here vouches for (they reach you from those devices)",
                    if left_out == 1 { "change" } else { "changes" }
                ));
            }
            return Ok(Reply::Done {
                created: None,
                summary,
            });
        }
        if bytes.first() == Some(&b'{') {
            let parsed = export::parse_export(bytes)?;
            let id = self.select(team)?;
            let env = &mut self.env;
            let open = self
                .teams
                .get_mut(&id)
                .ok_or(EngineError::UnknownTeam(id.to_string()))?;
            let report = open.doc.import_json(&parsed, env.as_mut())?;
            // The import is one change: it must meet the limits every peer holds it to,
            // or no peer would take it. Over them, it is undone (read again from disk).
            if report.added > 0
                && let Some(change) = open.doc.automerge().get_last_local_change()
                && let Err(e) = screen_import(&change)
            {
                self.teams.remove(&id);
                self.load(&id)?;
                return Err(e);
            }
            self.save_or_undo(&id)?;
            return Ok(Reply::Imported { report });
        }
        Err(EngineError::UnknownFileFormat)
    }
}

/// The changes of a file merged into a team that this device may take, in causal order,
/// and how many it leaves out. A file carries no signatures, and a peer takes nothing
/// unsigned: a change from a file that this device cannot vouch for would be refused by
/// every peer, and so would every later change of ours built on it. So a file brings
/// what this device wrote (its own actors: it signs them when it sends them, as it
/// would its own backup restored), and another device's changes only where a signature
/// this device holds covers them; the rest, what breaks the rules peers apply before
/// anything else (`screen::guard`), and whatever depends on them, is left out.
fn importable(
    open: &mut OpenTeam,
    incoming: &mut AutoCommit,
    me: DeviceId,
) -> (Vec<Change>, usize) {
    let new: Vec<Change> = incoming
        .get_changes(&[])
        .into_iter()
        .filter(|c| {
            open.doc
                .automerge()
                .get_change_meta_by_hash(&c.hash())
                .is_none()
        })
        .collect();
    let team = open.doc.team();
    let judged = signed::judge(
        &new,
        &open.signatures.all(),
        |actor| signed::signer_in(team, actor).0,
        |_| false,
    );
    let mut rules = crate::sync::screen::Rules::of(open.doc.automerge_ref(), team);
    let mut left: HashSet<ChangeHash> = HashSet::new();
    let mut taken = Vec::with_capacity(new.len());
    for (change, verdict) in new.into_iter().zip(judged.verdicts) {
        let vouched = verdict == signed::Verdict::Signed
            || signed::signer_in(team, change.actor_id()).0 == Signer::Member(me);
        // What peers would refuse, the import leaves out too.
        if vouched
            && rules.check(&change).is_ok()
            && !change.deps().iter().any(|d| left.contains(d))
        {
            taken.push(change);
        } else {
            left.insert(change.hash());
        }
    }
    (taken, left.len())
}

/// One change of an imported file against the limits peers' changes meet.
fn screen_import(change: &Change) -> Result<(), EngineError> {
    crate::sync::screen::screen(
        change,
        crate::sync::Limits::default(),
        &std::collections::HashMap::new(),
    )
    .map_err(|why| EngineError::OverLimits {
        change: crate::sync::screen::short(&change.hash()),
        why,
    })
}

/// The engine's open teams are the documents the node's sync machine keeps in sync; the
/// read model over each is refreshed as changes arrive.
impl crate::sync::Docs for Engine {
    type Error = CommandError;

    fn doc(&mut self, team: &TeamId) -> Option<&mut AutoCommit> {
        self.synced_mut(team).map(|(_, doc)| doc)
    }

    fn apply_changes(&mut self, team: &TeamId, changes: Vec<Change>) -> Result<(), CommandError> {
        if let Some(open) = self.teams.get_mut(team) {
            return open.doc.apply_changes(changes).map(|_| ());
        }
        let open = self
            .notes
            .get_mut(team)
            .ok_or_else(|| CommandError::NotFound {
                kind: "team",
                id: team.to_string(),
            })?;
        open.doc.automerge().apply_changes(changes)?;
        open.doc.refresh();
        Ok(())
    }

    fn merged(&mut self, team: &TeamId) {
        if let Some(open) = self.teams.get_mut(team) {
            open.doc.refresh_after_merge();
        } else if let Some(open) = self.notes.get_mut(team) {
            open.doc.refresh();
        }
    }

    fn signer(&mut self, team: &TeamId, actor: &ActorId) -> Signer {
        if let Some(open) = self.teams.get(team) {
            return signed::signer_in(open.doc.team(), actor).0;
        }
        // Private notes: only my own devices write them.
        let Some(open) = self.notes.get(team).and_then(|n| self.teams.get(&n.team)) else {
            return Signer::Unknown;
        };
        match signed::signer_in(open.doc.team(), actor) {
            (Signer::Member(device), Some(member)) if open.doc.me() != Some(&member) => {
                Signer::NotAMember(device)
            }
            (signer, _) => signer,
        }
    }

    fn guard(
        &mut self,
        team: &TeamId,
        changes: &[&Change],
    ) -> Vec<Result<(), crate::sync::Refusal>> {
        // A notes document is its member's alone: its own devices write it as they like.
        let Some(open) = self.teams.get(team) else {
            return vec![Ok(()); changes.len()];
        };
        let mut rules = crate::sync::screen::Rules::of(open.doc.automerge_ref(), open.doc.team());
        changes.iter().map(|c| rules.check(c)).collect()
    }

    fn can_set_aside(&self, team: &TeamId) -> bool {
        self.teams.contains_key(team)
    }

    fn set_aside(
        &mut self,
        team: &TeamId,
        losers: &HashSet<ChangeHash>,
    ) -> Result<versions::Report, versions::SetAsideError> {
        let save = |e: StoreError| versions::SetAsideError::Save(e.to_string());
        let mine = peercoach_core::device_key_of(&self.session);
        let Some(open) = self.teams.get_mut(team) else {
            return Ok(versions::Report::default());
        };
        let doc = open.doc.automerge();
        let left = versions::left_out(doc, losers)?;
        let own = left
            .changes()
            .any(|c| mine.is_some() && peercoach_core::device_key_of(c.actor_id()) == mine);
        // This device's own edits are made again under a new session: its old one has
        // changes that others may hold and this device no longer will.
        if own {
            let nonce = self.data.renew_session_nonce().map_err(save)?;
            self.left_sessions.insert(self.session.clone());
            let key = iroh_base::SecretKey::from_bytes(&self.identity.secret_key).public();
            self.session = peercoach_core::session_actor(key.as_bytes(), nonce);
            for open in self.teams.values_mut() {
                open.doc.write_as_session(self.session.clone());
            }
            for open in self.notes.values_mut() {
                open.doc.automerge().set_actor(self.session.clone());
            }
        }
        let Some(open) = self.teams.get_mut(team) else {
            return Ok(versions::Report::default());
        };
        let mut built = versions::without(
            open.doc.automerge(),
            &left,
            |actor| mine.is_some() && peercoach_core::device_key_of(actor) == mine,
            self.session.clone(),
        )?;
        open.store.compact(&mut built.doc).map_err(save)?;
        // Read again from disk, as at a start: the model, the view, the signatures.
        self.teams.remove(team);
        self.load(team)
            .map_err(|e| versions::SetAsideError::Save(e.to_string()))?;
        tracing::warn!(
            team = %team.short(),
            left_out = built.report.left_out,
            redone = built.report.redone,
            lost = built.report.lost,
            "set aside a second version of a change and what was built on it"
        );
        Ok(built.report)
    }

    fn signatures(&mut self, team: &TeamId) -> Option<&mut Signatures> {
        match self.teams.get_mut(team) {
            Some(open) => Some(&mut open.signatures),
            None => self.notes.get_mut(team).map(|open| &mut open.signatures),
        }
    }

    fn arriving(&mut self, _team: &TeamId, changes: &[Change]) {
        let mine = peercoach_core::device_key_of(&self.session);
        // A session of this device other than this one, writing since this engine opened:
        // only a copy of this data dir running elsewhere makes those. (What an earlier
        // session of this device wrote is on this disk already, unless the disk lost
        // it; then it comes back written before this engine opened.)
        let copy = changes.iter().find(|c| {
            c.actor_id() != &self.session
                && !self.left_sessions.contains(c.actor_id())
                && peercoach_core::device_key_of(c.actor_id()) == mine
                && c.timestamp() >= self.opened_s
        });
        if let Some(c) = copy
            && self.another_copy.is_none()
        {
            tracing::warn!(
                session = %c.actor_id(),
                "another copy of this device is running: it writes as this device at the same time"
            );
            self.another_copy = Some(c.actor_id().clone());
        }
    }
}

/// The saved signatures of a document's changes; none when the file is missing, and
/// none with a warning when it cannot be read (what they covered is signed again by its
/// authors when they send it).
fn load_signatures(store: &TeamStore, warnings: &mut Vec<String>) -> Signatures {
    let Some(bytes) = store.signatures() else {
        return Signatures::default();
    };
    Signatures::decode(&bytes).unwrap_or_else(|| {
        let w = format!(
            "{}: the saved signatures could not be read; starting without them",
            store.dir().display()
        );
        tracing::warn!("{w}");
        warnings.push(w);
        Signatures::default()
    })
}

/// Whether two documents start from the same genesis change.
pub fn shares_genesis(ours: &mut AutoCommit, theirs: &mut AutoCommit) -> bool {
    let genesis = ours
        .get_changes(&[])
        .into_iter()
        .find(|c| c.deps().is_empty())
        .map(|c| c.hash());
    genesis.is_some_and(|g| theirs.get_change_by_hash(&g).is_some())
}

/// Resolves what a user typed to an id.
pub fn resolve(team: &Team, r: &Ref) -> Result<String, EngineError> {
    let text = r.text.trim();
    let lower = text.to_lowercase();
    let err = |reason: String| EngineError::Resolve {
        kind: r.kind.noun(),
        text: text.to_owned(),
        reason,
    };
    if text.is_empty() {
        return Err(err("is empty".into()));
    }
    // A whole id needs no search: it is there or it is not (a whole id is nobody's prefix).
    let whole = |present: Option<bool>| match present {
        Some(true) => Some(Ok(lower.clone())),
        Some(false) => Some(Err(err(format!("no such {} in this team", r.kind.noun())))),
        None => None,
    };
    let exact = match r.kind {
        RefKind::Member => peercoach_core::MemberId::parse(text)
            .ok()
            .filter(|id| team.members.get(id).is_some_and(|m| m.is_current()))
            .map(|id| Ok(id.to_string())),
        RefKind::Request => whole(
            peercoach_core::RequestId::parse(text)
                .ok()
                .map(|id| team.requests.contains_key(&id)),
        ),
        RefKind::Offer => whole(
            peercoach_core::OfferId::parse(text)
                .ok()
                .map(|id| team.offers.contains_key(&id)),
        ),
        _ => None,
    };
    if let Some(result) = exact {
        return result;
    }
    let ids: Vec<(String, String)> = match r.kind {
        RefKind::Member => team
            .members
            .values()
            .filter(|m| m.is_current())
            .map(|m| (m.id.to_string(), m.name.clone()))
            .collect(),
        RefKind::Request => team
            .requests
            .values()
            .map(|x| (x.id.to_string(), x.title.clone()))
            .collect(),
        RefKind::Offer => team
            .offers
            .values()
            .map(|x| (x.id.to_string(), x.topic.clone()))
            .collect(),
        RefKind::Session => team
            .sessions
            .values()
            .filter(|s| s.deleted_ms.is_none())
            .map(|x| (x.id.to_string(), x.topic.clone()))
            .collect(),
        RefKind::Duty => team
            .duties
            .values()
            .filter(|d| d.deleted_ms.is_none())
            .map(|x| (x.id.to_string(), x.title.clone()))
            .collect(),
        // A follow-up resolves to `session/follow-up`: commands need both.
        RefKind::FollowUp => team
            .sessions
            .values()
            .filter(|s| s.deleted_ms.is_none())
            .flat_map(|s| s.followups.iter().map(move |u| (s, u)))
            .map(|(s, u)| (u.id.to_string(), format!("{}/{}", s.id, u.text)))
            .collect(),
    };

    // Only members are named by name: other records by (a prefix of) their id.
    let by_name = r.kind == RefKind::Member;
    let found = peercoach_core::ids::matching(
        text,
        &ids,
        |(id, _)| id.as_str(),
        |(_, name)| by_name.then_some(name.as_str()),
    );
    match found.as_slice() {
        [one] if r.kind == RefKind::FollowUp => {
            let session = one.1.split('/').next().unwrap_or_default();
            Ok(format!("{session}/{}", one.0))
        }
        [one] => Ok(one.0.clone()),
        [] => Err(err(format!("no such {} in this team", r.kind.noun()))),
        many => Err(err(format!(
            "matches {} {}s ({}); use more of the id",
            many.len(),
            r.kind.noun(),
            many.iter()
                .map(|(id, label)| format!("{} {label}", &id[..8]))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Answers a query about a team: from its current view, its document (heads), its
/// invites or my private notes.
fn answer(engine: &mut Engine, team: Option<&TeamId>, query: Query) -> Result<Reply, EngineError> {
    let now_ms = engine.env.now_ms();
    let calendar_path = engine.data.calendar_path().display().to_string();
    if query
        == (Query::Calendar {
            what: CalendarWhat::All,
        })
    {
        return Ok(Reply::Calendar {
            path: calendar_path,
            ics: engine.calendar()?,
        });
    }
    let id = engine.select(team)?;
    let doc = &mut engine.open_team(&id)?.doc;
    let me = doc.me().cloned();
    let me = me.as_ref();
    // Shared, not copied: the arms below that ask the engine for more (invites, notes)
    // cannot hold a borrow of the document at the same time.
    let team = doc.shared_team();
    let team = &*team;
    Ok(match query {
        Query::Board { at_ms } => {
            let at = at_ms.unwrap_or(now_ms);
            Reply::Board {
                rows: views::board_at(team, at),
                at_ms: at,
            }
        }
        Query::Closed => Reply::Closed {
            rows: views::closed(team),
        },
        Query::Inbox => Reply::Inbox {
            inbox: Box::new(
                me.map(|me| views::inbox(team, me, now_ms))
                    .unwrap_or_default(),
            ),
        },
        Query::Metrics {
            window_days,
            min_contributors,
        } => Reply::Metrics {
            metrics: Box::new(metrics::compute(
                team,
                now_ms,
                MetricsConfig {
                    window_days,
                    min_contributors,
                },
            )),
        },
        Query::History { limit } => Reply::History {
            items: views::history(team).into_iter().take(limit).collect(),
        },
        Query::Members => Reply::Members {
            members: team
                .current_members()
                .into_iter()
                .map(|m| MemberRow {
                    id: m.id.to_string(),
                    name: m.name.clone(),
                    skills: m.skills.iter().map(|(s, l)| (s.clone(), *l)).collect(),
                    wants_to_learn: m.wants.iter().cloned().collect(),
                    availability: m.availability.clone(),
                    snoozed_until_ms: m.snoozed_until_ms.filter(|t| *t > now_ms),
                    devices: m.devices.iter().filter(|d| d.trusted).count(),
                    me: Some(&m.id) == me,
                })
                .collect(),
        },
        Query::Devices => Reply::Devices {
            devices: me
                .and_then(|me| team.members.get(me))
                .map(|m| {
                    m.devices
                        .iter()
                        .filter(|d| d.trusted)
                        .map(|d| DeviceRow {
                            actor: d.actor.clone(),
                            label: d.label.clone(),
                            added_ms: d.added_ms,
                            endpoint: d.endpoint,
                            this_device: &d.actor == doc.actor(),
                            removed_ms: d.removed_ms,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        },
        Query::Sessions => Reply::Sessions {
            sessions: views::session_rows(team),
        },
        Query::Skills => Reply::Skills {
            skills: views::skill_map(team),
        },
        Query::Suggest { request } => Reply::Suggestions {
            suggestions: peercoach_core::suggest::suggest(team, &request, now_ms),
        },
        Query::MeetTimes { offer } => {
            let o = team
                .offers
                .get(&offer)
                .ok_or_else(|| CommandError::NotFound {
                    kind: "offer",
                    id: offer.to_string(),
                })?;
            Reply::Times {
                times: peercoach_core::free_time::suggest(
                    team,
                    &o.from,
                    &o.to,
                    peercoach_core::records::meet::DEFAULT_MINUTES,
                    now_ms,
                    &crate::clock::offset_ms,
                    peercoach_core::records::meet::MAX_TIMES,
                ),
            }
        }
        Query::Calendar { what } => {
            let ics = match (what, me) {
                (CalendarWhat::Hour, _) => peercoach_core::calendar::hour_event(
                    &id,
                    &team.name,
                    team,
                    &peercoach_core::calendar::TzDatabase,
                )
                .ok_or(CommandError::InvalidInput {
                    field: "calendar",
                    reason: "the team has no coaching hour yet".into(),
                })?,
                (CalendarWhat::Session(session), Some(me)) => {
                    peercoach_core::calendar::session_event(team, me, &session).ok_or_else(
                        || CommandError::NotFound {
                            kind: "session",
                            id: session.to_string(),
                        },
                    )?
                }
                (CalendarWhat::Session(_), None) => {
                    return Err(CommandError::InvalidInput {
                        field: "calendar",
                        reason: "this device is not a member of the team".into(),
                    }
                    .into());
                }
                (CalendarWhat::All, _) => unreachable!("answered above"),
            };
            Reply::Calendar {
                path: calendar_path,
                ics,
            }
        }
        Query::Duties => Reply::Duties {
            duties: views::backfill(team),
        },
        Query::Rota { week } => {
            let week = week.unwrap_or_else(|| peercoach_core::time::iso_week_key(now_ms));
            Reply::Rota(RotaReply {
                floating: views::rota_week(team, &week),
                asked: team
                    .rota_asks
                    .iter()
                    .filter(|a| a.week == week)
                    .map(|a| {
                        format!(
                            "{} (asked by {})",
                            team.name_of(&a.member),
                            team.name_of(&a.by)
                        )
                    })
                    .collect(),
                week,
                coaching_hour: team.coaching_hour.as_ref().map(|h| {
                    h.next_start(now_ms, &peercoach_core::calendar::TzDatabase)
                        .map_or_else(|| h.describe(), |start| h.describe_at(start))
                }),
                hour: team.coaching_hour.clone(),
            })
        }
        Query::Invites => Reply::Invites {
            invites: crate::join::invites(engine, &id)?,
        },
        Query::Notes => Reply::Notes {
            notes: engine.notes(&id)?.doc.notes().to_vec(),
        },
        Query::Trash => {
            let notes = match me {
                Some(_) => engine.notes(&id)?.doc.trashed().to_vec(),
                None => Vec::new(),
            };
            Reply::Trash {
                items: peercoach_core::trash::list(team, me, &notes, now_ms),
            }
        }
        Query::Search { words, per_kind } => {
            let notes = match me {
                Some(_) => engine.notes(&id)?.doc.notes().to_vec(),
                None => Vec::new(),
            };
            Reply::Search {
                groups: peercoach_core::search::Index::new(team, &notes, me).find(&words, per_kind),
            }
        }
        Query::Heads => {
            let mut heads: Vec<String> = doc.heads().iter().map(ToString::to_string).collect();
            heads.sort();
            Reply::Heads { heads }
        }
        Query::Offers => {
            let mut offers: Vec<_> = team
                .offers
                .values()
                .map(|o| views::offer_row(team, o, me))
                .collect();
            offers.sort_by_key(|o| std::cmp::Reverse(o.created_ms));
            Reply::Offers { offers }
        }
    })
}
