//! Coaching sessions: log, filter, follow-ups, thanks; reversals are shown.

use crate::local;
use egui::RichText;
use peercoach_core::Command;
use peercoach_core::{NewFollowUp, NewThanks, SessionEdit};

use super::dialogs::SessionForm;
use crate::gui::app::Action;
use crate::gui::app::{Cx, Purpose};
use crate::gui::theme::{self, Column};
use peercoach_core::{RecordId, SessionId};
use peercoach_node::api::CalendarWhat;
use peercoach_node::api::call::query;
use std::collections::BTreeMap;

/// The sessions screen: the session open in the side panel and what is being written there.
#[derive(Default)]
pub struct Sessions {
    /// The session whose details are open.
    pub selected: Option<SessionId>,
    /// Follow-ups being written, by session.
    pub followup: BTreeMap<SessionId, FollowUpDraft>,
    /// Thanks being written, by session.
    pub thanks: BTreeMap<SessionId, String>,
    /// Private notes being written.
    pub notes: super::notes::NoteDrafts,
    /// A session of mine being edited, and the form's fields.
    pub editing: Option<(SessionId, SessionDraft)>,
}

/// The fields of a session being edited, as typed.
#[derive(Debug, Clone, Default)]
pub struct SessionDraft {
    /// Topic.
    pub topic: String,
    /// Notes.
    pub notes: String,
    /// Shared learning.
    pub learning: String,
    /// Skill tags, comma-separated.
    pub skills: String,
    /// When, `YYYY-MM-DD HH:MM` on this device's clock.
    pub when: String,
    /// Minutes.
    pub minutes: String,
    /// The session as the form was opened on: what I did not touch is not sent, so an
    /// edit the other person made meanwhile stays.
    opened: Option<Box<peercoach_core::Session>>,
}

impl SessionDraft {
    /// The form filled in from the session.
    fn of(s: &peercoach_core::Session) -> Self {
        Self {
            topic: s.topic.clone(),
            notes: s.notes.clone(),
            learning: s.learning.clone(),
            skills: s.skills.iter().cloned().collect::<Vec<_>>().join(", "),
            when: local::datetime(s.at_ms),
            minutes: s.minutes.to_string(),
            opened: Some(Box::new(s.clone())),
        }
    }

    /// Only what differs from the session, or what is wrong with the form.
    fn change(&self, live: &peercoach_core::Session) -> Result<SessionEdit, &'static str> {
        let s = self.opened.as_deref().unwrap_or(live);
        if self.topic.trim().is_empty() {
            return Err("A session needs a topic");
        }
        let at_ms = local::parse_datetime(&self.when).ok_or("Use a time like 2026-10-01 14:30")?;
        let minutes: u32 = self
            .minutes
            .trim()
            .parse()
            .ok()
            .filter(|m| *m <= peercoach_core::records::session::MAX_MINUTES)
            .ok_or("Minutes: a whole number, up to a day")?;
        let skills = crate::gui::state::tags(&self.skills);
        let same_skills = skills
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            == s.skills;
        // A time shown to the minute is unchanged when it is the same minute.
        let same_time = local::datetime(s.at_ms) == local::datetime(at_ms);
        Ok(SessionEdit {
            topic: (self.topic.trim() != s.topic).then(|| self.topic.clone()),
            notes: (self.notes.trim() != s.notes).then(|| self.notes.clone()),
            learning: (self.learning.trim() != s.learning).then(|| self.learning.clone()),
            skills: (!same_skills).then_some(skills),
            at_ms: (!same_time).then_some(at_ms),
            minutes: (minutes != s.minutes).then_some(minutes),
        })
    }
}

/// A follow-up being written: what, whose, by when.
#[derive(Debug, Clone, Default)]
pub struct FollowUpDraft {
    /// What will happen.
    pub text: String,
    /// Whose it is (none chosen: the coachee's).
    pub owner: Option<peercoach_core::MemberId>,
    /// Due, `YYYY-MM-DD` on this device's clock, or empty.
    pub due: String,
}

