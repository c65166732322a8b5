//! The modal forms: ask for help, offer help (a question first), log a session, and the
//! removal confirmation.

use egui::RichText;
use peercoach_core::records::session;
use peercoach_core::views::OfferRow;
use peercoach_core::{Command, MemberId, OfferId, RequestId, Urgency};
use peercoach_core::{NewOffer, NewRequest, NewSession};

use crate::gui::app::{Action, Cx};
use crate::gui::state::tags;
use crate::gui::theme;

/// The "I could use help" form.
#[derive(Debug, Clone, Default)]
pub struct AskForm {
    /// Shown.
    pub open: bool,
    /// Title.
    pub title: String,
    /// What I tried.
    pub tried: String,
    /// Comma-separated skills.
    pub skills: String,
    /// Urgency.
    pub urgency: Option<Urgency>,
    /// One person, or the whole team.
    pub to: Option<MemberId>,
}

/// The offer dialog: a question, with advice kept back until a yes.
#[derive(Debug, Clone, Default)]
pub struct OfferForm {
    /// Shown.
    pub open: bool,
    /// On this request…
    pub request: Option<RequestId>,
    /// …or to this person.
    pub to: Option<MemberId>,
    /// Topic (for offers to a person).
    pub topic: String,
    /// Advice, hidden until yes.
    pub message: String,
}

/// The session log form.
#[derive(Debug, Clone, Default)]
pub struct SessionForm {
    /// Shown.
    pub open: bool,
    /// Coach.
    pub coach: Option<MemberId>,
    /// Coachee.
    pub coachee: Option<MemberId>,
    /// Topic.
    pub topic: String,
    /// Minutes (text, validated on submit).
    pub minutes: String,
    /// Notes.
    pub notes: String,
    /// Shared learning.
    pub learning: String,
    /// Skills, comma-separated.
    pub skills: String,
    /// The accepted offer it follows.
    pub offer: Option<OfferId>,
    /// The request it answers.
    pub request: Option<RequestId>,
    /// When it took place, `YYYY-MM-DD` on this device's clock; empty: now.
    pub date: String,
}

impl SessionForm {
    /// The form opened to log the session an accepted offer led to: the offerer coached,
    /// on its topic and with its request's skills, linked to the offer (and its request).
    pub fn after_offer(o: &OfferRow, team: &peercoach_core::Team) -> Self {
        let skills = o
            .request
            .as_ref()
            .and_then(|r| team.requests.get(r))
            .map(|r| r.skills.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        Self {
            open: true,
            coach: Some(o.from.clone()),
            coachee: Some(o.to.clone()),
            topic: o.topic.clone(),
            minutes: "30".into(),
            skills,
            offer: Some(o.id.clone()),
            request: o.request.clone(),
            ..Self::default()
        }
    }

    /// When it took place: now for today or no date, else midday of the day typed (a
    /// session logged afterwards, without its hour); `None` for a date that is not one.
    pub fn at_ms(&self, now_ms: i64) -> Option<Option<i64>> {
        let date = self.date.trim();
        if date.is_empty() {
            return Some(None);
        }
        let day = crate::local::parse_date(date)?;
        let today = crate::local::parse_date(&crate::local::date(now_ms));
        Some((Some(day) != today).then_some(day + 12 * peercoach_core::time::HOUR_MS))
    }
}

/// The modal forms, whichever screen opened them.
#[derive(Default)]
pub struct Dialogs {
    /// Ask for help.
    pub ask: AskForm,
    /// Offer help.
    pub offer: OfferForm,
    /// Log a session.
    pub session: SessionForm,
    /// The member whose removal waits for a yes.
    pub remove: Option<MemberId>,
    /// A dialog just opened: its first field takes the keyboard.
    focus_first: bool,
}

/// Shows a dialog as modal: Tab, clicks and keys stay inside it until it closes.
fn modal<R>(
    ctx: &egui::Context,
    window: egui::Window<'_>,
    add: impl FnOnce(&mut egui::Ui) -> R,
) -> Option<R> {
    let shown = window.show(ctx, add)?;
    ctx.memory_mut(|m| m.set_modal_layer(shown.response.layer_id));
    shown.inner
}

impl Dialogs {
    /// Opens the dialog a screen asked for.
    pub fn open(&mut self, action: Action) {
        self.focus_first = true;
        match action {
            Action::Ask => self.ask.open = true,
            Action::Offer(form) => self.offer = OfferForm { open: true, ..form },
            Action::LogSession(form) => self.session = SessionForm { open: true, ..form },
            Action::ConfirmRemove(member) => self.remove = Some(member),
            Action::ShowRequest(_)
            | Action::ShowSession(_)
            | Action::ShowDuty(_)
            | Action::ShowInbox
            | Action::ShowTeam
            | Action::NotYet(_)
            | Action::Notice(_)
            | Action::Error(_)
            | Action::Quit => {}
        }
    }

