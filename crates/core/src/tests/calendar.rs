//! Every .ics the app writes, read back with a real iCalendar parser (the `icalendar`
//! crate, with rrule for the recurrence): UIDs, the weekly hour in its zone, sessions in
//! UTC, a cancellation, follow-ups on their day, and text that needs escaping.

use std::str::FromStr;

use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike, EventStatus};

use super::*;
use crate::CoachingHour;
use crate::calendar::{self, Source};
use crate::ids::TeamId;
use crate::records::followup::NewFollowUp;
use crate::time::{DAY_MS, HOUR_MS, parse_date};

fn parse(ics: &str) -> icalendar::Calendar {
    assert!(ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
    for line in ics.split("\r\n") {
        assert!(line.len() <= 75, "a line longer than 75 octets: {line}");
    }
    icalendar::Calendar::from_str(ics).expect("a valid iCalendar file")
}

fn uid_of(e: &icalendar::Event) -> String {
    e.get_uid().expect("a UID").to_owned()
}

/// Bo (0) and Ana (1): a yes, a time agreed, a second session scheduled and cancelled,
/// a follow-up due, and the coaching hour set in Berlin (Thursday 15:00 there, 14:00 UTC).
fn planned() -> (TeamFixture, SessionId, SessionId) {
    let mut f = TeamFixture::new(&["Bo", "Ana"]);
    f.env.now_ms = parse_date("2026-12-03").expect("date") + 9 * HOUR_MS;
    let now = f.env.now_ms;
    let bo = f.id(0);
    let o = offer_to(&mut f, 1, &bo, "Release notes; tone, and length");
    f.sync_all();
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    f.apply(
        1,
        Command::ProposeTimes {
            offer: o.clone(),
            times: vec![now + DAY_MS + HOUR_MS],
            minutes: 45,
        },
    )
    .expect("propose");
    f.sync_all();
    let agreed: SessionId = f.create(
        0,
        Command::PickTime {
            offer: o,
            at_ms: now + DAY_MS + HOUR_MS,
        },
    );
    let cancelled: SessionId = f.create(
        0,
        Command::LogSession(NewSession {
            topic: "A very long topic that will not fit on one content line of an iCalendar file at all".into(),
            at_ms: Some(now + 2 * DAY_MS),
            ..NewSession::between(f.id(1), bo.clone())
        }),
    );
    f.apply(
        0,
        Command::AddFollowUp(NewFollowUp {
            session: agreed.clone(),
            text: "Send the draft".into(),
            owner: Some(bo),
            due_ms: Some(parse_date("2026-12-09").expect("date")),
        }),
    )
    .expect("follow-up");
    f.apply(
        1,
        Command::SetCoachingHour(CoachingHour {
            weekday: 3,
            start_minute: 14 * 60,
            minutes: 60,
            note: "Room Ada".into(),
            zone: "Europe/Berlin".into(),
            zone_offset_ms: HOUR_MS,
            ..Default::default()
        }),
    )
    .expect("hour");
    f.sync_all();
    (f, agreed, cancelled)
}

fn device_calendar(f: &TeamFixture, i: usize) -> String {
    let id = TeamId::parse("01234567-89ab-4def-8123-456789abcdef").expect("team id");
    let me = f.id(i);
    calendar::device_calendar(
        &[Source {
            id: &id,
            name: "Platform",
            team: f.replicas[i].doc.team(),
            me: &me,
        }],
        &|_| 0,
        &calendar::TzDatabase,
    )
}

#[test]
fn the_device_calendar_holds_the_weekly_hour_in_its_zone_the_sessions_and_the_follow_ups() {
    let (mut f, agreed, cancelled) = planned();
    let cal = parse(&device_calendar(&f, 0));
    let events: Vec<_> = cal.events().collect();
    let uids: Vec<String> = events.iter().map(|e| uid_of(e)).collect();
    assert_eq!(
        uids,
        [
            "hour-01234567-89ab-4def-8123-456789abcdef@peercoach".to_owned(),
            format!("session-{agreed}@peercoach"),
            format!("session-{cancelled}@peercoach"),
            "followup-".to_owned() + &uids[3]["followup-".len()..],
        ]
    );
    assert!(uids[3].starts_with("followup-") && uids[3].ends_with("@peercoach"));

    // The hour: weekly on Thursdays at 15:00 in Berlin, in winter and in summer alike.
    let hour = cal.calendar_events().next().expect("the hour");
    assert!(matches!(
        hour.get_start(),
        Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { tzid, .. })) if tzid == "Europe/Berlin"
    ));
    assert_eq!(hour.property_value("RRULE"), Some("FREQ=WEEKLY;BYDAY=TH"));
    assert_eq!(hour.get_location(), Some("Room Ada"));
    let occurrences = hour.get_recurrence().expect("a recurrence").all(30);
    assert_eq!(occurrences.dates.len(), 30);
    for at in &occurrences.dates {
        assert_eq!(at.format("%a %H:%M").to_string(), "Thu 15:00", "{at}");
    }
    let utc_hours: Vec<u32> = occurrences
        .dates
        .iter()
        .map(|at| ((at.timestamp() / 3600) % 24) as u32)
        .collect();
    // 14:00 UTC in winter, 13:00 UTC once Berlin keeps summer time.
    assert_eq!(utc_hours[0], 14);
    assert!(utc_hours.contains(&13));
    // The first is the week it was set in.
    assert_eq!(
        occurrences.dates[0].format("%Y-%m-%d").to_string(),
        "2026-12-03"
    );
    // The zone is described in the file itself, from the time zone database: Berlin's
    // changes to and from summer time, as local times on the clock before each.
    let text = device_calendar(&f, 0);
    assert_eq!(
        text.matches("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n")
            .count(),
        1
    );
    assert!(text.contains(
        "BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT"
    ));
    assert!(text.contains(
        "BEGIN:STANDARD\r\nDTSTART:20271031T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD"
    ));
    assert_eq!(
        text.matches("BEGIN:DAYLIGHT").count(),
        calendar::ZONE_YEARS as usize,
        "one a summer"
    );

    // Sessions in UTC, the cancelled one marked so; text unescaped as written.
    let session = events[1];
    let at = f.replicas[0].doc.team().sessions[&agreed].at_ms;
    assert!(matches!(
        session.get_start(),
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) if t.timestamp_millis() == at
    ));
    assert!(matches!(
        session.get_end(),
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(t))) if t.timestamp_millis() == at + 45 * 60_000
    ));
    assert_eq!(
        session.get_summary(),
        Some("Coached by Ana: Release notes; tone, and length")
    );
    assert_eq!(session.get_status(), Some(EventStatus::Confirmed));
    assert_eq!(events[2].get_status(), Some(EventStatus::Confirmed));
    assert!(
        events[2]
            .get_summary()
            .is_some_and(|s| s.ends_with("an iCalendar file at all"))
    );
    // The follow-up: all day on its date.
    assert!(
        matches!(events[3].get_start(), Some(DatePerhapsTime::Date(d)) if d.to_string() == "2026-12-09")
    );
    assert_eq!(events[3].get_summary(), Some("Follow-up: Send the draft"));

    // Cancel the second: same UID, now cancelled, with a higher sequence.
    let seq_before = events[2].get_sequence().expect("a sequence");
    f.advance(10 * 60_000);
    f.apply(
        0,
        Command::DeleteSession {
            session: cancelled.clone(),
        },
    )
    .expect("cancel");
    let again = parse(&device_calendar(&f, 0));
    let event = again
        .events()
        .find(|e| uid_of(e) == format!("session-{cancelled}@peercoach"))
        .expect("still there");
    assert_eq!(event.get_status(), Some(EventStatus::Cancelled));
    let seq_cancelled = event.get_sequence().expect("a sequence");
    assert!(seq_cancelled > seq_before);
    // Restored, then moved an hour: the same UID, confirmed again, each time a higher
    // sequence, so calendar apps take the change.
    f.advance(60_000);
    f.apply(
        0,
        Command::RestoreSession {
            session: cancelled.clone(),
        },
    )
    .expect("restore");
    let find = |cal: &icalendar::Calendar| {
        cal.events()
            .find(|e| uid_of(e) == format!("session-{cancelled}@peercoach"))
            .cloned()
            .expect("there")
    };
    let restored = find(&parse(&device_calendar(&f, 0)));
    assert_ne!(restored.get_status(), Some(EventStatus::Cancelled));
    let seq_restored = restored.get_sequence().expect("a sequence");
    assert!(seq_restored > seq_cancelled);
    let at = f.replicas[0].doc.team().sessions[&cancelled].at_ms;
    f.advance(60_000);
    f.apply(
        0,
        Command::EditSession {
            session: cancelled.clone(),
            change: crate::SessionEdit {
                at_ms: Some(at + 3_600_000),
                ..Default::default()
            },
        },
    )
    .expect("move");
    let moved = find(&parse(&device_calendar(&f, 0)));
    assert!(moved.get_sequence().expect("a sequence") > seq_restored);
}

