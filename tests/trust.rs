//! Who may remove whom, with real nodes on 127.0.0.1: one member cannot remove the rest,
//! two members remove one for good, and the removed member's device is refused at every
//! gate and at the invite it once used.

use std::time::Duration;

use peercoach_core::{Command, MemberId};
use peercoach_node::api::Request;

use peercoach_net::frame::{self, Tag};

use crate::util::{
    TestNode, ask_offline, converged, eventually, init_tracing, raw_endpoint, signed, sync_stream,
    team_of,
};

const SOON: Duration = Duration::from_secs(20);

/// Members by name (`Node0`…), as a node's export lists them: (id, removed).
async fn members(node: &TestNode) -> Vec<(String, MemberId, bool)> {
    node.export_json().await["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                MemberId::parse(m["id"].as_str().expect("id")).expect("member id"),
                !m["removed_at"].is_null(),
            )
        })
        .collect()
}

async fn id_of(node: &TestNode, name: &str) -> MemberId {
    members(node)
        .await
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, id, _)| id)
        .expect("member")
}

/// Applies a command that creates no record.
async fn apply(node: &TestNode, command: Command) {
    node.ok(Request::Apply {
        team: None,
        command,
    })
    .await;
}

async fn removed(node: &TestNode, name: &str) -> bool {
    members(node)
        .await
        .into_iter()
        .any(|(n, _, gone)| n == name && gone)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_cannot_remove_the_rest_and_two_remove_one_for_good() {
    init_tracing();
    // Node3 (Mallory) was invited by Node2.
    let first = TestNode::start().await;
    first.create_team("Node0").await;
    let mut nodes = vec![first];
    let mut mallory_ticket = String::new();
    for i in 1..4 {
        let node = TestNode::start().await;
        let ticket = nodes[i - 1].invite().await;
        node.join(&ticket, &format!("Node{i}")).await.expect("join");
        if i == 3 {
            mallory_ticket = ticket;
        }
        nodes.push(node);
    }
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    // Mallory asks to remove each of the others: each vote alone counts for nothing.
    for name in ["Node0", "Node1", "Node2"] {
        let member = id_of(&nodes[3], name).await;
        apply(&nodes[3], Command::RemoveMember { member }).await;
    }
    assert!(eventually(SOON, || converged(&everyone)).await);
    for node in &nodes {
        for name in ["Node0", "Node1", "Node2", "Node3"] {
            assert!(!removed(node, name).await, "{name} stays a member");
        }
    }
    // Ana (Node0) asks to remove Mallory: still a member, still syncing.
    let mallory = id_of(&nodes[0], "Node3").await;
    apply(
        &nodes[0],
        Command::RemoveMember {
            member: mallory.clone(),
        },
    )
    .await;
    assert!(eventually(SOON, || converged(&everyone)).await);
    assert!(!removed(&nodes[3], "Node3").await);
    assert!(!removed(&nodes[1], "Node3").await);
    // Ben (Node1) confirms: in force, and every gate that knows refuses her device.
    apply(&nodes[1], Command::RemoveMember { member: mallory }).await;
    let honest: Vec<&TestNode> = nodes[..3].iter().collect();
    assert!(eventually(SOON, || converged(&honest)).await);
    for node in &honest {
        assert!(removed(node, "Node3").await);
    }
    let mallory_device = nodes[3].endpoint_id();
    assert!(
        eventually(SOON, || async {
            honest
                .iter()
                .all(|n| !n.node().net().is_connected(&mallory_device))
        })
        .await,
        "a removed member's device is refused by every member's node"
    );
    nodes[0].ask("After Mallory left").await;
    assert!(eventually(SOON, || converged(&honest)).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !nodes[3]
            .titles()
            .await
            .contains(&"After Mallory left".to_string()),
        "a removed member gets nothing new"
    );
    // Her device forgets the team and presents the invite it once used: refused, and
    // nothing changes for the others.
    nodes[3].stop().await;
    std::fs::remove_dir_all(nodes[3].dir.path().join("teams")).expect("forget the team");
    nodes[3].restart().await;
    let err = nodes[3]
        .join(&mallory_ticket, "Mallory again")
        .await
        .expect_err("refused");
    assert!(err.contains("removed"), "{err}");
    assert_eq!(members(&nodes[2]).await.len(), 4, "no one was added");
}

/// A stopped node's data dir and its copy of `team` (store and document), as a
/// modified app would open them.
fn team_files(
    node: &TestNode,
    team: &str,
) -> (
    peercoach_store::DataDir,
    peercoach_store::TeamStore,
    peercoach_core::automerge::AutoCommit,
) {
    let dir = crate::util::open_stopped(node.dir.path());
    let id = peercoach_core::TeamId::parse(team).expect("team id");
    let (store, doc, _) = dir.open_team(&id).expect("team");
    (dir, store, doc)
}

/// A change of `ops` operations on top of `doc` (what a modified client can write: a
/// run of like operations takes a few bytes each).
fn oversized(doc: &mut peercoach_core::automerge::AutoCommit, ops: usize) -> Vec<u8> {
    use peercoach_core::automerge::transaction::Transactable;
    let text = doc
        .put_object(
            peercoach_core::automerge::ROOT,
            "poison",
            peercoach_core::automerge::ObjType::Text,
        )
        .expect("text");
    doc.splice_text(&text, 0, 0, &"x".repeat(ops))
        .expect("splice");
    doc.commit();
    doc.get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .to_vec()
}

#[test]
fn an_imported_file_over_the_limits_is_refused_and_changes_nothing() {
    let d = crate::util::Device::new();
    d.init("Ana", "Platform");
    let saved = d.path().join("team.automerge");
    d.run(&[
        "export",
        "--format",
        "automerge",
        "--out",
        saved.to_str().expect("utf8"),
    ])
    .ok();
    let mut doc =
        peercoach_core::automerge::AutoCommit::load(&std::fs::read(&saved).expect("read"))
            .expect("load");
    let ops = peercoach_node::sync::MAX_CHANGE_OPS + 1;
    let change = oversized(&mut doc, ops);
    let before = d.snapshot_files();
    // As one change, and as a whole saved document holding it.
    for (name, bytes) in [("change.automerge", change), ("doc.automerge", doc.save())] {
        let file = d.path().join(name);
        std::fs::write(&file, &bytes).expect("write");
        let err = d.run(&["import", file.to_str().expect("utf8")]).fails();
        assert!(
            err.contains("refused the file") && err.contains("operations"),
            "{name}: {err}"
        );
        std::fs::remove_file(&file).expect("remove");
        assert_eq!(d.snapshot_files(), before, "{name}: nothing written");
    }
}

/// The size of a node's team change log.
fn log_len(node: &TestNode, team: &str) -> u64 {
    std::fs::metadata(node.dir.path().join("teams").join(team).join("changes.log"))
        .map(|m| m.len())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_over_the_limits_from_a_member_is_refused_and_the_team_syncs_on() {
    init_tracing();
    let mut nodes = Vec::new();
    let first = TestNode::start().await;
    first.create_team("Node0").await;
    nodes.push(first);
    for i in 1..3 {
        let node = TestNode::start().await;
        let ticket = nodes[i - 1].invite().await;
        node.join(&ticket, &format!("Node{i}")).await.expect("join");
        nodes.push(node);
    }
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    // Mallory's device (Node2) runs modified code: it writes a change far over the
    // limits straight into its own log, and starts again.
    nodes[2].stop().await;
    {
        let (_dir, mut store, mut doc) = team_files(&nodes[2], &team);
        oversized(&mut doc, 4 * peercoach_node::sync::MAX_CHANGE_OPS);
        store.append(&mut doc).expect("append");
    }
    let logs_before: Vec<u64> = nodes[..2].iter().map(|n| log_len(n, &team)).collect();
    nodes[2].restart().await;
    // It reaches the others, and is refused there: they say which device sent what.
    let mallory = nodes[2].endpoint_id();
    for node in &nodes[..2] {
        assert!(
            eventually(SOON, || async {
                node.status()
                    .await
                    .peers
                    .iter()
                    .any(|p| p.endpoint_id == mallory && !p.refused.is_empty())
            })
            .await,
            "the refusal is in status"
        );
        let status = node.status().await;
        let peer = status
            .peers
            .iter()
            .find(|p| p.endpoint_id == mallory)
            .expect("mallory");
        assert!(
            peer.refused[0].reason.contains("operations in one change"),
            "{:?}",
            peer.refused
        );
    }
    // The others keep syncing, with each other and with Mallory, and their logs did not
    // take the change.
    nodes[0].ask("After the poison").await;
    for node in &nodes[1..] {
        assert!(
            eventually(SOON, || async {
                node.titles()
                    .await
                    .contains(&"After the poison".to_string())
            })
            .await
        );
    }
    let honest: Vec<&TestNode> = nodes[..2].iter().collect();
    assert!(eventually(SOON, || converged(&honest)).await);
    for (node, before) in nodes[..2].iter().zip(logs_before) {
        let grown = log_len(node, &team).saturating_sub(before);
        assert!(grown < 64 * 1024, "the log grew by {grown} bytes");
    }
}

/// Asks `title` on a team document as the member whose device key is `key`, writing with
/// `actor` (a modified app writes what it likes). Returns the document with the change.
fn ask_as(
    doc: peercoach_core::automerge::AutoCommit,
    key: &peercoach_net::DeviceId,
    actor: peercoach_core::automerge::ActorId,
    title: &str,
) -> peercoach_core::automerge::AutoCommit {
    let mut doc = peercoach_core::TeamDoc::from_doc(doc, peercoach_core::ActorHex::of_device(key));
    doc.write_as_session(actor.clone());
    doc.apply(
        Command::Ask(peercoach_core::NewRequest {
            title: title.into(),
            tried: String::new(),
            skills: vec![],
            urgency: peercoach_core::Urgency::Normal,
            to: None,
        }),
        &mut peercoach_core::SystemEnv,
    )
    .expect("ask");
    let written = doc
        .automerge()
        .get_last_local_change()
        .expect("a change")
        .actor_id()
        .clone();
    assert_eq!(written, actor, "written under the actor asked for");
    doc.automerge().clone()
}

/// The actor of the latest change a device wrote in `doc` (its current session).
fn session_of(
    doc: &mut peercoach_core::automerge::AutoCommit,
    device: &peercoach_net::DeviceId,
) -> peercoach_core::automerge::ActorId {
    doc.get_changes(&[])
        .iter()
        .filter(|c| {
            peercoach_core::device_key_of(c.actor_id())
                .is_some_and(|k| k == *device.endpoint_id().as_bytes())
        })
        .max_by_key(|c| c.seq())
        .map(|c| c.actor_id().clone())
        .expect("a change of that device")
}

/// Whether `node`'s status lists a change from `from` refused for one of `reasons`.
async fn refused_by(node: &TestNode, from: peercoach_net::DeviceId, reasons: &[&str]) -> bool {
    node.status().await.peers.iter().any(|p| {
        p.endpoint_id == from
            && p.refused
                .iter()
                .any(|r| reasons.iter().any(|why| r.reason.starts_with(why)))
    })
}

/// Mallory's device runs a modified app: it writes a request in Ana's name, under Ana's
/// own current actor and next sequence number, while Ana's real next change is on its
/// way. Her device cannot sign for Ana's key, so every honest node refuses the forgery
/// from her alone, says so in her status line, and takes Ana's real change. (Mallory's
/// own node, holding the forgery, sees Ana's real change as a second version of it: if
/// the real one is the version every device keeps, her node sets the forgery aside and
/// never sends it, and her status names it instead.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_forged_in_another_members_name_is_refused_and_the_real_one_arrives() {
    init_tracing();
    let mut nodes = team_of(3).await;
    nodes[0].ask("Ana's first").await;
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    let ana = nodes[0].endpoint_id();
    nodes[2].stop().await;
    {
        let (_dir, mut store, mut doc) = team_files(&nodes[2], &team);
        let actor = session_of(&mut doc, &ana);
        let mut forged = ask_as(doc, &ana, actor, "Forged: Ana wants Ben out");
        store.append(&mut forged).expect("append");
    }
    // Ana's real next change, under the same actor.
    nodes[0].ask("Ana's real second").await;
    nodes[2].restart().await;
    let mallory = nodes[2].endpoint_id();
    assert!(
        eventually(SOON, || async {
            let honest_refused = refused_by(&nodes[0], mallory, &["unsigned", "bad signature"])
                .await
                && refused_by(&nodes[1], mallory, &["unsigned", "bad signature"]).await;
            let set_aside = refused_by(&nodes[2], ana, &["its device signed two versions"]).await
                || refused_by(
                    &nodes[2],
                    nodes[1].endpoint_id(),
                    &["its device signed two versions"],
                )
                .await;
            honest_refused || set_aside
        })
        .await,
        "the forgery is refused from Mallory's device, or her own node set it aside"
    );
    nodes[0].ask("After the forgery").await;
    let honest: Vec<&TestNode> = nodes[..2].iter().collect();
    for node in &honest {
        assert!(
            eventually(SOON, || async {
                let titles = node.titles().await;
                titles.contains(&"Ana's real second".to_string())
                    && titles.contains(&"After the forgery".to_string())
            })
            .await,
            "Ana's real changes arrive"
        );
        let titles = node.titles().await;
        assert!(
            !titles.iter().any(|t| t.starts_with("Forged")),
            "no forgery shown: {titles:?}"
        );
    }
    assert!(eventually(SOON, || converged(&honest)).await);
}

/// A file merged into a team brings this device's own edits, and nothing of another
/// member's that no signature here vouches for: such a change would be refused by every
/// peer, and so would every later edit built on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_file_brings_my_own_edits_and_no_unsigned_edit_of_another_member() {
    init_tracing();
    let mut nodes = team_of(2).await;
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    let (ana, ben) = (nodes[0].endpoint_id(), nodes[1].endpoint_id());
    // A file made from Ana's copy: an edit of her own (a backup from before a lost
    // disk), and one made up in Ben's name.
    nodes[0].stop().await;
    let file = {
        let (_dir, _store, mut doc) = team_files(&nodes[0], &team);
        let bens = peercoach_core::session_actor(ben.endpoint_id().as_bytes(), [9; 8]);
        let anas = peercoach_core::session_actor(ana.endpoint_id().as_bytes(), [7; 8]);
        let mut made_up = ask_as(doc.fork(), &ben, bens, "Made up in Ben's name");
        let mut own = ask_as(doc.fork(), &ana, anas, "My own, from the backup");
        doc.merge(&mut made_up).expect("merge");
        doc.merge(&mut own).expect("merge");
        doc.save()
    };
    nodes[0].restart().await;
    let reply = nodes[0]
        .ok(Request::Import {
            team: None,
            bytes_b64: peercoach_node::api::b64(&file),
        })
        .await;
    let summary = format!("{reply:?}");
    assert!(summary.contains("left out 1 change "), "{summary}");
    let titles = nodes[0].titles().await;
    assert!(
        titles.contains(&"My own, from the backup".to_string()),
        "{titles:?}"
    );
    assert!(
        !titles.iter().any(|t| t.starts_with("Made up")),
        "{titles:?}"
    );
    // Ben's device takes Ana's own edit from her: her device signs it as it goes.
    assert!(
        eventually(SOON, || async {
            nodes[1]
                .titles()
                .await
                .contains(&"My own, from the backup".to_string())
        })
        .await,
        "my own edit reaches the team"
    );
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
}

