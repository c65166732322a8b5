//! The command API: typed requests and replies shared by the CLI, the GUI and the local
//! control socket (where they travel as one JSON object per line).

pub mod call;

use serde::{Deserialize, Serialize};

use peercoach_core::export::{CsvTable, ImportReport};
use peercoach_core::metrics::Metrics;
use peercoach_core::views::{BoardRow, DutyRow, HistoryItem, Inbox, SessionRow, SkillRow};
use peercoach_core::{Command, SkillLevel, TeamId};

/// What kind of record a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// A member: id, unique id prefix, or unique name.
    Member,
    /// A request: id or unique id prefix.
    Request,
    /// An offer.
    Offer,
    /// A session.
    Session,
    /// A duty.
    Duty,
    /// A follow-up (searched across sessions).
    FollowUp,
}

impl RefKind {
    /// For messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Request => "request",
            Self::Offer => "offer",
            Self::Session => "session",
            Self::Duty => "duty",
            Self::FollowUp => "follow-up",
        }
    }
}

/// Something a user typed that names a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    /// Kind.
    pub kind: RefKind,
    /// Text as typed.
    pub text: String,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ExportFormat {
    /// Our JSON.
    Json,
    /// One table as CSV.
    Csv,
    /// A Markdown report.
    Md,
    /// A standard Automerge save file of the whole document.
    Automerge,
}

/// Which iCalendar file to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CalendarWhat {
    /// The device's whole calendar: every team's coaching hour, my scheduled sessions and
    /// my follow-ups with a due date.
    All,
    /// One session.
    Session(peercoach_core::SessionId),
    /// The team's coaching hour, weekly.
    Hour,
}

/// A read-only question about the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "query", rename_all = "kebab-case")]
pub enum Query {
    /// The help board, now or as it stood at a time.
    Board {
        /// Past time, or now.
        at_ms: Option<i64>,
    },
    /// Resolved and withdrawn requests, the most recently closed first.
    Closed,
    /// My inbox.
    Inbox,
    /// Group metrics.
    Metrics {
        /// Window.
        window_days: i64,
        /// Minimum contributors.
        min_contributors: usize,
    },
    /// Activity history, newest first.
    History {
        /// At most this many.
        limit: usize,
    },
    /// Members with skills.
    Members,
    /// My devices in the team.
    Devices,
    /// Sessions, newest first.
    Sessions,
    /// The skill map.
    Skills,
    /// Who could help with an open request, and why.
    Suggest {
        /// The request.
        request: peercoach_core::RequestId,
    },
    /// Everything I may read that has every word in it, grouped by kind.
    Search {
        /// The words.
        words: String,
        /// The most results of each kind.
        per_kind: usize,
    },
    /// Times the two people of an accepted offer could meet, suggested.
    MeetTimes {
        /// The offer.
        offer: peercoach_core::OfferId,
    },
    /// An iCalendar file: the device's whole calendar (every team), one session, or the
    /// team's coaching hour; with the path of the device's calendar file.
    Calendar {
        /// Which.
        what: CalendarWhat,
    },
    /// Duties and backfill.
    Duties,
    /// The helper rota for a week (default: this week), and the coaching hour.
    Rota {
        /// ISO week.
        week: Option<String>,
    },
    /// Offers, newest first, as I may see them.
    Offers,
    /// The document's heads (change hashes, sorted): equal heads, equal documents.
    Heads,
    /// My private notes in the team, newest first (only this member's devices hold them).
    Notes,
    /// What I may restore: sessions, duties and private notes deleted in the last 30 days.
    Trash,
    /// The invites this device made for the team, and what became of each (needs a
    /// running node, which answers the joins).
    Invites,
}

