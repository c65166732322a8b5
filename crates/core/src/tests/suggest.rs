//! Who could help: each rule of `suggest`, with a fixture where it changes the order.

use super::*;
use crate::CommandError;
use crate::SkillLevel;
use crate::suggest::{MAX_SUGGESTIONS, suggest};
use crate::time::{WEEK_MS, iso_week_key};

/// Bo (0) asks about rust. Ana (1) and Cy (2) can coach it, Di (3) can do it, Ed (4) is
/// learning it and Flo (5) knows other things.
fn team() -> (TeamFixture, RequestId) {
    let mut f = TeamFixture::new(&["Bo", "Ana", "Cy", "Di", "Ed", "Flo"]);
    for (i, skill, level) in [
        (1, "rust", SkillLevel::CanCoach),
        (2, "rust", SkillLevel::CanCoach),
        (3, "rust", SkillLevel::CanDo),
        (4, "rust", SkillLevel::Learning),
        (5, "sql", SkillLevel::CanCoach),
    ] {
        f.apply(
            i,
            Command::SetSkill {
                skill: skill.into(),
                level: Some(level),
            },
        )
        .expect("skill");
    }
    let request = ask(&mut f, 0, "Lifetimes in an async trait", Urgency::Normal);
    f.sync_all();
    (f, request)
}

