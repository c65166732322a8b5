//! What needs me: offers to answer, requests aimed at me, follow-ups, yeses to act on.

use crate::local;
use egui::RichText;
use peercoach_core::NewThanks;
use peercoach_core::time::format_span;
use peercoach_core::views::Asked;
use peercoach_core::{Answer, Command};

use super::dialogs::SessionForm;
use crate::gui::app::Action;
use crate::gui::app::Cx;
use crate::gui::state::Dismissed;
use crate::gui::theme;
use peercoach_core::OfferId;
use std::collections::BTreeMap;

/// The inbox: thanks being written for agreed offers, private note drafts.
#[derive(Default)]
pub struct Inbox {
    /// Thanks being written, by offer.
    pub offer_thanks: BTreeMap<OfferId, String>,
    /// Thanks being written, by session.
    pub session_thanks: BTreeMap<peercoach_core::SessionId, String>,
    /// Private notes being written.
    pub notes: super::notes::NoteDrafts,
    /// Times being chosen to meet, by offer.
    pub meet: super::meet::MeetDrafts,
}

impl Inbox {
    /// The inbox screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Inbox",
            "Questions only you can answer, and things you agreed to do.",
        );
        let inbox = cx.derived.inbox.clone();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if inbox.is_empty() && cx.derived.unanswered.is_empty() {
                    theme::card(ui, |ui| {
                        ui.label("Nothing needs you right now.");
                    });
                    ui.add_space(theme::GAP);
                }
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
                if !inbox.asks.is_empty() {
                    ui.label(RichText::new("Asked of you").strong());
                    for (i, a) in inbox.asks.iter().enumerate() {
                        ui.push_id(("ask", i), |ui| {
                            theme::card(ui, |ui| {
                                ui.label(RichText::new(a.text()).strong());
                                ui.label(
                                    RichText::new("Nothing changes until you say yes.")
                                        .color(theme::muted(ui)),
                                );
                                ui.horizontal(|ui| {
                                    let answer = |yes: bool| match &a.asked {
                                        Asked::Rota { week } => Command::AnswerRota {
                                            week: week.clone(),
                                            yes,
                                        },
                                        Asked::Apprentice { duty, .. } => Command::AnswerBackfill {
                                            duty: duty.clone(),
                                            yes,
                                        },
                                    };
                                    if ui.button("Yes").clicked() {
                                        cx.apply(
                                            answer(true),
                                            format!("You said yes to {}", a.by_name),
                                        );
                                    }
                                    if ui.button("No, thanks").clicked() {
                                        cx.apply(
                                            answer(false),
                                            format!("You said no to {}", a.by_name),
                                        );
                                    }
                                });
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
                                cx.outbox.act(Action::ShowRequest(r.id.clone()));
                            }
                        });
                    }
                    ui.add_space(theme::GAP);
                }
                let raised = cx.derived.unanswered.clone();
                if !raised.is_empty() {
                    ui.label(RichText::new("Asks still waiting for an offer").strong());
                    for r in &raised {
                        theme::card(ui, |ui| {
                            ui.label(RichText::new(&r.title).strong());
                            ui.label(
                                RichText::new(format!(
                                    "{} asked {} ago · nobody has offered yet{}",
                                    r.author_name,
                                    format_span(r.waiting_ms),
                                    if r.skills.is_empty() {
                                        String::new()
                                    } else {
                                        format!(" · {}", r.skills.join(", "))
                                    }
                                ))
                                .color(theme::muted(ui)),
                            );
                            if ui.button("Open on the board").clicked() {
                                cx.outbox.act(Action::ShowRequest(r.id.clone()));
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
                                    RichText::new(format!("Your advice: {m}"))
                                        .color(theme::muted(ui)),
                                );
                            }
                            self.meet.ui(ui, cx, o);
                            if ui.button("Log the session").clicked() {
                                cx.outbox.act(Action::LogSession(SessionForm::after_offer(
                                    o,
                                    &cx.snap.team,
                                )));
                            }
                        });
                    }
                    ui.add_space(theme::GAP);
                }
                if !inbox.agreed.is_empty() {
                    ui.label(RichText::new("You said yes: what you agreed to").strong());
                    for o in &inbox.agreed {
                        self.agreed_ui(ui, cx, o);
                    }
                    ui.add_space(theme::GAP);
                }
                let after: Vec<_> = inbox
                    .after_sessions
                    .iter()
                    .filter(|a| {
                        (a.thank && !cx.prefs.dismissed(Dismissed::Thank, &a.session))
                            || (a.resolve.is_some()
                                && !cx.prefs.dismissed(Dismissed::Resolve, &a.session))
                    })
                    .cloned()
                    .collect();
                if !after.is_empty() {
                    ui.label(RichText::new("After your sessions").strong());
                    for a in &after {
                        self.after_session_ui(ui, cx, a);
                    }
                    ui.add_space(theme::GAP);
                }
                if !inbox.followups.is_empty() {
                    ui.label(RichText::new("Your follow-ups").strong());
                    for u in &inbox.followups {
                        // Not in a row: a long follow-up wraps instead of running off the edge.
                        let mut done = false;
                        let text = format!(
                            "{}{} (from \"{}\" with {})",
                            u.text,
                            u.due_ms
                                .map(|d| format!(", due {}", local::date(d)))
                                .unwrap_or_default(),
                            u.topic,
                            u.with_name
                        );
                        if ui.checkbox(&mut done, text).changed() && done {
                            cx.apply_undoable(
                                Command::SetFollowUpDone {
                                    session: u.session.clone(),
                                    followup: u.id.clone(),
                                    done: true,
                                },
                                format!("Follow-up done: {}", u.text),
                                Command::SetFollowUpDone {
                                    session: u.session.clone(),
                                    followup: u.id.clone(),
                                    done: false,
                                },
                            );
                        }
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
                    ui.add_space(theme::GAP);
                }
                if !inbox.thanks.is_empty() {
                    ui.label(RichText::new("Thanks you received").strong());
                    for t in &inbox.thanks {
                        theme::card(ui, |ui| {
                            ui.label(
                                RichText::new(format!("{} thanked you", t.from_name))
                                    .strong()
                                    .color(theme::good(ui)),
                            );
                            ui.label(&t.text);
                            let when = match &t.session {
                                Some((_, topic)) => {
                                    format!(
                                        "{} · for the session \"{topic}\"",
                                        local::date(t.at_ms)
                                    )
                                }
                                None => local::date(t.at_ms),
                            };
                            ui.label(RichText::new(when).color(theme::muted(ui)));
                        });
                    }
                    ui.add_space(theme::GAP);
                }
                super::notes::private_notes_ui(
                    ui,
                    cx,
                    &mut self.notes,
                    super::notes::About::Nothing,
                );
            });
    }

    /// A session I was coached in, and what is left: thank the coach, resolve my request.
    /// Each stays until it is done or dismissed.
    fn after_session_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut Cx<'_>,
        a: &peercoach_core::views::AfterSession,
    ) {
        theme::card(ui, |ui| {
            ui.label(RichText::new(format!("{} coached you: {}", a.coach_name, a.topic)).strong());
            ui.horizontal_wrapped(|ui| {
                if ui.button("Open the session").clicked() {
                    cx.outbox.act(Action::ShowSession(a.session.clone()));
                }
            });
            if let Some((request, title)) = a
                .resolve
                .as_ref()
                .filter(|_| !cx.prefs.dismissed(Dismissed::Resolve, &a.session))
            {
                ui.label(format!(
                    "Your request \"{title}\" is still open. Did this settle it?"
                ));
                ui.horizontal_wrapped(|ui| {
                    if ui.button("Resolve it").clicked() {
                        cx.apply_undoable(
                            Command::Resolve {
                                request: request.clone(),
                            },
                            format!("Resolved: \"{title}\" is under Closed on the board"),
                            Command::Reopen {
                                request: request.clone(),
                            },
                        );
                    }
                    if ui
                        .button("Keep it open")
                        .on_hover_text("It needs more help: stop asking here")
                        .clicked()
                    {
                        cx.prefs.dismiss(Dismissed::Resolve, &a.session);
                    }
                });
            }
            if a.thank && !cx.prefs.dismissed(Dismissed::Thank, &a.session) {
                let draft = self.session_thanks.entry(a.session.clone()).or_default();
                let label = format!("Thank {}", a.coach_name);
                if let Some(text) = theme::thanks_form(ui, &label, draft, "Thanks for the session!")
                {
                    self.session_thanks.remove(&a.session);
                    cx.apply(
                        Command::Thank(NewThanks {
                            to: a.coach.clone(),
                            text,
                            session: Some(a.session.clone()),
                        }),
                        format!("Thanks sent to {}", a.coach_name),
                    );
                }
                if ui.small_button("Not this time").clicked() {
                    cx.prefs.dismiss(Dismissed::Thank, &a.session);
                }
            }
        });
    }

    /// An offer I said yes to: the advice, visible now, and what to do next.
    fn agreed_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut Cx<'_>,
        o: &peercoach_core::views::OfferRow,
    ) {
        theme::card(ui, |ui| {
            ui.label(
                RichText::new(format!(
                    "You said yes to {}'s offer: {}",
                    o.from_name, o.topic
                ))
                .strong(),
            );
            match &o.message {
                Some(m) => {
                    ui.label(
                        RichText::new(format!("{}'s advice", o.from_name)).color(theme::muted(ui)),
                    );
                    ui.label(m);
                }
                None => {
                    ui.label(
                        RichText::new("They left no advice in writing: meet and talk it through.")
                            .color(theme::muted(ui)),
                    );
                }
            }
            ui.label(
                RichText::new(format!(
                    "Next: find a time to meet {}, then log the session and say thanks.",
                    o.from_name
                ))
                .color(theme::muted(ui)),
            );
            self.meet.ui(ui, cx, o);
            ui.horizontal_wrapped(|ui| {
                if ui.button("Log the session").clicked() {
                    cx.outbox.act(Action::LogSession(SessionForm::after_offer(
                        o,
                        &cx.snap.team,
                    )));
                }
                if let Some(request) = &o.request
                    && ui.button("Open the request").clicked()
                {
                    cx.outbox.act(Action::ShowRequest(request.clone()));
                }
            });
            let draft = self.offer_thanks.entry(o.id.clone()).or_default();
            let label = format!("Thank {}", o.from_name);
            if let Some(text) = theme::thanks_form(ui, &label, draft, "Thanks for the help!") {
                self.offer_thanks.remove(&o.id);
                cx.apply(
                    Command::Thank(NewThanks {
                        to: o.from.clone(),
                        text,
                        session: None,
                    }),
                    format!("Thanks sent to {}", o.from_name),
                );
            }
        });
    }
}
