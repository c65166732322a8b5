//! The activity feed with authors and times, each line opening its record; the trash;
//! and the board as it stood at a past date.

use crate::local;
use egui::RichText;
use peercoach_core::time::{DAY_MS, format_span};
use peercoach_core::trash::Trashed;
use peercoach_core::views::{self, HistoryItem, HistoryKind};
use peercoach_core::{Command, RecordId};
use peercoach_node::api::call::{self, query};

use crate::gui::app::{Action, Cx, Purpose};
use crate::gui::theme;

/// The history screen: the past date the board is shown at, the filter, and the trash.
#[derive(Default)]
pub struct History {
    /// YYYY-MM-DD, as typed.
    pub at_date: String,
    /// Text that history items must contain.
    pub filter: String,
    /// What can be restored, as the node last said.
    pub trash: Vec<Trashed>,
    /// The snapshot version the trash was asked for at.
    trash_asked: Option<u64>,
}

/// The record a history line opens, as an action (`None` for one that no longer shows
/// anywhere, such as a session in the trash).
fn opens(cx: &Cx<'_>, record: &RecordId) -> Option<Action> {
    let team = &cx.snap.team;
    match record {
        RecordId::Request(id) => team
            .requests
            .contains_key(id)
            .then(|| Action::ShowRequest(id.clone())),
        RecordId::Session(id) => team
            .sessions
            .get(id)
            .filter(|s| s.deleted_ms.is_none())
            .map(|_| Action::ShowSession(id.clone())),
        RecordId::Duty(id) => team
            .duties
            .get(id)
            .filter(|d| d.deleted_ms.is_none())
            .map(|_| Action::ShowDuty(id.clone())),
        RecordId::Offer(_) => Some(Action::ShowInbox),
        RecordId::Member(_) => Some(Action::ShowTeam),
        _ => None,
    }
}

/// One history line: when, who, what; a button that opens its record when it has one.
fn line_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, h: &HistoryItem) {
    ui.horizontal(|ui| {
        let rich = when_and_what(ui, h);
        match h.record.as_ref().and_then(|r| opens(cx, r)) {
            Some(action) => {
                if ui
                    .add(egui::Button::new(rich).frame(false))
                    .on_hover_text("Open it")
                    .clicked()
                {
                    cx.outbox.act(action);
                }
            }
            None => {
                ui.label(rich);
            }
        }
    });
}

/// A record's own history, oldest first, folded under its panel.
pub fn own_history_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, record: &RecordId) {
    // Worked out only when opened: the team's history is long, and every change makes a
    // new one.
    egui::CollapsingHeader::new("History")
        .id_salt(("own-history", record.as_str()))
        .show(ui, |ui| {
            let snap = cx.snap.clone();
            for h in &cx.derived.history_of(&snap, record) {
                ui.horizontal_wrapped(|ui| {
                    let rich = when_and_what(ui, h);
                    ui.label(rich);
                });
            }
        });
}

/// A history line's time, drawn; and its words (who, what), red when flagged, to draw.
fn when_and_what(ui: &mut egui::Ui, h: &HistoryItem) -> RichText {
    ui.label(
        RichText::new(local::datetime(h.at_ms))
            .monospace()
            .color(theme::muted(ui)),
    );
    let text = RichText::new(format!("{} {}", h.who_name, h.text));
    if h.kind == HistoryKind::Forged {
        text.color(theme::bad(ui)).strong()
    } else {
        text
    }
}

