//! After a yes, a time: proposals, a pick that only the other person can make (by who
//! signed it), none-work, "we did not meet", the times the app suggests, and the
//! check-backs and follow-through built on them.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::*;
use crate::alerts::{self, AlertKind, CheckBacks};
use crate::free_time::{self, Window};
use crate::metrics::{self, MetricsConfig};
use crate::model::OfferStatus;
use crate::records::meet::Meet;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS};
use crate::views::{self, RequestStatus};
use crate::{CoachingHour, CommandError};

/// Bo (0) asks; Ana (1) offers and Bo says yes. Mallory (2) is a teammate.
fn yes() -> (TeamFixture, RequestId, OfferId) {
    let mut f = TeamFixture::new(&["Bo", "Ana", "Mallory"]);
    let r = ask(&mut f, 0, "Flaky integration test", Urgency::Normal);
    f.sync_all();
    let o = offer_on(&mut f, 1, &r, "");
    f.sync_all();
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    (f, r, o)
}

fn propose(f: &mut TeamFixture, i: usize, o: &OfferId, times: &[i64]) -> Result<(), CommandError> {
    f.apply(
        i,
        Command::ProposeTimes {
            offer: o.clone(),
            times: times.to_vec(),
            minutes: 45,
        },
    )
    .map(|_| ())
}

fn pick(f: &mut TeamFixture, i: usize, o: &OfferId, at_ms: i64) -> Result<SessionId, CommandError> {
    f.apply(
        i,
        Command::PickTime {
            offer: o.clone(),
            at_ms,
        },
    )
    .map(|a| SessionId::try_from(a.created.expect("a session")).expect("a session id"))
}

#[test]
fn a_time_proposed_by_one_and_picked_by_the_other_schedules_the_session_on_every_replica() {
    let (mut f, r, o) = yes();
    let now = f.env.now_ms;
    let times = [now + 2 * DAY_MS, now + DAY_MS, now + 3 * DAY_MS];
    propose(&mut f, 0, &o, &times).expect("Bo proposes");
    f.sync_all();
    let Meet::Proposed(p) = &f.replicas[1].doc.team().offers[&o].meet else {
        panic!("Ana sees the proposal");
    };
    assert_eq!(p.times, [now + DAY_MS, now + 2 * DAY_MS, now + 3 * DAY_MS]);
    assert_eq!(p.by, f.id(0));
    // Ana picks the second; only a proposed time can be picked.
    assert!(pick(&mut f, 1, &o, now + 5 * DAY_MS).is_err());
    let s = pick(&mut f, 1, &o, now + 2 * DAY_MS).expect("Ana picks");
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        let session = &team.sessions[&s];
        assert_eq!(session.at_ms, now + 2 * DAY_MS);
        assert_eq!(session.minutes, 45);
        assert_eq!((&session.coach, &session.coachee), (&f.id(1), &f.id(0)));
        assert_eq!(session.offer.as_ref(), Some(&o));
        assert_eq!(session.request.as_ref(), Some(&r));
        assert!(matches!(
            &team.offers[&o].meet,
            Meet::Agreed { at_ms, session: Some(id), .. } if *at_ms == now + 2 * DAY_MS && id == &s
        ));
    }
    // The yes has its session: neither inbox asks them to meet any more.
    let team = f.replicas[0].doc.team();
    assert!(views::inbox(team, &f.id(0), now).agreed.is_empty());
    assert!(views::inbox(team, &f.id(1), now).accepted_offers.is_empty());
}

#[test]
fn only_the_other_person_can_pick_and_only_the_two_can_propose() {
    let (mut f, _, o) = yes();
    let now = f.env.now_ms;
    propose(&mut f, 1, &o, &[now + DAY_MS]).expect("Ana proposes");
    f.sync_all();
    assert!(matches!(
        pick(&mut f, 1, &o, now + DAY_MS),
        Err(CommandError::NotYours { .. })
    ));
    assert!(matches!(
        pick(&mut f, 2, &o, now + DAY_MS),
        Err(CommandError::NotYours { .. })
    ));
    assert!(matches!(
        propose(&mut f, 2, &o, &[now + DAY_MS]),
        Err(CommandError::NotYours { .. })
    ));
    // Times are one to three, all in the future.
    assert!(propose(&mut f, 0, &o, &[]).is_err());
    assert!(propose(&mut f, 0, &o, &[now - 1]).is_err());
    assert!(propose(&mut f, 0, &o, &[now + 1, now + 2, now + 3, now + 4]).is_err());
}