/// A request to the engine or node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    /// Create the identity (if none) and a new team.
    Init {
        /// My display name.
        name: String,
        /// Team name.
        team_name: String,
    },
    /// Teams in this data dir.
    Teams,
    /// Find a team by what a person typed (its id, an id prefix or its name), once: the
    /// requests that act on a team name it by id.
    SelectTeam {
        /// As typed.
        team: String,
    },
    /// Make a team the default.
    UseTeam {
        /// Id, prefix or name.
        team: String,
    },
    /// Resolve what the user typed to ids.
    Resolve {
        /// Team (default: current).
        team: Option<TeamId>,
        /// References.
        refs: Vec<Ref>,
    },
    /// Apply a command.
    Apply {
        /// Team.
        team: Option<TeamId>,
        /// Command.
        command: Command,
    },
    /// Ask a question.
    Query {
        /// Team.
        team: Option<TeamId>,
        /// Question.
        query: Query,
    },
    /// Export the team.
    Export {
        /// Team.
        team: Option<TeamId>,
        /// Format.
        format: ExportFormat,
        /// CSV table.
        table: Option<CsvTable>,
        /// Include my private notes (JSON only). They are never exported unless asked.
        #[serde(default)]
        private_notes: bool,
    },
    /// Read (and with `set`, replace) this device's network settings. They take effect
    /// the next time the node starts.
    Network {
        /// New settings.
        set: Option<peercoach_store::NetworkSettings>,
    },
    /// Read (and with `set`, replace) how the desktop app behaves on this device.
    Preferences {
        /// New preferences.
        set: Option<peercoach_store::Preferences>,
    },
    /// Open the desktop app's window (on a record, if given), in the app running on this
    /// data dir. A headless node (`serve`) has no window and says so.
    ShowWindow {
        /// Where to open it.
        show: Option<Show>,
    },
    /// Stop the app (or `serve`) running on this data dir, as its Quit does.
    Quit,
    /// Drop every connection to teammates' devices and dial them again (needs a running
    /// node): what to try after the network changed, or when a peer's sync seems stuck.
    Reconnect,
    /// Peers and sync state (needs a running node).
    Status {
        /// Team.
        team: Option<TeamId>,
    },
    /// Make a one-time invite ticket (needs a running node to answer the join).
    Invite {
        /// Team.
        team: Option<TeamId>,
        /// How long it stays valid.
        expires_in_ms: i64,
        /// Link another device of mine instead of inviting a new member.
        device: bool,
    },
    /// Join a team with a ticket.
    Join {
        /// The ticket text.
        ticket: String,
        /// My display name (or, for a linked device, its label).
        name: String,
    },
    /// Write a private note: only my own devices ever hold it.
    AddNote {
        /// Team.
        team: Option<TeamId>,
        /// The note.
        text: String,
        /// The session it is about (a whole id).
        on_session: Option<String>,
        /// The request it is about (a whole id).
        on_request: Option<String>,
    },
    /// Delete one of my private notes (it stays in the trash for 30 days).
    DeleteNote {
        /// Team.
        team: Option<TeamId>,
        /// The note's whole id.
        note: String,
    },
    /// Take one of my private notes out of the trash.
    RestoreNote {
        /// Team.
        team: Option<TeamId>,
        /// The note's whole id.
        note: String,
    },
    /// Stop a join that is under way (it answers with an error saying it was cancelled).
    CancelJoin,
    /// Import a file's bytes (Automerge save or JSON export).
    Import {
        /// Team.
        team: Option<TeamId>,
        /// File contents, base64.
        bytes_b64: String,
    },
}

/// Where the window opens: a team, and a record in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Show {
    /// The team.
    pub team: String,
    /// The record.
    pub target: ShowTarget,
}

/// A record to open the window on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum ShowTarget {
    /// A request on the board.
    Request(String),
    /// An offer, in the inbox.
    Offer(String),
    /// A session.
    Session(String),
    /// The inbox.
    Inbox,
    /// The help board.
    Board,
    /// The Sync screen (devices, invites, removals).
    Sync,
    /// The Team screen.
    Team,
}

/// An invite this device made, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRow {
    /// How this device names it (as [`Reply::Invited`] did).
    pub invite: String,
    /// It links another device of mine.
    pub device: bool,
    /// Made at.
    pub created_ms: i64,
    /// Expires at.
    pub expires_ms: i64,
    /// The member whose device used it.
    pub used_by_name: Option<String>,
    /// When.
    pub used_ms: Option<i64>,
}

/// A team in this data dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamEntry {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The default team.
    pub current: bool,
    /// My member id in it.
    pub me: Option<String>,
    /// Members.
    pub members: usize,
}

/// A member as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Skills.
    pub skills: Vec<(String, SkillLevel)>,
    /// Wants to learn.
    pub wants_to_learn: Vec<String>,
    /// Availability note.
    pub availability: String,
    /// Snoozed until.
    pub snoozed_until_ms: Option<i64>,
    /// Devices.
    pub devices: usize,
    /// This is me.
    pub me: bool,
}

