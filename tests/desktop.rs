//! The desktop app as a person keeps it open all day: running with its window closed,
//! syncing, and raising desktop notifications on a real D-Bus session bus with a
//! notification service (python3-dbusmock's `notification_daemon` template, which logs
//! every notification it is sent); a click on one, or a second `peercoach`, brings the
//! window back. The window runs under Xvfb.
//!
//! Needs `dbus-daemon`, `gdbus`, python3-dbusmock (and for the window: Xvfb,
//! `xwininfo`, python3-xlib). Without them the tests print why and skip; under `CI=true`
//! they fail (`.ci/run` installs them).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peercoach_core::{Command as Cmd, MemberId, NewOffer, NewRequest, NewThanks};
use peercoach_node::api::{Reply, Request};

use crate::util::{Device, TestNode, bin, init_tracing, wait_until};

const SOON: Duration = Duration::from_secs(30);

/// Whether a command runs here.
fn has(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Skips (printing why), or fails under CI, when something the test needs is missing.
fn require(what: &[(&str, bool)]) -> bool {
    let missing: Vec<&str> = what.iter().filter(|(_, ok)| !ok).map(|(n, _)| *n).collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("skipped: needs {}", missing.join(", "));
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why} (CI must have them: .ci/run installs them)"
    );
    eprintln!("{why}");
    false
}

/// The system's Python, which has python3-dbusmock (not a user's pyenv).
const PYTHON: &str = "/usr/bin/python3";

fn has_dbus() -> bool {
    require(&[
        ("dbus-daemon", has("dbus-daemon", &["--version"])),
        ("gdbus (libglib2.0-bin)", has("gdbus", &["help"])),
        ("python3-dbusmock", has(PYTHON, &["-c", "import dbusmock"])),
    ])
}

/// A private session bus with a notification service that logs what it is sent.
struct Bus {
    daemon: Child,
    mock: Child,
    address: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bus {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("the bus address");
        let address = address.trim().to_owned();
        let log = dir.path().join("notifications.log");
        let mock = Command::new(PYTHON)
            .args(["-m", "dbusmock", "--template", "notification_daemon", "-l"])
            .arg(&log)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbusmock");
        let bus = Self {
            daemon,
            mock,
            address,
            log,
            _dir: dir,
        };
        wait_until("the notification service", || {
            bus.gdbus(&[
                "call",
                "--session",
                "--dest",
                "org.freedesktop.DBus",
                "--object-path",
                "/org/freedesktop/DBus",
                "--method",
                "org.freedesktop.DBus.GetNameOwner",
                "org.freedesktop.Notifications",
            ])
        });
        bus
    }

    fn gdbus(&self, args: &[&str]) -> bool {
        Command::new("gdbus")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The notifications shown so far: (id, summary, body), from the service's log.
    fn shown(&self) -> Vec<(u32, String, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains(" Notify "))
            .enumerate()
            .map(|(i, line)| {
                // `<time> Notify "app" replaces "icon" "summary" "body" [actions] {hints} t`
                let quoted: Vec<String> = line
                    .split('"')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect();
                let summary = quoted.get(2).cloned().unwrap_or_default();
                let body = quoted.get(3).cloned().unwrap_or_default();
                (u32::try_from(i + 1).unwrap_or(u32::MAX), summary, body)
            })
            .collect()
    }

    /// Waits until a notification with this summary was shown; returns its id.
    fn wait_for(&self, summary: &str) -> u32 {
        self.wait_for_after(summary, 0)
    }

