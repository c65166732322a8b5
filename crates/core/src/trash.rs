//! The trash: what was deleted in the last 30 days, and may be restored.
//!
//! Nothing leaves the document: a session, a duty or a private note that is deleted is
//! marked (`deleted_ms`), and restoring it is a new change (`restored_ms`) after which the
//! deletion no longer counts. The trash is only a view of those marks: the records deleted
//! less than [`KEEP_DAYS`] days ago that the viewer may take back. Older ones stay marked
//! and can no longer be restored, so that the trash does not grow for ever.

use serde::{Deserialize, Serialize};

use crate::command::CommandError;
use crate::ids::{MemberId, RecordId};
use crate::model::Team;
use crate::notes::Note;
use crate::time::DAY_MS;

/// How many days the trash keeps what was deleted.
pub const KEEP_DAYS: i64 = 30;

/// One thing in the trash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trashed {
    /// The record, with its kind.
    pub record: RecordId,
    /// What it is, for people: "session", "duty", "private note".
    pub what: String,
    /// Its title (a session's "Ana coached Bo: …", a duty's name, a note's first line).
    pub title: String,
    /// When it was deleted.
    pub deleted_ms: i64,
    /// Who deleted it, when known (a note is always mine).
    pub deleted_by: Option<MemberId>,
    /// The last moment it can be restored.
    pub until_ms: i64,
}

/// Since when a record with these marks is in the trash: its deletion, unless a restore
/// at or after it took it back.
pub(crate) fn in_trash(deleted_ms: Option<i64>, restored_ms: Option<i64>) -> Option<i64> {
    deleted_ms.filter(|d| restored_ms.is_none_or(|r| *d > r))
}

/// The time a new mark is written with: now, or just after `previous` when this device's
/// clock is behind it (a deletion after the restore it follows, an ask after the last).
pub(crate) fn mark_after(now_ms: i64, previous: Option<i64>) -> i64 {
    now_ms.max(previous.map_or(i64::MIN, |p| p.saturating_add(1)))
}

/// The last moment something deleted at `deleted_ms` can be restored.
pub fn kept_until(deleted_ms: i64) -> i64 {
    deleted_ms.saturating_add(KEEP_DAYS * DAY_MS)
}

/// Refuses a restore once the trash no longer keeps the record.
pub(crate) fn still_kept(
    kind: &'static str,
    deleted_ms: i64,
    now_ms: i64,
) -> Result<(), CommandError> {
    if now_ms > kept_until(deleted_ms) {
        return Err(CommandError::InvalidInput {
            field: kind,
            reason: format!(
                "it was deleted more than {KEEP_DAYS} days ago; the trash keeps things for {KEEP_DAYS} days"
            ),
        });
    }
    Ok(())
}

/// What `viewer` may restore, most recently deleted first: the sessions they were in, the
/// duties they own or listed, and their own private notes (`notes`, as [`crate::notes::NotesDoc::trashed`]
/// gives them).
pub fn list(team: &Team, viewer: Option<&MemberId>, notes: &[Note], now_ms: i64) -> Vec<Trashed> {
    let kept = |deleted_ms: i64| now_ms <= kept_until(deleted_ms);
    let mut items = Vec::new();
    for s in team.sessions.values() {
        let Some(deleted_ms) = s.deleted_ms.filter(|d| kept(*d)) else {
            continue;
        };
        if viewer.is_none_or(|v| v != &s.coach && v != &s.coachee) {
            continue;
        }
        items.push(Trashed {
            record: RecordId::Session(s.id.clone()),
            what: "session".into(),
            title: format!(
                "{} coached {}: {}",
                team.name_of(&s.coach),
                team.name_of(&s.coachee),
                s.topic
            ),
            deleted_ms,
            deleted_by: s.deleted_by.clone(),
            until_ms: kept_until(deleted_ms),
        });
    }
    if let Some(viewer) = viewer {
        for d in team.duties.values() {
            let Some(deleted_ms) = d.deleted_ms.filter(|d| kept(*d)) else {
                continue;
            };
            if viewer != &d.owner && Some(viewer) != d.listed_by.as_ref() {
                continue;
            }
            items.push(Trashed {
                record: RecordId::Duty(d.id.clone()),
                what: "duty".into(),
                title: format!("{} ({})", d.title, team.name_of(&d.owner)),
                deleted_ms,
                deleted_by: d.trashed_by.clone(),
                until_ms: kept_until(deleted_ms),
            });
        }
    }
    for n in notes {
        let Some(deleted_ms) = n.deleted_ms.filter(|d| kept(*d)) else {
            continue;
        };
        items.push(Trashed {
            record: RecordId::Note(n.id.clone()),
            what: "private note".into(),
            title: first_line(&n.text),
            deleted_ms,
            deleted_by: viewer.cloned(),
            until_ms: kept_until(deleted_ms),
        });
    }
    items.sort_by(|a, b| {
        b.deleted_ms
            .cmp(&a.deleted_ms)
            .then_with(|| a.record.as_str().cmp(b.record.as_str()))
    });
    items
}

/// A note's first line, cut to a title's length.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(80).collect();
    if title.len() < line.len() || text.trim().lines().nth(1).is_some() {
        title.push('…');
    }
    title
}
