//! How well *we* help each other: team-level figures, weekly charts and the coaching
//! network. No per-person ranking, and figures resting on fewer than k people are withheld.

use std::collections::BTreeMap;

use egui::{Color32, RichText, Stroke};
use egui_plot::{Line, Plot, PlotPoints};
use peercoach_core::metrics::{Figure, Metrics};
use peercoach_core::time::{DAY_MS, HOUR_MS, format_date, format_span};

use crate::gui::app::Cx;
use crate::gui::theme;

/// The dashboard: team-level figures only (its window is a preference).
#[derive(Default)]
pub struct Dashboard {}

impl Dashboard {
    /// The dashboard screen.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>) {
        theme::title(
            ui,
            "Dashboard",
            "How well do we help each other? Team figures only.",
        );
        ui.horizontal(|ui| {
            theme::combo(
                ui,
                "Window",
                format!("last {} days", cx.prefs.window_days),
                |ui| {
                    for days in [14, 28, 90, 365] {
                        ui.selectable_value(
                            &mut cx.prefs.window_days,
                            days,
                            format!("last {days} days"),
                        );
                    }
                },
            );
        });
        ui.label(
            RichText::new(
                "There is deliberately no per-person ranking: coaching is a team habit, not a contest. \
                 A figure with fewer than 3 people behind it is withheld. Every member's device holds the \
                 whole team document, so this is a product rule, not a privacy guarantee.",
            )
            .small()
            .color(theme::muted(ui)),
        );
        ui.add_space(6.0);
        let snap = cx.snap.clone();
        let (_, now, weekly) = cx.derived.metrics(&snap, cx.prefs.window_days).clone();
        let shown = shown_figures(&now);
        let charted = weekly
            .iter()
            .filter(|m| m.time_to_help_median_ms.value.is_some() || m.consent_rate.value.is_some())
            .count();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if shown == 0 {
                    // Only a young team's page needs its age: a team with figures is not
                    // scanned for its first record every frame.
                    let first_record_ms = first_record_ms(&snap.team).unwrap_or(cx.derived.now_ms);
                    let history_days = (cx.derived.now_ms - first_record_ms).max(0) / DAY_MS;
                    let members = snap.team.current_members().len();
                    young_team_ui(ui, members, now.min_contributors, history_days);
                    return;
                }
                figures_ui(ui, &now);
                ui.add_space(theme::GAP);
                if charted < 2 {
                    ui.label(
                        RichText::new(
                            "Weekly charts appear once there are two weeks with help in them.",
                        )
                        .color(theme::muted(ui)),
                    );
                } else {
                    charts_ui(ui, &weekly);
                }
                ui.add_space(theme::GAP);
                ui.label(RichText::new("Coaching network").strong());
                ui.label(
                    RichText::new(format!(
                        "Who coached whom in the {}-day window (thicker: more sessions).",
                        cx.prefs.window_days
                    ))
                    .color(theme::muted(ui)),
                );
                self.network_ui(ui, cx, now.window_start_ms, now.window_end_ms);
            });
    }

    fn network_ui(&mut self, ui: &mut egui::Ui, cx: &mut Cx<'_>, from_ms: i64, to_ms: i64) {
        let team = &cx.snap.team;
        let members: Vec<_> = team
            .current_members()
            .into_iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect();
        if members.is_empty() {
            return;
        }
        let mut edges: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        let index: BTreeMap<_, _> = members
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i))
            .collect();
        for s in team
            .sessions
            .values()
            .filter(|s| s.deleted_ms.is_none() && s.at_ms >= from_ms && s.at_ms < to_ms)
        {
            if let (Some(a), Some(b)) = (index.get(&s.coach), index.get(&s.coachee)) {
                *edges.entry((*a.min(b), *a.max(b))).or_default() += 1;
            }
        }
        let size = egui::vec2(ui.available_width().min(720.0), 360.0);
        let (response, painter) = ui.allocate_painter(size, egui::Sense::hover());
        let rect = response.rect;
        painter.rect_filled(rect, 6.0, ui.visuals().faint_bg_color);
        let center = rect.center();
        let radius = rect.height().min(rect.width()) * 0.38;
        let n = members.len();
        let pos = |i: usize| {
            let angle = i as f32 / n as f32 * std::f32::consts::TAU - std::f32::consts::FRAC_PI_2;
            center + egui::vec2(angle.cos(), angle.sin()) * radius
        };
        let max = edges.values().copied().max().unwrap_or(1) as f32;
        for ((a, b), count) in &edges {
            let w = 1.0 + 4.0 * (*count as f32 / max);
            painter.line_segment(
                [pos(*a), pos(*b)],
                Stroke::new(w, theme::ACCENT.gamma_multiply(0.55)),
            );
        }
        let text_color = ui.visuals().strong_text_color();
        for (i, (_, name)) in members.iter().enumerate() {
            let linked = edges.keys().any(|(a, b)| *a == i || *b == i);
            let p = pos(i);
            painter.circle_filled(p, 9.0, if linked { theme::GOOD } else { Color32::GRAY });
            let outward = (p - center).normalized() * 16.0;
            let align = if outward.x >= 0.0 {
                egui::Align2::LEFT_CENTER
            } else {
                egui::Align2::RIGHT_CENTER
            };
            painter.text(
                p + outward,
                align,
                name,
                egui::FontId::proportional(13.0),
                text_color,
            );
        }
        response.on_hover_text("Grey: no coaching link in this window");
    }
}

