//! Real nodes on 127.0.0.1 syncing a team: invites and joins, live edits, offline edits,
//! partitions and restarts, and what outsiders, removed members and bad bytes get.

use peercoach_core::NewRequest;
use std::collections::BTreeSet;
use std::time::Duration;

use peercoach_net::frame::{self, Tag};
use peercoach_net::{ALPN_JOIN, ALPN_SYNC};
use peercoach_node::api::{Reply, Request};
use rand::{RngExt, SeedableRng};

use crate::util::{
    TestNode, addr_of, ask_offline, converged, env_or, eventually, hello, init_tracing,
    raw_endpoint, seed, signed, team_of, team_with_clocks,
};

const SOON: Duration = Duration::from_secs(20);

/// A stopped node's device identity, read from its data dir (to speak with its key).
fn stored_identity(node: &TestNode) -> peercoach_store::Identity {
    crate::util::open_stopped(node.dir.path())
        .identity()
        .expect("identity")
        .expect("exists")
}

fn refs(nodes: &[TestNode]) -> Vec<&TestNode> {
    nodes.iter().filter(|n| n.node.is_some()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_invite_join_and_see_each_others_edits() {
    init_tracing();
    let nodes = team_of(3).await;
    let mut expected = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let title = format!("asked on node {i}");
        n.ask(&title).await;
        expected.push(title);
    }
    expected.sort();
    for n in &nodes {
        assert!(
            eventually(SOON, || async { n.titles().await == expected }).await,
            "every edit reaches every node: {:?}",
            n.titles().await
        );
    }
    let all = refs(&nodes);
    assert!(eventually(SOON, || converged(&all)).await);
    for n in &nodes {
        let ok = eventually(SOON, || async {
            let s = n.status().await;
            s.peers.len() == 2
                && s.peers
                    .iter()
                    .all(|p| p.connected && p.has_all_my_changes && p.last_synced_ms.is_some())
        })
        .await;
        assert!(ok, "status: {:?}", n.status().await);
    }
    // One connection per pair: each node sees exactly two connected peers.
    for n in &nodes {
        let connected = n
            .status()
            .await
            .peers
            .iter()
            .filter(|p| p.connected)
            .count();
        assert_eq!(connected, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_both_sides_converge_after_reconnecting() {
    init_tracing();
    let mut nodes = team_of(2).await;
    let (a, b) = (nodes[0].endpoint_id(), nodes[1].endpoint_id());
    nodes[0].node().net().block(BTreeSet::from([b]));
    nodes[1].node().net().block(BTreeSet::from([a]));
    let mut expected = Vec::new();
    for i in 0..3 {
        nodes[0].ask(&format!("A offline {i}")).await;
        nodes[1].ask(&format!("B offline {i}")).await;
        expected.push(format!("A offline {i}"));
        expected.push(format!("B offline {i}"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !nodes[0].titles().await.iter().any(|t| t.starts_with('B')),
        "partitioned"
    );
    // A restart while apart, too: state on disk, not only in memory.
    nodes[1].stop().await;
    nodes[1].restart().await;
    nodes[1].node().net().block(BTreeSet::from([a]));
    nodes[1].ask("B after restart").await;
    expected.push("B after restart".into());
    expected.sort();
    nodes[0].node().net().block(BTreeSet::new());
    nodes[1].node().net().block(BTreeSet::new());
    for n in &nodes {
        assert!(
            eventually(SOON, || async { n.titles().await == expected }).await,
            "{:?}",
            n.titles().await
        );
    }
    let all = refs(&nodes);
    assert!(eventually(SOON, || converged(&all)).await);
}

/// Copies every saved per-peer sync state of a node (to bring back later, stale).
fn saved_sync_states(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(teams) = std::fs::read_dir(dir.join("teams")) else {
        return out;
    };
    for team in teams.flatten() {
        let Ok(peers) = std::fs::read_dir(team.path().join("peers")) else {
            continue;
        };
        for p in peers.flatten() {
            if let Ok(bytes) = std::fs::read(p.path()) {
                out.push((p.path(), bytes));
            }
        }
    }
    out
}

/// Eight nodes with clocks hours apart through a seeded schedule of partitions, heals,
/// clean stops, restarts with stale sync states (an old copy of every per-peer state put
/// back) and edits; at the end
/// all converge and nothing acknowledged is lost. `PEERCOACH_PARTITION_STEPS` lengthens it
/// (the soak run in RELIABILITY.md), `PEERCOACH_SEED` replays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_nodes_through_partitions_restarts_and_stale_states_converge() {
    init_tracing();
    const N: usize = 8;
    let seed = seed();
    let steps: usize = env_or("PEERCOACH_PARTITION_STEPS", 40);
    println!(
        "partition test: {N} nodes, {steps} steps, seed {seed} (PEERCOACH_SEED={seed} replays)"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Clocks off by up to three hours either way.
    let skews: Vec<i64> = (0..N)
        .map(|_| rng.random_range(-3 * 3_600_000..=3 * 3_600_000))
        .collect();
    let mut nodes = team_with_clocks(&skews).await;
    let ids: Vec<peercoach_net::DeviceId> = nodes.iter().map(TestNode::endpoint_id).collect();
    let mut acknowledged = Vec::new();
    let mut old_states: Vec<Vec<(std::path::PathBuf, Vec<u8>)>> = vec![Vec::new(); N];
    let (mut partitions, mut restarts, mut stale) = (0, 0, 0);
    for step in 0..steps {
        match rng.random_range(0..12) {
            0..=6 => {
                let i = rng.random_range(0..N);
                if nodes[i].node.is_some() {
                    let title = format!("step {step} on {i}");
                    nodes[i].ask(&title).await;
                    acknowledged.push(title);
                }
            }
            7 | 8 => {
                // Split into two groups that cannot reach each other.
                partitions += 1;
                let group: BTreeSet<usize> = (0..N).filter(|_| rng.random_bool(0.5)).collect();
                for (i, n) in nodes.iter().enumerate() {
                    if let Some(node) = &n.node {
                        let others: BTreeSet<peercoach_net::DeviceId> = (0..N)
                            .filter(|j| group.contains(j) != group.contains(&i))
                            .map(|j| ids[j])
                            .collect();
                        node.net().block(others);
                    }
                }
            }
            9 => {
                for n in nodes.iter().filter(|n| n.node.is_some()) {
                    n.node().net().block(BTreeSet::new());
                }
            }
            _ => {
                let i = rng.random_range(0..N);
                if nodes[i].node.is_some() {
                    nodes[i].stop().await;
                    if old_states[i].is_empty() {
                        old_states[i] = saved_sync_states(nodes[i].dir.path());
                    }
                } else {
                    if rng.random_bool(0.5) && !old_states[i].is_empty() {
                        // Restart with the sync states of an earlier stop: they claim the
                        // peers have less (or more) than they do.
                        stale += 1;
                        for (path, bytes) in std::mem::take(&mut old_states[i]) {
                            std::fs::write(path, bytes).expect("put back an old state");
                        }
                    }
                    restarts += 1;
                    nodes[i].restart().await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..150))).await;
    }
    for n in &mut nodes {
        if n.node.is_none() {
            n.restart().await;
        }
        n.node().net().block(BTreeSet::new());
    }
    acknowledged.sort();
    let all = refs(&nodes);
    assert!(
        eventually(Duration::from_secs(90), || converged(&all)).await,
        "seed {seed}: nodes did not converge"
    );
    for n in &nodes {
        let titles = n.titles().await;
        for t in &acknowledged {
            assert!(titles.contains(t), "seed {seed}: {t} lost on a node");
        }
    }
    println!(
        "partition test passed: {} edits, {partitions} partitions, {restarts} restarts ({stale} with stale sync states), all {N} converged",
        acknowledged.len()
    );
}

/// One outsider (a key no member has) against a member's node, over every ALPN.
async fn outsider_gets_nothing(
    a: &TestNode,
    outsider: &iroh::Endpoint,
    team: &str,
    attempt: usize,
) {
    // The sync protocol: refused at the handshake; nothing arrives.
    let mut received = Vec::new();
    if let Ok(conn) = outsider.connect(addr_of(a), ALPN_SYNC).await {
        if let Ok((mut send, mut recv)) = conn.open_bi().await {
            // Not even a team id: the gate refuses before the hello is read.
            let hello = serde_json::to_vec(&serde_json::json!({"version": 1, "team_id": "x"}))
                .expect("json");
            let _ = frame::write_frame(&mut send, Tag::Hello, &hello).await;
            if let Ok(bytes) = recv.read_to_end(1 << 20).await {
                received = bytes;
            }
        }
        let reason = conn.closed().await;
        assert!(
            format!("{reason}").contains("403") || format!("{reason:?}").contains("403"),
            "{reason:?}"
        );
    }
    assert!(
        received.is_empty(),
        "attempt {attempt}: an outsider received {} bytes",
        received.len()
    );
    // The join protocol with a made-up secret: a refusal and nothing else.
    let conn = outsider
        .connect(addr_of(a), ALPN_JOIN)
        .await
        .expect("join is open to try");
    let (mut send, mut recv) = conn.open_bi().await.expect("stream");
    let request = peercoach_net::JoinRequest {
        version: 1,
        team_id: peercoach_core::TeamId::parse(team).expect("team id"),
        secret: [7; 32],
        name: "Mallory".into(),
        actor: "abcd".into(),
        addrs: vec![],
        relay_url: None,
    };
    frame::write_frame(
        &mut send,
        Tag::JoinRequest,
        &serde_json::to_vec(&request).expect("json"),
    )
    .await
    .expect("write");
    let bytes = recv.read_to_end(1 << 20).await.expect("read");
    let (frames, _) = frame::decode_all(&bytes, 1 << 20).expect("frames");
    assert_eq!(frames.len(), 1, "only the refusal");
    assert_eq!(frames[0].0, Tag::JoinReply);
    let text = String::from_utf8_lossy(frames[0].1);
    assert!(
        text.contains("Refused") && text.contains("not known"),
        "{text}"
    );
    assert!(
        !String::from_utf8_lossy(&bytes).contains("reorg"),
        "no document content"
    );
    conn.close(0u32.into(), b"bye");
    // An ALPN the node does not speak: no connection at all.
    let other = tokio::time::timeout(SOON, outsider.connect(addr_of(a), b"peercoach/other"))
        .await
        .expect("no hang");
    assert!(
        other.is_err(),
        "attempt {attempt}: an unknown ALPN is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outsiders_get_no_byte_of_the_team() {
    init_tracing();
    let a = TestNode::start().await;
    a.create_team("Ana").await;
    a.ask(SECRET_TITLE).await;
    let team = a.team_id().await;
    // A hundred outsiders with fresh keys try every ALPN the node speaks, and one it
    // does not.
    for attempt in 0..100 {
        let outsider = raw_endpoint(rand::random()).await;
        outsider_gets_nothing(&a, &outsider, &team, attempt).await;
        outsider.close().await;
    }
    // Members are still served.
    a_real_join_gets(&a, SECRET_TITLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_expired_and_removed_are_refused() {
    init_tracing();
    let a = TestNode::start().await;
    a.create_team("Ana").await;
    let ticket = a.invite().await;
    let b = TestNode::start().await;
    b.join(&ticket, "Ben").await.expect("first use");
    let c = TestNode::start().await;
    let err = c.join(&ticket, "Cleo").await.expect_err("replay");
    assert!(err.contains("already used"), "{err}");
    // Expired on the inviter's side (the ticket text still looks valid to the joiner).
    let expired = a.invite().await;
    let team_dir = std::fs::read_dir(a.dir.path().join("teams"))
        .expect("teams")
        .next()
        .expect("team")
        .expect("entry")
        .path();
    let invites_path = team_dir.join("invites.json");
    let mut invites: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&invites_path).expect("invites")).expect("json");
    for invite in invites["invites"].as_array_mut().expect("list") {
        if invite["used_by"].is_null() {
            invite["expires_ms"] = serde_json::json!(1);
        }
    }
    std::fs::write(&invites_path, serde_json::to_vec(&invites).expect("json")).expect("write");
    let err = c.join(&expired, "Cleo").await.expect_err("expired");
    assert!(err.contains("expired"), "{err}");
    assert!(
        c.try_request(Request::Teams)
            .await
            .is_ok_and(|r| matches!(r, Reply::Teams { teams } if teams.is_empty()))
    );
    // Garbage tickets never leave the joiner.
    for bad in ["", "peercoachnope", "hello world"] {
        let err = c.join(bad, "Cleo").await.expect_err("malformed");
        assert!(err.contains("not a valid peercoach invite"), "{err}");
    }
    // Removing Ben: his device is refused from then on and gets nothing new.
    assert!(
        eventually(SOON, || async {
            b.status().await.peers.iter().any(|p| p.connected)
        })
        .await
    );
    let ben = b.export_json().await["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["name"] == "Ben")
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .expect("ben");
    let member = peercoach_core::MemberId::parse(&ben).expect("id");
    a.ok(Request::Apply {
        team: None,
        command: peercoach_core::Command::RemoveMember { member },
    })
    .await;
    a.ask("After Ben left").await;
    assert!(
        eventually(SOON, || async {
            !a.status().await.peers.iter().any(|p| p.connected)
        })
        .await
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !b.titles().await.contains(&"After Ben left".to_string()),
        "a removed member gets nothing new"
    );
    // Ben's node keeps dialing; Ana's side refuses every attempt at the handshake.
    let ben_device = b.endpoint_id();
    for _ in 0..20 {
        assert!(
            !a.node().net().is_connected(&ben_device),
            "a removed member's device stays refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_from_a_member_close_that_connection_and_others_carry_on() {
    init_tracing();
    let mut nodes = team_of(3).await;
    let team = nodes[0].team_id().await;
    // Ben's device misbehaves: stop his node and speak with his key directly.
    nodes[1].stop().await;
    let rogue = raw_endpoint(stored_identity(&nodes[1]).secret_key).await;
    let hello = hello(&team);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage",
            b"\xde\xad\xbe\xef garbage that is no frame".to_vec(),
        ),
        ("unknown tag", {
            let mut b = 5u32.to_le_bytes().to_vec();
            b.extend_from_slice(&[99, 1, 2, 3, 4]);
            b
        }),
        ("oversized", {
            let mut b = (u32::MAX - 1).to_le_bytes().to_vec();
            b.push(2);
            b
        }),
        ("garbage sync message", {
            let mut b = 9u32.to_le_bytes().to_vec();
            b.push(Tag::Sync as u8);
            b.extend_from_slice(b"notasync");
            b
        }),
        ("garbage pushed change", {
            let mut b = 9u32.to_le_bytes().to_vec();
            b.push(Tag::Changes as u8);
            b.extend_from_slice(b"notachng");
            b
        }),
        ("garbage heads", {
            let mut b = 6u32.to_le_bytes().to_vec();
            b.push(Tag::Heads as u8);
            b.extend_from_slice(b"short");
            b
        }),
        ("truncated", {
            let mut b = 100u32.to_le_bytes().to_vec();
            b.extend_from_slice(&[2, 1, 2, 3]);
            b
        }),
    ];
    for (name, bytes) in cases {
        let conn = tokio::time::timeout(SOON, rogue.connect(addr_of(&nodes[0]), ALPN_SYNC))
            .await
            .expect("no hang")
            .expect("a member device connects");
        let (mut send, _recv) = conn.open_bi().await.expect("stream");
        frame::write_frame(&mut send, Tag::Hello, &hello)
            .await
            .expect("hello");
        let _ = tokio::io::AsyncWriteExt::write_all(&mut send, &bytes).await;
        let _ = send.finish();
        let reason = tokio::time::timeout(SOON, conn.closed())
            .await
            .unwrap_or_else(|_| panic!("{name}: the node closes the connection"));
        let text = format!("{reason:?}");
        assert!(
            text.contains("400") || text.contains("ApplicationClosed"),
            "{name}: {text}"
        );
    }
    rogue.close().await;
    // The node serves the others on.
    nodes[2].ask("still working").await;
    assert!(
        eventually(SOON, || async {
            nodes[0]
                .titles()
                .await
                .contains(&"still working".to_string())
        })
        .await
    );
    nodes[1].restart().await;
    assert!(
        eventually(SOON, || async {
            nodes[1]
                .titles()
                .await
                .contains(&"still working".to_string())
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_device_speaks_for_the_same_member() {
    init_tracing();
    let laptop = TestNode::start().await;
    laptop.create_team("Ana").await;
    let ticket = laptop.device_invite().await;
    let phone = TestNode::start().await;
    let joined = phone.join(&ticket, "phone").await.expect("link");
    let Reply::Joined { member_id, .. } = joined else {
        panic!("unexpected {joined:?}")
    };
    let members = phone.export_json().await["members"].clone();
    assert_eq!(
        members.as_array().map(Vec::len),
        Some(1),
        "no new member: {members}"
    );
    assert_eq!(members[0]["id"], member_id.as_str());
    phone.ask("Asked from my phone").await;
    assert!(
        eventually(SOON, || async {
            laptop
                .titles()
                .await
                .contains(&"Asked from my phone".to_string())
        })
        .await
    );
    let json = laptop.export_json().await;
    assert_eq!(
        json["requests"][0]["author"],
        member_id.as_str(),
        "the phone speaks for Ana"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_replayed_reordered_and_cut_frames_change_nothing_twice() {
    init_tracing();
    let mut nodes = team_of(3).await;
    let team = nodes[0].team_id().await;
    // Ben's device speaks for itself with raw frames: his real key, his real actor,
    // changes made by the real command code on his own copy of the document.
    nodes[1].stop().await;
    let (ben_key, changes) =
        asks_made_offline(&nodes[1], &team, &["raw one", "raw two", "raw three"]);
    let frames: Vec<Vec<u8>> = changes.iter().map(|c| signed(&ben_key, c)).collect();
    let rogue = raw_endpoint(ben_key).await;
    let hello = hello(&team);
    let connect = || async {
        let conn = tokio::time::timeout(SOON, rogue.connect(addr_of(&nodes[0]), ALPN_SYNC))
            .await
            .expect("no hang")
            .expect("a member device connects");
        let (mut send, recv) = conn.open_bi().await.expect("stream");
        frame::write_frame(&mut send, Tag::Hello, &hello)
            .await
            .expect("hello");
        (conn, send, recv)
    };
    // 1. The first change twice in a row, then the third before the second (it waits for
    //    its dependency), then the first again, replayed.
    let (conn, mut send, _recv) = connect().await;
    for c in [&frames[0], &frames[0], &frames[2], &frames[0]] {
        frame::write_frame(&mut send, Tag::Changes, c)
            .await
            .expect("frame");
    }
    // 2. The second change cut in the middle of its frame: the connection drops.
    let mut cut = ((frames[1].len() + 1) as u32).to_le_bytes().to_vec();
    cut.push(Tag::Changes as u8);
    cut.extend_from_slice(&frames[1][..frames[1].len() / 2]);
    let _ = tokio::io::AsyncWriteExt::write_all(&mut send, &cut).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    conn.close(0u32.into(), b"cut");
    assert!(
        eventually(SOON, || async {
            nodes[0].titles().await.contains(&"raw one".to_string())
        })
        .await,
        "the first change applied"
    );
    let titles = nodes[0].titles().await;
    assert_eq!(
        titles.iter().filter(|t| t.starts_with("raw")).count(),
        1,
        "the third waits for the second; the duplicates count once: {titles:?}"
    );
    // 3. A new connection brings the second change whole, then everything once more.
    let (conn, mut send, _recv) = connect().await;
    for c in [&frames[1], &frames[2], &frames[1], &frames[0]] {
        frame::write_frame(&mut send, Tag::Changes, c)
            .await
            .expect("frame");
    }
    assert!(
        eventually(SOON, || async {
            let t = nodes[0].titles().await;
            ["raw one", "raw two", "raw three"]
                .iter()
                .all(|r| t.contains(&r.to_string()))
        })
        .await,
        "all three applied once the gap is filled"
    );
    conn.close(0u32.into(), b"done");
    rogue.close().await;
    let titles = nodes[0].titles().await;
    assert_eq!(
        titles.iter().filter(|t| t.starts_with("raw")).count(),
        3,
        "each exactly once: {titles:?}"
    );
    // Everyone converges, Ben's own node included (his store never saw the raw changes:
    // they come back to him from the others).
    nodes[1].restart().await;
    let all = refs(&nodes);
    assert!(eventually(SOON, || converged(&all)).await);
    let ben = nodes[1].titles().await;
    assert_eq!(ben.iter().filter(|t| t.starts_with("raw")).count(), 3);
}

/// Seeded garbage on the join protocol from fresh keys: random bytes, frames with random
/// payloads, join requests with broken fields. The node never hangs or panics, answers
/// with nothing but refusals, its document does not change, and a real join still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_join_protocol_changes_nothing() {
    init_tracing();
    let seed = seed();
    println!("join fuzz seed {seed} (PEERCOACH_SEED={seed} replays)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let a = TestNode::start().await;
    a.create_team("Ana").await;
    a.ask(SECRET_TITLE).await;
    let team = a.team_id().await;
    let heads = a.heads().await;
    let cases: usize = env_or("PEERCOACH_JOIN_FUZZ_CASES", 40);
    for case in 0..cases {
        let bytes: Vec<u8> = match case % 4 {
            0 => (0..rng.random_range(0..2_000))
                .map(|_| rng.random())
                .collect(),
            1 => {
                let payload: Vec<u8> = (0..rng.random_range(0..600))
                    .map(|_| rng.random())
                    .collect();
                let mut b = ((payload.len() + 1) as u32).to_le_bytes().to_vec();
                b.push(Tag::JoinRequest as u8);
                b.extend(payload);
                b
            }
            2 => {
                let name: String = (0..rng.random_range(0..5_000))
                    .map(|_| char::from(rng.random_range(32u8..127)))
                    .collect();
                let request = serde_json::json!({
                    "version": rng.random_range(0u32..4),
                    "team_id": if rng.random_bool(0.5) { team.clone() } else { "not-a-team".into() },
                    "secret": (0..rng.random_range(0..40)).map(|_| rng.random::<u8>()).collect::<Vec<u8>>(),
                    "name": name,
                    "actor": "zz",
                    "addrs": ["not an address", "999.1.1.1:70000"],
                });
                let payload = serde_json::to_vec(&request).expect("json");
                let mut b = ((payload.len() + 1) as u32).to_le_bytes().to_vec();
                b.push(Tag::JoinRequest as u8);
                b.extend(payload);
                b
            }
            _ => {
                // A well-formed request with a made-up secret, then trailing garbage.
                let request = peercoach_net::JoinRequest {
                    version: 1,
                    team_id: peercoach_core::TeamId::parse(&team).expect("team id"),
                    secret: rng.random(),
                    name: "Mallory".into(),
                    actor: "abcd".into(),
                    addrs: vec![],
                    relay_url: None,
                };
                let payload = serde_json::to_vec(&request).expect("json");
                let mut b = ((payload.len() + 1) as u32).to_le_bytes().to_vec();
                b.push(Tag::JoinRequest as u8);
                b.extend(payload);
                b.extend((0..rng.random_range(1..300)).map(|_| rng.random::<u8>()));
                b
            }
        };
        let outsider = raw_endpoint(rng.random()).await;
        let conn = tokio::time::timeout(SOON, outsider.connect(addr_of(&a), ALPN_JOIN))
            .await
            .expect("no hang")
            .expect("join is open to try");
        if let Ok((mut send, mut recv)) = conn.open_bi().await {
            let _ = tokio::io::AsyncWriteExt::write_all(&mut send, &bytes).await;
            let _ = send.finish();
            let answer = tokio::time::timeout(SOON, recv.read_to_end(1 << 20))
                .await
                .unwrap_or_else(|_| panic!("seed {seed}, case {case}: the node answers or closes"))
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&answer);
            assert!(
                !text.contains("reorg") && !text.contains("Accepted"),
                "seed {seed}, case {case}: only refusals: {text}"
            );
        }
        conn.close(0u32.into(), b"bye");
        outsider.close().await;
    }
    assert_eq!(
        a.heads().await,
        heads,
        "seed {seed}: the document did not change"
    );
    // The door still works for someone with a real invite.
    a_real_join_gets(&a, SECRET_TITLE).await;
}

/// A request only members may read.
const SECRET_TITLE: &str = "Confidential: reorg plans";

/// A newcomer with a real invite from `a` joins and soon sees `title`.
async fn a_real_join_gets(a: &TestNode, title: &str) {
    let b = TestNode::start().await;
    b.join(&a.invite().await, "Ben").await.expect("a real join");
    assert!(
        eventually(SOON, || async {
            b.titles().await.contains(&title.to_string())
        })
        .await,
        "a member with a real invite gets the team"
    );
}

/// A stopped node's device key, and asks made on its own copy of the team by the real
/// command code, one change each: what that device would send, for a test that speaks
/// raw frames with it.
fn asks_made_offline(node: &TestNode, team: &str, titles: &[&str]) -> ([u8; 32], Vec<Vec<u8>>) {
    let data = crate::util::open_stopped(node.dir.path());
    let identity = data.identity().expect("identity").expect("exists");
    let team_id = peercoach_core::TeamId::parse(team).expect("team id");
    let (_store, doc, _) = data.open_team(&team_id).expect("open team");
    let mut doc = peercoach_core::TeamDoc::from_doc(doc, identity.actor_hex());
    let mut changes = Vec::new();
    for title in titles {
        doc.apply(
            peercoach_core::Command::Ask(NewRequest {
                title: (*title).into(),
                tried: String::new(),
                skills: vec![],
                urgency: peercoach_core::Urgency::Normal,
                to: None,
            }),
            &mut peercoach_core::SystemEnv,
        )
        .expect("ask");
        let change = doc.automerge().get_last_local_change().expect("a change");
        changes.push(change.raw_bytes().to_vec());
    }
    (identity.secret_key, changes)
}

/// A newer build offers `peercoach/sync/3` in front of `/2` (and the same for join):
/// this build answers on `/2`, and the signed change the newer device sends arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_device_offering_sync_3_and_2_is_answered_on_2() {
    init_tracing();
    let mut nodes = team_of(2).await;
    let team = nodes[0].team_id().await;
    nodes[1].stop().await;
    let (ben_key, changes) = asks_made_offline(&nodes[1], &team, &["from a newer app"]);
    let newer = raw_endpoint(ben_key).await;
    let offer = |first: &'static [u8], current: &'static [u8]| {
        let (newer, addr) = (newer.clone(), addr_of(&nodes[0]));
        async move {
            let options =
                iroh::endpoint::ConnectOptions::new().with_additional_alpns(vec![current.to_vec()]);
            let connecting =
                tokio::time::timeout(SOON, newer.connect_with_opts(addr, first, options))
                    .await
                    .expect("no hang")
                    .expect("dial");
            tokio::time::timeout(SOON, connecting)
                .await
                .expect("no hang")
        }
    };
    let conn = offer(b"peercoach/sync/3", ALPN_SYNC)
        .await
        .expect("a member device with a newer app connects");
    assert_eq!(conn.alpn(), ALPN_SYNC, "answered on the version both speak");
    let (mut send, _recv) = conn.open_bi().await.expect("stream");
    frame::write_frame(&mut send, Tag::Hello, &hello(&team))
        .await
        .expect("hello");
    frame::write_frame(&mut send, Tag::Changes, &signed(&ben_key, &changes[0]))
        .await
        .expect("change");
    assert!(
        eventually(SOON, || async {
            nodes[0]
                .titles()
                .await
                .contains(&"from a newer app".to_string())
        })
        .await,
        "the change sent on the negotiated version applied"
    );
    conn.close(0u32.into(), b"done");
    let join = offer(b"peercoach/join/2", ALPN_JOIN)
        .await
        .expect("a newer app's join connects");
    assert_eq!(join.alpn(), ALPN_JOIN, "joins negotiate the same way");
    join.close(0u32.into(), b"done");
    newer.close().await;
}

/// A teammate whose app predates signed changes speaks `peercoach/sync/1`. This build
/// still syncs with it: the older app gets every change (bare sync messages, as it reads
/// them), and what it sends arrives unsigned, so it is refused from it and the peer is
/// shown as running an older app. Once that device updates, the same edit comes again,
/// signed by its device, and is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_app_on_sync_1_gets_every_change_and_its_edits_arrive_once_it_updates() {
    use peercoach_core::automerge::sync::{self, SyncDoc};

    init_tracing();
    let mut nodes = team_of(2).await;
    let team = nodes[0].team_id().await;
    let ben = nodes[1].endpoint_id();
    nodes[1].stop().await;
    nodes[0].ask("while Ben was away").await;
    // Ben's older app: an edit on his own copy, saved there (its own actor, as an older
    // app writes), and a sync state for Ana's device.
    let data = crate::util::open_stopped(nodes[1].dir.path());
    let identity = data.identity().expect("identity").expect("exists");
    let team_id = peercoach_core::TeamId::parse(&team).expect("team id");
    let (mut store, doc, _) = data.open_team(&team_id).expect("open team");
    let mut doc = peercoach_core::TeamDoc::from_doc(doc, identity.actor_hex());
    doc.apply(
        peercoach_core::Command::Ask(NewRequest {
            title: "from the older app".into(),
            tried: String::new(),
            skills: vec![],
            urgency: peercoach_core::Urgency::Normal,
            to: None,
        }),
        &mut peercoach_core::SystemEnv,
    )
    .expect("ask");
    store
        .append(doc.automerge())
        .expect("saved on Ben's device");
    drop((store, data));
    let older = raw_endpoint(identity.secret_key).await;
    let conn = tokio::time::timeout(
        SOON,
        older.connect(addr_of(&nodes[0]), peercoach_net::ALPN_SYNC_UNSIGNED),
    )
    .await
    .expect("no hang")
    .expect("a device with an older app still connects");
    assert_eq!(conn.alpn(), peercoach_net::ALPN_SYNC_UNSIGNED);
    let (mut send, mut recv) = conn.open_bi().await.expect("stream");
    frame::write_frame(&mut send, Tag::Hello, &hello(&team))
        .await
        .expect("hello");
    // The older app's side of the protocol, as it ran before signatures: bare messages.
    let mut state = sync::State::new();
    let has = |doc: &mut peercoach_core::TeamDoc, title: &str| {
        doc.refresh_after_merge();
        doc.shared_team()
            .requests
            .values()
            .any(|r| r.title == title)
    };
    if let Some(m) = doc.automerge().sync().generate_sync_message(&mut state) {
        frame::write_frame(&mut send, Tag::Sync, &m.encode())
            .await
            .expect("sync");
    }
    let got_everything = tokio::time::timeout(SOON, async {
        while !has(&mut doc, "while Ben was away") {
            let Some((tag, bytes)) = frame::read_frame(&mut recv, 64 << 20)
                .await
                .expect("a frame")
            else {
                return false;
            };
            match tag {
                Tag::Sync => {
                    let m = sync::Message::decode(&bytes).expect("a bare sync message");
                    doc.automerge()
                        .sync()
                        .receive_sync_message(&mut state, m)
                        .expect("applies");
                }
                Tag::Changes => {
                    let change = peercoach_core::automerge::Change::from_bytes(bytes)
                        .expect("a bare change");
                    doc.automerge().apply_changes([change]).expect("applies");
                }
                _ => {}
            }
            if let Some(m) = doc.automerge().sync().generate_sync_message(&mut state) {
                frame::write_frame(&mut send, Tag::Sync, &m.encode())
                    .await
                    .expect("sync");
            }
        }
        true
    })
    .await;
    assert_eq!(got_everything, Ok(true), "the older app gets Ana's edit");
    let shown = |status: &peercoach_node::api::StatusReply| {
        status
            .peers
            .iter()
            .find(|p| p.endpoint_id == ben)
            .map(|p| (p.older_app, p.refused.clone()))
    };
    assert!(
        eventually(SOON, || async {
            shown(&nodes[0].status().await).is_some_and(|(older, refused)| {
                older && refused.iter().any(|r| r.reason.starts_with("unsigned"))
            })
        })
        .await,
        "Ben's device is shown as an older app, its unsigned edit refused: {:?}",
        shown(&nodes[0].status().await)
    );
    assert!(
        !nodes[0]
            .titles()
            .await
            .contains(&"from the older app".to_string()),
        "nothing unsigned is applied"
    );
    conn.close(0u32.into(), b"done");
    older.close().await;
    // Ben updates: the same edit, on his disk all along, now goes out signed.
    nodes[1].restart().await;
    assert!(
        eventually(SOON, || async {
            nodes[0]
                .titles()
                .await
                .contains(&"from the older app".to_string())
        })
        .await,
        "the edit arrives, signed, once the app is updated"
    );
    let all = refs(&nodes);
    assert!(eventually(SOON, || converged(&all)).await);
    let after = shown(&nodes[0].status().await);
    assert!(
        after
            .as_ref()
            .is_some_and(|(older, refused)| !older && refused.is_empty()),
        "no longer an older app, nothing refused: {after:?}"
    );
}

/// The other way round: this build dials a newer device that listens on `/3` and `/2`,
/// preferring `/3`. It offers only what it speaks, so they meet on `/2`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn this_build_dials_a_newer_device_and_they_meet_on_2() {
    #[derive(Debug, Clone)]
    struct Newer(tokio::sync::mpsc::UnboundedSender<Vec<u8>>);
    impl iroh::protocol::ProtocolHandler for Newer {
        async fn accept(
            &self,
            conn: iroh::endpoint::Connection,
        ) -> Result<(), iroh::protocol::AcceptError> {
            let _ = self.0.send(conn.alpn().to_vec());
            // Hold the connection open for a moment, as a peer would.
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok(())
        }
    }

    init_tracing();
    let mut nodes = team_of(2).await;
    // Ben's device comes back as a newer build, on the address his member record names
    // (a node keeps its port across restarts), so Ana's node dials it.
    let ben = nodes[1].endpoint_id();
    assert!(
        eventually(SOON, || async {
            nodes[0]
                .status()
                .await
                .peers
                .iter()
                .any(|p| p.endpoint_id == ben && !p.addrs.is_empty())
        })
        .await,
        "Ana's node knows where Ben's device listens"
    );
    let ben_addrs = nodes[1].node().addrs();
    nodes[1].stop().await;
    let ben_key = stored_identity(&nodes[1]).secret_key;
    let bind = ben_addrs
        .iter()
        .copied()
        .find(std::net::SocketAddr::is_ipv4)
        .expect("an IPv4 loopback address");
    let endpoint = iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
        .secret_key(iroh::SecretKey::from_bytes(&ben_key))
        .clear_ip_transports()
        .bind_addr(bind)
        .expect("bind addr")
        .relay_mode(iroh::RelayMode::Disabled)
        .portmapper_config(iroh::endpoint::PortmapperConfig::Disabled)
        .bind()
        .await
        .expect("bind Ben's old address");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let router = iroh::protocol::Router::builder(endpoint)
        .accept(b"peercoach/sync/3", Newer(tx.clone()))
        .accept(ALPN_SYNC, Newer(tx))
        .spawn();
    // Ana's node redials Ben (backoff, at most 30 s).
    let alpn = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("Ana's node dials the newer device")
        .expect("an accepted connection");
    assert_eq!(alpn, ALPN_SYNC, "they meet on the version both speak");
    router.shutdown().await.expect("shutdown");
}

/// Two versions in one team (docs/design.md §10). Node 3 plays a newer build: it writes a
/// newer `schema_version`, a field on a session that this build does not know, and a
/// record kind it does not know, and speaks `/3` before `/2`. It talks only to node 1.
/// The current nodes keep syncing and writing, still show the session, and pass what
/// they do not know on intact: node 2, which never met the newer device, holds it after
/// its own writes, ready for a second newer device to read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_node_beside_current_ones_keeps_them_writing_and_its_records_pass_through() {
    use peercoach_core::automerge::transaction::Transactable;
    use peercoach_core::automerge::{ObjType, ROOT, ReadDoc};

    init_tracing();
    let mut nodes = team_of(4).await;
    let json = nodes[0].export_json().await;
    let member = |name: &str| {
        json["members"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["name"] == name))
            .and_then(|m| m["id"].as_str())
            .and_then(|id| peercoach_core::MemberId::parse(id).ok())
            .expect("member")
    };
    // Node 1, coached by node 0, logs the session (a coachee needs no offer first).
    let command =
        peercoach_core::Command::session_now(member("Node0"), member("Node1"), "flaky tests");
    let session = nodes[1].apply(command).await;
    let everyone = refs(&nodes);
    assert!(eventually(SOON, || converged(&everyone)).await);
    let team = nodes[0].team_id().await;
    nodes[3].stop().await;
    // What the newer build writes, on its own copy, with its own key and actor.
    let (key, change) = {
        let data = crate::util::open_stopped(nodes[3].dir.path());
        let identity = data.identity().expect("identity").expect("exists");
        let team_id = peercoach_core::TeamId::parse(&team).expect("team id");
        let (_store, doc, _) = data.open_team(&team_id).expect("open team");
        let mut doc = peercoach_core::TeamDoc::from_doc(doc, identity.actor_hex());
        let am = doc.automerge();
        am.put(ROOT, "schema_version", 2_i64).expect("put");
        let sessions = match am.get(ROOT, "sessions").expect("get") {
            Some((_, id)) => id,
            None => panic!("sessions"),
        };
        let record = match am.get(&sessions, session.as_str()).expect("get") {
            Some((_, id)) => id,
            None => panic!("the session"),
        };
        am.put(&record, "location", "Room 4").expect("put");
        let retros = am
            .put_object(ROOT, "retros", ObjType::Map)
            .expect("a new kind");
        let retro = am.put_object(&retros, "r1", ObjType::Map).expect("record");
        am.put(&retro, "title", "What slowed us down").expect("put");
        am.commit();
        let change = am.get_last_local_change().expect("a change");
        (identity.secret_key, change)
    };
    let hash = change.hash().to_string();
    let change = signed(&key, change.raw_bytes());
    let newer = raw_endpoint(key).await;
    let options =
        iroh::endpoint::ConnectOptions::new().with_additional_alpns(vec![ALPN_SYNC.to_vec()]);
    let conn = newer
        .connect_with_opts(addr_of(&nodes[1]), b"peercoach/sync/3", options)
        .await
        .expect("dial")
        .await
        .expect("the newer device connects");
    let (mut send, _recv) = conn.open_bi().await.expect("stream");
    frame::write_frame(&mut send, Tag::Hello, &hello(&team))
        .await
        .expect("hello");
    frame::write_frame(&mut send, Tag::Changes, &change)
        .await
        .expect("the newer change");
    assert!(
        eventually(SOON, || async {
            let mut all = true;
            for node in &nodes[..3] {
                all &= node.heads().await.contains(&hash);
            }
            all
        })
        .await,
        "the newer change reaches every current node, through node 1"
    );
    // Still writing, on every current node, and still showing the session.
    for (i, title) in [(0, "after the newer app, 0"), (2, "after the newer app, 2")] {
        nodes[i].ask(title).await;
    }
    assert!(
        eventually(SOON, || async {
            let mut all = true;
            for node in &nodes[..3] {
                let titles = node.titles().await;
                all &= titles.contains(&"after the newer app, 0".to_string())
                    && titles.contains(&"after the newer app, 2".to_string());
            }
            all
        })
        .await,
        "edits made after the newer change reach every current node"
    );
    let shown = nodes[2].export_json().await;
    assert!(
        shown["sessions"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["topic"] == "flaky tests")),
        "the session is still shown: {}",
        shown["sessions"]
    );
    conn.close(0u32.into(), b"done");
    newer.close().await;
    // Node 2's copy, read as a newer build would read it.
    nodes[2].stop().await;
    let data = crate::util::open_stopped(nodes[2].dir.path());
    let team_id = peercoach_core::TeamId::parse(&team).expect("team id");
    let (_store, doc, _) = data.open_team(&team_id).expect("open team");
    let text = |obj: &peercoach_core::automerge::ObjId, key: &str| -> Option<String> {
        match doc.get(obj, key).ok().flatten() {
            Some((value, _)) => value.into_string().ok(),
            None => None,
        }
    };
    let map = |obj: &peercoach_core::automerge::ObjId, key: &str| {
        doc.get(obj, key)
            .ok()
            .flatten()
            .map(|(_, id)| id)
            .expect(key)
    };
    let sessions = map(&ROOT, "sessions");
    let record = map(&sessions, session.as_str());
    assert_eq!(text(&record, "location").as_deref(), Some("Room 4"));
    assert_eq!(text(&record, "topic").as_deref(), Some("flaky tests"));
    let retro = map(&map(&ROOT, "retros"), "r1");
    assert_eq!(
        text(&retro, "title").as_deref(),
        Some("What slowed us down")
    );
    assert_eq!(
        doc.get(ROOT, "schema_version")
            .ok()
            .flatten()
            .and_then(|(v, _)| v.as_i64()),
        Some(2)
    );
}

/// Ben's device speaks raw frames with changes it made itself: one unsigned, one signed
/// by a key that is not his device's, and one written under the session actor of a
/// device no member has, signed by that device. Each is refused from Ben alone, with its
/// reason in Ana's status, and Ben's properly signed change after them is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_wrongly_signed_and_non_member_changes_are_refused_over_the_wire() {
    use peercoach_node::sync::signed::{ChangeSig, Envelope};

    init_tracing();
    let mut nodes = team_of(2).await;
    let team = nodes[0].team_id().await;
    let ben = nodes[1].endpoint_id();
    nodes[1].stop().await;
    let (ben_key, changes) = asks_made_offline(
        &nodes[1],
        &team,
        &["unsigned", "wrongly signed", "signed, at last"],
    );
    // A device no member has, writing with a session actor of its own key.
    let stranger = iroh::SecretKey::from_bytes(&[0x51; 32]);
    let strangers = {
        let data = crate::util::open_stopped(nodes[1].dir.path());
        let team_id = peercoach_core::TeamId::parse(&team).expect("team id");
        let (_store, doc, _) = data.open_team(&team_id).expect("open team");
        let mut doc = peercoach_core::TeamDoc::from_doc(
            doc,
            peercoach_core::ActorHex::of_device(&peercoach_net::DeviceId::from(stranger.public())),
        );
        let mut am = doc.automerge().clone();
        am.set_actor(peercoach_core::session_actor(
            stranger.public().as_bytes(),
            [1; 8],
        ));
        use peercoach_core::automerge::transaction::Transactable;
        am.put(peercoach_core::automerge::ROOT, "stranger", "was here")
            .expect("put");
        am.commit();
        let change = am.get_last_local_change().expect("a change");
        Envelope {
            sigs: vec![ChangeSig::sign(&stranger, change.hash())],
            body: change.raw_bytes().to_vec(),
        }
        .encode()
    };
    let unsigned = Envelope {
        sigs: vec![],
        body: changes[0].clone(),
    }
    .encode();
    let wrong_key = iroh::SecretKey::from_bytes(&[0x77; 32]);
    let wrongly = {
        let change =
            peercoach_core::automerge::Change::from_bytes(changes[1].clone()).expect("a change");
        Envelope {
            sigs: vec![ChangeSig::sign(&wrong_key, change.hash())],
            body: changes[1].clone(),
        }
        .encode()
    };
    let rogue = raw_endpoint(ben_key).await;
    let conn = tokio::time::timeout(SOON, rogue.connect(addr_of(&nodes[0]), ALPN_SYNC))
        .await
        .expect("no hang")
        .expect("a member device connects");
    let (mut send, _recv) = conn.open_bi().await.expect("stream");
    frame::write_frame(&mut send, Tag::Hello, &hello(&team))
        .await
        .expect("hello");
    for payload in [&unsigned, &wrongly, &strangers] {
        frame::write_frame(&mut send, Tag::Changes, payload)
            .await
            .expect("frame");
    }
    let reasons = || async {
        nodes[0]
            .status()
            .await
            .peers
            .into_iter()
            .find(|p| p.endpoint_id == ben)
            .map(|p| p.refused.into_iter().map(|r| r.reason).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert!(
        eventually(SOON, || async {
            let r = reasons().await;
            // The wrongly signed change is built on the unsigned one: judged in the same
            // batch it is refused for its signature; arriving after the unsigned one was
            // refused, for depending on it. Either way it is refused, with its reason.
            r.iter().any(|r| r.starts_with("unsigned"))
                && r.iter().any(|r| {
                    r.starts_with("bad signature")
                        || r.starts_with("it depends on a change refused from this device")
                })
                && r.iter().any(|r| r.contains("does not know"))
                && r.len() == 3
        })
        .await,
        "three refusals, each with its reason: {:?}",
        reasons().await
    );
    let titles = nodes[0].titles().await;
    assert!(
        !titles
            .iter()
            .any(|t| t == "unsigned" || t == "wrongly signed"),
        "{titles:?}"
    );
    // The connection stays; the genuine changes, signed, go through on it, one after
    // the other (each depends on the one before).
    for (c, title) in changes
        .iter()
        .zip(["unsigned", "wrongly signed", "signed, at last"])
    {
        frame::write_frame(&mut send, Tag::Changes, &signed(&ben_key, c))
            .await
            .expect("frame");
        assert!(
            eventually(SOON, || async {
                nodes[0].titles().await.contains(&title.to_string())
            })
            .await,
            "Ben's own change {title:?}, signed, is applied"
        );
    }
    let json = nodes[0].export_json().await;
    assert!(json.get("stranger").is_none());
    conn.close(0u32.into(), b"done");
    rogue.close().await;
}

/// A copy of Ana's data dir (restored from a backup on another laptop) writes while her
/// node runs. Its edit is her device's, signed with her key, under a session of its own:
/// it is applied, nothing collides, and her node tells her another copy is running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_this_device_writing_at_the_same_time_is_told_and_collides_with_nothing() {
    init_tracing();
    let mut nodes = team_of(2).await;
    let team = nodes[0].team_id().await;
    // The copy is made while Ana's node is stopped, then both go on.
    nodes[0].stop().await;
    let copy = tempfile::tempdir().expect("tempdir");
    crate::util::copy_dir(nodes[0].dir.path(), copy.path());
    let _ = std::fs::remove_file(copy.path().join("lock"));
    nodes[0].restart().await;
    nodes[0].ask("from the original").await;
    assert!(!nodes[0].status().await.another_copy_running);
    let (key, change) = ask_offline(copy.path(), &team, "from the copy");
    // It reaches Ana's node through Ben's device, signed by the copy (Ana's key).
    nodes[1].stop().await;
    let ben_key = stored_identity(&nodes[1]).secret_key;
    let ben = raw_endpoint(ben_key).await;
    let conn = tokio::time::timeout(SOON, ben.connect(addr_of(&nodes[0]), ALPN_SYNC))
        .await
        .expect("no hang")
        .expect("connects");
    let (mut send, _recv) = conn.open_bi().await.expect("stream");
    frame::write_frame(&mut send, Tag::Hello, &hello(&team))
        .await
        .expect("hello");
    frame::write_frame(&mut send, Tag::Changes, &signed(&key, &change))
        .await
        .expect("change");
    assert!(
        eventually(SOON, || async {
            nodes[0].status().await.another_copy_running
        })
        .await,
        "Ana is told another copy of her device runs"
    );
    let titles = nodes[0].titles().await;
    assert!(
        titles.contains(&"from the copy".to_string())
            && titles.contains(&"from the original".to_string()),
        "both edits stand: {titles:?}"
    );
    conn.close(0u32.into(), b"done");
    ben.close().await;
}

/// The session actors of one device that wrote in a data dir's copy of a team.
fn sessions_in(dir: &std::path::Path, team: &str, key: &[u8; 32]) -> BTreeSet<Vec<u8>> {
    let mut engine = peercoach_node::Engine::open(dir).expect("opens");
    let id = peercoach_core::TeamId::parse(team).expect("team id");
    let doc = engine.team(Some(&id)).expect("team").doc.automerge();
    doc.get_changes(&[])
        .iter()
        .filter(|c| peercoach_core::device_key_of(c.actor_id()).as_ref() == Some(key))
        .map(|c| c.actor_id().to_bytes().to_vec())
        .collect()
}

/// Restarts and commands run on the same data dir write under one session actor (each
/// new actor costs every device a pass over the document), while a copy of the data dir
/// writes under its own and collides with nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_write_under_one_session_and_a_copy_under_its_own() {
    init_tracing();
    let mut nodes = team_of(2).await;
    let team = nodes[0].team_id().await;
    for start in 0..3 {
        nodes[0].ask(&format!("start {start}")).await;
        nodes[0].stop().await;
        nodes[0].restart().await;
    }
    nodes[0].stop().await;
    let key = iroh::SecretKey::from_bytes(&stored_identity(&nodes[0]).secret_key)
        .public()
        .as_bytes()
        .to_owned();
    let ana = sessions_in(nodes[0].dir.path(), &team, &key);
    assert_eq!(ana.len(), 1, "one session over three starts: {ana:?}");

    let copy = tempfile::tempdir().expect("tempdir");
    crate::util::copy_dir(nodes[0].dir.path(), copy.path());
    let _ = std::fs::remove_file(copy.path().join("lock"));
    ask_offline(copy.path(), &team, "from the copy");
    let copied = sessions_in(copy.path(), &team, &key);
    assert_eq!(
        copied.len(),
        2,
        "the copy writes under a session of its own"
    );
    assert!(copied.is_superset(&ana));

    // The original goes on under the session it had.
    nodes[0].restart().await;
    nodes[0].ask("after the copy").await;
    nodes[0].stop().await;
    assert_eq!(sessions_in(nodes[0].dir.path(), &team, &key), ana);
}
