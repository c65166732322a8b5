//! One module per screen. Each screen is a struct that owns its filters, selection and
//! drafts, and draws itself with one `ui(&mut self, ui, cx)` from the per-frame [`Cx`];
//! screens never touch each other (they ask the app through the outbox). The modal forms
//! are [`dialogs::Dialogs`], which any screen opens; the welcome screen, drawn before there
//! is a team, takes only the outbox.
//! Adding a screen: its module, a variant of [`Screen`], and a field of [`Screens`].

pub mod backfill;
pub mod board;
pub mod dashboard;
pub mod dialogs;
pub mod first_run;
pub mod history;
pub mod inbox;
pub mod meet;
pub mod notes;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod sync;
pub mod team;

use serde::{Deserialize, Serialize};

use super::app::Cx;

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

/// Every screen's own state, and the dialogs any of them may open.
#[derive(Default)]
pub struct Screens {
    /// Help board.
    pub board: board::Board,
    /// Inbox.
    pub inbox: inbox::Inbox,
    /// Sessions.
    pub sessions: sessions::Sessions,
    /// Team.
    pub team: team::TeamScreen,
    /// Backfill.
    pub backfill: backfill::Backfill,
    /// Dashboard.
    pub dashboard: dashboard::Dashboard,
    /// History.
    pub history: history::History,
    /// Sync.
    pub sync: sync::SyncScreen,
    /// Settings.
    pub settings: settings::Settings,
    /// The welcome screen, before any team.
    pub first_run: first_run::FirstRun,
    /// The modal forms.
    pub dialogs: dialogs::Dialogs,
    /// Search from the top bar.
    pub search: search::Search,
}

impl Screens {
    /// Draws `screen`. Its widgets' ids, and so its scroll positions, are its own: a
    /// screen opens where it was left, not where the last one was scrolled to.
    pub fn ui(&mut self, screen: Screen, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        ui.push_id(screen, |ui| self.screen_ui(screen, ui, cx));
    }

    fn screen_ui(&mut self, screen: Screen, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        match screen {
            Screen::Board => self.board.ui(ui, cx),
            Screen::Inbox => self.inbox.ui(ui, cx),
            Screen::Sessions => self.sessions.ui(ui, cx),
            Screen::Team => self.team.ui(ui, cx),
            Screen::Backfill => self.backfill.ui(ui, cx),
            Screen::Dashboard => self.dashboard.ui(ui, cx),
            Screen::History => self.history.ui(ui, cx),
            Screen::Sync => self.sync.ui(ui, cx),
            Screen::Settings => self.settings.ui(ui, cx),
        }
    }
}
