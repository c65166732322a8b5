//! Settings: name, data dir, network mode, theme.

use egui::RichText;
use peercoach_core::Command;
use peercoach_core::alerts::AlertKind;
use peercoach_node::api::call;

use crate::gui::app::Action;
use crate::gui::app::{Cx, Purpose};
use crate::gui::state::ThemeChoice;
use crate::gui::theme;

/// The settings screen: my name, app preferences, network settings and the team relay being edited.
#[derive(Default)]
pub struct Settings {
    /// My name, being edited.
    pub name: String,
    /// App preferences as last read.
    pub preferences: Option<peercoach_store::Preferences>,
    /// Whether the app starts at login, as last checked.
    pub autostart: Option<bool>,
    /// Network settings being edited.
    pub network: Option<peercoach_store::NetworkSettings>,
    /// Network settings as saved.
    pub saved_network: Option<peercoach_store::NetworkSettings>,
    /// A relay to add to this device's list, being typed.
    pub relay_url: String,
    /// Its token.
    pub relay_token: String,
    /// Why the relay typed cannot be added, when it cannot.
    relay_error: Option<String>,
    /// A relay to add to the team's list, being typed.
    pub team_relay: String,
    /// Its token.
    pub team_relay_token: String,
    /// Whether this device's relay token is shown rather than masked.
    show_relay_token: bool,
    /// Whether the team relay's token is shown rather than masked.
    show_team_relay_token: bool,
    /// The data dir (shown).
    pub data_dir: std::path::PathBuf,
    /// Loopback-only is forced whatever the settings say.
    pub loopback_forced: bool,
}

