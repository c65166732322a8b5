//! Getting data out (JSON, CSV, Markdown) and back in (JSON). The Automerge save file is
//! the complete export; these formats are for people and other tools.
//!
//! The JSON export is the team as the exporting member sees it: advice behind an
//! unanswered offer stays out, like everywhere else.

use std::collections::{BTreeMap, BTreeSet};

use automerge::ObjId;
use serde::{Deserialize, Serialize};

use crate::command::{CommandError, Writer, clean_skill, clean_text};
use crate::env::Env;
use crate::fields::get_map;
use crate::ids::{DutyId, MemberId, OfferId, RequestId, SessionId};
use crate::metrics::{self, MetricsConfig};
use crate::model::{Answer, SkillLevel, Stage, Team, Urgency};
use crate::schema::{MAX_NAME_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::team_doc::TeamDoc;
use crate::time::{format_date, format_datetime, format_span};
use crate::touched::Collection;
use crate::views::{self, Index};

/// Marks a JSON file as ours.
pub const EXPORT_FORMAT: &str = "peercoach-export";

/// The whole JSON export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Export format version (1).
    pub version: u32,
    /// The team.
    pub team: TeamOut,
    /// Members.
    pub members: Vec<MemberOut>,
    /// Requests.
    pub requests: Vec<RequestOut>,
    /// Offers.
    pub offers: Vec<OfferOut>,
    /// Sessions.
    pub sessions: Vec<SessionOut>,
    /// Thanks notes.
    #[serde(default)]
    pub thanks: Vec<ThanksOut>,
    /// Duties.
    #[serde(default)]
    pub duties: Vec<DutyOut>,
    /// Rota: week → member ids floating.
    #[serde(default)]
    pub rota: BTreeMap<String, Vec<MemberId>>,
}

/// Team header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberOut {
    /// Id.
    pub id: MemberId,
    /// Name.
    pub name: String,
    /// Joined.
    #[serde(default)]
    pub created_at: i64,
    /// Removed.
    #[serde(default)]
    pub removed_at: Option<i64>,
    /// Skills.
    #[serde(default)]
    pub skills: BTreeMap<String, SkillLevel>,
    /// Wants to learn.
    #[serde(default)]
    pub wants_to_learn: Vec<String>,
    /// Availability note.
    #[serde(default)]
    pub availability: String,
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOut {
    /// Id.
    pub id: RequestId,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Who asked.
    pub author: MemberId,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// What they tried.
    #[serde(default)]
    pub tried: String,
    /// Urgency.
    #[serde(default = "normal")]
    pub urgency: Urgency,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Aimed at.
    #[serde(default)]
    pub to: Option<MemberId>,
    /// Resolved at.
    #[serde(default)]
    pub resolved_at: Option<i64>,
    /// Withdrawn at.
    #[serde(default)]
    pub withdrawn_at: Option<i64>,
    /// Who holds the claim.
    #[serde(default)]
    pub claimed_by: Option<MemberId>,
    /// Claim time.
    #[serde(default)]
    pub claimed_at: Option<i64>,
}

fn normal() -> Urgency {
    Urgency::Normal
}

/// An offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferOut {
    /// Id.
    pub id: OfferId,
    /// The request it is on.
    pub request: Option<RequestId>,
    /// Offerer.
    pub from: MemberId,
    /// Person asked.
    pub to: MemberId,
    /// Status.
    pub status: String,
    /// Topic.
    #[serde(default)]
    pub topic: String,
    /// When.
    #[serde(default)]
    pub created_at: i64,
    /// When answered.
    #[serde(default)]
    pub answered_at: Option<i64>,
    /// Advice, where the exporter may see it.
    #[serde(default)]
    pub message: Option<String>,
}

