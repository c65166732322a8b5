//! Group metrics: how well *we* help each other. Team level only — there is no per-person
//! figure anywhere in this module, and a figure that rests on fewer than `k` people is
//! withheld, so a small group cannot be singled out.
//!
//! All figures are derived from records in a rolling window; nothing is counted in the
//! document.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::ids::MemberId;
use crate::model::{Answer, SkillLevel, Team};
use crate::time::{DAY_MS, WEEK_MS, working_ms_between};
use crate::views::Index;

/// Window and privacy threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Length of the rolling window.
    pub window_days: i64,
    /// A figure needs at least this many contributors to be shown.
    pub min_contributors: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            window_days: 28,
            min_contributors: 3,
        }
    }
}

/// One figure, or the reason it is withheld.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The value, when shown.
    pub value: Option<f64>,
    /// How many people it rests on.
    pub contributors: usize,
    /// Withheld because fewer than `k` people contributed.
    pub withheld: bool,
}

impl Figure {
    fn new(value: Option<f64>, contributors: usize, k: usize) -> Self {
        let withheld = contributors < k;
        Self {
            value: if withheld { None } else { value },
            contributors,
            withheld,
        }
    }

    /// The value formatted with `fmt`, or why there is none.
    pub fn show(&self, fmt: impl Fn(f64) -> String) -> String {
        match (self.value, self.withheld) {
            (_, true) => format!(
                "— (withheld: {} people behind it, fewer than k)",
                self.contributors
            ),
            (Some(v), false) => fmt(v),
            (None, false) => "— (no data yet)".into(),
        }
    }
}

/// The dashboard's figures for one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Window start (inclusive).
    pub window_start_ms: i64,
    /// Window end (exclusive).
    pub window_end_ms: i64,
    /// The threshold used.
    pub min_contributors: usize,
    /// Median time from asking to help starting, in ms.
    pub time_to_help_median_ms: Figure,
    /// 80th percentile of the same.
    pub time_to_help_p80_ms: Figure,
    /// Share of requests helped within one working day.
    pub answered_within_working_day: Figure,
    /// Requests per member per week.
    pub ask_rate: Figure,
    /// Offers answered yes / offers made.
    pub consent_rate: Figure,
    /// People who both gave and received coaching / active members.
    pub reciprocity: Figure,
    /// Pairs who coached each other both ways / pairs with any session.
    pub role_reversal_rate: Figure,
    /// Share of members in the largest connected group of the coaching graph.
    pub largest_group_share: Figure,
    /// Members with no coaching link in the window (a count, never names).
    pub isolated_members: Figure,
    /// Gini coefficient of sessions given (0 = evenly shared, 1 = one person).
    pub helper_concentration: Figure,
    /// Share of skills with at least two people able to coach them.
    pub skill_coverage: Figure,
    /// Share of duties with a trained backfill (an apprentice at co-do or lead).
    pub backfill_coverage: Figure,
    /// Skills that only one person can do (bus factor 1).
    pub bus_factor_one_skills: Figure,
    /// Per skill: how many people can do it (no names).
    pub bus_factor: BTreeMap<String, usize>,
    /// The skills with fewer than two people able to coach them: skills, never people,
    /// and empty while the skill figures are withheld.
    #[serde(default)]
    pub skills_short_of_coaches: Vec<String>,
    /// The duties without a trained backfill, by name (never their owners), and empty
    /// while the backfill figure is withheld.
    #[serde(default)]
    pub duties_without_backfill: Vec<String>,
    /// Follow-through: of the yeses that have had two weeks by the window's end (given
    /// in the window's span, two weeks back), the share that became a session within
    /// two weeks of the yes.
    #[serde(default = "no_figure")]
    pub follow_through: Figure,
    /// Requests asked in the window.
    pub requests: usize,
    /// Offers made in the window.
    pub offers: usize,
    /// Sessions held in the window.
    pub sessions: usize,
}

/// How long after a yes a session counts as following through.
pub const FOLLOW_THROUGH_MS: i64 = 2 * WEEK_MS;

/// A figure with nothing behind it (figures from before it existed).
fn no_figure() -> Figure {
    Figure {
        value: None,
        contributors: 0,
        withheld: true,
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).map(|v| *v as f64)
}

/// Gini coefficient of non-negative values (0 when all equal).
pub fn gini(values: &[u64]) -> Option<f64> {
    let n = values.len();
    let total: u64 = values.iter().sum();
    if n == 0 || total == 0 {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 + 1.0) * *v as f64)
        .sum();
    let n = n as f64;
    Some((2.0 * weighted) / (n * total as f64) - (n + 1.0) / n)
}

/// Computes the figures for the window ending at `end_ms`.
pub fn compute(team: &Team, end_ms: i64, config: MetricsConfig) -> Metrics {
    let index = Index::new(team);
    compute_with(team, &index, end_ms, config)
}

