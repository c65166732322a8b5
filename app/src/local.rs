//! Times as the person's own clock shows them. Records keep UTC milliseconds, and the
//! coaching hour a UTC weekday and minute; only what is shown, and what is typed into a
//! time field, is in the local time zone. The zone and its summer time come from the
//! system (chrono's `Local`: `TZ`, else `/etc/localtime`), per instant, so a date across
//! a clock change is shown as the clock on that date showed it.

use peercoach_core::CoachingHour;
use peercoach_core::calendar::TzDatabase;
use peercoach_core::records::coaching_hour::{from_clock, on_clock};
use peercoach_core::time::{DAY_MS, MINUTE_MS, WEEK_MS, format_date, format_datetime};

/// How far the local clock is ahead of UTC at the instant `ms`.
pub fn offset_ms(ms: i64) -> i64 {
    peercoach_node::clock::offset_ms(ms)
}

/// `2026-11-24 15:05`, on the local clock.
pub fn datetime(ms: i64) -> String {
    format_datetime(ms + offset_ms(ms))
}

/// `Tue 2026-11-24 15:05`, on the local clock: a time to choose between, with its day.
pub fn day_time(ms: i64) -> String {
    let wall = ms + offset_ms(ms);
    let day = peercoach_core::time::WEEKDAYS
        .get(peercoach_core::time::weekday(wall) as usize)
        .map_or("", |d| d.get(..3).unwrap_or(d));
    format!("{day} {}", format_datetime(wall))
}

/// `2026-11-24`, the local date.
pub fn date(ms: i64) -> String {
    format_date(ms + offset_ms(ms))
}

/// Midnight at the start of a `YYYY-MM-DD` typed on this device: the local day, as a
/// person means a date.
pub fn parse_date(s: &str) -> Option<i64> {
    let utc_midnight = peercoach_core::time::parse_date(s)?;
    // The offset at local midnight, found from the one at UTC midnight (a clock change
    // between the two moves it).
    let guess = utc_midnight - offset_ms(utc_midnight);
    Some(utc_midnight - offset_ms(guess))
}

/// `2026-12-08 10:00` (or `2026-12-08T10:00`) on the local clock, as an instant.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let (day, time) = s.trim().split_once([' ', 'T'])?;
    let (h, m) = time.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    let wall = peercoach_core::time::parse_date(day)? + (h * 60 + m) * MINUTE_MS;
    let guess = wall - offset_ms(wall);
    Some(wall - offset_ms(guess))
}

/// The local zone as an offset, `UTC+01:00`, at the instant `ms` (for a label that says
/// which clock a time field is on).
pub fn zone(ms: i64) -> String {
    zone_name(offset_ms(ms))
}

/// The system's time zone as an IANA name (`Europe/Berlin`), or empty when the system
/// does not say (the coaching hour then reaches calendars in UTC).
pub fn iana_zone() -> String {
    // `TZ` first, as chrono's `Local` (which gives the offsets) reads it first, while
    // `iana-time-zone` reads only the system's setting: a `TZ` that names no zone in
    // the database (a POSIX rule) leaves the zone unknown rather than contradicted.
    let name = match std::env::var("TZ") {
        Ok(tz) if !tz.is_empty() => {
            let tz = tz.trim_start_matches(':');
            tz.rsplit_once("zoneinfo/")
                .map_or(tz, |(_, name)| name)
                .to_owned()
        }
        _ => iana_time_zone::get_timezone().unwrap_or_default(),
    };
    if known(&name) { name } else { String::new() }
}

/// Whether the time zone database knows the zone.
fn known(zone: &str) -> bool {
    use peercoach_core::calendar::Zones;
    TzDatabase.offset(zone, 0).is_some()
}

