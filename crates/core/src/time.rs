//! Calendar arithmetic on millisecond UTC timestamps, without a time-zone database.
//!
//! Records carry app-level millisecond timestamps (docs/design.md §3); this module turns them
//! into dates, ISO weeks (the helper rota is per week) and working-day spans (the
//! "answered within a working day" metric), and formats them for people.

/// Milliseconds in a minute, hour, day and week.
pub const MINUTE_MS: i64 = 60_000;
/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Milliseconds in a week.
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// A calendar date (proleptic Gregorian, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day of month 1–31.
    pub day: u32,
}

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

/// The date of a timestamp.
pub fn date_of(ms: i64) -> Date {
    civil_from_days(ms.div_euclid(DAY_MS))
}

/// Midnight UTC at the start of a date.
pub fn ms_of_date(date: Date) -> i64 {
    days_from_civil(date.year, date.month, date.day) * DAY_MS
}

/// Day of week, 0 = Monday … 6 = Sunday.
pub fn weekday(ms: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (ms.div_euclid(DAY_MS) + 3).rem_euclid(7) as u32
}

/// Names of the weekdays, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Midnight UTC at the start of the Monday of the week holding `ms`.
pub fn week_start(ms: i64) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    (day - i64::from(weekday(ms))) * DAY_MS
}

/// The ISO-8601 week key (`2026-W48`) of a timestamp; the helper rota is keyed by it.
pub fn iso_week_key(ms: i64) -> String {
    let (year, week) = iso_week(ms);
    format!("{year}-W{week:02}")
}

/// ISO year and week number of a timestamp.
pub fn iso_week(ms: i64) -> (i32, u32) {
    // The ISO week belongs to the year holding its Thursday.
    let thursday = week_start(ms) + 3 * DAY_MS;
    let year = date_of(thursday).year;
    let jan1 = days_from_civil(year, 1, 1);
    let week = (thursday.div_euclid(DAY_MS) - jan1) / 7 + 1;
    (year, week as u32)
}

/// Parses a week key such as `2026-W48` and returns the Monday it starts on.
pub fn parse_week_key(key: &str) -> Option<i64> {
    let (year, week) = key.split_once("-W")?;
    let year: i32 = year.parse().ok()?;
    let week: i64 = week.parse().ok()?;
    if !(1..=53).contains(&week) {
        return None;
    }
    // Week 1 is the week with January 4th in it.
    let jan4 = days_from_civil(year, 1, 4) * DAY_MS;
    let start = week_start(jan4) + (week - 1) * WEEK_MS;
    (iso_week(start).0 == year).then_some(start)
}

/// Parses `YYYY-MM-DD` to midnight UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * DAY_MS)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// `2026-11-24`.
pub fn format_date(ms: i64) -> String {
    let d = date_of(ms);
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `2026-11-24 14:05` (UTC).
pub fn format_datetime(ms: i64) -> String {
    let minutes = ms.rem_euclid(DAY_MS) / MINUTE_MS;
    format!(
        "{} {:02}:{:02}",
        format_date(ms),
        minutes / 60,
        minutes % 60
    )
}

/// A short human span: `45 min`, `3 h`, `2 d`, `5 wk`.
pub fn format_span(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < HOUR_MS {
        format!("{} min", ms / MINUTE_MS)
    } else if ms < 2 * DAY_MS {
        format!("{} h", ms / HOUR_MS)
    } else if ms < 4 * WEEK_MS {
        format!("{} d", ms / DAY_MS)
    } else {
        format!("{} wk", ms / WEEK_MS)
    }
}

/// Milliseconds between `from` and `to` that fall on working days (Monday–Friday, UTC).
/// A request asked on Friday evening and answered on Monday morning waited a few working
/// hours, not a weekend.
pub fn working_ms_between(from: i64, to: i64) -> i64 {
    if to <= from {
        return 0;
    }
    let mut total = 0;
    let mut cursor = from;
    while cursor < to {
        let next_midnight = (cursor.div_euclid(DAY_MS) + 1) * DAY_MS;
        let end = next_midnight.min(to);
        if weekday(cursor) < 5 {
            total += end - cursor;
        }
        cursor = end;
        // Whole weeks in one step keep long spans cheap.
        if weekday(cursor) == 0 && to - cursor >= WEEK_MS {
            let weeks = (to - cursor) / WEEK_MS;
            total += weeks * 5 * DAY_MS;
            cursor += weeks * WEEK_MS;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 20_000, 20_781, 2_000_000] {
            let d = civil_from_days(days);
            assert_eq!(days_from_civil(d.year, d.month, d.day), days);
        }
        assert_eq!(
            civil_from_days(0),
            Date {
                year: 1970,
                month: 1,
                day: 1
            }
        );
        assert_eq!(
            format_date(parse_date("2026-11-24").expect("date")),
            "2026-11-24"
        );
        assert_eq!(parse_date("2026-02-29"), None);
        assert!(parse_date("2024-02-29").is_some());
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn weekdays_and_iso_weeks() {
        let tue = parse_date("2026-11-24").expect("date");
        assert_eq!(WEEKDAYS[weekday(tue) as usize], "Tuesday");
        assert_eq!(iso_week_key(tue), "2026-W48");
        assert_eq!(format_date(week_start(tue)), "2026-11-23");
        // 2027-01-01 is a Friday: ISO week 53 of 2026.
        assert_eq!(
            iso_week_key(parse_date("2027-01-01").expect("date")),
            "2026-W53"
        );
        assert_eq!(
            iso_week_key(parse_date("2027-01-04").expect("date")),
            "2027-W01"
        );
        for key in ["2026-W01", "2026-W48", "2026-W53", "2027-W01"] {
            let start = parse_week_key(key).expect("week");
            assert_eq!(iso_week_key(start), key);
            assert_eq!(weekday(start), 0);
        }
        assert_eq!(parse_week_key("2027-W53"), None);
        assert_eq!(parse_week_key("junk"), None);
    }

    #[test]
    fn working_time_skips_weekends() {
        let fri_18 = parse_date("2026-11-27").expect("date") + 18 * HOUR_MS;
        let mon_09 = parse_date("2026-11-30").expect("date") + 9 * HOUR_MS;
        assert_eq!(working_ms_between(fri_18, mon_09), 15 * HOUR_MS);
        let mon = parse_date("2026-11-23").expect("date");
        assert_eq!(working_ms_between(mon, mon + 3 * WEEK_MS), 15 * DAY_MS);
        assert_eq!(working_ms_between(mon_09, fri_18), 0);
    }

    #[test]
    fn spans_read_well() {
        assert_eq!(format_span(5 * MINUTE_MS), "5 min");
        assert_eq!(format_span(30 * HOUR_MS), "30 h");
        assert_eq!(format_span(3 * DAY_MS), "3 d");
        assert_eq!(format_span(10 * WEEK_MS), "10 wk");
    }
}
