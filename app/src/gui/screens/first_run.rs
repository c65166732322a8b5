//! First run: create a team, or join one with a ticket.

use egui::RichText;
use peercoach_node::api::Request;

use crate::gui::app::Purpose;
use crate::gui::state::Drafts;
use crate::gui::theme;

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

/// The welcome screen.
pub fn first_run_ui(ui: &mut egui::Ui, drafts: &mut Drafts, outbox: &mut Vec<(Request, Purpose)>) {
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
        ui.columns(2, |cols| {
            theme::card(&mut cols[0], |ui| {
                ui.heading("Start a new team");
                ui.label(
                    RichText::new("You become its first member and can invite the others.")
                        .color(theme::muted(ui)),
                );
                ui.add_space(8.0);
                theme::text_field(ui, "Your name", &mut drafts.first_name, "e.g. Ana");
                theme::text_field(
                    ui,
                    "Team name",
                    &mut drafts.first_team,
                    "e.g. Platform Guild",
                );
                ui.add_space(8.0);
                let ready =
                    !drafts.first_name.trim().is_empty() && !drafts.first_team.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Create team"))
                    .clicked()
                {
                    outbox.push((
                        Request::Init {
                            name: drafts.first_name.trim().to_owned(),
                            team_name: drafts.first_team.trim().to_owned(),
                        },
                        Purpose::OpenTeam,
                    ));
                }
            });
            theme::card(&mut cols[1], |ui| {
                ui.heading("Join a team");
                ui.label(
                    RichText::new("Paste the invite ticket a teammate sent you.")
                        .color(theme::muted(ui)),
                );
                ui.add_space(8.0);
                theme::text_area(ui, "Invite ticket", &mut drafts.first_ticket, "peercoach…");
                theme::text_field(ui, "Your name ", &mut drafts.first_name, "e.g. Ben");
                ui.add_space(8.0);
                let ready =
                    !drafts.first_name.trim().is_empty() && !drafts.first_ticket.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Join team"))
                    .clicked()
                {
                    outbox.push((
                        Request::Join {
                            ticket: drafts.first_ticket.trim().to_owned(),
                            name: drafts.first_name.trim().to_owned(),
                        },
                        Purpose::OpenTeam,
                    ));
                }
            });
        });
        ui.add_space(16.0);
        network_ui(ui, drafts, outbox);
    });
}

/// How this device will reach teammates, chosen before it meets any.
fn network_ui(ui: &mut egui::Ui, drafts: &mut Drafts, outbox: &mut Vec<(Request, Purpose)>) {
    let Some(mut n) = drafts.network.clone() else {
        return;
    };
    theme::card(ui, |ui| {
        egui::CollapsingHeader::new(format!("Network: {}", n.mode.title()))
            .id_salt("first-run-network")
            .show(ui, |ui| {
                super::settings::mode_choice_ui(ui, &mut n.mode);
                let changed = Some(&n) != drafts.saved_network.as_ref();
                if ui
                    .add_enabled(changed, egui::Button::new("Use this network mode"))
                    .clicked()
                {
                    outbox.push((
                        Request::Network {
                            set: Some(n.clone()),
                        },
                        Purpose::Network,
                    ));
                }
            });
    });
    drafts.network = Some(n);
}