/// `by` writes a pick straight into the document under `as_member`'s key.
fn forge_pick(f: &mut TeamFixture, by: usize, o: &OfferId, as_member: &MemberId, at: i64) {
    raw(f, by, |doc| {
        let meet = map_at(doc, &["offers", o.as_str(), "meet"]);
        let e = doc
            .put_object(&meet, as_member.as_str(), ObjType::Map)
            .expect("put");
        doc.put(&e, "kind", "pick").expect("put");
        doc.put(&e, "pick", at).expect("put");
        doc.put(&e, "at_ms", i64::MAX).expect("put");
    });
}

#[test]
fn a_pick_signed_by_anyone_but_the_other_person_counts_for_nothing() {
    let (mut f, _, o) = yes();
    let now = f.env.now_ms;
    let ben = f.id(0);
    propose(&mut f, 1, &o, &[now + DAY_MS]).expect("Ana proposes");
    f.sync_all();
    // Mallory's device, and Ana's own (the proposer), write "Bo picked it".
    forge_pick(&mut f, 2, &o, &ben, now + DAY_MS);
    f.sync_all();
    for replica in &f.replicas {
        let offer = &replica.doc.team().offers[&o];
        assert!(matches!(offer.meet, Meet::Proposed(_)), "{:?}", offer.meet);
        assert!(offer.forged_responses.iter().any(|g| g.claimed == ben));
    }
    forge_pick(&mut f, 1, &o, &ben, now + DAY_MS);
    f.sync_all();
    assert!(matches!(
        f.replicas[2].doc.team().offers[&o].meet,
        Meet::Proposed(_)
    ));
    // Bo's own pick counts.
    pick(&mut f, 0, &o, now + DAY_MS).expect("Bo picks");
    f.sync_all();
    assert!(matches!(
        f.replicas[2].doc.team().offers[&o].meet,
        Meet::Agreed { .. }
    ));
}

#[test]
fn none_work_lets_either_propose_again_and_a_cancelled_session_frees_the_time() {
    let (mut f, _, o) = yes();
    let now = f.env.now_ms;
    propose(&mut f, 1, &o, &[now + DAY_MS]).expect("Ana proposes");
    f.sync_all();
    f.advance(MINUTE_MS);
    f.apply(0, Command::NoTimeWorks { offer: o.clone() })
        .expect("none work for Bo");
    f.sync_all();
    assert!(matches!(
        &f.replicas[1].doc.team().offers[&o].meet,
        Meet::NoneWork { by, .. } if by == &f.id(0)
    ));
    // Bo counter-proposes; Ana picks.
    f.advance(MINUTE_MS);
    propose(&mut f, 0, &o, &[now + 2 * DAY_MS]).expect("Bo proposes");
    f.sync_all();
    let s = pick(&mut f, 1, &o, now + 2 * DAY_MS).expect("Ana picks");
    f.sync_all();
    assert!(propose(&mut f, 0, &o, &[now + 3 * DAY_MS]).is_err());
    // Cancelled: the two can find another time.
    f.apply(0, Command::DeleteSession { session: s })
        .expect("cancel");
    f.advance(MINUTE_MS);
    propose(&mut f, 0, &o, &[now + 3 * DAY_MS]).expect("a new time after a cancel");
}

