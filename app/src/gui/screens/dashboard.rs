//! How well *we* help each other: team-level figures, weekly charts and the coaching
//! network. No per-person ranking, and figures resting on fewer than k people are withheld.

use std::collections::BTreeMap;

use egui::{Color32, RichText, Stroke};
use egui_plot::{Line, Plot, PlotPoints};
use peercoach_core::metrics::{Figure, Metrics};
use peercoach_core::time::{DAY_MS, HOUR_MS, format_date, format_span};

use crate::gui::app::Cx;
use crate::gui::theme::{self, Column};
use crate::output::plural;

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
                        "Who coached whom in the {}-day window: each arrow points from coach to coachee, thicker for more sessions.",
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
        let ids: Vec<_> = members.iter().map(|(id, _)| id.clone()).collect();
        let edges = coached(team, &ids, from_ms, to_ms);
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
        for ((coach, coachee), count) in &edges {
            let w = 1.0 + 4.0 * (*count as f32 / max);
            let (from, to) = (pos(*coach), pos(*coachee));
            // Both ways between two people: the two arrows sit side by side.
            let side = if edges.contains_key(&(*coachee, *coach)) {
                (to - from).normalized().rot90() * 4.0
            } else {
                egui::Vec2::ZERO
            };
            arrow(
                &painter,
                from + side,
                to + side,
                Stroke::new(w, theme::ACCENT.gamma_multiply(0.7)),
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
        response.on_hover_text(
            "An arrow points from coach to coachee; thicker: more sessions. Grey: no coaching \
             link in this window.",
        );
    }
}

/// Sessions in the window per (coach, coachee), by the members' places in `ids`.
fn coached(
    team: &peercoach_core::Team,
    ids: &[peercoach_core::MemberId],
    from_ms: i64,
    to_ms: i64,
) -> BTreeMap<(usize, usize), usize> {
    let index: BTreeMap<_, _> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let mut edges = BTreeMap::new();
    for s in team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none() && s.at_ms >= from_ms && s.at_ms < to_ms)
    {
        if let (Some(coach), Some(coachee)) = (index.get(&s.coach), index.get(&s.coachee)) {
            *edges.entry((*coach, *coachee)).or_default() += 1;
        }
    }
    edges
}

/// A line from `from` to `to` with a head at `to`, stopping short of the dots.
fn arrow(painter: &egui::Painter, from: egui::Pos2, to: egui::Pos2, stroke: Stroke) {
    let dir = (to - from).normalized();
    let (from, to) = (from + dir * 11.0, to - dir * 11.0);
    painter.line_segment([from, to], stroke);
    let size = 7.0 + stroke.width;
    let back = to - dir * size;
    let across = dir.rot90() * size * 0.5;
    painter.add(egui::Shape::convex_polygon(
        vec![to, back + across, back - across],
        stroke.color,
        Stroke::NONE,
    ));
}

/// When the team's records begin.
fn first_record_ms(team: &peercoach_core::Team) -> Option<i64> {
    let requests = team.requests.values().map(|r| r.created_ms);
    let offers = team.offers.values().map(|o| o.created_ms);
    let sessions = team.sessions.values().map(|s| s.at_ms);
    requests.chain(offers).chain(sessions).min()
}

