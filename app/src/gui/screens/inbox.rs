//! What needs me: offers to answer, requests aimed at me, follow-ups, yeses to act on.

use egui::RichText;
use peercoach_core::time::{format_date, format_span};
use peercoach_core::{Answer, Command};

use crate::gui::app::Cx;
use crate::gui::state::{Screen, SessionForm};
use crate::gui::theme;

/// The inbox screen.
pub fn inbox_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>) {
    theme::title(
        ui,
        "Inbox",
        "Questions only you can answer, and things you agreed to do.",
    );
    let inbox = cx.derived.inbox.clone();
    if inbox.is_empty() {
        theme::card(ui, |ui| {
            ui.label("Nothing needs you right now.");
        });
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if !inbox.offers_to_answer.is_empty() {
                ui.label(RichText::new("Offers waiting for your answer").strong());
                for o in &inbox.offers_to_answer {
                    theme::card(ui, |ui| {
                        ui.label(
                            RichText::new(format!(
                                "{} asks: \"Would you like some help?\"",
                                o.from_name
                            ))
                            .strong(),
                        );
                        ui.label(format!("About: {}", o.topic));
                        if o.message_hidden {
                            ui.label(
                                RichText::new("Their advice stays hidden until you say yes.")
                                    .italics()
                                    .color(theme::muted(ui)),
                            );
                        }
                        ui.horizontal(|ui| {
                            if ui.button("Yes, please").clicked() {
                                cx.apply(
                                    Command::Respond {
                                        offer: o.id.clone(),
                                        answer: Answer::Yes,
                                    },
                                    format!("You said yes to {}", o.from_name),
                                );
                            }
                            if ui.button("Not now").clicked() {
                                cx.apply(
                                    Command::Respond {
                                        offer: o.id.clone(),
                                        answer: Answer::NotNow,
                                    },
                                    "Answered not now",
                                );
                            }
                        });
                    });
                }
                ui.add_space(theme::GAP);
            }
            if !inbox.requests_for_me.is_empty() {
                ui.label(RichText::new("Requests aimed at you").strong());
                for r in &inbox.requests_for_me {
                    theme::card(ui, |ui| {
                        ui.label(RichText::new(&r.title).strong());
                        ui.label(
                            RichText::new(format!(
                                "{} asked you · waiting {}",
                                r.author_name,
                                format_span(r.waiting_ms)
                            ))
                            .color(theme::muted(ui)),
                        );
                        if ui.button("Open on the board").clicked() {
                            cx.drafts.selected = Some(r.id.clone());
                            cx.prefs.screen = Screen::Board;
                        }
                    });
                }
                ui.add_space(theme::GAP);
            }
            if !inbox.accepted_offers.is_empty() {
                ui.label(RichText::new("They said yes: time to meet").strong());
                for o in &inbox.accepted_offers {
                    theme::card(ui, |ui| {
                        ui.label(format!("{} said yes to your offer: {}", o.to_name, o.topic));
                        if let Some(m) = &o.message {
                            ui.label(
                                RichText::new(format!("Your advice: {m}")).color(theme::muted(ui)),
                            );
                        }
                        if ui.button("Log the session").clicked() {
                            *cx.session = SessionForm {
                                open: true,
                                coach: Some(o.from.clone()),
                                coachee: Some(o.to.clone()),
                                topic: o.topic.clone(),
                                minutes: "30".into(),
                                offer: Some(o.id.clone()),
                                request: o.request.clone(),
                                ..Default::default()
                            };
                        }
                    });
                }
                ui.add_space(theme::GAP);
            }
            if !inbox.followups.is_empty() {
                ui.label(RichText::new("Your follow-ups").strong());
                for u in &inbox.followups {
                    ui.horizontal(|ui| {
                        let mut done = false;
                        let text = format!(
                            "{}{} (from \"{}\" with {})",
                            u.text,
                            u.due_ms
                                .map(|d| format!(", due {}", format_date(d)))
                                .unwrap_or_default(),
                            u.topic,
                            u.with_name
                        );
                        if ui.checkbox(&mut done, text).changed() && done {
                            cx.apply(
                                Command::SetFollowUpDone {
                                    session: u.session.clone(),
                                    followup: u.id.clone(),
                                    done: true,
                                },
                                "Follow-up done",
                            );
                        }
                    });
                }
                ui.add_space(theme::GAP);
            }
            if !inbox.lost_claims.is_empty() {
                ui.label(RichText::new("Someone else got there first").strong());
                for c in &inbox.lost_claims {
                    ui.label(format!(
                        "{} claimed \"{}\" a moment before you did.",
                        c.winner_name, c.title
                    ));
                }
            }
        });
}
