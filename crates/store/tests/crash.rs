//! Crash test: a child process appends edits and prints each id once its change is
//! fsynced; the parent SIGKILLs it at a random moment, reloads, and checks that every
//! acknowledged id is there. The child also compacts now and then, so kills land inside
//! compaction too. Runs as its own harness: `main` is either the parent or the child.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use peercoach_core::{Command, RequestId, SystemEnv, TeamDoc, TeamId, Urgency};
use peercoach_store::DataDir;
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "PEERCOACH_CRASH_CHILD";

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
    for i in 0u64.. {
        let applied = doc
            .apply(
                Command::Ask {
                    title: format!("crash test {i}"),
                    tried: "x".repeat((i % 500) as usize),
                    skills: vec!["durability".into()],
                    urgency: Urgency::Normal,
                    to: None,
                },
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
    let dir = tempfile::tempdir().expect("tempdir");
    let team: TeamId = {
        let data = DataDir::open(dir.path()).expect("open");
        let identity = data.identity_or_create().expect("identity");
        let (mut doc, _) =
            TeamDoc::genesis(identity.actor_hex(), "Crash", "Ana", "ep", &mut SystemEnv)
                .expect("genesis");
        let id = doc.team().id.clone().expect("id");
        data.create_team(&id, doc.automerge()).expect("create");
        id
    };
    let exe = std::env::current_exe().expect("exe");
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut total_killed_mid_run = 0;
    for round in 0..rounds {
        let mut child = Process::new(&exe)
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut ids = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Only whole lines are acknowledgements.
                if RequestId::parse(&line).is_ok() {
                    ids.push(line);
                }
            }
            ids
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..400)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        if status.code().is_none() {
            total_killed_mid_run += 1;
        }
        let ids = reader.join().expect("reader");
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
    assert!(!acknowledged.is_empty(), "the children acknowledged edits");
    println!(
        "crash test passed: {rounds} kills, {} acknowledged edits, none lost",
        acknowledged.len()
    );
}
