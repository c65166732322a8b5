//! The help board: longest-waiting and not-yet-helped people first.

use crate::local;
use std::sync::Arc;

use egui::RichText;
use peercoach_core::Command;
use peercoach_core::suggest;
use peercoach_core::time::format_span;
use peercoach_core::views::{self, RequestStatus};
use peercoach_node::TeamSnapshot;

use crate::gui::app::Action;
use crate::gui::app::Cx;
use crate::gui::theme::{self, Column};
use peercoach_core::RequestId;

/// The help board: the selected request, the comment being written, private note drafts.
#[derive(Default)]
pub struct Board {
    /// The request whose details are open.
    pub selected: Option<RequestId>,
    /// The comment being written.
    pub comment: String,
    /// Private notes being written.
    pub notes: super::notes::NoteDrafts,
    /// Who could help with the open request, as of one snapshot of the team.
    helpers: Option<(RequestId, Arc<TeamSnapshot>, Vec<suggest::Suggestion>)>,
    /// Showing the closed requests instead of the open ones.
    pub show_closed: bool,
    /// The closed requests, as of one snapshot of the team.
    closed: Option<(Arc<TeamSnapshot>, Vec<views::ClosedRow>)>,
    /// My request being edited, and the form's fields.
    pub editing: Option<(RequestId, RequestDraft)>,
}

/// The fields of a request being edited, as typed.
#[derive(Debug, Clone, Default)]
pub struct RequestDraft {
    /// Title.
    pub title: String,
    /// What I tried.
    pub tried: String,
    /// Skill tags, comma-separated.
    pub skills: String,
    /// How soon.
    pub urgency: peercoach_core::Urgency,
    /// The request as the form was opened on: what I did not touch is not sent, so an
    /// edit another device made meanwhile stays.
    opened: Option<Box<peercoach_core::Request>>,
}

impl RequestDraft {
    /// The form filled in from the request.
    fn of(r: &peercoach_core::Request) -> Self {
        Self {
            title: r.title.clone(),
            tried: r.tried.clone(),
            skills: r.skills.iter().cloned().collect::<Vec<_>>().join(", "),
            urgency: r.urgency,
            opened: Some(Box::new(r.clone())),
        }
    }

    /// Only the fields I changed in the form.
    fn change(&self, live: &peercoach_core::Request) -> peercoach_core::RequestEdit {
        let r = self.opened.as_deref().unwrap_or(live);
        let skills = crate::gui::state::tags(&self.skills);
        let same_skills = skills
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            == r.skills;
        peercoach_core::RequestEdit {
            title: (self.title.trim() != r.title).then(|| self.title.clone()),
            tried: (self.tried.trim() != r.tried).then(|| self.tried.clone()),
            skills: (!same_skills).then_some(skills),
            urgency: (self.urgency != r.urgency).then_some(self.urgency),
        }
    }
}

impl Board {
    /// The form that edits my request; true while it is shown.
    fn edit_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut Cx<'_>,
        id: &RequestId,
        r: &peercoach_core::Request,
    ) -> bool {
        let Some((_, draft)) = self.editing.as_mut().filter(|(e, _)| e == id) else {
            return false;
        };
        ui.heading("Edit your request");
        let title = theme::text_field(ui, "Title", &mut draft.title, "A short title");
        theme::text_area(
            ui,
            "What I tried",
            &mut draft.tried,
            "What you tried already",
        );
        let skills = theme::text_field(ui, "Skills", &mut draft.skills, "e.g. kubernetes, ops");
        let current = draft.urgency.as_str();
        theme::combo(ui, "Urgency", current, |ui| {
            for u in peercoach_core::Urgency::ALL {
                ui.selectable_value(&mut draft.urgency, u, u.as_str());
            }
        });
        let ready = !draft.title.trim().is_empty();
        if !ready {
            ui.colored_label(theme::bad(ui), "A request needs a title");
        }
        let entered = theme::enter_submits(ui, &[&title, &skills]);
        let end = theme::save_or_cancel(ui, "Save changes", ready, entered);
        if end == Some(theme::FormEnd::Save) {
            let change = draft.change(r);
            if change == peercoach_core::RequestEdit::default() {
                cx.outbox.act(Action::Notice("Nothing changed".into()));
            } else {
                cx.apply(
                    Command::EditRequest {
                        request: id.clone(),
                        change,
                    },
                    "Request saved: History shows the change",
                );
            }
        }
        if end.is_some() {
            self.editing = None;
        }
        true
    }
}

