//! The person's clock: the system's time zone, for what a person reads as a day (a
//! follow-up due date in the calendar, suggested meeting times).

use chrono::{Local, Offset, TimeZone};

/// How far the system's clock is ahead of UTC at `ms` (summer time included).
pub fn offset_ms(ms: i64) -> i64 {
    Local
        .timestamp_millis_opt(ms)
        .earliest()
        .map_or(0, |t| i64::from(t.offset().fix().local_minus_utc()) * 1000)
}
