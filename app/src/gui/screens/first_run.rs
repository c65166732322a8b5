//! First run: create a team, or join one with a ticket.

use crate::local;
use egui::RichText;
use peercoach_core::{Env, SystemEnv};
use peercoach_net::InviteTicket;
use peercoach_node::api::call;

use crate::gui::app::{Outbox, Purpose};
use crate::gui::theme::{self, Column};

/// The welcome screen's own state: what is typed, and how creating or joining went.
#[derive(Default)]
pub struct FirstRun {
    /// My name.
    pub name: String,
    /// The new team's name.
    pub team: String,
    /// The invite ticket pasted.
    pub ticket: String,
    /// Why creating the team failed.
    pub create_error: Option<String>,
    /// Why joining failed.
    pub join_error: Option<String>,
    /// Since when a join is under way.
    pub joining: Option<std::time::Instant>,
    /// Network settings being chosen.
    pub network: Option<peercoach_store::NetworkSettings>,
    /// Network settings as saved.
    pub saved_network: Option<peercoach_store::NetworkSettings>,
    /// Loopback-only is forced whatever the settings say.
    pub loopback_forced: bool,
    /// "Your name" has been given the keyboard once.
    focused: bool,
}

/// While the node opens the data dir's teams and none has a saved view to show yet.
pub fn opening_ui(ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(120.0);
        ui.add(egui::Spinner::new().size(32.0));
        ui.add_space(12.0);
        ui.label(RichText::new("Opening your teams…").size(20.0).strong());
        ui.label(
            RichText::new("A team with years of history takes a few seconds the first time.")
                .color(theme::muted(ui)),
        );
    });
}

