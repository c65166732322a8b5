//! Editing requests, sessions and duties: only those entitled, each edit in History with
//! who made it; concurrent edits of different fields merge, and of one text field keep
//! one value on every replica while History shows both.

use automerge::transaction::Transactable;

use super::*;
use crate::views;
use crate::{CommandError, NewDuty, RequestEdit, SessionEdit};

fn history(f: &TeamFixture, i: usize) -> Vec<String> {
    views::history(f.replicas[i].doc.team())
        .into_iter()
        .map(|h| format!("{} {}", h.who_name, h.text))
        .collect()
}

#[test]
fn the_author_edits_a_request_and_history_says_who_changed_what() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let r = ask(&mut f, 0, "Flaky deploys", Urgency::Normal);
    f.sync_all();
    let err = f
        .apply(
            1,
            Command::EditRequest {
                request: r.clone(),
                change: RequestEdit {
                    title: Some("Ben's title".into()),
                    ..Default::default()
                },
            },
        )
        .expect_err("not Ben's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    f.advance(1_000);
    f.apply(
        0,
        Command::EditRequest {
            request: r.clone(),
            change: RequestEdit {
                title: Some("Flaky deploys on Fridays".into()),
                tried: Some("Pinned the runner image".into()),
                skills: Some(vec!["ci".into(), "Kubernetes".into()]),
                urgency: Some(Urgency::High),
            },
        },
    )
    .expect("Ana edits");
    f.sync_all();
    let team = f.replicas[1].doc.team();
    let req = &team.requests[&r];
    assert_eq!(req.title, "Flaky deploys on Fridays");
    assert_eq!(req.tried, "Pinned the runner image");
    assert_eq!(
        req.skills.iter().cloned().collect::<Vec<_>>(),
        vec!["ci".to_owned(), "kubernetes".to_owned()]
    );
    assert_eq!(req.urgency, Urgency::High);
    let h = history(&f, 1);
    assert!(
        h.contains(
            &"Ana changed the title of a request to \"Flaky deploys on Fridays\"".to_owned()
        ),
        "{h:?}"
    );
    assert!(
        h.contains(&"Ana changed the what was tried of \"Flaky deploys on Fridays\" to \"Pinned the runner image\"".to_owned()),
        "{h:?}"
    );
    // A closed request can still be edited by its author; nothing changed is no change.
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve");
    let same = f
        .apply(
            0,
            Command::EditRequest {
                request: r.clone(),
                change: RequestEdit {
                    urgency: Some(Urgency::High),
                    ..Default::default()
                },
            },
        )
        .expect("no-op");
    assert_eq!(same.summary, "nothing changed");
    // An empty title is refused with a reason.
    let err = f
        .apply(
            0,
            Command::EditRequest {
                request: r.clone(),
                change: RequestEdit {
                    title: Some("   ".into()),
                    ..Default::default()
                },
            },
        )
        .expect_err("empty");
    assert!(matches!(err, CommandError::InvalidInput { .. }), "{err:?}");
}

#[test]
fn concurrent_edits_of_different_fields_merge_and_of_one_field_keep_one_value_and_history_shows_both()
 {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let s = session(&mut f, 1, &ana, &ben, "Reading flame graphs");
    f.sync_all();
    // Offline from each other: Ana edits notes and the topic, Ben the learning and the topic.
    f.apply(
        0,
        Command::EditSession {
            session: s.clone(),
            change: SessionEdit {
                topic: Some("Flame graphs, part 1".into()),
                notes: Some("Start from the widest frame".into()),
                ..Default::default()
            },
        },
    )
    .expect("Ana edits");
    f.apply(
        1,
        Command::EditSession {
            session: s.clone(),
            change: SessionEdit {
                topic: Some("Profiling with flame graphs".into()),
                learning: Some("Sampling beats tracing here".into()),
                minutes: Some(45),
                ..Default::default()
            },
        },
    )
    .expect("Ben edits");
    f.sync_all();
    let a = f.replicas[0].doc.team().sessions[&s].clone();
    let b = f.replicas[1].doc.team().sessions[&s].clone();
    // Different fields: both kept.
    assert_eq!(a.notes, "Start from the widest frame");
    assert_eq!(a.learning, "Sampling beats tracing here");
    assert_eq!(a.minutes, 45);
    // One field: one value, the same on both.
    assert_eq!(a.topic, b.topic);
    assert!(
        ["Flame graphs, part 1", "Profiling with flame graphs"].contains(&a.topic.as_str()),
        "{}",
        a.topic
    );
    // Neither is lost silently: History shows both, each saying so.
    for i in 0..2 {
        let h = history(&f, i);
        for (who, topic) in [
            ("Ana", "Flame graphs, part 1"),
            ("Ben", "Profiling with flame graphs"),
        ] {
            let line = format!(
                "{who} changed the topic of a session to \"{topic}\" (edited at the same time as another change to it: one of the two was kept)"
            );
            assert!(h.contains(&line), "{line}\n{h:?}");
        }
    }
    // A later edit settles it: no longer marked.
    f.apply(
        0,
        Command::EditSession {
            session: s.clone(),
            change: SessionEdit {
                topic: Some("Flame graphs".into()),
                ..Default::default()
            },
        },
    )
    .expect("settle");
    f.sync_all();
    let h = history(&f, 1);
    assert!(h.iter().all(|l| !l.contains("at the same time")), "{h:?}");
}

