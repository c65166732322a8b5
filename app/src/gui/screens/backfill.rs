//! Handover and backfill plans: every duty should have someone who could step in.

use egui::RichText;
use peercoach_core::NewDuty;
use peercoach_core::{Command, DutyId, Stage};

use crate::gui::app::Cx;
use crate::gui::theme;
use peercoach_core::MemberId;
use std::collections::BTreeMap;

/// The backfill screen: the duty being added and the apprentice picked for each duty.
#[derive(Default)]
pub struct Backfill {
    /// The title of the duty being added.
    pub duty: String,
    /// The apprentice picked, by duty id.
    pub apprentice: BTreeMap<String, Option<MemberId>>,
    /// A duty opened from elsewhere (History, search): marked.
    pub shown: Option<DutyId>,
    /// The duty to scroll to once.
    pub scroll_to: Option<DutyId>,
    /// A duty being renamed, and its new name as typed.
    pub renaming: Option<(DutyId, String)>,
}

impl Backfill {
    /// The backfill screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Backfill",
            "Each duty gets an apprentice moving from shadow to co-do to lead, so someone can step in.",
        );
        let snap = cx.snap.clone();
        let rows = cx.derived.duties(&snap).to_vec();
        let uncovered = rows.iter().filter(|d| !d.covered).count();
        ui.horizontal(|ui| {
            ui.label(crate::output::plural(rows.len(), "duty", "duties"));
            if uncovered > 0 {
                theme::chip(
                    ui,
                    &format!("{uncovered} without a trained backfill"),
                    theme::BAD,
                );
            }
        });
        if cx.can_act() {
            ui.horizontal(|ui| {
                let l = ui.label("New duty of mine");
                ui.add(
                    egui::TextEdit::singleline(&mut self.duty)
                        .hint_text("e.g. Release train captain")
                        .desired_width(260.0),
                )
                .labelled_by(l.id);
                if ui
                    .add_enabled(!self.duty.trim().is_empty(), egui::Button::new("Add duty"))
                    .clicked()
                {
                    let title = std::mem::take(&mut self.duty);
                    cx.apply(
                        Command::AddDuty(NewDuty {
                            title,
                            notes: String::new(),
                            owner: None,
                        }),
                        "Duty listed",
                    );
                }
            });
        }
        ui.add_space(6.0);
        let members: Vec<_> = cx
            .snap
            .team
            .current_members()
            .into_iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for d in rows {
                    let shown = self.shown.as_ref() == Some(&d.id);
                    ui.push_id(d.id.as_str(), |ui| {
                        theme::card(ui, |ui| {
                            let duty = cx.snap.team.duties.get(&d.id).cloned();
                            let may_rename = duty.as_ref().is_some_and(|duty| {
                                cx.snap.me.as_ref().is_some_and(|me| {
                                    *me == duty.owner || Some(me) == duty.listed_by.as_ref()
                                })
                            });
                            if let Some((_, name)) =
                                self.renaming.as_mut().filter(|(id, _)| id == &d.id)
                            {
                                let field = theme::text_field(ui, "New name", name, &d.title);
                                let entered = theme::enter_submits(ui, &[&field]);
                                let ready = !name.trim().is_empty();
                                let end = theme::save_or_cancel(ui, "Save name", ready, entered);
                                if end == Some(theme::FormEnd::Save) {
                                    cx.apply(
                                        Command::RenameDuty {
                                            duty: d.id.clone(),
                                            title: name.clone(),
                                        },
                                        "Duty renamed: History shows the change",
                                    );
                                }
                                if end.is_some() {
                                    self.renaming = None;
                                }
                            }
                            ui.horizontal(|ui| {
                                let title = ui.label(RichText::new(&d.title).strong());
                                if may_rename
                                    && cx.can_act()
                                    && ui
                                        .small_button("Rename")
                                        .on_hover_text("Change this duty's name")
                                        .clicked()
                                {
                                    self.renaming = Some((d.id.clone(), d.title.clone()));
                                }
                                if shown {
                                    let title = title.highlight();
                                    if self.scroll_to.take().is_some() {
                                        title.scroll_to_me(Some(egui::Align::Center));
                                    }
                                }
                                ui.label(
                                    RichText::new(format!("owned by {}", d.owner_name))
                                        .color(theme::muted(ui)),
                                );
                                if d.covered {
                                    theme::chip(ui, "covered", theme::GOOD);
                                } else {
                                    theme::chip(ui, "no trained backfill", theme::BAD);
                                }
                                // Anyone else may put themselves on it.
                                let learner = cx.snap.me.clone().filter(|me| {
                                    !may_rename
                                        && duty.as_ref().is_some_and(|duty| {
                                            !duty.backfills.iter().any(|b| &b.apprentice == me)
                                        })
                                });
                                if let Some(me) = learner
                                    && cx.can_act()
                                    && ui
                                        .small_button("Shadow this")
                                        .on_hover_text(
                                            "Put yourself on it as an apprentice, at shadow",
                                        )
                                        .clicked()
                                {
                                    self.set(cx, &d.id, me, Some(Stage::Shadow));
                                }
                                if may_rename
                                    && cx.can_act()
                                    && ui
                                        .small_button("Remove duty")
                                        .on_hover_text("It goes to the trash (History) for 30 days")
                                        .clicked()
                                {
                                    cx.apply_undoable(
                                        Command::RemoveDuty { duty: d.id.clone() },
                                        format!(
                                            "Duty removed: {} (in the trash for 30 days)",
                                            d.title
                                        ),
                                        Command::RestoreDuty { duty: d.id.clone() },
                                    );
                                }
                            });
                            if let Some(duty) = duty {
                                for b in &duty.backfills {
                                    ui.horizontal(|ui| {
                                        ui.label(cx.name(&b.apprentice));
                                        theme::chip(
                                            ui,
                                            b.stage.as_str(),
                                            theme::stage_color(b.stage),
                                        );
                                        let myself = cx.snap.me.as_ref() == Some(&b.apprentice);
                                        if cx.can_act() && may_rename {
                                            for stage in Stage::ALL {
                                                if stage != b.stage
                                                    && ui
                                                        .small_button(format!(
                                                            "Move to {}",
                                                            stage.as_str()
                                                        ))
                                                        .clicked()
                                                {
                                                    self.set(
                                                        cx,
                                                        &d.id,
                                                        b.apprentice.clone(),
                                                        Some(stage),
                                                    );
                                                }
                                            }
                                            if ui
                                                .small_button("Take off")
                                                .on_hover_text(
                                                    "No longer an apprentice on this duty",
                                                )
                                                .clicked()
                                            {
                                                let name = cx.name(&b.apprentice);
                                                cx.apply_undoable(
                                                    Command::SetBackfill {
                                                        duty: d.id.clone(),
                                                        apprentice: b.apprentice.clone(),
                                                        stage: None,
                                                    },
                                                    format!("{name} is off {}", d.title),
                                                    Command::SetBackfill {
                                                        duty: d.id.clone(),
                                                        apprentice: b.apprentice.clone(),
                                                        stage: Some(b.stage),
                                                    },
                                                );
                                            }
                                        } else if cx.can_act()
                                            && myself
                                            && ui
                                                .small_button("Step off")
                                                .on_hover_text(
                                                    "Stop being an apprentice on this duty",
                                                )
                                                .clicked()
                                        {
                                            self.set(cx, &d.id, b.apprentice.clone(), None);
                                        }
                                    });
                                }
                                for b in &duty.asked {
                                    ui.horizontal(|ui| {
                                        ui.label(cx.name(&b.apprentice));
                                        theme::chip(
                                            ui,
                                            &format!(
                                                "asked to {}: waiting for a yes",
                                                b.stage.as_str()
                                            ),
                                            theme::WARN,
                                        );
                                    });
                                }
                                for who in &duty.declined {
                                    ui.label(
                                        RichText::new(format!("{} said no, thanks", cx.name(who)))
                                            .color(theme::muted(ui)),
                                    );
                                }
                                if may_rename && cx.can_act() {
                                    self.add_apprentice_ui(ui, cx, &d.id, &duty.owner, &members);
                                }
                            }
                            super::history::own_history_ui(
                                ui,
                                cx,
                                &peercoach_core::RecordId::Duty(d.id.clone()),
                            );
                        });
                    });
                }
            });
    }

    fn set(
        &mut self,
        cx: &mut Cx<'_>,
        duty: &DutyId,
        apprentice: peercoach_core::MemberId,
        stage: Option<Stage>,
    ) {
        let name = cx.name(&apprentice);
        let on_it = cx
            .snap
            .team
            .duties
            .get(duty)
            .is_some_and(|d| d.backfills.iter().any(|b| b.apprentice == apprentice));
        let myself = cx.snap.me.as_ref() == Some(&apprentice);
        let done = match stage {
            Some(stage) if on_it || myself => format!("{name}: {}", stage.as_str()),
            Some(stage) => format!(
                "Asked {name} to {}: they are an apprentice once they say yes",
                stage.as_str()
            ),
            None => format!("{name} is off it"),
        };
        cx.apply(
            Command::SetBackfill {
                duty: duty.clone(),
                apprentice,
                stage,
            },
            done,
        );
    }

    fn add_apprentice_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut Cx<'_>,
        duty: &DutyId,
        owner: &peercoach_core::MemberId,
        members: &[(peercoach_core::MemberId, String)],
    ) {
        let mut pick = self.apprentice.get(duty.as_str()).cloned().flatten();
        ui.horizontal(|ui| {
            let current = pick
                .as_ref()
                .and_then(|p| members.iter().find(|(id, _)| id == p))
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| "pick someone".into());
            theme::combo(ui, "Apprentice", current, |ui| {
                for (id, name) in members.iter().filter(|(id, _)| id != owner) {
                    ui.selectable_value(&mut pick, Some(id.clone()), name);
                }
            });
            if ui
                .add_enabled(pick.is_some(), egui::Button::new("Ask to shadow"))
                .on_hover_text("They are an apprentice once they say yes")
                .clicked()
                && let Some(apprentice) = pick.clone()
            {
                self.set(cx, duty, apprentice, Some(Stage::Shadow));
                pick = None;
            }
        });
        self.apprentice.insert(duty.to_string(), pick);
    }
}
