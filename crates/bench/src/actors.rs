//! `actors`: what session actors cost a team over the years. Each new session that
//! writes adds one actor (the device key and 8 random bytes) to the document, and one
//! entry (96 bytes) to the signatures a join hands over. A device takes a new session
//! when it boots again or its data dir is copied (restarts in one boot keep theirs), so
//! the steps below stand for a team's boots and copies, not its starts. Measured
//! on the big history, side by side in one run: the same number of new changes written
//! by one actor (as before session actors) and by one session each.

use std::time::Instant;

use anyhow::{Result, bail};
use peercoach_core::automerge::AutoCommit;
use peercoach_core::{Team, TeamDoc};
use peercoach_node::Engine;
use peercoach_node::sync::signed::{ChangeSig, Signatures};
use serde_json::json;

use crate::{Figure, History, ask, ms, round};

/// Sessions that wrote, per step: a team of 8 devices each booting twice a working day
/// writes about 4,000 in a year (one that suspends instead, far fewer).
const SESSIONS: [usize; 2] = [1_000, 4_000];

pub fn actors(history: &History) -> Result<Vec<Figure>> {
    let mut engine = Engine::open(&history.dir)?;
    let identity = engine.identity().clone();
    let base = engine.team(None)?.doc.automerge().save();
    drop(engine);
    let key = iroh::SecretKey::from_bytes(&identity.secret_key);
    let device = *key.public().as_bytes();
    let mut figures = Vec::new();
    for sessions in SESSIONS {
        // The same edits, one change each: by one actor, and by one session each.
        let mut one = TeamDoc::from_doc(AutoCommit::load(&base)?, identity.actor_hex());
        let mut many = TeamDoc::from_doc(AutoCommit::load(&base)?, identity.actor_hex());
        let mut env = peercoach_core::SeededEnv::new(
            3,
            peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv),
        );
        let mut sigs = Signatures::default();
        for i in 0..sessions {
            one.apply(ask(format!("edit {i}")), &mut env)?;
            let mut nonce = [0u8; 8];
            nonce.copy_from_slice(&(i as u64).to_le_bytes());
            let session = peercoach_core::session_actor(&device, nonce);
            many.write_as_session(session.clone());
            many.apply(ask(format!("edit {i}")), &mut env)?;
            let Some(change) = many.automerge().get_last_local_change() else {
                bail!("no change written");
            };
            if change.actor_id() != &session {
                bail!("the history's device does not write with its session actors");
            }
            let change = change.clone();
            sigs.record(&change, ChangeSig::sign(&key, change.hash()));
        }
        let one_bytes = one.automerge().save();
        let many_bytes = many.automerge().save();
        let open = |bytes: &[u8]| -> Result<f64> {
            // Load and read the whole model: a start without a saved view.
            let mut best = f64::MAX;
            for _ in 0..3 {
                let t = Instant::now();
                let doc = AutoCommit::load(bytes)?;
                let team = Team::read(&doc);
                std::hint::black_box(team.requests.len());
                best = best.min(ms(t.elapsed()));
            }
            Ok(best)
        };
        let (one_ms, many_ms) = (open(&one_bytes)?, open(&many_bytes)?);
        let tips = sigs.encode_tips().len();
        // The join reply carries the document and the tips, hex-encoded in JSON.
        let join = many_bytes.len() + 2 * tips;
        let extra = json!({
            "sessions": sessions,
            "one_actor_save_bytes": one_bytes.len(),
            "sessions_save_bytes": many_bytes.len(),
            "one_actor_open_ms": round(one_ms),
            "sessions_open_ms": round(many_ms),
            "signature_tips_bytes": tips,
            "join_reply_bytes": join,
            "history_changes": history.changes,
        });
        figures.push(
            Figure::new(
                &format!("actors-{sessions}-save-bytes"),
                many_bytes.len() as f64,
                "bytes",
            )
            .ratio(many_bytes.len() as f64 / one_bytes.len() as f64)
            .extra(extra.clone()),
        );
        figures.push(
            Figure::new(&format!("actors-{sessions}-open"), many_ms, "ms")
                .ratio(many_ms / one_ms)
                .extra(extra.clone()),
        );
        figures.push(
            Figure::new(
                &format!("actors-{sessions}-join-bytes"),
                join as f64,
                "bytes",
            )
            .ratio(join as f64 / many_bytes.len() as f64)
            .extra(extra),
        );
    }
    Ok(figures)
}
