//! The activity feed with authors and times, and the board as it stood at a past date.

use crate::local;
use egui::RichText;
use peercoach_core::time::{DAY_MS, format_span};
use peercoach_core::views::{self, HistoryKind};

use crate::gui::app::Cx;
use crate::gui::theme;

/// The history screen: the past date the board is shown at, and the filter.
#[derive(Default)]
pub struct History {
    /// YYYY-MM-DD, as typed.
    pub at_date: String,
    /// Text that history items must contain.
    pub filter: String,
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
        let items: Vec<_> = cx
            .derived
            .history(&snap)
            .iter()
            .filter(|h| {
                filter.is_empty()
                    || h.text.to_lowercase().contains(&filter)
                    || h.who_name.to_lowercase().contains(&filter)
            })
            .collect();
        let row = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, row, items.len(), |ui, range| {
                for h in &items[range] {
                    ui.horizontal(|ui| {
                        ui.label(
                            RichText::new(local::datetime(h.at_ms))
                                .monospace()
                                .color(theme::muted(ui)),
                        );
                        let text = format!("{} {}", h.who_name, h.text);
                        if h.kind == HistoryKind::Forged {
                            ui.label(RichText::new(text).color(theme::bad(ui)).strong());
                        } else {
                            ui.label(text);
                        }
                    });
                }
            });
    }
}
