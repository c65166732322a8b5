//! Removal needs a second member in a team of three or more, holds once in force, and
//! a removed member's later writes count for nothing; an inviter vouches for one device.

use automerge::ObjType;
use automerge::transaction::Transactable;

use super::*;
use crate::command::CommandError;
use crate::testing::TeamFixture;
use crate::views::{self, HistoryKind};

fn remove(f: &mut TeamFixture, by: usize, whom: usize) -> String {
    let member = f.id(whom);
    f.apply(by, Command::RemoveMember { member })
        .expect("the vote applies")
        .summary
}

fn is_current(f: &TeamFixture, on: usize, whom: usize) -> bool {
    f.replicas[on].doc.team().members[&f.id(whom)].is_current()
}

#[test]
fn in_a_team_of_three_a_removal_waits_for_a_second_member() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dan"]);
    let said = remove(&mut f, 0, 3);
    assert!(said.contains("second member"), "{said}");
    f.sync_all();
    for r in 0..4 {
        assert!(is_current(&f, r, 3), "one vote is not enough");
    }
    let team = f.replicas[1].doc.team();
    assert_eq!(team.members[&f.id(3)].pending_removal(), vec![&f.id(0)]);
    // The same member asking twice is refused, and changes nothing.
    let err = f
        .apply(0, Command::RemoveMember { member: f.id(3) })
        .expect_err("twice");
    assert!(matches!(err, CommandError::InvalidInput { .. }), "{err}");
    // A second member confirms: in force everywhere.
    let said = remove(&mut f, 1, 3);
    assert!(said.contains("removed Dan"), "{said}");
    f.sync_all();
    for r in 0..4 {
        assert!(!is_current(&f, r, 3));
    }
    let history = views::history(f.replicas[2].doc.team());
    assert!(
        history
            .iter()
            .any(|h| h.text == "asked to remove Dan" && h.who_name == "Ana")
    );
    assert!(
        history
            .iter()
            .any(|h| h.text == "was removed from the team")
    );
}

#[test]
fn one_member_cannot_remove_everyone() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Mallory"]);
    for whom in 0..3 {
        remove(&mut f, 3, whom);
    }
    f.sync_all();
    for r in 0..4 {
        for whom in 0..3 {
            assert!(is_current(&f, r, whom), "replica {r}: member {whom} stays");
        }
    }
    // Nor by writing other members' votes: those count for nothing, and history names
    // the device that wrote them.
    let (ana, ben, mallory) = (f.id(0), f.id(1), f.id(3));
    raw(&mut f, 3, |doc| {
        let votes = map_at(doc, &["members", ana.as_str(), "removals"]);
        doc.put(&votes, ben.as_str(), 5_i64).expect("put");
    });
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(team.members[&ana].is_current());
    let flagged: Vec<_> = views::history(team)
        .into_iter()
        .filter(|h| h.kind == HistoryKind::Forged)
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0].who_name, "Mallory");
    assert!(
        flagged[0].text.contains("remove Ana"),
        "{}",
        flagged[0].text
    );
    assert!(team.members[&mallory].is_current());
}

#[test]
fn clearing_a_removal_in_force_changes_nothing_and_later_writes_count_for_nothing() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dan"]);
    let dan = f.id(3);
    // Dan holds an open request from before.
    let before = ask(&mut f, 3, "Before I left", Urgency::Normal);
    f.sync_all();
    remove(&mut f, 0, 3);
    remove(&mut f, 1, 3);
    // Cleo is offline; Dan hears of his removal from Ana.
    f.sync_pair(0, 1);
    f.sync_pair(0, 3);
    assert!(!is_current(&f, 3, 3));
    // Dan's device clears the field an older peercoach kept the removal in
    // and asks for help, straight into the document.
    raw(&mut f, 3, |doc| {
        let member = map_at(doc, &["members", dan.as_str()]);
        doc.put(&member, "removed_ms", automerge::ScalarValue::Null)
            .expect("clear");
        let requests = map_at(doc, &["requests"]);
        let r = doc
            .put_object(
                &requests,
                "0b8e7d5c-0000-4000-8000-00000000dead",
                ObjType::Map,
            )
            .expect("put");
        doc.put(&r, "title", "I am back").expect("put");
    });
    // ...and syncs through Cleo, who was offline during the removal.
    f.sync_pair(3, 2);
    f.sync_all();
    for r in 0..3 {
        let team = f.replicas[r].doc.team();
        assert!(!team.members[&dan].is_current(), "replica {r}");
        assert!(
            team.requests.values().all(|q| q.title != "I am back"),
            "replica {r}: a request written after the removal counts for nothing"
        );
        assert!(
            team.requests.contains_key(&before),
            "what came before stays"
        );
        assert!(
            views::history(team)
                .iter()
                .any(|h| h.kind == HistoryKind::Forged && h.text.contains("after their removal")),
            "replica {r}: history lists it as ignored"
        );
    }
}

