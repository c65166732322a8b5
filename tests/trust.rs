//! Who may remove whom, with real nodes on 127.0.0.1: one member cannot remove the rest,
//! two members remove one for good, and the removed member's device is refused at every
//! gate and at the invite it once used.

use std::time::Duration;

use peercoach_core::{Command, MemberId};
use peercoach_node::api::Request;

use crate::util::{TestNode, converged, eventually, init_tracing};

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
