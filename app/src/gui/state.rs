//! The GUI's own state: persisted preferences, the shapes of the forms, and views derived from the
//! latest team snapshot (recomputed only when the snapshot changes).

use std::sync::Arc;

use std::collections::BTreeMap;

use peercoach_core::alerts::{self, CheckBacks};
use peercoach_core::metrics::{self, Metrics, MetricsConfig};
use peercoach_core::records::meet;
use peercoach_core::views::{self, BoardRow, DutyRow, HistoryItem, Inbox, SessionRow};
use peercoach_core::{MemberId, OfferId, free_time};
use peercoach_node::TeamSnapshot;
use serde::{Deserialize, Serialize};

pub use super::screens::Screen;

/// What survives a restart of the app (stored by eframe beside the data dir).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// The open screen.
    pub screen: Screen,
    /// Dark theme, as apps before the theme choice saved it (read when `theme` is not set).
    pub dark: bool,
    /// Dark, light, or the system's: unset in preferences saved before the choice had a
    /// third answer, which keep their `dark`.
    #[serde(default)]
    pub theme: Option<ThemeChoice>,
    /// The open team.
    pub team: Option<String>,
    /// Dashboard window in days.
    pub window_days: i64,
    /// Session list filter text.
    pub session_filter: String,
    /// Inbox prompts dismissed after a session, as `thank:<session>` and
    /// `resolve:<session>` (this device's choice, like the rest of these).
    #[serde(default)]
    pub dismissed: std::collections::BTreeSet<String>,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            screen: Screen::Board,
            dark: true,
            theme: Some(ThemeChoice::System),
            team: None,
            window_days: 28,
            session_filter: String::new(),
            dismissed: std::collections::BTreeSet::new(),
        }
    }
}

/// How long "not yet" puts off "Did you meet?".
pub const ASK_AGAIN_MS: i64 = 3 * peercoach_core::time::DAY_MS;

/// An inbox prompt after a session that a person can dismiss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dismissed {
    /// "Thank your coach".
    Thank,
    /// "Resolve your request".
    Resolve,
}

impl Dismissed {
    fn key(self, session: &peercoach_core::SessionId) -> String {
        let kind = match self {
            Self::Thank => "thank",
            Self::Resolve => "resolve",
        };
        format!("{kind}:{session}")
    }
}

impl Prefs {
    /// Whether this prompt was dismissed for `session`.
    pub fn dismissed(&self, what: Dismissed, session: &peercoach_core::SessionId) -> bool {
        self.dismissed.contains(&what.key(session))
    }

    /// Dismisses this prompt for `session`.
    pub fn dismiss(&mut self, what: Dismissed, session: &peercoach_core::SessionId) {
        self.dismissed.insert(what.key(session));
    }

    /// The theme chosen.
    pub fn theme(&self) -> ThemeChoice {
        self.theme.unwrap_or(if self.dark {
            ThemeChoice::Dark
        } else {
            ThemeChoice::Light
        })
    }
}

/// The theme a person chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    /// Whatever the system is set to, following it when it changes.
    System,
    /// Light text on dark.
    Dark,
    /// Dark text on light.
    Light,
}

impl ThemeChoice {
    /// Its name in Settings.
    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Follow the system",
            Self::Dark => "Dark",
            Self::Light => "Light",
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

/// Views derived from one version of a team's document.
#[derive(Debug, Default)]
pub struct Derived {
    /// The node's latest sync status for the open team.
    pub status: Option<peercoach_node::api::StatusReply>,
    /// The team, and who I am in it, that they were computed from: a snapshot whose
    /// team did not change (only the private notes did) keeps them.
    source: Option<(Arc<peercoach_core::Team>, Option<MemberId>)>,
    /// When (for waiting times).
    pub at_ms: i64,
    /// This frame's time (never before `at_ms`).
    pub now_ms: i64,
    /// Help board.
    pub board: Vec<BoardRow>,
    /// My inbox.
    pub inbox: Inbox,
    /// History, newest first (built when the History screen first needs it).
    history: Option<Vec<HistoryItem>>,
    /// Each record's lines in `history`, oldest first.
    history_of: Option<std::collections::HashMap<peercoach_core::RecordId, Vec<usize>>>,
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
    /// How long the check-backs wait, as this device's preferences set them.
    pub checks: CheckBacks,
    /// Asks raised to me for waiting with no offer.
    pub unanswered: Vec<BoardRow>,
    /// Times that suit both people of each accepted offer I am in.
    pub meet_times: BTreeMap<OfferId, Vec<i64>>,
}

impl Derived {
    /// Sets the check-backs' waits; the views that depend on them are made again.
    pub fn set_checks(&mut self, checks: CheckBacks) {
        if checks != self.checks {
            self.checks = checks;
            self.source = None;
        }
    }

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
        self.history_of = None;
        self.duties = None;
        self.pairs = views::reciprocal_pairs(team);
        self.sessions = views::session_rows(team);
        self.metrics = None;
        self.board_at = None;
        self.unanswered = snap
            .me
            .as_ref()
            .map(|me| alerts::unanswered(team, me, now_ms, &self.checks))
            .unwrap_or_default();
        self.meet_times = self
            .inbox
            .accepted_offers
            .iter()
            .chain(&self.inbox.agreed)
            .map(|o| {
                let times = free_time::suggest(
                    team,
                    &o.from,
                    &o.to,
                    meet::DEFAULT_MINUTES,
                    now_ms,
                    &crate::local::offset_ms,
                    meet::MAX_TIMES,
                );
                (o.id.clone(), times)
            })
            .collect();
    }

    /// Whether an open request has waited long enough with no offer to be raised.
    pub fn raised(&self, row: &BoardRow) -> bool {
        row.to.is_none()
            && row.no_offer_since.is_some_and(|since| {
                self.checks
                    .unanswered_due(since, self.now_ms.max(self.at_ms))
            })
    }

    /// One record's own history lines, oldest first (indexed once per snapshot).
    pub fn history_of(
        &mut self,
        snap: &TeamSnapshot,
        record: &peercoach_core::RecordId,
    ) -> Vec<HistoryItem> {
        if self.history_of.is_none() {
            let mut index: std::collections::HashMap<_, Vec<usize>> = Default::default();
            for (i, h) in self.history(snap).iter().enumerate().rev() {
                if let Some(r) = &h.record {
                    index.entry(r.clone()).or_default().push(i);
                }
            }
            self.history_of = Some(index);
        }
        let lines = self
            .history_of
            .as_ref()
            .and_then(|index| index.get(record))
            .cloned()
            .unwrap_or_default();
        let history = self.history(snap);
        lines
            .iter()
            .filter_map(|&i| history.get(i).cloned())
            .collect()
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
