//! The trash: deleted sessions, duties and private notes come back with Restore for 30
//! days, as new changes on every replica; a restore by anyone else counts for nothing.

use automerge::transaction::Transactable;

use super::*;
use crate::notes::NotesDoc;
use crate::time::DAY_MS;
use crate::trash::{self, KEEP_DAYS};
use crate::views;
use crate::{ActorHex, CommandError, NewDuty, RecordId};

#[test]
fn a_deleted_session_is_in_its_peoples_trash_and_restored_on_every_replica() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cy"]);
    let (ana, ben, cy) = (f.id(0), f.id(1), f.id(2));
    let s = session(&mut f, 1, &ana, &ben, "Reading flame graphs");
    f.sync_all();
    f.advance(1_000);
    f.apply(1, Command::DeleteSession { session: s.clone() })
        .expect("Ben deletes");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(views::session_rows(team).is_empty());
    let in_trash = trash::list(team, Some(&ana), &[], f.env.now_ms);
    assert_eq!(in_trash.len(), 1, "{in_trash:?}");
    assert_eq!(in_trash[0].record, RecordId::Session(s.clone()));
    assert_eq!(in_trash[0].deleted_by.as_ref(), Some(&ben));
    assert_eq!(in_trash[0].title, "Ana coached Ben: Reading flame graphs");
    assert_eq!(
        in_trash[0].until_ms,
        in_trash[0].deleted_ms + KEEP_DAYS * DAY_MS
    );
    // Cy was not in it: not in their trash, and not theirs to restore.
    assert!(trash::list(team, Some(&cy), &[], f.env.now_ms).is_empty());
    let err = f
        .apply(2, Command::RestoreSession { session: s.clone() })
        .expect_err("not Cy's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    // Ana restores it; on every replica it is back, and History keeps both.
    f.advance(1_000);
    f.apply(0, Command::RestoreSession { session: s.clone() })
        .expect("Ana restores");
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert_eq!(views::session_rows(team).len(), 1);
        assert!(trash::list(team, Some(&ana), &[], f.env.now_ms).is_empty());
        let history: Vec<String> = views::history(team).into_iter().map(|h| h.text).collect();
        assert!(
            history.contains(&"restored a session from the trash: Reading flame graphs".into()),
            "{history:?}"
        );
    }
    // Deleted again, it counts as deleted again.
    f.advance(1_000);
    f.apply(0, Command::DeleteSession { session: s.clone() })
        .expect("delete again");
    f.sync_all();
    assert!(views::session_rows(f.replicas[1].doc.team()).is_empty());
}

#[test]
fn the_trash_keeps_things_for_thirty_days_and_then_refuses_a_restore() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let d: crate::DutyId = f.create(
        0,
        Command::AddDuty(NewDuty {
            title: "Release notes".into(),
            ..Default::default()
        }),
    );
    f.apply(0, Command::RemoveDuty { duty: d.clone() })
        .expect("remove");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert!(views::backfill(team).is_empty());
    let me = f.id(0);
    assert_eq!(trash::list(team, Some(&me), &[], f.env.now_ms).len(), 1);
    f.advance(KEEP_DAYS * DAY_MS + 1);
    assert!(trash::list(f.replicas[1].doc.team(), Some(&me), &[], f.env.now_ms).is_empty());
    let err = f
        .apply(0, Command::RestoreDuty { duty: d.clone() })
        .expect_err("too late");
    assert!(
        err.to_string().contains("30 days"),
        "the refusal says why: {err}"
    );
}

#[test]
fn a_restored_duty_is_back_and_history_says_so() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let d: crate::DutyId = f.create(
        0,
        Command::AddDuty(NewDuty {
            title: "On-call rota".into(),
            ..Default::default()
        }),
    );
    f.apply(0, Command::RemoveDuty { duty: d.clone() })
        .expect("remove");
    f.sync_all();
    f.advance(60_000);
    // Not Ben's duty: neither in his trash nor his to restore.
    assert!(trash::list(f.replicas[1].doc.team(), Some(&f.id(1)), &[], f.env.now_ms).is_empty());
    let err = f
        .apply(1, Command::RestoreDuty { duty: d.clone() })
        .expect_err("not Ben's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    f.apply(0, Command::RestoreDuty { duty: d.clone() })
        .expect("restore");
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert_eq!(views::backfill(team).len(), 1);
    let history = views::history(team);
    let line = history
        .iter()
        .find(|h| h.text == "restored a duty from the trash: On-call rota")
        .expect("history line");
    assert_eq!(line.record, Some(RecordId::Duty(d)));
    assert_eq!(line.who_name, "Ana");
}

#[test]
fn a_restore_written_by_someone_outside_the_session_makes_it_count_for_nothing() {
    // Mallory's device writes `restored_ms` into a session of Ana and Ben that Ana
    // deleted, straight into the document: the session is not back, it is ignored.
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let s = session(&mut f, 1, &ana, &ben, "Private matter");
    f.sync_all();
    f.apply(0, Command::DeleteSession { session: s.clone() })
        .expect("delete");
    f.sync_all();
    raw(&mut f, 2, |doc| {
        let obj = map_at(doc, &["sessions", s.as_str()]);
        doc.put(&obj, "restored_ms", i64::MAX / 2).expect("put");
    });
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert!(views::session_rows(team).is_empty(), "not restored");
        assert!(
            !team.sessions.contains_key(&s),
            "the session counts for nothing"
        );
    }
}

#[test]
fn a_deleted_private_note_is_restored_within_thirty_days() {
    let mut env = crate::SeededEnv::new(7, 1_800_000_000_000);
    let me = crate::MemberId::parse("0b6f5c1e-0000-4000-8000-00000000000b").expect("me");
    let mut laptop = NotesDoc::from_doc(
        automerge::AutoCommit::new(),
        &ActorHex::from_bytes(&[1; 16]),
    );
    let mut phone = NotesDoc::from_doc(
        automerge::AutoCommit::new(),
        &ActorHex::from_bytes(&[2; 16]),
    );
    let id = laptop
        .add("Ask Ben about retries", None, None, &mut env)
        .expect("add");
    laptop.delete(&id, &mut env).expect("delete");
    assert!(laptop.notes().is_empty());
    assert_eq!(laptop.trashed().len(), 1);
    let listed = trash::list(
        &crate::model::Team::default(),
        Some(&me),
        laptop.trashed(),
        env.now_ms,
    );
    assert_eq!(listed[0].record, RecordId::Note(id.clone()));
    assert_eq!(listed[0].title, "Ask Ben about retries");
    laptop.restore(&id, &mut env).expect("restore");
    assert_eq!(laptop.notes().len(), 1);
    assert!(laptop.trashed().is_empty());
    // The restore travels to my other device as a change like any other.
    phone.automerge().merge(laptop.automerge()).expect("merge");
    phone.refresh();
    assert_eq!(phone.notes()[0].text, "Ask Ben about retries");
    // Deleted again and left for longer than the trash keeps it: no restore.
    laptop.delete(&id, &mut env).expect("delete");
    env.now_ms += KEEP_DAYS * DAY_MS + 10;
    let err = laptop.restore(&id, &mut env).expect_err("too late");
    assert!(err.to_string().contains("30 days"), "{err}");
    assert!(laptop.notes().is_empty());
}