impl FirstRun {
    /// The welcome screen: it scrolls where the window is short.
    pub fn ui(&mut self, ui: &mut egui::Ui, outbox: &mut Outbox) {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| self.welcome_ui(ui, outbox));
    }

    fn welcome_ui(&mut self, ui: &mut egui::Ui, outbox: &mut Outbox) {
        ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.label(RichText::new("Welcome to peercoach").size(28.0).strong());
        ui.label(
            RichText::new("Peer coaching for your team. Your data stays on your teammates' laptops, synced directly between them.")
                .color(theme::muted(ui)),
        );
        ui.add_space(24.0);
    });
        let width = ui.available_width().min(900.0);
        ui.vertical_centered(|ui| {
            ui.set_max_width(width);
            theme::two_columns(ui, |ui, column| match column {
                Column::First => theme::card(ui, |ui| {
                    ui.heading("Start a new team");
                    ui.label(
                        RichText::new("You become its first member and can invite the others.")
                            .color(theme::muted(ui)),
                    );
                    ui.add_space(8.0);
                    let name = theme::text_field(ui, "Your name", &mut self.name, "e.g. Ana");
                    if !std::mem::replace(&mut self.focused, true) {
                        name.request_focus();
                    }
                    let team =
                        theme::text_field(ui, "Team name", &mut self.team, "e.g. Platform Guild");
                    ui.add_space(8.0);
                    if let Some(error) = &self.create_error {
                        ui.colored_label(theme::bad(ui), error);
                    }
                    let ready = !self.name.trim().is_empty() && !self.team.trim().is_empty();
                    let entered = ready && theme::enter_submits(ui, &[&name, &team]);
                    if ui
                        .add_enabled(ready, egui::Button::new("Create team"))
                        .clicked()
                        || entered
                    {
                        self.create_error = None;
                        outbox.send(
                            call::Init {
                                name: self.name.trim().to_owned(),
                                team_name: self.team.trim().to_owned(),
                            },
                            Purpose::OpenTeam,
                        );
                    }
                }),
                Column::Second => theme::card(ui, |ui| self.join_ui(ui, outbox)),
            });
            ui.add_space(16.0);
            self.network_ui(ui, outbox);
        });
    }

    /// Joining with a ticket: what the ticket says before anything is sent, a spinner with a
    /// way to cancel while the inviter's device is reached, and why it failed if it did.
    fn join_ui(&mut self, ui: &mut egui::Ui, outbox: &mut Outbox) {
        ui.heading("Join a team");
        ui.label(
            RichText::new("Paste the invite ticket a teammate sent you.").color(theme::muted(ui)),
        );
        ui.add_space(8.0);
        let joining = self.joining.is_some();
        let name = ui.add_enabled_ui(!joining, |ui| {
            // Another ticket: the last one's failure no longer applies.
            if theme::text_area(ui, "Invite ticket", &mut self.ticket, "peercoach…").changed() {
                self.join_error = None;
            }
            theme::text_field(ui, "Your name ", &mut self.name, "e.g. Ben")
        });
        let text = self.ticket.trim();
        let ticket = (!text.is_empty()).then(|| InviteTicket::parse(text));
        let now_ms = SystemEnv.now_ms();
        let mut usable = false;
        match &ticket {
            Some(Ok(t)) if t.expires_ms <= now_ms => {
                ui.colored_label(
                    theme::bad(ui),
                    format!(
                        "This invite expired on {}: ask {} for a new one.",
                        local::datetime(t.expires_ms),
                        t.inviter_label()
                    ),
                );
            }
            Some(Ok(t)) => {
                usable = true;
                ui.label(
                    RichText::new(format!(
                        "Team {} · invited by {} · valid until {}",
                        t.team_name,
                        t.inviter_label(),
                        local::datetime(t.expires_ms)
                    ))
                    .color(theme::muted(ui)),
                );
            }
            Some(Err(e)) => {
                ui.colored_label(theme::bad(ui), crate::output::sentence(&e.to_string()));
            }
            None => {}
        }
        ui.add_space(8.0);
        if let Some(error) = &self.join_error {
            ui.colored_label(theme::bad(ui), error);
            ui.add_space(4.0);
        }
        if joining {
            let who = match &ticket {
                Some(Ok(t)) if !t.inviter_name.trim().is_empty() => format!("{}'s", t.inviter_name),
                _ => "the inviter's".to_owned(),
            };
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Reaching {who} device…"));
                if ui.button("Cancel").clicked() {
                    outbox.send(call::CancelJoin {}, Purpose::Notice(String::new()));
                }
            });
            return;
        }
        let ready = usable && !self.name.trim().is_empty();
        let entered = ready && theme::enter_submits(ui, &[&name.inner]);
        if ui
            .add_enabled(ready, egui::Button::new("Join team"))
            .clicked()
            || entered
        {
            self.join_error = None;
            self.joining = Some(std::time::Instant::now());
            outbox.send(
                call::Join {
                    ticket: self.ticket.trim().to_owned(),
                    name: self.name.trim().to_owned(),
                },
                Purpose::Join,
            );
        }
    }

    /// How this device will reach teammates, chosen before it meets any.
    fn network_ui(&mut self, ui: &mut egui::Ui, outbox: &mut Outbox) {
        let loopback_forced = self.loopback_forced;
        let Some(mut n) = self.network.clone() else {
            return;
        };
        // What is in force, not only what is chosen.
        let title = if loopback_forced {
            "Network: Loopback only (PEERCOACH_LOOPBACK is set)".to_owned()
        } else {
            format!("Network: {}", n.mode.title())
        };
        theme::card(ui, |ui| {
            egui::CollapsingHeader::new(title)
            .id_salt("first-run-network")
            .show(ui, |ui| {
                if loopback_forced {
                    ui.label(
                        RichText::new(
                            "This device talks to 127.0.0.1 only while PEERCOACH_LOOPBACK is set (or the app was started with --loopback-only). The mode below is used when it starts without it.",
                        )
                        .color(theme::muted(ui)),
                    );
                }
                super::settings::mode_choice_ui(ui, &mut n.mode);
                let changed = Some(&n) != self.saved_network.as_ref();
                if ui
                    .add_enabled(changed, egui::Button::new("Use this network mode"))
                    .clicked()
                {
                    outbox.send(
                        call::Network {
                            set: Some(n.clone()),
                        },
                        Purpose::Network,
                    );
                }
            });
        });
        self.network = Some(n);
    }
}
