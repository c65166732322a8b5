//! When two people could meet: times the app suggests after a yes.
//!
//! A time is suggested when it falls inside both people's availability notes (where the
//! note can be read: "Tue/Thu mornings", "Mon–Fri 10–12", "afternoons", "Mon–Fri except
//! Wed", "not Friday afternoons"), outside both snoozes, clear of a session either already
//! has, and at least an hour away. The team's
//! coaching hour comes first, then the earliest times, one a day so the choice is real.
//!
//! Availability notes are free text typed on a person's own clock; they are read on the
//! clock of the device that suggests (`offset_ms` ahead of UTC), which for a team in one
//! place is the same. A note that says nothing readable puts no limit on the times:
//! working hours, 9 to 17 on weekdays.

use crate::ids::MemberId;
use crate::model::Team;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// Minutes after local midnight.
type Minute = u32;

/// A weekly window: the weekdays it holds (0 = Monday) and its minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Weekdays, bit 0 = Monday.
    pub days: u8,
    /// Start, minutes after midnight.
    pub start: Minute,
    /// End, minutes after midnight.
    pub end: Minute,
}

impl Window {
    /// Whether `minutes` from `start` on `weekday` fit inside it.
    fn holds(&self, weekday: u32, start: Minute, minutes: u32) -> bool {
        self.days & (1 << weekday) != 0 && start >= self.start && start + minutes <= self.end
    }
}

/// Monday to Friday.
const WEEKDAYS: u8 = 0b001_1111;
/// Working hours.
const WORKING: (Minute, Minute) = (9 * 60, 17 * 60);

/// What an availability note says: when the person is free (empty: no limit said, so
/// working hours), and when they are not ("not Fridays", "Mon–Fri except Wed").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    /// Free in these windows.
    pub free: Vec<Window>,
    /// Never in these.
    pub not: Vec<Window>,
}

impl Availability {
    /// Whether `minutes` from `start` on `weekday` suit this person.
    fn allows(&self, weekday: u32, start: Minute, minutes: u32) -> bool {
        let free = if self.free.is_empty() {
            working_hours(weekday, start, minutes)
        } else {
            self.free.iter().any(|w| w.holds(weekday, start, minutes))
        };
        free && !self
            .not
            .iter()
            .any(|w| w.days & (1 << weekday) != 0 && start < w.end && start + minutes > w.start)
    }
}

/// 9 to 17 on a weekday.
fn working_hours(weekday: u32, start: Minute, minutes: u32) -> bool {
    WEEKDAYS & (1 << weekday) != 0 && start >= WORKING.0 && start + minutes <= WORKING.1
}

/// Words that turn what follows them into times the person is not free.
const NOT: [&str; 7] = ["except", "not", "no", "busy", "off", "unavailable", "never"];

