//! Search: every kind a person may read, every word required, the advice only where they
//! may read it, closed requests too, grouped and newest first, with the words around it.

use super::*;
use crate::notes::Note;
use crate::search::{Index, Kind, Opens, matches};

#[test]
fn search_finds_every_kind_one_may_read_and_never_hidden_advice() {
    let mut f = TeamFixture::new(&["Ana", "Bo", "Cy"]);
    let r = ask(&mut f, 0, "Flaky integration test", Urgency::Normal);
    f.sync_all();
    f.apply(
        1,
        Command::Comment {
            request: r.clone(),
            text: "Same flakiness on my branch".into(),
        },
    )
    .expect("comment");
    // Bo's advice waits for Ana's yes; Cy's offer to Bo is about pinning too.
    f.sync_all();
    let o = offer_on(&mut f, 1, &r, "Pin the runner image to stop the flakiness");
    f.sync_all();
    let (ana, bo) = (f.id(0), f.id(1));
    let s = session(&mut f, 0, &bo, &ana, "Pairing on the test suite");
    f.apply(0, Command::Resolve { request: r.clone() })
        .expect("resolve");
    f.sync_all();
    let team = f.replicas[2].doc.team();
    let cy = f.id(2);
    let index = Index::new(team, &[], Some(&cy));
    let groups = index.find("FLAKI", 10);
    let kinds: Vec<Kind> = groups.iter().map(|g| g.kind).collect();
    // The resolved request is found through its comment; the advice is not Cy's to read.
    assert_eq!(kinds, [Kind::Comment], "{groups:?}");
    assert_eq!(groups[0].hits[0].opens, Opens::Request(r.clone()));
    assert_eq!(groups[0].hits[0].snippet, "Same flakiness on my branch");
    // Ana said nothing yet, but Bo wrote it: he finds his own advice.
    let his = Index::new(f.replicas[1].doc.team(), &[], Some(&bo)).find("pin runner", 10);
    assert_eq!(his.len(), 1);
    assert_eq!(his[0].kind, Kind::Offer);
    assert_eq!(his[0].hits[0].opens, Opens::Request(r.clone()));
    // Every word must be in the record: "flaky" and "pairing" are in no one record.
    assert!(index.find("flaky pairing", 10).is_empty());
    assert_eq!(index.find("flaky", 10)[0].kind, Kind::Request);
    assert_eq!(
        index.find("pairing", 10)[0].hits[0].opens,
        Opens::Session(s)
    );
    assert!(index.find("   ", 10).is_empty());
    // My private notes, and only mine, are searched (they are passed in).
    let note = Note {
        id: crate::notes::NoteId::parse("0b5e5510-0000-4000-8000-0000000000aa").expect("id"),
        text: "Ask about flaky retries next time".into(),
        session: None,
        request: Some(r.clone()),
        created_ms: f.env.now_ms,
        deleted_ms: None,
    };
    let with_note = Index::new(team, std::slice::from_ref(&note), Some(&cy)).find("retries", 10);
    assert_eq!(with_note[0].kind, Kind::Note);
    assert_eq!(with_note[0].hits[0].opens, Opens::Request(r));
    let _ = o;
}

#[test]
fn results_are_cut_per_kind_newest_first_and_matches_are_marked() {
    let mut f = TeamFixture::new(&["Ana", "Bo"]);
    for i in 0..5 {
        ask(&mut f, 0, &format!("Deploy question {i}"), Urgency::Normal);
        f.advance(60_000);
    }
    let team = f.replicas[0].doc.team();
    let groups = Index::new(team, &[], None).find("deploy", 3);
    assert_eq!(groups[0].total, 5);
    assert_eq!(groups[0].hits.len(), 3);
    assert_eq!(groups[0].hits[0].title, "Deploy question 4");
    let words = vec!["deploy".to_owned(), "ion".to_owned()];
    assert_eq!(matches("Deploy question", &words), [0..6, 12..15]);
}