#[test]
fn we_did_not_meet_ends_the_offer_and_the_request_goes_back_to_the_board() {
    let (mut f, r, o) = yes();
    let team = f.replicas[2].doc.team();
    assert_eq!(
        views::board(team, f.env.now_ms)[0].status,
        RequestStatus::BeingHelped
    );
    f.advance(8 * DAY_MS);
    f.apply(1, Command::EndOffer { offer: o.clone() })
        .expect("Ana ends it");
    f.sync_all();
    let team = f.replicas[2].doc.team();
    assert_eq!(team.offers[&o].status(), OfferStatus::Ended);
    let row = &views::board(team, f.env.now_ms)[0];
    assert_eq!((row.id.clone(), row.status), (r, RequestStatus::Open));
    assert_eq!(row.helper, None);
    // It waits for an offer again from the moment the offer ended.
    assert_eq!(row.no_offer_since, Some(f.env.now_ms));
    // No session can be logged or scheduled on it any more.
    let later = f.env.now_ms + DAY_MS;
    assert!(propose(&mut f, 0, &o, &[later]).is_err());
    // Only Ana takes her "we did not meet" back (an Undo): open to a meeting again.
    assert!(matches!(
        f.apply(0, Command::ResumeOffer { offer: o.clone() }),
        Err(CommandError::InvalidInput { .. })
    ));
    f.apply(1, Command::ResumeOffer { offer: o.clone() })
        .expect("Ana takes it back");
    f.sync_all();
    let team = f.replicas[2].doc.team();
    assert_eq!(team.offers[&o].status(), OfferStatus::Accepted);
    assert_eq!(
        views::board(team, f.env.now_ms)[0].status,
        RequestStatus::BeingHelped
    );
    propose(&mut f, 0, &o, &[later]).expect("times again");
    // A teammate cannot end someone else's offer.
    let (mut g, _, o2) = yes();
    assert!(matches!(
        g.apply(2, Command::EndOffer { offer: o2 }),
        Err(CommandError::NotYours { .. })
    ));
}

#[test]
fn availability_notes_are_read_where_they_can_be() {
    let w = |days: u8, start: u32, end: u32| Window {
        days,
        start: start * 60,
        end: end * 60,
    };
    let free = |note: &str| free_time::read_note(note).map(|a| a.free);
    assert_eq!(free("Tue/Thu mornings"), Some(vec![w(0b01010, 9, 12)]));
    assert_eq!(free("Mon–Fri 10–12"), Some(vec![w(0b11111, 10, 12)]));
    assert_eq!(
        free("Wednesdays 2-4pm, Fri 9:30-11"),
        Some(vec![
            Window {
                days: 0b00100,
                start: 14 * 60,
                end: 16 * 60
            },
            Window {
                days: 0b10000,
                start: 9 * 60 + 30,
                end: 11 * 60
            }
        ])
    );
    assert_eq!(free("afternoons"), Some(vec![w(0b11111, 13, 17)]));
    // Days without times take the times that follow them.
    assert_eq!(free("Tue, Thu mornings"), Some(vec![w(0b01010, 9, 12)]));
    // What someone is not free for is read as that.
    let except = free_time::read_note("Mon-Fri except Wed").expect("read");
    assert_eq!(except.free, [w(0b11111, 9, 17)]);
    assert_eq!(except.not, [w(0b00100, 0, 24)]);
    let not = free_time::read_note("not Friday afternoons").expect("read");
    assert!(not.free.is_empty());
    assert_eq!(not.not, [w(0b10000, 13, 17)]);
    for note in ["Fridays off", "Fri busy", "Fridays unavailable"] {
        let off = free_time::read_note(note).expect("read");
        assert!(off.free.is_empty(), "{note}");
        assert_eq!(off.not, [w(0b10000, 0, 24)], "{note}");
    }
    assert_eq!(free_time::read_note("ask me on chat"), None);
    assert_eq!(free_time::read_note(""), None);
}

#[test]
fn suggested_times_fit_both_notes_avoid_snoozes_and_put_the_coaching_hour_first() {
    let (mut f, _, _) = yes();
    // 2026-12-07 is a Monday; start at 08:00 UTC.
    f.env.now_ms = crate::time::parse_date("2026-12-07").expect("date") + 8 * HOUR_MS;
    let now = f.env.now_ms;
    f.apply(
        0,
        Command::SetProfile {
            name: None,
            availability: Some("Tue/Thu mornings".into()),
        },
    )
    .expect("Bo's note");
    f.apply(
        1,
        Command::SetProfile {
            name: None,
            availability: Some("Mon-Thu 10-12".into()),
        },
    )
    .expect("Ana's note");
    f.sync_all();
    let (bo, ana) = (f.id(0), f.id(1));
    let times = |f: &TeamFixture| {
        free_time::suggest(f.replicas[0].doc.team(), &bo, &ana, 30, now, &|_| 0, 3)
            .into_iter()
            .map(crate::time::format_datetime)
            .collect::<Vec<_>>()
    };
    // Both are free Tue and Thu 10–12: the earliest three, one a day.
    assert_eq!(
        times(&f),
        ["2026-12-08 10:00", "2026-12-10 10:00", "2026-12-15 10:00"]
    );
    // A coaching hour on Thursday at 11 comes first.
    f.apply(
        0,
        Command::SetCoachingHour(CoachingHour {
            weekday: 3,
            start_minute: 11 * 60,
            minutes: 60,
            ..Default::default()
        }),
    )
    .expect("hour");
    f.sync_all();
    assert_eq!(
        times(&f),
        ["2026-12-08 10:00", "2026-12-10 11:00", "2026-12-17 11:00"]
    );
    // Ana is snoozed until the 12th: nothing before it, and nothing past two weeks.
    f.apply(
        1,
        Command::Snooze {
            until_ms: Some(now + 5 * DAY_MS),
        },
    )
    .expect("snooze");
    f.sync_all();
    assert_eq!(times(&f), ["2026-12-15 10:00", "2026-12-17 11:00"]);
}

