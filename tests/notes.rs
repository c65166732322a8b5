//! Private notes: synced between a person's own devices, never to a teammate — checked on
//! the wire, on disk and in what each node answers.

use std::time::Duration;

use peercoach_node::api::{ExportFormat, Query, Reply, Request, unb64};
use tokio::sync::mpsc;

use crate::util::{TestNode, eventually, init_tracing};

const SOON: Duration = Duration::from_secs(30);

/// Short enough that Automerge keeps it uncompressed in a change, so that a frame that
/// carries the note carries these very bytes.
const SECRET: &str = "NOTE-7f3a: I froze when Bo asked";

async fn notes(node: &TestNode) -> Vec<String> {
    match node
        .ok(Request::Query {
            team: None,
            query: Query::Notes,
        })
        .await
    {
        Reply::Notes { notes } => notes.into_iter().map(|n| n.text).collect(),
        other => panic!("unexpected {other:?}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under a directory, with its bytes.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
}

async fn export(node: &TestNode, private_notes: bool) -> String {
    match node
        .ok(Request::Export {
            team: None,
            format: ExportFormat::Json,
            table: None,
            private_notes,
        })
        .await
    {
        Reply::Exported { bytes_b64 } => {
            String::from_utf8(unb64(&bytes_b64).expect("base64")).expect("utf-8")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_notes_reach_my_other_device_and_never_a_teammate() {
    init_tracing();
    // Ana's laptop makes the team; her phone is linked as her device; Bo joins as a
    // teammate. All three stay online and sync the team.
    let laptop = TestNode::start().await;
    laptop.create_team("Ana").await;
    // Watch everything the three nodes receive, from before the others join.
    let (laptop_tap, mut laptop_wire) = mpsc::unbounded_channel();
    laptop.node().net().tap(Some(laptop_tap));
    let phone = TestNode::start().await;
    let (phone_tap, mut phone_wire) = mpsc::unbounded_channel();
    phone.node().net().tap(Some(phone_tap));
    let bo = TestNode::start().await;
    let (bo_tap, mut bo_wire) = mpsc::unbounded_channel();
    bo.node().net().tap(Some(bo_tap));
    let link = laptop.device_invite().await;
    phone
        .join(&link, "phone")
        .await
        .expect("the phone is linked");
    bo.join(&laptop.invite().await, "Bo")
        .await
        .expect("Bo joins");

    // A team edit reaches everyone: the three are connected and syncing.
    laptop.ask("Team edit: everyone sees this").await;
    for node in [&phone, &bo] {
        assert!(
            eventually(SOON, || async {
                node.titles()
                    .await
                    .contains(&"Team edit: everyone sees this".to_string())
            })
            .await,
            "the team syncs"
        );
    }

    let created = laptop
        .ok(Request::AddNote {
            team: None,
            text: SECRET.into(),
            on_session: None,
            on_request: None,
        })
        .await;
    assert!(matches!(
        created,
        Reply::Done {
            created: Some(_),
            ..
        }
    ));
    assert!(
        eventually(SOON, || async { notes(&phone).await == [SECRET] }).await,
        "my own second device receives the note"
    );
    // And a later team edit still reaches Bo, so Bo was connected all along.
    laptop.ask("Team edit after the note").await;
    assert!(
        eventually(SOON, || async {
            bo.titles()
                .await
                .contains(&"Team edit after the note".to_string())
        })
        .await
    );

    // On the wire: the phone got the note's bytes, and a stream for Ana's notes was
    // opened between laptop and phone (its hello names the document, in whichever
    // direction it was dialled): the taps see both. Bo got neither, and no stream for
    // Ana's notes was opened to or from Bo.
    let notes_id = peercoach_core::notes::notes_doc_id(
        &peercoach_core::TeamId::parse(&laptop.team_id().await).expect("team id"),
        &peercoach_core::MemberId::parse(
            laptop.export_json().await["members"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["name"] == "Ana"))
                .and_then(|m| m["id"].as_str())
                .expect("Ana's member id"),
        )
        .expect("member id"),
    );
    let names_notes = |bytes: &[u8]| contains(bytes, notes_id.as_str().as_bytes());
    let (mut phone_saw, mut notes_stream) = (false, false);
    while let Ok(frame) = phone_wire.try_recv() {
        phone_saw |= contains(&frame.bytes, SECRET.as_bytes());
        notes_stream |= names_notes(&frame.bytes);
    }
    let bo_id = bo.endpoint_id();
    while let Ok(frame) = laptop_wire.try_recv() {
        let named = names_notes(&frame.bytes);
        assert!(
            !(named && frame.peer == bo_id),
            "Bo opened a stream for Ana's notes"
        );
        notes_stream |= named;
    }
    assert!(phone_saw, "the note crossed the wire to Ana's phone");
    assert!(
        notes_stream,
        "a stream for Ana's notes ran between her laptop and phone"
    );
    let mut bo_frames = 0;
    while let Ok(frame) = bo_wire.try_recv() {
        bo_frames += 1;
        assert!(
            !contains(&frame.bytes, SECRET.as_bytes()),
            "a frame to Bo carried the private note"
        );
        assert!(
            !names_notes(&frame.bytes),
            "a frame to Bo named Ana's notes document"
        );
    }
    assert!(bo_frames > 0, "Bo received the team's frames meanwhile");

    // On disk: nothing of it on Bo's device.
    for (path, bytes) in files(bo.dir.path()) {
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "{} holds the private note",
            path.display()
        );
    }
    assert!(
        phone
            .dir
            .path()
            .join("notes")
            .join(notes_id.as_str())
            .is_dir(),
        "Ana's phone keeps her notes where the store lays them out"
    );
    assert!(
        !bo.dir.path().join("notes").join(notes_id.as_str()).exists(),
        "Bo holds no copy of Ana's notes"
    );
    // Bo has notes of his own, and they are empty.
    assert!(notes(&bo).await.is_empty());

    // Export: the note only when asked for.
    assert!(!export(&laptop, false).await.contains(SECRET));
    let with = export(&laptop, true).await;
    assert!(
        with.contains("private_notes") && with.contains(SECRET),
        "{with}"
    );
}