/// Mallory's device runs a modified app and invites Cleo: the copy it hands over holds a
/// request forged in Ana's name, under Ana's own actor and next sequence number, and
/// the change adding Cleo is built on it. Cleo's device checks the copy against the
/// signatures handed with it before keeping anything, and refuses the join: nothing is
/// kept. Ana's invite then works: Ana's device signs its own history as it hands it
/// over (an edit made offline, never sent, included), so nothing is left out, and Ana's
/// real edit under the actor the forgery used reaches Cleo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_member_checks_the_copy_handed_over_and_a_forgery_in_it_is_not_kept() {
    init_tracing();
    let mut nodes = team_of(2).await;
    nodes[0].ask("Ana's first").await;
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    let ana = nodes[0].endpoint_id();
    nodes[0].stop().await;
    nodes[1].stop().await;
    ask_offline(nodes[0].dir.path(), &team, "Ana's own, offline");
    {
        let (_dir, mut store, mut doc) = team_files(&nodes[1], &team);
        let actor = session_of(&mut doc, &ana);
        let mut forged = ask_as(doc, &ana, actor, "Forged: Ana says Ben is slow");
        store.append(&mut forged).expect("append");
    }
    nodes[1].restart().await;
    let cleo = TestNode::start().await;
    let refused = cleo
        .join(&nodes[1].invite().await, "Node2")
        .await
        .expect_err("the join rests on a forgery");
    assert!(
        refused.contains("no signature of their device vouches for")
            && refused.contains("not joined"),
        "{refused}"
    );

    nodes[0].restart().await;
    let joined = cleo
        .node()
        .handle()
        .request_with_warnings(Request::Join {
            ticket: nodes[0].invite().await,
            name: "Node2".into(),
        })
        .await;
    assert!(
        joined.result.is_ok(),
        "nothing was kept: {:?}",
        joined.result
    );
    assert!(joined.warnings.is_empty(), "{:?}", joined.warnings);
    let titles = cleo.titles().await;
    assert!(
        titles.contains(&"Ana's first".to_string())
            && titles.contains(&"Ana's own, offline".to_string()),
        "the inviter's own history is vouched for, sent or not: {titles:?}"
    );
    nodes[0].ask("Ana's real second").await;
    assert!(
        eventually(SOON, || async {
            cleo.titles()
                .await
                .contains(&"Ana's real second".to_string())
        })
        .await,
        "Ana's real edit reaches Cleo"
    );
    let honest = [&nodes[0], &cleo];
    assert!(eventually(SOON, || converged(&honest)).await);
    for node in honest {
        let titles = node.titles().await;
        assert!(
            !titles.iter().any(|t| t.starts_with("Forged")),
            "no forgery kept: {titles:?}"
        );
    }
}

