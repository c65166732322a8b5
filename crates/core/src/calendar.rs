//! iCalendar (RFC 5545) for the coaching a person has planned: the team's coaching hour,
//! their scheduled sessions and their follow-ups with a due date. No server: a device
//! writes [`device_calendar`] to a file a calendar app subscribes to, and hands single
//! events ([`session_event`], [`hour_event`]) to the system's calendar.
//!
//! Events have stable UIDs (`session-<id>@peercoach`, `hour-<team>@peercoach`,
//! `followup-<id>@peercoach`), and `DTSTAMP`/`SEQUENCE` come from the records, not the
//! clock: the same records give the same file, and an update replaces its event.
//! - The coaching hour is a weekly event (`RRULE:FREQ=WEEKLY`) in the zone it was set in
//!   (`TZID=Europe/Berlin`, its wall-clock time there, with a `VTIMEZONE` that lists the
//!   zone's changes of offset for thirty years from the hour's first week, as the caller's
//!   time zone database ([`Zones`]) gives them), or in UTC when the zone is unknown.
//! - A session is in the calendar when it was scheduled (logged before it began, with the
//!   coachee's consent: [`Session::is_scheduled`]); a cancelled one stays,
//!   `STATUS:CANCELLED`, so subscribed calendars drop it.
//! - A follow-up is an all-day event on its due date, on the person's own clock.

use crate::ids::{MemberId, SessionId, TeamId};
use crate::model::{Session, Team};
use crate::records::coaching_hour::{CoachingHour, on_clock};
use crate::time::{DAY_MS, MINUTE_MS, date_of};

/// One team's part of a device's calendar.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The team.
    pub id: &'a TeamId,
    /// Its name.
    pub name: &'a str,
    /// Its records.
    pub team: &'a Team,
    /// The person this device speaks for in it.
    pub me: &'a MemberId,
}

/// One change of a time zone's offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// When (UTC).
    pub at_ms: i64,
    /// The offset before.
    pub before_ms: i64,
    /// The offset after.
    pub after_ms: i64,
}

/// A time zone database: what a calendar needs to know of a zone by its IANA name.
pub trait Zones {
    /// The zone's offset at `start_ms` and its changes until `end_ms`, oldest first;
    /// `None` for a zone it does not know.
    fn changes(&self, zone: &str, start_ms: i64, end_ms: i64) -> Option<(i64, Vec<Transition>)>;

    /// The zone's offset from UTC at `at_ms`; `None` for a zone it does not know.
    fn offset(&self, zone: &str, at_ms: i64) -> Option<i64>;
}

/// The IANA time zone database (chrono-tz, built into the binary), for the coaching
/// hour's `VTIMEZONE` in calendars: the same on every device, whatever its own zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct TzDatabase;

impl Zones for TzDatabase {
    fn offset(&self, zone: &str, at_ms: i64) -> Option<i64> {
        use chrono::{Offset, TimeZone};
        let tz: chrono_tz::Tz = zone.parse().ok()?;
        let t = tz.timestamp_millis_opt(at_ms).single()?;
        Some(i64::from(t.offset().fix().local_minus_utc()) * 1000)
    }

