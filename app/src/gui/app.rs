//! The desktop app: one-way data flow. Each frame, `logic` takes in what the node
//! reported (replies, change events, the latest team snapshot); `ui` draws from that
//! state and queues typed requests, which are sent to the node after drawing. Nothing
//! here waits on disk or network.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use egui::{Key, KeyboardShortcut, Modifiers, RichText};
use peercoach_core::{DutyId, Env, MemberId, OfferId, RequestId, SessionId, SystemEnv, TeamId};

use super::state::ASK_AGAIN_MS;
use peercoach_node::api::call::{self, Call, query, reply_of};
use peercoach_node::api::{Request, Show, ShowTarget};
use peercoach_node::{ApiResult, NodeEvent, NodeHandle, TeamSnapshot};
use tokio::sync::{broadcast, oneshot};

use super::screens;
use super::screens::Screens;
use super::screens::dialogs::{OfferForm, SessionForm};
use super::state::{Derived, Dismissed, Prefs, Screen};
use super::theme::{self, SyncLight};
use super::{Wake, Wakes};

/// Why a request was sent: what to do with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Show this message on success.
    Notice(String),
    /// A status poll.
    Status,
    /// An invite was made.
    Invite {
        /// For linking a device.
        device: bool,
    },
    /// Network settings were read or saved.
    Network,
    /// App preferences were read.
    Preferences,
    /// What became of this device's invites.
    Invites,
    /// A team was created: open it.
    OpenTeam,
    /// A join with a ticket (the first-run screen shows how it went).
    Join,
    /// An iCalendar file to hand to the system's calendar app, saved under this name.
    AddToCalendar(String),
    /// Something that closes, removes or deletes: say so, and offer to take it back
    /// with this request (Undo in the status bar, Ctrl+Z).
    Undoable {
        /// The message on success.
        done: String,
        /// The request that takes it back: a new change, as every change is.
        undo: Box<Request>,
        /// The number of the write, given when it is sent: its undo is offered only if
        /// no write went out after it.
        sent: u64,
    },
    /// What can be restored from the trash (for History's Trash).
    Trash,
}

/// The last action that can be taken back.
#[derive(Debug, Clone)]
pub struct Undo {
    /// The request that takes it back.
    pub request: Request,
    /// What was done ("Resolved").
    pub what: String,
    /// Until when the status bar offers it (Ctrl+Z takes it back after that too, while it
    /// is the last thing done).
    pub until: Instant,
}

/// How long the status bar offers Undo.
const UNDO_SHOWN: Duration = Duration::from_secs(10);

/// A request on its way.
struct Pending {
    rx: oneshot::Receiver<ApiResult>,
    purpose: Purpose,
}

/// A message at the bottom of the window.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Text.
    pub text: String,
    /// An error.
    pub error: bool,
    /// Until.
    pub until: Instant,
}

/// What a screen asks of the app, beyond requests to the node: a dialog to open, a
/// record to show, a message, quitting.
#[derive(Debug, Clone)]
pub enum Action {
    /// Open the "Ask for help" form.
    Ask,
    /// Open the offer form, filled in.
    Offer(OfferForm),
    /// Open the session form, filled in.
    LogSession(SessionForm),
    /// Ask whether to remove this member.
    ConfirmRemove(MemberId),
    /// Go to the board with this request open.
    ShowRequest(RequestId),
    /// Go to Sessions with this session open.
    ShowSession(SessionId),
    /// Go to Backfill with this duty shown.
    ShowDuty(DutyId),
    /// Go to the Inbox (where offers are).
    ShowInbox,
    /// Go to Team.
    ShowTeam,
    /// Say something at the bottom of the window.
    Notice(String),
    /// Say what went wrong at the bottom of the window.
    Error(String),
    /// "Not yet" to "Did you meet?" about this offer: ask again in a few days (a device
    /// preference, which the notifier follows too).
    NotYet(OfferId),
    /// Stop the app, not only its window.
    Quit,
}

/// What one frame asks for: requests to send to the node, and actions for the app. The
/// app carries them out after drawing.
#[derive(Default)]
pub struct Outbox {
    requests: Vec<(Request, Purpose)>,
    actions: Vec<Action>,
}