fn zone_name(offset_ms: i64) -> String {
    let minutes = offset_ms / MINUTE_MS;
    if minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// The next start of a weekly hour at UTC `weekday` (0 = Monday) and `start_minute`,
/// at or after `now_ms`.
fn next_start_ms(weekday: u32, start_minute: u32, now_ms: i64) -> i64 {
    let week = peercoach_core::time::week_start(now_ms);
    let at = week + i64::from(weekday) * DAY_MS + i64::from(start_minute) * MINUTE_MS;
    if at < now_ms { at + WEEK_MS } else { at }
}

/// The offset at the coaching hour's next start: the one its weekday and time are shown in.
fn hour_offset_ms(weekday: u32, start_minute: u32, now_ms: i64) -> i64 {
    offset_ms(next_start_ms(weekday, start_minute, now_ms))
}

/// The coaching hour's weekday and start on this device's clock, for the form: as this
/// week's (or the next) hour starts, in the zone it was set in.
pub fn hour_local(hour: &CoachingHour, now_ms: i64) -> (u32, u32) {
    let (start, offset) = hour_now(hour, now_ms);
    on_clock(
        peercoach_core::time::weekday(start),
        minute_of_day(start),
        offset,
    )
}

/// The start of the hour under way or next, and this device's offset then.
fn hour_now(hour: &CoachingHour, now_ms: i64) -> (i64, i64) {
    let start = hour
        .next_start(now_ms, &TzDatabase)
        .unwrap_or_else(|| next_start_ms(hour.weekday, hour.start_minute, now_ms));
    (start, offset_ms(start))
}

/// Minutes after UTC midnight.
fn minute_of_day(ms: i64) -> u32 {
    u32::try_from(ms.rem_euclid(DAY_MS) / MINUTE_MS).unwrap_or(0)
}

/// The coaching hour to set from a day and start typed on this device's clock: kept in
/// UTC, with the system's zone and its offset at the hour's next start (calendars keep
/// the hour at this wall-clock time there).
pub fn coaching_hour(
    day: u32,
    start_minute: u32,
    minutes: u32,
    note: String,
    now_ms: i64,
) -> CoachingHour {
    let (weekday, start_minute) = hour_to_utc(day, start_minute, now_ms);
    let offset = hour_offset_ms(weekday, start_minute, now_ms);
    // The zone only where the database agrees with the clock's offset then (a system
    // whose zone name and rules disagree would otherwise move the hour at once).
    let next = next_start_ms(weekday, start_minute, now_ms);
    let zone = Some(iana_zone())
        .filter(|z| {
            use peercoach_core::calendar::Zones;
            TzDatabase.offset(z, next) == Some(offset)
        })
        .unwrap_or_default();
    CoachingHour {
        weekday,
        start_minute,
        minutes,
        note,
        zone,
        zone_offset_ms: offset,
        ..CoachingHour::default()
    }
}

/// The UTC weekday and start of an hour typed in on this device's clock.
pub fn hour_to_utc(weekday: u32, start_minute: u32, now_ms: i64) -> (u32, u32) {
    // The offset then, not now: an hour set in winter for a summer week keeps its clock.
    let guess = from_clock(weekday, start_minute, offset_ms(now_ms));
    let offset = hour_offset_ms(guess.0, guess.1, now_ms);
    from_clock(weekday, start_minute, offset)
}

/// The zone an hour typed on this device's clock is read in: the offset at its next
/// start, which in the week of a clock change is not today's.
pub fn hour_zone(weekday: u32, start_minute: u32, now_ms: i64) -> String {
    let (day, start) = hour_to_utc(weekday, start_minute, now_ms);
    zone_name(hour_offset_ms(day, start, now_ms))
}

/// `Thursday 16:00–17:00 (UTC+01:00)`: the coaching hour on this device's clock, as this
/// week's (or the next) hour is held.
pub fn describe_hour(hour: &CoachingHour, now_ms: i64) -> String {
    let (start, offset) = hour_now(hour, now_ms);
    let this_week = CoachingHour {
        weekday: peercoach_core::time::weekday(start),
        start_minute: minute_of_day(start),
        ..hour.clone()
    };
    describe_on_clock(&this_week, offset)
}

fn describe_on_clock(hour: &CoachingHour, offset_ms: i64) -> String {
    format!(
        "{} ({})",
        hour.describe_on_clock(offset_ms),
        zone_name(offset_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * MINUTE_MS;

    #[test]
    fn an_hour_moves_to_the_local_clock_and_back_across_midnight_and_the_week() {
        // Thursday 15:00 UTC is Thursday 16:00 in Berlin's winter.
        assert_eq!(on_clock(3, 15 * 60, HOUR), (3, 16 * 60));
        // Monday 01:00 UTC is Sunday 20:00 in New York's winter.
        assert_eq!(on_clock(0, 60, -5 * HOUR), (6, 20 * 60));
        // Sunday 23:30 UTC is Monday 09:00 in Adelaide's summer (+10:30).
        assert_eq!(
            on_clock(6, 23 * 60 + 30, 10 * HOUR + 30 * MINUTE_MS),
            (0, 10 * 60)
        );
        for offset in [-5 * HOUR, 0, HOUR, 10 * HOUR + 30 * MINUTE_MS] {
            for (day, start) in [(0, 0), (3, 15 * 60), (6, 23 * 60 + 59)] {
                let (d, s) = on_clock(day, start, offset);
                assert_eq!(from_clock(d, s, offset), (day, start));
            }
        }
    }

    #[test]
    fn the_hour_names_its_clock() {
        let hour = CoachingHour {
            weekday: 3,
            start_minute: 15 * 60,
            minutes: 60,
            note: String::new(),
            ..Default::default()
        };
        assert_eq!(
            describe_on_clock(&hour, HOUR),
            "Thursday 16:00–17:00 (UTC+01:00)"
        );
        assert_eq!(describe_on_clock(&hour, 0), "Thursday 15:00–16:00 (UTC)");
        assert_eq!(
            describe_on_clock(&hour, -(3 * HOUR + 30 * MINUTE_MS)),
            "Thursday 11:30–12:30 (UTC-03:30)"
        );
    }
}
