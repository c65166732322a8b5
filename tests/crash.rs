//! Crash harness for a whole node: a real `peercoach serve` process takes edits through
//! its control socket, receives a teammate's edits over iroh, and compacts its log every
//! few records; it is SIGKILLed at a random moment. After every kill the store must load
//! and hold every edit the CLI reported as done; at the end both nodes hold everything.
//!
//! `PEERCOACH_NODE_CRASH_ROUNDS` sets the rounds (20 by default; RELIABILITY.md has a long
//! run) and `PEERCOACH_SEED` replays a schedule.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};

use crate::util::{Device, env_or, random_text, seed};

/// Compact after this many log records, so kills land inside compaction too.
const COMPACT_ENV: (&str, &str) = ("PEERCOACH_COMPACT_RECORDS", "7");

/// Request ids in a device's document, read by the CLI straight from the files (no node
/// runs on it) or through the node's socket (one does).
fn request_ids(d: &Device) -> BTreeSet<String> {
    d.request_fields("id")
}

/// Runs `ask` in a loop until told to stop; collects the ids the CLI acknowledged.
fn keep_asking(
    d: Arc<Device>,
    who: &'static str,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let r = d.run(&[
                "ask",
                &format!("{who} {i}"),
                "--tried",
                &"x".repeat((i % 300) as usize),
            ]);
            if r.code == 0 {
                acked.lock().expect("lock").push(r.stdout.trim().to_owned());
            }
            i += 1;
            if who == "ben" {
                // The peer's stream stays steady rather than flooding the node.
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    })
}

/// Rounds per pair of devices: a fresh pair after this many, so that the document (and
/// the node's start-up) stays small however long the run.
const GENERATION: usize = 25;