impl Settings {
    /// The settings screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(ui, "Settings", "");
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            theme::card(ui, |ui| {
                ui.label(RichText::new("You").strong());
                if self.name.is_empty()
                    && let Some(me) = &cx.snap.me
                {
                    self.name = cx.snap.team.name_of(me);
                }
                let field = theme::text_field(ui, "Display name", &mut self.name, "Your name");
                let ready = cx.can_act() && !self.name.trim().is_empty();
                let entered = ready && theme::enter_submits(ui, &[&field]);
                if ui.add_enabled(ready, egui::Button::new("Save name")).clicked() || entered {
                    cx.apply(Command::SetProfile { name: Some(self.name.trim().to_owned()), availability: None }, "Name saved");
                }
            });
            ui.add_space(theme::GAP);
            theme::card(ui, |ui| {
                ui.label(RichText::new("Appearance").strong());
                ui.horizontal_wrapped(|ui| {
                    let mut chosen = cx.prefs.theme();
                    for choice in [ThemeChoice::System, ThemeChoice::Dark, ThemeChoice::Light] {
                        ui.radio_value(&mut chosen, choice, choice.label());
                    }
                    if chosen != cx.prefs.theme() {
                        cx.prefs.theme = Some(chosen);
                    }
                });
            });
            ui.add_space(theme::GAP);
            self.notifications_ui(ui, cx);
            ui.add_space(theme::GAP);
            self.running_ui(ui, cx);
            ui.add_space(theme::GAP);
            self.calendar_ui(ui);
            ui.add_space(theme::GAP);
            theme::card(ui, |ui| {
                ui.label(RichText::new("Data").strong());
                ui.label(format!("Data directory: {}", &self.data_dir.display()));
                ui.label(RichText::new("Everything this device knows lives here: your key, the team documents and their change logs.").color(theme::muted(ui)));
            });
            ui.add_space(theme::GAP);
            self.network_ui(ui, cx);
        });
    }

    /// The calendar file calendar apps subscribe to.
    fn calendar_ui(&mut self, ui: &mut egui::Ui) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Calendar").strong());
            ui.label(
                RichText::new(
                    "The team coaching hour, your scheduled sessions and your follow-ups with \
                     a due date, in one file that is rewritten whenever they change. Subscribe \
                     to it once, as a calendar on the web at file:// and this path: in \
                     Evolution (GNOME Calendar shows Evolution's calendars) or Thunderbird. \
                     It then stays current; importing it would copy it only once.",
                )
                .color(theme::muted(ui)),
            );
            let path = peercoach_store::DataDir::calendar_path_in(&self.data_dir);
            let mut shown = path.display().to_string();
            let l = ui.label("Calendar file");
            ui.horizontal_wrapped(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut shown)
                        .interactive(false)
                        .desired_width(f32::INFINITY.min(ui.available_width() - 120.0)),
                )
                .labelled_by(l.id);
                if ui.button("Copy path").clicked() {
                    ui.ctx().copy_text(path.display().to_string());
                }
            });
        });
    }

    /// Which desktop notifications this device shows.
    fn notifications_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Notifications").strong());
            ui.label(
                RichText::new(
                    "Desktop notifications when others do something that needs you — never for \
                     your own actions, and none while you are snoozed. Many at once (after being \
                     offline) come as one summary.",
                )
                .color(theme::muted(ui)),
            );
            let Some(mut p) = self.preferences.clone() else {
                ui.label("Loading…");
                return;
            };
            let mut changed = false;
            for kind in AlertKind::ALL {
                let mut on = p.notifies(kind.as_str());
                if ui.checkbox(&mut on, kind.label()).changed() {
                    changed = true;
                    if on {
                        p.notifications_off.remove(kind.as_str());
                    } else {
                        p.notifications_off.insert(kind.as_str().to_owned());
                    }
                }
            }
            ui.add_space(theme::GAP / 2.0);
            ui.label(RichText::new("Check-backs").strong());
            // A number being dragged is saved once, when the drag ends.
            let mut moved = false;
            let mut number = |ui: &mut egui::Ui, label: &str, value: &mut u32, most: u32| {
                ui.horizontal_wrapped(|ui| {
                    let l = ui.label(label);
                    let r = ui
                        .add(egui::DragValue::new(value).range(1..=most))
                        .labelled_by(l.id);
                    moved |= r.changed();
                    r.drag_stopped() || (r.changed() && !r.dragged())
                })
                .inner
            };
            changed |= number(
                ui,
                "Ask \"Did you meet?\" after a yes with no session, in days",
                &mut p.met_after_days,
                60,
            );
            changed |= number(
                ui,
                "Raise an ask nobody offered on, after working days",
                &mut p.unanswered_after_days,
                20,
            );
            if changed {
                self.save_preferences(cx, p, "Notifications saved");
            } else if moved {
                self.preferences = Some(p);
            }
        });
    }

    /// Whether the app keeps running without its window, starts at login, and how to quit.
    fn running_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Running in the background").strong());
            if !crate::gui::RUNS_IN_BACKGROUND {
                // Without a way back to the window (macOS, Windows for now), closing it quits.
                ui.label(
                    RichText::new(
                        "peercoach syncs only while it runs. On this system closing the window \
                         quits it: running in the background comes to it later.",
                    )
                    .color(theme::muted(ui)),
                );
            } else {
                ui.label(
                    RichText::new(
                        "peercoach syncs only while it runs. With the window closed it keeps \
                         syncing and notifying; open it again from the applications menu.",
                    )
                    .color(theme::muted(ui)),
                );
                if let Some(mut p) = self.preferences.clone()
                    && ui
                        .checkbox(
                            &mut p.keep_running,
                            "Keep syncing and notifying when the window is closed",
                        )
                        .changed()
                {
                    let done = if p.keep_running {
                        "Closing the window keeps peercoach running"
                    } else {
                        "Closing the window quits peercoach"
                    };
                    self.save_preferences(cx, p, done);
                }
            }
            match crate::autostart::config_home() {
                Some(home) if crate::gui::RUNS_IN_BACKGROUND => {
                    let mut on = self
                        .autostart
                        .unwrap_or_else(|| crate::autostart::is_enabled(&home));
                    self.autostart = Some(on);
                    if ui
                        .checkbox(&mut on, "Start peercoach in the background when I log in")
                        .changed()
                    {
                        let done = if on {
                            let default = crate::default_data_dir().ok();
                            crate::autostart::this_app(&self.data_dir, default.as_deref()).and_then(
                                |(exe, data_dir)| {
                                    crate::autostart::enable(&home, &exe, data_dir.as_deref())
                                },
                            )
                        } else {
                            crate::autostart::disable(&home)
                        };
                        match done {
                            Ok(()) => {
                                self.autostart = Some(on);
                                cx.outbox.act(Action::Notice(if on {
                                    "peercoach will start in the background when you log in".into()
                                } else {
                                    "peercoach will no longer start when you log in".into()
                                }));
                            }
                            Err(e) => cx.outbox.act(Action::Error(format!(
                                "could not change the login start: {e}"
                            ))),
                        }
                    }
                }
                _ => {
                    ui.label(
                        RichText::new("Starting at login is not available on this system yet.")
                            .color(theme::muted(ui)),
                    );
                }
            }
            ui.add_space(6.0);
            if ui
                .button("Quit peercoach")
                .on_hover_text(
                    "Stop syncing on this device until you open peercoach again (Ctrl+Q)",
                )
                .clicked()
            {
                cx.outbox.act(Action::Quit);
            }
        });
    }

    fn save_preferences(&mut self, cx: &mut Cx<'_>, p: peercoach_store::Preferences, done: &str) {
        self.preferences = Some(p.clone());
        cx.outbox.send(
            call::Preferences { set: Some(p) },
            Purpose::Notice(done.into()),
        );
    }

    fn network_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        use peercoach_store::NetworkMode;
        theme::card(ui, |ui| {
            ui.label(RichText::new("Network").strong());
            ui.label(
                RichText::new("How this device reaches your teammates. A change applies at once: the app sets up its connections again.")
                    .color(theme::muted(ui)),
            );
            let Some(mut n) = self.network.clone() else {
                ui.label("Loading…");
                return;
            };
            // What is in force, and why, before what is chosen.
            if self.loopback_forced {
                ui.colored_label(theme::warn(ui),
                    "In force now: Loopback only — because PEERCOACH_LOOPBACK is set (or the app was started with --loopback-only), which overrides your choice.",
                );
                ui.label(
                    RichText::new("Your choice below is used when the app starts without it.")
                        .color(theme::muted(ui)),
                );
            } else if let Some(saved) = &self.saved_network {
                ui.label(format!("In force now: {}", saved.mode.title()));
            }
            mode_choice_ui(ui, &mut n.mode);
            ui.add_space(theme::GAP);
            ui.add_enabled_ui(
                matches!(n.mode, NetworkMode::Anywhere | NetworkMode::TeamRelay),
                |ui| self.own_relays_ui(ui, &mut n),
            );
            let changed = Some(&n) != self.saved_network.as_ref();
            self.network = Some(n.clone());
            if ui
                .add_enabled(changed, egui::Button::new("Apply network settings"))
                .clicked()
            {
                cx.outbox
                    .send(call::Network { set: Some(n) }, Purpose::Network);
            }
        });
        ui.add_space(theme::GAP);
        theme::card(ui, |ui| {
            ui.label(RichText::new("Team relays").strong());
            ui.label(
                RichText::new("Relays your team runs itself (iroh-relay on any spare machine). Listed here, they are saved in the team and every member's device uses them, unless that device set relays of its own. A relay stores nothing and sees only encrypted traffic. List a second one so that the team stays connected when one machine is off.")
                    .color(theme::muted(ui)),
            );
            let current = cx.snap.team.relays.clone();
            if current.is_empty() {
                ui.label("The team has no relay of its own.");
            }
            for (i, relay) in current.iter().enumerate() {
                let what = format!("Remove {} from the team's relays", relay.url);
                if relay_row_ui(
                    ui,
                    i,
                    &relay.url,
                    relay.token.is_some(),
                    &what,
                    cx.can_act(),
                ) {
                    cx.apply_undoable(
                        Command::RemoveTeamRelay {
                            url: relay.url.clone(),
                        },
                        format!("Team relay removed: {}", relay.url),
                        Command::AddTeamRelay {
                            relay: relay.clone(),
                        },
                    );
                }
            }
            if current.len() > 1 {
                ui.label(
                    RichText::new("Each device uses the one that answers fastest, and moves to another within seconds when it stops answering.")
                        .color(theme::muted(ui)),
                );
            }
            // Every member knows the team relays' tokens, and a removed member keeps them.
            if current.iter().any(|r| r.token.is_some())
                && cx.snap.team.members.values().any(|m| !m.is_current())
            {
                ui.colored_label(
                    theme::warn(ui),
                    "Someone was removed from the team and still knows a relay's token. \
                     Set a new token on the relay and enter it here.",
                );
            }
            theme::text_field(
                ui,
                "Team relay URL to add",
                &mut self.team_relay,
                "https://relay.example.org",
            );
            theme::secret_field(
                ui,
                "Its token (optional)",
                &mut self.team_relay_token,
                &mut self.show_team_relay_token,
            );
            let url = self.team_relay.trim().to_owned();
            if ui
                .add_enabled(
                    cx.can_act() && !url.is_empty(),
                    egui::Button::new("Add team relay"),
                )
                .clicked()
            {
                let token = self.team_relay_token.trim();
                cx.apply(
                    Command::AddTeamRelay {
                        relay: peercoach_core::TeamRelay {
                            url,
                            token: (!token.is_empty()).then(|| token.to_owned()),
                        },
                    },
                    "Team relay added: every member's device will use it",
                );
                self.team_relay.clear();
                self.team_relay_token.clear();
            }
        });
    }

    /// This device's own relays: the list, each removable, and one to add.
    fn own_relays_ui(&mut self, ui: &mut egui::Ui, n: &mut peercoach_store::NetworkSettings) {
        ui.label(RichText::new("This device's relays").strong());
        if n.relays.is_empty() {
            ui.label(
                RichText::new("None: the team's relays, else n0's public relays.")
                    .color(theme::muted(ui)),
            );
        }
        let mut remove = None;
        for (i, relay) in n.relays.iter().enumerate() {
            let what = format!("Remove {} from this device's relays", relay.url);
            if relay_row_ui(ui, i, &relay.url, relay.token.is_some(), &what, true) {
                remove = Some(i);
            }
        }
        if let Some(i) = remove {
            n.relays.remove(i);
        }
        theme::text_field(
            ui,
            "Relay URL to add",
            &mut self.relay_url,
            "https://relay.example.org",
        );
        theme::secret_field(
            ui,
            "Its token (if the relay asks for one)",
            &mut self.relay_token,
            &mut self.show_relay_token,
        );
        let url = self.relay_url.trim().to_owned();
        if ui
            .add_enabled(!url.is_empty(), egui::Button::new("Add relay"))
            .clicked()
        {
            let token = self.relay_token.trim();
            let mut relays = n.relays.clone();
            relays.push(peercoach_store::DeviceRelay {
                url,
                token: (!token.is_empty()).then(|| token.to_owned()),
            });
            match peercoach_node::connect::check_relays(&relays) {
                Ok(()) => {
                    n.relays = relays;
                    self.relay_url.clear();
                    self.relay_token.clear();
                    self.relay_error = None;
                }
                Err(e) => self.relay_error = Some(e.to_string()),
            }
        }
        if let Some(e) = &self.relay_error {
            ui.colored_label(theme::warn(ui), e);
        }
    }
}

/// One relay of a list: its place, URL and whether it has a token, and a Remove button
/// whose accessible label is `what`. True when Remove was clicked.
fn relay_row_ui(
    ui: &mut egui::Ui,
    index: usize,
    url: &str,
    has_token: bool,
    what: &str,
    enabled: bool,
) -> bool {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "{}. {url}{}",
            index + 1,
            if has_token { " (with a token)" } else { "" }
        ));
        let remove = ui.add_enabled(enabled, egui::Button::new("Remove"));
        let enabled = remove.enabled();
        remove.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, what));
        remove.on_hover_text(what).clicked()
    })
    .inner
}

/// The four network modes, each with one line on what it reveals and to whom (Settings
/// and the first-run screen).
pub fn mode_choice_ui(ui: &mut egui::Ui, mode: &mut peercoach_store::NetworkMode) {
    for choice in peercoach_store::NetworkMode::ALL {
        ui.radio_value(mode, choice, RichText::new(choice.title()).strong());
        ui.indent(choice.as_str(), |ui| {
            ui.label(RichText::new(choice.reveals()).color(theme::muted(ui)));
        });
    }
}
