//! `peercoach serve` processes and the CLI talking to them through the control socket:
//! invite, join, edits that travel, status, clean shutdown.

use crate::util::{Device, wait_until};

#[test]
fn three_serve_processes_invite_join_and_sync_through_the_cli() {
    let (a, b, c) = (Device::new(), Device::new(), Device::new());
    let team = a.init("Ana", "Platform");
    let serve_a = a.serve();
    assert!(
        a.path().join("control.sock").exists(),
        "control socket in the data dir"
    );
    // The CLI reaches the running node through the socket (the files are locked by it).
    let ticket = a.run(&["invite", "--expires", "1h"]).ok();
    assert!(ticket.starts_with("peercoach"));
    let joined = b.run(&["join", &ticket, "--name", "Ben"]).ok();
    assert_eq!(joined, team);
    let replay = b.run(&["join", &ticket, "--name", "Ben"]);
    replay.fails();
    let serve_b = b.serve();
    // Any member invites: Cleo joins through Ben.
    let ticket_b = b.run(&["invite"]).ok();
    c.run(&["--json", "join", &ticket_b, "--name", "Cleo"])
        .json();
    let serve_c = c.serve();
    a.run(&["ask", "From Ana"]).ok();
    b.run(&["ask", "From Ben"]).ok();
    c.run(&["ask", "From Cleo"]).ok();
    for d in [&a, &b, &c] {
        wait_until("every edit everywhere", || {
            let board = d.run(&["board"]).ok();
            board.contains("From Ana") && board.contains("From Ben") && board.contains("From Cleo")
        });
    }
    // status --json has the documented shape, and turns to "has all my changes".
    wait_until("status settles", || {
        let s = a.run(&["--json", "status"]).json();
        s["peers"].as_array().is_some_and(|p| {
            p.len() == 2
                && p.iter()
                    .all(|p| p["connected"] == true && p["has_all_my_changes"] == true)
        })
    });
    let s = a.run(&["--json", "status"]).json();
    assert_eq!(s["endpoint_id"], serve_a.endpoint_id.as_str());
    assert_eq!(s["addrs"][0], serve_a.addr.as_str());
    for p in s["peers"].as_array().expect("peers") {
        assert!(p["member"].as_str().is_some_and(|m| m.len() == 36));
        assert!(p["endpoint_id"].as_str().is_some_and(|e| e.len() == 64));
        assert!(p["last_synced_ms"].as_i64().is_some());
        assert!(p["connected"].is_boolean() && p["has_all_my_changes"].is_boolean());
        // On one machine every connection is direct, with a measured round trip.
        assert_eq!(p["path"], "direct", "{p}");
        assert!(p["rtt_ms"].as_u64().is_some(), "{p}");
    }
    assert_eq!(s["mode"], "loopback");
    assert!(s["relay_url"].is_null(), "no relay in loopback-only mode");
    let ids: Vec<&str> = s["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .filter_map(|p| p["endpoint_id"].as_str())
        .collect();
    assert!(
        ids.contains(&serve_b.endpoint_id.as_str()) && ids.contains(&serve_c.endpoint_id.as_str())
    );
    // A clean stop: exit 0, socket gone, and the edits are on disk.
    assert_eq!(serve_c.terminate(), Some(0));
    assert!(!c.path().join("control.sock").exists());
    let offline = c.run(&["board"]).ok();
    assert!(offline.contains("From Ana"), "{offline}");
    // Edits made while Cleo is down reach her when she is back.
    b.run(&["ask", "While Cleo was away"]).ok();
    let _serve_c = c.serve();
    wait_until("catch-up after restart", || {
        c.run(&["board"]).ok().contains("While Cleo was away")
    });
    assert_eq!(serve_b.terminate(), Some(0));
    assert_eq!(serve_a.terminate(), Some(0));
}

#[test]
fn network_commands_explain_that_they_need_a_node() {
    let a = Device::new();
    a.init("Ana", "Platform");
    for args in [vec!["invite"], vec!["status"]] {
        let err = a.run(&args).fails();
        assert!(err.contains("needs a running node"), "{err}");
    }
    let err = a.run(&["invite", "--expires", "soon"]).fails();
    assert!(err.contains("bad duration"), "{err}");
    let err = a
        .run(&["join", "not-a-ticket", "--name", "X", "--loopback-only"])
        .fails();
    assert!(err.contains("not a valid peercoach invite"), "{err}");
    let serve = a.serve();
    let err = a.run(&["invite", "--expires", "10s"]).fails();
    assert!(err.contains("between 1 minute and 30 days"), "{err}");
    assert_eq!(serve.terminate(), Some(0));
}

#[test]
fn network_settings_are_checked_applied_to_a_running_node_and_shared_with_the_team() {
    let (a, b) = (Device::new(), Device::new());
    a.init("Ana", "Platform");
    let shown = a.run(&["--json", "network"]).json();
    assert_eq!(shown["mode"], "anywhere", "the default works behind a NAT");
    // Bad values: one clear line, nothing written.
    let before = a.snapshot_files();
    for (args, says) in [
        (
            vec!["network", "--relay-url", "relay.example.org"],
            "https://",
        ),
        (vec!["network", "--relay-url", "https://"], "not a URL"),
        (
            vec![
                "network",
                "--relay-url",
                "https://relay.example.org",
                "--relay-token",
                "a b",
            ],
            "token",
        ),
        (vec!["network", "--relay-token", "t0ken"], "needs a relay"),
        (vec!["network", "--mode", "team-relay"], "needs a relay"),
        (vec!["network", "--mode", "everywhere"], "invalid value"),
        (
            vec!["network", "--team-relay", "ftp://relay.example.org"],
            "not a relay URL",
        ),
        // Lists: a URL twice (also spelled with and without the slash), a token for a
        // relay not in the list, a bare token with several relays.
        (
            vec![
                "network",
                "--team-relay",
                "https://a.example.org/",
                "--team-relay",
                "https://a.example.org",
            ],
            "listed twice",
        ),
        (
            vec![
                "network",
                "--relay-url",
                "https://a.example.org/",
                "--relay-url",
                "https://a.example.org/",
            ],
            "listed twice",
        ),
        (
            vec![
                "network",
                "--team-relay",
                "https://a.example.org/",
                "--team-relay-token",
                "https://b.example.org/=t0ken",
            ],
            "not among the --team-relay URLs",
        ),
        (
            vec![
                "network",
                "--relay-url",
                "https://a.example.org/",
                "--relay-url",
                "https://b.example.org/",
                "--relay-token",
                "t0ken",
            ],
            "say which one",
        ),
        (
            vec![
                "network",
                "--team-relay",
                "https://a.example.org/",
                "--team-relay",
                "ftp://b.example.org/",
                "--relay-url",
                "https://c.example.org/",
            ],
            "not a relay URL",
        ),
        (
            vec!["network", "--remove-team-relay", "https://a.example.org/"],
            "not in the team's list",
        ),
        (
            vec![
                "network",
                "--add-team-relay",
                "https://a.example.org/",
                "--team-relay",
                "https://b.example.org/",
            ],
            "cannot be used with",
        ),
    ] {
        let err = a.run(&args).fails();
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(a.snapshot_files(), before, "{args:?} changed nothing");
    }
    // Through a running node: saved, and in loopback-only mode (forced by the
    // environment) still loopback-only in force.
    let serve_a = a.serve();
    let ticket = a.run(&["invite"]).ok();
    b.run(&["join", &ticket, "--name", "Ben"]).ok();
    let serve_b = b.serve();
    let set = a
        .run(&["--json", "network", "--mode", "local", "--port", "0"])
        .json();
    assert_eq!(set["mode"], "local");
    assert_eq!(a.run(&["--json", "network"]).json()["mode"], "local");
    let s = a.run(&["--json", "status"]).json();
    assert_eq!(s["mode"], "loopback", "PEERCOACH_LOOPBACK wins: {s}");
    // Team relays set by Ana reach Ben's device through the document, in order.
    a.run(&[
        "network",
        "--team-relay",
        "https://relay.example.org/",
        "--team-relay",
        "https://spare.example.org/",
        "--team-relay-token",
        "https://spare.example.org/=s3cret",
    ])
    .ok();
    wait_until("the team relays reach Ben", || {
        b.run(&["--json", "status"]).json()["team_relays"]
            == serde_json::json!(["https://relay.example.org/", "https://spare.example.org/"])
    });
    // One added and one removed: the rest stay, with their tokens.
    a.run(&["network", "--add-team-relay", "https://third.example.org/"])
        .ok();
    a.run(&[
        "network",
        "--remove-team-relay",
        "https://relay.example.org",
    ])
    .ok();
    wait_until("one added and one removed", || {
        b.run(&["--json", "status"]).json()["team_relays"]
            == serde_json::json!(["https://spare.example.org/", "https://third.example.org/"])
    });
    a.run(&["network", "--team-relay", "none"]).ok();
    wait_until("and their removal", || {
        b.run(&["--json", "status"]).json()["team_relays"] == serde_json::json!([])
    });
    assert_eq!(serve_b.terminate(), Some(0));
    assert_eq!(serve_a.terminate(), Some(0));
}

/// Two `serve` nodes whose connection is dropped mid-exchange again and again while both
/// sides edit, as a laptop on flaky Wi-Fi would: every drop loses whatever frames were on
/// their way (pushes, heads, a fetch and its answer). Within seconds of the last drop,
/// both hold every edit either side acknowledged, and neither reports a peer whose sync
/// is not moving.
#[test]
fn serve_nodes_converge_within_seconds_after_their_connection_drops_again_and_again() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use rand::{RngExt, SeedableRng};

    let seed = crate::util::seed();
    println!("seed {seed} (replay with PEERCOACH_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let drops: usize = crate::util::env_or("PEERCOACH_DROPS", 16);
    let (a, b) = (Device::new(), Device::new());
    a.init("Ana", "Platform");
    let _serve_a = a.serve();
    let ticket = a.run(&["invite", "--expires", "1h"]).ok();
    b.run(&["join", &ticket, "--name", "Ben"]).ok();
    let _serve_b = b.serve();
    let connected = |d: &Device| {
        let s = d.run(&["--json", "status"]).json();
        s["peers"]
            .as_array()
            .is_some_and(|p| p.len() == 1 && p[0]["connected"] == true)
    };
    wait_until("the two nodes connect", || connected(&a) && connected(&b));

    let stop = AtomicBool::new(false);
    let asked: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for (device, name) in [(&a, "Ana"), (&b, "Ben")] {
            let (stop, asked) = (&stop, &asked);
            scope.spawn(move || {
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let title = format!("{name} asks #{k}");
                    device.run(&["ask", &title]).ok();
                    asked.lock().expect("asked").push(title);
                    k += 1;
                }
            });
        }
        // Either side drops every connection (the lower id redials at once, the other
        // after a grace period), a few times a second.
        for k in 0..drops {
            std::thread::sleep(Duration::from_millis(rng.random_range(150..700)));
            let device = if rng.random_bool(0.5) { &a } else { &b };
            let said = device.run(&["reconnect"]).ok();
            assert!(said.contains("reconnecting"), "drop {k}: {said}");
        }
        stop.store(true, Ordering::Relaxed);
    });
    let last_drop = Instant::now();
    let asked: std::collections::BTreeSet<String> =
        asked.into_inner().expect("asked").into_iter().collect();
    assert!(
        asked.len() >= 10,
        "both sides kept editing: {}",
        asked.len()
    );
    wait_until("every acknowledged edit on both nodes", || {
        a.request_fields("title").is_superset(&asked)
            && b.request_fields("title").is_superset(&asked)
    });
    let took = last_drop.elapsed();
    println!(
        "{} edits, {drops} drops; converged {} ms after the last drop",
        asked.len(),
        took.as_millis()
    );
    assert!(
        took < Duration::from_secs(10),
        "converged {} ms after the last drop",
        took.as_millis()
    );
    // And status says so: in step, nothing stuck.
    for d in [&a, &b] {
        wait_until("status in step", || {
            let s = d.run(&["--json", "status"]).json();
            s["peers"].as_array().is_some_and(|p| {
                p.len() == 1
                    && p[0]["connected"] == true
                    && p[0]["has_all_my_changes"] == true
                    && p[0]["no_progress_ticks"] == 0
            })
        });
    }
}