#[test]
fn in_a_team_of_two_one_vote_removes_and_leaving_takes_one_vote() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    remove(&mut f, 0, 1);
    f.sync_all();
    assert!(!is_current(&f, 1, 1));
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo"]);
    let said = remove(&mut f, 2, 2);
    assert_eq!(said, "left the team");
    f.sync_all();
    assert!(!is_current(&f, 0, 2));
    // Two left: now one vote removes.
    remove(&mut f, 0, 1);
    f.sync_all();
    assert!(!is_current(&f, 1, 1));
}

#[test]
fn an_old_form_removal_counts_as_one_vote_by_its_writer() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dan"]);
    let dan = f.id(3);
    // What an older peercoach wrote: `removed_ms` on Dan's record.
    raw(&mut f, 0, |doc| {
        let member = map_at(doc, &["members", dan.as_str()]);
        doc.put(&member, "removed_ms", 7_i64).expect("put");
    });
    f.sync_all();
    assert!(
        is_current(&f, 1, 3),
        "pending: a second member must confirm"
    );
    assert_eq!(
        f.replicas[1].doc.team().members[&dan].pending_removal(),
        vec![&f.id(0)]
    );
    remove(&mut f, 2, 3);
    f.sync_all();
    assert!(!is_current(&f, 1, 3));
}

#[test]
fn the_inviter_vouches_for_one_device_not_for_devices_planted_later() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    // Ana added Ben (the fixture's replica 0 adds everyone). Later she writes a device of
    // her own choosing under Ben's record.
    let ben = f.id(1);
    raw(&mut f, 0, |doc| {
        let devices = map_at(doc, &["members", ben.as_str(), "devices"]);
        let d = doc
            .put_object(&devices, "feedfacefeedfacefeedfacefeedface", ObjType::Map)
            .expect("put");
        doc.put(&d, "endpoint", "x").expect("put");
    });
    f.sync_all();
    let team = f.replicas[1].doc.team();
    let devices = &team.members[&ben].devices;
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.trusted).count(), 1);
    assert!(
        devices
            .iter()
            .any(|d| d.trusted && &d.actor == f.replicas[1].doc.actor())
    );
}

