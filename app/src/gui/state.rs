//! The GUI's own state: persisted preferences, form drafts, and views derived from the
//! latest team snapshot (recomputed only when the snapshot changes).

use std::collections::BTreeMap;
use std::sync::Arc;

use peercoach_core::metrics::{self, Metrics, MetricsConfig};
use peercoach_core::views::{self, BoardRow, DutyRow, HistoryItem, Inbox, OfferRow, SessionRow};
use peercoach_core::{MemberId, OfferId, RequestId, SessionId, Urgency};
use peercoach_node::TeamSnapshot;
use serde::{Deserialize, Serialize};

/// The screens, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Screen {
    /// Help board.
    #[default]
    Board,
    /// My inbox.
    Inbox,
    /// Coaching sessions.
    Sessions,
    /// Members, skills, coaching hour, rota.
    Team,
    /// Handover / backfill plans.
    Backfill,
    /// Group metrics.
    Dashboard,
    /// Activity history.
    History,
    /// Peers and invites.
    Sync,
    /// Settings.
    Settings,
}

impl Screen {
    /// All screens, in order (Ctrl+1 … Ctrl+9).
    pub const ALL: [Screen; 9] = [
        Self::Board,
        Self::Inbox,
        Self::Sessions,
        Self::Team,
        Self::Backfill,
        Self::Dashboard,
        Self::History,
        Self::Sync,
        Self::Settings,
    ];

    /// Its name in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            Self::Board => "Help board",
            Self::Inbox => "Inbox",
            Self::Sessions => "Sessions",
            Self::Team => "Team",
            Self::Backfill => "Backfill",
            Self::Dashboard => "Dashboard",
            Self::History => "History",
            Self::Sync => "Sync",
            Self::Settings => "Settings",
        }
    }
}

/// What survives a restart of the app (stored by eframe beside the data dir).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// The open screen.
    pub screen: Screen,
    /// Dark theme.
    pub dark: bool,
    /// The open team.
    pub team: Option<String>,
    /// Dashboard window in days.
    pub window_days: i64,
    /// Session list filter text.
    pub session_filter: String,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            screen: Screen::Board,
            dark: true,
            team: None,
            window_days: 28,
            session_filter: String::new(),
        }
    }
}

/// The "I could use help" form.
#[derive(Debug, Clone, Default)]
pub struct AskForm {
    /// Shown.
    pub open: bool,
    /// Title.
    pub title: String,
    /// What I tried.
    pub tried: String,
    /// Comma-separated skills.
    pub skills: String,
    /// Urgency.
    pub urgency: Option<Urgency>,
    /// One person, or the whole team.
    pub to: Option<MemberId>,
}

/// The offer dialog: a question, with advice kept back until a yes.
#[derive(Debug, Clone, Default)]
pub struct OfferForm {
    /// Shown.
    pub open: bool,
    /// On this request…
    pub request: Option<RequestId>,
    /// …or to this person.
    pub to: Option<MemberId>,
    /// Topic (for offers to a person).
    pub topic: String,
    /// Advice, hidden until yes.
    pub message: String,
}

/// The session log form.
#[derive(Debug, Clone, Default)]
pub struct SessionForm {
    /// Shown.
    pub open: bool,
    /// Coach.
    pub coach: Option<MemberId>,
    /// Coachee.
    pub coachee: Option<MemberId>,
    /// Topic.
    pub topic: String,
    /// Minutes (text, validated on submit).
    pub minutes: String,
    /// Notes.
    pub notes: String,
    /// Shared learning.
    pub learning: String,
    /// Skills, comma-separated.
    pub skills: String,
    /// The accepted offer it follows.
    pub offer: Option<OfferId>,
    /// The request it answers.
    pub request: Option<RequestId>,
}

impl SessionForm {
    /// The form opened to log the session an accepted offer led to: the offerer coached,
    /// on its topic, linked to the offer (and its request).
    pub fn after_offer(o: &OfferRow) -> Self {
        Self {
            open: true,
            coach: Some(o.from.clone()),
            coachee: Some(o.to.clone()),
            topic: o.topic.clone(),
            minutes: "30".into(),
            offer: Some(o.id.clone()),
            request: o.request.clone(),
            ..Self::default()
        }
    }
}

/// The invite the Sync screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownInvite {
    /// The ticket text.
    pub ticket: String,
    /// When it expires.
    pub expires_ms: i64,
    /// It links another device of mine.
    pub device: bool,
    /// How this device names it (to find what became of it).
    pub id: String,
}