impl Outbox {
    /// Queues a call, with what to do with its reply.
    pub fn send<C: Call>(&mut self, call: C, purpose: Purpose) {
        self.requests.push((call.request(), purpose));
    }

    /// Queues an action for the app.
    pub fn act(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.actions.is_empty()
    }
}

/// Everything a screen may read and do in one frame: the open team's snapshot, the views
/// derived from it, the preferences, and the outbox.
pub struct Cx<'a> {
    /// The open team.
    pub snap: &'a Arc<TeamSnapshot>,
    /// Views derived from the snapshot (and the node's sync status).
    pub derived: &'a mut Derived,
    /// Persisted preferences.
    pub prefs: &'a mut Prefs,
    /// What this frame asks for.
    pub outbox: &'a mut Outbox,
}

impl Cx<'_> {
    /// Queues a command for the open team, with a message to show when it is done.
    pub fn apply(&mut self, command: peercoach_core::Command, done: impl Into<String>) {
        let team = Some(self.snap.id.clone());
        self.outbox
            .send(call::Apply { team, command }, Purpose::Notice(done.into()));
    }

    /// Queues a command that closes, removes or deletes something, with the command that
    /// takes it back: the status bar offers Undo, and Ctrl+Z sends it.
    pub fn apply_undoable(
        &mut self,
        command: peercoach_core::Command,
        done: impl Into<String>,
        undo: peercoach_core::Command,
    ) {
        let team = Some(self.snap.id.clone());
        let undo = call::Apply {
            team: team.clone(),
            command: undo,
        }
        .request();
        self.outbox.send(
            call::Apply { team, command },
            Purpose::Undoable {
                done: done.into(),
                undo: Box::new(undo),
                sent: 0,
            },
        );
    }

    /// A member's name.
    pub fn name(&self, id: &peercoach_core::MemberId) -> String {
        self.snap.team.name_of(id)
    }

    /// Whether this device can act (a current member).
    pub fn can_act(&self) -> bool {
        self.snap.me.is_some()
    }
}

/// The app.
pub struct PeercoachApp {
    node: NodeHandle,
    events: broadcast::Receiver<NodeEvent>,
    /// Persisted preferences.
    pub prefs: Prefs,
    /// The open team's latest snapshot.
    pub snap: Option<Arc<TeamSnapshot>>,
    /// Derived views.
    pub derived: Derived,
    status_due: Instant,
    pending: Vec<Pending>,
    outbox: Outbox,
    /// Every screen's own state.
    pub screens: Screens,
    /// The message at the bottom.
    pub notice: Option<Notice>,
    /// The last error that concerns sync (the red light).
    pub sync_error: Option<String>,
    /// The theme the context was last given.
    applied_theme: Option<super::state::ThemeChoice>,
    /// Set when the person chose Quit (not just closing the window): the app stops.
    pub quit: Arc<AtomicBool>,
    /// What the app's process asks of the window (show, quit); read every frame.
    pub wakes: Option<Wakes>,
    /// The keyboard shortcut sheet is open.
    pub shortcut_sheet: bool,
    /// The last action that can be taken back.
    pub undo: Option<Undo>,
    /// Writes sent to the node so far (each numbered, for Undo).
    writes_sent: u64,
}

impl PeercoachApp {
    /// An app showing a running node's teams. `loopback_forced`: the node was started
    /// loopback-only whatever its settings say (the settings screen says why).
    pub fn new(node: NodeHandle, data_dir: PathBuf, loopback_forced: bool, prefs: Prefs) -> Self {
        node.watch_snapshots();
        let events = node.subscribe();
        let mut screens = Screens::default();
        screens.settings.data_dir = data_dir;
        screens.settings.loopback_forced = loopback_forced;
        screens.first_run.loopback_forced = loopback_forced;
        let mut app = Self {
            node,
            events,
            prefs,
            snap: None,
            derived: Derived::default(),
            status_due: Instant::now(),
            pending: Vec::new(),
            outbox: Outbox::default(),
            screens,
            notice: None,
            sync_error: None,
            applied_theme: None,
            quit: Arc::new(AtomicBool::new(false)),
            wakes: None,
            shortcut_sheet: false,
            undo: None,
            writes_sent: 0,
        };
        app.send(call::Network { set: None }, Purpose::Network);
        app.send(call::Preferences { set: None }, Purpose::Preferences);
        app
    }

