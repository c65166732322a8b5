//! After a yes: finding a time to meet, and the check-back when no session followed.
//!
//! Either of the two proposes up to three times (the app suggests some that suit both);
//! the other picks one, which schedules the session, or says none work. Days after the
//! yes with no session, both are asked "Did you meet?".

use std::collections::{BTreeMap, BTreeSet};

use egui::RichText;
use peercoach_core::records::meet::{self, Meet, Proposal};
use peercoach_core::views::OfferRow;
use peercoach_core::{Command, OfferId};

use super::dialogs::SessionForm;
use crate::gui::app::{Action, Cx};
use crate::gui::theme;
use crate::local;

/// Times being chosen, by offer.
#[derive(Default)]
pub struct MeetDrafts {
    drafts: BTreeMap<OfferId, Draft>,
}

/// The times chosen for one offer, and a time being typed.
struct Draft {
    chosen: BTreeSet<i64>,
    typed: String,
    minutes: u32,
    error: Option<String>,
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            chosen: BTreeSet::new(),
            typed: String::new(),
            minutes: meet::DEFAULT_MINUTES,
            error: None,
        }
    }
}

impl MeetDrafts {
    /// The part of an accepted offer's card about meeting: the check-back when it is
    /// due, where finding a time stands, and the form to propose times.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, o: &OfferRow) {
        let Some(me) = cx.snap.me.clone() else { return };
        let other = if o.from == me {
            &o.to_name
        } else {
            &o.from_name
        };
        let now = cx.derived.now_ms;
        ui.push_id(("meet", o.id.as_str()), |ui| {
            if o.yes_ms
                .is_some_and(|y| cx.derived.checks.met_due(&o.id, y, now))
            {
                check_back_ui(ui, cx, o, other);
            }
            let draft = self.drafts.entry(o.id.clone()).or_default();
            let waiting_for_me = match &o.meet {
                Meet::Proposed(p) if p.by != me => {
                    their_times_ui(ui, cx, o, other, p);
                    true
                }
                Meet::Proposed(p) => {
                    ui.label(format!(
                        "You proposed {}. Waiting for {other} to pick one.",
                        times_text(&p.times)
                    ));
                    false
                }
                Meet::NoneWork { by, .. } if by != &me => {
                    ui.label(
                        RichText::new(format!(
                            "None of your times work for {other}: propose others."
                        ))
                        .color(theme::warn(ui)),
                    );
                    false
                }
                Meet::NoneWork { .. } => {
                    ui.label(format!(
                        "You said none of {other}'s times work. Propose some that do."
                    ));
                    false
                }
                Meet::Agreed { at_ms, .. } => {
                    // Still in the inbox: its session was cancelled.
                    ui.label(format!(
                        "The session agreed for {} was cancelled. Find another time.",
                        local::day_time(*at_ms)
                    ));
                    false
                }
                Meet::Open => false,
            };
            let label = if waiting_for_me {
                "Propose other times"
            } else if matches!(o.meet, Meet::Open) {
                "Find a time"
            } else {
                "Propose new times"
            };
            let header = egui::CollapsingHeader::new(label)
                .id_salt("propose")
                .default_open(!waiting_for_me)
                .show(ui, |ui| {
                    propose_ui(ui, cx, o, draft);
                });
            header.header_response.on_hover_text(format!(
                "Up to {} times; {other} picks one, and the session is scheduled",
                meet::MAX_TIMES
            ));
        });
    }
}

/// "Did you meet?": yes opens the session form, not yet asks again later, no ends the
/// offer.
fn check_back_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, o: &OfferRow, other: &str) {
    theme::card(ui, |ui| {
        ui.label(RichText::new(format!("Did you meet {other}?")).strong());
        ui.label(
            RichText::new(format!(
                "You agreed {} ago and no session is logged.",
                peercoach_core::time::format_span(
                    cx.derived.now_ms - o.yes_ms.unwrap_or(cx.derived.now_ms)
                )
            ))
            .color(theme::muted(ui)),
        );
        ui.horizontal_wrapped(|ui| {
            if ui.button("Yes, log the session").clicked() {
                cx.outbox.act(Action::LogSession(SessionForm::after_offer(
                    o,
                    &cx.snap.team,
                )));
            }
            if ui
                .button("Not yet")
                .on_hover_text("Ask again in three days")
                .clicked()
            {
                cx.outbox.act(Action::NotYet(o.id.clone()));
            }
            if ui
                .button("No, we won't meet")
                .on_hover_text("Closes the offer; a request goes back to the board")
                .clicked()
            {
                cx.apply_undoable(
                    Command::EndOffer {
                        offer: o.id.clone(),
                    },
                    "Offer closed: the request is back on the board",
                    Command::ResumeOffer {
                        offer: o.id.clone(),
                    },
                );
            }
        });
    });
}

