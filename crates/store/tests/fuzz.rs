//! The store loader against random and mutated bytes: it never panics, never loses an
//! intact record before the damage, and never writes over what it could not read.
//! (Property tests; `PROPTEST_CASES` raises the count for long runs.)

use peercoach_core::NewRequest;
use std::fs;

use peercoach_core::{Command, RequestId, SeededEnv, TeamDoc, Urgency};
use peercoach_store::{DataDir, decode_snapshot, scan_log};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn scanning_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let scan = scan_log(&bytes);
        prop_assert!(scan.valid_len <= bytes.len());
        let _ = decode_snapshot(&bytes);
    }

    #[test]
    fn a_log_with_magic_and_garbage_keeps_its_intact_prefix(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..64), 0..6),
        garbage in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = b"PCLOG\x00\x01\n".to_vec();
        for p in &payloads {
            bytes.extend(peercoach_store::encode_record(p));
        }
        let intact = bytes.len();
        bytes.extend(&garbage);
        let scan = scan_log(&bytes);
        prop_assert!(scan.records.len() >= payloads.len());
        for (got, want) in scan.records.iter().zip(&payloads) {
            prop_assert_eq!(*got, &want[..]);
        }
        prop_assert!(scan.valid_len >= intact);
    }
}

fn team_dir() -> (tempfile::TempDir, peercoach_core::TeamId, Vec<RequestId>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = DataDir::open(dir.path()).expect("open");
    let identity = data.identity_or_create().expect("identity");
    let mut env = SeededEnv::new(5, 1_780_000_000_000);
    let (mut doc, _) =
        TeamDoc::genesis(identity.actor_hex(), "Fuzz", "Ana", "ep", &mut env).expect("genesis");
    let team = doc.team().id.clone().expect("id");
    let mut store = data.create_team(&team, doc.automerge()).expect("create");
    let mut ids = Vec::new();
    for i in 0..6 {
        let applied = doc
            .apply(
                Command::Ask(NewRequest {
                    title: format!("r{i}"),
                    tried: String::new(),
                    skills: vec![],
                    urgency: Urgency::Low,
                    to: None,
                }),
                &mut env,
            )
            .expect("ask");
        ids.push(RequestId::try_from(applied.created.expect("id")).expect("a request id"));
        store.append(doc.automerge()).expect("append");
        if i == 2 {
            store.compact(doc.automerge()).expect("compact");
        }
    }
    (dir, team, ids)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Mutate real files (flip, truncate, overwrite, append) and open: no panic, a clear
    /// report, and the damaged originals kept somewhere in the team dir.
    #[test]
    fn opening_mutated_team_files_never_panics_or_destroys(
        which in 0usize..2,
        at in any::<prop::sample::Index>(),
        op in 0u8..4,
        byte in any::<u8>(),
    ) {
        let (dir, team, ids) = team_dir();
        let team_path = dir.path().join("teams").join(team.as_str());
        let file = team_path.join(if which == 0 { "snapshot" } else { "changes.log" });
        let mut bytes = fs::read(&file).expect("read");
        let i = at.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
        match op {
            0 if !bytes.is_empty() => bytes[i] ^= byte | 1,
            1 => bytes.truncate(i),
            2 => bytes.extend(std::iter::repeat_n(byte, i % 97)),
            _ => bytes = vec![byte; i % 64],
        }
        fs::write(&file, &bytes).expect("write");
        let data = DataDir::open(dir.path()).expect("open");
        let identity = data.identity().expect("identity").expect("exists");
        let (_store, doc, report) = data.open_team(&team).expect("a damaged team still opens");
        let doc = TeamDoc::from_doc(doc, identity.actor_hex());
        // Whatever is readable is there; the rest is reported and kept aside.
        let present = ids.iter().filter(|id| doc.team().requests.contains_key(id)).count();
        // (A file emptied from outside, or a log cut exactly between two records, looks
        // exactly like a log written just before a crash: nothing to detect there.)
        let cut_between_records =
            which == 1 && op == 1 && scan_log(&bytes).valid_len == bytes.len();
        if report.warnings().is_empty() && !bytes.is_empty() && !cut_between_records {
            prop_assert_eq!(present, ids.len(), "a clean load has everything");
        }
        if let Some(aside) = &report.snapshot_moved_to {
            prop_assert_eq!(fs::read(aside).expect("kept"), bytes.clone());
        }
    }
}
