//! Load: one node with 30 connected peers, each making 20 edits a second. No request may
//! fail, every edit must reach the hub and every peer, and the figures are printed.
//! `PEERCOACH_LOAD_SECS` sets how long the peers edit (3 s by default; RELIABILITY.md has
//! the 60 s run).

use peercoach_core::NewRequest;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use peercoach_node::api::{Reply, Request};

use crate::util::{TestNode, converged, env_or, eventually, init_tracing};

const PEERS: usize = 30;
const EDITS_PER_SECOND: u64 = 20;

/// A line of this process's /proc status, in MB (every node runs in it): `VmHWM` is the
/// peak resident memory, `VmRSS` the current.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_with_thirty_busy_peers_keeps_up_and_everyone_converges() {
    init_tracing();
    let secs: u64 = env_or("PEERCOACH_LOAD_SECS", 3);
    let hub = TestNode::start().await;
    hub.create_team("Hub").await;
    let mut peers = Vec::new();
    for i in 0..PEERS {
        let node = TestNode::start().await;
        node.join(&hub.invite().await, &format!("Peer{i}"))
            .await
            .expect("join");
        peers.push(node);
    }
    // A star: each peer talks to the hub only.
    let ids: BTreeSet<peercoach_net::DeviceId> = peers.iter().map(TestNode::endpoint_id).collect();
    for p in &peers {
        let mut others = ids.clone();
        others.remove(&p.endpoint_id());
        p.node().net().block(others);
    }
    let rss_before = rss_mb();
    let failures = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, p) in peers.iter().enumerate() {
        let handle = p.node().handle();
        let failures = failures.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / EDITS_PER_SECOND));
            let mut titles = Vec::new();
            for e in 0..secs * EDITS_PER_SECOND {
                tick.tick().await;
                let title = format!("load {i}/{e}");
                let command = peercoach_core::Command::Ask(NewRequest {
                    title: title.clone(),
                    tried: String::new(),
                    skills: vec!["load".into()],
                    urgency: peercoach_core::Urgency::Normal,
                    to: None,
                });
                match handle
                    .request(Request::Apply {
                        team: None,
                        command,
                    })
                    .await
                {
                    Ok(Reply::Done { .. }) => titles.push(title),
                    other => {
                        eprintln!("an edit failed under load: {other:?}");
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            titles
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        acknowledged.extend(t.await.expect("editor task"));
    }
    let editing = start.elapsed();
    assert_eq!(failures.load(Ordering::SeqCst), 0, "no request failed");
    // Everyone ends with the same document, holding every edit.
    let stopped = Instant::now();
    let mut all: Vec<&TestNode> = vec![&hub];
    all.extend(peers.iter());
    let rss_edited = rss_mb();
    assert!(
        eventually(Duration::from_secs(120.max(secs * 10)), || converged(&all)).await,
        "the star did not converge"
    );
    let lag = stopped.elapsed();
    // Memory must follow the data, not the backlog: once everyone has converged and the
    // nodes idle (ticks, heads, anti-entropy checks), nothing keeps growing.
    let rss_converged = rss_mb();
    tokio::time::sleep(Duration::from_secs(secs.clamp(3, 10))).await;
    let rss_idle = rss_mb();
    assert!(
        rss_idle <= rss_converged * 1.25 + 50.0,
        "memory grew while idle: {rss_converged:.0} MB -> {rss_idle:.0} MB"
    );
    let on_hub: BTreeSet<String> = hub.titles().await.into_iter().collect();
    for t in &acknowledged {
        assert!(on_hub.contains(t), "{t} missing on the hub");
    }
    let status = match hub.ok(Request::Status { team: None }).await {
        Reply::Status(s) => s,
        other => panic!("unexpected {other:?}"),
    };
    let connected = status.peers.iter().filter(|p| p.connected).count();
    assert_eq!(connected, PEERS, "every peer still connected to the hub");
    println!(
        "load: {PEERS} peers x {EDITS_PER_SECOND} edits/s for {secs} s: {} edits acknowledged in {:.1} s \
         ({:.0}/s at the hub), 0 failures; converged {:.2} s after the last edit; \
         process RSS {:.0} MB before the load, {:.0} MB when the last edit was acknowledged, \
         {:.0} MB converged, {:.0} MB after idling, peak {:.0} MB ({} nodes in one process)",
        acknowledged.len(),
        editing.as_secs_f64(),
        acknowledged.len() as f64 / editing.as_secs_f64(),
        lag.as_secs_f64(),
        rss_before,
        rss_edited,
        rss_converged,
        rss_idle,
        peak_rss_mb(),
        PEERS + 1
    );
}