/// The other person's times: pick one, or say none work.
fn their_times_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, o: &OfferRow, other: &str, p: &Proposal) {
    ui.label(
        RichText::new(format!(
            "{other} proposed {} ({} minutes). Pick one:",
            if p.times.len() == 1 {
                "a time"
            } else {
                "times"
            },
            p.minutes
        ))
        .strong(),
    );
    ui.horizontal_wrapped(|ui| {
        for t in &p.times {
            if ui
                .button(local::day_time(*t))
                .on_hover_text("Schedules the session for this time")
                .clicked()
            {
                cx.apply(
                    Command::PickTime {
                        offer: o.id.clone(),
                        at_ms: *t,
                    },
                    format!(
                        "Agreed: {} with {other}. It is in Sessions and your calendar",
                        local::day_time(*t)
                    ),
                );
            }
        }
        if ui.button("None of these work").clicked() {
            cx.apply(
                Command::NoTimeWorks {
                    offer: o.id.clone(),
                },
                format!("Told {other} none of the times work"),
            );
        }
    });
}

/// Times to propose: those that suit both, ticked, and any typed in.
fn propose_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, o: &OfferRow, draft: &mut Draft) {
    let now = cx.derived.now_ms;
    let suggested = cx
        .derived
        .meet_times
        .get(&o.id)
        .cloned()
        .unwrap_or_default();
    if suggested.is_empty() {
        ui.label(
            RichText::new(
                "No time in the next two weeks fits both availability notes: type one below.",
            )
            .color(theme::muted(ui)),
        );
    } else {
        ui.label(RichText::new("Times that suit you both").color(theme::muted(ui)));
    }
    let hour = cx.snap.team.coaching_hour.clone();
    let mut shown: Vec<i64> = suggested.clone();
    shown.extend(draft.chosen.iter().filter(|t| !suggested.contains(t)));
    shown.sort_unstable();
    ui.horizontal_wrapped(|ui| {
        for t in shown {
            let mut on = draft.chosen.contains(&t);
            let in_hour = hour.as_ref().is_some_and(|h| {
                h.starts(t, t + 1, &peercoach_core::calendar::TzDatabase)
                    .contains(&t)
            });
            let text = if in_hour {
                format!("{} (coaching hour)", local::day_time(t))
            } else {
                local::day_time(t)
            };
            if ui.checkbox(&mut on, text).changed() {
                if on && draft.chosen.len() < meet::MAX_TIMES {
                    draft.chosen.insert(t);
                } else {
                    draft.chosen.remove(&t);
                }
            }
        }
    });
    let field = theme::text_field(
        ui,
        &format!("Another time ({})", local::zone(now)),
        &mut draft.typed,
        "2026-12-08 10:00",
    );
    let entered = theme::enter_submits(ui, &[&field]);
    ui.horizontal_wrapped(|ui| {
        if (ui.button("Add this time").clicked() || entered) && !draft.typed.trim().is_empty() {
            match local::parse_datetime(&draft.typed) {
                Some(t) if t <= now => draft.error = Some("That time has passed.".into()),
                Some(_) if draft.chosen.len() >= meet::MAX_TIMES => {
                    draft.error = Some(format!("Up to {} times.", meet::MAX_TIMES));
                }
                Some(t) => {
                    draft.chosen.insert(t);
                    draft.typed.clear();
                    draft.error = None;
                }
                None => {
                    draft.error = Some("Type a date and time: YYYY-MM-DD HH:MM.".into());
                }
            }
        }
        let l = ui.label("Minutes");
        ui.add(egui::DragValue::new(&mut draft.minutes).range(15..=240))
            .labelled_by(l.id);
    });
    if let Some(e) = &draft.error {
        ui.label(RichText::new(e).color(theme::BAD));
    }
    let n = draft.chosen.len();
    let send = ui.add_enabled(
        n > 0,
        egui::Button::new(match n {
            0 => "Propose times".to_owned(),
            1 => "Propose 1 time".to_owned(),
            n => format!("Propose {n} times"),
        }),
    );
    if send.clicked() {
        let times: Vec<i64> = draft.chosen.iter().copied().collect();
        cx.apply(
            Command::ProposeTimes {
                offer: o.id.clone(),
                times,
                minutes: draft.minutes,
            },
            "Times proposed",
        );
        draft.chosen.clear();
    }
}

/// `2026-12-08 10:00, 2026-12-10 11:00`.
fn times_text(times: &[i64]) -> String {
    times
        .iter()
        .map(|t| local::day_time(*t))
        .collect::<Vec<_>>()
        .join(", ")
}