#[test]
fn a_device_linked_with_a_short_lived_ticket_is_listed_and_removed_from_the_command_line() {
    let (a, laptop) = (Device::new(), Device::new());
    a.init("Ana", "Platform");
    let serve_a = a.serve();
    // A device ticket lives minutes, and asking for longer than an hour is refused.
    let err = a.run(&["invite", "--device", "--expires", "2h"]).fails();
    assert!(err.contains("between 1 minute and 1 hour"), "{err}");
    let ticket = a.run(&["--json", "invite", "--device"]).json();
    let left = ticket["expires_ms"].as_i64().expect("expiry")
        - peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    assert!(
        left <= 10 * 60_000 + 5_000,
        "ten minutes by default: {left} ms"
    );
    laptop
        .run(&[
            "join",
            ticket["ticket"].as_str().expect("ticket"),
            "--name",
            "old laptop",
        ])
        .ok();
    let listed = a.run(&["devices"]).ok();
    assert!(
        listed.contains("old laptop") && listed.contains("(this device)"),
        "{listed}"
    );
    // Not the device in use, not a device that is not mine; then the laptop, by label.
    let this = a.run(&["--json", "devices"]).json();
    let mine = this["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["this_device"] == true)
        .and_then(|d| d["actor"].as_str())
        .expect("this device")
        .to_owned();
    let err = a.run(&["remove-device", &mine[..8]]).fails();
    assert!(err.contains("the device you are using"), "{err}");
    let err = a.run(&["remove-device", "no such laptop"]).fails();
    assert!(err.contains("no device of yours"), "{err}");
    a.run(&["remove-device", "old laptop"]).ok();
    let listed = a.run(&["devices"]).ok();
    assert!(listed.contains("removed"), "{listed}");
    assert_eq!(serve_a.terminate(), Some(0));
}
