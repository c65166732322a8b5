//! A device writes with a fresh actor each time it opens a document, and stays itself:
//! what a session actor writes speaks for the member whose device has that key.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::*;
use crate::ActorHex;
use crate::testing::{TeamFixture, device_key, session};

fn authors(f: &TeamFixture, on: usize) -> Vec<(String, String)> {
    let team = f.replicas[on].doc.team();
    let mut out: Vec<(String, String)> = team
        .requests
        .values()
        .map(|r| (team.name_of(&r.author), r.title.clone()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_session_actor_speaks_for_its_device_and_a_restored_copy_writes_beside_it() {
    let mut f = TeamFixture::with_device_keys(&["Ana", "Ben"]);
    f.replicas[0].doc.write_as_session(session(0, 1));
    ask(&mut f, 0, "From the laptop", Urgency::Normal);
    // A copy of Ana's data dir, restored from a backup, opens beside the original: a
    // session of its own, the same device.
    let copy = f.replicas[0].doc.automerge().save();
    let mut restored = crate::TeamDoc::from_doc(
        automerge::AutoCommit::load(&copy).expect("load"),
        crate::testing::actor(0),
    );
    restored.write_as_session(session(0, 2));
    f.replicas.push(crate::testing::Replica {
        doc: restored,
        member: f.id(0),
    });
    // Both write at once, from the same sequence number on.
    ask(&mut f, 0, "Original", Urgency::Normal);
    ask(&mut f, 2, "Restored copy", Urgency::Normal);
    f.sync_all();
    for on in 0..3 {
        assert_eq!(
            authors(&f, on),
            vec![
                ("Ana".to_owned(), "From the laptop".to_owned()),
                ("Ana".to_owned(), "Original".to_owned()),
                ("Ana".to_owned(), "Restored copy".to_owned()),
            ],
            "replica {on}"
        );
    }
    // The two sessions wrote apart, and both read as Ana's device.
    let doc = f.replicas[1].doc.automerge();
    let actors: std::collections::BTreeSet<Vec<u8>> = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.actor_id().to_bytes().to_vec())
        .collect();
    assert!(actors.contains(session(0, 1).to_bytes()));
    assert!(actors.contains(session(0, 2).to_bytes()));
    let team = f.replicas[1].doc.team();
    assert_eq!(
        team.member_of_actor(&ActorHex::of_device(&device_key(0))),
        Some(&f.id(0))
    );
}

#[test]
fn a_device_key_planted_under_another_member_does_not_take_her_writes() {
    let mut f = TeamFixture::with_device_keys(&["Ana", "Ben", "Mallory"]);
    let mallory = f.id(2);
    // Mallory's device lists Ana's key as a device of Mallory's.
    raw(&mut f, 2, |doc| {
        let devices = map_at(doc, &["members", mallory.as_str(), "devices"]);
        let d = doc
            .put_object(&devices, "ab".repeat(16).as_str(), ObjType::Map)
            .expect("put");
        doc.put(&d, "endpoint", device_key(0).to_string())
            .expect("put");
        doc.put(&d, "label", "laptop").expect("put");
    });
    f.sync_all();
    f.replicas[0].doc.write_as_session(session(0, 1));
    ask(&mut f, 0, "Mine", Urgency::Normal);
    f.sync_all();
    for on in 0..3 {
        assert_eq!(
            authors(&f, on),
            vec![("Ana".to_owned(), "Mine".to_owned())],
            "replica {on}"
        );
        assert_eq!(
            f.replicas[on]
                .doc
                .team()
                .member_of_actor(&ActorHex::of_device(&device_key(0))),
            Some(&f.id(0)),
            "the entry written first says whose key it is"
        );
    }
}

#[test]
fn a_device_whose_entry_names_no_key_writes_with_its_entry_actor() {
    // The plain fixture's entries name no real key ("endpoint-0").
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    f.replicas[0].doc.write_as_session(session(0, 1));
    ask(&mut f, 0, "Still mine", Urgency::Normal);
    f.sync_all();
    assert_eq!(
        authors(&f, 1),
        vec![("Ana".to_owned(), "Still mine".to_owned())]
    );
    let doc = f.replicas[1].doc.automerge();
    assert!(
        doc.get_changes(&[])
            .iter()
            .all(|c| c.actor_id().to_bytes() != session(0, 1).to_bytes())
    );
}