    fn changes(&self, zone: &str, start_ms: i64, end_ms: i64) -> Option<(i64, Vec<Transition>)> {
        use chrono::{Offset, TimeZone};
        let tz: chrono_tz::Tz = zone.parse().ok()?;
        // In whole seconds: zones change on them.
        let offset = |s: i64| -> Option<i64> {
            let t = tz.timestamp_opt(s, 0).single()?;
            Some(i64::from(t.offset().fix().local_minus_utc()) * 1000)
        };
        let (start, end) = (start_ms.div_euclid(1000), end_ms.div_euclid(1000));
        let first = offset(start)?;
        let mut changes = Vec::new();
        let (mut at, mut before) = (start, first);
        let day = DAY_MS / 1000;
        while at < end {
            let next = (at + day).min(end);
            let after = offset(next)?;
            if after != before {
                // The first second on the new offset, found by halving the day.
                let (mut lo, mut hi) = (at, next);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset(mid)? == before {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                changes.push(Transition {
                    at_ms: hi * 1000,
                    before_ms: before,
                    after_ms: after,
                });
                before = after;
            }
            at = next;
        }
        Some((first, changes))
    }
}

/// Where the `VTIMEZONE` for `hour`'s zone starts: the day before the week it was set,
/// or 2024 for an hour set before zones were kept.
fn zone_start(hour: &CoachingHour) -> i64 {
    let set = hour.set_ms.clamp(0, LAST_MS - 31 * 366 * DAY_MS);
    (set.div_euclid(DAY_MS) * DAY_MS - DAY_MS).max(ZONES_FROM_MS)
}

/// The latest instant a calendar here holds (the end of the year 9999).
const LAST_MS: i64 = 253_402_300_799_000;

/// No `VTIMEZONE` starts before 2024-01-01: an hour set earlier (or with no time) gets
/// the zone's rules from then.
const ZONES_FROM_MS: i64 = 1_704_067_200_000;

/// How many years a `VTIMEZONE` covers from the hour's first week.
pub const ZONE_YEARS: i64 = 30;

/// The device's whole calendar: for each team, the coaching hour, `me`'s scheduled
/// sessions (cancelled ones marked so) and open follow-ups with a due date. `offset_at`
/// gives the person's clock offset at an instant (due dates are their days); `zones`
/// describes the zones coaching hours were set in.
pub fn device_calendar(
    sources: &[Source<'_>],
    offset_at: &dyn Fn(i64) -> i64,
    zones: &dyn Zones,
) -> String {
    let mut cal = Calendar::new("peercoach");
    // One VTIMEZONE a zone, from the earliest hour set in it.
    for hour in sources.iter().filter_map(|s| s.team.coaching_hour.as_ref()) {
        let from = zone_start(hour);
        cal.zone_from
            .entry(hour.zone.clone())
            .and_modify(|f| *f = (*f).min(from))
            .or_insert(from);
    }
    for src in sources {
        if let Some(hour) = &src.team.coaching_hour {
            cal.hour(src.id, src.name, hour, zones);
        }
        let mut sessions: Vec<&Session> = src
            .team
            .sessions
            .values()
            .filter(|s| &s.coach == src.me || &s.coachee == src.me)
            .filter(|s| s.is_scheduled(src.team) && in_range(s.at_ms))
            .collect();
        sessions.sort_by_key(|s| (s.at_ms, s.id.clone()));
        for s in sessions {
            cal.session(src.team, src.me, s);
        }
        let mut followups: Vec<_> = src
            .team
            .sessions
            .values()
            .filter(|s| s.deleted_ms.is_none())
            .flat_map(|s| s.followups.iter().map(move |u| (s, u)))
            .filter(|(_, u)| &u.owner == src.me && u.done_ms.is_none())
            .filter_map(|(s, u)| u.due_ms.filter(|d| in_range(*d)).map(|due| (due, s, u)))
            .collect();
        followups.sort_by_key(|(due, _, u)| (*due, u.id.clone()));
        for (due, s, u) in followups {
            let other = if &s.coach == src.me {
                &s.coachee
            } else {
                &s.coach
            };
            let day = date_of(due + offset_at(due));
            let next = date_of(due + offset_at(due) + DAY_MS);
            cal.begin("VEVENT");
            cal.prop("UID", &format!("followup-{}@peercoach", u.id));
            cal.prop("DTSTAMP", &utc(u.created_ms));
            cal.prop("DTSTART;VALUE=DATE", &ymd(day));
            cal.prop("DTEND;VALUE=DATE", &ymd(next));
            cal.text("SUMMARY", &format!("Follow-up: {}", u.text));
            cal.text(
                "DESCRIPTION",
                &format!(
                    "From the session \"{}\" with {} ({}).",
                    s.topic,
                    src.team.name_of(other),
                    src.name
                ),
            );
            cal.prop("TRANSP", "TRANSPARENT");
            cal.end("VEVENT");
        }
    }
    cal.finish()
}

/// One session as a calendar of its own, for "Add to calendar".
pub fn session_event(team: &Team, me: &MemberId, session: &SessionId) -> Option<String> {
    let s = team
        .sessions
        .get(session)
        .filter(|s| s.consented(team) && (&s.coach == me || &s.coachee == me))?;
    let mut cal = Calendar::new("peercoach session");
    cal.session(team, me, s);
    Some(cal.finish())
}

/// The team's coaching hour as a calendar of its own, for "Add to calendar".
pub fn hour_event(
    team_id: &TeamId,
    team_name: &str,
    team: &Team,
    zones: &dyn Zones,
) -> Option<String> {
    let hour = team.coaching_hour.as_ref()?;
    let mut cal = Calendar::new("peercoach coaching hour");
    cal.hour(team_id, team_name, hour, zones);
    Some(cal.finish())
}

/// A calendar being written: content lines, folded and CRLF-ended.
struct Calendar {
    out: String,
    /// The zones whose `VTIMEZONE` is written already (one each).
    zones: std::collections::BTreeSet<String>,
    /// Where each zone's `VTIMEZONE` starts, when several hours share it.
    zone_from: std::collections::BTreeMap<String, i64>,
}

impl Calendar {
    fn new(name: &str) -> Self {
        let mut cal = Self {
            out: String::new(),
            zones: std::collections::BTreeSet::new(),
            zone_from: std::collections::BTreeMap::new(),
        };
        cal.begin("VCALENDAR");
        cal.prop("VERSION", "2.0");
        cal.prop(
            "PRODID",
            concat!(
                "-//peercoach//peercoach ",
                env!("CARGO_PKG_VERSION"),
                "//EN"
            ),
        );
        cal.prop("CALSCALE", "GREGORIAN");
        cal.prop("METHOD", "PUBLISH");
        cal.text("X-WR-CALNAME", name);
        cal
    }

    fn finish(mut self) -> String {
        self.end("VCALENDAR");
        self.out
    }

    fn begin(&mut self, what: &str) {
        self.prop("BEGIN", what);
    }

    fn end(&mut self, what: &str) {
        self.prop("END", what);
    }

    /// A text property, escaped.
    fn text(&mut self, name: &str, value: &str) {
        self.prop(name, &escape(value));
    }

    /// A content line, folded at 75 octets (never inside a character).
    fn prop(&mut self, name: &str, value: &str) {
        let line = format!("{name}:{value}");
        let mut width = 0;
        for c in line.chars() {
            let len = c.len_utf8();
            if width + len > 75 {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += len;
        }
        self.out.push_str("\r\n");
    }

    fn hour(&mut self, team_id: &TeamId, team_name: &str, hour: &CoachingHour, zones: &dyn Zones) {
        // The first week it was held: the week it was set in (a time no calendar can
        // hold, from a modified client, is brought into range).
        let set = hour.set_ms.clamp(0, LAST_MS - 31 * 366 * DAY_MS);
        let from = self
            .zone_from
            .get(&hour.zone)
            .copied()
            .unwrap_or_else(|| zone_start(hour));
        let zone = (!hour.zone.is_empty())
            .then(|| {
                let end = from + ZONE_YEARS * 365 * DAY_MS;
                zones
                    .changes(&hour.zone, from, end)
                    .map(|changes| (hour.zone.as_str(), changes))
            })
            .flatten();
        let (weekday, start) = if zone.is_some() {
            on_clock(hour.weekday, hour.start_minute, hour.zone_offset_ms)
        } else {
            (hour.weekday, hour.start_minute)
        };
        let offset = if zone.is_some() {
            hour.zone_offset_ms
        } else {
            0
        };
        if let Some((name, (first, changes))) = &zone
            && self.zones.insert((*name).to_owned())
        {
            self.timezone(name, from, *first, changes);
        }
        let set_day = (set + offset).div_euclid(DAY_MS);
        let set_weekday = crate::time::weekday(set_day * DAY_MS);
        let first_day = set_day + i64::from((weekday + 7 - set_weekday) % 7);
        let local_start = first_day * DAY_MS + i64::from(start) * MINUTE_MS;
        self.begin("VEVENT");
        self.prop("UID", &format!("hour-{team_id}@peercoach"));
        self.prop("DTSTAMP", &utc(set.min(253_402_214_399_000)));
        self.prop("SEQUENCE", &hour.revision.to_string());
        match &zone {
            Some((name, _)) => self.prop(&format!("DTSTART;TZID={name}"), &floating(local_start)),
            None => self.prop("DTSTART", &utc(local_start)),
        }
        self.prop("DURATION", &format!("PT{}M", hour.minutes));
        self.prop("RRULE", &format!("FREQ=WEEKLY;BYDAY={}", byday(weekday)));
        self.text("SUMMARY", &format!("Coaching hour ({team_name})"));
        let mut about = "The team's weekly time for coaching: ask, offer, meet.".to_owned();
        if !hour.note.is_empty() {
            about = format!("{}\n{about}", hour.note);
            self.text("LOCATION", &hour.note);
        }
        self.text("DESCRIPTION", &about);
        self.end("VEVENT");
    }

    /// A `VTIMEZONE`: the offset at `from_ms`, then each change, each an observance of its
    /// own (daylight when it is ahead of the zone's smallest offset).
    fn timezone(&mut self, name: &str, from_ms: i64, first_ms: i64, changes: &[Transition]) {
        let standard = changes
            .iter()
            .map(|t| t.after_ms)
            .chain([first_ms])
            .min()
            .unwrap_or(first_ms);
        self.begin("VTIMEZONE");
        self.prop("TZID", name);
        let observances = [Transition {
            at_ms: from_ms,
            before_ms: first_ms,
            after_ms: first_ms,
        }]
        .into_iter()
        .chain(changes.iter().copied());
        for t in observances {
            let kind = if t.after_ms > standard {
                "DAYLIGHT"
            } else {
                "STANDARD"
            };
            self.begin(kind);
            // The local time it starts at, on the clock before it.
            self.prop("DTSTART", &floating(t.at_ms + t.before_ms));
            self.prop("TZOFFSETFROM", &utc_offset(t.before_ms));
            self.prop("TZOFFSETTO", &utc_offset(t.after_ms));
            self.end(kind);
        }
        self.end("VTIMEZONE");
    }

    fn session(&mut self, team: &Team, me: &MemberId, s: &Session) {
        let other = if &s.coach == me { &s.coachee } else { &s.coach };
        // Its last change: an edit, a cancellation, a restore.
        let changed = [s.deleted_ms, s.restored_ms]
            .into_iter()
            .flatten()
            .chain(s.edits.iter().map(|e| e.at_ms))
            .fold(s.created_ms, i64::max);
        self.begin("VEVENT");
        self.prop("UID", &format!("session-{}@peercoach", s.id));
        self.prop("DTSTAMP", &utc(changed.clamp(0, 253_402_214_399_000)));
        // Grows with every change, the same on every device.
        self.prop("SEQUENCE", &s.revision.min(i32::MAX as u64).to_string());
        self.prop("DTSTART", &utc(s.at_ms));
        self.prop(
            "DTEND",
            &utc(s.at_ms + i64::from(s.minutes.max(1)) * MINUTE_MS),
        );
        let role = if &s.coach == me {
            format!("Coaching {}", team.name_of(other))
        } else {
            format!("Coached by {}", team.name_of(other))
        };
        self.text("SUMMARY", &format!("{role}: {}", s.topic));
        self.text(
            "DESCRIPTION",
            &format!(
                "{} coaches {} on \"{}\". Log what you learned in peercoach afterwards.",
                team.name_of(&s.coach),
                team.name_of(&s.coachee),
                s.topic
            ),
        );
        self.prop(
            "STATUS",
            if s.deleted_ms.is_some() {
                "CANCELLED"
            } else {
                "CONFIRMED"
            },
        );
        self.end("VEVENT");
    }
}

/// Whether an instant can be written as an iCalendar date (years 1970 to 9999): a record
/// from a modified client with a time outside is left out, not written as garbage.
fn in_range(ms: i64) -> bool {
    (0..253_402_214_400_000).contains(&ms)
}

/// RFC 5545 TEXT escaping; other control characters than a tab are left out.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `20261203T150000Z`.
fn utc(ms: i64) -> String {
    format!("{}Z", floating(ms))
}

/// `20261203T150000`: a wall-clock time (UTC millis read as that clock's).
fn floating(ms: i64) -> String {
    let d = date_of(ms);
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{}T{:02}{:02}{:02}",
        ymd(d),
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `+0100`, `-0930`, `+053045` (seconds only when there are some).
fn utc_offset(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let secs = ms.abs() / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// `20261203`.
fn ymd(d: crate::time::Date) -> String {
    format!("{:04}{:02}{:02}", d.year, d.month, d.day)
}

/// `MO`…`SU`.
fn byday(weekday: u32) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        .get(weekday as usize)
        .copied()
        .unwrap_or("MO")
}
