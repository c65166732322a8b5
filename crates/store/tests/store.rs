//! The data directory against torn writes, flipped bytes, truncation, empty files, a
//! second process and compaction — with real files and real fsync.

use peercoach_core::NewRequest;
use std::fs;
use std::path::Path;

use peercoach_core::automerge::AutoCommit;
use peercoach_core::view_cache;
use peercoach_core::{Command, RequestId, SeededEnv, TeamDoc, TeamId, Urgency};
use peercoach_store::{DataDir, StoreError};

struct Fixture {
    dir: tempfile::TempDir,
    team: TeamId,
    env: SeededEnv,
}

fn ask(doc: &mut TeamDoc, env: &mut SeededEnv, title: &str) -> RequestId {
    let applied = doc
        .apply(
            Command::Ask(NewRequest {
                title: title.into(),
                tried: String::new(),
                skills: vec![],
                urgency: Urgency::Normal,
                to: None,
            }),
            env,
        )
        .expect("ask");
    RequestId::try_from(applied.created.expect("id")).expect("a request id")
}

/// Creates a team, compacts after `in_snapshot` requests, then appends `in_log` more.
/// Returns the fixture and the request ids in order.
fn team_with(in_snapshot: usize, in_log: usize) -> (Fixture, Vec<RequestId>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = SeededEnv::new(3, 1_780_000_000_000);
    let data = DataDir::open(dir.path()).expect("open");
    let identity = data.identity_or_create().expect("identity");
    let (mut doc, _) =
        TeamDoc::genesis(identity.actor_hex(), "Team", "Ana", "ep", &mut env).expect("genesis");
    let team = doc.team().id.clone().expect("team id");
    let mut store = data.create_team(&team, doc.automerge()).expect("create");
    let mut ids = Vec::new();
    for i in 0..in_snapshot {
        ids.push(ask(&mut doc, &mut env, &format!("snap {i}")));
        store.append(doc.automerge()).expect("append");
    }
    store.compact(doc.automerge()).expect("compact");
    for i in 0..in_log {
        ids.push(ask(&mut doc, &mut env, &format!("log {i}")));
        store.append(doc.automerge()).expect("append");
    }
    (Fixture { dir, team, env }, ids)
}

fn reload(f: &Fixture) -> (TeamDoc, peercoach_store::LoadReport) {
    let data = DataDir::open(f.dir.path()).expect("open");
    let identity = data.identity().expect("identity").expect("exists");
    let (_store, doc, report) = data.open_team(&f.team).expect("open team");
    (TeamDoc::from_doc(doc, identity.actor_hex()), report)
}

fn team_path(f: &Fixture, file: &str) -> std::path::PathBuf {
    f.dir.path().join("teams").join(f.team.as_str()).join(file)
}

fn present(doc: &TeamDoc, ids: &[RequestId]) -> usize {
    ids.iter()
        .filter(|id| doc.team().requests.contains_key(id))
        .count()
}

#[test]
fn appended_changes_survive_reopening() {
    let (f, ids) = team_with(3, 4);
    let (doc, report) = reload(&f);
    assert_eq!(present(&doc, &ids), 7);
    assert_eq!(report.log_records, 4);
    assert!(report.warnings().is_empty());
    assert_eq!(doc.team().members.len(), 1);
}

#[test]
fn a_torn_tail_is_dropped_at_every_byte_and_everything_before_it_kept() {
    let (f, ids) = team_with(2, 3);
    let log = team_path(&f, "changes.log");
    let full = fs::read(&log).expect("read");
    let before_last = {
        let scan = peercoach_store::scan_log(&full);
        scan.valid_len - (8 + scan.records.last().expect("records").len())
    };
    for cut in before_last + 1..full.len() {
        fs::write(&log, &full[..cut]).expect("write");
        let (doc, report) = reload(&f);
        assert_eq!(present(&doc, &ids), 4, "cut at {cut}");
        assert!(!doc.team().requests.contains_key(&ids[4]));
        assert_eq!(
            report.torn_tail_bytes,
            Some((cut - before_last) as u64),
            "cut at {cut}"
        );
        assert_eq!(
            fs::metadata(&log).expect("meta").len(),
            before_last as u64,
            "truncated"
        );
        // And the next open is clean.
        let (_, report) = reload(&f);
        assert!(report.warnings().is_empty());
    }
}

