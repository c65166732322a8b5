//! The one place for colours, spacing and the small widgets every screen shares.

use egui::{Color32, CornerRadius, Frame, Margin, RichText, Stroke, Ui, Vec2};

use peercoach_core::{SkillLevel, Stage, Urgency};

use super::state::ThemeChoice;

/// Space between sections.
pub const GAP: f32 = 12.0;
/// Height of one row in long virtualized lists.
pub const ROW_HEIGHT: f32 = 58.0;
/// Width of the navigation panel.
pub const NAV_WIDTH: f32 = 190.0;

/// Narrower than this (in points), a screen puts its two columns one above the other,
/// and a list's detail takes the list's place.
pub const TWO_COLUMNS_FROM: f32 = 820.0;
/// The narrowest a dashboard tile or a chart is drawn.
pub const TILE_WIDTH: f32 = 200.0;

/// Whether `ui` has room for two columns side by side.
pub fn wide(ui: &Ui) -> bool {
    ui.available_width() >= TWO_COLUMNS_FROM
}

/// Which of two columns is being drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The left one, or the upper one when stacked.
    First,
    /// The right one, or the lower one.
    Second,
}

/// Two columns side by side where there is room for them, else one above the other:
/// `column` draws each, first then second.
pub fn two_columns(ui: &mut Ui, mut column: impl FnMut(&mut Ui, Column)) {
    if wide(ui) {
        ui.columns(2, |cols| {
            if let [first, second] = cols {
                column(first, Column::First);
                column(second, Column::Second);
            }
        });
    } else {
        ui.vertical(|ui| {
            column(ui, Column::First);
            ui.add_space(GAP);
            column(ui, Column::Second);
        });
    }
}

/// The id under which a list is drawn, with a record's detail beside it or not: its
/// scroll position stays when a record is opened.
pub const LIST: &str = "list";

/// A list alone, under the id it has beside a detail ([`list_and_detail`]).
fn list_alone(ui: &mut Ui, list: impl FnOnce(&mut Ui)) {
    ui.push_id(LIST, list);
}

/// A list, and the record open from it (if `open`): beside it where there is room, else
/// in its place under "Back to the list". `draw` draws the list (`Column::First`) and the
/// record (`Column::Second`). Whether "Back to the list" was pressed: the caller closes
/// the record, as Esc does.
pub fn master_detail(ui: &mut Ui, open: bool, mut draw: impl FnMut(&mut Ui, Column)) -> bool {
    if !open {
        list_alone(ui, |ui| draw(ui, Column::First));
        return false;
    }
    if wide(ui) {
        list_and_detail(ui, draw);
        return false;
    }
    let back = ui
        .button("Back to the list")
        .on_hover_text("Close it (Esc)")
        .clicked();
    ui.add_space(6.0);
    draw(ui, Column::Second);
    back
}

/// A list with a record's detail to its right, each in its own scrolling column. The list
/// is drawn first, so Tab reaches it before the detail, as a reader would.
fn list_and_detail(ui: &mut Ui, mut column: impl FnMut(&mut Ui, Column)) {
    let full = ui.available_rect_before_wrap();
    let detail_width = (full.width() * 0.42).clamp(300.0, 480.0);
    let split = full.max.x - detail_width;
    let list = egui::Rect::from_min_max(full.min, egui::pos2(split - GAP, full.max.y));
    let detail = egui::Rect::from_min_max(egui::pos2(split, full.min.y), full.max);
    for (rect, which, salt) in [
        (list, Column::First, LIST),
        (detail, Column::Second, "detail"),
    ] {
        let mut child = ui.new_child(egui::UiBuilder::new().id_salt(salt).max_rect(rect));
        child.set_clip_rect(rect.intersect(ui.clip_rect()));
        column(&mut child, which);
    }
    ui.painter().vline(
        split - GAP / 2.0,
        full.y_range(),
        ui.visuals().widgets.noninteractive.bg_stroke,
    );
    ui.allocate_rect(full, egui::Sense::hover());
}