/// One of my devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRow {
    /// Its Automerge actor (how a removal names it).
    pub actor: peercoach_core::ActorHex,
    /// Its label.
    pub label: String,
    /// When it was linked.
    pub added_ms: i64,
    /// Its endpoint id, if the record names one.
    pub endpoint: Option<peercoach_net::DeviceId>,
    /// The device answering.
    pub this_device: bool,
    /// When it was removed, if it was.
    pub removed_ms: Option<i64>,
}

/// The rota for a week plus the coaching hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotaReply {
    /// Week key.
    pub week: String,
    /// Floating helpers.
    pub floating: Vec<String>,
    /// Asked to float, not answered yet: "Ben (asked by Ana)".
    #[serde(default)]
    pub asked: Vec<String>,
    /// Coaching hour, described (in UTC).
    pub coaching_hour: Option<String>,
    /// The coaching hour itself, for a reader to show on its own clock (absent from
    /// nodes older than it).
    #[serde(default)]
    pub hour: Option<peercoach_core::CoachingHour>,
}

/// One peer device in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Member id.
    pub member: String,
    /// Member name.
    pub name: String,
    /// The device (its endpoint id, as hex in JSON).
    pub endpoint_id: peercoach_net::DeviceId,
    /// A live connection exists.
    pub connected: bool,
    /// When a sync message last arrived from it.
    pub last_synced_ms: Option<i64>,
    /// Its heads include all of mine: it has every change I have.
    pub has_all_my_changes: bool,
    /// How the connection runs: `"direct"`, `"relay"`, or `None` when not connected.
    pub path: Option<String>,
    /// Round-trip time of that path, where known.
    pub rtt_ms: Option<u64>,
    /// The direct addresses it last published in its member record.
    #[serde(default)]
    pub addrs: Vec<String>,
    /// The relay it is reached through now, when the path is relayed; else the one it
    /// last published.
    #[serde(default)]
    pub relay_url: Option<String>,
    /// The relay it last published in its member record (its home relay then).
    #[serde(default)]
    pub published_relay: Option<String>,
    /// Ticks in a row (one every 2 s) that sync with it, while connected and not in
    /// step, has made no progress; 0 while in step or moving. At
    /// [`crate::sync::STALL_TICKS`] its sync state is reset and starts again.
    #[serde(default)]
    pub no_progress_ticks: u32,
    /// The latest changes this device sent that were refused before they were applied
    /// (over the limits, or on top of one that was), with why.
    #[serde(default)]
    pub refused: Vec<crate::sync::RefusedChange>,
    /// It runs an app older than signed changes (it speaks `peercoach/sync/1`): it gets
    /// every change, and its own edits are refused until it updates.
    #[serde(default)]
    pub older_app: bool,
}

/// One relay of this device's list, in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayStatus {
    /// Its URL.
    pub url: String,
    /// This device's home relay: where teammates reach it.
    pub home: bool,
    /// Whether it answered the device's latest check (`None`: not checked yet).
    pub answers: Option<bool>,
    /// One of n0's public relays, taken because none of the list answered.
    #[serde(default)]
    pub fallback: bool,
    /// It refused this device (why, as the relay said): left out until the settings or
    /// the team's list change.
    #[serde(default)]
    pub refused: Option<String>,
}

/// `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReply {
    /// This device (its endpoint id, as hex in JSON).
    pub endpoint_id: peercoach_net::DeviceId,
    /// This device's direct addresses.
    pub addrs: Vec<String>,
    /// The relay this device is reachable through now (its home relay), if any.
    #[serde(default)]
    pub relay_url: Option<String>,
    /// Every relay this device keeps in its list, home first, and whether each answers.
    #[serde(default)]
    pub relays: Vec<RelayStatus>,
    /// The network mode in effect (`anywhere`, `team-relay`, `local`, `loopback`).
    #[serde(default)]
    pub mode: String,
    /// Why the relay cannot be used, when it cannot.
    #[serde(default)]
    pub relay_problem: Option<String>,
    /// The relays the team lists for all its members.
    #[serde(default)]
    pub team_relays: Vec<String>,
    /// The team shown.
    pub team: Option<String>,
    /// Peers: every trusted device of the team's other members (and my other devices).
    pub peers: Vec<PeerStatus>,
    /// Another copy of this device (its data dir restored from a backup or copied) has
    /// written while this one runs. Both keep working, but they compete for the same
    /// connections: one of them should stop.
    #[serde(default)]
    pub another_copy_running: bool,
}

