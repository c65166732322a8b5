//! Opening a data dir: the read model saved when a node stops lets the next start show
//! the team before its document has loaded, and a saved model never stands in for files
//! that changed since (BENCHMARKS.md "Open").

use peercoach_core::NewRequest;
use std::time::Duration;

use peercoach_node::api::Request;
use peercoach_node::{Engine, Node, NodeOptions};

use crate::util::{TestNode, eventually};

fn ask(title: &str) -> Request {
    Request::Apply {
        team: None,
        command: peercoach_core::Command::Ask(NewRequest {
            title: title.into(),
            tried: String::new(),
            skills: vec![],
            urgency: peercoach_core::Urgency::Normal,
            to: None,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_leaves_a_view_for_the_next_start_and_never_a_stale_one() {
    let mut n = TestNode::start().await;
    n.create_team("Ana").await;
    for i in 0..3 {
        n.ask(&format!("question {i}")).await;
    }
    n.stop().await;
    let dir = n.dir.path().to_owned();

    // The view saved on stopping is the model the document gives.
    let mut engine = Engine::open(&dir).expect("engine");
    let previews = engine.preview_all();
    assert_eq!(previews.len(), 1, "the team's view was saved");
    let view = previews[0].1.team.clone();
    assert_eq!(view.requests.len(), 3);
    engine.open_all().expect("open");
    assert_eq!(*view, *engine.team(None).expect("team").doc.team());

    // An edit with no node running (the CLI's path): the CLI writes no view, so the
    // saved one is stale, and it is not offered; the model is read from the document.
    let view_file = std::fs::read_dir(dir.join("teams"))
        .expect("teams")
        .next()
        .expect("a team")
        .expect("entry")
        .path()
        .join("view");
    let saved = std::fs::read(&view_file).expect("view saved on stopping");
    engine.handle(ask("asked offline")).expect("ask");
    drop(engine);
    let mut engine = Engine::open(&dir).expect("engine");
    assert!(
        engine.preview_all().is_empty(),
        "a view of older files was offered"
    );
    engine.open_all().expect("open");
    let team = engine.team(None).expect("team").doc.team().clone();
    assert_eq!(team.requests.len(), 4);
    drop(engine);
    assert_eq!(std::fs::read(&view_file).expect("view"), saved);

    // The app's node publishes the team and, having found the view stale, saves it anew
    // once the team is open; stopping without a change leaves that view as it is.
    let options = NodeOptions {
        loopback_only: true,
        control_socket: false,
        watch_snapshots: true,
        ..NodeOptions::new(dir.clone())
    };
    let node = Node::start(options).await.expect("node");
    let handle = node.handle();
    assert!(
        eventually(Duration::from_secs(20), || {
            let handle = handle.clone();
            let view_file = view_file.clone();
            let saved = saved.clone();
            async move {
                handle.is_open()
                    && handle
                        .snapshots()
                        .iter()
                        .any(|s| !s.loading && s.team.requests.len() == 4)
                    && std::fs::read(&view_file).is_ok_and(|now| now != saved)
            }
        })
        .await,
        "the node published the open team and saved its view"
    );
    let fresh = std::fs::read(&view_file).expect("view");
    node.shutdown().await;
    assert_eq!(std::fs::read(&view_file).expect("view"), fresh);
    let mut engine = Engine::open(&dir).expect("engine");
    assert_eq!(*engine.preview_all()[0].1.team, team);
}