/// A session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOut {
    /// Id.
    pub id: SessionId,
    /// Coach.
    pub coach: MemberId,
    /// Coachee.
    pub coachee: MemberId,
    /// Topic.
    pub topic: String,
    /// When it happened.
    #[serde(default)]
    pub at: i64,
    /// Minutes.
    #[serde(default)]
    pub minutes: u32,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Shared learning.
    #[serde(default)]
    pub learning: String,
    /// Offer.
    #[serde(default)]
    pub offer: Option<OfferId>,
    /// Request.
    #[serde(default)]
    pub request: Option<RequestId>,
    /// Follow-ups.
    #[serde(default)]
    pub followups: Vec<FollowUpOut>,
}

/// A follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpOut {
    /// Text.
    pub text: String,
    /// Owner.
    pub owner: MemberId,
    /// Due.
    #[serde(default)]
    pub due_at: Option<i64>,
    /// Done.
    #[serde(default)]
    pub done_at: Option<i64>,
}

/// Thanks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanksOut {
    /// From.
    pub from: MemberId,
    /// To.
    pub to: MemberId,
    /// Text.
    pub text: String,
    /// When.
    #[serde(default)]
    pub at: i64,
    /// Session.
    #[serde(default)]
    pub session: Option<SessionId>,
}

/// A duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyOut {
    /// Id.
    pub id: DutyId,
    /// Owner.
    pub owner: MemberId,
    /// Title.
    pub title: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Apprentices and stages.
    #[serde(default)]
    pub backfills: BTreeMap<MemberId, Stage>,
}

/// Builds the JSON export as `viewer` sees the team.
pub fn to_export(team: &Team, viewer: Option<&MemberId>) -> Export {
    let index = Index::new(team);
    Export {
        format: EXPORT_FORMAT.into(),
        version: 1,
        team: TeamOut {
            id: team
                .id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            name: team.name.clone(),
        },
        members: team
            .members
            .values()
            .map(|m| MemberOut {
                id: m.id.clone(),
                name: m.name.clone(),
                created_at: m.created_ms,
                removed_at: m.removed_ms,
                skills: m.skills.clone(),
                wants_to_learn: m.wants.iter().cloned().collect(),
                availability: m.availability.clone(),
            })
            .collect(),
        requests: team
            .requests
            .values()
            .map(|r| {
                let claim = r.winning_claim();
                RequestOut {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    status: index.status(r).as_str().into(),
                    author: r.author.clone(),
                    created_at: r.created_ms,
                    tried: r.tried.clone(),
                    urgency: r.urgency,
                    skills: r.skills.iter().cloned().collect(),
                    to: r.to.clone(),
                    resolved_at: r.resolved_ms,
                    withdrawn_at: r.withdrawn_ms,
                    claimed_by: claim.map(|c| c.member.clone()),
                    claimed_at: claim.map(|c| c.at_ms),
                }
            })
            .collect(),
        offers: team
            .offers
            .values()
            .map(|o| OfferOut {
                id: o.id.clone(),
                request: o.request.clone(),
                from: o.from.clone(),
                to: o.to.clone(),
                status: o.status().as_str().into(),
                topic: o.topic.clone(),
                created_at: o.created_ms,
                answered_at: o.response.map(|r| r.at_ms),
                message: o.visible_message(viewer).map(str::to_owned),
            })
            .collect(),
        sessions: team
            .sessions
            .values()
            .filter(|s| s.deleted_ms.is_none())
            .map(|s| SessionOut {
                id: s.id.clone(),
                coach: s.coach.clone(),
                coachee: s.coachee.clone(),
                topic: s.topic.clone(),
                at: s.at_ms,
                minutes: s.minutes,
                skills: s.skills.iter().cloned().collect(),
                notes: s.notes.clone(),
                learning: s.learning.clone(),
                offer: s.offer.clone(),
                request: s.request.clone(),
                followups: s
                    .followups
                    .iter()
                    .map(|u| FollowUpOut {
                        text: u.text.clone(),
                        owner: u.owner.clone(),
                        due_at: u.due_ms,
                        done_at: u.done_ms,
                    })
                    .collect(),
            })
            .collect(),
        thanks: team
            .thanks
            .values()
            .map(|t| ThanksOut {
                from: t.from.clone(),
                to: t.to.clone(),
                text: t.text.clone(),
                at: t.at_ms,
                session: t.session.clone(),
            })
            .collect(),
        duties: team
            .duties
            .values()
            .filter(|d| d.deleted_ms.is_none())
            .map(|d| DutyOut {
                id: d.id.clone(),
                owner: d.owner.clone(),
                title: d.title.clone(),
                notes: d.notes.clone(),
                backfills: d
                    .backfills
                    .iter()
                    .map(|b| (b.apprentice.clone(), b.stage))
                    .collect(),
            })
            .collect(),
        rota: team
            .rota
            .iter()
            .map(|(w, ms)| (w.clone(), ms.iter().cloned().collect()))
            .collect(),
    }
}