/// A successful reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub enum Reply {
    /// A command was applied (and is on disk).
    Done {
        /// New record id.
        created: Option<peercoach_core::RecordId>,
        /// What happened.
        summary: String,
    },
    /// A team was created.
    TeamCreated {
        /// Team id.
        team_id: String,
        /// My member id.
        member_id: String,
    },
    /// Teams.
    Teams {
        /// Entries.
        teams: Vec<TeamEntry>,
    },
    /// The team a person's text named.
    Selected {
        /// Its id.
        team_id: TeamId,
    },
    /// Resolved ids, in order.
    Resolved {
        /// Ids.
        ids: Vec<String>,
    },
    /// The board.
    Board {
        /// Rows.
        rows: Vec<BoardRow>,
        /// As of.
        at_ms: i64,
    },
    /// Closed requests.
    Closed {
        /// Rows.
        rows: Vec<peercoach_core::views::ClosedRow>,
    },
    /// My inbox.
    Inbox {
        /// Inbox.
        inbox: Box<Inbox>,
    },
    /// Metrics.
    Metrics {
        /// Figures.
        metrics: Box<Metrics>,
    },
    /// History.
    History {
        /// Items.
        items: Vec<HistoryItem>,
    },
    /// Members.
    Members {
        /// Rows.
        members: Vec<MemberRow>,
    },
    /// My devices.
    Devices {
        /// Rows.
        devices: Vec<DeviceRow>,
    },
    /// Sessions.
    Sessions {
        /// Rows.
        sessions: Vec<SessionRow>,
    },
    /// Skill map.
    Skills {
        /// Rows.
        skills: Vec<SkillRow>,
    },
    /// Who could help with a request, best first.
    Suggestions {
        /// Up to three teammates.
        suggestions: Vec<peercoach_core::suggest::Suggestion>,
    },
    /// Search results.
    Search {
        /// By kind, each newest first.
        groups: Vec<peercoach_core::search::Group>,
    },
    /// Suggested times, earliest first.
    Times {
        /// Instants.
        times: Vec<i64>,
    },
    /// An iCalendar file.
    Calendar {
        /// The device's calendar file, kept current by the node.
        path: String,
        /// The iCalendar text asked for.
        ics: String,
    },
    /// Duties.
    Duties {
        /// Rows.
        duties: Vec<DutyRow>,
    },
    /// Rota.
    Rota(RotaReply),
    /// Document heads.
    Heads {
        /// Sorted change hashes.
        heads: Vec<String>,
    },
    /// Offers.
    Offers {
        /// Rows.
        offers: Vec<peercoach_core::views::OfferRow>,
    },
    /// Exported bytes.
    Exported {
        /// Base64.
        bytes_b64: String,
    },
    /// Network settings.
    Network(peercoach_store::NetworkSettings),
    /// Sync status.
    Status(StatusReply),
    /// An invite.
    Invited {
        /// The ticket text.
        ticket: String,
        /// When it expires.
        expires_ms: i64,
        /// How this device names the invite (see [`Query::Invites`]).
        #[serde(default)]
        invite: String,
    },
    /// The invites this device made, newest first.
    Invites {
        /// Each with what became of it.
        invites: Vec<InviteRow>,
    },
    /// Joined a team.
    Joined {
        /// Team id.
        team_id: String,
        /// Team name.
        team_name: String,
        /// My member id.
        member_id: String,
    },
    /// Import result.
    Imported {
        /// Report.
        report: ImportReport,
    },
    /// How the desktop app behaves.
    Preferences(peercoach_store::Preferences),
    /// My private notes.
    Notes {
        /// Newest first.
        notes: Vec<peercoach_core::notes::Note>,
    },
    /// What I may restore.
    Trash {
        /// Most recently deleted first.
        items: Vec<peercoach_core::trash::Trashed>,
    },
}

/// Encodes bytes for a JSON message.
pub fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

/// Decodes bytes from a JSON message.
pub fn unb64(s: &str) -> Result<Vec<u8>, String> {
    data_encoding::BASE64
        .decode(s.as_bytes())
        .map_err(|e| format!("bad base64: {e}"))
}