    /// Opens the window on a record: the team, the screen, the record selected.
    pub fn show(&mut self, show: &Show) {
        self.prefs.team = Some(show.team.clone());
        match &show.target {
            ShowTarget::Request(id) => {
                self.prefs.screen = Screen::Board;
                self.screens.board.selected = RequestId::parse(id).ok();
            }
            ShowTarget::Offer(_) | ShowTarget::Inbox => self.prefs.screen = Screen::Inbox,
            ShowTarget::Board => self.prefs.screen = Screen::Board,
            ShowTarget::Sync => self.prefs.screen = Screen::Sync,
            ShowTarget::Team => self.prefs.screen = Screen::Team,
            ShowTarget::Session(id) => {
                self.prefs.screen = Screen::Sessions;
                self.screens.sessions.selected = SessionId::parse(id).ok();
            }
        }
    }

    /// Stops the app, not only its window.
    pub fn quit(&mut self, ctx: &egui::Context) {
        self.quit.store(true, Ordering::SeqCst);
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Whether requests are still on their way (tests wait for this).
    pub fn is_busy(&self) -> bool {
        !self.pending.is_empty() || !self.outbox.is_empty()
    }

    fn send<C: Call>(&mut self, call: C, purpose: Purpose) {
        self.send_request(call.request(), purpose);
    }

    fn send_request(&mut self, request: Request, purpose: Purpose) {
        let rx = self.node.send(request);
        self.pending.push(Pending { rx, purpose });
    }

    /// Takes back the last action that can be: sends its undo, as a new change.
    pub fn take_back(&mut self) {
        // Only in the team it was done in.
        let here = self.team_id();
        match self.undo.take().filter(|u| {
            let team = match &u.request {
                Request::Apply { team, .. } | Request::RestoreNote { team, .. } => team.clone(),
                _ => None,
            };
            team.is_none() || team == here
        }) {
            Some(u) => {
                self.writes_sent += 1;
                self.send_request(u.request, Purpose::Notice(format!("Undone: {}", u.what)));
            }
            None => self.notify("Nothing to undo", false),
        }
    }

    fn notify(&mut self, text: impl Into<String>, error: bool) {
        self.notice = Some(Notice {
            text: crate::output::sentence(&text.into()),
            error,
            until: Instant::now() + Duration::from_secs(if error { 12 } else { 5 }),
        });
    }

    /// Takes in replies, events and the latest snapshot. Draws nothing.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if self.applied_theme != Some(self.prefs.theme()) {
            theme::apply(ctx, self.prefs.theme());
            self.applied_theme = Some(self.prefs.theme());
        }
        loop {
            match self.events.try_recv() {
                Ok(NodeEvent::Sync) | Ok(NodeEvent::Changed { .. }) => {
                    self.status_due = Instant::now();
                }
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        // Another `peercoach`, a click on a notification, `peercoach quit`: the app's
        // process queues them, and the open window is their one reader.
        let wakes: Vec<Wake> = self.wakes.as_ref().map_or_else(Vec::new, |wakes| {
            wakes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_iter()
                .collect()
        });
        for wake in wakes {
            match wake {
                Wake::Show(show) => {
                    if let Some(show) = show {
                        self.show(&show);
                    }
                    ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                    ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
                }
                Wake::Quit => self.quit(ctx),
            }
        }
        let mut finished = Vec::new();
        self.pending.retain_mut(|p| match p.rx.try_recv() {
            Ok(result) => {
                finished.push((p.purpose.clone(), result));
                false
            }
            Err(oneshot::error::TryRecvError::Empty) => true,
            Err(oneshot::error::TryRecvError::Closed) => {
                finished.push((
                    p.purpose.clone(),
                    ApiResult {
                        result: Err(peercoach_node::EngineError::Stopped),
                        warnings: Vec::new(),
                    },
                ));
                false
            }
        });
        for (purpose, result) in finished {
            self.finish(ctx, purpose, result);
        }
        // The open team: the one chosen, else the first.
        let snapshots = self.node.snapshots();
        let chosen = self
            .prefs
            .team
            .as_ref()
            .and_then(|t| snapshots.iter().find(|s| s.id.as_str() == t))
            .or_else(|| snapshots.iter().find(|s| s.team.id.is_some()))
            .cloned();
        if let Some(snap) = &chosen {
            self.prefs.team = Some(snap.id.to_string());
            if let Some(p) = &self.screens.settings.preferences {
                self.derived.set_checks(crate::notifier::check_backs(p));
            }
            self.derived.refresh(snap, SystemEnv.now_ms());
        }
        self.snap = chosen;
        if self.status_due <= Instant::now()
            && self.snap.is_some()
            && !self.pending.iter().any(|p| p.purpose == Purpose::Status)
        {
            let team = self.snap.as_ref().map(|s| s.id.clone());
            if self.screens.sync.invite.is_some()
                && !self.pending.iter().any(|p| p.purpose == Purpose::Invites)
            {
                self.send(query::Invites { team: team.clone() }, Purpose::Invites);
            }
            self.send(call::Status { team }, Purpose::Status);
            self.status_due = Instant::now() + Duration::from_secs(2);
        }
        // Wake up for replies in flight and for the next status poll.
        ctx.request_repaint_after(if self.pending.is_empty() {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(30)
        });
    }

    /// Does what `purpose` says with a reply, taken as the type its call names.
    fn finish(&mut self, ctx: &egui::Context, purpose: Purpose, result: ApiResult) {
        for w in result.warnings {
            self.notify(w, true);
        }
        let reply = result.result;
        let outcome = match purpose {
            Purpose::Status => match reply.and_then(|r| Ok(reply_of::<call::Status>(r)?)) {
                Ok(status) => {
                    self.derived.status = Some(status);
                    self.sync_error = None;
                    Ok(())
                }
                Err(e) => {
                    self.sync_error = Some(crate::output::sentence(&e.to_string()));
                    Ok(())
                }
            },
            Purpose::Invite { device } => {
                match reply.and_then(|r| Ok(reply_of::<call::Invite>(r)?)) {
                    Ok(invited) => {
                        let sync = &mut self.screens.sync;
                        sync.qr = super::qr::texture(ctx, &invited.ticket);
                        sync.invite = Some(super::state::ShownInvite {
                            ticket: invited.ticket,
                            expires_ms: invited.expires_ms,
                            device,
                            id: invited.invite,
                        });
                        self.notify("Invite ready: send the ticket or show the QR code", false);
                        Ok(())
                    }
                    Err(e) => {
                        self.sync_error = Some(crate::output::sentence(&e.to_string()));
                        Err(e)
                    }
                }
            }
            Purpose::Invites => reply
                .and_then(|r| Ok(reply_of::<query::Invites>(r)?))
                .map(|invites| self.screens.sync.invites = invites),
            Purpose::Network => reply
                .and_then(|r| Ok(reply_of::<call::Network>(r)?))
                .map(|n| self.network_is(n)),
            Purpose::Preferences => reply
                .and_then(|r| Ok(reply_of::<call::Preferences>(r)?))
                .map(|p| self.screens.settings.preferences = Some(p)),
            Purpose::OpenTeam => match reply.and_then(|r| Ok(reply_of::<call::Init>(r)?)) {
                Ok(created) => {
                    self.welcome(created.team);
                    Ok(())
                }
                Err(e) => {
                    self.screens.first_run.create_error =
                        Some(crate::output::sentence(&e.to_string()));
                    Ok(())
                }
            },
            Purpose::Join => {
                self.screens.first_run.joining = None;
                match reply.and_then(|r| Ok(reply_of::<call::Join>(r)?)) {
                    Ok(joined) => {
                        self.welcome(joined.team);
                        Ok(())
                    }
                    Err(e) => {
                        self.screens.first_run.join_error = Some(match e {
                            peercoach_node::EngineError::JoinCancelled => {
                                "You cancelled the join. The ticket may still work: try again."
                                    .to_owned()
                            }
                            e => crate::output::sentence(&e.to_string()),
                        });
                        Ok(())
                    }
                }
            }
            Purpose::AddToCalendar(name) => reply
                .and_then(|r| Ok(reply_of::<query::Calendar>(r)?))
                .map(|(_, ics)| {
                    match crate::opener::open_ics(&self.screens.settings.data_dir, &name, &ics) {
                        Ok(path) => self.notify(
                            format!("Opened {} with your calendar app", path.display()),
                            false,
                        ),
                        Err(e) => self.notify(e, true),
                    }
                }),
            Purpose::Undoable { done, undo, sent } => reply.map(|_| {
                self.notify(done.clone(), false);
                // Still my last action: nothing was written after it.
                if sent == self.writes_sent {
                    self.undo = Some(Undo {
                        request: *undo,
                        what: crate::output::sentence(&done),
                        until: Instant::now() + UNDO_SHOWN,
                    });
                }
            }),
            Purpose::Trash => reply
                .and_then(|r| Ok(reply_of::<query::Trash>(r)?))
                .map(|items| self.screens.history.trash = items),
            // Any call whose outcome is only "done or not".
            Purpose::Notice(text) => reply.map(|_| {
                if !text.is_empty() {
                    self.notify(text, false);
                }
            }),
        };
        if let Err(e) = outcome {
            self.notify(e.to_string(), true);
        }
    }

    /// The network settings as the node has them now.
    fn network_is(&mut self, n: peercoach_store::NetworkSettings) {
        let settings = &mut self.screens.settings;
        if settings.saved_network.is_some() && settings.saved_network.as_ref() != Some(&n) {
            self.notify(
                format!("Network: {} is in force now", n.mode.title()),
                false,
            );
        }
        let settings = &mut self.screens.settings;
        settings.saved_network = Some(n.clone());
        settings.network = Some(n.clone());
        let first_run = &mut self.screens.first_run;
        first_run.saved_network = Some(n.clone());
        first_run.network = Some(n);
    }

    /// A team was created or joined: open it.
    fn welcome(&mut self, team: TeamId) {
        self.screens.first_run.join_error = None;
        self.prefs.team = Some(team.to_string());
        self.prefs.screen = Screen::Board;
        self.notify("Welcome to the team", false);
    }

    /// The sync light and why.
    pub fn sync_light(&self) -> (SyncLight, String) {
        if let Some(e) = &self.sync_error {
            return (SyncLight::Red, format!("Problem: {e}"));
        }
        let Some(status) = &self.derived.status else {
            let why = if self.node.is_open() {
                "Starting…"
            } else {
                "Opening the team's history: changes you make now are saved once it is open"
            };
            return (SyncLight::Starting, why.into());
        };
        let online: Vec<_> = status.peers.iter().filter(|p| p.connected).collect();
        let complete = online.iter().filter(|p| p.has_all_my_changes).count();
        // How each online teammate is reached, under the summary.
        let reached: String = online
            .iter()
            .map(|p| format!("\n{}: {}", p.name, super::screens::sync::path_text(p)))
            .collect();
        let (light, why) = if complete > 0 {
            (
                SyncLight::Green,
                format!(
                    "Synced: {complete} online device{} {} all your changes",
                    if complete == 1 { "" } else { "s" },
                    if complete == 1 { "has" } else { "have" }
                ),
            )
        } else if !online.is_empty() {
            (
                SyncLight::Yellow,
                format!(
                    "Syncing with {} online device{}: they do not have all your changes yet",
                    online.len(),
                    if online.len() == 1 { "" } else { "s" }
                ),
            )
        } else if status.peers.is_empty() {
            (
                SyncLight::Alone,
                "No teammates yet: your edits are safe on this device. Invite someone on the Sync screen.".into(),
            )
        } else {
            (
                SyncLight::Gray,
                "No teammate online: your edits are safe on this device and will sync when one is."
                    .into(),
            )
        };
        let offline: Vec<&str> = status
            .peers
            .iter()
            .filter(|p| !p.connected)
            .map(|p| p.name.as_str())
            .collect();
        let offline = if offline.is_empty() || online.is_empty() {
            String::new()
        } else {
            format!("\nOffline: {}", offline.join(", "))
        };
        (light, format!("{why}{reached}{offline}"))
    }

    /// Draws one frame (everything inside the window).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.shortcuts(ui.ctx());
        let Some(snap) = self.snap.clone() else {
            let open = self.node.is_open();
            // A ticket that does not work says why down here, as on every screen.
            self.status_bar_ui(ui);
            egui::CentralPanel::default().show(ui, |ui| {
                if open {
                    self.screens.first_run.ui(ui, &mut self.outbox);
                } else {
                    screens::first_run::opening_ui(ui);
                }
            });
            self.flush(ui.ctx());
            return;
        };
        self.top_bar_ui(ui, &snap);
        self.status_bar_ui(ui);
        self.nav_ui(ui);
        self.derived.now_ms = self.derived.at_ms.max(SystemEnv.now_ms());
        let mut cx = Cx {
            snap: &snap,
            derived: &mut self.derived,
            prefs: &mut self.prefs,
            outbox: &mut self.outbox,
        };
        let screens = &mut self.screens;
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(newer) = &snap.newer_schema {
                ui.label(newer_schema_text(newer.found))
                    .on_hover_text("Everything you do here still syncs with everyone.");
            }
            if snap.me.is_none() {
                ui.colored_label(theme::warn(ui),
                    "This device is not a member of this team (or was removed): you can look, not change.",
                );
            }
            if screens.search.active() {
                screens.search.ui(ui, &mut cx);
            } else {
                let screen = cx.prefs.screen;
                screens.ui(screen, ui, &mut cx);
            }
        });
        screens.dialogs.ui(ui.ctx(), &mut cx);
        self.shortcut_sheet_ui(ui.ctx());
        self.flush(ui.ctx());
    }

    /// Sends the requests queued while drawing, and does what the frame asked for.
    fn flush(&mut self, ctx: &egui::Context) {
        let Outbox { requests, actions } = std::mem::take(&mut self.outbox);
        for (request, mut purpose) in requests {
            // Any change makes the one before no longer "my last action".
            let writes = matches!(
                request,
                Request::Apply { .. }
                    | Request::AddNote { .. }
                    | Request::DeleteNote { .. }
                    | Request::RestoreNote { .. }
            );
            if writes {
                self.writes_sent += 1;
                self.undo = None;
                if let Purpose::Undoable { sent, .. } = &mut purpose {
                    *sent = self.writes_sent;
                }
            }
            self.send_request(request, purpose);
        }
        for action in actions {
            match action {
                Action::Notice(text) => self.notify(text, false),
                Action::Error(text) => self.notify(text, true),
                Action::Quit => self.quit(ctx),
                Action::ShowRequest(request) => {
                    // Under Closed, if that is where it is now.
                    self.screens.board.show_closed = self.snap.as_ref().is_some_and(|s| {
                        s.team
                            .requests
                            .get(&request)
                            .is_some_and(|r| !r.is_active())
                    });
                    self.screens.board.selected = Some(request);
                    self.prefs.screen = Screen::Board;
                }
                Action::ShowSession(session) => {
                    self.screens.sessions.selected = Some(session);
                    self.prefs.screen = Screen::Sessions;
                }
                Action::ShowDuty(duty) => {
                    self.screens.backfill.scroll_to = Some(duty.clone());
                    self.screens.backfill.shown = Some(duty);
                    self.prefs.screen = Screen::Backfill;
                }
                Action::ShowInbox => self.prefs.screen = Screen::Inbox,
                Action::ShowTeam => self.prefs.screen = Screen::Team,
                Action::NotYet(offer) => {
                    let now = SystemEnv.now_ms();
                    if let Some(mut p) = self.screens.settings.preferences.clone() {
                        // Answers long past are forgotten.
                        p.not_yet.retain(|_, again| *again > now - ASK_AGAIN_MS);
                        p.not_yet.insert(offer.to_string(), now + ASK_AGAIN_MS);
                        self.screens.settings.preferences = Some(p.clone());
                        self.send(
                            call::Preferences { set: Some(p) },
                            Purpose::Notice("We'll ask again in three days".into()),
                        );
                    }
                }
                open => self.screens.dialogs.open(open),
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        const KEYS: [Key; 9] = [
            Key::Num1,
            Key::Num2,
            Key::Num3,
            Key::Num4,
            Key::Num5,
            Key::Num6,
            Key::Num7,
            Key::Num8,
            Key::Num9,
        ];
        for (key, screen) in KEYS.iter().zip(Screen::ALL) {
            if ctx
                .input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, *key)))
            {
                self.prefs.screen = screen;
            }
        }
        // Only what the window can show now: no second dialog over one that is open, and
        // nothing of a team's before there is one.
        let team_shown = self.snap.is_some();
        let free = team_shown && !self.screens.dialogs.any_open();
        if ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::N)))
            && free
        {
            self.screens.dialogs.open(Action::Ask);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Q)))
        {
            self.quit(ctx);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::F)))
            && free
        {
            self.screens.search.focus = true;
        }
        // Ctrl+Z takes back my last action, unless a text field has the keys (it undoes
        // typing there).
        if team_shown
            && !ctx.egui_wants_keyboard_input()
            && !self.screens.dialogs.any_open()
            && ctx.input_mut(|i| {
                i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Z))
            })
        {
            self.take_back();
        }
        if ctx.input_mut(|i| {
            i.consume_key(Modifiers::NONE, Key::F1)
                || i.consume_shortcut(&KeyboardShortcut::new(
                    Modifiers::COMMAND,
                    Key::Questionmark,
                ))
                || i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::Slash))
        }) && team_shown
        {
            self.shortcut_sheet = !self.shortcut_sheet;
        }
        // Esc closes the topmost thing: the shortcut sheet, a dialog, then a record's
        // detail beside (or in place of) its list.
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            if self.shortcut_sheet {
                self.shortcut_sheet = false;
            } else if self.screens.dialogs.any_open() {
                self.screens.dialogs.close_all();
            } else if self.screens.search.active() {
                self.screens.search.query.clear();
            } else {
                match self.prefs.screen {
                    Screen::Board => self.screens.board.selected = None,
                    Screen::Sessions => self.screens.sessions.selected = None,
                    _ => {}
                }
            }
        }
    }

    /// The keyboard shortcuts, in a window of their own (F1).
    fn shortcut_sheet_ui(&mut self, ctx: &egui::Context) {
        if !self.shortcut_sheet {
            return;
        }
        let mut open = true;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                egui::Grid::new("shortcut-sheet")
                    .num_columns(2)
                    .spacing([24.0, 6.0])
                    .show(ui, |ui| {
                        for (keys, what) in SHORTCUTS {
                            ui.label(RichText::new(keys).monospace().strong());
                            ui.label(what);
                            ui.end_row();
                        }
                        for (i, screen) in Screen::ALL.into_iter().enumerate() {
                            ui.label(
                                RichText::new(format!("Ctrl+{}", i + 1))
                                    .monospace()
                                    .strong(),
                            );
                            ui.label(format!("Go to {}", screen.label()));
                            ui.end_row();
                        }
                    });
            });
        if !open {
            self.shortcut_sheet = false;
        }
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui, snap: &Arc<TeamSnapshot>) {
        egui::Panel::top("top").show(ui, |ui| {
            ui.add_space(4.0);
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new("peercoach")
                        .strong()
                        .color(theme::accent(ui))
                        .size(18.0),
                );
                ui.separator();
                let teams = self.node.snapshots();
                if teams.len() > 1 {
                    let current = snap.team.name.clone();
                    super::theme::combo(ui, "Team", current, |ui| {
                        for t in &teams {
                            let id = t.id.to_string();
                            ui.selectable_value(&mut self.prefs.team, Some(id), &t.team.name);
                        }
                    });
                } else {
                    ui.label(RichText::new(&snap.team.name).strong().size(16.0));
                }
                if let Some(me) = snap.me.as_ref() {
                    ui.label(
                        RichText::new(format!("you are {}", snap.team.name_of(me)))
                            .color(theme::muted(ui)),
                    );
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let (light, why) = self.sync_light();
                    let label = light.words();
                    let r = ui
                        .add(egui::Button::new(RichText::new(label)).frame(false))
                        .on_hover_text(why.clone());
                    if r.clicked() {
                        self.prefs.screen = Screen::Sync;
                    }
                    theme::dot(ui, light.color()).on_hover_text(why);
                    if ui
                        .button("Ask for help")
                        .on_hover_text("I could use help (Ctrl+N)")
                        .clicked()
                    {
                        self.screens.dialogs.open(Action::Ask);
                    }
                    self.screens.search.field_ui(ui);
                });
            });
            ui.add_space(4.0);
        });
    }

    fn nav_ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::left("nav")
            .resizable(false)
            .exact_size(theme::NAV_WIDTH)
            .show(ui, |ui| {
                ui.add_space(theme::GAP);
                for (i, screen) in Screen::ALL.into_iter().enumerate() {
                    let badge = match screen {
                        Screen::Inbox => {
                            // Less what this device was told to stop asking about.
                            let dismissed = self
                                .derived
                                .inbox
                                .after_sessions
                                .iter()
                                .filter(|a| {
                                    a.resolve.is_some()
                                        && self.prefs.dismissed(Dismissed::Resolve, &a.session)
                                })
                                .count();
                            let n = self.derived.inbox.to_act_on().saturating_sub(dismissed);
                            (n > 0).then(|| format!("  ({n})"))
                        }
                        Screen::Board => Some(format!("  ({})", self.derived.board.len())),
                        _ => None,
                    };
                    let text = format!("{}{}", screen.label(), badge.unwrap_or_default());
                    let selected = self.prefs.screen == screen;
                    let r = ui.add_sized(
                        [theme::NAV_WIDTH - 16.0, 28.0],
                        egui::Button::selectable(selected, text)
                            .shortcut_text(RichText::new(format!("Ctrl+{}", i + 1)).small()),
                    );
                    if r.clicked() {
                        self.prefs.screen = screen;
                    }
                }
                ui.with_layout(egui::Layout::bottom_up(egui::Align::LEFT), |ui| {
                    ui.add_space(8.0);
                    if ui
                        .add(
                            egui::Button::new(RichText::new("Keyboard shortcuts (F1)").small())
                                .frame(false),
                        )
                        .clicked()
                    {
                        self.shortcut_sheet = true;
                    }
                    ui.label(
                        RichText::new("Team-level figures only:\nno one is ranked here.")
                            .small()
                            .color(theme::muted(ui)),
                    );
                });
            });
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        if self
            .notice
            .as_ref()
            .is_some_and(|n| n.until < Instant::now())
        {
            self.notice = None;
        }
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                match &self.notice {
                    Some(n) if n.error => {
                        ui.colored_label(theme::bad(ui), &n.text);
                    }
                    Some(n) => {
                        ui.colored_label(theme::good(ui), &n.text);
                    }
                    None => {
                        ui.label(RichText::new("Ready").color(theme::muted(ui)));
                    }
                }
                let offer_undo = self.undo.as_ref().is_some_and(|u| u.until > Instant::now());
                if offer_undo {
                    let what = self
                        .undo
                        .as_ref()
                        .map(|u| u.what.clone())
                        .unwrap_or_default();
                    if ui
                        .button("Undo")
                        .on_hover_text(format!("Take back: {what} (Ctrl+Z)"))
                        .clicked()
                    {
                        self.take_back();
                    }
                    // Drawn again when the offer runs out.
                    let left = self.undo.as_ref().map_or(Duration::ZERO, |u| {
                        u.until.saturating_duration_since(Instant::now())
                    });
                    ui.ctx().request_repaint_after(left);
                }
                if self.is_busy() {
                    ui.spinner();
                }
            });
        });
    }

    /// The open team's id.
    pub fn team_id(&self) -> Option<TeamId> {
        self.snap.as_ref().map(|s| s.id.clone())
    }
}