/// When the team's records begin.
fn first_record_ms(team: &peercoach_core::Team) -> Option<i64> {
    let requests = team.requests.values().map(|r| r.created_ms);
    let offers = team.offers.values().map(|o| o.created_ms);
    let sessions = team.sessions.values().map(|s| s.at_ms);
    requests.chain(offers).chain(sessions).min()
}

/// How many of the twelve figures have a value to show.
fn shown_figures(m: &Metrics) -> usize {
    [
        &m.time_to_help_median_ms,
        &m.time_to_help_p80_ms,
        &m.answered_within_working_day,
        &m.ask_rate,
        &m.consent_rate,
        &m.reciprocity,
        &m.role_reversal_rate,
        &m.largest_group_share,
        &m.isolated_members,
        &m.helper_concentration,
        &m.skill_coverage,
        &m.backfill_coverage,
    ]
    .iter()
    .filter(|f| !f.withheld && f.value.is_some())
    .count()
}

/// A new or small team: what will appear, and when, instead of twelve empty cards.
fn young_team_ui(ui: &mut egui::Ui, members: usize, k: usize, history_days: i64) {
    theme::card(ui, |ui| {
        ui.label(RichText::new("Your dashboard fills in as you help each other").strong());
        ui.add_space(4.0);
        let people = if members < k {
            format!(
                "Team figures appear once at least {k} people have asked, offered or coached in \
                 the window — with fewer, a figure would point at one person. Your team has \
                 {members} member{} so far: invite the others on the Sync screen.",
                if members == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "Team figures appear once at least {k} people have asked, offered or coached in \
                 the window: ask for help (Ctrl+N) or offer it on the board, and log the \
                 sessions that follow."
            )
        };
        ui.label(people);
        ui.label(if history_days < 14 {
            format!(
                "Weekly charts need two weeks of history; your team's records go back {history_days} day{}.",
                if history_days == 1 { "" } else { "s" }
            )
        } else {
            "Weekly charts appear with the first figures.".to_owned()
        });
        ui.label(
            RichText::new(
                "What you will see: how fast people get help, how often offers are welcome, \
                 whether giving and receiving is shared, which skills have more than one coach, \
                 and which duties have a trained backfill.",
            )
            .color(theme::muted(ui)),
        );
    });
}

fn charts_ui(ui: &mut egui::Ui, weekly: &[Metrics]) {
    ui.columns(2, |cols| {
        chart_ui(
            &mut cols[0],
            "Time to help (median, hours)",
            "Median time to help",
            "time-to-help",
            weekly,
            |m| m.time_to_help_median_ms.value.map(|v| v / HOUR_MS as f64),
        );
        chart_ui(
            &mut cols[1],
            "Consent rate and reciprocity (%)",
            "Consent rate",
            "consent",
            weekly,
            |m| m.consent_rate.value.map(|v| v * 100.0),
        );
        chart_ui(
            &mut cols[0],
            "Helped within a working day (%)",
            "Within a working day",
            "within-day",
            weekly,
            |m| m.answered_within_working_day.value.map(|v| v * 100.0),
        );
        chart_ui(
            &mut cols[1],
            "Helper concentration (Gini, lower is more shared)",
            "Helper concentration",
            "gini",
            weekly,
            |m| m.helper_concentration.value,
        );
    });
}

/// A card: label, figure, how to format its value.
type FigureCard<'a> = (&'a str, &'a Figure, &'a dyn Fn(f64) -> String);