/// Which table a CSV export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvTable {
    /// Requests.
    Requests,
    /// Offers.
    Offers,
    /// Sessions.
    Sessions,
    /// Members.
    Members,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// One table as CSV (RFC 4180 quoting), member names beside ids.
pub fn to_csv(team: &Team, viewer: Option<&MemberId>, table: CsvTable) -> String {
    let export = to_export(team, viewer);
    let name = |id: &MemberId| team.name_of(id);
    let opt = |v: Option<i64>| v.map(format_datetime).unwrap_or_default();
    let mut out = String::new();
    match table {
        CsvTable::Requests => {
            out += &csv_line(
                &[
                    "id",
                    "title",
                    "status",
                    "author",
                    "author_name",
                    "created_at",
                    "urgency",
                    "skills",
                    "to",
                    "claimed_by",
                    "resolved_at",
                ]
                .map(String::from),
            );
            for r in &export.requests {
                out += &csv_line(&[
                    r.id.to_string(),
                    r.title.clone(),
                    r.status.clone(),
                    r.author.to_string(),
                    name(&r.author),
                    format_datetime(r.created_at),
                    r.urgency.as_str().into(),
                    r.skills.join(";"),
                    r.to.as_ref().map(&name).unwrap_or_default(),
                    r.claimed_by.as_ref().map(&name).unwrap_or_default(),
                    opt(r.resolved_at),
                ]);
            }
        }
        CsvTable::Offers => {
            out += &csv_line(
                &[
                    "id",
                    "request",
                    "from",
                    "to",
                    "status",
                    "topic",
                    "created_at",
                ]
                .map(String::from),
            );
            for o in &export.offers {
                out += &csv_line(&[
                    o.id.to_string(),
                    o.request
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    name(&o.from),
                    name(&o.to),
                    o.status.clone(),
                    o.topic.clone(),
                    format_datetime(o.created_at),
                ]);
            }
        }
        CsvTable::Sessions => {
            out += &csv_line(
                &[
                    "id", "coach", "coachee", "topic", "at", "minutes", "skills", "learning",
                ]
                .map(String::from),
            );
            for s in &export.sessions {
                out += &csv_line(&[
                    s.id.to_string(),
                    name(&s.coach),
                    name(&s.coachee),
                    s.topic.clone(),
                    format_datetime(s.at),
                    s.minutes.to_string(),
                    s.skills.join(";"),
                    s.learning.clone(),
                ]);
            }
        }
        CsvTable::Members => {
            out += &csv_line(
                &[
                    "id",
                    "name",
                    "joined",
                    "removed",
                    "skills",
                    "wants_to_learn",
                ]
                .map(String::from),
            );
            for m in &export.members {
                out += &csv_line(&[
                    m.id.to_string(),
                    m.name.clone(),
                    format_date(m.created_at),
                    m.removed_at.map(format_date).unwrap_or_default(),
                    m.skills
                        .iter()
                        .map(|(s, l)| format!("{s}:{}", l.as_str()))
                        .collect::<Vec<_>>()
                        .join(";"),
                    m.wants_to_learn.join(";"),
                ]);
            }
        }
    }
    out
}