    /// Waits until a notification with this summary was shown after the first `after`
    /// ones; returns its id.
    fn wait_for_after(&self, summary: &str, after: usize) -> u32 {
        let start = Instant::now();
        loop {
            let shown = self.shown().into_iter().skip(after);
            if let Some((id, _, _)) = shown.into_iter().find(|(_, s, _)| s == summary) {
                return id;
            }
            assert!(
                start.elapsed() < SOON,
                "no notification {summary:?}; shown: {:#?}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A person clicks notification `id` (the service says its default action ran).
    fn click(&self, id: u32) {
        assert!(self.gdbus(&[
            "call",
            "--session",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "org.freedesktop.DBus.Mock.EmitSignal",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            "us",
            &format!("[<uint32 {id}>, <'default'>]"),
        ]));
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        for child in [&mut self.mock, &mut self.daemon] {
            if child.kill().is_ok() {
                let _reaped = child.wait();
            }
        }
    }
}

/// The app running on a data dir, as the desktop starts it.
struct App {
    child: Child,
}

impl App {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let child = Command::new(bin())
            .arg("--data-dir")
            .arg(dir)
            .args(args)
            .env("PEERCOACH_LOOPBACK", "1")
            .env_remove("PEERCOACH_DATA_DIR")
            // The tests give the app its display; a desktop's Wayland must not win.
            .env_remove("WAYLAND_DISPLAY")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start peercoach");
        let app = Self { child };
        wait_until("the app's node", || dir.join("control.sock").exists());
        app
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the app to exit on its own; its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(start.elapsed() < SOON, "the app stopped");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if self.child.kill().is_ok() {
            let _reaped = self.child.wait();
        }
    }
}

/// Ana's device runs the app (data dir `ana`); Bo's is an in-process node in her team.
async fn team_with_bo(ana: &Device) -> (TestNode, MemberId) {
    let ticket = ana.run(&["invite"]).ok();
    // The CLI's invites last as long as the app's (a day) unless told otherwise.
    let parsed = peercoach_net::InviteTicket::parse(ticket.trim()).expect("a ticket");
    let left = parsed.expires_ms - peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    let day = peercoach_node::join::DEFAULT_INVITE_EXPIRY_MS;
    assert!(
        (day - 120_000..=day).contains(&left),
        "an invite made now lasts a day: {left} ms left"
    );
    let bo = TestNode::start().await;
    bo.join(&ticket, "Bo").await.expect("Bo joins Ana's team");
    let members = ana.run(&["--json", "members"]).json();
    let ana_id = members["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "Ana"))
        .and_then(|m| m["id"].as_str())
        .and_then(|id| MemberId::parse(id).ok())
        .expect("Ana's member id");
    (bo, ana_id)
}

async fn bo_does(bo: &TestNode, command: Cmd) {
    match bo
        .ok(Request::Apply {
            team: None,
            command,
        })
        .await
    {
        Reply::Done { .. } => {}
        other => panic!("unexpected {other:?}"),
    }
}

fn offer_to(ana: &MemberId, topic: &str) -> Cmd {
    Cmd::Offer(NewOffer {
        request: None,
        to: Some(ana.clone()),
        topic: topic.into(),
        message: "Try the checklist first".into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_in_the_background_notifies_of_what_teammates_do_and_never_of_my_own() {
    init_tracing();
    if !has_dbus() {
        return;
    }
    let bus = Bus::start();
    let ana = Device::new();
    ana.init("Ana", "Platform");
    // Started as at login: no window, syncing and notifying.
    let mut app = App::start(
        ana.path(),
        &["--background"],
        &[("DBUS_SESSION_BUS_ADDRESS", &bus.address), ("DISPLAY", "")],
    );
    let (mut bo, ana_id) = team_with_bo(&ana).await;
    // A teammate joining is news.
    let joined = bus.wait_for("Bo joined the team");
    let (_, _, body) = bus
        .shown()
        .into_iter()
        .find(|(id, _, _)| *id == joined)
        .expect("shown");
    assert!(body.contains("Team screen"), "{body}");

    bo_does(&bo, offer_to(&ana_id, "the release checklist")).await;
    let offer = bus.wait_for("Bo asks: would you like some help?");
    let (_, _, body) = bus
        .shown()
        .into_iter()
        .find(|(id, _, _)| *id == offer)
        .expect("shown");
    assert_eq!(
        body,
        "About: the release checklist. Answer yes or not now in your inbox."
    );
    bo_does(&bo, ask("Coach me on estimates", Some(&ana_id))).await;
    bus.wait_for("Bo asks you for help");
    bo_does(
        &bo,
        Cmd::Thank(NewThanks {
            to: ana_id.clone(),
            text: "Thanks for the pairing".into(),
            session: None,
        }),
    )
    .await;
    bus.wait_for("Bo thanked you");

    // Ana's own actions, made through the running app: no notification for them. She
    // floats this week, so an ask to the team would be news to her were it anyone
    // else's. Then one more from Bo, which arrives after them: the notifier saw Ana's
    // and said nothing.
    let week = peercoach_core::time::iso_week_key(peercoach_core::Env::now_ms(
        &mut peercoach_core::SystemEnv,
    ));
    let before = bus.shown().len();
    ana.run(&["rota", "add", &week, "Ana"]).ok();
    ana.run(&["ask", "Ana asks the team"]).ok();
    ana.run(&["thank", "Bo", "Thanks back"]).ok();
    bo_does(&bo, offer_to(&ana_id, "pairing on the parser")).await;
    bus.wait_for_after("Bo asks: would you like some help?", before);
    let after = summaries_after(&bus, before);
    assert_eq!(after, ["Bo asks: would you like some help?"], "{after:?}");

    // Quit, as from the app's Settings.
    ana.run(&["quit"]).ok();
    assert_eq!(app.wait_exit(), Some(0));
    bo.stop().await;
}

/// Sets the device's notification preferences through the running app, as its
/// Settings screen does.
fn set_preferences(dir: &Path, preferences: peercoach_store::Preferences) {
    let mut app = peercoach_node::control::ControlClient::connect(dir).expect("the app answers");
    let reply = tokio::task::block_in_place(|| {
        app.call(
            &Request::Preferences {
                set: Some(preferences.clone()),
            },
            SOON,
        )
    })
    .expect("preferences saved");
    assert!(
        matches!(&reply.0, Reply::Preferences(p) if *p == preferences),
        "{reply:?}"
    );
}

/// The notifications shown after the first `after`, by summary.
fn summaries_after(bus: &Bus, after: usize) -> Vec<String> {
    bus.shown()
        .into_iter()
        .skip(after)
        .map(|(_, s, _)| s)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_turned_off_or_snoozed_stays_quiet_and_a_burst_after_being_away_is_one() {
    init_tracing();
    if !has_dbus() {
        return;
    }
    let bus = Bus::start();
    let ana = Device::new();
    ana.init("Ana", "Platform");
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str()),
        ("DISPLAY", ""),
    ];
    let mut app = App::start(ana.path(), &["--background"], &env);
    let (mut bo, ana_id) = team_with_bo(&ana).await;

    // Thanks turned off in Settings: Bo's thanks makes no sound; his offer after it does.
    let before = bus.shown().len();
    set_preferences(
        ana.path(),
        peercoach_store::Preferences {
            notifications_off: [peercoach_core::alerts::AlertKind::Thanks
                .as_str()
                .to_owned()]
            .into(),
            ..Default::default()
        },
    );
    bo_does(
        &bo,
        Cmd::Thank(NewThanks {
            to: ana_id.clone(),
            text: "Thanks for the review".into(),
            session: None,
        }),
    )
    .await;
    bo_does(&bo, offer_to(&ana_id, "the flaky test")).await;
    bus.wait_for_after("Bo asks: would you like some help?", before);
    assert_eq!(
        summaries_after(&bus, before),
        ["Bo asks: would you like some help?"],
        "thanks are turned off"
    );
    set_preferences(ana.path(), peercoach_store::Preferences::default());

    // Ana offers Bo help; his yes comes back to her.
    let offer = ana
        .run(&["offer", "--to", "Bo", "--topic", "the deploy script"])
        .ok();
    let offer = peercoach_core::OfferId::parse(offer.trim()).expect("an offer id");
    let start = Instant::now();
    loop {
        // Bo answers once the offer has reached him.
        let answered = bo
            .try_request(Request::Apply {
                team: None,
                command: Cmd::Respond {
                    offer: offer.clone(),
                    answer: peercoach_core::Answer::Yes,
                },
            })
            .await;
        if answered.is_ok() {
            break;
        }
        assert!(start.elapsed() < SOON, "the offer reached Bo: {answered:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bus.wait_for("Bo said yes to your offer");

    // Floating this week: an ask to the whole team is for Ana too.
    let week = peercoach_core::time::iso_week_key(peercoach_core::Env::now_ms(
        &mut peercoach_core::SystemEnv,
    ));
    ana.run(&["rota", "add", &week, "Ana"]).ok();
    bo_sees(&bo, "Ana on the rota", |team| {
        team.rota.get(&week).is_some_and(|w| w.contains(&ana_id))
    })
    .await;
    bo_does(&bo, ask("Anyone know the build cache?", None)).await;
    let floating = bus.wait_for("New ask from Bo (you are floating this week)");
    let (_, _, body) = bus
        .shown()
        .into_iter()
        .find(|(id, _, _)| *id == floating)
        .expect("shown");
    assert_eq!(body, "Anyone know the build cache?");

    // Snoozed: nothing, not even a request aimed at her. Awake again: the next one.
    ana.run(&["snooze", "--until", "2999-01-01"]).ok();
    bo_sees(&bo, "Ana snoozed", |team| is_snoozed(team, &ana_id)).await;
    let before = bus.shown().len();
    bo_does(&bo, ask("While Ana is away", Some(&ana_id))).await;
    // It reaches her device while she is snoozed, and stays quiet.
    wait_until("Bo's ask on Ana's device", || {
        ana.run(&["--json", "inbox"])
            .ok()
            .contains("While Ana is away")
    });
    ana.run(&["snooze", "--off"]).ok();
    bo_sees(&bo, "Ana awake", |team| !is_snoozed(team, &ana_id)).await;
    bo_does(&bo, offer_to(&ana_id, "after the snooze")).await;
    bus.wait_for_after("Bo asks: would you like some help?", before);
    assert_eq!(
        summaries_after(&bus, before),
        ["Bo asks: would you like some help?"],
        "quiet while snoozed"
    );

    // The app stops; Bo goes on. When Ana's app starts again and catches up, five asks
    // for her are one notification, which a click opens on the inbox.
    ana.run(&["quit"]).ok();
    assert_eq!(app.wait_exit(), Some(0));
    for i in 0..5 {
        bo_does(&bo, ask(&format!("Question {i}"), Some(&ana_id))).await;
    }
    let before = bus.shown().len();
    let mut app = App::start(ana.path(), &["--background"], &env);
    bus.wait_for_after("5 requests for you while you were away", before);
    assert_eq!(
        summaries_after(&bus, before),
        ["5 requests for you while you were away"]
    );
    ana.run(&["quit"]).ok();
    assert_eq!(app.wait_exit(), Some(0));
    bo.stop().await;
}

fn ask(title: &str, to: Option<&MemberId>) -> Cmd {
    Cmd::Ask(NewRequest {
        title: title.into(),
        tried: String::new(),
        skills: vec![],
        urgency: peercoach_core::Urgency::Normal,
        to: to.cloned(),
    })
}

/// Waits until Bo's copy of the team shows what Ana did: her change has reached him,
/// so what he does next comes after it.
async fn bo_sees(bo: &TestNode, what: &str, seen: impl Fn(&peercoach_core::Team) -> bool) {
    bo.node().handle().watch_snapshots();
    let start = Instant::now();
    while !bo
        .node()
        .handle()
        .snapshots()
        .first()
        .is_some_and(|s| seen(&s.team))
    {
        assert!(start.elapsed() < SOON, "Bo never saw {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn is_snoozed(team: &peercoach_core::Team, member: &MemberId) -> bool {
    let now = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    team.members.get(member).is_some_and(|m| m.is_snoozed(now))
}

fn has_display_tools() -> bool {
    require(&[
        ("Xvfb", has("which", &["Xvfb"])),
        ("xwininfo (x11-utils)", has("which", &["xwininfo"])),
        ("python3-xlib", has(PYTHON, &["-c", "import Xlib"])),
    ])
}

/// An X server of our own.
struct Display {
    server: Child,
    name: String,
}

impl Display {
    fn start() -> Self {
        // Xvfb picks a free display number and writes it to us (`-displayfd`): tests
        // running side by side each get their own.
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x820x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb");
        let mut number = String::new();
        BufReader::new(server.stdout.take().expect("stdout"))
            .read_line(&mut number)
            .expect("Xvfb's display number");
        let name = format!(":{}", number.trim());
        let display = Self { server, name };
        wait_until("Xvfb", || {
            has("xwininfo", &["-root", "-display", &display.name])
        });
        display
    }

    /// The app's top-level window, if one is mapped.
    fn window(&self) -> Option<String> {
        let out = Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &self.name])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.contains("(\"peercoach\" \"peercoach\")"))
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .filter(|id| {
                // Only a mapped (shown) window counts.
                Command::new("xwininfo")
                    .args(["-id", id, "-display", &self.name])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("IsViewable"))
            })
    }

    fn wait_window(&self, shown: bool) {
        let what = if shown {
            "the window to come up"
        } else {
            "the window to go away"
        };
        wait_until(what, || self.window().is_some() == shown);
    }

    /// Closes the app's window as a window manager does: WM_DELETE_WINDOW.
    fn close_window(&self) {
        let id = self.window().expect("a window to close");
        let script = r#"
import sys
from Xlib import X, display, protocol
d = display.Display(sys.argv[1])
w = d.create_resource_object("window", int(sys.argv[2], 16))
protocols = d.intern_atom("WM_PROTOCOLS")
delete = d.intern_atom("WM_DELETE_WINDOW")
event = protocol.event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
w.send_event(event, event_mask=X.NoEventMask)
d.flush()
"#;
        let ok = Command::new(PYTHON)
            .args(["-c", script, &self.name, &id])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "sent WM_DELETE_WINDOW");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if self.server.kill().is_ok() {
            let _reaped = self.server.wait();
        }
    }
}

/// What the app is started with on a desktop: the session bus and the display.
fn desk_env<'a>(bus: &'a Bus, display: &'a Display) -> [(&'static str, &'a str); 2] {
    [
        ("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str()),
        ("DISPLAY", display.name.as_str()),
    ]
}

/// A desktop session of Ana's — a bus with a notification service, a display — and the
/// app started on her data dir (a new team), its window up.
fn ana_at_her_desk() -> (Bus, Display, Device, App) {
    let bus = Bus::start();
    let display = Display::start();
    let ana = Device::new();
    ana.init("Ana", "Platform");
    let app = App::start(ana.path(), &[], &desk_env(&bus, &display));
    display.wait_window(true);
    (bus, display, ana, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_window_keeps_the_app_syncing_and_it_comes_back_when_asked() {
    init_tracing();
    if !has_dbus() || !has_display_tools() {
        return;
    }
    let (bus, display, ana, mut app) = ana_at_her_desk();
    let (mut bo, ana_id) = team_with_bo(&ana).await;

    // Close the window: the app keeps running (and says so once).
    display.close_window();
    display.wait_window(false);
    bus.wait_for("peercoach keeps running in the background");
    assert!(app.is_running(), "closing the window did not stop the app");

    // A teammate's edit reaches the closed app's device, which raises a notification…
    bo_does(&bo, offer_to(&ana_id, "the on-call handbook")).await;
    let id = bus.wait_for("Bo asks: would you like some help?");
    let offers = ana.run(&["--json", "offers"]).json();
    assert!(
        offers.to_string().contains("the on-call handbook"),
        "the edit is on Ana's device: {offers}"
    );
    // …and a click on it opens the window.
    bus.click(id);
    display.wait_window(true);

    // Closed again, a second start brings the same app's window back, and exits.
    display.close_window();
    display.wait_window(false);
    let second = Command::new(bin())
        .arg("--data-dir")
        .arg(ana.path())
        .env("PEERCOACH_LOOPBACK", "1")
        .env_remove("WAYLAND_DISPLAY")
        .envs(desk_env(&bus, &display))
        .output()
        .expect("a second peercoach");
    assert!(second.status.success(), "{second:?}");
    display.wait_window(true);
    assert!(app.is_running());

    // Ctrl+Q-style quit ends it for good.
    ana.run(&["quit"]).ok();
    assert_eq!(app.wait_exit(), Some(0));
    display.wait_window(false);
    bo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_at_logout_closes_the_window_saves_its_state_and_quits() {
    init_tracing();
    if !has_dbus() || !has_display_tools() {
        return;
    }
    let (_bus, display, ana, mut app) = ana_at_her_desk();
    let window_state = ana.path().join("window.ron");
    assert!(!window_state.exists(), "nothing saved yet");
    let pid = app.child.id().to_string();
    assert!(has("kill", &["-TERM", &pid]), "sent SIGTERM");
    assert_eq!(app.wait_exit(), Some(0), "a clean exit");
    display.wait_window(false);
    let saved = std::fs::read_to_string(&window_state).expect("the window saved its state");
    assert!(saved.contains("screen"), "{saved}");
    assert!(
        !ana.path().join("control.sock").exists(),
        "the node stopped and removed its socket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keep_running_off_closing_the_window_quits() {
    init_tracing();
    if !has_dbus() || !has_display_tools() {
        return;
    }
    let (bus, display, ana, mut app) = ana_at_her_desk();
    set_preferences(
        ana.path(),
        peercoach_store::Preferences {
            keep_running: false,
            ..Default::default()
        },
    );
    display.close_window();
    assert_eq!(app.wait_exit(), Some(0), "closing the window quit the app");
    assert!(
        !ana.path().join("control.sock").exists(),
        "the node stopped and removed its socket"
    );
    assert!(
        bus.shown().is_empty(),
        "no 'keeps running in the background' notice: {:?}",
        bus.shown()
    );
}

fn has_accessibility_bus() -> bool {
    require(&[
        (
            "at-spi2-core (at-spi-bus-launcher)",
            std::path::Path::new("/usr/libexec/at-spi-bus-launcher").exists()
                || has("which", &["at-spi-bus-launcher"]),
        ),
        ("python3-pyatspi", has(PYTHON, &["-c", "import pyatspi"])),
    ])
}

/// A screen reader's view: the real window, under Xvfb, publishes its accessibility tree
/// on a real AT-SPI bus (at-spi2-core, started by the session bus as on a desktop), and
/// pyatspi reads it from outside the process: the board's requests, the "Ask for help"
/// button, which it presses through AT-SPI's action interface, and the dialog's fields.
#[test]
fn a_screen_reader_finds_the_board_presses_ask_for_help_and_reads_the_dialog() {
    init_tracing();
    if !has_dbus() || !has_display_tools() || !has_accessibility_bus() {
        return;
    }
    let bus = Bus::start();
    // Assistive technology is on: what a desktop sets when a screen reader runs. The
    // session bus starts the accessibility bus for the asking.
    assert!(
        bus.gdbus(&[
            "call",
            "--session",
            "--dest",
            "org.a11y.Bus",
            "--object-path",
            "/org/a11y/bus",
            "--method",
            "org.freedesktop.DBus.Properties.Set",
            "org.a11y.Status",
            "IsEnabled",
            "<true>",
        ]),
        "the accessibility bus is on"
    );
    let display = Display::start();
    let ana = Device::new();
    ana.init("Ana", "Platform");
    ana.run(&["ask", "Flaky deploys on Fridays"]).ok();
    ana.run(&["ask", "Review my threat model"]).ok();
    let app = App::start(ana.path(), &[], &desk_env(&bus, &display));
    display.wait_window(true);
    let probe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/a11y_probe.py");
    let out = Command::new(PYTHON)
        .arg(&probe)
        .args(["Flaky deploys on Fridays", "Review my threat model"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("DISPLAY", &display.name)
        .output()
        .expect("run the AT-SPI probe");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the probe: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(report.trim()).expect("its report");
    assert_eq!(
        report["requests"],
        serde_json::json!(["Flaky deploys on Fridays", "Review my threat model"])
    );
    assert_eq!(report["actions"], serde_json::json!(["click"]));
    // The dialog opened by that press, its fields found by name and role.
    assert_eq!(
        report["fields"],
        serde_json::json!([
            ["entry", "Title"],
            ["entry", "What I tried"],
            ["entry", "Skills"]
        ])
    );
    assert_eq!(report["window"], serde_json::json!(["frame"]), "{report}");
    drop(app);
}
