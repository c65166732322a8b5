//! The one place for colours, spacing and the small widgets every screen shares.

use egui::{Color32, CornerRadius, Frame, Margin, RichText, Stroke, Ui, Vec2};

use peercoach_core::{SkillLevel, Stage, Urgency};

/// Space between sections.
pub const GAP: f32 = 12.0;
/// Height of one row in long virtualized lists.
pub const ROW_HEIGHT: f32 = 58.0;
/// Width of the navigation panel.
pub const NAV_WIDTH: f32 = 190.0;

/// Accent: actions and selection.
pub const ACCENT: Color32 = Color32::from_rgb(76, 141, 246);
/// Good: synced, done, covered.
pub const GOOD: Color32 = Color32::from_rgb(52, 168, 83);
/// Attention: offline, waiting long.
pub const WARN: Color32 = Color32::from_rgb(230, 167, 30);
/// Problem: errors, uncovered, forged.
pub const BAD: Color32 = Color32::from_rgb(220, 68, 55);
/// Quiet text.
pub fn muted(ui: &Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// Colours of the sync indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncLight {
    /// A peer has all my changes.
    Green,
    /// No peer online: edits are safe locally.
    Yellow,
    /// Something is wrong.
    Red,
}

impl SyncLight {
    /// The colour.
    pub fn color(self) -> Color32 {
        match self {
            Self::Green => GOOD,
            Self::Yellow => WARN,
            Self::Red => BAD,
        }
    }
}

/// A filled dot, for status.
pub fn dot(ui: &mut Ui, color: Color32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(12.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 5.0, color);
    response
}

/// A small rounded tag.
pub fn chip(ui: &mut Ui, text: &str, color: Color32) {
    Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(Stroke::new(1.0, color.gamma_multiply(0.6)))
        .corner_radius(CornerRadius::same(8))
        .inner_margin(Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.label(
                RichText::new(text)
                    .small()
                    .color(ui.visuals().strong_text_color()),
            );
        });
}

/// The colour of an urgency.
pub fn urgency_color(u: Urgency) -> Color32 {
    match u {
        Urgency::Low => Color32::from_rgb(120, 144, 156),
        Urgency::Normal => ACCENT,
        Urgency::High => BAD,
    }
}

/// The colour of a skill level.
pub fn level_color(l: SkillLevel) -> Color32 {
    match l {
        SkillLevel::Learning => Color32::from_rgb(156, 120, 220),
        SkillLevel::CanDo => ACCENT,
        SkillLevel::CanCoach => GOOD,
    }
}

/// The colour of a backfill stage.
pub fn stage_color(s: Stage) -> Color32 {
    match s {
        Stage::Shadow => Color32::from_rgb(156, 120, 220),
        Stage::CoDo => ACCENT,
        Stage::Lead => GOOD,
    }
}

/// A card around a block of content.
pub fn card(ui: &mut Ui, add: impl FnOnce(&mut Ui)) {
    Frame::group(ui.style())
        .fill(ui.visuals().faint_bg_color)
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::same(10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui);
        });
}

/// A screen title with an optional subtitle.
pub fn title(ui: &mut Ui, title: &str, subtitle: &str) {
    ui.heading(title);
    if !subtitle.is_empty() {
        ui.label(RichText::new(subtitle).color(muted(ui)));
    }
    ui.add_space(GAP / 2.0);
}

/// A labelled single-line text input whose label is its accessible name.
pub fn text_field(ui: &mut Ui, label: &str, value: &mut String, hint: &str) -> egui::Response {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id)
}

/// A labelled multi-line text input.
pub fn text_area(ui: &mut Ui, label: &str, value: &mut String, hint: &str) -> egui::Response {
    let l = ui.label(label);
    ui.add(
        egui::TextEdit::multiline(value)
            .hint_text(hint)
            .desired_rows(3)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id)
}

/// Light or dark visuals with our accent.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
    ctx.global_style_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(10.0, 4.0);
        style.visuals.selection.bg_fill = ACCENT.gamma_multiply(0.6);
        style.visuals.hyperlink_color = ACCENT;
    });
}
