//! First run: create a team, or join one with a ticket.

use egui::RichText;
use peercoach_core::time::format_datetime;
use peercoach_core::{Env, SystemEnv};
use peercoach_net::InviteTicket;
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
pub fn first_run_ui(
    ui: &mut egui::Ui,
    drafts: &mut Drafts,
    outbox: &mut Vec<(Request, Purpose)>,
    loopback_forced: bool,
) {
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
                if let Some(error) = &drafts.create_error {
                    ui.colored_label(theme::bad(ui), error);
                }
                let ready =
                    !drafts.first_name.trim().is_empty() && !drafts.first_team.trim().is_empty();
                if ui
                    .add_enabled(ready, egui::Button::new("Create team"))
                    .clicked()
                {
                    drafts.create_error = None;
                    outbox.push((
                        Request::Init {
                            name: drafts.first_name.trim().to_owned(),
                            team_name: drafts.first_team.trim().to_owned(),
                        },
                        Purpose::OpenTeam,
                    ));
                }
            });
            theme::card(&mut cols[1], |ui| join_ui(ui, drafts, outbox));
        });
        ui.add_space(16.0);
        network_ui(ui, drafts, outbox, loopback_forced);
    });
}

/// Joining with a ticket: what the ticket says before anything is sent, a spinner with a
/// way to cancel while the inviter's device is reached, and why it failed if it did.
fn join_ui(ui: &mut egui::Ui, drafts: &mut Drafts, outbox: &mut Vec<(Request, Purpose)>) {
    ui.heading("Join a team");
    ui.label(RichText::new("Paste the invite ticket a teammate sent you.").color(theme::muted(ui)));
    ui.add_space(8.0);
    let joining = drafts.joining.is_some();
    ui.add_enabled_ui(!joining, |ui| {
        theme::text_area(ui, "Invite ticket", &mut drafts.first_ticket, "peercoach…");
        theme::text_field(ui, "Your name ", &mut drafts.first_name, "e.g. Ben");
    });
    let text = drafts.first_ticket.trim();
    let ticket = (!text.is_empty()).then(|| InviteTicket::parse(text));
    let now_ms = SystemEnv.now_ms();
    let mut usable = false;
    match &ticket {
        Some(Ok(t)) if t.expires_ms <= now_ms => {
            ui.colored_label(
                theme::bad(ui),
                format!(
                    "This invite expired on {}: ask {} for a new one.",
                    format_datetime(t.expires_ms),
                    t.inviter_label()
                ),
            );
        }
        Some(Ok(t)) => {
            usable = true;
            ui.label(
                RichText::new(format!(
                    "Team {} · invited by {} · valid until {} UTC",
                    t.team_name,
                    t.inviter_label(),
                    format_datetime(t.expires_ms)
                ))
                .color(theme::muted(ui)),
            );
        }
        Some(Err(e)) => {
            ui.colored_label(theme::bad(ui), e.to_string());
        }
        None => {}
    }
    ui.add_space(8.0);
    if let Some(error) = &drafts.join_error {
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
                outbox.push((Request::CancelJoin, Purpose::Notice(String::new())));
            }
        });
        return;
    }
    let ready = usable && !drafts.first_name.trim().is_empty();
    if ui
        .add_enabled(ready, egui::Button::new("Join team"))
        .clicked()
    {
        drafts.join_error = None;
        drafts.joining = Some(std::time::Instant::now());
        outbox.push((
            Request::Join {
                ticket: drafts.first_ticket.trim().to_owned(),
                name: drafts.first_name.trim().to_owned(),
            },
            Purpose::Join,
        ));
    }
}

/// How this device will reach teammates, chosen before it meets any.
fn network_ui(
    ui: &mut egui::Ui,
    drafts: &mut Drafts,
    outbox: &mut Vec<(Request, Purpose)>,
    loopback_forced: bool,
) {
    let Some(mut n) = drafts.network.clone() else {
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