/// A readable Markdown report: who we are, what is open, what we learned, how we help.
pub fn to_markdown(team: &Team, now_ms: i64) -> String {
    let mut md = format!("# {} — peer coaching report\n\n", team.name);
    md += &format!("Generated {} UTC.\n\n", format_datetime(now_ms));
    md += "## Members\n\n";
    for m in team.current_members() {
        let skills: Vec<String> = m
            .skills
            .iter()
            .map(|(s, l)| format!("{s} ({})", l.label()))
            .collect();
        md += &format!(
            "- **{}**{}\n",
            m.name,
            if skills.is_empty() {
                String::new()
            } else {
                format!(": {}", skills.join(", "))
            }
        );
    }
    md += "\n## Help board\n\n";
    let board = views::board(team, now_ms);
    if board.is_empty() {
        md += "Nobody is waiting for help.\n";
    }
    for r in &board {
        md += &format!(
            "- {} — {} ({}, waiting {}{})\n",
            r.title,
            r.author_name,
            r.status.label(),
            format_span(r.waiting_ms),
            r.claimed_by
                .as_ref()
                .map(|c| format!(", {c} is on it"))
                .unwrap_or_default()
        );
    }
    md += "\n## Shared learnings\n\n";
    let mut learnings: Vec<_> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none() && !s.learning.is_empty())
        .collect();
    learnings.sort_by_key(|s| std::cmp::Reverse(s.at_ms));
    if learnings.is_empty() {
        md += "None yet.\n";
    }
    for s in learnings.iter().take(20) {
        md += &format!("- {} ({}): {}\n", s.topic, format_date(s.at_ms), s.learning);
    }
    let m = metrics::compute(team, now_ms, MetricsConfig::default());
    md += &format!(
        "\n## How we help each other (last {} days, team level only)\n\n",
        (m.window_end_ms - m.window_start_ms) / crate::time::DAY_MS
    );
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let span = |v: f64| format_span(v as i64);
    for (label, figure, fmt) in [
        (
            "Median time to help",
            m.time_to_help_median_ms,
            &span as &dyn Fn(f64) -> String,
        ),
        (
            "Helped within a working day",
            m.answered_within_working_day,
            &pct,
        ),
        ("Consent rate (offers answered yes)", m.consent_rate, &pct),
        ("Reciprocity", m.reciprocity, &pct),
        ("Largest connected group", m.largest_group_share, &pct),
        ("Skill coverage (≥ 2 coaches)", m.skill_coverage, &pct),
        ("Duties with a trained backfill", m.backfill_coverage, &pct),
    ] {
        md += &format!("- {label}: {}\n", figure.show(fmt));
    }
    md += "\nThere is deliberately no per-person ranking. Every member's device holds the whole team document, so this is a product rule, not a privacy guarantee.\n";
    md
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Records added.
    pub added: usize,
    /// Records already present (by id), left as they are.
    pub already_present: usize,
    /// Things that could not be restored, and why.
    pub skipped: Vec<String>,
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Not JSON, or not our shape.
    #[error("not a peercoach JSON export: {0}")]
    Format(String),
    /// Another team's export.
    #[error("this export is of team {export_team}, not of the open team {open_team}")]
    OtherTeam {
        /// In the file.
        export_team: String,
        /// Open.
        open_team: String,
    },
    /// A record in it breaks a rule.
    #[error("record {id}: {error}")]
    Record {
        /// Which.
        id: String,
        /// Why.
        error: CommandError,
    },
    /// Writing failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Parses a JSON export, checking its marker and version.
pub fn parse_export(bytes: &[u8]) -> Result<Export, ImportError> {
    let export: Export =
        serde_json::from_slice(bytes).map_err(|e| ImportError::Format(e.to_string()))?;
    if export.format != EXPORT_FORMAT || export.version != 1 {
        return Err(ImportError::Format(format!(
            "format {:?} version {} is not {EXPORT_FORMAT:?} version 1",
            export.format, export.version
        )));
    }
    Ok(export)
}

