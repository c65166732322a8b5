//! Members, skills (learning → can coach), availability, snooze, the coaching hour and the
//! helper rota.

use crate::local;
use egui::RichText;

use peercoach_core::time::{WEEK_MS, WEEKDAYS, iso_week_key};
use peercoach_core::{Command, SkillLevel};

use crate::gui::app::{Cx, Purpose};
use crate::gui::theme::{self, Column};
use peercoach_node::api::CalendarWhat;
use peercoach_node::api::call::query;

/// The team screen: my profile, skills and wants being edited, and the coaching hour form.
#[derive(Default)]
pub struct TeamScreen {
    /// Availability note being edited.
    pub availability: String,
    /// Skill being added.
    pub skill: String,
    /// Index of the level chosen for it.
    pub skill_level: usize,
    /// Skill I want to learn, being added.
    pub want: String,
    /// Coaching hour: weekday (0 = Monday).
    pub hour_day: u32,
    /// Coaching hour: start, HH:MM.
    pub hour_start: String,
    /// Coaching hour: length.
    pub hour_minutes: String,
    /// Coaching hour: where and how.
    pub hour_note: String,
}

impl TeamScreen {
    /// The team screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Team",
            "Who knows what, who is around, and who floats as a helper this week.",
        );
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                theme::two_columns(ui, |ui, column| match column {
                    Column::First => self.members_ui(ui, cx),
                    Column::Second => {
                        self.profile_ui(ui, cx);
                        ui.add_space(theme::GAP);
                        self.hour_ui(ui, cx);
                        ui.add_space(theme::GAP);
                        self.rota_ui(ui, cx);
                    }
                });
            });
    }

    fn members_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        ui.label(RichText::new("Members and skills").strong());
        let members: Vec<_> = cx
            .snap
            .team
            .current_members()
            .into_iter()
            .cloned()
            .collect();
        for m in members {
            theme::card(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(&m.name).strong());
                    if Some(&m.id) == cx.snap.me.as_ref() {
                        ui.label(RichText::new("(you)").color(theme::muted(ui)));
                    }
                    if m.is_snoozed(cx.derived.now_ms) {
                        theme::chip(
                            ui,
                            &format!(
                                "snoozed until {}",
                                local::date(m.snoozed_until_ms.unwrap_or_default())
                            ),
                            theme::WARN,
                        );
                    }
                });
                ui.horizontal_wrapped(|ui| {
                    let mut skills: Vec<_> = m.skills.iter().collect();
                    skills.sort_by_key(|(s, l)| (std::cmp::Reverse(**l), s.to_string()));
                    for (skill, level) in skills {
                        theme::chip(
                            ui,
                            &format!("{skill}: {}", level.label()),
                            theme::level_color(*level),
                        );
                    }
                    for w in &m.wants {
                        theme::chip(ui, &format!("wants {w}"), theme::muted(ui));
                    }
                });
                if !m.availability.is_empty() {
                    ui.label(
                        RichText::new(format!("Available: {}", m.availability))
                            .color(theme::muted(ui)),
                    );
                }
            });
        }
    }

    fn profile_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let Some(me) = cx.snap.me.clone() else { return };
        if !cx.can_act() {
            return;
        }
        let member = cx.snap.team.members.get(&me).cloned();
        theme::card(ui, |ui| {
            ui.label(RichText::new("My profile").strong());
            if self.availability.is_empty()
                && let Some(m) = &member
            {
                self.availability = m.availability.clone();
            }
            let field = theme::text_field(
                ui,
                "Availability",
                &mut self.availability,
                "e.g. Tue/Thu mornings",
            );
            let entered = theme::enter_submits(ui, &[&field]);
            if ui.button("Save availability").clicked() || entered {
                cx.apply(
                    Command::SetProfile {
                        name: None,
                        availability: Some(self.availability.clone()),
                    },
                    "Availability saved",
                );
            }
            ui.separator();
            ui.horizontal_wrapped(|ui| {
                let l = ui.label("Skill");
                ui.add(
                    egui::TextEdit::singleline(&mut self.skill)
                        .hint_text("e.g. kubernetes")
                        .desired_width(140.0),
                )
                .labelled_by(l.id);
                let levels = ["learning", "can do", "can coach"];
                theme::combo(ui, "Level", levels[self.skill_level.min(2)], |ui| {
                    for (i, name) in levels.iter().enumerate() {
                        ui.selectable_value(&mut self.skill_level, i, *name);
                    }
                });
                if ui
                    .add_enabled(
                        !self.skill.trim().is_empty(),
                        egui::Button::new("Set skill"),
                    )
                    .clicked()
                {
                    let skill = std::mem::take(&mut self.skill);
                    cx.apply(
                        Command::SetSkill {
                            skill,
                            level: Some(SkillLevel::ALL[self.skill_level.min(2)]),
                        },
                        "Skill saved",
                    );
                }
            });
            ui.horizontal_wrapped(|ui| {
                let l = ui.label("Want to learn");
                ui.add(
                    egui::TextEdit::singleline(&mut self.want)
                        .hint_text("e.g. sql")
                        .desired_width(140.0),
                )
                .labelled_by(l.id);
                if ui
                    .add_enabled(!self.want.trim().is_empty(), egui::Button::new("Add"))
                    .clicked()
                {
                    let skill = std::mem::take(&mut self.want);
                    cx.apply(
                        Command::SetWantsToLearn { skill, wants: true },
                        "Added to what you want to learn",
                    );
                }
            });
            ui.separator();
            ui.horizontal_wrapped(|ui| {
                let snoozed = member
                    .as_ref()
                    .is_some_and(|m| m.is_snoozed(cx.derived.now_ms));
                if snoozed {
                    if ui.button("End snooze").clicked() {
                        cx.apply(Command::Snooze { until_ms: None }, "Welcome back");
                    }
                } else {
                    if ui
                        .button("Snooze for a week")
                        .on_hover_text("No nudges, not offered as a helper")
                        .clicked()
                    {
                        cx.apply(
                            Command::Snooze {
                                until_ms: Some(cx.derived.now_ms + WEEK_MS),
                            },
                            "Snoozed for a week",
                        );
                    }
                    if ui.button("Snooze for two weeks").clicked() {
                        cx.apply(
                            Command::Snooze {
                                until_ms: Some(cx.derived.now_ms + 2 * WEEK_MS),
                            },
                            "Snoozed for two weeks",
                        );
                    }
                }
            });
        });
    }

    fn hour_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Team coaching hour").strong());
            match &cx.snap.team.coaching_hour {
                Some(h) => {
                    ui.label(RichText::new(local::describe_hour(h, cx.derived.now_ms)).size(16.0));
                    if !h.note.is_empty() {
                        ui.label(RichText::new(&h.note).color(theme::muted(ui)));
                    }
                    if ui
                        .button("Add to calendar")
                        .on_hover_text("Opens the weekly hour in your calendar app")
                        .clicked()
                    {
                        cx.outbox.send(
                            query::Calendar {
                                team: Some(cx.snap.id.clone()),
                                what: CalendarWhat::Hour,
                            },
                            Purpose::AddToCalendar(format!("coaching-hour-{}", cx.snap.id)),
                        );
                    }
                }
                None => {
                    ui.label("Not set yet: pick a slot everyone protects for coaching.");
                }
            }
            if !cx.can_act() {
                return;
            }
            if self.hour_start.is_empty() {
                let current = cx.snap.team.coaching_hour.clone();
                // The form is on this device's clock; the record keeps UTC.
                let now_ms = cx.derived.now_ms;
                let (day, start, minutes, note) = current
                    .map(|h| {
                        let (day, start) = local::hour_local(&h, now_ms);
                        (day, start, h.minutes, h.note)
                    })
                    .unwrap_or((3, 15 * 60, 60, String::new()));
                self.hour_day = day;
                self.hour_start = format!("{:02}:{:02}", start / 60, start % 60);
                self.hour_minutes = minutes.to_string();
                self.hour_note = note;
            }
            // The zone the typed hour is read in (its next start's, as it is stored).
            let now_ms = cx.derived.now_ms;
            let zone = parse_hhmm(&self.hour_start).map_or_else(
                || local::zone(now_ms),
                |start| local::hour_zone(self.hour_day, start, now_ms),
            );
            let fields = ui.horizontal_wrapped(|ui| {
                theme::combo(ui, "Day", WEEKDAYS[self.hour_day.min(6) as usize], |ui| {
                    for (i, d) in WEEKDAYS.iter().enumerate() {
                        ui.selectable_value(&mut self.hour_day, i as u32, *d);
                    }
                });
                let l = ui.label("Start");
                let start = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.hour_start)
                            .hint_text("15:00")
                            .desired_width(60.0),
                    )
                    .labelled_by(l.id)
                    .on_hover_text(format!("On your clock ({zone})"));
                let l = ui.label("Minutes");
                let minutes = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.hour_minutes)
                            .hint_text("60")
                            .desired_width(50.0),
                    )
                    .labelled_by(l.id);
                [start, minutes]
            });
            let place = theme::text_field(ui, "Where", &mut self.hour_note, "Room or video link");
            let [start_field, minutes_field] = &fields.inner;
            let start = parse_hhmm(&self.hour_start);
            let minutes: Option<u32> = self
                .hour_minutes
                .trim()
                .parse()
                .ok()
                .filter(|m| (1..=480).contains(m));
            let ready = start.is_some() && minutes.is_some();
            let entered = theme::enter_submits(ui, &[start_field, minutes_field, &place]);
            if (ui
                .add_enabled(ready, egui::Button::new("Set coaching hour"))
                .clicked()
                || entered)
                && let (Some(start_minute), Some(minutes)) = (start, minutes)
            {
                let now = cx.derived.now_ms;
                let hour = match &cx.snap.team.coaching_hour {
                    // The same day and time: only its length or place changed, and it
                    // keeps the zone it was set in, whoever edits it.
                    Some(h) if local::hour_local(h, now) == (self.hour_day, start_minute) => {
                        peercoach_core::CoachingHour {
                            minutes,
                            note: self.hour_note.clone(),
                            ..h.clone()
                        }
                    }
                    _ => local::coaching_hour(
                        self.hour_day,
                        start_minute,
                        minutes,
                        self.hour_note.clone(),
                        now,
                    ),
                };
                cx.apply(Command::SetCoachingHour(hour), "Coaching hour set");
            }
        });
    }

    fn rota_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::card(ui, |ui| {
            ui.label(RichText::new("Helper rota").strong());
            ui.label(
                RichText::new(
                    "Floating helpers have no assigned work that week: they only help. Click your \
                     name to float; click a teammate's to ask them: they float once they say yes.",
                )
                .color(theme::muted(ui)),
            );
            let me = cx.snap.me.clone();
            let members: Vec<_> = cx
                .snap
                .team
                .current_members()
                .into_iter()
                .map(|m| (m.id.clone(), m.name.clone()))
                .collect();
            for (offset, label) in [(0, "This week"), (1, "Next week")] {
                let week = iso_week_key(cx.derived.now_ms + offset * WEEK_MS);
                let floating = cx.snap.team.rota.get(&week).cloned().unwrap_or_default();
                ui.label(RichText::new(format!("{label} ({week})")).strong());
                ui.horizontal_wrapped(|ui| {
                    for (id, name) in &members {
                        let on = floating.contains(id);
                        let mine = me.as_ref() == Some(id);
                        // My own question to them, waiting for their answer.
                        let asked = cx.snap.team.rota_asks.iter().any(|a| {
                            a.week == week && &a.member == id && Some(&a.by) == me.as_ref()
                        });
                        let label = if asked {
                            format!("{name} (asked)")
                        } else {
                            name.clone()
                        };
                        // Only they take themselves off.
                        let enabled = cx.can_act() && (mine || !on);
                        let hover = match (mine, on, asked) {
                            (true, true, _) => format!("You float in {week}: click to stop"),
                            (true, false, _) => format!("Float in {week}"),
                            (false, true, _) => format!("{name} floats in {week}"),
                            (false, false, true) => {
                                format!("You asked {name}: click to take your question back")
                            }
                            (false, false, false) => {
                                format!("Ask {name} to float in {week}: they are on once they say yes")
                            }
                        };
                        let r = ui
                            .add_enabled(enabled, egui::Button::selectable(on, label))
                            .on_hover_text(hover);
                        if r.clicked() {
                            let (floating, done) = match (mine, on, asked) {
                                (true, _, _) => (
                                    !on,
                                    format!(
                                        "You {} floating in {week}",
                                        if on { "are no longer" } else { "are" }
                                    ),
                                ),
                                (false, _, true) => {
                                    (false, format!("Took back your question to {name}"))
                                }
                                (false, _, false) => (
                                    true,
                                    format!("Asked {name} to float in {week}: it counts once they say yes"),
                                ),
                            };
                            let set = Command::SetRota {
                                week: week.clone(),
                                member: id.clone(),
                                floating,
                            };
                            // Taking myself off is undone by putting myself back.
                            if mine && on {
                                let undo = Command::SetRota {
                                    week: week.clone(),
                                    member: id.clone(),
                                    floating: true,
                                };
                                cx.apply_undoable(set, done, undo);
                            } else {
                                cx.apply(set, done);
                            }
                        }
                    }
                });
            }
        });
    }
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}
