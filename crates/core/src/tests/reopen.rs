//! Reopening a resolved or withdrawn request: its author's alone, and a new change, not
//! a rewrite.

use super::*;
use crate::CommandError;
use crate::views::{self, RequestStatus};

#[test]
fn the_author_reopens_a_closed_request_and_it_is_back_on_every_board() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert!(views::board(team, f.env.now_ms).is_empty());
    let closed = views::closed(team);
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].closed, crate::model::Closed::Resolved);
    // Only Ana reopens.
    let err = f
        .apply(1, Command::Reopen { request: r.clone() })
        .expect_err("not Ben's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    f.advance(1_000);
    f.apply(0, Command::Reopen { request: r.clone() })
        .expect("reopen");
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert!(team.requests[&r].is_active());
        assert_eq!(views::board(team, f.env.now_ms).len(), 1);
        assert!(views::closed(team).is_empty());
        // History keeps both: nothing was rewritten.
        let history: Vec<String> = views::history(team).into_iter().map(|h| h.text).collect();
        assert!(
            history.contains(&"resolved: Flaky deploys".to_owned()),
            "{history:?}"
        );
        assert!(
            history.contains(&"reopened: Flaky deploys".to_owned()),
            "{history:?}"
        );
    }
    // The board as it stood before the reopening still shows it closed.
    let team = f.replicas[0].doc.team();
    let index = views::Index::new(team);
    let reopened = team.requests[&r].reopened_ms.expect("reopened");
    assert_eq!(
        index.status_at(&team.requests[&r], reopened - 1),
        RequestStatus::Resolved
    );
    // Closed again, and reopened from a withdrawal too.
    f.apply(0, Command::Withdraw { request: r.clone() })
        .expect("withdraw");
    assert!(!f.replicas[0].doc.team().requests[&r].is_active());
    f.apply(0, Command::Reopen { request: r.clone() })
        .expect("reopen again");
    assert!(f.replicas[0].doc.team().requests[&r].is_active());
}

#[test]
fn a_close_after_a_reopening_counts_even_from_a_clock_behind() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve");
    f.advance(60_000);
    f.apply(0, Command::Reopen { request: r.clone() })
        .expect("reopen");
    // The clock goes back an hour (a device set wrong): resolving still closes it.
    f.env.now_ms -= 3_600_000;
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve again");
    assert!(!f.replicas[0].doc.team().requests[&r].is_active());
}

#[test]
fn a_rogue_device_s_reopening_counts_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    f.apply(0, Command::Withdraw { request: r.clone() })
        .expect("withdraw");
    f.sync_all();
    // Ben's device writes the field itself, as a modified client would.
    raw(&mut f, 1, |doc| {
        use automerge::transaction::Transactable;
        let obj = map_at(doc, &["requests", r.as_str()]);
        doc.put(&obj, "reopened_ms", i64::MAX / 2).expect("write");
    });
    f.sync_all();
    for replica in &f.replicas {
        let req = &replica.doc.team().requests[&r];
        assert!(!req.is_active(), "still withdrawn");
        assert!(
            req.ignored.iter().any(|g| g.what == "reopened the request"),
            "{:?}",
            req.ignored
        );
    }
}

#[test]
fn a_close_from_a_clock_ahead_shows_the_same_everywhere_and_the_author_still_reopens_and_closes() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    f.sync_all();
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("claim");
    // Ben's clock runs a day ahead when he resolves it.
    let now = f.env.now_ms;
    f.env.now_ms += crate::time::DAY_MS;
    f.apply(1, Command::Resolve { request: r.clone() })
        .expect("resolve");
    f.env.now_ms = now + 1_000;
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(views::board(team, f.env.now_ms).is_empty(), "not open");
    assert_eq!(views::closed(team).len(), 1, "but closed");
    // Ana reopens now: open on the board and gone from Closed, at once.
    f.apply(0, Command::Reopen { request: r.clone() })
        .expect("reopen");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert_eq!(views::board(team, f.env.now_ms).len(), 1);
    assert!(views::closed(team).is_empty());
    // Ben's claim came before the reopening: nobody is on it now.
    assert_eq!(views::board(team, f.env.now_ms)[0].claimed_by, None);
    assert!(team.requests[&r].winning_claim().is_none());
    f.apply(0, Command::Withdraw { request: r.clone() })
        .expect("withdraw");
    f.sync_all();
    assert!(views::board(f.replicas[1].doc.team(), f.env.now_ms).is_empty());
}

#[test]
fn a_reopening_and_a_resolution_at_once_end_the_same_on_every_device() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    f.sync_all();
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("claim");
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve");
    f.sync_all();
    // Apart: Ana reopens, Ben (who claimed it) resolves again.
    f.advance(1_000);
    f.apply(0, Command::Reopen { request: r.clone() })
        .expect("reopen");
    f.apply(1, Command::Resolve { request: r.clone() })
        .expect_err("closed already, on Ben's copy");
    f.sync_all();
    let states: Vec<bool> = f
        .replicas
        .iter()
        .map(|x| x.doc.team().requests[&r].is_active())
        .collect();
    assert_eq!(states, [true, true], "reopened, the same everywhere");
}

#[test]
fn an_offer_pointed_at_someone_else_s_request_does_not_make_it_helped() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cy"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    let cy = f.id(2);
    // A real offer from Ben to Cy, and Cy's real yes…
    let o = offer_to(&mut f, 1, &cy, "Reading flame graphs");
    f.sync_all();
    respond(&mut f, 2, &o, Answer::Yes);
    f.sync_all();
    // …that Ben's device then points at Ana's request, as a modified client would.
    raw(&mut f, 1, |doc| {
        use automerge::transaction::Transactable;
        let obj = map_at(doc, &["offers", o.as_str()]);
        doc.put(&obj, "request", r.as_str()).expect("write");
    });
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        let row = &views::board(team, f.env.now_ms)[0];
        assert_eq!(row.helped_by, None, "Ana never said yes to Ben");
        assert_eq!(row.status, RequestStatus::Open);
        assert_eq!(row.helper, None);
    }
}