impl TeamDoc {
    /// Adds the records of a JSON export of this same team that this copy lacks (by id),
    /// as one change. Answers to offers and claims are restored only where they are the
    /// importer's own: nobody else's consent can be written on their behalf.
    pub fn import_json(
        &mut self,
        export: &Export,
        env: &mut dyn Env,
    ) -> Result<ImportReport, ImportError> {
        let open_team = self
            .team()
            .id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if export.team.id != open_team {
            return Err(ImportError::OtherTeam {
                export_team: export.team.id.clone(),
                open_team,
            });
        }
        let me = self.me().cloned().ok_or(CommandError::NotAMember)?;
        let now_ms = env.now_ms();
        let team = self.team().clone();
        let result = write_import(&team, self.automerge(), &me, export, now_ms);
        match result {
            Ok(report) => {
                if report.added > 0 {
                    self.automerge().commit_with(
                        automerge::transaction::CommitOptions::default()
                            .with_message("import json")
                            .with_time(now_ms.div_euclid(1000)),
                    );
                }
                self.refresh_after_merge();
                Ok(report)
            }
            Err(e) => {
                self.automerge().rollback();
                Err(e)
            }
        }
    }
}

fn record_err(id: &impl ToString) -> impl Fn(CommandError) -> ImportError + '_ {
    move |error| ImportError::Record {
        id: id.to_string(),
        error,
    }
}

