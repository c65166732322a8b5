//! Who could help with one open request: up to three teammates, each with why in a few
//! words ("can coach rust · floats this week · first time with Bo").
//!
//! The rules, in order:
//! - each can coach, or can do, one of the request's skills;
//! - each is a current member and not snoozed; the asker is not among them, nor whoever
//!   the request is already aimed at, nor anyone with an offer on it waiting or accepted;
//! - the week's floating helpers come first;
//! - then whoever coached least in the last four weeks, so that help spreads out (the
//!   helper concentration figure does not rise by following the list);
//! - then people who have not coached the asker before;
//! - then "can coach" before "can do", then by name, so the list is the same on every
//!   device.
//!
//! Suggestions are per request. They never rank people overall and never show one
//! person's counts to another: a reason says "first time with Bo", never a number.

use serde::{Deserialize, Serialize};

use crate::ids::{MemberId, RequestId};
use crate::model::{OfferStatus, SkillLevel, Team};
use crate::time::{WEEK_MS, iso_week_key};

/// The most teammates suggested for one request.
pub const MAX_SUGGESTIONS: usize = 3;

/// How far back "coached least lately" looks.
pub const RECENT_MS: i64 = 4 * WEEK_MS;

/// The longest an availability note is quoted in a reason.
const NOTE_CHARS: usize = 32;

/// A teammate who could help, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Who.
    pub member: MemberId,
    /// Their name.
    pub name: String,
    /// Why, in a few words each, most telling first.
    pub why: Vec<String>,
}

impl Suggestion {
    /// The reasons as one line: `can coach rust · floats this week`.
    pub fn why_line(&self) -> String {
        self.why.join(" · ")
    }
}

/// Up to [`MAX_SUGGESTIONS`] teammates who could help with `request` at `now_ms`, best
/// first. None for a request that is closed or has no skills to match on.
pub fn suggest(team: &Team, request: &RequestId, now_ms: i64) -> Vec<Suggestion> {
    let Some(r) = team.requests.get(request) else {
        return Vec::new();
    };
    if !r.is_active() {
        return Vec::new();
    }
    let week = iso_week_key(now_ms);
    let floating = team.rota.get(&week);
    // Already asked: the person it is aimed at, and whoever offered to its author since
    // it was last reopened and was not refused.
    let since = r.reopened_ms.unwrap_or(i64::MIN);
    let asked: Vec<&MemberId> = team
        .offers
        .values()
        .filter(|o| o.request.as_ref() == Some(request) && o.to == r.author)
        .filter(|o| o.created_ms >= since || o.status() == OfferStatus::Pending)
        .filter(|o| matches!(o.status(), OfferStatus::Pending | OfferStatus::Accepted))
        .map(|o| &o.from)
        .chain(r.to.as_ref())
        .collect();
    let live_sessions = || team.sessions.values().filter(|s| s.deleted_ms.is_none());
    let mut ranked: Vec<(Key, Suggestion)> = team
        .current_members()
        .into_iter()
        .filter(|m| m.id != r.author && !asked.contains(&&m.id) && !m.is_snoozed(now_ms))
        .filter_map(|m| {
            // Its best level among the request's skills, and that skill.
            let (skill, level) = r
                .skills
                .iter()
                .filter_map(|s| m.skills.get(s).map(|l| (s, *l)))
                .filter(|(_, l)| *l >= SkillLevel::CanDo)
                .max_by(|(a, la), (b, lb)| la.cmp(lb).then(b.cmp(a)))?;
            let floats = floating.is_some_and(|f| f.contains(&m.id));
            let recent = live_sessions()
                .filter(|s| s.coach == m.id && s.at_ms > now_ms - RECENT_MS && s.at_ms <= now_ms)
                .count();
            let coached_asker = live_sessions()
                .any(|s| s.coach == m.id && s.coachee == r.author && s.at_ms <= now_ms);
            let mut why = vec![format!("{} {skill}", level.label())];
            if floats {
                why.push("floats this week".to_owned());
            }
            let note = m.availability.trim();
            if !note.is_empty() {
                let short: String = note.chars().take(NOTE_CHARS).collect();
                let more = if note.chars().count() > NOTE_CHARS {
                    "…"
                } else {
                    ""
                };
                why.push(format!("free {short}{more}"));
            }
            let asker = team.name_of(&r.author);
            why.push(if coached_asker {
                format!("has coached {asker} before")
            } else {
                format!("first time with {asker}")
            });
            let key = Key {
                not_floating: !floats,
                recent,
                coached_asker,
                level: std::cmp::Reverse(level),
                name: m.name.clone(),
            };
            Some((
                key,
                Suggestion {
                    member: m.id.clone(),
                    name: m.name.clone(),
                    why,
                },
            ))
        })
        .collect();
    ranked.sort_by(|(a, _), (b, _)| a.cmp(b));
    ranked
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, s)| s)
        .collect()
}

/// The order of the rules, as a sort key: smaller first.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    not_floating: bool,
    recent: usize,
    coached_asker: bool,
    level: std::cmp::Reverse<SkillLevel>,
    name: String,
}
