//! Private notes, wherever they are written: on a session, on a request, or on their own
//! (reflections, goals, in the inbox). Only this person's own devices ever hold them, and
//! every place that shows them says so.

use crate::local;
use egui::RichText;
use peercoach_core::notes::Note;
use peercoach_core::{RequestId, SessionId};
use peercoach_node::api::call::{self, Call};

use crate::gui::app::{Cx, Purpose};
use crate::gui::theme;

/// What a note is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum About {
    /// A session.
    Session(SessionId),
    /// A request.
    Request(RequestId),
    /// Nothing in particular: a reflection, a goal.
    Nothing,
}

impl About {
    fn matches(&self, note: &Note) -> bool {
        match self {
            About::Session(s) => note.session.as_ref() == Some(s),
            About::Request(r) => note.request.as_ref() == Some(r),
            About::Nothing => note.session.is_none() && note.request.is_none(),
        }
    }
}

/// The words every private field carries.
pub const PRIVATE: &str = "Only you can read this; it is kept on your devices.";

/// Private notes being written, by what they are about (each screen keeps its own).
pub type NoteDrafts = std::collections::BTreeMap<About, String>;

/// My private notes on `about`, and a field to write another.
pub fn private_notes_ui(ui: &mut egui::Ui, cx: &mut Cx<'_>, drafts: &mut NoteDrafts, about: About) {
    theme::private_card(ui, |ui| {
        ui.horizontal(|ui| {
            theme::lock_icon(ui).on_hover_text("Only your own devices hold these");
            ui.label(RichText::new("Private notes").strong());
        });
        ui.label(RichText::new(PRIVATE).color(theme::muted(ui)));
        let notes: Vec<Note> = cx
            .snap
            .notes
            .iter()
            .filter(|n| about.matches(n))
            .cloned()
            .collect();
        for note in &notes {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(local::date(note.created_ms)).color(theme::muted(ui)));
                ui.label(&note.text);
                if ui
                    .small_button("Delete")
                    .on_hover_text("Delete this private note from all your devices")
                    .clicked()
                {
                    let team = Some(cx.snap.id.clone());
                    let undo = call::RestoreNote {
                        team: team.clone(),
                        note: note.id.to_string(),
                    }
                    .request();
                    cx.outbox.send(
                        call::DeleteNote {
                            team,
                            note: note.id.to_string(),
                        },
                        Purpose::Undoable {
                            done: "Private note deleted: it is in the trash for 30 days".into(),
                            undo: Box::new(undo),
                            sent: 0,
                        },
                    );
                }
            });
        }
        if !cx.can_act() {
            return;
        }
        let hint = match about {
            About::Nothing => "A reflection, a goal, what you want to try next…",
            _ => "What you took from it, for yourself…",
        };
        let draft = drafts.entry(about.clone()).or_default();
        theme::text_area(ui, "Your private note", draft, hint);
        let text = draft.trim().to_owned();
        if ui
            .add_enabled(!text.is_empty(), egui::Button::new("Save private note"))
            .clicked()
        {
            drafts.remove(&about);
            let (session, request) = match &about {
                About::Session(s) => (Some(s.to_string()), None),
                About::Request(r) => (None, Some(r.to_string())),
                About::Nothing => (None, None),
            };
            cx.outbox.send(
                call::AddNote {
                    team: Some(cx.snap.id.clone()),
                    text,
                    on_session: session,
                    on_request: request,
                },
                Purpose::Notice("Private note saved: only you can read it".into()),
            );
        }
    });
}