fn compute_with(team: &Team, index: &Index<'_>, end_ms: i64, config: MetricsConfig) -> Metrics {
    let k = config.min_contributors;
    let start_ms = end_ms - config.window_days * DAY_MS;
    let in_window = |t: i64| t >= start_ms && t < end_ms;
    let members: Vec<&MemberId> = team
        .members
        .values()
        .filter(|m| m.created_ms < end_ms && m.removed_ms.is_none_or(|t| t >= end_ms))
        .map(|m| &m.id)
        .collect();
    let member_set: BTreeSet<&MemberId> = members.iter().copied().collect();

    // Requests and time to help.
    let requests: Vec<_> = team
        .requests
        .values()
        .filter(|r| in_window(r.created_ms))
        .collect();
    let askers: BTreeSet<&MemberId> = requests.iter().map(|r| &r.author).collect();
    let mut waits = Vec::new();
    let mut helped_askers = BTreeSet::new();
    let mut within_day = 0usize;
    let mut decided = 0usize;
    let mut decided_askers = BTreeSet::new();
    for r in &requests {
        let helped = index.helped_ms(r, end_ms);
        if let Some(h) = helped {
            waits.push(h - r.created_ms);
            helped_askers.insert(&r.author);
        }
        // A request counts once it has had a full working day, or was helped.
        let working_age = working_ms_between(r.created_ms, end_ms);
        match helped {
            Some(h) => {
                decided += 1;
                decided_askers.insert(&r.author);
                if working_ms_between(r.created_ms, h) <= DAY_MS {
                    within_day += 1;
                }
            }
            None if working_age > DAY_MS
                && r.closed_at(i64::MAX)
                    .is_none_or(|(c, _)| c != crate::records::request::Closed::Withdrawn) =>
            {
                decided += 1;
                decided_askers.insert(&r.author);
            }
            None => {}
        }
    }
    waits.sort_unstable();
    let weeks = config.window_days as f64 * DAY_MS as f64 / WEEK_MS as f64;

    // Offers and consent.
    let offers: Vec<_> = team
        .offers
        .values()
        .filter(|o| in_window(o.created_ms))
        .collect();
    let yes = offers
        .iter()
        .filter(|o| o.response.is_some_and(|r| r.answer == Answer::Yes))
        .count();
    let answerers: BTreeSet<&MemberId> = offers.iter().map(|o| &o.to).collect();

    // Follow-through: yeses that have had their two weeks, and how many became sessions.
    let ripe: Vec<(&crate::model::Offer, i64)> = team
        .offers
        .values()
        .filter_map(|o| {
            o.response
                .filter(|r| r.answer == Answer::Yes)
                .map(|r| (o, r.at_ms))
        })
        .filter(|(_, yes)| {
            *yes >= start_ms - FOLLOW_THROUGH_MS && *yes < end_ms - FOLLOW_THROUGH_MS
        })
        .collect();
    let followed = ripe
        .iter()
        .filter(|(o, yes)| {
            team.sessions
                .values()
                .any(|s| s.follows(o) && s.created_ms <= yes.saturating_add(FOLLOW_THROUGH_MS))
        })
        .count();
    let ripe_people: BTreeSet<&MemberId> =
        ripe.iter().flat_map(|(o, _)| [&o.from, &o.to]).collect();

    // Sessions: giving, receiving, pairs, graph.
    let sessions: Vec<_> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none() && in_window(s.at_ms))
        .collect();
    let gave: BTreeSet<&MemberId> = sessions.iter().map(|s| &s.coach).collect();
    let received: BTreeSet<&MemberId> = sessions.iter().map(|s| &s.coachee).collect();
    let mut active: BTreeSet<&MemberId> = gave.union(&received).copied().collect();
    active.extend(askers.iter().copied());
    active.extend(offers.iter().map(|o| &o.from));
    active.retain(|m| member_set.contains(m));
    let both = gave
        .intersection(&received)
        .filter(|m| member_set.contains(*m))
        .count();

    let mut directed: BTreeSet<(&MemberId, &MemberId)> = BTreeSet::new();
    for s in &sessions {
        directed.insert((&s.coach, &s.coachee));
    }
    let pairs: BTreeSet<(&MemberId, &MemberId)> = directed
        .iter()
        .map(|(a, b)| if a < b { (*a, *b) } else { (*b, *a) })
        .collect();
    let reversed = pairs
        .iter()
        .filter(|(a, b)| directed.contains(&(*a, *b)) && directed.contains(&(*b, *a)))
        .count();
    let pair_people: BTreeSet<&MemberId> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();

    // Connected groups by union-find over current members.
    let position: HashMap<&MemberId, usize> =
        members.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut parent: Vec<usize> = (0..members.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut linked = vec![false; members.len()];
    for (a, b) in &pairs {
        if let (Some(&ia), Some(&ib)) = (position.get(a), position.get(b)) {
            linked[ia] = true;
            linked[ib] = true;
            let (ra, rb) = (find(&mut parent, ia), find(&mut parent, ib));
            parent[ra] = rb;
        }
    }
    let mut group_sizes: HashMap<usize, usize> = HashMap::new();
    for i in 0..members.len() {
        let root = find(&mut parent, i);
        *group_sizes.entry(root).or_default() += 1;
    }
    let largest = group_sizes.values().copied().max().unwrap_or(0);
    let isolated = linked.iter().filter(|l| !**l).count();

    // Concentration of help given, over active members (zeros included).
    let mut given: HashMap<&MemberId, u64> = active.iter().map(|m| (*m, 0)).collect();
    for s in &sessions {
        if let Some(n) = given.get_mut(&s.coach) {
            *n += 1;
        }
    }
    let given: Vec<u64> = given.into_values().collect();

    // Skills and backfill (current state at the window end).
    let mut coaches: BTreeMap<&str, usize> = BTreeMap::new();
    let mut able: BTreeMap<String, usize> = BTreeMap::new();
    let mut skill_people = BTreeSet::new();
    for m in members.iter().filter_map(|id| team.members.get(*id)) {
        for (skill, level) in &m.skills {
            skill_people.insert(&m.id);
            coaches.entry(skill).or_default();
            if *level == SkillLevel::CanCoach {
                *coaches.entry(skill).or_default() += 1;
            }
            if *level >= SkillLevel::CanDo {
                *able.entry(skill.clone()).or_default() += 1;
            } else {
                able.entry(skill.clone()).or_default();
            }
        }
    }
    let covered = coaches.values().filter(|n| **n >= 2).count();
    let duties: Vec<_> = team
        .duties
        .values()
        .filter(|d| d.deleted_ms.is_none() && d.created_ms < end_ms)
        .collect();
    let duty_owners: BTreeSet<&MemberId> = duties.iter().map(|d| &d.owner).collect();
    let trained = duties.iter().filter(|d| d.has_trained_backfill()).count();
    let ratio = |num: usize, den: usize| (den > 0).then(|| num as f64 / den as f64);

    Metrics {
        window_start_ms: start_ms,
        window_end_ms: end_ms,
        min_contributors: k,
        time_to_help_median_ms: Figure::new(percentile(&waits, 0.5), helped_askers.len(), k),
        time_to_help_p80_ms: Figure::new(percentile(&waits, 0.8), helped_askers.len(), k),
        answered_within_working_day: Figure::new(
            ratio(within_day, decided),
            decided_askers.len(),
            k,
        ),
        ask_rate: Figure::new(
            (!members.is_empty()).then(|| requests.len() as f64 / members.len() as f64 / weeks),
            askers.len(),
            k,
        ),
        consent_rate: Figure::new(ratio(yes, offers.len()), answerers.len(), k),
        reciprocity: Figure::new(ratio(both, active.len()), active.len(), k),
        role_reversal_rate: Figure::new(ratio(reversed, pairs.len()), pair_people.len(), k),
        largest_group_share: Figure::new(ratio(largest, members.len()), members.len(), k),
        isolated_members: Figure::new(Some(isolated as f64), members.len(), k),
        helper_concentration: Figure::new(gini(&given), active.len(), k),
        skill_coverage: Figure::new(ratio(covered, coaches.len()), skill_people.len(), k),
        backfill_coverage: Figure::new(ratio(trained, duties.len()), duty_owners.len(), k),
        bus_factor_one_skills: Figure::new(
            Some(able.values().filter(|n| **n == 1).count() as f64),
            skill_people.len(),
            k,
        ),
        bus_factor: if skill_people.len() >= k {
            able
        } else {
            BTreeMap::new()
        },
        skills_short_of_coaches: if skill_people.len() >= k {
            coaches
                .iter()
                .filter(|(_, n)| **n < 2)
                .map(|(skill, _)| (*skill).to_owned())
                .collect()
        } else {
            Vec::new()
        },
        duties_without_backfill: if duty_owners.len() >= k {
            duties
                .iter()
                .filter(|d| !d.has_trained_backfill())
                .map(|d| d.title.clone())
                .collect()
        } else {
            Vec::new()
        },
        follow_through: Figure::new(ratio(followed, ripe.len()), ripe_people.len(), k),
        requests: requests.len(),
        offers: offers.len(),
        sessions: sessions.len(),
    }
}

/// Figures for consecutive weeks ending at `end_ms`, oldest first (each a rolling window
/// ending on that week's end), for the dashboard's charts.
pub fn weekly(team: &Team, end_ms: i64, weeks: usize, config: MetricsConfig) -> Vec<Metrics> {
    let index = Index::new(team);
    let last_week_end = crate::time::week_start(end_ms) + WEEK_MS;
    (0..weeks)
        .rev()
        .map(|i| compute_with(team, &index, last_week_end - i as i64 * WEEK_MS, config))
        .collect()
}
