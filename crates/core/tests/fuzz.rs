//! Bad input against a live document: random and mutated sync messages, and JSON
//! imports. Nothing panics; rejected input leaves the document as it was.

use automerge::sync::{self, SyncDoc};
use peercoach_core::NewRequest;
use peercoach_core::export::{self, parse_export};
use peercoach_core::testing::TeamFixture;
use peercoach_core::{Command, Urgency, automerge};
use proptest::prelude::*;

fn fixture() -> TeamFixture {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    for i in 0..3 {
        f.apply(
            0,
            Command::Ask(NewRequest {
                title: format!("r{i}"),
                tried: String::new(),
                skills: vec![],
                urgency: Urgency::Low,
                to: None,
            }),
        )
        .expect("ask");
    }
    f
}

/// A genuine sync message from a replica with changes the other lacks.
fn real_message(f: &mut TeamFixture) -> Vec<u8> {
    let mut state = sync::State::new();
    f.replicas[0]
        .doc
        .automerge()
        .sync()
        .generate_sync_message(&mut state)
        .expect("message")
        .encode()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_as_a_sync_message_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut f = fixture();
        let before = f.replicas[1].doc.heads();
        let mut state = sync::State::new();
        if let Ok(m) = sync::Message::decode(&bytes) {
            let _ = f.replicas[1].doc.automerge().sync().receive_sync_message(&mut state, m);
        }
        f.replicas[1].doc.refresh_after_merge();
        // Random bytes never carry a valid change of this team.
        prop_assert_eq!(f.replicas[1].doc.heads(), before);
    }

    #[test]
    fn mutated_sync_messages_never_panic_or_corrupt(i in any::<prop::sample::Index>(), flip in 1u8..=255, cut in any::<bool>()) {
        let mut f = fixture();
        let mut bytes = real_message(&mut f);
        let at = i.index(bytes.len());
        if cut { bytes.truncate(at) } else { bytes[at] ^= flip }
        let mut state = sync::State::new();
        let target = &mut f.replicas[1].doc;
        if let Ok(m) = sync::Message::decode(&bytes) {
            let _ = target.automerge().sync().receive_sync_message(&mut state, m);
        }
        target.refresh_after_merge();
        // Whatever was accepted is a consistent document the model can read in full.
        let full = peercoach_core::Team::read(target.automerge_ref());
        prop_assert_eq!(&full, target.team());
    }

    #[test]
    fn random_json_imports_are_refused_cleanly(s in ".{0,400}") {
        let _ = parse_export(s.as_bytes());
    }

    #[test]
    fn mutated_json_imports_never_panic_and_refusals_write_nothing(i in any::<prop::sample::Index>(), c in any::<char>()) {
        let mut f = fixture();
        let me = f.id(0);
        let json = serde_json::to_string(&export::to_export(f.replicas[0].doc.team(), Some(&me))).expect("json");
        let mut chars: Vec<char> = json.chars().collect();
        let at = i.index(chars.len());
        chars[at] = c;
        let mutated: String = chars.into_iter().collect();
        let before = f.replicas[0].doc.heads();
        if let Ok(parsed) = parse_export(mutated.as_bytes()) {
            let env = &mut f.env;
            match f.replicas[0].doc.import_json(&parsed, env) {
                Ok(_) => {}
                Err(_) => prop_assert_eq!(f.replicas[0].doc.heads(), before, "a refused import writes nothing"),
            }
        }
        let _ = automerge::AutoCommit::new();
    }
}