#[test]
fn a_member_removes_a_device_of_their_own_and_nobody_else_can() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ana = f.id(0);
    // Ana links a second laptop (replica 0 writes it, as the link does).
    let laptop = crate::testing::actor(9);
    f.apply(
        0,
        Command::AddDevice(crate::NewDevice {
            member: ana.clone(),
            actor: laptop.clone(),
            endpoint: String::new(),
            label: "old laptop".into(),
            addrs: vec![],
            relay: None,
        }),
    )
    .expect("linked");
    f.sync_all();
    // Mallory cannot remove it: not her device (the command refuses; a raw write counts
    // for nothing).
    let err = f
        .apply(
            2,
            Command::RemoveDevice {
                device: laptop.clone(),
            },
        )
        .expect_err("not hers");
    assert!(matches!(err, CommandError::NotFound { .. }), "{err}");
    raw(&mut f, 2, |doc| {
        let d = map_at(doc, &["members", ana.as_str(), "devices", laptop.as_str()]);
        doc.put(&d, "removed_ms", 1_i64).expect("put");
    });
    f.sync_all();
    let device = |f: &TeamFixture| {
        f.replicas[1].doc.team().members[&ana]
            .devices
            .iter()
            .find(|d| d.actor == laptop)
            .cloned()
            .expect("device")
    };
    assert!(
        device(&f).is_active(),
        "a removal by someone else counts for nothing"
    );
    // Ana can, but not the device she is using.
    let err = f
        .apply(
            0,
            Command::RemoveDevice {
                device: f.replicas[0].doc.actor().clone(),
            },
        )
        .expect_err("this device");
    assert!(matches!(err, CommandError::InvalidInput { .. }), "{err}");
    let said = f
        .apply(
            0,
            Command::RemoveDevice {
                device: laptop.clone(),
            },
        )
        .expect("removed")
        .summary;
    assert_eq!(said, "removed device \"old laptop\"");
    f.sync_all();
    assert!(!device(&f).is_active());
    assert!(device(&f).trusted, "what it wrote before still counts");
}

#[test]
fn a_removed_device_no_longer_votes_or_links_and_a_removed_member_adds_no_one() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Cleo", "Dan"]);
    let (ana, dan) = (f.id(0), f.id(3));
    // Ana's second laptop is stolen; she removes it. Afterwards the thief's copy (written
    // as that laptop, straight into the document) votes to remove Dan and links a
    // device of its own under Ana.
    let laptop = crate::testing::actor(9);
    f.apply(
        0,
        Command::AddDevice(crate::NewDevice {
            member: ana.clone(),
            actor: laptop.clone(),
            endpoint: String::new(),
            label: "stolen laptop".into(),
            addrs: vec![],
            relay: None,
        }),
    )
    .expect("linked");
    f.apply(
        0,
        Command::RemoveDevice {
            device: laptop.clone(),
        },
    )
    .expect("removed");
    f.sync_all();
    let thief = crate::testing::actor(10);
    let bens_device = f.replicas[1].doc.actor().clone();
    {
        let doc = f.replicas[1].doc.automerge();
        doc.set_actor(laptop.to_actor());
        let votes = map_at(doc, &["members", dan.as_str(), "removals"]);
        doc.put(&votes, ana.as_str(), 9_i64).expect("put");
        let devices = map_at(doc, &["members", ana.as_str(), "devices"]);
        let d = doc
            .put_object(&devices, thief.as_str(), ObjType::Map)
            .expect("put");
        doc.put(&d, "endpoint", "x").expect("put");
        doc.commit();
        doc.set_actor(bens_device.to_actor());
        f.replicas[1].doc.refresh_after_merge();
    }
    // With Ben's genuine vote, a counted vote of Ana's would remove Dan.
    remove(&mut f, 1, 3);
    f.sync_all();
    let team = f.replicas[2].doc.team();
    assert!(
        team.members[&dan].is_current(),
        "the removed device's vote does not count"
    );
    assert!(
        team.members[&ana]
            .devices
            .iter()
            .all(|d| d.actor != thief || !d.trusted),
        "nor does the device it linked"
    );
    // Dan, once removed for good, adds a member of his own: that member counts for nothing.
    remove(&mut f, 2, 3);
    f.sync_all();
    assert!(!is_current(&f, 0, 3));
    let before = f.replicas[3].doc.team().members.len();
    raw(&mut f, 3, |doc| {
        let members = map_at(doc, &["members"]);
        let m = doc
            .put_object(
                &members,
                "0b8e7d5c-0000-4000-8000-00000000d00d",
                ObjType::Map,
            )
            .expect("put");
        doc.put(&m, "name", "Dan's friend").expect("put");
        doc.put_object(&m, "devices", ObjType::Map).expect("put");
    });
    f.sync_all();
    let team = f.replicas[0].doc.team();
    assert!(team.members.values().all(|m| m.name != "Dan's friend"));
    assert!(team.members.len() <= before);
}