#[test]
fn a_flipped_byte_in_the_log_keeps_the_damaged_rest_aside() {
    let (f, ids) = team_with(1, 3);
    let log = team_path(&f, "changes.log");
    let mut bytes = fs::read(&log).expect("read");
    let scan = peercoach_store::scan_log(&bytes);
    let second = 8 + 8 + scan.records[0].len();
    bytes[second + 12] ^= 0xff;
    fs::write(&log, &bytes).expect("write");
    let (doc, report) = reload(&f);
    assert_eq!(present(&doc, &ids), 2, "snapshot + the first log record");
    let aside = report.damaged_log_moved_to.clone().expect("kept aside");
    assert_eq!(fs::read(aside).expect("aside"), bytes[second..].to_vec());
    assert!(report.warnings()[0].contains("damaged"));
}

fn damage_snapshot(
    f: &Fixture,
    how: &dyn Fn(&mut Vec<u8>),
) -> (TeamDoc, peercoach_store::LoadReport, Vec<u8>) {
    let snap = team_path(f, "snapshot");
    let mut bytes = fs::read(&snap).expect("read");
    how(&mut bytes);
    fs::write(&snap, &bytes).expect("write");
    let (doc, report) = reload(f);
    (doc, report, bytes)
}

fn assert_moved_aside(f: &Fixture, report: &peercoach_store::LoadReport, damaged: &[u8]) {
    let aside = report.snapshot_moved_to.as_ref().expect("moved aside");
    assert_eq!(
        fs::read(aside).expect("kept"),
        damaged,
        "kept byte for byte"
    );
    assert!(aside.starts_with(f.dir.path()));
    assert!(
        report.warnings()[0].contains("moved to"),
        "{:?}",
        report.warnings()
    );
    // A fresh, readable snapshot replaces it.
    assert!(team_path(f, "snapshot").exists());
}

#[test]
fn a_flipped_byte_in_the_snapshot_is_moved_aside_never_overwritten() {
    let (f, ids) = team_with(0, 0);
    drop(ids);
    // Everything after genesis lives in the log, so it can be recovered from there.
    let data = DataDir::open(f.dir.path()).expect("open");
    let identity = data.identity().expect("id").expect("id");
    let (mut store, am, _) = data.open_team(&f.team).expect("open");
    let mut doc = TeamDoc::from_doc(am, identity.actor_hex());
    let mut env = f.env.clone();
    let id = ask(&mut doc, &mut env, "after the snapshot");
    store.append(doc.automerge()).expect("append");
    drop((store, data));
    let (doc, report, damaged) = damage_snapshot(&f, &|b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x01;
    });
    assert_moved_aside(&f, &report, &damaged);
    assert!(
        report
            .snapshot_problem
            .as_deref()
            .is_some_and(|p| p.contains("checksum"))
    );
    // The log's change depends on genesis, which was only in the snapshot: it is kept
    // (as a change waiting for its dependencies) for when a teammate sends the rest.
    assert!(!doc.team().requests.contains_key(&id));
    let mut am = doc.automerge_ref().clone();
    assert!(
        !am.get_missing_deps(&[]).is_empty(),
        "the orphan change is retained"
    );
}

#[test]
fn truncated_and_empty_snapshots_are_moved_aside() {
    for how in [
        &(|b: &mut Vec<u8>| b.truncate(b.len() / 2)) as &dyn Fn(&mut Vec<u8>),
        &|b: &mut Vec<u8>| b.clear(),
        &|b: &mut Vec<u8>| b.truncate(5),
    ] {
        let (f, _) = team_with(2, 0);
        let (doc, report, damaged) = damage_snapshot(&f, how);
        assert_moved_aside(&f, &report, &damaged);
        assert!(doc.team().id.is_none(), "nothing readable was left locally");
    }
}

#[test]
fn an_empty_log_file_is_a_fresh_log() {
    let (f, ids) = team_with(3, 0);
    fs::write(team_path(&f, "changes.log"), b"").expect("write");
    let (doc, report) = reload(&f);
    assert_eq!(present(&doc, &ids), 3);
    assert!(report.warnings().is_empty());
    assert_eq!(
        fs::read(team_path(&f, "changes.log")).expect("log").len(),
        8,
        "magic rewritten"
    );
}

#[test]
fn a_foreign_log_file_is_kept_aside() {
    let (f, ids) = team_with(2, 0);
    fs::write(team_path(&f, "changes.log"), b"this is not a log").expect("write");
    let (doc, report) = reload(&f);
    assert_eq!(present(&doc, &ids), 2);
    assert!(report.damaged_log_moved_to.is_some());
}

