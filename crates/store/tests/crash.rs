//! Crash test: a child process appends edits and prints each id once its change is
//! fsynced; the parent SIGKILLs it at a random moment, reloads, and checks that every
//! acknowledged id is there. The child also compacts now and then, so kills land inside
//! compaction too. Runs as its own harness: `main` is either the parent or the child.

use peercoach_core::NewRequest;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use peercoach_core::{Command, RequestId, SystemEnv, TeamDoc, TeamId, Urgency};
use peercoach_store::DataDir;
use rand::{RngExt, SeedableRng};

const CHILD_ENV: &str = "PEERCOACH_CRASH_CHILD";
/// Rounds per team: a fresh one after this many.
const GENERATION: usize = 25;

fn main() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let rounds: usize = std::env::var("PEERCOACH_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    parent(rounds);
}

fn child(dir: &Path) {
    let data = DataDir::open(dir).expect("open");
    let identity = data.identity().expect("identity").expect("exists");
    let team = data.team_ids().expect("teams")[0].clone();
    let (mut store, doc, _) = data.open_team(&team).expect("open team");
    let mut doc = TeamDoc::from_doc(doc, identity.actor_hex());
    let mut out = std::io::stdout().lock();
    // Opened: from here on a kill lands in the work, not in the start-up.
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("flush");
    for i in 0u64.. {
        let applied = doc
            .apply(
                Command::Ask(NewRequest {
                    title: format!("crash test {i}"),
                    tried: "x".repeat((i % 500) as usize),
                    skills: vec!["durability".into()],
                    urgency: Urgency::Normal,
                    to: None,
                }),
                &mut SystemEnv,
            )
            .expect("ask");
        store.append(doc.automerge()).expect("append");
        // Acknowledged: the change is on disk.
        writeln!(out, "{}", applied.created.expect("id")).expect("stdout");
        out.flush().expect("flush");
        if i % 37 == 36 {
            store.compact(doc.automerge()).expect("compact");
        }
    }
}

fn parent(rounds: usize) {
    let seed: u64 = std::env::var("PEERCOACH_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test: {rounds} rounds, seed {seed} (PEERCOACH_CRASH_SEED={seed} replays)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut dir = tempfile::tempdir().expect("tempdir");
    let mut team = fresh_team(dir.path());
    let exe = std::env::current_exe().expect("exe");
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut all_acknowledged = 0;
    let mut total_killed_mid_run = 0;
    let mut rounds_with_edits = 0;
    for round in 0..rounds {
        if round > 0 && round % GENERATION == 0 {
            // A fresh team now and then, so that the document (and the child's start-up)
            // stays small however many rounds run.
            all_acknowledged += acknowledged.len();
            acknowledged.clear();
            dir = tempfile::tempdir().expect("tempdir");
            team = fresh_team(dir.path());
        }
        let mut child = Process::new(&exe)
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut ids = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line == "ready" {
                    let _ = ready_tx.send(());
                }
                // Only whole lines are acknowledgements.
                if RequestId::parse(&line).is_ok() {
                    ids.push(line);
                }
            }
            ids
        });
        let _ = ready_rx.recv_timeout(Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(rng.random_range(5..300)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        if status.code().is_none() {
            total_killed_mid_run += 1;
        }
        let ids = reader.join().expect("reader");
        rounds_with_edits += usize::from(!ids.is_empty());
        acknowledged.extend(ids.iter().cloned());

        let data = DataDir::open(dir.path()).expect("reopen after kill");
        let identity = data.identity().expect("identity").expect("exists");
        let (_store, doc, report) = data.open_team(&team).expect("store loads after kill");
        let doc = TeamDoc::from_doc(doc, identity.actor_hex());
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|id| {
                !doc.team()
                    .requests
                    .contains_key(&RequestId::parse(id).expect("id"))
            })
            .collect();
        assert!(
            lost.is_empty(),
            "round {round} (seed {seed}): {} acknowledged ids lost, e.g. {:?}; load report {report:?}",
            lost.len(),
            lost.first()
        );
        assert!(
            report.snapshot_moved_to.is_none() && report.damaged_log_moved_to.is_none(),
            "round {round}: a crash must only ever tear the tail: {report:?}"
        );
        println!(
            "round {round}: {} acknowledged this round, {} in total, all present{}",
            ids.len(),
            acknowledged.len(),
            report
                .torn_tail_bytes
                .map(|b| format!(" (torn tail of {b} bytes dropped)"))
                .unwrap_or_default()
        );
    }
    assert!(
        total_killed_mid_run == rounds,
        "every child was killed by SIGKILL"
    );
    assert!(
        rounds_with_edits * 2 > rounds,
        "most kills land while edits are being acknowledged ({rounds_with_edits} of {rounds})"
    );
    println!(
        "crash test passed: {rounds} kills ({rounds_with_edits} mid-work), {} acknowledged edits, none lost",
        all_acknowledged + acknowledged.len()
    );
}

/// A data dir with an identity and one new team.
fn fresh_team(dir: &Path) -> TeamId {
    let data = DataDir::open(dir).expect("open");
    let identity = data.identity_or_create().expect("identity");
    let (mut doc, _) = TeamDoc::genesis(identity.actor_hex(), "Crash", "Ana", "ep", &mut SystemEnv)
        .expect("genesis");
    let id = doc.team().id.clone().expect("id");
    data.create_team(&id, doc.automerge()).expect("create");
    id
}