#[test]
fn the_same_records_give_the_same_file_on_both_devices_and_single_events_share_the_uids() {
    let (f, agreed, _) = planned();
    // Ana's calendar: the same hour and sessions (seen from her side), no follow-up of hers.
    let bo = device_calendar(&f, 0);
    let ana = device_calendar(&f, 1);
    assert_eq!(
        bo,
        device_calendar(&f, 0),
        "the same records, the same bytes"
    );
    let uids = |ics: &str| parse(ics).events().map(uid_of).collect::<Vec<_>>();
    assert_eq!(uids(&bo)[..3], uids(&ana)[..]);
    let ana_cal = parse(&ana);
    assert_eq!(
        ana_cal.events().nth(1).and_then(|e| e.get_summary()),
        Some("Coaching Bo: Release notes; tone, and length")
    );

    let single =
        calendar::session_event(f.replicas[0].doc.team(), &f.id(0), &agreed).expect("the session");
    let single = parse(&single);
    assert_eq!(single.events().count(), 1);
    assert_eq!(
        uids(&bo)[1],
        single.events().map(uid_of).next().expect("one")
    );
    let id = TeamId::parse("01234567-89ab-4def-8123-456789abcdef").expect("team id");
    let hour = calendar::hour_event(
        &id,
        "Platform",
        f.replicas[0].doc.team(),
        &calendar::TzDatabase,
    )
    .expect("hour");
    assert_eq!(
        uids(&bo)[0],
        parse(&hour).events().map(uid_of).next().expect("one")
    );
}

