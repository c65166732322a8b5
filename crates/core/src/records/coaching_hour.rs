//! The team's recurring coaching hour.
//!
//! ```text
//! coaching_hour: {weekday, start_minute, minutes, note, updated_ms, zone?, zone_offset_ms?}
//! ```
//!
//! The hour is kept in UTC, which every device reads the same. `zone` is the time zone it
//! was set in (an IANA name such as `Europe/Berlin`, when the setting device knew it) and
//! `zone_offset_ms` that zone's offset from UTC when it was set: calendars get the hour
//! as a weekly event in that zone, so it keeps its wall-clock time there.

use automerge::{ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::{Cx, clean_text, done, opt_u32};
use crate::command::{Applied, CommandError};
use crate::fields::{Fields, get_map};
use crate::schema::MAX_TITLE_CHARS;

/// The root key of the coaching hour.
pub(crate) const ROOT_KEY: &str = "coaching_hour";

/// The document keys of the coaching hour.
mod key {
    pub(super) const WEEKDAY: &str = "weekday";
    pub(super) const START_MINUTE: &str = "start_minute";
    pub(super) const MINUTES: &str = "minutes";
    pub(super) const NOTE: &str = "note";
    pub(super) const UPDATED_MS: &str = "updated_ms";
    pub(super) const ZONE: &str = "zone";
    pub(super) const ZONE_OFFSET_MS: &str = "zone_offset_ms";
}

/// The longest a coaching hour can be.
pub const MAX_MINUTES: u32 = 8 * 60;

/// The team's recurring coaching hour. Also the payload of `Command::SetCoachingHour`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoachingHour {
    /// 0 = Monday.
    pub weekday: u32,
    /// Minutes after midnight UTC.
    pub start_minute: u32,
    /// Length.
    pub minutes: u32,
    /// Where / how.
    #[serde(default)]
    pub note: String,
    /// The time zone it was set in (IANA name), empty when unknown.
    #[serde(default)]
    pub zone: String,
    /// That zone's offset from UTC when the hour was set.
    #[serde(default)]
    pub zone_offset_ms: i64,
    /// When it was last set (read from the document; ignored when setting).
    #[serde(default)]
    pub set_ms: i64,
}

impl CoachingHour {
    /// `Thursday 15:00–16:00 UTC`.
    pub fn describe(&self) -> String {
        format!("{} UTC", self.describe_on_clock(0))
    }

    /// `Thursday 16:00–17:00`: the hour on a clock `offset_ms` ahead of UTC.
    pub fn describe_on_clock(&self, offset_ms: i64) -> String {
        let (weekday, start) = on_clock(self.weekday, self.start_minute, offset_ms);
        let day = crate::time::WEEKDAYS
            .get(weekday as usize)
            .copied()
            .unwrap_or("?");
        let end = start + self.minutes;
        format!(
            "{day} {:02}:{:02}–{:02}:{:02}",
            start / 60,
            start % 60,
            (end / 60) % 24,
            end % 60
        )
    }

    /// The hour's limits.
    fn check(mut self) -> Result<Self, CommandError> {
        if self.weekday > 6
            || self.start_minute >= 24 * 60
            || self.minutes == 0
            || self.minutes > MAX_MINUTES
        {
            return Err(CommandError::InvalidInput {
                field: "coaching hour",
                reason: "needs a weekday, a start time within the day and 1–480 minutes".into(),
            });
        }
        self.note = clean_text("note", &self.note, MAX_TITLE_CHARS, false)?;
        self.zone = clean_text("zone", &self.zone, MAX_TITLE_CHARS, false)?;
        if self
            .zone
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "/_+-".contains(c)))
            || self.zone_offset_ms.abs() > 18 * crate::time::HOUR_MS
        {
            return Err(CommandError::InvalidInput {
                field: "zone",
                reason:
                    "needs a time zone name such as Europe/Berlin and an offset within 18 hours"
                        .into(),
            });
        }
        Ok(self)
    }
}

/// Reads the coaching hour, if one is set; out-of-range numbers are brought into range.
pub(crate) fn read<D: ReadDoc>(doc: &D) -> Option<CoachingHour> {
    let obj = get_map(doc, &ROOT, ROOT_KEY)?;
    let f = Fields::read(doc, &obj);
    Some(CoachingHour {
        weekday: opt_u32(&f, key::WEEKDAY)?.min(6),
        start_minute: opt_u32(&f, key::START_MINUTE)?.min(24 * 60 - 1),
        minutes: opt_u32(&f, key::MINUTES)?.min(24 * 60),
        note: f.text(key::NOTE),
        zone: f
            .str(key::ZONE)
            .filter(|z| {
                z.len() <= 64
                    && z.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
            })
            .unwrap_or_default()
            .to_owned(),
        zone_offset_ms: f
            .int(key::ZONE_OFFSET_MS)
            .filter(|o| o.abs() <= 18 * crate::time::HOUR_MS)
            .unwrap_or(0),
        set_ms: f.int(key::UPDATED_MS).unwrap_or(0),
    })
}

/// Sets the team's coaching hour.
pub(crate) fn set(cx: &mut Cx<'_>, hour: CoachingHour) -> Result<Applied, CommandError> {
    let hour = hour.check()?;
    let w = &mut cx.w;
    let obj = w.child(&ROOT, ROOT_KEY)?;
    w.put(&obj, key::WEEKDAY, i64::from(hour.weekday))?;
    w.put(&obj, key::START_MINUTE, i64::from(hour.start_minute))?;
    w.put(&obj, key::MINUTES, i64::from(hour.minutes))?;
    w.put(&obj, key::NOTE, hour.note)?;
    w.put(&obj, key::UPDATED_MS, cx.now_ms)?;
    w.put(&obj, key::ZONE, hour.zone)?;
    w.put(&obj, key::ZONE_OFFSET_MS, hour.zone_offset_ms)?;
    done("coaching hour set")
}

/// Minutes in a week.
const WEEK_MINUTES: i64 = 7 * 24 * 60;

/// A weekly time, UTC `weekday` (0 = Monday) and `start_minute`, on a clock `offset_ms`
/// ahead of UTC: its weekday and start minute there.
pub fn on_clock(weekday: u32, start_minute: u32, offset_ms: i64) -> (u32, u32) {
    let week_minute = (i64::from(weekday) * 24 * 60
        + i64::from(start_minute)
        + offset_ms / crate::time::MINUTE_MS)
        .rem_euclid(WEEK_MINUTES);
    (
        (week_minute / (24 * 60)) as u32,
        (week_minute % (24 * 60)) as u32,
    )
}

/// The UTC weekday and start minute of a weekly time read on a clock `offset_ms` ahead
/// of UTC.
pub fn from_clock(weekday: u32, start_minute: u32, offset_ms: i64) -> (u32, u32) {
    on_clock(weekday, start_minute, -offset_ms)
}