#[test]
fn the_other_persons_moves_alert_and_the_clock_brings_starts_and_check_backs() {
    let (mut f, _, o) = yes();
    let (bo, ana) = (f.id(0), f.id(1));
    let before = f.replicas[0].doc.team().clone();
    let now = f.env.now_ms;
    propose(&mut f, 1, &o, &[now + DAY_MS]).expect("Ana proposes");
    f.sync_all();
    let after = f.replicas[0].doc.team().clone();
    let to_bo = alerts::changes(&before, &after, &bo, now);
    assert_eq!(to_bo.len(), 1);
    assert_eq!(to_bo[0].kind, AlertKind::Meeting);
    assert_eq!(to_bo[0].title, "Ana proposed times to meet");
    assert!(alerts::changes(&before, &after, &ana, now).is_empty());

    // Nothing was picked. A week after the yes, both are asked "Did you meet?", once.
    let checks = CheckBacks::default();
    let yes_at = f.replicas[0].doc.team().offers[&o]
        .yes_at(i64::MAX, true)
        .expect("yes");
    let week = yes_at + 7 * DAY_MS;
    for me in [&bo, &ana] {
        let due = alerts::on_the_clock(&after, me, week - MINUTE_MS, week, &checks);
        assert_eq!(
            due.iter().map(|a| a.kind).collect::<Vec<_>>(),
            [AlertKind::DidYouMeet]
        );
        assert!(alerts::on_the_clock(&after, me, week, week + HOUR_MS, &checks).is_empty());
    }
    // Once Bo picks, the session's start is announced to both when it comes.
    pick(&mut f, 0, &o, now + DAY_MS).expect("Bo picks");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    let start = alerts::on_the_clock(team, &ana, now + DAY_MS - MINUTE_MS, now + DAY_MS, &checks);
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].kind, AlertKind::SessionStarts);
    assert_eq!(start[0].title, "Your session with Bo starts now");
    // With a session, no "Did you meet?".
    assert!(alerts::on_the_clock(team, &ana, week - MINUTE_MS, week, &checks).is_empty());
}

#[test]
fn an_ask_with_no_offer_is_raised_once_after_two_working_days_to_the_floater() {
    let mut f = TeamFixture::new(&["Bo", "Ana", "Cy"]);
    // Monday 09:00.
    f.env.now_ms = crate::time::parse_date("2026-12-07").expect("date") + 9 * HOUR_MS;
    f.apply(
        1,
        Command::SetSkill {
            skill: "rust".into(),
            level: Some(crate::SkillLevel::CanDo),
        },
    )
    .expect("skill");
    let r = ask(&mut f, 0, "Borrow checker", Urgency::Normal);
    f.sync_all();
    let checks = CheckBacks::default();
    let (ana, cy, bo) = (f.id(1), f.id(2), f.id(0));
    let team = f.replicas[0].doc.team().clone();
    let asked = f.env.now_ms;
    // Nobody floats: raised to Ana, who can do rust; not to Cy, nor to Bo who asked.
    let raised = |me: &MemberId, from: i64, to: i64| {
        alerts::on_the_clock(&team, me, from, to, &checks)
            .into_iter()
            .filter(|a| a.kind == AlertKind::Unanswered)
            .count()
    };
    assert_eq!(raised(&ana, asked, asked + DAY_MS), 0);
    assert_eq!(raised(&ana, asked + DAY_MS, asked + 2 * DAY_MS), 1);
    assert_eq!(raised(&ana, asked + 2 * DAY_MS, asked + 3 * DAY_MS), 0);
    assert_eq!(raised(&cy, asked, asked + 3 * DAY_MS), 0);
    assert_eq!(raised(&bo, asked, asked + 3 * DAY_MS), 0);
    // It stays raised on the board for whoever it was raised to.
    assert_eq!(
        alerts::unanswered(&team, &ana, asked + 4 * DAY_MS, &checks)[0].id,
        r
    );
    // Cy floats this week (her own say): raised to Cy alone.
    f.apply(
        2,
        Command::SetRota {
            week: crate::time::iso_week_key(asked),
            member: cy.clone(),
            floating: true,
        },
    )
    .expect("rota");
    f.sync_all();
    let team = f.replicas[0].doc.team().clone();
    let raised = |me: &MemberId| alerts::unanswered(&team, me, asked + 2 * DAY_MS, &checks).len();
    assert_eq!((raised(&cy), raised(&ana)), (1, 0));
    // An offer takes it off.
    let _ = offer_on(&mut f, 1, &r, "");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(alerts::unanswered(team, &cy, asked + 2 * DAY_MS, &checks).is_empty());
    assert_eq!(WEEK_MS, 7 * DAY_MS);
}