fn names(f: &TeamFixture, request: &RequestId) -> Vec<String> {
    let team = f.replicas[0].doc.team();
    suggest(team, request, f.env.now_ms)
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[test]
fn only_people_who_can_coach_or_do_a_skill_of_the_request_and_never_the_asker() {
    let (f, request) = team();
    // Can coach before can do; learners, other skills and the asker are out.
    assert_eq!(names(&f, &request), ["Ana", "Cy", "Di"]);
    let team = f.replicas[0].doc.team();
    let list = suggest(team, &request, f.env.now_ms);
    assert!(list.len() <= MAX_SUGGESTIONS);
    assert_eq!(list[0].why_line(), "can coach rust · first time with Bo");
    assert_eq!(list[2].why_line(), "can do rust · first time with Bo");
}

#[test]
fn the_week_s_floater_comes_first() {
    let (mut f, request) = team();
    let week = iso_week_key(f.env.now_ms);
    let di = f.id(3);
    f.apply(
        3,
        Command::SetRota {
            week,
            member: di,
            floating: true,
        },
    )
    .expect("Di floats");
    f.sync_all();
    assert_eq!(names(&f, &request), ["Di", "Ana", "Cy"]);
    let team = f.replicas[0].doc.team();
    assert_eq!(
        suggest(team, &request, f.env.now_ms)[0].why_line(),
        "can do rust · floats this week · first time with Bo"
    );
}

#[test]
fn whoever_coached_least_lately_comes_before_the_busy() {
    let (mut f, request) = team();
    // Ana coached Flo just now: Cy and Di, who have not coached lately, go first (even
    // Di, who can only do it).
    let (ana, flo) = (f.id(1), f.id(5));
    session(&mut f, 5, &ana, &flo, "Borrowing");
    f.sync_all();
    assert_eq!(names(&f, &request), ["Cy", "Di", "Ana"]);
    // Four weeks on, it no longer counts.
    f.advance(4 * WEEK_MS + 1);
    assert_eq!(names(&f, &request), ["Ana", "Cy", "Di"]);
}

#[test]
fn someone_new_to_the_asker_comes_before_someone_who_coached_them() {
    let (mut f, request) = team();
    // Ana coached Bo six weeks ago (not lately, so only this rule tells).
    let (ana, bo) = (f.id(1), f.id(0));
    let at = f.env.now_ms - 6 * WEEK_MS;
    let _: SessionId = f.create(
        0,
        Command::LogSession(NewSession {
            topic: "Traits".into(),
            at_ms: Some(at),
            ..NewSession::between(ana, bo)
        }),
    );
    f.sync_all();
    assert_eq!(names(&f, &request), ["Cy", "Di", "Ana"]);
    let team = f.replicas[0].doc.team();
    let ana_row = suggest(team, &request, f.env.now_ms)
        .into_iter()
        .find(|s| s.name == "Ana")
        .expect("Ana");
    assert_eq!(ana_row.why_line(), "can coach rust · has coached Bo before");
}

#[test]
fn the_snoozed_those_already_asked_and_closed_requests_get_no_suggestions() {
    let (mut f, request) = team();
    // Ana is snoozed, Cy already offered: only Di is left.
    let until = f.env.now_ms + WEEK_MS;
    f.apply(
        1,
        Command::Snooze {
            until_ms: Some(until),
        },
    )
    .expect("snooze");
    offer_on(&mut f, 2, &request, "");
    f.apply(
        3,
        Command::SetProfile {
            name: None,
            availability: Some("Tue and Thu mornings".into()),
        },
    )
    .expect("availability");
    f.sync_all();
    assert_eq!(names(&f, &request), ["Di"]);
    let team = f.replicas[0].doc.team();
    assert_eq!(
        suggest(team, &request, f.env.now_ms)[0].why_line(),
        "can do rust · free Tue and Thu mornings · first time with Bo"
    );
    // Aimed at Di: she is asked already.
    let di = f.id(3);
    f.apply(
        0,
        Command::AimRequest {
            request: request.clone(),
            to: Some(di),
        },
    )
    .expect("aim");
    f.sync_all();
    assert!(names(&f, &request).is_empty());
    // Resolved: nothing to suggest.
    f.apply(
        0,
        Command::Resolve {
            request: request.clone(),
        },
    )
    .expect("resolve");
    f.sync_all();
    assert!(names(&f, &request).is_empty());
}

#[test]
fn only_the_author_aims_a_request_and_a_rogue_device_s_aim_counts_for_nothing() {
    let (mut f, request) = team();
    let (ana, cy) = (f.id(1), f.id(2));
    // Through the command: refused for anyone but the author.
    let err = f
        .apply(
            1,
            Command::AimRequest {
                request: request.clone(),
                to: Some(ana.clone()),
            },
        )
        .expect_err("only Bo");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    // Bo aims it at Ana, then back at the whole team.
    f.apply(
        0,
        Command::AimRequest {
            request: request.clone(),
            to: Some(ana.clone()),
        },
    )
    .expect("aim");
    f.sync_all();
    assert_eq!(
        f.replicas[2].doc.team().requests[&request].to,
        Some(ana.clone())
    );
    f.apply(
        0,
        Command::AimRequest {
            request: request.clone(),
            to: None,
        },
    )
    .expect("whole team");
    f.sync_all();
    assert_eq!(f.replicas[2].doc.team().requests[&request].to, None);
    // Cy's device writes the field itself, as a modified client would: it counts for
    // nothing on every device, and says who tried.
    raw(&mut f, 2, |doc| {
        use automerge::transaction::Transactable;
        let obj = map_at(doc, &["requests", request.as_str()]);
        doc.put(&obj, "to", cy.as_str()).expect("write");
    });
    f.sync_all();
    for replica in &f.replicas {
        let r = &replica.doc.team().requests[&request];
        assert_eq!(r.to, None, "Cy's aim is not Bo's");
        assert!(
            r.ignored.iter().any(|g| g.what.contains("to")),
            "{:?}",
            r.ignored
        );
    }
}

#[test]
fn a_request_aimed_at_someone_after_it_was_asked_is_news_to_them_once() {
    let (mut f, request) = team();
    let before = f.replicas[3].doc.team().clone();
    let di = f.id(3);
    f.apply(
        0,
        Command::AimRequest {
            request: request.clone(),
            to: Some(di.clone()),
        },
    )
    .expect("aim");
    f.sync_all();
    let after = f.replicas[3].doc.team().clone();
    let news = crate::alerts::changes(&before, &after, &di, f.env.now_ms);
    assert_eq!(news.len(), 1, "{news:?}");
    assert_eq!(news[0].kind, crate::alerts::AlertKind::RequestForMe);
    assert_eq!(news[0].title, "Bo asks you for help");
    // Not again at the next change to it, and not to anyone else.
    f.apply(
        0,
        Command::Comment {
            request: request.clone(),
            text: "Still stuck".into(),
        },
    )
    .expect("comment");
    f.sync_all();
    let later = f.replicas[3].doc.team().clone();
    assert!(
        crate::alerts::changes(&after, &later, &di, f.env.now_ms)
            .iter()
            .all(|a| a.kind != crate::alerts::AlertKind::RequestForMe)
    );
    let ana = f.id(1);
    assert!(
        crate::alerts::changes(&before, &after, &ana, f.env.now_ms)
            .iter()
            .all(|a| a.kind != crate::alerts::AlertKind::RequestForMe)
    );
}
