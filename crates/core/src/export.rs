//! Getting data out (JSON, CSV, Markdown) and back in (JSON). The Automerge save file is
//! the complete export; these formats are for people and other tools.
//!
//! The JSON export is the team as the exporting member sees it: advice behind an
//! unanswered offer stays out, like everywhere else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::command::CommandError;
use crate::env::Env;
use crate::ids::MemberId;
use crate::metrics::{self, MetricsConfig};
use crate::model::Team;
use crate::records::{ImportCx, Writer, rota};
use crate::team_doc::TeamDoc;
use crate::time::{format_date, format_datetime, format_span};
use crate::views::{self, Index};

pub use crate::records::duty::DutyOut;
pub use crate::records::followup::FollowUpOut;
pub use crate::records::member::MemberOut;
pub use crate::records::offer::OfferOut;
pub use crate::records::request::RequestOut;
pub use crate::records::session::SessionOut;
pub use crate::records::team_settings::TeamOut;
pub use crate::records::thanks::ThanksOut;

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

/// Builds the JSON export as `viewer` sees the team.
pub fn to_export(team: &Team, viewer: Option<&MemberId>) -> Export {
    Export {
        format: EXPORT_FORMAT.into(),
        version: 1,
        team: TeamOut::of(team),
        members: MemberOut::all(team),
        requests: RequestOut::all(team, &Index::new(team)),
        offers: OfferOut::all(team, viewer),
        sessions: SessionOut::all(team),
        thanks: ThanksOut::all(team),
        duties: DutyOut::all(team),
        rota: rota::export(team),
    }
}

/// Which table a CSV export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// One table as CSV (RFC 4180 quoting), member names beside ids.
pub fn to_csv(team: &Team, viewer: Option<&MemberId>, table: CsvTable) -> String {
    let export = to_export(team, viewer);
    match table {
        CsvTable::Requests => RequestOut::csv(team, &export.requests),
        CsvTable::Offers => OfferOut::csv(team, &export.offers),
        CsvTable::Sessions => SessionOut::csv(team, &export.sessions),
        CsvTable::Members => MemberOut::csv(&export.members),
    }
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

fn write_import(
    team: &Team,
    doc: &mut automerge::AutoCommit,
    me: &MemberId,
    export: &Export,
    now_ms: i64,
) -> Result<ImportReport, ImportError> {
    let mut cx = ImportCx {
        team,
        w: Writer { doc },
        me,
        now_ms,
        known: team
            .members
            .keys()
            .chain(export.members.iter().map(|m| &m.id))
            .cloned()
            .collect(),
        export_names: export
            .members
            .iter()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect(),
        report: ImportReport::default(),
    };
    for m in &export.members {
        m.import(&mut cx)?;
    }
    for r in &export.requests {
        r.import(&mut cx)?;
    }
    for o in &export.offers {
        o.import(&mut cx)?;
    }
    for s in &export.sessions {
        s.import(&mut cx)?;
    }
    for d in &export.duties {
        d.import(&mut cx)?;
    }
    rota::import(&mut cx, &export.rota)?;
    cx.report.skipped.extend(ThanksOut::skipped(&export.thanks));
    Ok(cx.report)
}