/// What an availability note says, or `None` when it says nothing that can be read (it
/// then puts no limit on the times). Clauses are split at commas, semicolons and lines;
/// days without times borrow the times of the clause after them ("Tue, Thu mornings").
pub fn read_note(note: &str) -> Option<Availability> {
    let lower = note.to_lowercase();
    let mut said = Availability::default();
    let mut pending = 0u8;
    for clause in lower.split([',', ';', '\n']) {
        // "Mon-Fri except Wed": free before the first negating word, not free after it.
        let words: Vec<&str> = clause.split_whitespace().collect();
        let cut = words
            .iter()
            .position(|w| NOT.contains(&w.trim_matches(|c: char| !c.is_alphanumeric())));
        let (yes, no) = match cut {
            // "Fridays off", "Wed busy": the word closes the clause, and what it says
            // is not free is what comes before it.
            Some(at) if at + 1 == words.len() && at > 0 => (String::new(), words[..at].join(" ")),
            Some(at) => (words[..at].join(" "), words[at + 1..].join(" ")),
            None => (clause.to_owned(), String::new()),
        };
        let (days, times) = read_clause(&yes);
        if days != 0 && times.is_empty() && cut.is_none() {
            pending |= days;
            continue;
        }
        if days != 0 || !times.is_empty() {
            let days = match days | pending {
                0 => WEEKDAYS,
                d => d,
            };
            pending = 0;
            let times = if times.is_empty() {
                vec![WORKING]
            } else {
                times
            };
            said.free.extend(
                times
                    .into_iter()
                    .map(|(start, end)| Window { days, start, end }),
            );
        }
        let (days, times) = read_clause(&no);
        if days != 0 || !times.is_empty() {
            let days = if days == 0 { 0b111_1111 } else { days };
            let times = if times.is_empty() {
                vec![(0, 24 * 60)]
            } else {
                times
            };
            said.not.extend(
                times
                    .into_iter()
                    .map(|(start, end)| Window { days, start, end }),
            );
        }
    }
    if pending != 0 {
        said.free.push(Window {
            days: pending,
            start: WORKING.0,
            end: WORKING.1,
        });
    }
    (!said.free.is_empty() || !said.not.is_empty()).then_some(said)
}

/// The days and the time ranges in one clause of a note.
fn read_clause(clause: &str) -> (u8, Vec<(Minute, Minute)>) {
    let mut days = 0u8;
    let mut times = Vec::new();
    // Words, with dashes and slashes as their own tokens: "mon–fri", "tue/thu 10-12".
    let spaced: String = clause
        .chars()
        .map(|c| match c {
            '–' | '—' | '-' => " - ".to_owned(),
            '/' | '&' | '+' => " ".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if let Some(d) = day_of(w) {
            // A range: "mon - fri".
            if words.get(i + 1) == Some(&"-")
                && let Some(e) = words.get(i + 2).and_then(|w| day_of(w))
            {
                let mut k = d;
                loop {
                    days |= 1 << k;
                    if k == e {
                        break;
                    }
                    k = (k + 1) % 7;
                }
                i += 3;
                continue;
            }
            days |= 1 << d;
        } else if w.starts_with("weekday") || w == "workdays" {
            days |= WEEKDAYS;
        } else if w.starts_with("morning") {
            times.push((9 * 60, 12 * 60));
        } else if w.starts_with("afternoon") {
            times.push((13 * 60, 17 * 60));
        } else if w.starts_with("lunch") {
            times.push((12 * 60, 13 * 60));
        } else if w.starts_with("evening") {
            times.push((17 * 60, 20 * 60));
        } else if let Some(start) = clock(w)
            && words.get(i + 1) == Some(&"-")
            && let Some(end) = words.get(i + 2).and_then(|w| clock(w))
        {
            // "2-4pm": the end's half of the day goes for the start too.
            let pm_end = words[i + 2].ends_with("pm");
            let start = if pm_end && !w.ends_with("am") && start < 12 * 60 && start + 12 * 60 < end
            {
                start + 12 * 60
            } else {
                start
            };
            if start < end {
                times.push((start, end));
            }
            i += 3;
            continue;
        }
        i += 1;
    }
    (days, times)
}

/// A weekday name or its abbreviation (plurals too): 0 = Monday.
fn day_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches(['.', ':', 's']);
    let names = [
        ("mon", "monday"),
        ("tue", "tuesday"),
        ("wed", "wednesday"),
        ("thu", "thursday"),
        ("fri", "friday"),
        ("sat", "saturday"),
        ("sun", "sunday"),
    ];
    names
        .iter()
        .position(|(short, long)| {
            w == *short
                || w == *long
                || (w.len() >= 3 && long.starts_with(w) && w.starts_with(short))
        })
        .map(|d| d as u32)
}