/// How many of the figures have a value to show.
fn shown_figures(m: &Metrics) -> usize {
    [
        &m.time_to_help_median_ms,
        &m.time_to_help_p80_ms,
        &m.answered_within_working_day,
        &m.ask_rate,
        &m.consent_rate,
        &m.follow_through,
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

/// A new or small team: what will appear, and when, instead of a wall of empty cards.
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

/// One weekly chart: its title, its series' name, its plot id, its unit, and its value.
type Chart = (
    (&'static str, &'static str, &'static str, &'static str),
    fn(&Metrics) -> Option<f64>,
);

/// The weekly charts, in reading order: two side by side where they fit.
const CHARTS: [Chart; 4] = [
    (
        (
            "Time to help (median, hours)",
            "Median time to help",
            "time-to-help",
            " h",
        ),
        |m| m.time_to_help_median_ms.value.map(|v| v / HOUR_MS as f64),
    ),
    (
        (
            "Consent rate and reciprocity (%)",
            "Consent rate",
            "consent",
            "%",
        ),
        |m| m.consent_rate.value.map(|v| v * 100.0),
    ),
    (
        (
            "Helped within a working day (%)",
            "Within a working day",
            "within-day",
            "%",
        ),
        |m| m.answered_within_working_day.value.map(|v| v * 100.0),
    ),
    (
        (
            "Helper concentration (Gini, lower is more shared)",
            "Helper concentration",
            "gini",
            "",
        ),
        |m| m.helper_concentration.value,
    ),
];

fn charts_ui(ui: &mut egui::Ui, weekly: &[Metrics]) {
    theme::two_columns(ui, |ui, column| {
        let first = column == Column::First;
        for (i, (labels, value)) in CHARTS.iter().enumerate() {
            if (i % 2 == 0) == first {
                chart_ui(ui, *labels, weekly, value);
            }
        }
    });
}

/// A card: label, figure, how to format its value, and what it means.
type FigureCard<'a> = (&'a str, &'a Figure, &'a dyn Fn(f64) -> String, String);

/// What each figure means, in a sentence a team lead understands (its card's tooltip).
pub const EXPLAINED: [(&str, &str); 13] = [
    (
        "Median time to help",
        "Half of the requests helped in the window got their first accepted offer within this time.",
    ),
    (
        "80th percentile time to help",
        "Four in five helped requests got their first accepted offer within this time; the slowest fifth took longer.",
    ),
    (
        "Helped within a working day",
        "Of the requests decided in the window, the share that got an accepted offer within eight working hours.",
    ),
    (
        "Asks per member per week",
        "How often the average member asks for help: low numbers usually mean people struggle alone.",
    ),
    (
        "Consent rate (offers answered yes)",
        "Of the offers of help made, the share the other person said yes to.",
    ),
    (
        "Follow-through (yes to a session)",
        "Of the yeses that have had two weeks, the share that became a session within two weeks: pairs who found a time.",
    ),
    (
        "Gave and received coaching",
        "Of the people who coached or were coached, the share who did both: help flowing both ways.",
    ),
    (
        "Pairs coaching both ways",
        "Of the pairs with a session, the share where each has coached the other.",
    ),
    (
        "Largest connected group",
        "The share of the team that is linked, directly or through others, by coaching sessions: 100% means nobody is cut off.",
    ),
    (
        "Members with no coaching link",
        "How many members neither coached nor were coached in the window (a count, never names).",
    ),
    (
        "Helper concentration (Gini)",
        "How evenly coaching is shared among the people who coach: 0 means evenly, 1 means one person does it all.",
    ),
    (
        "Skills with at least 2 coaches",
        "Of the skills on the skills map, the share that two or more people can coach, so no one is the only teacher.",
    ),
    (
        "Duties with a trained backfill",
        "Of the team's duties, the share with an apprentice trained to co-do or lead it.",
    ),
];

/// The words a chart shows under the pointer: the week and the value there.
fn hover_label(pos: &egui_plot::HoverPosition<'_>, unit: &str) -> Option<String> {
    match pos {
        egui_plot::HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => Some(format!(
            "{plot_name}\nweek ending {}: {:.1}{unit}",
            short_date((position.x as i64) * DAY_MS),
            position.y
        )),
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    }
}

/// " Fewer than 2 coaches: terraform, sql and k8s.": names of skills or duties (never
/// people) to follow a tooltip's sentence; nothing when there are none.
fn named(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" {what}: {}.", peercoach_core::alerts::join_words(names))
    }
}

