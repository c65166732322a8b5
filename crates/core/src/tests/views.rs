use super::*;
use crate::NewRequest;
use crate::model::Answer;
use crate::testing::TeamFixture;
use crate::time::{DAY_MS, HOUR_MS};
use crate::views::{self, HistoryKind, RequestStatus};

#[test]
fn the_board_puts_never_helped_people_and_long_waits_first() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dev"]);
    let (ana, ben) = (f.id(0), f.id(1));
    // Ben has been helped before; Cleo and Dev never.
    session(&mut f, 1, &ana, &ben, "Earlier help");
    f.advance(HOUR_MS);
    let ben_old = ask(&mut f, 1, "Ben: oldest", Urgency::Normal);
    f.advance(HOUR_MS);
    let cleo_low = ask(&mut f, 2, "Cleo: low", Urgency::Low);
    f.advance(HOUR_MS);
    let dev_high = ask(&mut f, 3, "Dev: high", Urgency::High);
    f.advance(HOUR_MS);
    let cleo_high = ask(&mut f, 2, "Cleo: high, newer", Urgency::High);
    f.advance(HOUR_MS);
    let claimed = ask(&mut f, 1, "Ben: claimed", Urgency::High);
    f.sync_all();
    f.apply(
        0,
        Command::Claim {
            request: claimed.clone(),
        },
    )
    .expect("claim");
    f.sync_all();
    let board = views::board(f.replicas[0].doc.team(), f.env.now_ms);
    let order: Vec<_> = board.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        order,
        vec![
            dev_high,
            cleo_high,
            cleo_low,
            ben_old.clone(),
            claimed.clone()
        ]
    );
    assert!(board[0].first_time);
    assert!(!board[3].first_time, "Ben was helped before");
    assert_eq!(board[4].status, RequestStatus::BeingHelped);
    assert_eq!(board[4].claimed_by.as_deref(), Some("Ana"));
    assert_eq!(board[3].waiting_ms, 4 * HOUR_MS);
    // Resolved and withdrawn requests leave the board.
    f.apply(1, Command::Withdraw { request: ben_old })
        .expect("withdraw");
    f.apply(0, Command::Resolve { request: claimed })
        .expect("resolve");
    assert_eq!(
        views::board(f.replicas[0].doc.team(), f.env.now_ms).len(),
        4
    );
    assert_eq!(
        views::board(f.replicas[1].doc.team(), f.env.now_ms).len(),
        4
    );
}

#[test]
fn the_board_at_a_past_date_shows_what_was_open_then() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let t0 = f.env.now_ms;
    let r = ask(&mut f, 0, "Old question", Urgency::Normal);
    f.sync_all();
    f.advance(DAY_MS);
    let t1 = f.env.now_ms;
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("claim");
    f.sync_all();
    f.advance(DAY_MS);
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve");
    let team = f.replicas[0].doc.team();
    assert!(
        views::board_at(team, t0 - 1).is_empty(),
        "before it was asked"
    );
    let then = views::board_at(team, t0 + HOUR_MS);
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].status, RequestStatus::Open);
    assert_eq!(then[0].waiting_ms, HOUR_MS);
    assert_eq!(
        views::board_at(team, t1 + HOUR_MS)[0].status,
        RequestStatus::BeingHelped
    );
    assert!(views::board(team, f.env.now_ms).is_empty());
}

#[test]
fn the_inbox_holds_what_needs_me() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let o = offer_to(&mut f, 1, &ana, "Code review habits");
    let aimed: crate::RequestId = f.create(
        1,
        Command::Ask(NewRequest {
            title: "Coach me on reviews".into(),
            tried: String::new(),
            skills: vec![],
            urgency: Urgency::Normal,
            to: Some(ana.clone()),
        }),
    );
    f.sync_all();
    let inbox = views::inbox(f.replicas[0].doc.team(), &ana, f.env.now_ms);
    assert_eq!(inbox.offers_to_answer.len(), 1);
    assert_eq!(inbox.offers_to_answer[0].from_name, "Ben");
    assert_eq!(inbox.requests_for_me.len(), 1);
    assert_eq!(inbox.requests_for_me[0].id, aimed);
    assert!(
        views::inbox(f.replicas[0].doc.team(), &ben, f.env.now_ms)
            .requests_for_me
            .is_empty()
    );
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    let ben_inbox = views::inbox(f.replicas[1].doc.team(), &ben, f.env.now_ms);
    assert_eq!(
        ben_inbox.accepted_offers.len(),
        1,
        "Ben is told to go ahead"
    );
    session(&mut f, 1, &ben, &ana, "Code review habits");
    assert!(
        views::inbox(f.replicas[1].doc.team(), &ben, f.env.now_ms)
            .accepted_offers
            .is_empty()
    );
    assert!(
        views::inbox(f.replicas[0].doc.team(), &ana, f.env.now_ms)
            .offers_to_answer
            .is_empty()
    );
}