#[test]
fn follow_through_counts_yeses_that_became_sessions_within_two_weeks() {
    let mut f = TeamFixture::new(&["Bo", "Ana", "Cy", "Di"]);
    let start = f.env.now_ms;
    // Three yeses: Ana→Bo met within a week, Cy→Di met after three weeks, Di→Ana never.
    let yes_between = |f: &mut TeamFixture, from: usize, to: usize| {
        let to_id = f.id(to);
        let o = offer_to(f, from, &to_id, "pairing");
        f.sync_all();
        respond(f, to, &o, Answer::Yes);
        f.sync_all();
        o
    };
    let o1 = yes_between(&mut f, 1, 0);
    let o2 = yes_between(&mut f, 2, 3);
    let _o3 = yes_between(&mut f, 3, 1);
    f.advance(5 * DAY_MS);
    let log = |f: &mut TeamFixture, i: usize, o: &OfferId| {
        let offer = f.replicas[i].doc.team().offers[o].clone();
        f.apply(
            i,
            Command::LogSession(NewSession {
                topic: "pairing".into(),
                offer: Some(o.clone()),
                ..NewSession::between(offer.from, offer.to)
            }),
        )
        .expect("log");
        f.sync_all();
    };
    log(&mut f, 0, &o1);
    f.advance(16 * DAY_MS);
    log(&mut f, 3, &o2);
    let team = f.replicas[0].doc.team();
    let m = metrics::compute(team, start + 22 * DAY_MS, MetricsConfig::default());
    let ft = m.follow_through.value.expect("four people behind it");
    assert!((ft - 1.0 / 3.0).abs() < 1e-9, "{ft}");
    // Under k people, it is withheld.
    let small = MetricsConfig {
        min_contributors: 5,
        ..MetricsConfig::default()
    };
    assert!(
        metrics::compute(team, start + 22 * DAY_MS, small)
            .follow_through
            .withheld
    );
}

#[test]
fn a_pick_counts_whatever_the_clocks_say_and_a_time_cannot_be_picked_twice_or_once_passed() {
    let (mut f, _, o) = yes();
    let now = f.env.now_ms;
    propose(&mut f, 1, &o, &[now + DAY_MS, now + 2 * DAY_MS]).expect("Ana proposes");
    f.sync_all();
    // Bo's device runs an hour behind Ana's: his pick is stamped before her proposal.
    f.env.now_ms = now - HOUR_MS;
    let s = pick(&mut f, 0, &o, now + DAY_MS).expect("Bo picks");
    f.sync_all();
    for replica in &f.replicas {
        assert!(matches!(
            &replica.doc.team().offers[&o].meet,
            Meet::Agreed { session: Some(id), .. } if id == &s
        ));
    }
    // Nothing more to pick, propose or end while the session stands.
    f.env.now_ms = now;
    assert!(pick(&mut f, 0, &o, now + 2 * DAY_MS).is_err());
    assert!(propose(&mut f, 1, &o, &[now + 3 * DAY_MS]).is_err());
    assert!(f.apply(0, Command::EndOffer { offer: o.clone() }).is_err());
    // Cancelled, a new proposal can be made; once its time has passed it cannot be picked.
    f.apply(1, Command::DeleteSession { session: s })
        .expect("cancel");
    f.sync_all();
    propose(&mut f, 1, &o, &[now + HOUR_MS]).expect("a new time");
    f.sync_all();
    f.advance(2 * HOUR_MS);
    let err = pick(&mut f, 0, &o, now + HOUR_MS).expect_err("passed");
    assert!(err.to_string().contains("has passed"), "{err}");
}

