//! Teammates in different homes, behind NAT routers, on a simulated internet
//! (`peercoach-netsim`: network namespaces, real iroh relays on 198.18.0.2 and .3,
//! nftables NAT). Every device is a real `peercoach serve` process inside its laptop's
//! namespace, driven by the CLI as a person's laptop would be, and configured with the
//! harness's relays in *Team relay only* mode (in *Anywhere*, n0's relays are the last
//! fallback when none answers): nothing here ever uses n0's relays or lookup, and
//! nothing leaves the namespaces the test made (and removes, also when it fails).
//!
//! These need root. Without it they print why and pass; under `CI=true` they fail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peercoach_netsim::{Home, Internet, Laptop, Nat};

use crate::util::{Run, bin};

/// Polls `check` until it holds, for at most `secs` seconds.
fn wait_for(what: &str, secs: u64, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    start.elapsed()
}

/// The internet with its relays running.
struct World {
    net: Internet,
    /// The first relay's URL.
    relay_url: String,
    /// Every relay's URL, the first first.
    relay_urls: Vec<String>,
    /// Every relay's certificate, in one PEM file.
    cert: PathBuf,
}

impl World {
    fn new(token: Option<&str>) -> Self {
        Self::with_relays(1, token)
    }

    /// A world with `count` relays, at 198.18.0.2, .3, …
    fn with_relays(count: usize, token: Option<&str>) -> Self {
        let mut net = Internet::new().expect("build the simulated internet");
        let relay_bin = peercoach_netsim::relay_bin_near(&std::env::current_exe().expect("exe"));
        let mut relay_urls = Vec::new();
        let mut pem = Vec::new();
        for index in 0..count {
            let relay = net
                .start_relay_at(index, &relay_bin, &[], token)
                .expect("start a relay");
            relay_urls.push(relay.url().to_owned());
            pem.extend(std::fs::read(relay.cert_path()).expect("relay certificate"));
        }
        let cert = net.temp_dir().join("relays.pem");
        std::fs::write(&cert, pem).expect("write the relays' certificates");
        Self {
            net,
            relay_url: relay_urls[0].clone(),
            relay_urls,
            cert,
        }
    }

    fn home(&mut self, nat: Nat) -> Home {
        self.net.add_home(nat).expect("add a home")
    }

    /// A laptop in `home` with a fresh data dir, set to the harness's relays (as its own).
    fn laptop(&mut self, home: &Home) -> Device {
        let laptop = self.net.add_laptop(home).expect("add a laptop");
        let device = Device {
            laptop,
            dir: tempfile::tempdir().expect("tempdir"),
            cert: self.cert.clone(),
            fallback: None,
            serve: None,
        };
        let mut args = vec!["network", "--mode", "team-relay"];
        for url in &self.relay_urls {
            args.extend(["--relay-url", url.as_str()]);
        }
        device.run(&args).ok();
        device
    }

    fn restart_relay(&mut self) {
        let relay_bin = peercoach_netsim::relay_bin_near(&std::env::current_exe().expect("exe"));
        self.net
            .start_relay(&relay_bin, &[], None)
            .expect("restart the relay");
    }
}

/// One teammate's laptop: a data dir, and `peercoach` run inside its namespace.
struct Device {
    laptop: Laptop,
    dir: tempfile::TempDir,
    cert: PathBuf,
    /// The harness relay that stands in for n0's as *Anywhere*'s last fallback.
    fallback: Option<String>,
    serve: Option<Child>,
}