fn write_import(
    team: &Team,
    doc: &mut automerge::AutoCommit,
    me: &MemberId,
    export: &Export,
    now_ms: i64,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut w = Writer { doc };
    let known: BTreeSet<&MemberId> = team
        .members
        .keys()
        .chain(export.members.iter().map(|m| &m.id))
        .collect();
    let check_member = |id: &MemberId, of: &dyn ToString| {
        if known.contains(id) {
            Ok(())
        } else {
            Err(ImportError::Record {
                id: of.to_string(),
                error: CommandError::NotFound {
                    kind: "member",
                    id: id.to_string(),
                },
            })
        }
    };
    let members = w.collection(Collection::Members)?;
    for m in &export.members {
        if team.members.contains_key(&m.id) {
            report.already_present += 1;
            continue;
        }
        let err = record_err(&m.id);
        let obj = w.new_map(&members, m.id.as_str())?;
        w.put(
            &obj,
            "name",
            clean_text("name", &m.name, MAX_NAME_CHARS, true).map_err(&err)?,
        )?;
        w.put(&obj, "created_ms", m.created_at)?;
        w.put(
            &obj,
            "availability",
            clean_text("availability", &m.availability, MAX_TITLE_CHARS, false).map_err(&err)?,
        )?;
        if let Some(t) = m.removed_at {
            w.put(&obj, "removed_ms", t)?;
        }
        let skills = w.new_map(&obj, "skills")?;
        for (skill, level) in &m.skills {
            w.put(&skills, &clean_skill(skill).map_err(&err)?, level.as_str())?;
        }
        let wants = w.new_map(&obj, "wants")?;
        for skill in &m.wants_to_learn {
            w.put(&wants, &clean_skill(skill).map_err(&err)?, true)?;
        }
        // No devices: an imported member links a device by joining with an invite.
        w.new_map(&obj, "devices")?;
        report.skipped.push(format!(
            "{} was restored without devices: they rejoin with a new invite",
            m.name
        ));
        report.added += 1;
    }
    let requests = w.collection(Collection::Requests)?;
    for r in &export.requests {
        if team.requests.contains_key(&r.id) {
            report.already_present += 1;
            continue;
        }
        let err = record_err(&r.id);
        check_member(&r.author, &r.id)?;
        let obj = w.new_map(&requests, r.id.as_str())?;
        w.put(&obj, "author", r.author.as_str())?;
        w.put(
            &obj,
            "title",
            clean_text("title", &r.title, MAX_TITLE_CHARS, true).map_err(&err)?,
        )?;
        w.put(
            &obj,
            "tried",
            clean_text("tried", &r.tried, MAX_TEXT_CHARS, false).map_err(&err)?,
        )?;
        w.put(&obj, "urgency", r.urgency.as_str())?;
        if let Some(to) = &r.to {
            check_member(to, &r.id)?;
            w.put(&obj, "to", to.as_str())?;
        }
        w.put(&obj, "created_ms", r.created_at)?;
        let skills: Vec<String> = r
            .skills
            .iter()
            .map(|s| clean_skill(s))
            .collect::<Result<_, _>>()
            .map_err(&err)?;
        w.tags(&obj, "skills", &skills)?;
        if let Some(t) = r.resolved_at {
            w.put(&obj, "resolved_ms", t)?;
        }
        if let Some(t) = r.withdrawn_at {
            w.put(&obj, "withdrawn_ms", t)?;
        }
        let claims = w.new_map(&obj, "claims")?;
        if let (Some(by), Some(at)) = (&r.claimed_by, r.claimed_at) {
            if by == me {
                let c = w.new_map(&claims, me.as_str())?;
                w.put(&c, "at_ms", at)?;
            } else {
                report.skipped.push(format!(
                    "claim by {} on \"{}\": only they can claim",
                    team.name_of(by),
                    r.title
                ));
            }
        }
        w.new_map(&obj, "comments")?;
        report.added += 1;
    }
    let offers = w.collection(Collection::Offers)?;
    for o in &export.offers {
        if team.offers.contains_key(&o.id) {
            report.already_present += 1;
            continue;
        }
        let err = record_err(&o.id);
        check_member(&o.from, &o.id)?;
        check_member(&o.to, &o.id)?;
        let obj = w.new_map(&offers, o.id.as_str())?;
        w.put(&obj, "from", o.from.as_str())?;
        w.put(&obj, "to", o.to.as_str())?;
        if let Some(r) = &o.request {
            w.put(&obj, "request", r.as_str())?;
        }
        w.put(
            &obj,
            "topic",
            clean_text("topic", &o.topic, MAX_TITLE_CHARS, false).map_err(&err)?,
        )?;
        w.put(
            &obj,
            "message",
            clean_text(
                "message",
                o.message.as_deref().unwrap_or(""),
                MAX_TEXT_CHARS,
                false,
            )
            .map_err(&err)?,
        )?;
        w.put(&obj, "created_ms", o.created_at)?;
        if o.status == "withdrawn" {
            w.put(&obj, "withdrawn_ms", o.answered_at.unwrap_or(o.created_at))?;
        }
        let responses = w.new_map(&obj, "responses")?;
        let answer = match o.status.as_str() {
            "accepted" => Some(Answer::Yes),
            "declined" => Some(Answer::NotNow),
            _ => None,
        };
        if let Some(answer) = answer {
            if &o.to == me {
                let r = w.new_map(&responses, me.as_str())?;
                w.put(&r, "answer", answer.as_str())?;
                w.put(&r, "at_ms", o.answered_at.unwrap_or(now_ms))?;
            } else {
                report.skipped.push(format!(
                    "{}'s answer to \"{}\": only they can answer; ask them to answer again",
                    team_name(team, export, &o.to),
                    o.topic
                ));
            }
        }
        report.added += 1;
    }
    let sessions = w.collection(Collection::Sessions)?;
    for s in &export.sessions {
        if team.sessions.contains_key(&s.id) {
            report.already_present += 1;
            continue;
        }
        let err = record_err(&s.id);
        check_member(&s.coach, &s.id)?;
        check_member(&s.coachee, &s.id)?;
        let obj = w.new_map(&sessions, s.id.as_str())?;
        w.put(&obj, "coach", s.coach.as_str())?;
        w.put(&obj, "coachee", s.coachee.as_str())?;
        w.put(
            &obj,
            "topic",
            clean_text("topic", &s.topic, MAX_TITLE_CHARS, true).map_err(&err)?,
        )?;
        let skills: Vec<String> = s
            .skills
            .iter()
            .map(|x| clean_skill(x))
            .collect::<Result<_, _>>()
            .map_err(&err)?;
        w.tags(&obj, "skills", &skills)?;
        w.put(&obj, "at_ms", s.at)?;
        w.put(&obj, "minutes", i64::from(s.minutes.min(24 * 60)))?;
        w.put(
            &obj,
            "notes",
            clean_text("notes", &s.notes, MAX_TEXT_CHARS, false).map_err(&err)?,
        )?;
        w.put(
            &obj,
            "learning",
            clean_text("learning", &s.learning, MAX_TEXT_CHARS, false).map_err(&err)?,
        )?;
        if let Some(o) = &s.offer {
            w.put(&obj, "offer", o.as_str())?;
        }
        if let Some(r) = &s.request {
            w.put(&obj, "request", r.as_str())?;
        }
        w.put(&obj, "created_ms", s.at)?;
        let ups = w.new_map(&obj, "followups")?;
        for (i, u) in s.followups.iter().enumerate() {
            check_member(&u.owner, &s.id)?;
            // Follow-up ids are not exported; derive stable ones from the session id.
            let id = followup_id(&s.id, i);
            let f = w.new_map(&ups, &id)?;
            w.put(
                &f,
                "text",
                clean_text("text", &u.text, MAX_TITLE_CHARS, true).map_err(&err)?,
            )?;
            w.put(&f, "owner", u.owner.as_str())?;
            if let Some(t) = u.due_at {
                w.put(&f, "due_ms", t)?;
            }
            if let Some(t) = u.done_at {
                w.put(&f, "done_ms", t)?;
            }
            w.put(&f, "created_ms", s.at)?;
        }
        report.added += 1;
    }
    let duties = w.collection(Collection::Duties)?;
    for d in &export.duties {
        if team.duties.contains_key(&d.id) {
            report.already_present += 1;
            continue;
        }
        let err = record_err(&d.id);
        check_member(&d.owner, &d.id)?;
        let obj = w.new_map(&duties, d.id.as_str())?;
        w.put(&obj, "owner", d.owner.as_str())?;
        w.put(
            &obj,
            "title",
            clean_text("title", &d.title, MAX_TITLE_CHARS, true).map_err(&err)?,
        )?;
        w.put(
            &obj,
            "notes",
            clean_text("notes", &d.notes, MAX_TEXT_CHARS, false).map_err(&err)?,
        )?;
        w.put(&obj, "created_ms", now_ms)?;
        let b = w.new_map(&obj, "backfills")?;
        for (apprentice, stage) in &d.backfills {
            check_member(apprentice, &d.id)?;
            let e = w.new_map(&b, apprentice.as_str())?;
            w.put(&e, "stage", stage.as_str())?;
            w.put(&e, "updated_ms", now_ms)?;
        }
        report.added += 1;
    }
    let rota: ObjId = w.collection(Collection::Rota)?;
    for (week, floating) in &export.rota {
        if crate::time::parse_week_key(week).is_none() {
            return Err(ImportError::Record {
                id: week.clone(),
                error: CommandError::InvalidInput {
                    field: "week",
                    reason: "not an ISO week".into(),
                },
            });
        }
        for member in floating {
            check_member(member, week)?;
            let key = format!("{week}|{member}");
            if get_map(w.doc, &rota, &key).is_none()
                && !team.rota.get(week).is_some_and(|s| s.contains(member))
            {
                w.put(&rota, &key, true)?;
                report.added += 1;
            } else {
                report.already_present += 1;
            }
        }
    }
    if !export.thanks.is_empty() {
        report.skipped.push(format!(
            "{} thanks notes: a thanks is from its writer, so it is not re-created",
            export.thanks.len()
        ));
    }
    Ok(report)
}

fn team_name(team: &Team, export: &Export, id: &MemberId) -> String {
    team.members
        .get(id)
        .map(|m| m.name.clone())
        .or_else(|| {
            export
                .members
                .iter()
                .find(|m| &m.id == id)
                .map(|m| m.name.clone())
        })
        .unwrap_or_else(|| id.short().to_owned())
}

fn followup_id(session: &SessionId, i: usize) -> String {
    // Replace the last 4 hex digits with the index: stable across repeated imports.
    let base = session.as_str();
    format!("{}{:04x}", &base[..32], i.min(0xffff))
}