/// Drafts on the other screens.
#[derive(Clone, Default)]
pub struct Drafts {
    /// Selected request on the board.
    pub selected: Option<RequestId>,
    /// New comment.
    pub comment: String,
    /// Selected session.
    pub selected_session: Option<SessionId>,
    /// Follow-up text per session.
    pub followup: BTreeMap<SessionId, String>,
    /// Thanks text per session.
    pub thanks: BTreeMap<SessionId, String>,
    /// Thanks text per offer I said yes to.
    pub offer_thanks: BTreeMap<OfferId, String>,
    /// Profile name.
    pub name: String,
    /// Availability note.
    pub availability: String,
    /// New skill name.
    pub skill: String,
    /// Its level (0 learning, 1 can do, 2 can coach).
    pub skill_level: usize,
    /// Wants to learn.
    pub want: String,
    /// Coaching hour: weekday, "HH:MM", minutes, note.
    pub hour_day: u32,
    /// Start.
    pub hour_start: String,
    /// Length.
    pub hour_minutes: String,
    /// Note.
    pub hour_note: String,
    /// New duty.
    pub duty: String,
    /// Apprentice picked per duty.
    pub apprentice: BTreeMap<String, Option<MemberId>>,
    /// Past date for the history board.
    pub at_date: String,
    /// History filter.
    pub history_filter: String,
    /// Invite expiry choice (index into the options; the default until one is chosen).
    pub invite_expiry: Option<usize>,
    /// When the ticket was last copied (the button says so for a moment).
    pub copied_at: Option<std::time::Instant>,
    /// The last invite made here, shown until it is used or expires.
    pub invite: Option<ShownInvite>,
    /// What became of this device's invites (polled while one is shown).
    pub invites: Vec<peercoach_node::api::InviteRow>,
    /// QR texture for it.
    pub qr: Option<egui::TextureHandle>,
    /// Member picked for removal.
    pub remove: Option<MemberId>,
    /// The device's app preferences, as read from the node and edited in Settings.
    pub preferences: Option<peercoach_store::Preferences>,
    /// Whether peercoach starts at login (read once, then kept as changed).
    pub autostart: Option<bool>,
    /// Quit was chosen (the app stops after this frame).
    pub quit: bool,
    /// A message to show after this frame.
    pub notice: Option<String>,
    /// An error to show after this frame.
    pub error: Option<String>,
    /// A join is under way, since then.
    pub joining: Option<std::time::Instant>,
    /// Why creating a team failed, shown at the form.
    pub create_error: Option<String>,
    /// Why the last join failed, shown at the form.
    pub join_error: Option<String>,
    /// A private note being written, per subject.
    pub private_note: BTreeMap<crate::gui::screens::notes::About, String>,
    /// The removal confirmation is open.
    pub confirm_remove: bool,
    /// First run: my name.
    pub first_name: String,
    /// First run: team name.
    pub first_team: String,
    /// First run: ticket.
    pub first_ticket: String,
    /// Network settings being edited.
    pub network: Option<peercoach_store::NetworkSettings>,
    /// The network settings as saved (to tell whether the form changed them).
    pub saved_network: Option<peercoach_store::NetworkSettings>,
    /// Relay URL text.
    pub relay_url: String,
    /// Relay token text.
    pub relay_token: String,
    /// Team relay URL text.
    pub team_relay: String,
    /// Team relay token text.
    pub team_relay_token: String,
}

impl std::fmt::Debug for Drafts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drafts")
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

/// Views derived from one version of a team's document.
#[derive(Debug, Default)]
pub struct Derived {
    /// The team, and who I am in it, that they were computed from: a snapshot whose
    /// team did not change (only the private notes did) keeps them.
    source: Option<(Arc<peercoach_core::Team>, Option<MemberId>)>,
    /// When (for waiting times).
    pub at_ms: i64,
    /// Help board.
    pub board: Vec<BoardRow>,
    /// My inbox.
    pub inbox: Inbox,
    /// History, newest first (built when the History screen first needs it).
    history: Option<Vec<HistoryItem>>,
    /// Duties (built when the Backfill screen first needs them).
    duties: Option<Vec<DutyRow>>,
    /// Sessions, newest first, each marked when it reversed an earlier one.
    pub sessions: Vec<SessionRow>,
    /// Pairs who coached each other both ways, most recent first.
    pub pairs: Vec<views::Reciprocal>,
    /// Dashboard figures (computed when the dashboard is shown).
    pub metrics: Option<(i64, Metrics, Vec<Metrics>)>,
    /// The board at a past date.
    pub board_at: Option<(i64, Vec<BoardRow>)>,
}

impl Derived {
    /// Recomputes what depends on the team, if it changed or a minute passed.
    pub fn refresh(&mut self, snap: &Arc<TeamSnapshot>, now_ms: i64) {
        let same = self
            .source
            .as_ref()
            .is_some_and(|(team, me)| Arc::ptr_eq(team, &snap.team) && *me == snap.me);
        if same && now_ms - self.at_ms < 60_000 {
            return;
        }
        let team = &snap.team;
        self.source = Some((snap.team.clone(), snap.me.clone()));
        self.at_ms = now_ms;
        self.board = views::board(team, now_ms);
        self.inbox = snap
            .me
            .as_ref()
            .map(|me| views::inbox(team, me, now_ms))
            .unwrap_or_default();
        self.history = None;
        self.duties = None;
        self.pairs = views::reciprocal_pairs(team);
        self.sessions = views::session_rows(team);
        self.metrics = None;
        self.board_at = None;
    }

    /// The activity history for this snapshot.
    pub fn history(&mut self, snap: &TeamSnapshot) -> &[HistoryItem] {
        self.history
            .get_or_insert_with(|| views::history(&snap.team))
    }

    /// The duties for this snapshot.
    pub fn duties(&mut self, snap: &TeamSnapshot) -> &[DutyRow] {
        self.duties
            .get_or_insert_with(|| views::backfill(&snap.team))
    }

    /// Dashboard figures for a window, computed once per snapshot.
    pub fn metrics(
        &mut self,
        snap: &TeamSnapshot,
        window_days: i64,
    ) -> &(i64, Metrics, Vec<Metrics>) {
        let stale = !matches!(&self.metrics, Some((w, ..)) if *w == window_days);
        if stale {
            self.metrics = None;
        }
        let at_ms = self.at_ms;
        self.metrics.get_or_insert_with(|| {
            let config = MetricsConfig {
                window_days,
                min_contributors: 3,
            };
            let now = metrics::compute(&snap.team, at_ms, config);
            let weekly = metrics::weekly(&snap.team, at_ms, 26, config);
            (window_days, now, weekly)
        })
    }
}

/// Splits "a, b ,c" into tags.
pub fn tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