impl Device {
    fn command(&self, args: &[&str]) -> Command {
        let mut all: Vec<std::ffi::OsString> = vec!["--data-dir".into(), self.dir.path().into()];
        all.extend(args.iter().map(Into::into));
        let mut command = self.laptop.command(bin(), all);
        command
            // Not loopback-only: the real defaults, on the simulated internet.
            .env_remove("PEERCOACH_LOOPBACK")
            .env_remove("PEERCOACH_DATA_DIR")
            // Trust the harness relay's self-signed certificate (test-only).
            .env(peercoach_node::connect::TEST_RELAY_CA_ENV, &self.cert)
            .env_remove(peercoach_node::connect::TEST_FALLBACK_RELAY_ENV);
        if let Some(fallback) = &self.fallback {
            command.env(peercoach_node::connect::TEST_FALLBACK_RELAY_ENV, fallback);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run peercoach");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(&all).json()
    }

    /// Starts `peercoach serve` and waits for its ready line.
    fn serve(&mut self) {
        assert!(self.serve.is_none(), "already serving");
        // The node's log goes beside its data dir, for reading after a failure.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("serve.log"))
            .expect("log file");
        let mut child = self
            .command(&["serve"])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn serve");
        let line = crate::util::ready_line(&mut child);
        assert!(line.starts_with("ready "), "{line:?}");
        self.serve = Some(child);
    }

    /// SIGTERM and wait.
    fn stop(&mut self) {
        if let Some(mut child) = self.serve.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(20) {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn board_has(&self, title: &str) -> bool {
        let r = self.run(&["board"]);
        r.code == 0 && r.stdout.contains(title)
    }

    /// The one teammate's entry in `status --json`.
    fn peer_status(&self) -> serde_json::Value {
        let s = self.json(&["status"]);
        s["peers"][0].clone()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(mut child) = self.serve.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            // What the node logged, to see why the test failed.
            let log =
                std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "--- serve log of {} (last lines) ---",
                self.laptop.namespace()
            );
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Ana in one home, Bo in another; Bo joined with Ana's ticket; both serving.
fn two_homes(world: &mut World, nat: Nat) -> (Device, Device) {
    two_homes_and_routers(world, nat).0
}

fn two_homes_and_routers(world: &mut World, nat: Nat) -> ((Device, Device), (Home, Home)) {
    let (home_a, home_b) = (world.home(nat), world.home(nat));
    let (mut ana, mut bo) = (world.laptop(&home_a), world.laptop(&home_b));
    start_team(&mut ana, &mut bo);
    ((ana, bo), (home_a, home_b))
}

/// Ana makes the team and serves; Bo joins with her ticket and serves.
fn start_team(ana: &mut Device, bo: &mut Device) {
    ana.run(&["init", "--name", "Ana", "--team", "Platform"])
        .ok();
    ana.serve();
    let ticket = ana.run(&["invite"]).ok();
    bo.run(&["join", &ticket, "--name", "Bo"]).ok();
    bo.serve();
}

/// An edit on `from` shows up on `to`; returns how long that took.
fn edit_travels(from: &Device, to: &Device, title: &str, secs: u64) -> Duration {
    from.run(&["ask", title]).ok();
    wait_for(&format!("{title:?} to arrive"), secs, || {
        to.board_has(title)
    })
}

#[test]
fn sim_a_join_by_ticket_from_one_home_to_another() {
    if !peercoach_netsim::require("sim_a_join_by_ticket_from_one_home_to_another") {
        return;
    }
    let mut world = World::new(None);
    let (home_a, home_b) = (world.home(Nat::Easy), world.home(Nat::Easy));
    let (mut ana, bo) = (world.laptop(&home_a), world.laptop(&home_b));
    let team = ana
        .run(&["init", "--name", "Ana", "--team", "Platform"])
        .ok();
    ana.serve();
    // An invite made at once after start still carries the relay (it waits for it).
    let ticket = ana.run(&["invite"]).ok();
    let s = ana.json(&["status"]);
    assert_eq!(s["relay_url"], world.relay_url.as_str(), "{s}");
    assert_eq!(s["mode"], "team-relay");
    let joined = bo.run(&["join", &ticket, "--name", "Bo"]).ok();
    assert_eq!(joined, team);
    assert!(
        bo.run(&["teams"]).ok().contains("Platform"),
        "the team is on Bo's disk"
    );
    // Bo's member record on Ana's side names his relay, so Ana can reach him later.
    let p = ana.peer_status();
    assert_eq!(p["relay_url"], world.relay_url.as_str(), "{p}");
}

#[test]
fn sim_b_live_edits_travel_both_ways_within_seconds() {
    if !peercoach_netsim::require("sim_b_live_edits_travel_both_ways_within_seconds") {
        return;
    }
    let mut world = World::new(None);
    let (ana, bo) = two_homes(&mut world, Nat::Easy);
    let to_bo = edit_travels(&ana, &bo, "From Ana's home", 30);
    let to_ana = edit_travels(&bo, &ana, "From Bo's home", 30);
    eprintln!("edit Ana → Bo {to_bo:?}, Bo → Ana {to_ana:?}");
    let p = ana.peer_status();
    assert_eq!(p["connected"], true, "{p}");
    assert!(p["path"] == "direct" || p["path"] == "relay", "{p}");
}

#[test]
fn sim_c_both_restarted_on_new_ports_find_each_other_again() {
    if !peercoach_netsim::require("sim_c_both_restarted_on_new_ports_find_each_other_again") {
        return;
    }
    let mut world = World::new(None);
    let (mut ana, mut bo) = two_homes(&mut world, Nat::Easy);
    edit_travels(&ana, &bo, "Before the restart", 30);
    ana.stop();
    bo.stop();
    ana.run(&["network", "--port", "41111"]).ok();
    bo.run(&["network", "--port", "42222"]).ok();
    ana.serve();
    bo.serve();
    let took = edit_travels(&ana, &bo, "After the restart", 60);
    edit_travels(&bo, &ana, "And back", 30);
    eprintln!("after both restarted on new ports, an edit arrived in {took:?}");
    let s = ana.json(&["status"]);
    assert!(
        s["addrs"].as_array().is_some_and(|a| a
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.ends_with(":41111")))),
        "{s}"
    );
}

#[test]
fn sim_d_the_path_turns_direct_once_a_hole_is_punched() {
    if !peercoach_netsim::require("sim_d_the_path_turns_direct_once_a_hole_is_punched") {
        return;
    }
    let mut world = World::new(None);
    let (ana, bo) = two_homes(&mut world, Nat::Easy);
    edit_travels(&ana, &bo, "Hello", 30);
    let took = wait_for("a direct path through both NATs", 60, || {
        ana.peer_status()["path"] == "direct" && bo.peer_status()["path"] == "direct"
    });
    eprintln!("direct {took:?} after the first edit arrived");
    assert!(ana.peer_status()["rtt_ms"].as_u64().is_some());
    edit_travels(&bo, &ana, "Over the direct path", 30);
}

#[test]
fn sim_e_a_strict_nat_syncs_over_the_relay() {
    if !peercoach_netsim::require("sim_e_a_strict_nat_syncs_over_the_relay") {
        return;
    }
    let mut world = World::new(None);
    let (ana, bo) = two_homes(&mut world, Nat::Strict);
    edit_travels(&ana, &bo, "Through the relay", 30);
    edit_travels(&bo, &ana, "And back", 30);
    // Random ports per destination: no hole can be punched; it stays on the relay.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let p = ana.peer_status();
        assert_eq!(p["path"], "relay", "{p}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn sim_f_two_laptops_behind_one_router_find_each_other_by_mdns() {
    if !peercoach_netsim::require("sim_f_two_laptops_behind_one_router_find_each_other_by_mdns") {
        return;
    }
    let mut world = World::new(None);
    let home = world.home(Nat::Easy);
    world
        .net
        .set_relay_reachable(&home, false)
        .expect("cut the relay off");
    let (mut ana, mut bo) = (world.laptop(&home), world.laptop(&home));
    ana.run(&["init", "--name", "Ana", "--team", "Platform"])
        .ok();
    ana.serve();
    // No relay answers: the invite says so, and carries the LAN address.
    let invite = ana.run(&["invite"]);
    let ticket = invite.ok();
    assert!(
        invite.stderr.contains("carries no relay"),
        "{}",
        invite.stderr
    );
    bo.run(&["join", &ticket, "--name", "Bo"]).ok();
    bo.serve();
    edit_travels(&ana, &bo, "On the same Wi-Fi", 30);
    // Both move to new addresses while stopped: the addresses in the document are
    // stale and no relay answers, so only mDNS can bring them together.
    ana.stop();
    bo.stop();
    ana.laptop.change_address().expect("new address");
    bo.laptop.change_address().expect("new address");
    ana.serve();
    bo.serve();
    let took = edit_travels(&ana, &bo, "Found by mDNS", 60);
    eprintln!("found each other by mDNS in {took:?}");
}

#[test]
fn sim_g_a_laptop_that_changes_networks_reconnects_and_publishes_its_address() {
    if !peercoach_netsim::require(
        "sim_g_a_laptop_that_changes_networks_reconnects_and_publishes_its_address",
    ) {
        return;
    }
    let mut world = World::new(None);
    let (ana, mut bo) = two_homes(&mut world, Nat::Easy);
    edit_travels(&ana, &bo, "Before the move", 30);
    let new_ip = bo.laptop.change_address().expect("new address").to_string();
    let took = edit_travels(&ana, &bo, "After the move", 60);
    edit_travels(&bo, &ana, "From the new network", 30);
    eprintln!("reconnected {took:?} after the address changed");
    wait_for("Bo's new address published to Ana", 30, || {
        let p = ana.peer_status();
        p["addrs"].as_array().is_some_and(|a| {
            a.iter()
                .any(|a| a.as_str().is_some_and(|a| a.starts_with(&new_ip)))
        })
    });
}

#[test]
fn sim_h_peers_keep_syncing_directly_after_the_relay_goes_away() {
    if !peercoach_netsim::require("sim_h_peers_keep_syncing_directly_after_the_relay_goes_away") {
        return;
    }
    let mut world = World::new(None);
    let ((ana, bo), (home_a, home_b)) = two_homes_and_routers(&mut world, Nat::Easy);
    edit_travels(&ana, &bo, "Hello", 30);
    wait_for("a direct path", 60, || {
        ana.peer_status()["path"] == "direct"
    });
    world.net.stop_relay().expect("stop the relay");
    edit_travels(&ana, &bo, "Relay gone", 30);
    edit_travels(&bo, &ana, "Still direct", 30);
    assert_eq!(ana.peer_status()["path"], "direct");
    // And the other way round: the relay is back, the direct path stops working.
    world.restart_relay();
    world
        .net
        .block_direct(&home_a, &home_b, true)
        .expect("block direct");
    edit_travels(&ana, &bo, "Direct path gone", 60);
    edit_travels(&bo, &ana, "Over the relay", 30);
    wait_for("the path to be the relay", 30, || {
        ana.peer_status()["path"] == "relay"
    });
}

#[test]
fn sim_bad_input_unreachable_relay_and_refused_token_change_nothing() {
    if !peercoach_netsim::require(
        "sim_bad_input_unreachable_relay_and_refused_token_change_nothing",
    ) {
        return;
    }
    let mut world = World::new(Some("right-token"));
    let (home_a, home_b) = (world.home(Nat::Easy), world.home(Nat::Easy));
    let (mut ana, bo) = (world.laptop(&home_a), world.laptop(&home_b));
    ana.run(&["init", "--name", "Ana", "--team", "Platform"])
        .ok();
    ana.run(&["network", "--relay-token", "right-token"]).ok();
    ana.serve();
    // A relay that refuses the token: one line, the settings stay as they were.
    let before = ana.json(&["network"]);
    let err = ana
        .run(&[
            "network",
            "--relay-url",
            &world.relay_url,
            "--relay-token",
            "wrong-token",
        ])
        .fails();
    assert!(err.contains("refused"), "{err}");
    assert_eq!(ana.json(&["network"]), before, "no setting changed");
    wait_for("the relay with the right token in use again", 20, || {
        ana.json(&["status"])["relay_url"] == world.relay_url.as_str()
    });
    // A ticket whose relay cannot be reached: one clear line, and Bo holds no team.
    let ticket = ana.run(&["invite"]).ok();
    world.net.set_relay_reachable(&home_b, false).expect("cut");
    let err = bo.run(&["join", &ticket, "--name", "Bo"]).fails();
    assert!(
        err.contains("could not reach the inviter") && err.contains("relay"),
        "{err}"
    );
    let teams = bo.run(&["teams"]);
    assert!(
        !teams.stdout.contains("Platform"),
        "no team: {}",
        teams.stdout
    );
}

/// Ana behind an ordinary NAT, Bo behind a strict one, Cy behind carrier-grade NAT, and
/// two team relays. One relay stops: within seconds every laptop is home on the other,
/// edits keep crossing, and the path names it; a ticket made meanwhile still lets Dee
/// join; the relay comes back and nothing breaks.
#[test]
fn sim_i_when_a_team_relay_stops_every_laptop_moves_to_the_other_within_seconds() {
    if !peercoach_netsim::require(
        "sim_i_when_a_team_relay_stops_every_laptop_moves_to_the_other_within_seconds",
    ) {
        return;
    }
    let mut world = World::with_relays(2, None);
    let (home_a, home_b, home_c, home_d) = (
        world.home(Nat::Easy),
        world.home(Nat::Strict),
        world.home(Nat::Carrier),
        world.home(Nat::Easy),
    );
    let (mut ana, mut bo, mut cy) = (
        world.laptop(&home_a),
        world.laptop(&home_b),
        world.laptop(&home_c),
    );
    ana.run(&["init", "--name", "Ana", "--team", "Platform"])
        .ok();
    // The team's relays, in the team document; Ana's device then uses those alone.
    let (first, second) = (world.relay_urls[0].clone(), world.relay_urls[1].clone());
    ana.run(&["network", "--team-relay", &first, "--team-relay", &second])
        .ok();
    ana.run(&["network", "--relay-url", "none"]).ok();
    ana.serve();
    for (device, name) in [(&mut bo, "Bo"), (&mut cy, "Cy")] {
        let ticket = ana.run(&["invite"]).ok();
        device.run(&["join", &ticket, "--name", name]).ok();
        // From now on, the team's relays rather than its own.
        device.run(&["network", "--relay-url", "none"]).ok();
        device.serve();
    }
    edit_travels(&ana, &bo, "Before the outage, to Bo", 30);
    edit_travels(&ana, &cy, "Before the outage, to Cy", 30);
    edit_travels(&bo, &ana, "Before the outage, from Bo", 30);
    let s = bo.json(&["status"]);
    assert_eq!(s["team_relays"], serde_json::json!([first, second]), "{s}");
    wait_for("every relay of the list to answer", 40, || {
        let s = bo.json(&["status"]);
        s["relays"]
            .as_array()
            .is_some_and(|r| r.len() == 2 && r.iter().all(|r| r["answers"] == true))
    });
    // Stop the relay that Bo is home on (which one iroh picked is up to latency).
    wait_for("Bo home on a relay", 30, || {
        bo.json(&["status"])["relay_url"].is_string()
    });
    let home = bo.json(&["status"])["relay_url"]
        .as_str()
        .expect("Bo has a home relay")
        .to_owned();
    let stopped = world
        .relay_urls
        .iter()
        .position(|u| *u == home)
        .expect("Bo's home is a team relay");
    let other = world.relay_urls[1 - stopped].clone();
    world.net.stop_relay_at(stopped).expect("stop the relay");
    let outage = Instant::now();
    let to_bo = edit_travels(&ana, &bo, "During the outage, to Bo", 30);
    let to_cy = edit_travels(&ana, &cy, "During the outage, to Cy", 30);
    let from_cy = edit_travels(&cy, &ana, "During the outage, from Cy", 30);
    let from_bo = edit_travels(&bo, &cy, "During the outage, Bo to Cy", 30);
    eprintln!(
        "after {home} stopped: Ana → Bo {to_bo:?}, Ana → Cy {to_cy:?}, Cy → Ana {from_cy:?}, \
         Bo → Cy {from_bo:?}"
    );
    for (device, name) in [(&bo, "Bo"), (&cy, "Cy"), (&ana, "Ana")] {
        wait_for(&format!("{name} home on {other}"), 30, || {
            device.json(&["status"])["relay_url"] == other.as_str()
        });
    }
    eprintln!(
        "every laptop home on {other} {:?} after the stop",
        outage.elapsed()
    );
    // Each published its new home relay in its member record.
    wait_for("Bo's new home relay published to Ana", 30, || {
        ana.json(&["status"])["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().all(|p| p["published_relay"] == other.as_str()))
    });
    // Bo's strict NAT leaves no direct path: the path to Ana runs through the other relay.
    wait_for("Bo's path to Ana through the other relay", 30, || {
        let p = bo.peer_status();
        p["path"] == "relay" && p["relay_url"] == other.as_str()
    });
    // A ticket made while the first relay is down still lets Dee join.
    let mut dee = world.laptop(&home_d);
    let ticket = ana.run(&["invite"]).ok();
    dee.run(&["join", &ticket, "--name", "Dee"]).ok();
    dee.serve();
    edit_travels(&ana, &dee, "Welcome during the outage", 30);
    // The relay comes back: nothing breaks, and it answers again.
    let relay_bin = peercoach_netsim::relay_bin_near(&std::env::current_exe().expect("exe"));
    world
        .net
        .start_relay_at(stopped, &relay_bin, &[], None)
        .expect("restart the relay");
    edit_travels(&ana, &bo, "After the outage, to Bo", 30);
    edit_travels(&cy, &bo, "After the outage, Cy to Bo", 30);
    wait_for(
        "the relay back in the list of those that answer",
        60,
        || {
            let s = bo.json(&["status"]);
            s["relays"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|r| r["url"] == home.as_str() && r["answers"] == true)
            })
        },
    );
}

/// *Anywhere* with a relay of the team's own: n0's relays are the last fallback, here
/// stood in for by a second harness relay (nothing is meant for n0). The team's relay
/// stops: once none of the list has answered for a while, the fallback is taken and edits
/// cross again; the team's relay comes back and the fallback is left.
#[test]
fn sim_j_in_anywhere_the_fallback_relays_are_taken_only_while_the_teams_do_not_answer() {
    if !peercoach_netsim::require(
        "sim_j_in_anywhere_the_fallback_relays_are_taken_only_while_the_teams_do_not_answer",
    ) {
        return;
    }
    let mut world = World::with_relays(2, None);
    let (team_relay, fallback) = (world.relay_urls[0].clone(), world.relay_urls[1].clone());
    let (home_a, home_b) = (world.home(Nat::Easy), world.home(Nat::Strict));
    let (mut ana, mut bo) = (world.laptop(&home_a), world.laptop(&home_b));
    for device in [&mut ana, &mut bo] {
        device.fallback = Some(fallback.clone());
        device
            .run(&["network", "--mode", "anywhere", "--relay-url", &team_relay])
            .ok();
    }
    start_team(&mut ana, &mut bo);
    edit_travels(&ana, &bo, "Before the outage", 30);
    // While the team's relay answers, it is home and the fallback is not in the list.
    wait_for("Bo home on the team's relay", 30, || {
        bo.json(&["status"])["relay_url"] == team_relay.as_str()
    });
    let s = bo.json(&["status"]);
    assert!(
        s["relays"]
            .as_array()
            .is_some_and(|r| r.iter().all(|r| r["url"] != fallback.as_str())),
        "{s}"
    );
    world.net.stop_relay_at(0).expect("stop the team's relay");
    let outage = Instant::now();
    let took = edit_travels(&ana, &bo, "Through the fallback", 60);
    eprintln!(
        "with the team's relay stopped, an edit arrived through the fallback {took:?} after the stop"
    );
    for (device, name) in [(&ana, "Ana"), (&bo, "Bo")] {
        wait_for(&format!("{name} home on the fallback"), 60, || {
            let s = device.json(&["status"]);
            s["relay_url"] == fallback.as_str()
                && s["relays"].as_array().is_some_and(|r| {
                    r.iter()
                        .any(|r| r["url"] == fallback.as_str() && r["fallback"] == true)
                })
        });
    }
    eprintln!(
        "both home on the fallback {:?} after the stop",
        outage.elapsed()
    );
    edit_travels(&bo, &ana, "Back through the fallback", 30);
    // The team's relay is back: the fallback is left, and the team's is home again.
    let relay_bin = peercoach_netsim::relay_bin_near(&std::env::current_exe().expect("exe"));
    world
        .net
        .start_relay_at(0, &relay_bin, &[], None)
        .expect("restart the team's relay");
    let back = Instant::now();
    for (device, name) in [(&ana, "Ana"), (&bo, "Bo")] {
        wait_for(
            &format!("{name} home on the team's relay again"),
            90,
            || {
                let s = device.json(&["status"]);
                s["relay_url"] == team_relay.as_str()
                    && s["relays"]
                        .as_array()
                        .is_some_and(|r| r.iter().all(|r| r["url"] != fallback.as_str()))
            },
        );
    }
    eprintln!(
        "the fallback left {:?} after the team's relay came back",
        back.elapsed()
    );
    edit_travels(&ana, &bo, "After the outage", 30);
    edit_travels(&bo, &ana, "And back", 30);
}

/// A relay of the list that refuses this device (its token is missing) is said to, and
/// left out: the device keeps to the relay that lets it in.
#[test]
fn sim_k_a_relay_that_refuses_the_device_is_named_and_left_out() {
    if !peercoach_netsim::require("sim_k_a_relay_that_refuses_the_device_is_named_and_left_out") {
        return;
    }
    let mut world = World::with_relays(2, Some("right-token"));
    let (good, refusing) = (world.relay_urls[0].clone(), world.relay_urls[1].clone());
    let (home_a, home_b) = (world.home(Nat::Easy), world.home(Nat::Strict));
    let (mut ana, mut bo) = (world.laptop(&home_a), world.laptop(&home_b));
    let token = format!("{good}=right-token");
    for device in [&ana, &bo] {
        // The token for the first relay only.
        device
            .run(&[
                "network",
                "--relay-url",
                &good,
                "--relay-url",
                &refusing,
                "--relay-token",
                &token,
            ])
            .ok();
    }
    start_team(&mut ana, &mut bo);
    edit_travels(&ana, &bo, "Through the relay that lets us in", 30);
    // With the good relay stopped, the other one is tried, refuses, and is said to.
    world.net.stop_relay_at(0).expect("stop the good relay");
    wait_for("the refusing relay named", 60, || {
        let s = ana.json(&["status"]);
        s["relays"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["url"] == refusing.as_str() && r["refused"].is_string())
        })
    });
    let text = ana.run(&["status"]).ok();
    assert!(
        text.contains("refused this device: check its token"),
        "{text}"
    );
    // The good relay is back: home there, and edits cross.
    let relay_bin = peercoach_netsim::relay_bin_near(&std::env::current_exe().expect("exe"));
    world
        .net
        .start_relay_at(0, &relay_bin, &[], Some("right-token"))
        .expect("restart the good relay");
    edit_travels(&ana, &bo, "Back through the good relay", 60);
    wait_for("Ana home on the good relay", 60, || {
        ana.json(&["status"])["relay_url"] == good.as_str()
    });
}