#[test]
fn compaction_keeps_everything_and_empties_the_log() {
    let (f, ids) = team_with(5, 5);
    let data = DataDir::open(f.dir.path()).expect("open");
    let identity = data.identity().expect("id").expect("id");
    let (mut store, mut am, _) = data.open_team(&f.team).expect("open");
    store.compact(&mut am).expect("compact");
    assert_eq!(
        fs::metadata(team_path(&f, "changes.log"))
            .expect("meta")
            .len(),
        8
    );
    drop((store, data));
    let (doc, _) = reload(&f);
    assert_eq!(present(&doc, &ids), 10);
    let _ = identity;
}

#[test]
fn a_second_process_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = DataDir::open(dir.path()).expect("first");
    // File locks are per open file description, so a second open in this process is
    // refused just as another process would be.
    let err = DataDir::open(dir.path()).expect_err("second");
    assert!(matches!(err, StoreError::Locked { pid: Some(p), .. } if p == std::process::id()));
    assert!(err.to_string().contains("another peercoach process"));
}

#[test]
fn the_identity_is_private_and_stable_and_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = {
        let data = DataDir::open(dir.path()).expect("open");
        data.identity_or_create().expect("create")
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("identity"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let data = DataDir::open(dir.path()).expect("open");
    assert_eq!(data.identity_or_create().expect("again"), id);
    drop(data);
    fs::write(dir.path().join("identity"), b"junk").expect("write");
    let data = DataDir::open(dir.path()).expect("open");
    let err = data.identity_or_create().expect_err("damaged");
    assert!(matches!(err, StoreError::IdentityDamaged { .. }));
    assert_eq!(
        fs::read(dir.path().join("identity")).expect("kept"),
        b"junk"
    );
}

#[test]
fn settings_round_trip_and_survive_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("open");
    let mut s = data.settings();
    assert_eq!(s, peercoach_store::Settings::default());
    s.last_team = Some("x".into());
    s.network.mode = peercoach_store::NetworkMode::TeamRelay;
    s.network.relays = vec![
        peercoach_store::DeviceRelay {
            url: "https://relay.example.org/".into(),
            token: Some("t0ken".into()),
        },
        peercoach_store::DeviceRelay {
            url: "https://spare.example.org/".into(),
            token: None,
        },
    ];
    data.save_settings(&s).expect("save");
    assert_eq!(data.settings(), s);
    // An app older than the list reads its first relay.
    let written: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("settings.json")).expect("read"))
            .expect("json");
    assert_eq!(
        written["network"]["relay_url"],
        "https://relay.example.org/"
    );
    assert_eq!(written["network"]["relay_token"], "t0ken");
    // And what it wrote reads as a list of one.
    let old = r#"{"network":{"mode":"anywhere","relay_url":"https://old.example.org/","relay_token":"x","port":0}}"#;
    fs::write(dir.path().join("settings.json"), old).expect("write");
    assert_eq!(
        data.settings().network.relays,
        vec![peercoach_store::DeviceRelay {
            url: "https://old.example.org/".into(),
            token: Some("x".into()),
        }]
    );
    data.save_settings(&s).expect("save");
    fs::write(dir.path().join("settings.json"), b"{not json").expect("write");
    assert_eq!(data.settings(), peercoach_store::Settings::default());
}

#[test]
fn settings_written_before_modes_get_the_defaults_that_work_behind_a_nat() {
    use peercoach_store::NetworkMode;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("open");
    // What every earlier version wrote when it saved its port: all switches off.
    let old = r#"{"network":{"loopback_only":false,"lan_discovery":false,"relays":false,
        "relay_url":null,"port_mapping":false,"port":40123}}"#;
    fs::write(dir.path().join("settings.json"), old).expect("write");
    let n = data.settings().network;
    assert_eq!(n.mode, NetworkMode::Anywhere);
    assert_eq!(n.port, 40123);
    let old = r#"{"network":{"loopback_only":true,"relays":false,"port":0}}"#;
    fs::write(dir.path().join("settings.json"), old).expect("write");
    assert_eq!(
        data.settings().network.mode,
        NetworkMode::Loopback,
        "a loopback-only choice is kept"
    );
    // Settings once held the theme (now the window's own state): a file that has it
    // still reads, with everything else kept.
    let old = r#"{"last_team":"Platform","theme":"light","network":{"mode":"local","port":7}}"#;
    fs::write(dir.path().join("settings.json"), old).expect("write");
    let s = data.settings();
    assert_eq!(s.last_team.as_deref(), Some("Platform"));
    assert_eq!((s.network.mode, s.network.port), (NetworkMode::Local, 7));
}