/// A list row's title: a button that opens the record `id`, or closes it when it is the
/// one open, cut short to the row's width.
pub fn row_title<T: Clone + PartialEq>(
    ui: &mut Ui,
    open: &mut Option<T>,
    id: &T,
    title: impl Into<String>,
) {
    let selected = open.as_ref() == Some(id);
    let button = egui::Button::selectable(selected, RichText::new(title).strong()).truncate();
    if ui.add(button).clicked() {
        *open = (!selected).then(|| id.clone());
    }
}

/// How many tiles at least `min_width` wide fit side by side in `ui`, `gap` apart
/// (at least one, at most `most`).
pub fn fitting(ui: &Ui, min_width: f32, gap: f32, most: usize) -> usize {
    let n = ((ui.available_width() + gap) / (min_width + gap)).floor();
    (n.max(1.0) as usize).min(most.max(1))
}

/// Accent: actions and selection.
pub const ACCENT: Color32 = Color32::from_rgb(76, 141, 246);
/// Good: synced, done, covered.
pub const GOOD: Color32 = Color32::from_rgb(52, 168, 83);
/// Attention: offline, waiting long.
pub const WARN: Color32 = Color32::from_rgb(230, 167, 30);
/// Problem: errors, uncovered, forged.
pub const BAD: Color32 = Color32::from_rgb(220, 68, 55);
/// Private: what only this person's devices hold.
pub const PRIVATE: Color32 = Color32::from_rgb(156, 120, 220);
/// Quiet text.
pub fn muted(ui: &Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// The colours text is written in, per theme: each readable (WCAG AA, 4.5:1) on that
/// theme's panels and cards. The constants above are for dots, lines and chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Done, synced, thanks.
    pub good: Color32,
    /// Attention.
    pub warn: Color32,
    /// Errors.
    pub bad: Color32,
    /// Emphasis.
    pub accent: Color32,
}

/// The text palette of the dark or the light theme.
pub fn palette(dark: bool) -> Palette {
    if dark {
        Palette {
            good: Color32::from_rgb(90, 200, 120),
            warn: Color32::from_rgb(240, 180, 50),
            bad: Color32::from_rgb(255, 110, 100),
            accent: Color32::from_rgb(110, 165, 255),
        }
    } else {
        Palette {
            good: Color32::from_rgb(20, 120, 50),
            warn: Color32::from_rgb(150, 90, 0),
            bad: Color32::from_rgb(180, 30, 30),
            accent: Color32::from_rgb(30, 90, 200),
        }
    }
}

/// Good news, as text.
pub fn good(ui: &Ui) -> Color32 {
    palette(ui.visuals().dark_mode).good
}

/// Attention, as text.
pub fn warn(ui: &Ui) -> Color32 {
    palette(ui.visuals().dark_mode).warn
}

/// An error, as text.
pub fn bad(ui: &Ui) -> Color32 {
    palette(ui.visuals().dark_mode).bad
}

/// Emphasis, as text.
pub fn accent(ui: &Ui) -> Color32 {
    palette(ui.visuals().dark_mode).accent
}

/// The states of the sync indicator, each with its own colour and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncLight {
    /// A device online has all my changes.
    Green,
    /// Teammates are online, and do not have all my changes yet (or the node is opening).
    Yellow,
    /// No teammate online: edits are safe on this device and sync when one is.
    Gray,
    /// No teammate yet: the team is this device's alone until someone joins.
    Alone,
    /// Something is wrong.
    Red,
    /// The node is starting or opening the team's history.
    Starting,
}

impl SyncLight {
    /// The colour.
    pub fn color(self) -> Color32 {
        match self {
            Self::Green => GOOD,
            Self::Yellow => WARN,
            Self::Gray | Self::Alone | Self::Starting => Color32::from_gray(140),
            Self::Red => BAD,
        }
    }

    /// What the top bar says beside the dot.
    pub fn words(self) -> &'static str {
        match self {
            Self::Green => "Synced",
            Self::Yellow => "Syncing…",
            Self::Gray => "Offline: saved here",
            Self::Alone => "Just you so far",
            Self::Red => "Sync problem",
            Self::Starting => "Starting…",
        }
    }
}

/// A filled dot, for status.
pub fn dot(ui: &mut Ui, color: Color32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(12.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 5.0, color);
    response
}