#[test]
fn only_the_two_people_edit_a_session_and_a_forged_edit_counts_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let (ana, ben) = (f.id(0), f.id(1));
    let s = session(&mut f, 1, &ana, &ben, "Giving feedback");
    f.sync_all();
    let err = f
        .apply(
            2,
            Command::EditSession {
                session: s.clone(),
                change: SessionEdit {
                    notes: Some("Mallory's notes".into()),
                    ..Default::default()
                },
            },
        )
        .expect_err("not Mallory's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    let day = 86_400_000;
    f.apply(
        0,
        Command::EditSession {
            session: s.clone(),
            change: SessionEdit {
                at_ms: Some(f.env.now_ms - day),
                skills: Some(vec!["feedback".into()]),
                ..Default::default()
            },
        },
    )
    .expect("the coach edits");
    f.sync_all();
    // Mallory's device writes an edit entry straight into the document.
    raw(&mut f, 2, |doc| {
        let obj = map_at(doc, &["sessions", s.as_str()]);
        let e = doc
            .put_object(
                &obj,
                "edit:0b5e5510-0000-4000-8000-0000000000ee",
                automerge::ObjType::Map,
            )
            .expect("put");
        doc.put(&e, "field", "notes").expect("put");
        doc.put(&e, "value", "Ben was rude").expect("put");
        doc.put(&e, "at_ms", 1_i64).expect("put");
    });
    f.sync_all();
    for i in 0..3 {
        let team = f.replicas[i].doc.team();
        let session = &team.sessions[&s];
        assert_eq!(session.edits.len(), 2, "{:?}", session.edits);
        assert!(session.edits.iter().all(|e| e.by == ana));
        let h = history(&f, i);
        assert!(
            h.iter()
                .all(|l| !l.contains("Ben was rude") || l.contains("IGNORED")),
            "{h:?}"
        );
        assert!(
            h.iter()
                .any(|l| l.starts_with("Mallory IGNORED: edited the notes")),
            "{h:?}"
        );
    }
    // A tag slipped into the session's skills by Mallory: the session counts for nothing.
    raw(&mut f, 2, |doc| {
        let skills = map_at(doc, &["sessions", s.as_str(), "skills"]);
        doc.put(&skills, "gossip", true).expect("put");
    });
    f.sync_all();
    assert!(!f.replicas[0].doc.team().sessions.contains_key(&s));
}

#[test]
fn a_duty_is_renamed_by_its_owner_and_a_rename_by_anyone_else_counts_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let d: crate::DutyId = f.create(
        0,
        Command::AddDuty(NewDuty {
            title: "Release notes".into(),
            ..Default::default()
        }),
    );
    f.sync_all();
    let err = f
        .apply(
            1,
            Command::RenameDuty {
                duty: d.clone(),
                title: "Ben's duty".into(),
            },
        )
        .expect_err("not Ben's");
    assert!(matches!(err, CommandError::NotYours { .. }), "{err:?}");
    f.apply(
        0,
        Command::RenameDuty {
            duty: d.clone(),
            title: "Release notes and changelog".into(),
        },
    )
    .expect("Ana renames");
    f.sync_all();
    assert_eq!(
        f.replicas[1].doc.team().duties[&d].title,
        "Release notes and changelog"
    );
    assert!(history(&f, 1).contains(
        &"Ana changed the title of a duty to \"Release notes and changelog\"".to_owned()
    ));
    // Mallory rewrites the name in place: it counts for nothing, and is flagged.
    raw(&mut f, 2, |doc| {
        let obj = map_at(doc, &["duties", d.as_str()]);
        doc.put(&obj, "title", "Mallory's now").expect("put");
    });
    f.sync_all();
    for i in 0..3 {
        let team = f.replicas[i].doc.team();
        assert_eq!(team.duties[&d].title, "Release notes and changelog");
        assert!(
            history(&f, i)
                .iter()
                .any(|l| l.starts_with("Mallory IGNORED: renamed a duty")),
            "{:?}",
            history(&f, i)
        );
    }
}