#[test]
fn a_node_killed_at_random_moments_keeps_every_acknowledged_edit() {
    let rounds: usize = env_or("PEERCOACH_NODE_CRASH_ROUNDS", 20);
    let seed = seed();
    println!("node crash test: {rounds} rounds, seed {seed} (PEERCOACH_SEED={seed} replays)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut by_killed, mut by_peer, mut mid_work) = (0, 0, 0);
    let mut done = 0;
    while done < rounds {
        let n = GENERATION.min(rounds - done);
        let (a, b, m) = generation(&mut rng, seed, done, n);
        by_killed += a;
        by_peer += b;
        mid_work += m;
        done += n;
    }
    assert!(
        mid_work * 2 > rounds,
        "most kills land while edits are being acknowledged ({mid_work} of {rounds})"
    );
    println!(
        "node crash test passed: {rounds} kills ({mid_work} with edits acknowledged that round), \
         {by_killed} edits by the killed nodes and {by_peer} by their peers, none lost"
    );
}

/// One pair of devices through `rounds` kills of the first; returns the edits each side
/// acknowledged and how many rounds acknowledged any.
fn generation(
    rng: &mut rand::rngs::StdRng,
    seed: u64,
    first_round: usize,
    rounds: usize,
) -> (usize, usize, usize) {
    let a = Arc::new(Device::new());
    let b = Arc::new(Device::new());
    a.init("Ana", "Crash");
    let serve_a = a.serve_with_env(&[COMPACT_ENV]);
    let ticket = a.run(&["invite"]).ok();
    b.run(&["join", &ticket, "--name", "Ben"]).ok();
    // Ben edits for the whole test: his changes stream into Ana's node while it works.
    let serve_b = b.serve_with_env(&[COMPACT_ENV]);
    let stop_b = Arc::new(AtomicBool::new(false));
    let acked_b = Arc::new(Mutex::new(Vec::new()));
    let ben = keep_asking(b.clone(), "ben", stop_b.clone(), acked_b.clone());
    let mut serve_a = Some(serve_a);
    let mut acked_a: Vec<String> = Vec::new();
    let mut mid_work = 0;
    for round in first_round..first_round + rounds {
        let serve = match serve_a.take() {
            Some(s) => s,
            None => a.serve_with_env(&[COMPACT_ENV]),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let ana = keep_asking(a.clone(), "ana", stop.clone(), acked.clone());
        std::thread::sleep(Duration::from_millis(rng.random_range(20..700)));
        // Stop asking first (the CLI would fall back to the files once the node is gone),
        // then kill while the last request may still be in flight.
        stop.store(true, Ordering::SeqCst);
        serve.kill();
        ana.join().expect("asker");
        let acked = std::mem::take(&mut *acked.lock().expect("lock"));
        mid_work += usize::from(!acked.is_empty());
        acked_a.extend(acked);
        // With no node running, the CLI opens the files itself: they must load, whole.
        let present = request_ids(&a);
        for id in &acked_a {
            assert!(
                present.contains(id),
                "seed {seed}, round {round}: acknowledged {id} lost after SIGKILL"
            );
        }
    }
    stop_b.store(true, Ordering::SeqCst);
    ben.join().expect("asker");
    let acked_b = std::mem::take(&mut *acked_b.lock().expect("lock"));
    assert!(
        !acked_a.is_empty() && !acked_b.is_empty(),
        "both sides made edits"
    );
    // Back up: both nodes converge on everything either acknowledged.
    let serve_a = a.serve_with_env(&[COMPACT_ENV]);
    let start = Instant::now();
    loop {
        let (on_a, on_b) = (request_ids(&a), request_ids(&b));
        let all = acked_a.iter().chain(&acked_b);
        if all.clone().all(|id| on_a.contains(id) && on_b.contains(id)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "seed {seed}: nodes did not converge after the kills"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    serve_a.kill();
    serve_b.kill();
    (acked_a.len(), acked_b.len(), mid_work)
}

/// Rounds of `join` killed part-way (`PEERCOACH_JOIN_KILL_ROUNDS`, 12 by default).
#[test]
fn a_joiner_killed_mid_join_leaves_no_half_made_team() {
    let rounds: usize = env_or("PEERCOACH_JOIN_KILL_ROUNDS", 12);
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let a = Device::new();
    a.init("Ana", "Joining");
    // A document with some weight, so that the transfer and the save take a while.
    for i in 0..60 {
        let tried = random_text(&mut rng, 2_000);
        a.run(&["ask", &format!("history {i}"), "--tried", &tried])
            .ok();
    }
    let serve = a.serve();
    let want = request_ids(&a);
    let join = |d: &Device, ticket: &str, name: &str| {
        std::process::Command::new(crate::util::bin())
            .arg("--data-dir")
            .arg(d.path())
            .args(["join", ticket, "--name", name])
            .env("PEERCOACH_LOOPBACK", "1")
            .env_remove("PEERCOACH_DATA_DIR")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn join")
    };
    // How long a whole join takes here: kills land anywhere within it.
    let start = Instant::now();
    let probe = Device::new();
    let status = join(&probe, &a.run(&["invite"]).ok(), "Probe")
        .wait()
        .expect("join");
    assert!(status.success(), "a join runs to the end");
    let whole = start.elapsed();
    let (mut had_team, mut retried_ok, mut fresh_invite) = (0, 0, 0);
    for round in 0..rounds {
        let b = Device::new();
        let ticket = a.run(&["invite"]).ok();
        let mut child = join(&b, &ticket, &format!("Ben{round}"));
        std::thread::sleep(whole.mul_f64(rng.random_range(0.0..1.2)));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever moment the kill hit, the data dir opens, and a team in it is whole.
        let teams = b.run(&["teams"]);
        assert!(
            !teams.stderr.contains("panicked"),
            "seed {seed}, round {round}: {}",
            teams.stderr
        );
        if teams.code == 0 && teams.stdout.contains("Joining") {
            had_team += 1;
            assert_eq!(
                request_ids(&b),
                want,
                "seed {seed}, round {round}: a joined team is whole"
            );
            continue;
        }
        // No team yet: the same ticket again, or, if the inviter had used it up, a new
        // one; either way the device ends up with the team, whole.
        let again = b.run(&["join", &ticket, "--name", &format!("Ben{round}")]);
        if again.code == 0 {
            retried_ok += 1;
        } else {
            assert!(
                again.fails().contains("already used"),
                "seed {seed}, round {round}: a clear refusal: {}",
                again.stderr
            );
            let ticket = a.run(&["invite"]).ok();
            b.run(&["join", &ticket, "--name", &format!("Ben{round}")])
                .ok();
            fresh_invite += 1;
        }
        assert_eq!(
            request_ids(&b),
            want,
            "seed {seed}, round {round}: the team arrives whole"
        );
    }
    serve.kill();
    println!(
        "join kills: {rounds} rounds (a join takes {whole:?} here; seed {seed}): the team was \
         already whole in {had_team}, the same ticket worked again in {retried_ok}, a new \
         invite was needed in {fresh_invite}; never a half-made team"
    );
}