    /// Whether a dialog is open.
    pub fn any_open(&self) -> bool {
        self.ask.open || self.offer.open || self.session.open || self.remove.is_some()
    }

    /// Closes every dialog (Escape).
    pub fn close_all(&mut self) {
        self.ask.open = false;
        self.offer.open = false;
        self.session.open = false;
        self.remove = None;
    }

    /// Draws whichever dialogs are open.
    pub fn ui(&mut self, ctx: &egui::Context, cx: &mut Cx<'_>) {
        if self.ask.open {
            self.ask_ui(ctx, cx);
        }
        if self.offer.open {
            self.offer_ui(ctx, cx);
        }
        if self.session.open {
            self.session_ui(ctx, cx);
        }
        if self.remove.is_some() {
            self.remove_ui(ctx, cx);
        }
    }

    fn ask_ui(&mut self, ctx: &egui::Context, cx: &mut Cx<'_>) {
        let mut open = true;
        let mut submit = false;
        let window = egui::Window::new("I could use help")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(460.0)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0]);
        modal(ctx, window, |ui| {
            let me = cx.snap.me.clone();
            let title = theme::text_field(
                ui,
                "Title",
                &mut self.ask.title,
                "What do you need help with?",
            );
            if std::mem::take(&mut self.focus_first) {
                title.request_focus();
            }
            theme::text_area(
                ui,
                "What I tried",
                &mut self.ask.tried,
                "So helpers don't repeat it",
            );
            let skills = theme::text_field(
                ui,
                "Skills",
                &mut self.ask.skills,
                "comma-separated, e.g. sql, testing",
            );
            ui.horizontal(|ui| {
                ui.label("Urgency");
                let current = self.ask.urgency.unwrap_or(Urgency::Normal);
                for u in Urgency::ALL {
                    if ui.radio(current == u, u.as_str()).clicked() {
                        self.ask.urgency = Some(u);
                    }
                }
            });
            let mut to = self.ask.to.clone();
            member_combo(ui, "Ask", cx, &mut to, Some("the whole team"), me.as_ref());
            self.ask.to = to;
            ui.add_space(6.0);
            let ready = !self.ask.title.trim().is_empty() && cx.can_act();
            submit =
                ready && (theme::enter_submits(ui, &[&title, &skills]) || theme::ctrl_enter(ui));
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(ready, egui::Button::new("Ask for help now"))
                    .on_hover_text("Enter in Title or Skills, or Ctrl+Enter")
                    .clicked()
                {
                    submit = true;
                }
                // A Cancel pressed with Ctrl+Enter cancels: it does not also send.
                if ui.button("Cancel").clicked() {
                    self.ask.open = false;
                    submit = false;
                }
            });
        });
        if submit {
            let form = std::mem::take(&mut self.ask);
            cx.apply(
                Command::Ask(NewRequest {
                    title: form.title,
                    tried: form.tried,
                    skills: tags(&form.skills),
                    urgency: form.urgency.unwrap_or(Urgency::Normal),
                    to: form.to,
                }),
                "Asked for help: it is on the board",
            );
        } else if !open {
            self.ask.open = false;
        }
    }

    fn offer_ui(&mut self, ctx: &egui::Context, cx: &mut Cx<'_>) {
        let mut open = true;
        let mut submit = false;
        let request = self
            .offer
            .request
            .clone()
            .and_then(|r| cx.snap.team.requests.get(&r).cloned());
        let window = egui::Window::new("Offer help")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(460.0)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0]);
        modal(ctx, window, |ui| {
            let person = match &request {
                Some(r) => cx.name(&r.author),
                None => self
                    .offer
                    .to
                    .as_ref()
                    .map(|t| cx.name(t))
                    .unwrap_or_else(|| "them".into()),
            };
            ui.label(
                RichText::new(format!(
                    "We will ask {person}: \"Would you like some help?\""
                ))
                .strong(),
            );
            ui.label(
                RichText::new("Nothing else is shown to them until they say yes.")
                    .color(theme::muted(ui)),
            );
            let topic = match &request {
                Some(r) => {
                    ui.label(format!("About: {}", r.title));
                    None
                }
                None => {
                    let me = cx.snap.me.clone();
                    let mut to = self.offer.to.clone();
                    member_combo(ui, "Offer to", cx, &mut to, None, me.as_ref());
                    self.offer.to = to;
                    Some(theme::text_field(
                        ui,
                        "Topic",
                        &mut self.offer.topic,
                        "What could you help with?",
                    ))
                }
            };
            let advice = theme::text_area(
                ui,
                "Advice (optional, shown only after a yes)",
                &mut self.offer.message,
                "Your first idea, if they want it",
            );
            if std::mem::take(&mut self.focus_first) {
                topic.as_ref().unwrap_or(&advice).request_focus();
            }
            let ready = (request.is_some()
                || (self.offer.to.is_some() && !self.offer.topic.trim().is_empty()))
                && cx.can_act();
            submit = ready
                && (theme::enter_submits(ui, &topic.iter().collect::<Vec<_>>())
                    || theme::ctrl_enter(ui));
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(ready, egui::Button::new("Ask if they would like help"))
                    .on_hover_text("Ctrl+Enter")
                    .clicked()
                {
                    submit = true;
                }
                // A Cancel pressed with Ctrl+Enter cancels: it does not also send.
                if ui.button("Cancel").clicked() {
                    self.offer.open = false;
                    submit = false;
                }
            });
        });
        if submit {
            let form = std::mem::take(&mut self.offer);
            cx.apply(
                Command::Offer(NewOffer {
                    request: form.request,
                    to: form.to,
                    topic: form.topic,
                    message: form.message,
                }),
                "Offer sent: waiting for their answer",
            );
        } else if !open {
            self.offer.open = false;
        }
    }

    fn session_ui(&mut self, ctx: &egui::Context, cx: &mut Cx<'_>) {
        let mut open = true;
        let mut submit = false;
        let window = egui::Window::new("Log a session")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .default_width(480.0)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 60.0]);
        modal(ctx, window, |ui| {
            if let Some(o) = self
                .session
                .offer
                .as_ref()
                .and_then(|o| cx.snap.team.offers.get(o))
            {
                ui.label(
                    RichText::new(format!("Following {}'s yes to your offer", cx.name(&o.to)))
                        .color(theme::good(ui)),
                );
            } else {
                ui.label(
                        RichText::new("Coaching needs a yes: an accepted offer, a request by the coachee, or the coachee logging it.")
                            .color(theme::muted(ui)),
                    );
            }
            let mut coach = self.session.coach.clone();
            let mut coachee = self.session.coachee.clone();
            member_combo(ui, "Coach", cx, &mut coach, None, None);
            member_combo(ui, "Coachee", cx, &mut coachee, None, coach.as_ref());
            self.session.coach = coach;
            self.session.coachee = coachee;
            let topic =
                theme::text_field(ui, "Topic", &mut self.session.topic, "What was it about?");
            if std::mem::take(&mut self.focus_first) {
                topic.request_focus();
            }
            let minutes_field = theme::text_field(ui, "Minutes", &mut self.session.minutes, "30");
            let skills = theme::text_field(
                ui,
                "Session skills",
                &mut self.session.skills,
                "comma-separated",
            );
            let date_field = theme::text_field(
                ui,
                "Date",
                &mut self.session.date,
                "YYYY-MM-DD, empty for today",
            );
            let at = self.session.at_ms(cx.derived.now_ms);
            if at.is_none() {
                ui.colored_label(
                    theme::bad(ui),
                    "Use a date like 2026-10-01, or leave it empty for today",
                );
            }
            theme::text_area(ui, "Notes", &mut self.session.notes, "Visible to the team");
            theme::text_area(
                ui,
                "Shared learning",
                &mut self.session.learning,
                "One thing the team could learn from this",
            );
            let minutes: Option<u32> = self
                .session
                .minutes
                .trim()
                .parse()
                .ok()
                .filter(|m| *m <= session::MAX_MINUTES);
            if minutes.is_none() {
                ui.colored_label(
                    theme::bad(ui),
                    format!("Minutes must be a number up to {}", session::MAX_MINUTES),
                );
            }
            let ready = self.session.coach.is_some()
                && self.session.coachee.is_some()
                && !self.session.topic.trim().is_empty()
                && minutes.is_some()
                && at.is_some()
                && cx.can_act();
            submit = ready
                && (theme::enter_submits(ui, &[&topic, &minutes_field, &skills, &date_field])
                    || theme::ctrl_enter(ui));
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(ready, egui::Button::new("Save session"))
                    .on_hover_text("Enter in a one-line field, or Ctrl+Enter")
                    .clicked()
                {
                    submit = true;
                }
                // A Cancel pressed with Ctrl+Enter cancels: it does not also send.
                if ui.button("Cancel").clicked() {
                    self.session.open = false;
                    submit = false;
                }
            });
        });
        if submit {
            let form = std::mem::take(&mut self.session);
            let at_ms = form.at_ms(cx.derived.now_ms).flatten();
            if let (Some(coach), Some(coachee)) = (form.coach, form.coachee) {
                cx.apply(
                    Command::LogSession(NewSession {
                        coach,
                        coachee,
                        topic: form.topic,
                        skills: tags(&form.skills),
                        at_ms,
                        minutes: form.minutes.trim().parse().unwrap_or(30),
                        notes: form.notes,
                        learning: form.learning,
                        offer: form.offer,
                        request: form.request,
                    }),
                    "Session logged",
                );
            }
        } else if !open {
            self.session.open = false;
        }
    }

    fn remove_ui(&mut self, ctx: &egui::Context, cx: &mut Cx<'_>) {
        let Some(member) = self.remove.clone() else {
            return;
        };
        let name = cx.name(&member);
        let window = egui::Window::new("Remove a member?")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0]);
        modal(ctx, window, |ui| {
            ui.label(RichText::new(format!("Remove {name} from {}?", cx.snap.team.name)).strong());
            let size = cx.snap.team.current_members().len();
            let others = cx
                .snap
                .team
                .members
                .get(&member)
                .map_or(0, |m| m.pending_removal().len());
            let waits = size >= 3 && others == 0 && cx.snap.me.as_ref() != Some(&member);
            if waits {
                ui.label("In a team of three or more, a second member must confirm it: until then they stay.");
            }
            ui.label("Once it takes effect, their devices are refused and receive nothing new. It cannot be undone: rejoining takes a new invite.");
            ui.colored_label(theme::warn(ui),
                    "Be honest with them: the copy of the team they already hold stays on their devices and cannot be taken back.",
                );
            ui.horizontal(|ui| {
                    if ui.button(format!("Remove {name}")).clicked() {
                        let done = if waits {
                            format!("You asked to remove {name}: it takes effect when a second member confirms it")
                        } else {
                            format!("{name} was removed")
                        };
                        cx.apply(Command::RemoveMember { member: member.clone() }, done);
                        self.remove = None;
                    }
                    // The safe answer has the keyboard: Enter keeps them.
                    let keep = ui.button("Keep them");
                    if std::mem::take(&mut self.focus_first) {
                        keep.request_focus();
                    }
                    if keep.clicked() {
                        self.remove = None;
                    }
                });
        });
    }
}

fn member_combo(
    ui: &mut egui::Ui,
    label: &str,
    cx: &Cx<'_>,
    value: &mut Option<MemberId>,
    none: Option<&str>,
    skip: Option<&MemberId>,
) {
    let members: Vec<_> = cx
        .snap
        .team
        .current_members()
        .into_iter()
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect();
    let text = value
        .as_ref()
        .and_then(|v| members.iter().find(|(id, _)| id == v))
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| none.unwrap_or("pick someone").to_owned());
    theme::combo(ui, label, text, |ui| {
        if let Some(none) = none {
            ui.selectable_value(value, None, none);
        }
        for (id, name) in members.iter().filter(|(id, _)| Some(id) != skip) {
            ui.selectable_value(value, Some(id.clone()), name);
        }
    });
}