#[test]
fn history_names_authors_and_reversals_are_noticed() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let s1 = session(&mut f, 1, &ana, &ben, "Tracing");
    f.advance(DAY_MS);
    let s2 = session(&mut f, 0, &ben, &ana, "Interviewing");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    let pairs = views::reciprocal_pairs(team);
    assert_eq!(pairs.len(), 1);
    assert_eq!(
        (pairs[0].first.clone(), pairs[0].second.clone()),
        (ana.clone(), ben.clone())
    );
    let rows = views::session_rows(team);
    let reversal = |id: &crate::SessionId| rows.iter().any(|r| &r.id == id && r.reversal);
    assert!(reversal(&s2));
    assert!(!reversal(&s1));
    assert_eq!(rows[0].id, s2, "newest first");
    let history = views::history(team);
    assert!(
        history.windows(2).all(|w| w[0].at_ms >= w[1].at_ms),
        "newest first"
    );
    let logged: Vec<_> = history
        .iter()
        .filter(|h| h.kind == HistoryKind::Session)
        .collect();
    assert_eq!(logged.len(), 2);
    assert_eq!(
        logged[0].who_name, "Ana",
        "Ana's device logged the second session"
    );
    assert!(logged[0].text.contains("Ben coached Ana"));
    assert_eq!(logged[1].who_name, "Ben");
}

#[test]
fn skill_map_groups_people_by_level() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    f.apply(
        0,
        Command::SetSkill {
            skill: "sql".into(),
            level: Some(crate::SkillLevel::CanCoach),
        },
    )
    .expect("skill");
    f.apply(
        1,
        Command::SetSkill {
            skill: "sql".into(),
            level: Some(crate::SkillLevel::Learning),
        },
    )
    .expect("skill");
    f.apply(
        1,
        Command::SetWantsToLearn {
            skill: "rust".into(),
            wants: true,
        },
    )
    .expect("wants");
    f.sync_all();
    let map = views::skill_map(f.replicas[0].doc.team());
    assert_eq!(map.len(), 2);
    let rust = map.iter().find(|r| r.skill == "rust").expect("rust");
    assert_eq!(rust.wanted_by, vec!["Ben".to_string()]);
    let sql = map.iter().find(|r| r.skill == "sql").expect("sql");
    assert_eq!(sql.can_coach, vec!["Ana".to_string()]);
    assert_eq!(sql.learning, vec!["Ben".to_string()]);
}

#[test]
fn incremental_refresh_matches_a_full_read() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let r = ask(&mut f, 0, "One", Urgency::Normal);
    f.sync_all();
    let o = offer_on(&mut f, 1, &r, "advice");
    f.apply(2, Command::Claim { request: r.clone() })
        .expect("claim");
    f.apply(
        2,
        Command::SetSkill {
            skill: "x".into(),
            level: Some(crate::SkillLevel::CanDo),
        },
    )
    .expect("skill");
    f.sync_all();
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    for replica in &mut f.replicas {
        let full = crate::Team::read(replica.doc.automerge_ref());
        assert_eq!(&full, replica.doc.team());
    }
}

#[test]
fn a_read_shared_among_threads_matches_one_on_a_single_thread() {
    use automerge::ObjType;
    use automerge::transaction::Transactable;
    // Enough records for a whole read to share them out among threads, with a forged
    // yes and a request a removed member wrote after the removal among them.
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dan"]);
    let ana = f.id(0);
    let asked: Vec<RequestId> = (0..2_100)
        .map(|i| ask(&mut f, i % 2, &format!("Request {i}"), Urgency::Normal))
        .collect();
    f.sync_all();
    for (i, r) in asked.iter().enumerate().step_by(300) {
        offer_on(&mut f, 1 - i % 2, r, "advice");
    }
    let o = offer_to(&mut f, 1, &ana, "Pairing");
    f.sync_all();
    raw(&mut f, 2, |doc| {
        let responses = map_at(doc, &["offers", o.as_str(), "responses"]);
        let r = doc
            .put_object(&responses, ana.as_str(), ObjType::Map)
            .expect("put");
        doc.put(&r, "answer", "yes").expect("put");
    });
    for by in [0, 1] {
        f.apply(by, Command::RemoveMember { member: f.id(3) })
            .expect("the vote applies");
    }
    f.sync_all();
    raw(&mut f, 3, |doc| {
        let requests = map_at(doc, &["requests"]);
        let r = doc
            .put_object(
                &requests,
                "0b8e7d5c-0000-4000-8000-00000000d00d",
                ObjType::Map,
            )
            .expect("put");
        doc.put(&r, "title", "after my removal").expect("put");
    });
    f.sync_all();
    let doc = f.replicas[0].doc.automerge_ref();
    let one = crate::Team::read_with(doc, 1);
    assert!(one.requests.len() > 2_000, "{}", one.requests.len());
    assert_eq!(one.offers[&o].forged_responses.len(), 1);
    assert!(
        one.ignored().any(|f| f.what == "wrote after their removal"),
        "{:?}",
        one.ignored().collect::<Vec<_>>()
    );
    for threads in [2, 3, 4] {
        assert_eq!(
            crate::Team::read_with(doc, threads),
            one,
            "{threads} threads"
        );
    }
    assert_eq!(
        &one,
        f.replicas[0].doc.team(),
        "and the model kept up to date"
    );
}