impl Board {
    /// Who could help with this open request, and why; its author may ask one of them
    /// ("Ask Ana" aims the request at her), or the whole team again.
    fn helpers_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut Cx<'_>,
        r: &peercoach_core::Request,
        id: &RequestId,
        mine: bool,
    ) {
        // Worked out once per snapshot of the team, not every frame.
        let fresh = matches!(&self.helpers, Some((for_id, of, _)) if for_id == id && Arc::ptr_eq(of, cx.snap));
        if !fresh {
            let list = suggest::suggest(&cx.snap.team, id, cx.derived.now_ms);
            self.helpers = Some((id.clone(), Arc::clone(cx.snap), list));
        }
        let list = self
            .helpers
            .as_ref()
            .map(|(_, _, l)| l.clone())
            .unwrap_or_default();
        ui.label(RichText::new("Who could help").strong())
            .on_hover_text(
                "Teammates who can coach or do one of its skills and are around: this week's \
                 floater first, then whoever has helped least lately, then people new to the \
                 asker. Never a ranking of people.",
            );
        if list.is_empty() {
            ui.label(
                RichText::new(if r.skills.is_empty() {
                    "Skills on a request say who could help: this one has none."
                } else {
                    "Nobody else who is around can coach or do its skills yet."
                })
                .color(theme::muted(ui)),
            );
        }
        for s in &list {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(&s.name).strong());
                ui.label(RichText::new(s.why_line()).color(theme::muted(ui)));
                if mine
                    && cx.can_act()
                    && ui
                        .button(format!("Ask {}", s.name))
                        .on_hover_text(format!(
                            "Aim this request at {}: they answer it as any request for them",
                            s.name
                        ))
                        .clicked()
                {
                    cx.apply(
                        Command::AimRequest {
                            request: id.clone(),
                            to: Some(s.member.clone()),
                        },
                        format!("Asked {}: the request is aimed at them now", s.name),
                    );
                }
            });
        }
        if mine
            && cx.can_act()
            && r.to.is_some()
            && ui.button("Ask the whole team instead").clicked()
        {
            cx.apply(
                Command::AimRequest {
                    request: id.clone(),
                    to: None,
                },
                "The request is for the whole team again",
            );
        }
    }

    /// The board screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Help board",
            "Order: requests nobody is on yet; among them people never helped before, then the most urgent, then the longest waiting. Offering help asks first; advice waits for a yes.",
        );
        // A team of one (just made): the next step is to invite the others.
        if cx.can_act() && cx.snap.team.current_members().len() == 1 {
            theme::card(ui, |ui| {
                ui.label(RichText::new("Invite your team").strong());
                ui.label(
                    RichText::new(
                        "peercoach works between teammates: invite them, and their asks, \
                         offers and sessions show up here. Each invite works once, for one \
                         person.",
                    )
                    .color(theme::muted(ui)),
                );
                if ui.button("Invite a teammate…").clicked() {
                    crate::gui::screens::sync::invite_teammate_now(cx);
                }
            });
            ui.add_space(theme::GAP);
        }
        // Open or closed: a resolved or withdrawn request is found again here.
        // Worked out again for each new snapshot (one is kept, so none is mistaken for it).
        let fresh = matches!(&self.closed, Some((of, _)) if Arc::ptr_eq(of, cx.snap));
        if !fresh {
            self.closed = Some((Arc::clone(cx.snap), views::closed(&cx.snap.team)));
        }
        let closed_count = self.closed.as_ref().map_or(0, |(_, c)| c.len());
        ui.horizontal(|ui| {
            let open = format!("Open ({})", cx.derived.board.len());
            if ui.selectable_label(!self.show_closed, open).clicked() && self.show_closed {
                self.show_closed = false;
                self.selected = None;
            }
            let closed = format!("Closed ({closed_count})");
            if ui
                .selectable_label(self.show_closed, closed)
                .on_hover_text(
                    "Resolved and withdrawn requests: open one to read it, or reopen yours",
                )
                .clicked()
                && !self.show_closed
            {
                self.show_closed = true;
                self.selected = None;
            }
        });
        ui.add_space(4.0);
        if self.show_closed {
            self.closed_screen_ui(ui, cx);
            return;
        }
        let rows = cx.derived.board.len();
        if rows == 0 {
            theme::card(ui, |ui| {
                ui.label("Nobody is waiting for help right now.");
                if cx.can_act() && ui.button("I could use help").clicked() {
                    cx.outbox.act(Action::Ask);
                }
            });
            return;
        }
        let open = self.selected.is_some();
        if theme::master_detail(ui, open, |ui, column| match column {
            Column::First => self.list_ui(ui, cx),
            Column::Second => self.detail_ui(ui, cx),
        }) {
            self.selected = None;
        }
    }

    /// The closed requests, and the one open beside (or in place of) them.
    fn closed_screen_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        if self.closed.as_ref().is_none_or(|(_, c)| c.is_empty()) {
            ui.label(RichText::new("Nothing resolved or withdrawn yet.").color(theme::muted(ui)));
            return;
        }
        let open = self.selected.is_some();
        if theme::master_detail(ui, open, |ui, column| match column {
            Column::First => self.closed_list_ui(ui),
            Column::Second => self.detail_ui(ui, cx),
        }) {
            self.selected = None;
        }
    }

    /// Closed requests, the latest first: one row each.
    fn closed_list_ui(&mut self, ui: &mut egui::Ui) {
        // Borrowed from the cache, not copied each frame.
        let Some((_, rows)) = &self.closed else {
            return;
        };
        let selected = &mut self.selected;
        egui::ScrollArea::vertical()
            .id_salt("closed")
            .auto_shrink([false, false])
            .show_rows(ui, theme::ROW_HEIGHT, rows.len(), |ui, range| {
                for row in &rows[range] {
                    ui.allocate_ui(
                        egui::vec2(ui.available_width(), theme::ROW_HEIGHT - 6.0),
                        |ui| {
                            theme::row_title(ui, selected, &row.id, &row.title);
                            ui.add(
                                egui::Label::new(
                                    RichText::new(format!(
                                        "{} · {} on {}",
                                        row.author_name,
                                        row.closed.as_str(),
                                        local::date(row.closed_ms)
                                    ))
                                    .color(theme::muted(ui)),
                                )
                                .truncate(),
                            );
                        },
                    );
                }
            });
    }

    /// The requests, one row each (only the rows in sight are drawn).
    fn list_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let rows = cx.derived.board.len();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, theme::ROW_HEIGHT, rows, |ui, range| {
                for i in range {
                    let Some(row) = cx.derived.board.get(i).cloned() else {
                        continue;
                    };
                    ui.allocate_ui(
                        egui::vec2(ui.available_width(), theme::ROW_HEIGHT - 6.0),
                        |ui| {
                            ui.horizontal(|ui| {
                                ui.add_space(4.0);
                                theme::dot(
                                    ui,
                                    if row.status == RequestStatus::Open {
                                        theme::urgency_color(row.urgency)
                                    } else {
                                        theme::GOOD
                                    },
                                )
                                .on_hover_text(row.status.label());
                                ui.vertical(|ui| {
                                    theme::row_title(ui, &mut self.selected, &row.id, &row.title);
                                    ui.horizontal(|ui| {
                                        let mut meta = format!(
                                            "{} · waiting {}",
                                            row.author_name,
                                            format_span(row.waiting_ms)
                                        );
                                        if let Some(to) = &row.to_name {
                                            meta.push_str(&format!(" · for {to}"));
                                        }
                                        if let Some(h) = &row.helped_by {
                                            meta.push_str(&format!(" · being helped by {h}"));
                                        } else if let Some(c) = &row.claimed_by {
                                            meta.push_str(&format!(" · {c} is on it"));
                                        } else if row.status == RequestStatus::BeingHelped {
                                            meta.push_str(" · being helped");
                                        }
                                        // The row never grows wider than the list: a
                                        // long line is cut short, chips without room left
                                        // out (the detail has everything).
                                        let most = ui.available_width() * 0.6;
                                        ui.scope(|ui| {
                                            ui.set_max_width(most);
                                            ui.add(
                                                egui::Label::new(
                                                    RichText::new(meta).color(theme::muted(ui)),
                                                )
                                                .truncate(),
                                            );
                                        });
                                        if cx.derived.raised(&row) {
                                            theme::chip_if_room(ui, "no offer yet", theme::WARN);
                                        }
                                        if row.first_time {
                                            theme::chip_if_room(
                                                ui,
                                                "first time asking",
                                                theme::WARN,
                                            );
                                        }
                                        theme::chip_if_room(
                                            ui,
                                            row.urgency.as_str(),
                                            theme::urgency_color(row.urgency),
                                        );
                                        for s in row.skills.iter().take(3) {
                                            if !theme::chip_if_room(ui, s, theme::ACCENT) {
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

    fn detail_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        let Some(id) = self.selected.clone() else {
            return;
        };
        let Some(r) = cx.snap.team.requests.get(&id).cloned() else {
            self.selected = None;
            return;
        };
        let me = cx.snap.me.clone();
        let row = cx.derived.board.iter().find(|b| b.id == id).cloned();
        egui::ScrollArea::vertical()
            .id_salt("detail-scroll")
            .show(ui, |ui| {
                if self.edit_ui(ui, cx, &id, &r) {
                    return;
                }
                ui.horizontal_wrapped(|ui| {
                    ui.heading(&r.title);
                    if me.as_ref() == Some(&r.author)
                        && cx.can_act()
                        && ui
                            .small_button("Edit")
                            .on_hover_text("Change the title, what you tried, skills or urgency")
                            .clicked()
                    {
                        self.editing = Some((id.clone(), RequestDraft::of(&r)));
                    }
                });
                ui.label(
                    RichText::new(format!(
                        "asked by {} on {}",
                        cx.name(&r.author),
                        local::datetime(r.created_ms)
                    ))
                    .color(theme::muted(ui)),
                );
                if let Some(to) = &r.to {
                    ui.label(format!("A \"coach me\" request for {}", cx.name(to)));
                }
                ui.add_space(6.0);
                if !r.tried.is_empty() {
                    ui.label(RichText::new("What I tried").strong());
                    ui.label(&r.tried);
                }
                ui.horizontal_wrapped(|ui| {
                    for s in &r.skills {
                        theme::chip(ui, s, theme::ACCENT);
                    }
                });
                if let Some(row) = row.as_ref().filter(|row| cx.derived.raised(row)) {
                    ui.label(
                        RichText::new(format!(
                            "Nobody has offered in {}. It was raised to this week's floating \
                             helper, or to everyone who can do its skills when nobody floats.",
                            format_span(row.waiting_ms)
                        ))
                        .color(theme::warn(ui)),
                    );
                }
                ui.add_space(8.0);
                let mine = me.as_ref() == Some(&r.author);
                let holder = r.winning_claim().map(|c| c.member.clone());
                // Whose offer the author said yes to, first.
                let helper = row.as_ref().and_then(|row| row.helper.clone());
                if let Some((closed, at)) = r.closed_at(i64::MAX) {
                    ui.label(
                        RichText::new(format!(
                            "{} on {}",
                            match closed {
                                peercoach_core::model::Closed::Resolved => "Resolved",
                                peercoach_core::model::Closed::Withdrawn => "Withdrawn",
                            },
                            local::datetime(at)
                        ))
                        .strong(),
                    );
                    if mine
                        && cx.can_act()
                        && ui
                            .button("Reopen")
                            .on_hover_text("Put it back on the board")
                            .clicked()
                    {
                        cx.apply(
                            Command::Reopen {
                                request: id.clone(),
                            },
                            "Reopened: it is back on the board",
                        );
                        // Where it now is: among the open requests, still shown.
                        self.show_closed = false;
                    }
                } else if cx.can_act() {
                    ui.horizontal_wrapped(|ui| {
                        if mine {
                            if ui.button("Resolve").on_hover_text("Mark it done").clicked() {
                                cx.apply_undoable(
                                    Command::Resolve {
                                        request: id.clone(),
                                    },
                                    format!("Resolved: {}", r.title),
                                    Command::Reopen {
                                        request: id.clone(),
                                    },
                                );
                            }
                            if ui.button("Withdraw").clicked() {
                                cx.apply_undoable(
                                    Command::Withdraw {
                                        request: id.clone(),
                                    },
                                    format!("Withdrawn: {}", r.title),
                                    Command::Reopen {
                                        request: id.clone(),
                                    },
                                );
                                self.selected = None;
                            }
                        } else if let Some(helper) = helper.as_ref().filter(|h| Some(*h) != me.as_ref()) {
                            // Someone's offer got a yes: no second helper is invited.
                            ui.label(
                                RichText::new(format!(
                                    "{} is being helped by {}: no need to offer too. A comment reaches them both.",
                                    cx.name(&r.author),
                                    cx.name(helper)
                                ))
                                .color(theme::muted(ui)),
                            );
                        } else {
                            match &holder {
                                None => {
                                    if ui
                                        .button("I'm on it")
                                        .on_hover_text("Claim this request")
                                        .clicked()
                                    {
                                        cx.apply(
                                            Command::Claim {
                                                request: id.clone(),
                                            },
                                            "You are on it",
                                        );
                                    }
                                }
                                Some(h) if Some(h) == me.as_ref() => {
                                    if ui.button("Resolve").clicked() {
                                        cx.apply(
                                            Command::Resolve {
                                                request: id.clone(),
                                            },
                                            "Resolved",
                                        );
                                    }
                                    if ui.button("Let go").clicked() {
                                        cx.apply_undoable(
                                            Command::ReleaseClaim {
                                                request: id.clone(),
                                            },
                                            format!("You let go of: {}", r.title),
                                            Command::Claim {
                                                request: id.clone(),
                                            },
                                        );
                                    }
                                }
                                Some(h) => {
                                    ui.label(format!("{} is on it", cx.name(h)));
                                }
                            }
                            if ui
                                .button("Offer help…")
                                .on_hover_text("Ask \"Would you like some help?\"")
                                .clicked()
                            {
                                cx.outbox.act(Action::Offer(super::dialogs::OfferForm {
                                    open: true,
                                    request: Some(id.clone()),
                                    ..Default::default()
                                }));
                            }
                        }
                    });
                }
                let offers: Vec<_> = cx
                    .snap
                    .team
                    .offers
                    .values()
                    .filter(|o| o.request.as_ref() == Some(&id))
                    .cloned()
                    .collect();
                if !offers.is_empty() {
                    ui.separator();
                    ui.label(RichText::new("Offers of help").strong());
                    for o in &offers {
                        let row = peercoach_core::views::offer_row(&cx.snap.team, o, me.as_ref());
                        ui.label(format!(
                            "{} asked \"Would you like some help?\" — {}",
                            row.from_name,
                            row.status.as_str()
                        ));
                        match (&row.message, row.message_hidden) {
                            (Some(m), _) => {
                                ui.label(
                                    RichText::new(format!("{}'s advice: {m}", row.from_name))
                                        .italics(),
                                );
                            }
                            (None, true) => {
                                ui.label(
                                    RichText::new("Advice waits for a yes.")
                                        .color(theme::muted(ui)),
                                );
                            }
                            (None, false) => {}
                        }
                    }
                }
                if let Some(row) = &row
                    && row.pending_offers > 0
                {
                    ui.label(
                        RichText::new(format!(
                            "{} waiting for {}'s answer",
                            crate::output::plural(row.pending_offers, "offer", "offers"),
                            row.author_name
                        ))
                        .color(theme::muted(ui)),
                    );
                }
                if r.is_active() {
                    ui.separator();
                    self.helpers_ui(ui, cx, &r, &id, mine);
                }
                ui.separator();
                ui.label(RichText::new("Comments").strong());
                for c in r.comments.iter().filter(|c| c.deleted_ms.is_none()) {
                    ui.label(
                        RichText::new(format!(
                            "{} · {}",
                            cx.name(&c.author),
                            local::datetime(c.at_ms)
                        ))
                        .small()
                        .color(theme::muted(ui)),
                    );
                    ui.label(&c.text);
                }
                if cx.can_act() {
                    theme::text_area(ui, "Add a comment", &mut self.comment, "Write a comment");
                    if ui
                        .add_enabled(
                            !self.comment.trim().is_empty(),
                            egui::Button::new("Post comment"),
                        )
                        .clicked()
                    {
                        let text = std::mem::take(&mut self.comment);
                        cx.apply(
                            Command::Comment {
                                request: id.clone(),
                                text,
                            },
                            "Comment posted",
                        );
                    }
                }
                ui.add_space(8.0);
                super::notes::private_notes_ui(
                    ui,
                    cx,
                    &mut self.notes,
                    super::notes::About::Request(id.clone()),
                );
                super::history::own_history_ui(
                    ui,
                    cx,
                    &peercoach_core::RecordId::Request(id.clone()),
                );
                ui.add_space(8.0);
                if ui.button("Close this panel").clicked() {
                    self.selected = None;
                }
            });
    }
}