#[test]
fn an_hour_set_where_the_zone_is_unknown_recurs_in_utc() {
    let mut f = TeamFixture::new(&["Bo"]);
    f.apply(
        0,
        Command::SetCoachingHour(CoachingHour {
            weekday: 0,
            start_minute: 9 * 60 + 30,
            minutes: 30,
            zone: "Mars/Olympus_Mons".into(),
            ..Default::default()
        }),
    )
    .expect("hour");
    assert!(!device_calendar(&f, 0).contains("VTIMEZONE"));
    let cal = parse(&device_calendar(&f, 0));
    let hour = cal.calendar_events().next().expect("the hour");
    assert!(matches!(
        hour.get_start(),
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(_)))
    ));
    for at in hour.get_recurrence().expect("recurrence").all(5).dates {
        assert_eq!(at.format("%a %H:%M").to_string(), "Mon 09:30");
    }
}

#[test]
fn the_hour_keeps_its_wall_clock_time_in_its_zone_through_summer_time_everywhere() {
    // Thursday 15:00 in Berlin, set in winter: 14:00 UTC.
    let hour = CoachingHour {
        weekday: 3,
        start_minute: 14 * 60,
        minutes: 60,
        zone: "Europe/Berlin".into(),
        zone_offset_ms: HOUR_MS,
        ..Default::default()
    };
    let winter = parse_date("2026-12-07").expect("date");
    let summer = parse_date("2027-07-05").expect("date");
    let db = calendar::TzDatabase;
    let at = |from: i64| {
        let starts = hour.starts(from, from + 7 * DAY_MS, &db);
        assert_eq!(starts.len(), 1, "one a week");
        crate::time::format_datetime(starts[0])
    };
    assert_eq!(at(winter), "2026-12-10 14:00");
    assert_eq!(at(summer), "2027-07-08 13:00");
    assert_eq!(
        hour.next_start(summer, &db)
            .map(crate::time::format_datetime),
        Some("2027-07-08 13:00".to_owned())
    );
    assert_eq!(
        hour.describe_at(hour.next_start(summer, &db).expect("next")),
        "Thursday 13:00–14:00 UTC"
    );
    // Without a zone the database knows, it stays at its UTC time.
    let utc = CoachingHour {
        zone: String::new(),
        ..hour.clone()
    };
    assert_eq!(
        crate::time::format_datetime(utc.starts(summer, summer + 7 * DAY_MS, &db)[0]),
        "2027-07-08 14:00"
    );
}

#[test]
fn west_of_utc_the_hour_keeps_its_time_in_the_weeks_around_a_clock_change() {
    // Monday 09:00 in New York, set in winter (14:00 UTC). Summer time starts there on
    // Sunday 2027-03-14: the Monday before is at 14:00 UTC, the Monday after at 13:00.
    let hour = CoachingHour {
        weekday: 0,
        start_minute: 14 * 60,
        minutes: 60,
        zone: "America/New_York".into(),
        zone_offset_ms: -5 * HOUR_MS,
        ..Default::default()
    };
    let db = calendar::TzDatabase;
    let from = parse_date("2027-03-01").expect("date");
    let starts: Vec<String> = hour
        .starts(from, from + 21 * DAY_MS, &db)
        .into_iter()
        .map(crate::time::format_datetime)
        .collect();
    assert_eq!(
        starts,
        ["2027-03-01 14:00", "2027-03-08 14:00", "2027-03-15 13:00"]
    );
    // Late on a Sunday in UTC is still the same Monday hour: never a day off.
    let late = CoachingHour {
        weekday: 0,
        start_minute: 3 * 60,
        zone_offset_ms: -5 * HOUR_MS,
        ..hour.clone()
    };
    // 03:00 UTC on Monday is 22:00 on Sunday in New York (winter), 23:00 in summer.
    let july = parse_date("2027-07-05").expect("date");
    let summer = late.starts(july - DAY_MS, july + 6 * DAY_MS, &db);
    assert_eq!(
        summer
            .iter()
            .map(|t| crate::time::format_datetime(*t))
            .collect::<Vec<_>>(),
        ["2027-07-05 02:00"]
    );
}
