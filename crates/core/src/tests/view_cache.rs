use super::*;
use crate::automerge::AutoCommit;
use crate::model::{Answer, Team};
use crate::testing::{TeamFixture, actor};
use crate::view_cache::{self, ViewError};
use crate::{CoachingHour, NewDuty, NewFollowUp, NewThanks};
use crate::{Stage, TeamDoc};

/// A team that uses every kind of record: requests with comments and claims, offers
/// with hidden advice and answers, sessions with follow-ups, thanks, rota, duties.
fn busy_team() -> TeamFixture {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cy"]);
    let (ana, ben, cy) = (f.id(0), f.id(1), f.id(2));
    let r = ask(&mut f, 0, "Flaky pipeline", Urgency::High);
    f.sync_all();
    f.create::<crate::CommentId>(
        1,
        Command::Comment {
            request: r.clone(),
            text: "same here".into(),
        },
    );
    f.apply(1, Command::Claim { request: r.clone() })
        .expect("claim");
    let o = offer_on(&mut f, 2, &r, "advice only Ana may see");
    let direct = offer_to(&mut f, 1, &cy, "Terraform");
    f.sync_all();
    respond(&mut f, 0, &o, Answer::Yes);
    respond(&mut f, 2, &direct, Answer::NotNow);
    let s = session(&mut f, 0, &cy, &ana, "Pipelines");
    f.create::<crate::RecordId>(
        0,
        Command::AddFollowUp(NewFollowUp {
            session: s.clone(),
            text: "retry budget".into(),
            owner: None,
            due_ms: None,
        }),
    );
    f.create::<crate::RecordId>(
        0,
        Command::Thank(NewThanks {
            to: cy.clone(),
            text: "thanks!".into(),
            session: Some(s),
        }),
    );
    f.apply(
        1,
        Command::SetRota {
            week: "2026-W23".into(),
            member: ben.clone(),
            floating: true,
        },
    )
    .expect("rota");
    f.apply(
        0,
        Command::SetCoachingHour(CoachingHour {
            weekday: 3,
            start_minute: 900,
            minutes: 60,
            note: "room 2".into(),
            ..Default::default()
        }),
    )
    .expect("hour");
    let duty: crate::DutyId = f.create(
        2,
        Command::AddDuty(NewDuty {
            title: "On-call".into(),
            notes: String::new(),
            owner: None,
        }),
    );
    f.apply(
        2,
        Command::SetBackfill {
            duty,
            apprentice: ben,
            stage: Some(Stage::CoDo),
        },
    )
    .expect("backfill");
    f.sync_all();
    f
}

fn reloaded(doc: &mut TeamDoc) -> AutoCommit {
    AutoCommit::load(&doc.automerge().save()).expect("load")
}

#[test]
fn a_saved_view_reads_back_as_the_same_model() {
    let mut f = busy_team();
    let doc = &mut f.replicas[0].doc;
    let view = view_cache::decode(&doc.view_bytes()).expect("decode");
    assert_eq!(*view.team, *doc.team());
    assert_eq!(view.heads, doc.heads());
    // And it is the model a fresh read of the document gives.
    assert_eq!(*view.team, Team::read(&reloaded(doc)));
    assert!(doc.team().offers.values().any(|o| o.has_message()));
}

#[test]
fn a_view_is_used_only_for_the_heads_it_was_made_at() {
    let mut f = busy_team();
    let view = view_cache::decode(&f.replicas[0].doc.view_bytes()).expect("decode");
    let (loaded, used) = TeamDoc::from_doc_with_view(
        reloaded(&mut f.replicas[0].doc),
        actor(0),
        Some(view.clone()),
    );
    assert!(used);
    assert_eq!(loaded.team(), f.replicas[0].doc.team());
    assert_eq!(loaded.me(), Some(&f.id(0)));

    // One more change: the old view is stale and the model is read from the document.
    let later = ask(&mut f, 0, "Later question", Urgency::Normal);
    let (loaded, used) =
        TeamDoc::from_doc_with_view(reloaded(&mut f.replicas[0].doc), actor(0), Some(view));
    assert!(!used);
    assert!(loaded.team().requests.contains_key(&later));
    assert_eq!(loaded.team(), f.replicas[0].doc.team());
}

#[test]
fn a_view_from_another_build_or_damaged_is_refused() {
    let f = busy_team();
    let bytes = f.replicas[0].doc.view_bytes();
    let line_end = bytes.iter().position(|b| *b == b'\n').expect("header line");
    let mut other = b"peercoach-view 999 0.0.1".to_vec();
    other.extend_from_slice(&bytes[line_end..]);
    assert!(matches!(
        view_cache::decode(&other),
        Err(ViewError::OtherVersion(_))
    ));
    let cut = &bytes[..bytes.len() / 2];
    assert!(matches!(
        view_cache::decode(cut),
        Err(ViewError::Unreadable(_))
    ));
    assert!(view_cache::decode(b"").is_err());
}