impl eframe::App for PeercoachApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        PeercoachApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        PeercoachApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.prefs);
    }
}

/// The shortcuts that are not a screen's number, as the sheet lists them.
pub const SHORTCUTS: [(&str, &str); 9] = [
    ("Ctrl+N", "Ask for help"),
    ("Ctrl+F", "Search everything you may read"),
    (
        "Ctrl+Z",
        "Take back your last close, removal or deletion (outside a text field)",
    ),
    ("Enter", "Send the form (in a one-line field)"),
    ("Ctrl+Enter", "Send the form from anywhere in it"),
    ("Esc", "Close the dialog, or the open request or session"),
    ("Tab / Shift+Tab", "Next / previous field or button"),
    ("F1 or Ctrl+?", "Show or hide these shortcuts"),
    (
        "Ctrl+Q",
        "Quit peercoach (closing the window keeps it running)",
    ),
];

/// What the window says when a newer peercoach wrote to the team: information, not a
/// lock (the app keeps working, and keeps what it does not know).
pub fn newer_schema_text(found: i64) -> String {
    format!(
        "A teammate's device runs a newer peercoach (records of version {found}; this one \
         reads version {}). What only the newer version knows is kept but not shown here: \
         update when you can.",
        peercoach_core::schema::SCHEMA_VERSION
    )
}
