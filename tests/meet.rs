//! After a yes, a time, across two real nodes (`peercoach serve` on loopback): Ana proposes
//! with `peercoach meet propose`, Ben picks with `meet accept` on his own device, and the
//! scheduled session is in both devices' calendar files, read back with an iCalendar
//! parser.

use std::str::FromStr;

use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventStatus};
use peercoach_core::time::{DAY_MS, HOUR_MS, format_datetime};

use crate::util::{Device, ana_and_ben_serving, wait_until};

/// Every command here reads and shows times on a UTC clock.
const UTC: &[(&str, &str)] = &[("TZ", "UTC")];

fn now_ms() -> i64 {
    peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv)
}

/// The calendar file a device keeps, parsed; and its text.
fn calendar(d: &Device) -> (icalendar::Calendar, String) {
    let path = d.run(&["calendar", "--path"]).ok();
    let text = std::fs::read_to_string(path.trim()).expect("the calendar file");
    let parsed = icalendar::Calendar::from_str(&text).expect("a valid iCalendar file");
    (parsed, text)
}

fn session_event(cal: &icalendar::Calendar, uid: &str) -> Option<icalendar::Event> {
    cal.events().find(|e| e.get_uid() == Some(uid)).cloned()
}

fn start_of(e: &icalendar::Event) -> i64 {
    match e.get_start() {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) => t.timestamp_millis(),
        other => panic!("a UTC start, not {other:?}"),
    }
}

#[test]
fn a_time_proposed_on_one_node_is_accepted_on_the_other_and_both_calendars_hold_the_session() {
    let (a, b, serve_a, serve_b) = ana_and_ben_serving();
    // Ben offers Ana help; she says yes.
    let offer = b
        .run(&[
            "--json",
            "offer",
            "--to",
            "Ana",
            "--topic",
            "Release notes, tone; length",
        ])
        .json()["id"]
        .as_str()
        .expect("the offer's id")
        .to_owned();
    wait_until("the offer reaching Ana", || {
        a.run(&["offers"]).ok().contains("Release notes")
    });
    a.run(&["respond", &offer, "yes"]).ok();
    wait_until("the yes reaching Ben", || {
        b.run(&["offers"]).ok().contains("[accepted]")
    });
    // Suggested times come from both people's availability.
    b.run(&["profile", "--availability", "Mon-Fri 9-17"]).ok();
    let shown = a.run_with_env(&["meet", "show", &offer], UTC).ok();
    assert!(shown.contains("No time proposed yet."), "{shown}");
    assert!(shown.contains("Times that suit you both:"), "{shown}");

    // Ana proposes two times, on her clock.
    let day = (now_ms() / DAY_MS + 2) * DAY_MS;
    let (first, second) = (day + 10 * HOUR_MS, day + DAY_MS + 14 * HOUR_MS);
    let typed = |t: i64| format_datetime(t);
    a.run_with_env(
        &[
            "meet",
            "propose",
            &offer,
            &typed(first),
            &typed(second),
            "--minutes",
            "45",
        ],
        UTC,
    )
    .ok();
    // Ana cannot pick her own times; a time not proposed is refused.
    let err = a.run(&["meet", "accept", &offer, "1"]).fails();
    assert!(err.contains("pick one of the times you proposed"), "{err}");
    wait_until("the times reaching Ben", || {
        b.run_with_env(&["meet", "show", &offer], UTC)
            .ok()
            .contains("Ana proposed (45 minutes)")
    });
    let shown = b.run_with_env(&["meet", "show", &offer], UTC).ok();
    assert!(
        shown.contains(&format!("  2) {}", typed(second))),
        "{shown}"
    );
    let err = b.run(&["meet", "accept", &offer]).fails();
    assert!(err.contains("2 times were proposed"), "{err}");
    let err = b
        .run(&["meet", "accept", &offer, "2027-13-40 25:00"])
        .fails();
    assert!(err.contains("bad time"), "{err}");
    // Ben picks the second.
    let session = b.run(&["--json", "meet", "accept", &offer, "2"]).json()["id"]
        .as_str()
        .expect("the scheduled session's id")
        .to_owned();
    let uid = format!("session-{session}@peercoach");
    wait_until("the session in both calendar files", || {
        [&a, &b]
            .iter()
            .all(|d| session_event(&calendar(d).0, &uid).is_some())
    });
    let (ana_cal, ana_text) = calendar(&a);
    let (ben_cal, _) = calendar(&b);
    let (ana_event, ben_event) = (
        session_event(&ana_cal, &uid).expect("Ana's"),
        session_event(&ben_cal, &uid).expect("Ben's"),
    );
    for e in [&ana_event, &ben_event] {
        assert_eq!(start_of(e), second);
        assert_eq!(e.get_status(), Some(EventStatus::Confirmed));
        assert!(
            matches!(e.get_end(), Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) if t.timestamp_millis() == second + 45 * 60_000)
        );
    }
    assert_eq!(
        ana_event.get_summary(),
        Some("Coached by Ben: Release notes, tone; length")
    );
    assert_eq!(
        ben_event.get_summary(),
        Some("Coaching Ana: Release notes, tone; length")
    );
    assert!(ana_text.contains("\r\n"), "CRLF line ends");
    let sessions = a.run(&["--json", "session", "list"]).json();
    assert_eq!(sessions["sessions"][0]["at_ms"], second, "{sessions}");
    let shown = a.run_with_env(&["meet", "show", &offer], UTC).ok();
    assert!(
        shown.contains(&format!("Agreed: {} (picked by Ben)", typed(second))),
        "{shown}"
    );

    // The same event, alone, for "Add to calendar"; then Ben cancels it: both files say so.
    let out = a.path().join("one.ics");
    a.run(&[
        "calendar",
        "export",
        "--session",
        &session,
        "--out",
        out.to_str().expect("path"),
    ])
    .ok();
    let one = icalendar::Calendar::from_str(&std::fs::read_to_string(&out).expect("written"))
        .expect("valid");
    assert_eq!(one.events().count(), 1);
    assert_eq!(
        one.events().next().and_then(|e| e.get_uid()),
        Some(uid.as_str())
    );
    b.run(&["session", "delete", &session]).ok();
    wait_until("the cancellation in both calendar files", || {
        [&a, &b].iter().all(|d| {
            session_event(&calendar(d).0, &uid)
                .is_some_and(|e| e.get_status() == Some(EventStatus::Cancelled))
        })
    });
    drop((serve_a, serve_b));
}