/// A padlock, drawn (a font's lock glyph is a blob at text size): a body and a shackle,
/// in the colour of what is private.
pub fn lock_icon(ui: &mut Ui) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::new(12.0, 15.0), egui::Sense::hover());
    let painter = ui.painter();
    let body = egui::Rect::from_min_max(
        egui::pos2(rect.left(), rect.top() + 6.5),
        rect.right_bottom(),
    );
    painter.rect_filled(body, CornerRadius::same(2), PRIVATE);
    // The shackle: a half circle on two short legs, open at the bottom into the body.
    let (center, radius) = (egui::pos2(rect.center().x, rect.top() + 4.5), 3.5);
    let mut points = vec![egui::pos2(center.x - radius, body.top())];
    points.extend((0..=12).map(|i| {
        let angle = std::f32::consts::PI * (1.0 + i as f32 / 12.0);
        center + radius * egui::vec2(angle.cos(), angle.sin())
    }));
    points.push(egui::pos2(center.x + radius, body.top()));
    painter.add(egui::Shape::line(points, Stroke::new(1.8, PRIVATE)));
    // The keyhole, in the panel's colour.
    painter.circle_filled(
        egui::pos2(body.center().x, body.center().y - 0.5),
        1.4,
        ui.visuals().panel_fill,
    );
    response
}

/// How wide a chip with `text` is drawn, with its margins and the space before it.
fn chip_width(ui: &Ui, text: &str) -> f32 {
    let font = egui::TextStyle::Small.resolve(ui.style());
    let width = ui
        .painter()
        .layout_no_wrap(text.to_owned(), font, Color32::WHITE)
        .size()
        .x;
    width + 14.0 + ui.spacing().item_spacing.x
}

/// A small rounded tag. In a row that wraps, a chip without room moves to the next line
/// whole (a frame's size is known only once drawn, so the row cannot move it itself).
pub fn chip(ui: &mut Ui, text: &str, color: Color32) {
    // Only a row with something in it already: a chip too wide for a whole row stays.
    let row_started = ui.cursor().min.x > ui.max_rect().min.x + 0.5;
    if ui.layout().main_wrap
        && row_started
        && chip_width(ui, text) > ui.available_size_before_wrap().x
    {
        ui.end_row();
    }
    Frame::new()
        .fill(color.gamma_multiply(0.18))
        .stroke(Stroke::new(1.0, color.gamma_multiply(0.6)))
        .corner_radius(CornerRadius::same(8))
        .inner_margin(Margin::symmetric(6, 1))
        .show(ui, |ui| {
            // A chip never breaks inside a word: it moves to the next line whole.
            ui.add(
                egui::Label::new(
                    RichText::new(text)
                        .small()
                        .color(ui.visuals().strong_text_color()),
                )
                .wrap_mode(egui::TextWrapMode::Extend),
            );
        });
}

/// A chip, if it fits in what is left of a row that does not wrap; whether it was drawn.
/// A list row drops the chips it has no room for (its detail shows them all).
pub fn chip_if_room(ui: &mut Ui, text: &str, color: Color32) -> bool {
    if chip_width(ui, text) > ui.available_width() {
        return false;
    }
    chip(ui, text, color);
    true
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

/// A card for what only this person can read: marked apart from the team's records.
pub fn private_card(ui: &mut Ui, add: impl FnOnce(&mut Ui)) {
    Frame::group(ui.style())
        .fill(ui.visuals().faint_bg_color)
        .stroke(Stroke::new(1.0, PRIVATE))
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::same(10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui);
        });
}

/// Whether a form was sent with Enter in one of its one-line fields this frame.
/// How an edit form was left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormEnd {
    /// Save it.
    Save,
    /// Leave it unsaved.
    Cancel,
}

/// An edit form's last row: `save` (enabled when `ready`; `entered` saves too) and Cancel.
pub fn save_or_cancel(ui: &mut Ui, save: &str, ready: bool, entered: bool) -> Option<FormEnd> {
    ui.horizontal(|ui| {
        if ui.add_enabled(ready, egui::Button::new(save)).clicked() || (ready && entered) {
            Some(FormEnd::Save)
        } else if ui.button("Cancel").clicked() {
            Some(FormEnd::Cancel)
        } else {
            None
        }
    })
    .inner
}