fn figures_ui(ui: &mut egui::Ui, m: &Metrics) {
    let pct: &'static dyn Fn(f64) -> String = &|v| format!("{:.0}%", v * 100.0);
    let span: &'static dyn Fn(f64) -> String = &|v| format_span(v as i64);
    let num: &'static dyn Fn(f64) -> String = &|v| format!("{v:.2}");
    let count: &'static dyn Fn(f64) -> String = &|v| format!("{v:.0}");
    // In the order of EXPLAINED, which gives each its label and its sentence.
    let figures: [(&Figure, &dyn Fn(f64) -> String); 13] = [
        (&m.time_to_help_median_ms, span),
        (&m.time_to_help_p80_ms, span),
        (&m.answered_within_working_day, pct),
        (&m.ask_rate, num),
        (&m.consent_rate, pct),
        (&m.follow_through, pct),
        (&m.reciprocity, pct),
        (&m.role_reversal_rate, pct),
        (&m.largest_group_share, pct),
        (&m.isolated_members, count),
        (&m.helper_concentration, num),
        (&m.skill_coverage, pct),
        (&m.backfill_coverage, pct),
    ];
    let mut cards: Vec<FigureCard<'_>> = EXPLAINED
        .iter()
        .zip(figures)
        .map(|((label, why), (figure, fmt))| (*label, figure, fmt, (*why).to_owned()))
        .collect();
    if let [.., skills, duties] = cards.as_mut_slice() {
        skills.3 += &named("Fewer than 2 coaches", &m.skills_short_of_coaches);
        duties.3 += &named("No trained backfill", &m.duties_without_backfill);
    }
    // As many tiles to a row as fit, up to four (a tile is its width and margins wide).
    let per_row = theme::fitting(ui, theme::TILE_WIDTH + 20.0, 10.0, 4);
    egui::Grid::new("figures")
        .num_columns(per_row)
        .spacing([10.0, 10.0])
        .show(ui, |ui| {
            for (i, (label, figure, fmt, why)) in cards.iter().enumerate() {
                egui::Frame::group(ui.style())
                    .inner_margin(8)
                    .show(ui, |ui| {
                        ui.set_min_size(egui::vec2(theme::TILE_WIDTH, 52.0));
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
                    })
                    .response
                    .on_hover_text(why.as_str());
                if i % per_row == per_row - 1 {
                    ui.end_row();
                }
            }
        });
    let only_one: Vec<String> = m
        .bus_factor
        .iter()
        .filter(|(_, n)| **n == 1)
        .map(|(skill, _)| skill.clone())
        .collect();
    ui.label(
        RichText::new(format!(
            "{} to {}: {}, {}, {}. Skills only one person can do: {}{}",
            format_date(m.window_start_ms),
            format_date(m.window_end_ms - 1),
            plural(m.requests, "request", "requests"),
            plural(m.offers, "offer", "offers"),
            plural(m.sessions, "session", "sessions"),
            m.bus_factor_one_skills.show(|v| format!("{v:.0}")),
            if only_one.is_empty() {
                ".".to_owned()
            } else {
                format!(" ({}).", peercoach_core::alerts::join_words(&only_one))
            },
        ))
        .color(theme::muted(ui)),
    );
}

fn chart_ui(
    ui: &mut egui::Ui,
    (title, series, id, unit): (&str, &str, &str, &'static str),
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
        .label_formatter(move |pos| hover_label(pos, unit))
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
    fn every_figure_explains_itself_and_a_chart_names_the_week_and_value_under_the_pointer() {
        let labels: std::collections::BTreeSet<&str> = EXPLAINED.iter().map(|(l, _)| *l).collect();
        assert_eq!(labels.len(), EXPLAINED.len(), "one sentence per card");
        for (label, why) in EXPLAINED {
            assert!(why.len() > 40 && why.ends_with('.'), "{label}: {why}");
        }
        let near = egui_plot::HoverPosition::NearDataPoint {
            plot_name: "Median time to help",
            position: egui_plot::PlotPoint::new(20_781.0, 3.24),
            index: 0,
        };
        assert_eq!(
            hover_label(&near, " h").as_deref(),
            Some("Median time to help\nweek ending 24 Nov: 3.2 h")
        );
        let elsewhere = egui_plot::HoverPosition::Elsewhere {
            position: egui_plot::PlotPoint::new(0.0, 0.0),
        };
        assert_eq!(hover_label(&elsewhere, "%"), None);
        let skills = ["rust".to_owned(), "sql".to_owned(), "k8s".to_owned()];
        assert_eq!(
            named("Fewer than 2 coaches", &skills),
            " Fewer than 2 coaches: rust, sql and k8s."
        );
        assert_eq!(named("Fewer than 2 coaches", &[]), "");
        assert_eq!(plural(1, "request", "requests"), "1 request");
        assert_eq!(plural(2, "request", "requests"), "2 requests");
    }

    #[test]
    fn the_network_counts_sessions_from_coach_to_coachee() {
        let mut f = peercoach_core::testing::TeamFixture::new(&["Ana", "Ben"]);
        let (ana, ben) = (f.id(0), f.id(1));
        for (i, coach, coachee) in [(1, &ana, &ben), (1, &ana, &ben), (0, &ben, &ana)] {
            let s = peercoach_core::Command::session_now(coach.clone(), coachee.clone(), "Pairing");
            f.apply(i, s).expect("session");
        }
        f.sync_all();
        let team = f.replicas[0].doc.team().clone();
        let edges = coached(&team, &[ana, ben], 0, i64::MAX);
        assert_eq!(edges.get(&(0, 1)), Some(&2), "Ana coached Ben twice");
        assert_eq!(edges.get(&(1, 0)), Some(&1), "Ben coached Ana once");
    }

    #[test]
    fn axis_dates_are_short() {
        // 2026-09-04 and 2026-11-24 (UTC), in days since 1970.
        assert_eq!(short_date(20_700 * DAY_MS), "4 Sep");
        assert_eq!(short_date(20_781 * DAY_MS), "24 Nov");
    }
}