#[test]
fn a_teammate_cannot_cancel_someone_else_s_session_nor_plant_one_in_their_calendar() {
    let (mut f, _, o) = yes();
    let now = f.env.now_ms;
    propose(&mut f, 1, &o, &[now + DAY_MS]).expect("Ana proposes");
    f.sync_all();
    let s = pick(&mut f, 0, &o, now + DAY_MS).expect("Bo picks");
    f.sync_all();
    // Ana cancels it and Mallory's device takes the cancellation back, straight into the
    // document: a field of the session written by someone else than its two people makes
    // it count for nothing (flagged in History), never live again.
    f.apply(1, Command::DeleteSession { session: s.clone() })
        .expect("Ana cancels");
    f.sync_all();
    raw(&mut f, 2, |doc| {
        let session = map_at(doc, &["sessions", s.as_str()]);
        doc.put(&session, "deleted_ms", automerge::ScalarValue::Null)
            .expect("put");
    });
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert!(!team.sessions.contains_key(&s));
        assert!(
            views::history(team)
                .iter()
                .any(|h| h.text.contains("rewrote a session of others")),
            "flagged"
        );
    }
    // Moving the time of someone's session is refused the same way.
    let (mut g, _, o2) = yes();
    propose(&mut g, 1, &o2, &[now + DAY_MS]).expect("Ana proposes");
    g.sync_all();
    let s2 = pick(&mut g, 0, &o2, now + DAY_MS).expect("Bo picks");
    g.sync_all();
    raw(&mut g, 2, |doc| {
        let session = map_at(doc, &["sessions", s2.as_str()]);
        doc.put(&session, "at_ms", now + 3 * DAY_MS).expect("put");
    });
    g.sync_all();
    assert!(!g.replicas[0].doc.team().sessions.contains_key(&s2));
    // Mallory schedules herself coaching Bo without his yes: it is in nobody's calendar
    // and announces nothing, and naming Ana's offer changes nothing of theirs.
    let planted = SessionId::parse("0b5e5510-0000-4000-8000-000000000001").expect("id");
    let (mallory, bo) = (f.id(2), f.id(0));
    raw(&mut f, 2, |doc| {
        let sessions = map_at(doc, &["sessions"]);
        let m = doc
            .put_object(&sessions, planted.as_str(), ObjType::Map)
            .expect("put");
        for (k, v) in [
            ("coach", mallory.as_str()),
            ("coachee", bo.as_str()),
            ("topic", "Planted"),
            ("offer", o.as_str()),
        ] {
            doc.put(&m, k, v).expect("put");
        }
        doc.put(&m, "at_ms", now + 2 * DAY_MS).expect("put");
        doc.put(&m, "created_ms", now).expect("put");
        doc.put(&m, "minutes", 30_i64).expect("put");
    });
    f.sync_all();
    let team = f.replicas[0].doc.team();
    let planted = &team.sessions[&planted];
    assert!(!planted.is_scheduled(team));
    let id = crate::ids::TeamId::parse("01234567-89ab-4def-8123-456789abcdef").expect("id");
    let cal = crate::calendar::device_calendar(
        &[crate::calendar::Source {
            id: &id,
            name: "Platform",
            team,
            me: &bo,
        }],
        &|_| 0,
        &crate::calendar::TzDatabase,
    );
    assert!(!cal.contains("Planted"), "{cal}");
    let starts = alerts::on_the_clock(
        team,
        &bo,
        now + 2 * DAY_MS - 1,
        now + 2 * DAY_MS,
        &CheckBacks::default(),
    );
    assert!(starts.is_empty(), "{starts:?}");
    // Naming Bo and Ana's offer makes it no session of theirs.
    assert!(!planted.follows(&team.offers[&o]));
}