/// A clock time: `10`, `10:30`, `10h`, `9am`, `2pm`, `14.30`.
fn clock(word: &str) -> Option<Minute> {
    let (digits, pm, am) = if let Some(d) = word.strip_suffix("pm") {
        (d, true, false)
    } else if let Some(d) = word.strip_suffix("am") {
        (d, false, true)
    } else {
        (word.trim_end_matches('h'), false, false)
    };
    let (h, m) = match digits.split_once([':', '.']) {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None => (digits.parse::<u32>().ok()?, 0),
    };
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return None;
    }
    let h = match (pm, am) {
        (true, _) if h < 12 => h + 12,
        (_, true) if h == 12 => 0,
        _ => h,
    };
    Some(h * 60 + m)
}

/// How far ahead times are looked for.
pub const LOOK_AHEAD_DAYS: i64 = 14;

/// Up to `count` times for `a` and `b` to meet for `minutes`, from `now_ms` on, on a clock
/// `offset_at` an instant ahead of UTC: the coaching hour first, then the earliest, one a
/// day.
pub fn suggest(
    team: &Team,
    a: &MemberId,
    b: &MemberId,
    minutes: u32,
    now_ms: i64,
    offset_at: &dyn Fn(i64) -> i64,
    count: usize,
) -> Vec<i64> {
    let people: Vec<_> = [a, b]
        .into_iter()
        .filter_map(|m| team.members.get(m))
        .collect();
    let notes: Vec<Availability> = people
        .iter()
        .map(|m| read_note(&m.availability).unwrap_or_default())
        .collect();
    let end_ms = now_ms + (LOOK_AHEAD_DAYS + 1) * DAY_MS;
    let hours: Vec<i64> = team
        .coaching_hour
        .as_ref()
        .filter(|h| minutes <= h.minutes)
        .map(|h| h.starts(now_ms, end_ms, &crate::calendar::TzDatabase))
        .unwrap_or_default();
    let busy: Vec<(i64, i64)> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none())
        .filter(|s| [&s.coach, &s.coachee].iter().any(|p| *p == a || *p == b))
        .map(|s| {
            let end = s
                .at_ms
                .saturating_add(i64::from(s.minutes.max(1)) * MINUTE_MS);
            (s.at_ms, end)
        })
        .collect();
    let earliest = now_ms + HOUR_MS;
    // The local weekday and minute of an instant, on the clock of that instant.
    let local = |at: i64| {
        let wall = at + offset_at(at);
        (
            crate::time::weekday(wall),
            u32::try_from(wall.rem_euclid(DAY_MS) / MINUTE_MS).unwrap_or(0),
        )
    };
    let fits = |at: i64| {
        let (weekday, start) = local(at);
        let end = at + i64::from(minutes) * MINUTE_MS;
        at >= earliest
            && people
                .iter()
                .all(|m| m.snoozed_until_ms.is_none_or(|until| until <= at) && m.is_current())
            && notes.iter().all(|n| n.allows(weekday, start, minutes))
            && busy.iter().all(|(s, e)| end <= *s || at >= *e)
    };
    let day_of = |at: i64| (at + offset_at(at)).div_euclid(DAY_MS);
    let today = day_of(now_ms);
    let mut hour_times = Vec::new();
    let mut other_times = Vec::new();
    for day in today..=today + LOOK_AHEAD_DAYS {
        // The coaching hour that day, if it is held then and fits.
        if let Some(at) = hours.iter().copied().find(|at| day_of(*at) == day)
            && fits(at)
        {
            hour_times.push(at);
            continue;
        }
        // Else the first half hour of the day that fits, on that day's clock.
        let midnight = day * DAY_MS - offset_at(day * DAY_MS);
        let first = (0..48)
            .map(|half| midnight + half * 30 * MINUTE_MS)
            .find(|at| day_of(*at) == day && fits(*at));
        if let Some(at) = first {
            other_times.push(at);
        }
    }
    let mut times: Vec<i64> = hour_times
        .into_iter()
        .chain(other_times)
        .take(count)
        .collect();
    times.sort_unstable();
    times
}