impl History {
    /// The history screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "History",
            "Everything that happened, with who did it. Entries that claim to speak for someone else are flagged.",
        );
        theme::card(ui, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("Board as it stood on");
                ui.add(
                    egui::TextEdit::singleline(&mut self.at_date)
                        .hint_text("YYYY-MM-DD")
                        .desired_width(110.0),
                )
                .labelled_by(l.id);
                // The end of that day on this device's clock.
                let at = local::parse_date(&self.at_date).map(|d| d + DAY_MS - 1);
                if ui
                    .add_enabled(at.is_some(), egui::Button::new("Show past board"))
                    .clicked()
                    && let Some(at) = at
                {
                    cx.derived.board_at = Some((at, views::board_at(&cx.snap.team, at)));
                }
                if cx.derived.board_at.is_some() && ui.button("Hide").clicked() {
                    cx.derived.board_at = None;
                }
                if !self.at_date.is_empty() && at.is_none() {
                    ui.colored_label(theme::bad(ui), "Use a date like 2026-10-01");
                }
            });
            if let Some((at, rows)) = &cx.derived.board_at {
                ui.label(
                    RichText::new(format!(
                        "Read-only: the board at the end of {}: {} open",
                        local::date(*at),
                        rows.len()
                    ))
                    .strong(),
                );
                egui::ScrollArea::vertical()
                    .id_salt("past-board")
                    .max_height(200.0)
                    .show(ui, |ui| {
                        for r in rows {
                            ui.label(format!(
                                "{} — {} ({}, waiting {})",
                                r.title,
                                r.author_name,
                                r.status.label(),
                                format_span(r.waiting_ms)
                            ));
                        }
                    });
            }
        });
        ui.add_space(6.0);
        self.trash_ui(ui, cx);
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("name or words")
                    .desired_width(220.0),
            )
            .labelled_by(l.id);
        });
        let filter = self.filter.trim().to_lowercase();
        let snap = cx.snap.clone();
        // Positions in the cached history: only the rows on screen are copied.
        let items: Vec<usize> = cx
            .derived
            .history(&snap)
            .iter()
            .enumerate()
            .filter(|(_, h)| {
                filter.is_empty()
                    || h.text.to_lowercase().contains(&filter)
                    || h.who_name.to_lowercase().contains(&filter)
            })
            .map(|(i, _)| i)
            .collect();
        let row = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, row, items.len(), |ui, range| {
                for &i in &items[range] {
                    let Some(h) = cx.derived.history(&snap).get(i).cloned() else {
                        continue;
                    };
                    line_ui(ui, cx, &h);
                }
            });
    }

    /// The trash: what was deleted in the last 30 days, each with Restore.
    fn trash_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        // Asked again after every change (a deletion or a restore anywhere).
        if self.trash_asked != Some(cx.snap.version) {
            self.trash_asked = Some(cx.snap.version);
            cx.outbox.send(
                query::Trash {
                    team: Some(cx.snap.id.clone()),
                },
                Purpose::Trash,
            );
        }
        let heading = if self.trash.is_empty() {
            "Trash (empty)".to_owned()
        } else {
            format!("Trash ({})", self.trash.len())
        };
        egui::CollapsingHeader::new(heading)
            .id_salt("trash")
            .show(ui, |ui| {
                ui.label(
                    RichText::new(format!(
                        "Sessions you were in, duties and your private notes deleted in the last {} days. Restore brings one back for everyone who could see it.",
                        peercoach_core::trash::KEEP_DAYS
                    ))
                    .color(theme::muted(ui)),
                );
                if self.trash.is_empty() {
                    ui.label("Nothing was deleted in the last 30 days.");
                }
                for t in self.trash.clone() {
                    ui.push_id(t.record.as_str(), |ui| {
                        ui.horizontal_wrapped(|ui| {
                            theme::chip(ui, &t.what, theme::ACCENT);
                            ui.label(RichText::new(&t.title).strong());
                            let by = t
                                .deleted_by
                                .as_ref()
                                .map(|b| format!(" by {}", cx.name(b)))
                                .unwrap_or_default();
                            ui.label(
                                RichText::new(format!(
                                    "deleted{by} {}, restorable until {}",
                                    local::datetime(t.deleted_ms),
                                    local::date(t.until_ms)
                                ))
                                .color(theme::muted(ui)),
                            );
                            if cx.can_act()
                                && ui
                                    .button("Restore")
                                    .on_hover_text(format!("Bring back: {}", t.title))
                                    .clicked()
                            {
                                restore(cx, &t);
                            }
                        });
                    });
                }
            });
    }
}

/// Takes one thing out of the trash.
fn restore(cx: &mut Cx<'_>, t: &Trashed) {
    let done = format!("Restored: {}", t.title);
    match &t.record {
        RecordId::Session(session) => cx.apply(
            Command::RestoreSession {
                session: session.clone(),
            },
            done,
        ),
        RecordId::Duty(duty) => cx.apply(Command::RestoreDuty { duty: duty.clone() }, done),
        RecordId::Note(note) => cx.outbox.send(
            call::RestoreNote {
                team: Some(cx.snap.id.clone()),
                note: note.to_string(),
            },
            Purpose::Notice(done),
        ),
        _ => {}
    }
}
