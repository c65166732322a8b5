//! iCalendar (RFC 5545) for the coaching a person has planned: the team's coaching hour,
//! their scheduled sessions and their follow-ups with a due date. No server: a device
//! writes [`device_calendar`] to a file a calendar app subscribes to, and hands single
//! events ([`session_event`], [`hour_event`]) to the system's calendar.
//!
//! Events have stable UIDs (`session-<id>@peercoach`, `hour-<team>@peercoach`,
//! `followup-<id>@peercoach`), and `DTSTAMP`/`SEQUENCE` come from the records, not the
//! clock: the same records give the same file, and an update replaces its event.
//! - The coaching hour is a weekly event (`RRULE:FREQ=WEEKLY`) in the zone it was set in
//!   (`TZID=Europe/Berlin`, its wall-clock time there), or in UTC when that is unknown.
//! - A session is in the calendar when it was scheduled (logged before it began); a
//!   cancelled one stays, `STATUS:CANCELLED`, so subscribed calendars drop it.
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

/// The device's whole calendar: for each team, the coaching hour, `me`'s scheduled
/// sessions (cancelled ones marked so) and open follow-ups with a due date. `offset_at`
/// gives the person's clock offset at an instant (due dates are their days).
pub fn device_calendar(sources: &[Source<'_>], offset_at: &dyn Fn(i64) -> i64) -> String {
    let mut cal = Calendar::new("peercoach");
    for src in sources {
        if let Some(hour) = &src.team.coaching_hour {
            cal.hour(src.id, src.name, hour);
        }
        let mut sessions: Vec<&Session> = src
            .team
            .sessions
            .values()
            .filter(|s| &s.coach == src.me || &s.coachee == src.me)
            .filter(|s| s.created_ms < s.at_ms)
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
            .filter_map(|(s, u)| u.due_ms.map(|due| (due, s, u)))
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
    let s = team.sessions.get(session)?;
    let mut cal = Calendar::new("peercoach session");
    cal.session(team, me, s);
    Some(cal.finish())
}

/// The team's coaching hour as a calendar of its own, for "Add to calendar".
pub fn hour_event(team_id: &TeamId, team_name: &str, team: &Team) -> Option<String> {
    let hour = team.coaching_hour.as_ref()?;
    let mut cal = Calendar::new("peercoach coaching hour");
    cal.hour(team_id, team_name, hour);
    Some(cal.finish())
}

/// A calendar being written: content lines, folded and CRLF-ended.
struct Calendar {
    out: String,
}

impl Calendar {
    fn new(name: &str) -> Self {
        let mut cal = Self { out: String::new() };
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

    fn hour(&mut self, team_id: &TeamId, team_name: &str, hour: &CoachingHour) {
        // The first week it was held: the week it was set in.
        let set = hour.set_ms.max(0);
        let (weekday, start) = if hour.zone.is_empty() {
            (hour.weekday, hour.start_minute)
        } else {
            on_clock(hour.weekday, hour.start_minute, hour.zone_offset_ms)
        };
        let offset = if hour.zone.is_empty() {
            0
        } else {
            hour.zone_offset_ms
        };
        let set_day = (set + offset).div_euclid(DAY_MS);
        let set_weekday = crate::time::weekday(set_day * DAY_MS);
        let first_day = set_day + i64::from((weekday + 7 - set_weekday) % 7);
        let local_start = first_day * DAY_MS + i64::from(start) * MINUTE_MS;
        self.begin("VEVENT");
        self.prop("UID", &format!("hour-{team_id}@peercoach"));
        self.prop("DTSTAMP", &utc(set));
        self.prop("SEQUENCE", &sequence(set));
        if hour.zone.is_empty() {
            self.prop("DTSTART", &utc(local_start));
        } else {
            self.prop(
                &format!("DTSTART;TZID={}", hour.zone),
                &floating(local_start),
            );
        }
        self.prop("DURATION", &format!("PT{}M", hour.minutes));
        self.prop("RRULE", &format!("FREQ=WEEKLY;BYDAY={}", byday(weekday)));
        self.text("SUMMARY", &format!("Coaching hour ({team_name})"));
        let mut about = format!(
            "The team's weekly time for coaching: ask, offer, meet. {} UTC.",
            hour.describe().trim_end_matches(" UTC")
        );
        if !hour.note.is_empty() {
            about = format!("{}\n{about}", hour.note);
            self.text("LOCATION", &hour.note);
        }
        self.text("DESCRIPTION", &about);
        self.end("VEVENT");
    }

    fn session(&mut self, team: &Team, me: &MemberId, s: &Session) {
        let other = if &s.coach == me { &s.coachee } else { &s.coach };
        let changed = s.deleted_ms.unwrap_or(s.created_ms).max(s.created_ms);
        self.begin("VEVENT");
        self.prop("UID", &format!("session-{}@peercoach", s.id));
        self.prop("DTSTAMP", &utc(changed));
        self.prop("SEQUENCE", &sequence(changed));
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

/// RFC 5545 TEXT escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
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

/// `20261203`.
fn ymd(d: crate::time::Date) -> String {
    format!("{:04}{:02}{:02}", d.year, d.month, d.day)
}

/// A revision number that rises with each change: minutes since 1970.
fn sequence(changed_ms: i64) -> String {
    (changed_ms.max(0) / MINUTE_MS).to_string()
}

/// `MO`…`SU`.
fn byday(weekday: u32) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
        .get(weekday as usize)
        .copied()
        .unwrap_or("MO")
}