impl Sessions {
    /// The form that edits a session of mine; true while it is shown.
    fn edit_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, s: &peercoach_core::Session) -> bool {
        let Some((_, draft)) = self.editing.as_mut().filter(|(e, _)| e == &s.id) else {
            return false;
        };
        ui.heading("Edit the session");
        theme::text_field(ui, "Topic", &mut draft.topic, "What it was about");
        theme::text_field(ui, "When", &mut draft.when, "YYYY-MM-DD HH:MM");
        theme::text_field(ui, "Minutes", &mut draft.minutes, "30");
        theme::text_field(ui, "Skills", &mut draft.skills, "e.g. kubernetes, ops");
        theme::text_area(ui, "Notes", &mut draft.notes, "What you talked about");
        theme::text_area(
            ui,
            "Shared learning",
            &mut draft.learning,
            "Something the team could use",
        );
        let change = draft.change(s);
        if let Err(why) = &change {
            ui.colored_label(theme::bad(ui), *why);
        }
        let end = theme::save_or_cancel(ui, "Save changes", change.is_ok(), false);
        if end == Some(theme::FormEnd::Save)
            && let Ok(change) = change
        {
            if change == SessionEdit::default() {
                cx.outbox.act(Action::Notice("Nothing changed".into()));
            } else {
                cx.apply(
                    Command::EditSession {
                        session: s.id.clone(),
                        change,
                    },
                    "Session saved: History shows the change",
                );
            }
        }
        if end.is_some() {
            self.editing = None;
        }
        true
    }

    /// The sessions screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Sessions",
            "Anyone coaches anyone. Where coaching went both ways, it says so.",
        );
        ui.horizontal(|ui| {
            if cx.can_act() && ui.button("Log a session").clicked() {
                cx.outbox.act(Action::LogSession(SessionForm {
                    open: true,
                    coach: cx.snap.me.clone(),
                    minutes: "30".into(),
                    ..Default::default()
                }));
            }
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut cx.prefs.session_filter)
                    .hint_text("name or topic")
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
        });
        let filter = cx.prefs.session_filter.trim().to_lowercase();
        let team = &cx.snap.team;
        let rows: Vec<usize> = cx
            .derived
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                filter.is_empty()
                    || s.topic.to_lowercase().contains(&filter)
                    || s.coach_name.to_lowercase().contains(&filter)
                    || s.coachee_name.to_lowercase().contains(&filter)
            })
            .map(|(i, _)| i)
            .collect();
        let pairs = &cx.derived.pairs;
        if !pairs.is_empty() {
            ui.label(
                RichText::new(format!(
                    "{} coached each other both ways, most recently {} and {}.",
                    match pairs.len() {
                        1 => "1 pair".to_owned(),
                        n => format!("{n} pairs"),
                    },
                    team.name_of(&pairs[0].first),
                    team.name_of(&pairs[0].second)
                ))
                .color(theme::good(ui)),
            );
        }
        ui.add_space(6.0);
        let open = self.selected.clone();
        if theme::master_detail(ui, open.is_some(), |ui, column| match (column, &open) {
            (Column::Second, Some(sid)) => self.detail_ui(ui, cx, sid),
            _ => self.list_ui(ui, cx, &rows),
        }) {
            self.selected = None;
        }
    }

    /// The sessions that match, one row each (only the rows in sight are drawn).
    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, rows: &[usize]) {
        if rows.is_empty() {
            ui.label("No sessions match.");
            return;
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, theme::ROW_HEIGHT, rows.len(), |ui, range| {
                for i in range {
                    let Some(s) = cx.derived.sessions.get(rows[i]).cloned() else {
                        continue;
                    };
                    ui.allocate_ui(
                        egui::vec2(ui.available_width(), theme::ROW_HEIGHT - 6.0),
                        |ui| {
                            ui.horizontal(|ui| {
                                let ahead = s.at_ms > cx.derived.now_ms;
                                ui.label(
                                    RichText::new(local::date(s.at_ms))
                                        .monospace()
                                        .color(theme::muted(ui)),
                                );
                                ui.vertical(|ui| {
                                    let text = if ahead {
                                        format!(
                                            "{} will coach {}: {}",
                                            s.coach_name, s.coachee_name, s.topic
                                        )
                                    } else {
                                        format!(
                                            "{} coached {}: {}",
                                            s.coach_name, s.coachee_name, s.topic
                                        )
                                    };
                                    theme::row_title(ui, &mut self.selected, &s.id, text);
                                    ui.horizontal(|ui| {
                                        ui.label(
                                            RichText::new(format!("{} min", s.minutes))
                                                .color(theme::muted(ui)),
                                        );
                                        if ahead {
                                            theme::chip_if_room(
                                                ui,
                                                &format!("scheduled {}", local::datetime(s.at_ms)),
                                                theme::ACCENT,
                                            );
                                        }
                                        if s.reversal {
                                            // "You" only where I was one of the two.
                                            let mine = cx.snap.me.as_ref().is_some_and(|me| {
                                                *me == s.coach || *me == s.coachee
                                            });
                                            let text = if mine {
                                                "you coached each other"
                                            } else {
                                                "they coached each other"
                                            };
                                            theme::chip_if_room(ui, text, theme::GOOD);
                                        }
                                        let open = s.followups.iter().filter(|u| !u.done).count();
                                        if open > 0 {
                                            theme::chip_if_room(
                                                ui,
                                                &if open == 1 {
                                                    "1 follow-up open".to_owned()
                                                } else {
                                                    format!("{open} follow-ups open")
                                                },
                                                theme::WARN,
                                            );
                                        }
                                        if !s.learning.is_empty() {
                                            theme::chip_if_room(
                                                ui,
                                                "shared learning",
                                                theme::ACCENT,
                                            );
                                        }
                                        for skill in &s.skills {
                                            if !theme::chip_if_room(ui, skill, theme::GOOD) {
                                                break;
                                            }
                                        }
                                    });
                                });
                            });
                        },
                    );
                }
            });
    }

    fn detail_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, id: &peercoach_core::SessionId) {
        // The record itself, not its list row: a field of the session shows here without
        // passing through the rows.
        let Some(s) = cx
            .snap
            .team
            .sessions
            .get(id)
            .filter(|s| s.deleted_ms.is_none())
            .cloned()
        else {
            self.selected = None;
            return;
        };
        egui::ScrollArea::vertical()
            .id_salt("session-detail-scroll")
            .show(ui, |ui| {
                if self.edit_ui(ui, cx, &s) {
                    return;
                }
                let ahead = s.at_ms > cx.derived.now_ms;
                let mine = cx
                    .snap
                    .me
                    .as_ref()
                    .is_some_and(|me| *me == s.coach || *me == s.coachee);
                ui.horizontal_wrapped(|ui| {
                    ui.heading(&s.topic);
                    if mine
                        && cx.can_act()
                        && ui
                            .small_button("Edit")
                            .on_hover_text(
                                "Change the topic, date, length, skills, notes or shared learning",
                            )
                            .clicked()
                    {
                        self.editing = Some((s.id.clone(), SessionDraft::of(&s)));
                    }
                });
                ui.label(
                    RichText::new(if ahead {
                        format!(
                            "{} will coach {} on {} ({} minutes)",
                            cx.name(&s.coach),
                            cx.name(&s.coachee),
                            local::datetime(s.at_ms),
                            s.minutes
                        )
                    } else {
                        format!(
                            "{} coached {} on {}",
                            cx.name(&s.coach),
                            cx.name(&s.coachee),
                            local::date(s.at_ms)
                        )
                    })
                    .color(theme::muted(ui)),
                );
                if mine && ahead && s.is_scheduled(&cx.snap.team) {
                    ui.horizontal_wrapped(|ui| {
                        if ui
                            .button("Add to calendar")
                            .on_hover_text("Opens this session in your calendar app")
                            .clicked()
                        {
                            cx.outbox.send(
                                query::Calendar {
                                    team: Some(cx.snap.id.clone()),
                                    what: CalendarWhat::Session(s.id.clone()),
                                },
                                Purpose::AddToCalendar(format!("session-{}", s.id)),
                            );
                        }
                        if ahead
                            && ui
                                .button("Cancel this session")
                                .on_hover_text("Both calendars show it cancelled")
                                .clicked()
                        {
                            cx.apply_undoable(
                                Command::DeleteSession {
                                    session: s.id.clone(),
                                },
                                format!("Session cancelled: {}", s.topic),
                                Command::RestoreSession {
                                    session: s.id.clone(),
                                },
                            );
                        }
                    });
                }
                if mine
                    && !ahead
                    && cx.can_act()
                    && ui
                        .button("Delete session")
                        .on_hover_text("It goes to the trash (History) for 30 days")
                        .clicked()
                {
                    cx.apply_undoable(
                        Command::DeleteSession {
                            session: s.id.clone(),
                        },
                        format!("Session deleted: {} (in the trash for 30 days)", s.topic),
                        Command::RestoreSession {
                            session: s.id.clone(),
                        },
                    );
                }
                if !s.skills.is_empty() {
                    ui.horizontal_wrapped(|ui| {
                        for skill in &s.skills {
                            theme::chip(ui, skill, theme::ACCENT);
                        }
                    });
                }
                if !s.notes.is_empty() {
                    ui.label(RichText::new("Notes").strong());
                    ui.label(&s.notes);
                }
                if !s.learning.is_empty() {
                    ui.label(RichText::new("Shared learning").strong());
                    ui.label(&s.learning);
                }
                ui.separator();
                ui.label(RichText::new("Follow-ups").strong());
                for u in &s.followups {
                    let mut done = u.done_ms.is_some();
                    let due = u
                        .due_ms
                        .map(|d| format!(", due {}", local::date(d)))
                        .unwrap_or_default();
                    let label = format!("{} ({}{due})", u.text, cx.name(&u.owner));
                    if ui.checkbox(&mut done, label).changed() && cx.can_act() {
                        let undo = Command::SetFollowUpDone {
                            session: s.id.clone(),
                            followup: u.id.clone(),
                            done: !done,
                        };
                        let set = Command::SetFollowUpDone {
                            session: s.id.clone(),
                            followup: u.id.clone(),
                            done,
                        };
                        if done {
                            cx.apply_undoable(set, format!("Follow-up done: {}", u.text), undo);
                        } else {
                            cx.apply(set, "Follow-up open again");
                        }
                    }
                }
                if cx.can_act() {
                    let draft = self.followup.entry(s.id.clone()).or_default();
                    let field = theme::text_field(
                        ui,
                        "New follow-up",
                        &mut draft.text,
                        "What will happen next?",
                    );
                    ui.horizontal_wrapped(|ui| {
                        ui.label("Whose");
                        let owner = draft.owner.clone().unwrap_or_else(|| s.coachee.clone());
                        for who in [&s.coachee, &s.coach] {
                            if ui.radio(&owner == who, cx.name(who)).clicked() {
                                draft.owner = Some(who.clone());
                            }
                        }
                    });
                    let due_field =
                        theme::text_field(ui, "Due (optional)", &mut draft.due, "YYYY-MM-DD");
                    let due = draft.due.trim();
                    let due_ms = (!due.is_empty()).then(|| local::parse_date(due));
                    if due_ms == Some(None) {
                        ui.colored_label(
                            theme::bad(ui),
                            "Use a date like 2026-10-01, or leave it empty",
                        );
                    }
                    let text = draft.text.trim().to_owned();
                    let ready = !text.is_empty() && due_ms != Some(None);
                    let entered = ready && theme::enter_submits(ui, &[&field, &due_field]);
                    if ui
                        .add_enabled(ready, egui::Button::new("Add follow-up"))
                        .clicked()
                        || entered
                    {
                        let owner = draft.owner.clone();
                        self.followup.remove(&s.id);
                        cx.apply(
                            Command::AddFollowUp(NewFollowUp {
                                session: s.id.clone(),
                                text,
                                owner,
                                due_ms: due_ms.flatten(),
                            }),
                            "Follow-up added",
                        );
                    }
                    let me = cx.snap.me.clone();
                    let other = if me.as_ref() == Some(&s.coachee) {
                        Some(s.coach.clone())
                    } else if me.as_ref() == Some(&s.coach) {
                        Some(s.coachee.clone())
                    } else {
                        None
                    };
                    if let Some(other) = other {
                        ui.separator();
                        let name = cx.name(&other);
                        let draft = self.thanks.entry(s.id.clone()).or_default();
                        let hint = format!("Thank {name}");
                        if let Some(text) = theme::thanks_form(ui, "Thanks note", draft, &hint) {
                            self.thanks.remove(&s.id);
                            cx.apply(
                                Command::Thank(NewThanks {
                                    to: other,
                                    text,
                                    session: Some(s.id.clone()),
                                }),
                                format!("Thanks sent to {name}"),
                            );
                        }
                    }
                }
                let thanks: Vec<_> = cx
                    .snap
                    .team
                    .thanks
                    .values()
                    .filter(|t| t.session.as_ref() == Some(&s.id))
                    .collect();
                for t in thanks {
                    ui.label(
                        RichText::new(format!(
                            "{} thanked {}: {}",
                            cx.name(&t.from),
                            cx.name(&t.to),
                            t.text
                        ))
                        .color(theme::good(ui)),
                    );
                }
                ui.add_space(8.0);
                super::notes::private_notes_ui(
                    ui,
                    cx,
                    &mut self.notes,
                    super::notes::About::Session(s.id.clone()),
                );
                super::history::own_history_ui(ui, cx, &RecordId::Session(s.id.clone()));
                ui.add_space(8.0);
                if ui.button("Close this panel").clicked() {
                    self.selected = None;
                }
            });
    }
}