#[test]
fn unknown_teams_are_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("open");
    let id = TeamId::parse("11111111-1111-4111-8111-111111111111").expect("id");
    assert!(matches!(
        data.open_team(&id),
        Err(StoreError::NoSuchTeam { .. })
    ));
    assert!(data.team_ids().expect("ids").is_empty());
    let _ = AutoCommit::new();
    let _ = Path::new("");
}

#[test]
fn appending_given_changes_writes_them_and_a_short_list_saves_everything_anyway() {
    let (mut f, mut ids) = team_with(2, 0);
    let data = DataDir::open(f.dir.path()).expect("open");
    let identity = data.identity().expect("identity").expect("exists");
    let (mut store, doc, _) = data.open_team(&f.team).expect("open team");
    let mut doc = TeamDoc::from_doc(doc, identity.actor_hex());
    // Two new changes, and a list that names only the second: it does not account for
    // the first, so everything new is saved the long way.
    let before = doc.heads();
    ids.push(ask(&mut doc, &mut f.env, "first"));
    ids.push(ask(&mut doc, &mut f.env, "second"));
    let new = doc.automerge().get_changes(&before);
    assert_eq!(new.len(), 2);
    store
        .append_changes(doc.automerge(), &new[1..])
        .expect("append");
    // Two more, listed whole: written as given.
    let before = doc.heads();
    ids.push(ask(&mut doc, &mut f.env, "third"));
    ids.push(ask(&mut doc, &mut f.env, "fourth"));
    let new = doc.automerge().get_changes(&before);
    store.append_changes(doc.automerge(), &new).expect("append");
    // Nothing new: nothing written.
    store.append_changes(doc.automerge(), &new).expect("append");
    drop(store);
    drop(data);
    let (doc, report) = reload(&f);
    assert_eq!(present(&doc, &ids), 6, "every change, either way");
    assert_eq!(report.log_records, 2, "one record per append that had news");
    assert!(report.warnings().is_empty());
}

#[test]
fn a_saved_view_stands_only_for_the_files_it_was_made_from() {
    let (mut f, _) = team_with(3, 2);
    let data = DataDir::open(f.dir.path()).expect("open");
    let identity = data.identity().expect("identity").expect("exists");
    let (mut store, am, _) = data.open_team(&f.team).expect("open team");
    let mut doc = TeamDoc::from_doc(am, identity.actor_hex());
    assert!(data.read_view(&f.team).is_none(), "no view saved yet");

    // A model with a change the files do not hold yet is not saved.
    ask(&mut doc, &mut f.env, "unsaved");
    assert!(
        !store
            .write_view(doc.model_heads(), || doc.view_bytes())
            .expect("write")
    );
    store.append(doc.automerge()).expect("append");
    assert!(
        store
            .write_view(doc.model_heads(), || doc.view_bytes())
            .expect("write")
    );
    assert!(store.view_is_current());
    let bytes = data.read_view(&f.team).expect("a current view");
    let view = view_cache::decode(&bytes).expect("decode");
    assert_eq!(*view.team, *doc.team());
    assert_eq!(view.heads, doc.heads());

    // The log grows: the view no longer stands for the files.
    ask(&mut doc, &mut f.env, "one more");
    store.append(doc.automerge()).expect("append");
    assert!(!store.view_is_current());
    assert!(data.read_view(&f.team).is_none());

    // A compaction rewrites the files (same document): saved again, then compacted.
    let save = |store: &mut peercoach_store::TeamStore, doc: &TeamDoc| {
        assert!(
            store
                .write_view(doc.model_heads(), || doc.view_bytes())
                .expect("write")
        );
    };
    save(&mut store, &doc);
    store.compact(doc.automerge()).expect("compact");
    assert!(data.read_view(&f.team).is_none());

    // A damaged or cut view file is not used.
    save(&mut store, &doc);
    let path = team_path(&f, "view");
    let whole = fs::read(&path).expect("view file");
    let mut flipped = whole.clone();
    let at = whole.len() - 10;
    flipped[at] ^= 0x20;
    fs::write(&path, &flipped).expect("flip");
    assert!(data.read_view(&f.team).is_none());
    fs::write(&path, &whole[..whole.len() / 2]).expect("cut");
    assert!(data.read_view(&f.team).is_none());
    fs::write(&path, &whole).expect("restore");
    assert!(data.read_view(&f.team).is_some());
}

#[cfg(unix)]
#[test]
fn a_data_dir_is_made_readable_by_its_user_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("peercoach");
    fs::create_dir(&path).expect("mkdir");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    let _data = DataDir::open(&path).expect("open");
    let mode = fs::metadata(&path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "keys, secrets and notes live here");
}
