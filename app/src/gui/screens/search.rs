//! Search everything I may read, from the top bar (Ctrl+F): while there is a query, its
//! results take the screen's place, grouped by kind, each opening its record.

use std::sync::Arc;

use egui::RichText;
use egui::text::{LayoutJob, TextFormat};
use peercoach_core::search::{Group, Index, Opens};

use crate::gui::app::{Action, Cx};
use crate::gui::state::Screen;
use crate::gui::theme;
use crate::local;

/// The most results of each kind shown (the count says how many more there are).
pub const PER_KIND: usize = 10;

/// The query, and what it found.
#[derive(Default)]
pub struct Search {
    /// What is typed in the top bar.
    pub query: String,
    /// Put the cursor in the field on the next frame (Ctrl+F).
    pub focus: bool,
    /// The index, for the team and private notes it was built from.
    index: Option<(
        Arc<peercoach_core::Team>,
        Arc<Vec<peercoach_core::notes::Note>>,
        Index,
    )>,
    /// The results, for the query they answer.
    results: Option<(String, Vec<Group>)>,
}

impl Search {
    /// Whether results take the screen's place.
    pub fn active(&self) -> bool {
        !self.query.trim().is_empty()
    }

    /// The field in the top bar.
    pub fn field_ui(&mut self, ui: &mut egui::Ui) {
        let field = ui.add(
            egui::TextEdit::singleline(&mut self.query)
                .hint_text("Search (Ctrl+F)")
                .desired_width(200.0),
        );
        let l = ui.label("Search");
        let field = field.labelled_by(l.id);
        if std::mem::take(&mut self.focus) {
            field.request_focus();
        }
    }

    /// The results, in the screen's place.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let query = self.query.trim().to_owned();
        let groups = self.find(cx, &query);
        let total: usize = groups.iter().map(|g| g.total).sum();
        theme::title(
            ui,
            "Search",
            &match total {
                0 => format!("Nothing you may read has all of: {query}"),
                1 => format!("1 result for \"{query}\""),
                n => format!("{n} results for \"{query}\""),
            },
        );
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let mut open = None;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for g in &groups {
                    let more = if g.total > g.hits.len() {
                        format!(" — the newest {} of {}", g.hits.len(), g.total)
                    } else {
                        format!(" ({})", g.total)
                    };
                    ui.label(RichText::new(format!("{}{more}", g.kind.label())).strong());
                    for (i, h) in g.hits.iter().enumerate() {
                        ui.push_id((g.kind, i), |ui| {
                            theme::card(ui, |ui| {
                                ui.horizontal_wrapped(|ui| {
                                    if ui.link(&h.title).clicked() {
                                        open = Some(h.opens.clone());
                                    }
                                    ui.label(
                                        RichText::new(local::date(h.at_ms)).color(theme::muted(ui)),
                                    );
                                });
                                if !h.snippet.is_empty() && !h.title.contains(&h.snippet) {
                                    ui.label(marked(ui, &h.snippet, &words));
                                }
                            });
                        });
                    }
                    ui.add_space(theme::GAP);
                }
            });
        if let Some(opens) = open {
            self.query.clear();
            match opens {
                Opens::Request(id) => cx.outbox.act(Action::ShowRequest(id)),
                Opens::Session(id) => cx.outbox.act(Action::ShowSession(id)),
                Opens::Duty(id) => cx.outbox.act(Action::ShowDuty(id)),
                // An offer to a person and a note about nothing are in the inbox.
                Opens::Offer(_) | Opens::Note(_) => cx.prefs.screen = Screen::Inbox,
            }
        }
    }

    /// The results for `query`, found once per query and per version of the team.
    fn find(&mut self, cx: &Cx<'_>, query: &str) -> Vec<Group> {
        let fresh = self.index.as_ref().is_some_and(|(team, notes, _)| {
            Arc::ptr_eq(team, &cx.snap.team) && Arc::ptr_eq(notes, &cx.snap.notes)
        });
        if !fresh {
            let index = Index::new(&cx.snap.team, &cx.snap.notes, cx.snap.me.as_ref());
            self.index = Some((cx.snap.team.clone(), cx.snap.notes.clone(), index));
            self.results = None;
        }
        if let Some((q, groups)) = &self.results
            && q == query
        {
            return groups.clone();
        }
        let groups = self
            .index
            .as_ref()
            .map(|(_, _, index)| index.find(query, PER_KIND))
            .unwrap_or_default();
        self.results = Some((query.to_owned(), groups.clone()));
        groups
    }
}

/// `text` with `words` marked, as a person scanning results would want them.
fn marked(ui: &egui::Ui, text: &str, words: &[String]) -> LayoutJob {
    let plain = TextFormat {
        font_id: egui::TextStyle::Body.resolve(ui.style()),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let strong = TextFormat {
        color: ui.visuals().strong_text_color(),
        background: theme::ACCENT.gamma_multiply(0.35),
        ..plain.clone()
    };
    let mut job = LayoutJob::default();
    let mut at = 0;
    for r in peercoach_core::search::matches(text, words) {
        job.append(&text[at..r.start], 0.0, plain.clone());
        job.append(&text[r.clone()], 0.0, strong.clone());
        at = r.end;
    }
    job.append(&text[at..], 0.0, plain);
    job.wrap.max_width = ui.available_width();
    job
}