pub fn enter_submits(ui: &Ui, one_line: &[&egui::Response]) -> bool {
    ui.input(|i| i.key_pressed(egui::Key::Enter)) && one_line.iter().any(|r| r.lost_focus())
}

/// Whether a dialog was sent with Ctrl+Enter, from anywhere in it (a text area keeps a
/// plain Enter for a new line).
pub fn ctrl_enter(ui: &Ui) -> bool {
    ui.input(|i| i.modifiers.command && i.key_pressed(egui::Key::Enter))
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

/// A labelled single-line input for a secret (a relay token): masked unless the person
/// ticks "Show" beside it, so it is not on screen for anyone looking over a shoulder or
/// in a screenshot.
pub fn secret_field(ui: &mut Ui, label: &str, value: &mut String, shown: &mut bool) {
    let l = ui.label(label);
    ui.horizontal(|ui| {
        ui.checkbox(shown, "Show");
        ui.add(
            egui::TextEdit::singleline(value)
                .password(!*shown)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(l.id);
    });
}

/// A note of thanks and its "Send thanks" button: the text once the button is clicked,
/// or Enter pressed in the field (the caller sends it and forgets the draft).
pub fn thanks_form(ui: &mut Ui, label: &str, draft: &mut String, hint: &str) -> Option<String> {
    let field = text_field(ui, label, draft, hint);
    let text = draft.trim().to_owned();
    let ready = !text.is_empty();
    let entered = ready && enter_submits(ui, &[&field]);
    (ui.add_enabled(ready, egui::Button::new("Send thanks"))
        .clicked()
        || entered)
        .then_some(text)
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

/// The smallest text anywhere, in points (labels marked `.small()` included).
pub const MIN_TEXT: f32 = 12.0;

/// Our light or dark visuals: egui's, with text fields and cards that stand apart from
/// what they sit on (WCAG: text at least 4.5:1 against its background, the edges of
/// fields at least 3:1), and our accent.
pub fn visuals(dark: bool) -> egui::Visuals {
    let mut v = if dark {
        egui::Visuals::dark()
    } else {
        egui::Visuals::light()
    };
    if dark {
        v.panel_fill = Color32::from_gray(27);
        v.faint_bg_color = Color32::from_gray(36); // cards
        v.extreme_bg_color = Color32::from_gray(14); // text fields
        v.widgets.noninteractive.fg_stroke.color = Color32::from_gray(200); // body text
        v.weak_text_color = Some(Color32::from_gray(160));
        v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_gray(120)); // field edges
    } else {
        v.panel_fill = Color32::from_gray(242);
        v.window_fill = Color32::from_gray(248);
        v.faint_bg_color = Color32::from_gray(250); // cards
        v.extreme_bg_color = Color32::from_gray(255); // text fields
        v.widgets.noninteractive.fg_stroke.color = Color32::from_gray(40);
        v.weak_text_color = Some(Color32::from_gray(92));
        v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_gray(128));
    }
    v.selection.bg_fill = ACCENT.gamma_multiply(0.6);
    v.hyperlink_color = ACCENT;
    v
}

/// Light or dark visuals with our accent, and text no smaller than [`MIN_TEXT`].
pub fn apply(ctx: &egui::Context, choice: ThemeChoice) {
    ctx.set_theme(match choice {
        ThemeChoice::System => egui::ThemePreference::System,
        ThemeChoice::Dark => egui::ThemePreference::Dark,
        ThemeChoice::Light => egui::ThemePreference::Light,
    });
    // Both themes are ours: following the system switches between them.
    for theme in [egui::Theme::Dark, egui::Theme::Light] {
        ctx.style_mut_of(theme, |style| styled(style, theme == egui::Theme::Dark));
    }
}

/// Our look on one of egui's styles.
fn styled(style: &mut egui::Style, dark: bool) {
    style.visuals = visuals(dark);
    style.spacing.item_spacing = egui::vec2(8.0, 6.0);
    style.spacing.button_padding = egui::vec2(10.0, 4.0);
    use egui::{FontFamily, FontId, TextStyle};
    style.text_styles = [
        (
            TextStyle::Small,
            FontId::new(MIN_TEXT, FontFamily::Proportional),
        ),
        (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
        (
            TextStyle::Button,
            FontId::new(14.0, FontFamily::Proportional),
        ),
        (
            TextStyle::Heading,
            FontId::new(20.0, FontFamily::Proportional),
        ),
        (
            TextStyle::Monospace,
            FontId::new(13.0, FontFamily::Monospace),
        ),
    ]
    .into();
}

/// WCAG's contrast ratio of two opaque colours (1 to 21).
pub fn contrast(a: Color32, b: Color32) -> f32 {
    fn luminance(c: Color32) -> f32 {
        let channel = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
    }
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// A combo box with its label before it (and named by it, for screen readers).
pub fn combo<R>(
    ui: &mut Ui,
    label: &str,
    selected: impl Into<egui::WidgetText>,
    add: impl FnOnce(&mut Ui) -> R,
) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        egui::ComboBox::from_id_salt(label)
            .selected_text(selected)
            .show_ui(ui, add)
            .response
            .labelled_by(l.id)
    })
    .inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_themes_have_readable_text_and_visible_field_edges() {
        for dark in [false, true] {
            let v = visuals(dark);
            let theme = if dark { "dark" } else { "light" };
            let text = v.widgets.noninteractive.fg_stroke.color;
            for (what, bg) in [
                ("panel", v.panel_fill),
                ("card", v.faint_bg_color),
                ("field", v.text_edit_bg_color()),
            ] {
                assert!(
                    contrast(text, bg) >= 4.5,
                    "{theme}: text on {what}: {}",
                    contrast(text, bg)
                );
                let muted = v.weak_text_color();
                assert!(
                    contrast(muted, bg) >= 4.5,
                    "{theme}: muted text on {what}: {}",
                    contrast(muted, bg)
                );
            }
            let edge = v.widgets.inactive.bg_stroke;
            assert!(edge.width >= 1.0, "{theme}: fields have an edge");
            for (what, bg) in [("card", v.faint_bg_color), ("panel", v.panel_fill)] {
                assert!(
                    contrast(edge.color, bg) >= 3.0,
                    "{theme}: field edge on {what}: {}",
                    contrast(edge.color, bg)
                );
            }
            let typed = v.widgets.inactive.fg_stroke.color;
            assert!(
                contrast(typed, v.text_edit_bg_color()) >= 4.5,
                "{theme}: typed text"
            );
            let p = palette(dark);
            for (what, colour) in [
                ("good", p.good),
                ("warn", p.warn),
                ("bad", p.bad),
                ("accent", p.accent),
            ] {
                for (on, bg) in [("panel", v.panel_fill), ("card", v.faint_bg_color)] {
                    assert!(
                        contrast(colour, bg) >= 4.5,
                        "{theme}: {what} text on {on}: {}",
                        contrast(colour, bg)
                    );
                }
            }
        }
    }

    #[test]
    fn whatever_is_chosen_both_themes_are_ours_and_no_text_is_under_the_minimum() {
        for (choice, preference) in [
            (ThemeChoice::System, egui::ThemePreference::System),
            (ThemeChoice::Dark, egui::ThemePreference::Dark),
            (ThemeChoice::Light, egui::ThemePreference::Light),
        ] {
            let ctx = egui::Context::default();
            apply(&ctx, choice);
            // Following the system hands the choice to egui, which switches between
            // our two styles as the system does.
            assert_eq!(ctx.options(|o| o.theme_preference), preference);
            for theme in [egui::Theme::Dark, egui::Theme::Light] {
                let style = ctx.style_of(theme);
                assert!(
                    style.visuals == visuals(theme == egui::Theme::Dark),
                    "{theme:?}"
                );
                assert!(!style.text_styles.is_empty());
                for (text_style, font) in &style.text_styles {
                    assert!(
                        font.size >= MIN_TEXT,
                        "{text_style:?} is {} px, under {MIN_TEXT}",
                        font.size
                    );
                }
            }
        }
    }

    #[test]
    fn contrast_is_wcag_s() {
        assert!((contrast(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
        assert!((contrast(Color32::WHITE, Color32::WHITE) - 1.0).abs() < 0.001);
        // The light theme's old fields: white on a card of 253 is no edge at all.
        assert!(contrast(Color32::from_gray(255), Color32::from_gray(253)) < 1.1);
    }
}
