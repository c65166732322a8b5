//! `rules`: what the trust checks add to taking in a peer's changes, side by side in one
//! run on the big history. Every change a node takes from a peer is checked twice before
//! it is applied: its device's signature (ed25519), and what it does to the document
//! (`screen::Rules`: no deletes, nothing written over the document's shape, a whole
//! record or another member's own entry). Both are timed over every change of the
//! history, beside applying the same changes to a fresh document in batches of 500 (a
//! catch-up's pace).

use std::time::Instant;

use anyhow::{Result, bail};
use peercoach_core::Team;
use peercoach_core::automerge::AutoCommit;
use peercoach_node::Engine;
use peercoach_node::sync::screen;
use peercoach_node::sync::signed::ChangeSig;
use serde_json::json;

use crate::{Figure, History, ms, round};

/// Changes per apply call, as a catch-up's sync messages bring them.
const BATCH: usize = 500;

pub fn rules(history: &History) -> Result<Vec<Figure>> {
    let mut engine = Engine::open(&history.dir)?;
    let key = iroh::SecretKey::from_bytes(&engine.identity().secret_key);
    let device = peercoach_net::DeviceId::from(key.public());
    let doc = engine.team(None)?.doc.automerge().clone();
    drop(engine);
    let mut full = doc;
    let changes = full.get_changes(&[]);
    let team = Team::read(&full);
    let n = changes.len();

    let t = Instant::now();
    let mut fresh = AutoCommit::new();
    for batch in changes.chunks(BATCH) {
        fresh.apply_changes(batch.to_vec())?;
    }
    let apply_ms = ms(t.elapsed());
    if fresh.get_heads() != full.get_heads() {
        bail!("the changes applied to a fresh document do not make the history");
    }

    let sigs: Vec<ChangeSig> = changes
        .iter()
        .map(|c| ChangeSig::sign(&key, c.hash()))
        .collect();
    let t = Instant::now();
    let verified = sigs.iter().filter(|s| s.verify(&device)).count();
    let verify_ms = ms(t.elapsed());
    if verified != n {
        bail!("{} of {n} signatures did not verify", n - verified);
    }

    // As a catch-up takes them: the rules made once per batch.
    let t = Instant::now();
    let mut refused = 0;
    for batch in changes.chunks(BATCH) {
        let mut rules = screen::Rules::of(&full, &team);
        refused += batch.iter().filter(|c| rules.check(c).is_err()).count();
    }
    let guard_ms = ms(t.elapsed());
    if refused != 0 {
        bail!("{refused} of the history's own changes break the rules");
    }

    let per = |total: f64| round(total * 1000.0 / n as f64);
    let extra = json!({
        "changes": n,
        "apply_ms": round(apply_ms),
        "apply_us_per_change": per(apply_ms),
        "verify_ms": round(verify_ms),
        "verify_us_per_change": per(verify_ms),
        "guard_ms": round(guard_ms),
        "guard_us_per_change": per(guard_ms),
    });
    Ok(vec![
        Figure::new("rules-guard", guard_ms, "ms")
            .ratio(guard_ms / apply_ms)
            .extra(extra.clone()),
        Figure::new("rules-verify", verify_ms, "ms")
            .ratio(verify_ms / apply_ms)
            .extra(extra),
    ])
}
