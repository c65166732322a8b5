//! The team's recurring coaching hour.
//!
//! ```text
//! coaching_hour/<setting id>: {weekday, start_minute, minutes, note, updated_ms, zone?,
//!                              zone_offset_ms?, revision}
//! ```
//!
//! Each setting is a map of its own under a fresh key, and the hour is the setting with
//! the highest `revision` (then the latest `updated_ms`, then the key): two settings made
//! apart never mix a day from one with a zone from the other, and none writes over
//! another (which the sync rules refuse, `coaching_hour` being part of the document's
//! shape). The first settings wrote their fields into `coaching_hour` itself; they are
//! read as one setting of revision 0.
//!
//! The hour is kept in UTC, which every device reads the same. `zone` is the time zone it
//! was set in (an IANA name such as `Europe/Berlin`, when the setting device knew it) and
//! `zone_offset_ms` that zone's offset from UTC at the hour's next start when it was set:
//! together they give the hour's wall-clock time in that zone, which it keeps across
//! summer time ([`CoachingHour::starts`]) — in the window, the suggestions and the
//! calendars alike. Without a zone the database knows, it stays at its UTC time. `revision` counts
//! the settings (calendars take it as the event's `SEQUENCE`: a device's clock cannot
//! make a newer setting look older).

use automerge::{ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::{Cx, clean_text, done, opt_u32};
use crate::calendar::Zones;
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
    pub(super) const REVISION: &str = "revision";
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
    /// How many times it was set before (read from the document; ignored when setting).
    #[serde(default)]
    pub revision: u32,
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

    /// When the hour begins (UTC) from `from_ms` until `to_ms`: at the same wall-clock
    /// time every week in the zone it was set in, summer time included, when `zones`
    /// knows that zone; at the same UTC time every week otherwise. The app, the
    /// suggestions and the calendar all follow this one rule.
    pub fn starts(&self, from_ms: i64, to_ms: i64, zones: &dyn Zones) -> Vec<i64> {
        use crate::time::{DAY_MS, MINUTE_MS, weekday};
        let mut out = Vec::new();
        if to_ms <= from_ms {
            return out;
        }
        let zoned = (!self.zone.is_empty())
            .then(|| zones.offset(&self.zone, from_ms))
            .flatten()
            .is_some();
        let (day_of_week, minute) = if zoned {
            on_clock(self.weekday, self.start_minute, self.zone_offset_ms)
        } else {
            (self.weekday, self.start_minute)
        };
        let first_day = from_ms.div_euclid(DAY_MS) - 2;
        let last_day = to_ms.div_euclid(DAY_MS) + 2;
        for day in first_day..=last_day {
            if weekday(day * DAY_MS) != day_of_week {
                continue;
            }
            let wall = day * DAY_MS + i64::from(minute) * MINUTE_MS;
            let at = if zoned {
                // The offset then: found from a first guess, as at a clock change the
                // offset at the wall time read as UTC may not be the one in force.
                let guess = zones.offset(&self.zone, wall).unwrap_or(0);
                wall - zones.offset(&self.zone, wall - guess).unwrap_or(guess)
            } else {
                wall
            };
            if (from_ms..to_ms).contains(&at) {
                out.push(at);
            }
        }
        out
    }

    /// The start of the hour under way at `at_ms`, or else of the next one.
    pub fn next_start(&self, at_ms: i64, zones: &dyn Zones) -> Option<i64> {
        let length = i64::from(self.minutes) * crate::time::MINUTE_MS;
        self.starts(at_ms - length + 1, at_ms + 8 * crate::time::DAY_MS, zones)
            .first()
            .copied()
    }

    /// `Thursday 15:00–16:00 UTC`: one week's hour, starting at `start_ms`, in UTC.
    pub fn describe_at(&self, start_ms: i64) -> String {
        let minute = start_ms.rem_euclid(crate::time::DAY_MS) / crate::time::MINUTE_MS;
        let hour = CoachingHour {
            weekday: crate::time::weekday(start_ms),
            start_minute: u32::try_from(minute).unwrap_or(0),
            ..self.clone()
        };
        hour.describe()
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
    let settings = crate::fields::record_ids(doc, &obj);
    let latest = settings
        .iter()
        .filter_map(|(key, setting)| {
            let hour = read_setting(&Fields::read(doc, setting))?;
            Some(((hour.revision, hour.set_ms, key.clone()), hour))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, hour)| hour);
    latest.or_else(|| read_setting(&Fields::read(doc, &obj)))
}

/// One setting's fields, when it is whole.
fn read_setting(f: &Fields) -> Option<CoachingHour> {
    Some(CoachingHour {
        weekday: opt_u32(f, key::WEEKDAY)?.min(6),
        start_minute: opt_u32(f, key::START_MINUTE)?.min(24 * 60 - 1),
        minutes: opt_u32(f, key::MINUTES)?.min(24 * 60),
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
        revision: opt_u32(f, key::REVISION).unwrap_or(0),
    })
}

/// Sets the team's coaching hour.
pub(crate) fn set(cx: &mut Cx<'_>, hour: CoachingHour) -> Result<Applied, CommandError> {
    let hour = hour.check()?;
    let revision = cx
        .team
        .coaching_hour
        .as_ref()
        .map_or(0, |h| h.revision.saturating_add(1));
    let id: crate::ids::RequestId = cx.fresh()?;
    let w = &mut cx.w;
    // A map of its own: two settings made apart replace each other whole, never a day
    // from one and a zone from the other, and nothing is written over.
    let hours = match get_map(w.doc, &ROOT, ROOT_KEY) {
        Some(hours) => hours,
        None => w.new_map(&ROOT, ROOT_KEY)?,
    };
    let obj = w.new_map(&hours, id.as_str())?;
    w.put(&obj, key::WEEKDAY, i64::from(hour.weekday))?;
    w.put(&obj, key::START_MINUTE, i64::from(hour.start_minute))?;
    w.put(&obj, key::MINUTES, i64::from(hour.minutes))?;
    w.put(&obj, key::NOTE, hour.note)?;
    w.put(&obj, key::UPDATED_MS, cx.now_ms)?;
    w.put(&obj, key::ZONE, hour.zone)?;
    w.put(&obj, key::ZONE_OFFSET_MS, hour.zone_offset_ms)?;
    w.put(&obj, key::REVISION, i64::from(revision))?;
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
