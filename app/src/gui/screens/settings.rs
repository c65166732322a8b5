//! Settings: name, data dir, network mode, theme.

use egui::RichText;
use peercoach_core::Command;
use peercoach_core::alerts::AlertKind;
use peercoach_node::api::call;

use crate::gui::app::Action;
use crate::gui::app::{Cx, Purpose};
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
    /// This device's relay URL, being edited.
    pub relay_url: String,
    /// Its token.
    pub relay_token: String,
    /// The team relay URL, being edited.
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
                theme::text_field(ui, "Display name", &mut self.name, "Your name");
                if ui.add_enabled(cx.can_act() && !self.name.trim().is_empty(), egui::Button::new("Save name")).clicked() {
                    cx.apply(Command::SetProfile { name: Some(self.name.trim().to_owned()), availability: None }, "Name saved");
                }
            });
            ui.add_space(theme::GAP);
            theme::card(ui, |ui| {
                ui.label(RichText::new("Appearance").strong());
                ui.horizontal(|ui| {
                    ui.radio_value(&mut cx.prefs.dark, true, "Dark");
                    ui.radio_value(&mut cx.prefs.dark, false, "Light");
                });
            });
            ui.add_space(theme::GAP);
            self.notifications_ui(ui, cx);
            ui.add_space(theme::GAP);
            self.running_ui(ui, cx);
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
            if changed {
                self.save_preferences(cx, p, "Notifications saved");
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
                |ui| {
                    theme::text_field(
                        ui,
                        "This device's relay (empty: the team's relay, else n0's public relays)",
                        &mut self.relay_url,
                        "https://relay.example.org",
                    );
                    theme::secret_field(
                        ui,
                        "Relay token (if the relay asks for one)",
                        &mut self.relay_token,
                        &mut self.show_relay_token,
                    );
                },
            );
            let url = self.relay_url.trim();
            n.relay_url = (!url.is_empty()).then(|| url.to_owned());
            let token = self.relay_token.trim();
            n.relay_token = (!token.is_empty() && n.relay_url.is_some()).then(|| token.to_owned());
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
            ui.label(RichText::new("Team relay").strong());
            ui.label(
                RichText::new("A relay your team runs itself (iroh-relay on any spare machine). Set here, it is saved in the team and every member's device uses it, unless that device set a relay of its own. It stores nothing and sees only encrypted traffic.")
                    .color(theme::muted(ui)),
            );
            let current = cx.snap.team.relay.clone();
            ui.label(match &current {
                Some(r) => format!(
                    "In use by the team: {}{}",
                    r.url,
                    if r.token.is_some() {
                        " (with a token)"
                    } else {
                        ""
                    }
                ),
                None => "The team has no relay of its own.".to_owned(),
            });
            // Every member knows the team relay's token, and a removed member keeps it.
            if current.as_ref().is_some_and(|r| r.token.is_some())
                && cx.snap.team.members.values().any(|m| !m.is_current())
            {
                ui.colored_label(
                    theme::warn(ui),
                    "Someone was removed from the team and still knows this relay's token. \
                     Set a new token on the relay and enter it here.",
                );
            }
            theme::text_field(
                ui,
                "Team relay URL",
                &mut self.team_relay,
                "https://relay.example.org",
            );
            theme::secret_field(
                ui,
                "Team relay token (optional)",
                &mut self.team_relay_token,
                &mut self.show_team_relay_token,
            );
            ui.horizontal(|ui| {
                let url = self.team_relay.trim().to_owned();
                if ui
                    .add_enabled(
                        cx.can_act() && !url.is_empty(),
                        egui::Button::new("Set team relay"),
                    )
                    .clicked()
                {
                    let token = self.team_relay_token.trim();
                    cx.apply(
                        Command::SetTeamRelay {
                            url: Some(url),
                            token: (!token.is_empty()).then(|| token.to_owned()),
                        },
                        "Team relay set: every member's device will use it",
                    );
                }
                if ui
                    .add_enabled(
                        cx.can_act() && current.is_some(),
                        egui::Button::new("Stop using a team relay"),
                    )
                    .clicked()
                {
                    cx.apply(
                        Command::SetTeamRelay {
                            url: None,
                            token: None,
                        },
                        "The team uses no relay of its own",
                    );
                }
            });
        });
    }
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