fn figures_ui(ui: &mut egui::Ui, m: &Metrics) {
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let span = |v: f64| format_span(v as i64);
    let num = |v: f64| format!("{v:.2}");
    let count = |v: f64| format!("{v:.0}");
    let cards: [FigureCard<'_>; 12] = [
        ("Median time to help", &m.time_to_help_median_ms, &span),
        (
            "80th percentile time to help",
            &m.time_to_help_p80_ms,
            &span,
        ),
        (
            "Helped within a working day",
            &m.answered_within_working_day,
            &pct,
        ),
        ("Asks per member per week", &m.ask_rate, &num),
        ("Consent rate (offers answered yes)", &m.consent_rate, &pct),
        ("Gave and received coaching", &m.reciprocity, &pct),
        ("Pairs coaching both ways", &m.role_reversal_rate, &pct),
        ("Largest connected group", &m.largest_group_share, &pct),
        ("Members with no coaching link", &m.isolated_members, &count),
        ("Helper concentration (Gini)", &m.helper_concentration, &num),
        ("Skills with at least 2 coaches", &m.skill_coverage, &pct),
        ("Duties with a trained backfill", &m.backfill_coverage, &pct),
    ];
    egui::Grid::new("figures")
        .num_columns(4)
        .spacing([10.0, 10.0])
        .show(ui, |ui| {
            for (i, (label, figure, fmt)) in cards.iter().enumerate() {
                egui::Frame::group(ui.style())
                    .inner_margin(8)
                    .show(ui, |ui| {
                        ui.set_min_size(egui::vec2(200.0, 52.0));
                        ui.vertical(|ui| {
                            ui.label(RichText::new(*label).small().color(theme::muted(ui)));
                            match (figure.value, figure.withheld) {
                                (_, true) => {
                                    ui.label(
                                        RichText::new("withheld")
                                            .size(18.0)
                                            .color(theme::muted(ui)),
                                    )
                                    .on_hover_text(format!(
                                        "Only {} people behind this figure: fewer than 3",
                                        figure.contributors
                                    ));
                                }
                                (Some(v), false) => {
                                    ui.label(RichText::new(fmt(v)).size(20.0).strong());
                                }
                                (None, false) => {
                                    ui.label(
                                        RichText::new("no data yet")
                                            .size(18.0)
                                            .color(theme::muted(ui)),
                                    );
                                }
                            }
                        });
                    });
                if i % 4 == 3 {
                    ui.end_row();
                }
            }
        });
    ui.label(
        RichText::new(format!(
            "{} to {}: {} requests, {} offers, {} sessions. Skills only one person can do: {}.",
            format_date(m.window_start_ms),
            format_date(m.window_end_ms - 1),
            m.requests,
            m.offers,
            m.sessions,
            m.bus_factor_one_skills.show(|v| format!("{v:.0}")),
        ))
        .color(theme::muted(ui)),
    );
}

fn chart_ui(
    ui: &mut egui::Ui,
    title: &str,
    series: &str,
    id: &str,
    weekly: &[Metrics],
    value: impl Fn(&Metrics) -> Option<f64>,
) {
    ui.label(RichText::new(title).strong());
    let points: PlotPoints = weekly
        .iter()
        .filter_map(|m| value(m).map(|v| [(m.window_end_ms / DAY_MS) as f64, v]))
        .collect();
    let reciprocity: PlotPoints = weekly
        .iter()
        .filter_map(|m| {
            m.reciprocity
                .value
                .map(|v| [(m.window_end_ms / DAY_MS) as f64, v * 100.0])
        })
        .collect();
    let two_series = id == "consent";
    if two_series {
        // The legend sits above the chart, where it cannot cover a line.
        ui.horizontal(|ui| {
            legend_entry(ui, theme::ACCENT, series);
            legend_entry(ui, theme::GOOD, "Reciprocity");
        });
    }
    let top = weekly
        .iter()
        .filter_map(&value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    Plot::new(id)
        .height(170.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .x_grid_spacer(egui_plot::uniform_grid_spacer(week_steps))
        .x_axis_formatter(|mark, _| short_date((mark.value as i64) * DAY_MS))
        .x_axis_label("week ending")
        .include_y(0.0)
        .include_y(if two_series { 100.0 } else { top * 1.1 })
        .show(ui, |plot| {
            plot.line(
                Line::new(series.to_owned(), points)
                    .color(theme::ACCENT)
                    .width(2.0),
            );
            if two_series {
                plot.line(
                    Line::new("Reciprocity", reciprocity)
                        .color(theme::GOOD)
                        .width(2.0),
                );
            }
        });
}

/// One entry of a chart's legend: a short line in the series' colour, and its name.
fn legend_entry(ui: &mut egui::Ui, color: egui::Color32, name: &str) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(18.0, 12.0), egui::Sense::hover());
    ui.painter().hline(
        rect.x_range(),
        rect.center().y,
        egui::Stroke::new(2.0, color),
    );
    ui.label(name);
}

/// Grid steps along a time axis counted in days: four weeks, a week, a day — so the
/// dates on the axis fall a week or four apart, whatever the window.
fn week_steps(_: egui_plot::GridInput) -> [f64; 3] {
    [28.0, 7.0, 1.0]
}

/// "24 Nov": a date short enough for an axis.
fn short_date(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let date = peercoach_core::time::date_of(ms);
    let month = MONTHS[(date.month as usize).clamp(1, 12) - 1];
    format!("{} {month}", date.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_dates_are_short() {
        // 2026-09-04 and 2026-11-24 (UTC), in days since 1970.
        assert_eq!(short_date(20_700 * DAY_MS), "4 Sep");
        assert_eq!(short_date(20_781 * DAY_MS), "24 Nov");
    }
}
