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