/// Copies the map `from` into the map `to` of the same document, nested maps included,
/// but for the keys in `except`.
fn copy_map(
    doc: &mut peercoach_core::automerge::AutoCommit,
    from: &peercoach_core::automerge::ObjId,
    to: &peercoach_core::automerge::ObjId,
    except: &[&str],
) {
    use peercoach_core::automerge::transaction::Transactable;
    use peercoach_core::automerge::{ObjType, ReadDoc, Value};
    let entries: Vec<(String, Value<'static>, peercoach_core::automerge::ObjId)> = doc
        .map_range(from, ..)
        .map(|item| {
            let id = item.id();
            (item.key.to_string(), item.value.into_value().to_owned(), id)
        })
        .collect();
    for (key, value, id) in entries {
        if except.contains(&key.as_str()) {
            continue;
        }
        match value {
            Value::Object(ObjType::Map) => {
                let inner = doc.put_object(to, &key, ObjType::Map).expect("map");
                copy_map(doc, &id, &inner, &[]);
            }
            Value::Object(other) => panic!("no {other:?} in a member record"),
            Value::Scalar(v) => doc.put(to, &key, v.into_owned()).expect("put"),
        }
    }
}

/// Dan's device runs a modified app. Ana has asked to remove him (a team of three needs
/// a second member to confirm), and his device deletes her vote from the document, and
/// beside that writes a blank record over his own (where the votes live): with the vote
/// gone, no reader could count it, so every honest node refuses both changes before
/// applying them (and what Dan writes on top), says so in Dan's status line, and Ben's
/// confirmation puts the removal in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_vote_deleted_by_the_member_it_removes_is_refused_and_the_removal_holds() {
    init_tracing();
    let mut nodes = team_of(3).await;
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
    let (ana, dan) = (
        id_of(&nodes[0], "Node0").await,
        id_of(&nodes[0], "Node2").await,
    );
    apply(
        &nodes[0],
        Command::RemoveMember {
            member: dan.clone(),
        },
    )
    .await;
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    let dan_device = nodes[2].endpoint_id();
    nodes[2].stop().await;
    {
        use peercoach_core::automerge::ReadDoc;
        use peercoach_core::automerge::transaction::Transactable;
        let (dir, mut store, mut doc) = team_files(&nodes[2], &team);
        // Written as his node writes: its own session.
        let nonce = dir.session_nonce().expect("session");
        doc.set_actor(peercoach_core::session_actor(
            dan_device.endpoint_id().as_bytes(),
            nonce,
        ));
        let map = |doc: &peercoach_core::automerge::AutoCommit, obj, key: &str| {
            doc.get(&obj, key).expect("read").expect("there").1
        };
        let members = map(&doc, peercoach_core::automerge::ROOT, "members");
        let record = map(&doc, members.clone(), dan.as_str());
        let votes = map(&doc, record.clone(), "removals");
        // And, beside it (another session of his device), his whole record written over
        // with a copy of it that leaves out the votes.
        let mut blank = doc.fork().with_actor(peercoach_core::session_actor(
            dan_device.endpoint_id().as_bytes(),
            [9; 8],
        ));
        let copy = blank
            .put_object(
                &members,
                dan.as_str(),
                peercoach_core::automerge::ObjType::Map,
            )
            .expect("new record");
        copy_map(&mut blank, &record, &copy, &["removals"]);
        blank.commit();
        doc.delete(&votes, ana.as_str()).expect("delete");
        doc.commit();
        doc.merge(&mut blank).expect("merge");
        store.append(&mut doc).expect("append");
    }
    nodes[2].restart().await;
    nodes[2].ask("Dan, writing on").await;
    for node in &nodes[..2] {
        assert!(
            eventually(SOON, || async {
                node.status().await.peers.iter().any(|p| {
                    p.endpoint_id == dan_device
                        && p.refused.iter().any(|r| r.reason.starts_with("it deletes"))
                        && p.refused
                            .iter()
                            .any(|r| r.reason.starts_with("it writes over the whole record"))
                })
            })
            .await,
            "the deletion is refused, and Dan's status line says so"
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for node in &nodes[..2] {
        let titles = node.titles().await;
        assert!(
            !titles.contains(&"Dan, writing on".to_string()),
            "what Dan built on them is not taken either: {titles:?}"
        );
    }
    apply(&nodes[1], Command::RemoveMember { member: dan }).await;
    let honest: Vec<&TestNode> = nodes[..2].iter().collect();
    assert!(eventually(SOON, || converged(&honest)).await);
    for node in &honest {
        assert!(
            removed(node, "Node2").await,
            "Ana's vote still counts, with Ben's"
        );
    }
}

/// Mallory's device runs a modified app: it signs two versions of one change (the same
/// actor and sequence number, another request in each) and gives one to Ana's device and
/// the other to Ben's, while they are apart. Each builds on the one it got. When they
/// meet, both keep the version with the smaller hash; the device that held the other
/// sets it aside, says so in its status, and makes its own edit again on top. Nobody is
/// cut off: their next edits reach each other within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_versions_of_one_change_settle_on_one_and_nobody_is_cut_off() {
    init_tracing();
    let mut nodes = team_of(3).await;
    nodes[2].ask("Mallory's first").await;
    let everyone: Vec<&TestNode> = nodes.iter().collect();
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    let mallory = nodes[2].endpoint_id();
    nodes[2].stop().await;
    // Both versions from the same files: the same session actor and next sequence number.
    let mut versions = Vec::new();
    for title in ["Version one", "Version two"] {
        let (dir, _store, mut doc) = team_files(&nodes[2], &team);
        let actor = session_of(&mut doc, &mallory);
        let mut doc = ask_as(doc, &mallory, actor, title);
        let change = doc.get_last_local_change().expect("a change").clone();
        let key = dir
            .identity()
            .expect("identity")
            .expect("exists")
            .secret_key;
        versions.push((key, change));
    }
    let (one, two) = (&versions[0].1, &versions[1].1);
    assert_eq!((one.actor_id(), one.seq()), (two.actor_id(), two.seq()));
    assert_ne!(one.hash(), two.hash());
    let rogue = raw_endpoint(versions[0].0).await;
    // One version to each, while the other is stopped; each asks on top of it.
    for (i, ((key, change), title, asked)) in versions
        .iter()
        .zip(["Version one", "Version two"])
        .zip(["Ana on version one", "Ben on version two"])
        .map(|((v, t), a)| (v, t, a))
        .enumerate()
    {
        let other = 1 - i;
        nodes[other].stop().await;
        if nodes[i].node.is_none() {
            nodes[i].restart().await;
            // Its gate lets Mallory's device in once it has read the team again.
            assert!(
                eventually(SOON, || async {
                    nodes[i]
                        .status()
                        .await
                        .peers
                        .iter()
                        .any(|p| p.endpoint_id == mallory)
                })
                .await
            );
        }
        let (conn, mut send) = sync_stream(&rogue, &nodes[i], &team).await;
        frame::write_frame(&mut send, Tag::Changes, &signed(key, change.raw_bytes()))
            .await
            .expect("frame");
        assert!(
            eventually(SOON, || async {
                nodes[i].titles().await.contains(&title.to_string())
            })
            .await,
            "node {i} took {title}"
        );
        conn.close(0u32.into(), b"done");
        nodes[i].ask(asked).await;
    }
    rogue.close().await;
    nodes[0].restart().await;
    let honest: Vec<&TestNode> = nodes[..2].iter().collect();
    assert!(
        eventually(SOON, || converged(&honest)).await,
        "Ana's and Ben's devices converge on one version"
    );
    let kept = one.hash().min(two.hash());
    let (kept_title, lost_title) = if kept == one.hash() {
        ("Version one", "Version two")
    } else {
        ("Version two", "Version one")
    };
    for node in &honest {
        let titles = node.titles().await;
        for title in [kept_title, "Ana on version one", "Ben on version two"] {
            assert!(titles.contains(&title.to_string()), "{title}: {titles:?}");
        }
        assert!(!titles.contains(&lost_title.to_string()), "{titles:?}");
    }
    // The device that held the other version names it in its status.
    let holder = if kept == one.hash() { 1 } else { 0 };
    let status = nodes[holder].status().await;
    assert!(
        status
            .peers
            .iter()
            .any(|p| p.refused.iter().any(|r| r.reason.contains("two versions"))),
        "{:?}",
        status.peers
    );
    // Nobody is cut off.
    nodes[0].ask("Ana afterwards").await;
    nodes[1].ask("Ben afterwards").await;
    for node in &honest {
        assert!(
            eventually(SOON, || async {
                let titles = node.titles().await;
                titles.contains(&"Ana afterwards".to_string())
                    && titles.contains(&"Ben afterwards".to_string())
            })
            .await,
            "the next edits reach both"
        );
    }
    assert!(eventually(SOON, || converged(&honest)).await);
}
