//! The desktop app driven through its accessibility tree (egui_kittest, no GPU), against
//! real nodes on 127.0.0.1.

use peercoach_core::{NewOffer, NewRequest};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT as _, Queryable as _};
use peercoach_app::gui::PeercoachApp;
use peercoach_app::gui::state::{Prefs, Screen};
use peercoach_node::api::{Reply, Request};
use peercoach_node::{Node, NodeOptions};

/// A device: a data dir of its own and a real node on 127.0.0.1.
struct Device {
    dir: tempfile::TempDir,
    node: Option<Node>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A node on a data dir prepared beforehand.
fn start(rt: &tokio::runtime::Runtime, dir: tempfile::TempDir) -> Device {
    start_skewed(rt, dir, 0)
}

/// A device whose clock is `skew_ms` off (an invite it makes expires that much sooner).
fn start_skewed(rt: &tokio::runtime::Runtime, dir: tempfile::TempDir, skew_ms: i64) -> Device {
    let mut options = NodeOptions::new(dir.path().to_owned());
    options.loopback_only = true;
    options.control_socket = false;
    options.clock_skew_ms = skew_ms;
    let node = rt.block_on(Node::start(options)).expect("node");
    Device {
        dir,
        node: Some(node),
    }
}

impl Device {
    /// A device on a fresh data dir.
    fn fresh(rt: &tokio::runtime::Runtime) -> Self {
        start(rt, tempfile::tempdir().expect("tempdir"))
    }

    /// A device on a fresh data dir, its clock `skew_ms` off.
    fn fresh_skewed(rt: &tokio::runtime::Runtime, skew_ms: i64) -> Self {
        start_skewed(rt, tempfile::tempdir().expect("tempdir"), skew_ms)
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("running")
    }

    fn request(&self, rt: &tokio::runtime::Runtime, request: Request) -> Reply {
        rt.block_on(self.node().handle().request(request))
            .expect("request")
    }

    fn harness(&self) -> Harness<'static, PeercoachApp> {
        self.harness_sized(egui::vec2(1280.0, 820.0))
    }

    fn harness_sized(&self, size: egui::Vec2) -> Harness<'static, PeercoachApp> {
        let app = PeercoachApp::new(
            self.node().handle(),
            self.dir.path().to_owned(),
            true,
            Prefs::default(),
        );
        Harness::builder().with_size(size).build_ui_state(
            |ui, app: &mut PeercoachApp| {
                app.logic(ui.ctx());
                app.ui(ui);
            },
            app,
        )
    }

    fn stop(mut self, rt: &tokio::runtime::Runtime) {
        if let Some(node) = self.node.take() {
            rt.block_on(node.shutdown());
        }
    }

    /// The same device started again with its clock `skew_ms` off.
    fn restart_skewed(mut self, rt: &tokio::runtime::Runtime, skew_ms: i64) -> Self {
        if let Some(node) = self.node.take() {
            rt.block_on(node.shutdown());
        }
        start_skewed(rt, self.dir, skew_ms)
    }
}

/// Steps the UI until `done` holds (replies arrive from the node's thread).
fn settle(h: &mut Harness<'_, PeercoachApp>, what: &str, done: impl Fn(&PeercoachApp) -> bool) {
    let start = Instant::now();
    loop {
        h.step();
        if done(h.state()) && !h.state().is_busy() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    for _ in 0..3 {
        h.step();
    }
}

fn type_into(h: &mut Harness<'_, PeercoachApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    h.get_by_label(label).type_text(text);
    h.step();
}

fn click(h: &mut Harness<'_, PeercoachApp>, label: &str) {
    // Out of sight (further down a long screen), it is scrolled to first, as a person
    // would.
    h.get_by_role_and_label(egui::accesskit::Role::Button, label)
        .scroll_to_me();
    // The scroll lands a frame or two after the request.
    for _ in 0..3 {
        h.step();
    }
    h.get_by_role_and_label(egui::accesskit::Role::Button, label)
        .click();
    // A new window takes a frame to lay itself out before it is in the tree.
    for _ in 0..3 {
        h.step();
    }
}

fn create_team(h: &mut Harness<'_, PeercoachApp>, name: &str) {
    settle(h, "first run", |_| true);
    type_into(h, "Your name", name);
    type_into(h, "Team name", "Platform");
    click(h, "Create team");
    settle(h, "the team", |app| {
        app.snap.as_ref().is_some_and(|s| s.me.is_some())
    });
}

fn join(rt: &tokio::runtime::Runtime, inviter: &Device, joiner: &Device, name: &str) {
    joiner.request(
        rt,
        Request::Join {
            ticket: ticket(rt, inviter),
            name: name.into(),
        },
    );
}

/// Ana's device with a new team, and Ben's joined to it, each with its window open.
fn ana_and_ben(
    rt: &tokio::runtime::Runtime,
) -> (
    Device,
    Device,
    Harness<'static, PeercoachApp>,
    Harness<'static, PeercoachApp>,
) {
    let (a, b) = (Device::fresh(rt), Device::fresh(rt));
    let mut ha = a.harness();
    create_team(&mut ha, "Ana");
    join(rt, &a, &b, "Ben");
    let mut hb = b.harness();
    settle(&mut hb, "Ben's copy", |app| {
        app.snap.as_ref().is_some_and(|s| s.me.is_some())
    });
    (a, b, ha, hb)
}

/// Ana and Ben (as [`ana_and_ben`]), with a request of Ana's on both boards.
fn ana_asks_and_ben_sees(
    rt: &tokio::runtime::Runtime,
    title: &str,
) -> (
    Device,
    Device,
    Harness<'static, PeercoachApp>,
    Harness<'static, PeercoachApp>,
) {
    let (a, b, mut ha, mut hb) = ana_and_ben(rt);
    ask(&mut ha, title);
    settle(&mut hb, "the request reaching Ben", |app| {
        !app.derived.board.is_empty()
    });
    (a, b, ha, hb)
}

fn ask(h: &mut Harness<'_, PeercoachApp>, title: &str) {
    click(h, "Ask for help");
    type_into(h, "Title", title);
    type_into(h, "What I tried", "Restarting it");
    type_into(h, "Skills", "kubernetes, ops");
    click(h, "Ask for help now");
    let t = title.to_owned();
    settle(h, "the request on the board", move |app| {
        app.derived.board.iter().any(|r| r.title == t)
    });
}

#[test]
fn first_run_creates_a_team_and_opens_the_board() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    settle(&mut h, "first run", |_| true);
    assert!(h.query_by_label("Welcome to peercoach").is_some());
    assert!(h.query_by_label_contains("Start a new team").is_some());
    // The harness's node is forced to loopback: the first screen says so, not the
    // saved mode.
    settle(&mut h, "the network settings", |app| {
        app.screens.settings.network.is_some()
    });
    assert!(
        h.query_by_label("Network: Loopback only (PEERCOACH_LOOPBACK is set)")
            .is_some()
    );
    create_team(&mut h, "Ana");
    let snap = h.state().snap.clone().expect("team");
    assert_eq!(snap.team.name, "Platform");
    assert_eq!(snap.team.current_members()[0].name, "Ana");
    assert!(h.query_by_label("Help board").is_some());
    assert!(
        h.query_by_label_contains("Nobody is waiting for help")
            .is_some()
    );
    drop(h);
    d.stop(&rt);
}

#[test]
fn asking_for_help_puts_it_on_the_board() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    ask(&mut h, "Pods restart after deploy");
    let row = h.state().derived.board[0].clone();
    assert_eq!(
        row.skills,
        vec!["kubernetes".to_string(), "ops".to_string()]
    );
    assert_eq!(row.tried, "Restarting it");
    assert!(h.query_by_label("Pods restart after deploy").is_some());
    // Keyboard: Ctrl+2 opens the inbox.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num2);
    settle(&mut h, "inbox", |app| app.prefs.screen == Screen::Inbox);
    assert!(h.query_by_label_contains("Nothing needs you").is_some());
    drop(h);
    d.stop(&rt);
}

#[test]
fn offer_yes_flow_keeps_advice_hidden_until_yes_then_logs_a_session_and_syncs() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    // Ana asks in her window; it appears in Ben's window without any click there.
    ask(&mut ha, "Flaky integration test");
    settle(&mut hb, "the request reaching Ben", |app| {
        app.derived
            .board
            .iter()
            .any(|r| r.title == "Flaky integration test")
    });
    // And both indicators turn green: a peer online has all my changes.
    settle(&mut ha, "Ana's light", |app| {
        app.sync_light().0 == peercoach_app::gui::theme::SyncLight::Green
    });
    settle(&mut hb, "Ben's light", |app| {
        app.sync_light().0 == peercoach_app::gui::theme::SyncLight::Green
    });

    // Ben offers help, with advice.
    click(&mut hb, "Flaky integration test");
    click(&mut hb, "Offer help…");
    assert!(
        hb.query_by_label_contains("Would you like some help?")
            .is_some()
    );
    type_into(
        &mut hb,
        "Advice (optional, shown only after a yes)",
        "Run it with --test-threads=1",
    );
    click(&mut hb, "Ask if they would like help");
    settle(&mut hb, "the offer", |app| {
        !app.snap.as_ref().is_some_and(|s| s.team.offers.is_empty())
    });

    // Ana sees the question, but not the advice.
    settle(&mut ha, "the offer reaching Ana", |app| {
        !app.derived.inbox.offers_to_answer.is_empty()
    });
    ha.state_mut().prefs.screen = Screen::Inbox;
    ha.step();
    ha.step();
    assert!(
        ha.query_by_label_contains("Ben asks: \"Would you like some help?\"")
            .is_some()
    );
    assert!(
        ha.query_by_label_contains("advice stays hidden until you say yes")
            .is_some()
    );
    assert!(
        ha.query_by_label_contains("--test-threads=1").is_none(),
        "advice hidden before yes"
    );
    ha.state_mut().prefs.screen = Screen::Board;
    ha.state_mut().screens.board.selected = ha.state().derived.board.first().map(|r| r.id.clone());
    ha.step();
    ha.step();
    assert!(
        ha.query_by_label_contains("Advice waits for a yes")
            .is_some()
    );
    assert!(
        ha.query_by_label_contains("--test-threads=1").is_none(),
        "not on the board either"
    );

    // Yes: now the advice shows.
    ha.state_mut().prefs.screen = Screen::Inbox;
    ha.step();
    click(&mut ha, "Yes, please");
    settle(&mut ha, "the yes", |app| {
        app.derived.inbox.offers_to_answer.is_empty()
    });
    ha.state_mut().prefs.screen = Screen::Board;
    ha.step();
    ha.step();
    assert!(
        ha.query_by_label_contains("Ben's advice: Run it with --test-threads=1")
            .is_some()
    );

    // Ben logs the session from the accepted offer: the form is prefilled.
    settle(&mut hb, "the yes reaching Ben", |app| {
        !app.derived.inbox.accepted_offers.is_empty()
    });
    hb.state_mut().prefs.screen = Screen::Inbox;
    hb.step();
    click(&mut hb, "Log the session");
    hb.step();
    let form = hb.state().screens.dialogs.session.clone();
    assert!(form.open);
    assert_eq!(form.topic, "Flaky integration test");
    assert!(form.offer.is_some() && form.coach.is_some() && form.coachee.is_some());
    type_into(&mut hb, "Shared learning", "Shared state between tests");
    click(&mut hb, "Save session");
    settle(&mut hb, "the session", |app| {
        !app.derived.sessions.is_empty()
    });
    hb.state_mut().prefs.screen = Screen::Sessions;
    hb.step();
    hb.step();
    assert!(
        hb.query_by_label_contains("Ben coached Ana: Flaky integration test")
            .is_some()
    );
    settle(&mut ha, "the session reaching Ana", |app| {
        !app.derived.sessions.is_empty()
    });
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

/// A device whose data dir holds a generated team of 12 with 26 weeks of history, this
/// device its first member; its window open on it.
fn demo(rt: &tokio::runtime::Runtime) -> (Device, Harness<'static, PeercoachApp>) {
    demo_seeded(rt, 5)
}

/// The demo team generated from `seed` (`peercoach demo` uses 7).
fn demo_seeded(
    rt: &tokio::runtime::Runtime,
    seed: u64,
) -> (Device, Harness<'static, PeercoachApp>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    {
        let mut engine = peercoach_node::Engine::open(&path).expect("engine");
        let first = (
            engine.identity().actor_hex(),
            engine.endpoint_id().to_owned(),
        );
        let mut spec = peercoach_sim::Spec::small(seed);
        spec.end_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
        let mut history = peercoach_sim::generate(&spec, Some(first), |_| {});
        engine
            .add_team(history.doc.automerge().clone())
            .expect("add team");
    }
    let d = start(rt, dir);
    let mut h = d.harness();
    settle(&mut h, "the demo team", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.members.len() == 12)
    });
    (d, h)
}

#[test]
fn the_dashboard_shows_metrics_for_a_demo_history() {
    let rt = runtime();
    let (d, mut h) = demo(&rt);
    h.state_mut().prefs.screen = Screen::Dashboard;
    settle(&mut h, "metrics", |app| app.derived.metrics.is_some());
    let (_, m, weekly) = h.state().derived.metrics.clone().expect("metrics");
    assert!(m.time_to_help_median_ms.value.is_some(), "{m:?}");
    assert!(m.sessions > 10);
    assert_eq!(weekly.len(), 26);
    // The figure card and its chart (whose one line needs no legend over it).
    assert_eq!(h.query_all_by_label("Median time to help").count(), 1);
    assert!(h.query_by_label("Time to help (median, hours)").is_some());
    // The two-line chart's legend sits between its title and the chart, where it
    // cannot cover a line.
    let title = h.get_by_label("Consent rate and reciprocity (%)").rect();
    let legend = h.get_by_label("Reciprocity").rect();
    assert!(legend.min.y >= title.max.y, "{legend:?} under {title:?}");
    assert!(h.query_by_label("Coaching network").is_some());
    assert!(
        h.query_by_label_contains("deliberately no per-person ranking")
            .is_some()
    );
    // The skills only one person can do are named (skills, never people).
    let only_one: Vec<&String> = m
        .bus_factor
        .iter()
        .filter(|(_, n)| **n == 1)
        .map(|(skill, _)| skill)
        .collect();
    assert!(
        !only_one.is_empty(),
        "the demo has such skills: {:?}",
        m.bus_factor
    );
    let footer = format!("Skills only one person can do: {} (", only_one.len());
    assert!(h.query_by_label_contains(&footer).is_some(), "{footer}");
    for skill in only_one {
        assert!(
            h.query_by_label_contains(skill.as_str()).is_some(),
            "{skill} named"
        );
    }
    // Every screen draws on the demo data without a missing name or glyph.
    for screen in Screen::ALL {
        h.state_mut().prefs.screen = screen;
        h.step();
        h.step();
    }
    drop(h);
    d.stop(&rt);
}

#[test]
fn settings_offer_the_four_network_modes_and_apply_one_to_the_running_node() {
    use peercoach_store::NetworkMode;
    let rt = runtime();
    let d = Device::fresh(&rt);
    // Tall enough that the whole Settings screen is on screen.
    let mut h = d.harness_sized(egui::vec2(1280.0, 2000.0));
    create_team(&mut h, "Ana");
    h.state_mut().prefs.screen = Screen::Settings;
    settle(&mut h, "settings", |app| {
        app.screens.settings.network.is_some()
    });
    for mode in NetworkMode::ALL {
        assert!(h.query_by_label(mode.title()).is_some(), "{}", mode.title());
        assert!(
            h.query_by_label(mode.reveals()).is_some(),
            "what {} reveals",
            mode.title()
        );
    }
    // The effective setting, and why, when the environment forces loopback-only.
    assert!(
        h.query_by_label_contains("In force now: Loopback only")
            .is_some()
    );
    h.get_by_role_and_label(egui::accesskit::Role::RadioButton, "Local network only")
        .click();
    for _ in 0..3 {
        h.step();
    }
    assert_eq!(
        h.state().screens.settings.network.as_ref().map(|n| n.mode),
        Some(NetworkMode::Local),
        "the choice is taken"
    );
    click(&mut h, "Apply network settings");
    settle(&mut h, "the node applied it", |app| {
        app.screens
            .settings
            .saved_network
            .as_ref()
            .is_some_and(|n| n.mode == NetworkMode::Local)
    });
    let Reply::Network(n) = d.request(&rt, Request::Network { set: None }) else {
        panic!("network settings")
    };
    assert_eq!(n.mode, NetworkMode::Local, "saved on the node's data dir");
    // Two team relays, added for the whole team from here, then one removed.
    for url in ["https://relay.example.org/", "https://spare.example.org/"] {
        type_into(&mut h, "Team relay URL to add", url);
        click(&mut h, "Add team relay");
        settle(&mut h, "the team relay in the document", |app| {
            app.snap
                .as_ref()
                .is_some_and(|s| s.team.relays.iter().any(|r| r.url == url))
        });
    }
    assert!(
        h.query_by_label_contains("1. https://relay.example.org/")
            .is_some()
            && h.query_by_label_contains("2. https://spare.example.org/")
                .is_some()
    );
    h.get_by_label("Remove https://relay.example.org/ from the team's relays")
        .click();
    settle(&mut h, "the first one removed", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.team
                .relays
                .iter()
                .map(|r| r.url.as_str())
                .collect::<Vec<_>>()
                == ["https://spare.example.org/"]
        })
    });
    // A relay of this device's own: a malformed one is refused in words, a good one
    // listed, and saved with "Apply network settings".
    h.get_by_role_and_label(
        egui::accesskit::Role::RadioButton,
        NetworkMode::Anywhere.title(),
    )
    .click();
    h.step();
    type_into(&mut h, "Relay URL to add", "https://mine.example.org/");
    click(&mut h, "Add relay");
    type_into(&mut h, "Relay URL to add", "relay.example.org");
    click(&mut h, "Add relay");
    assert!(
        h.query_by_label_contains("must start with https://")
            .is_some(),
        "says what to give"
    );
    click(&mut h, "Apply network settings");
    settle(&mut h, "the device's relay saved", |app| {
        app.screens
            .settings
            .saved_network
            .as_ref()
            .is_some_and(|n| {
                n.relays
                    .iter()
                    .any(|r| r.url == "https://mine.example.org/")
            })
    });
    drop(h);
    d.stop(&rt);
}

/// Makes an invite for a teammate on `d`'s node; returns the ticket.
fn ticket(rt: &tokio::runtime::Runtime, d: &Device) -> String {
    let Reply::Invited { ticket, .. } = d.request(
        rt,
        Request::Invite {
            team: None,
            expires_in_ms: 3_600_000,
            device: false,
        },
    ) else {
        panic!("no ticket")
    };
    ticket
}

/// Steps until a label containing `text` is on screen.
fn see(h: &mut Harness<'_, PeercoachApp>, text: &str) {
    let start = Instant::now();
    loop {
        h.step();
        if h.query_by_label_contains(text).is_some() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never saw {text:?}"
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

#[test]
fn a_failed_join_says_why_at_the_form_and_a_slow_one_can_be_cancelled() {
    let rt = runtime();
    let a = Device::fresh(&rt);
    a.request(
        &rt,
        Request::Init {
            name: "Ana".into(),
            team_name: "Platform".into(),
        },
    );
    let b = Device::fresh(&rt);
    let c = Device::fresh(&rt);
    let mut h = c.harness();
    settle(&mut h, "first run", |_| true);

    // Garbage: said at once, and the button stays off.
    type_into(&mut h, "Invite ticket", "peercoachnotaticket");
    type_into(&mut h, "Your name ", "Cleo");
    assert!(
        h.query_by_label_contains("Not a valid peercoach invite ticket")
            .is_some(),
        "said as a sentence, with a capital"
    );

    // A ticket Bo already used: what it says before joining, then why it failed.
    let used = ticket(&rt, &a);
    b.request(
        &rt,
        Request::Join {
            ticket: used.clone(),
            name: "Bo".into(),
        },
    );
    h.state_mut().screens.first_run.ticket = used;
    h.step();
    assert!(
        h.query_by_label_contains("Team Platform · invited by Ana")
            .is_some()
    );
    click(&mut h, "Join team");
    see(&mut h, "this invite was already used; ask for a new one");
    assert!(h.state().snap.is_none(), "still on the first-run screen");

    // An inviter that cannot be reached: the spinner says who, and Cancel stops it. Its
    // port swallows what arrives and answers nothing, as a laptop gone to sleep does.
    let fresh = ticket(&rt, &a);
    let addr = a.node().addrs()[0];
    a.stop(&rt);
    // The stopped endpoint lets go of its socket a moment after shutdown returns.
    let started = Instant::now();
    let _blackhole = loop {
        match std::net::UdpSocket::bind(addr) {
            Ok(socket) => break socket,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the inviter's old port is still in use"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the inviter's old port: {e}"),
        }
    };
    h.state_mut().screens.first_run.ticket = fresh;
    h.step();
    click(&mut h, "Join team");
    see(&mut h, "Reaching Ana's device…");
    click(&mut h, "Cancel");
    see(&mut h, "You cancelled the join");
    assert!(h.state().screens.first_run.joining.is_none());
    drop(h);
    b.stop(&rt);
    c.stop(&rt);
}

#[test]
fn a_used_invite_says_who_joined_and_offers_a_new_one() {
    let rt = runtime();
    let a = Device::fresh(&rt);
    let b = Device::fresh(&rt);
    let mut h = a.harness_sized(egui::vec2(1280.0, 1400.0));
    create_team(&mut h, "Ana");
    h.state_mut().prefs.screen = Screen::Sync;
    h.step();
    // Alone in the team: nobody to remove.
    assert!(h.query_by_label("Remove a member").is_none());
    // Its expiry is chosen by a list with its label before it, and starts on the same
    // default as `peercoach invite`: a day.
    assert!(h.query_by_label("Valid for").is_some());
    click(&mut h, "Invite a teammate");
    settle(&mut h, "the ticket", |app| {
        app.screens.sync.invite.is_some()
    });
    let left_ms = h
        .state()
        .screens
        .sync
        .invite
        .as_ref()
        .expect("invite")
        .expires_ms
        - peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    assert!(
        (left_ms - peercoach_node::join::DEFAULT_INVITE_EXPIRY_MS).abs() < 60_000,
        "valid for a day: {left_ms} ms"
    );
    click(&mut h, "Copy ticket");
    assert!(
        h.query_by_label("Copied").is_some(),
        "the button says it copied"
    );
    let ticket = h
        .state()
        .screens
        .sync
        .invite
        .clone()
        .expect("invite")
        .ticket;
    b.request(
        &rt,
        Request::Join {
            ticket,
            name: "Bo".into(),
        },
    );
    see(&mut h, "Bo joined with this invite");
    assert!(
        h.query_by_label("Invite ticket").is_none(),
        "the used ticket is gone"
    );
    assert!(h.query_by_label("Make a new invite").is_some());
    assert!(
        h.query_by_label("Remove a member").is_some(),
        "now there is someone"
    );
    drop(h);
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn the_sync_light_has_its_own_words_for_each_state() {
    let rt = runtime();
    let a = Device::fresh(&rt);
    let mut h = a.harness();
    create_team(&mut h, "Ana");
    // Alone in the team is not "offline": there is no one to reach yet.
    see(&mut h, "Just you so far");
    assert!(h.query_by_label("Synced").is_none());
    assert!(h.query_by_label("Offline: saved here").is_none());
    let b = Device::fresh(&rt);
    join(&rt, &a, &b, "Bo");
    ask(&mut h, "Something for Bo to sync");
    see(&mut h, "Synced");
    assert!(h.query_by_label("Offline: saved here").is_none());
    // The tooltip says who is online and how each is reached.
    settle(&mut h, "the path in the tooltip", |app| {
        app.sync_light().1.contains("Bo: direct")
    });
    assert_eq!(
        h.state().sync_light().0,
        peercoach_app::gui::theme::SyncLight::Green
    );
    // Bo's device goes away: now Ana is offline, with her edits safe here.
    b.stop(&rt);
    see(&mut h, "Offline: saved here");
    assert!(h.query_by_label("Just you so far").is_none());
    settle(&mut h, "why the light is grey", |app| {
        app.sync_light().1.contains("No teammate online")
    });
    drop(h);
    a.stop(&rt);
}

#[test]
fn after_yes_the_inbox_shows_the_advice_and_next_steps_and_thanks_reach_the_helper() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    let ana = ha
        .state()
        .snap
        .as_ref()
        .and_then(|s| s.me.clone())
        .expect("Ana");
    b.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::Offer(NewOffer {
                request: None,
                to: Some(ana),
                topic: "Release checklist".into(),
                message: "Start from last release's list".into(),
            }),
        },
    );
    settle(&mut ha, "the offer", |app| {
        !app.derived.inbox.offers_to_answer.is_empty()
    });
    ha.state_mut().prefs.screen = Screen::Inbox;
    ha.step();
    click(&mut ha, "Yes, please");
    settle(&mut ha, "the yes", |app| {
        !app.derived.inbox.agreed.is_empty()
    });
    assert!(
        ha.query_by_label_contains("You said yes to Ben's offer: Release checklist")
            .is_some()
    );
    assert!(
        ha.query_by_label("Start from last release's list")
            .is_some(),
        "the advice"
    );
    assert!(
        ha.query_by_label_contains("Next: find a time to meet Ben")
            .is_some()
    );
    assert!(ha.query_by_label("Log the session").is_some());
    type_into(&mut ha, "Thank Ben", "That list saved my afternoon");
    click(&mut ha, "Send thanks");
    settle(&mut ha, "the thanks", |app| {
        app.snap.as_ref().is_some_and(|s| !s.team.thanks.is_empty())
    });
    settle(&mut hb, "the thanks reaching Ben", |app| {
        !app.derived.inbox.thanks.is_empty()
    });
    hb.state_mut().prefs.screen = Screen::Inbox;
    hb.step();
    hb.step();
    assert!(hb.query_by_label("Ana thanked you").is_some());
    assert!(hb.query_by_label("That list saved my afternoon").is_some());
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn private_notes_are_marked_private_and_kept_with_the_session() {
    let rt = runtime();
    let a = Device::fresh(&rt);
    let b = Device::fresh(&rt);
    let mut h = a.harness_sized(egui::vec2(1280.0, 1600.0));
    create_team(&mut h, "Ana");
    join(&rt, &a, &b, "Ben");
    let snap = h.state().snap.clone().expect("team");
    let (ana, ben) = {
        let team = &snap.team;
        let ana = snap.me.clone().expect("Ana");
        let ben = team
            .current_members()
            .into_iter()
            .find(|m| m.name == "Ben")
            .map(|m| m.id.clone());
        (ana, ben)
    };
    let ben = match ben {
        Some(ben) => ben,
        None => {
            settle(&mut h, "Ben in the team", |app| {
                app.snap
                    .as_ref()
                    .is_some_and(|s| s.team.current_members().len() == 2)
            });
            h.state()
                .snap
                .as_ref()
                .and_then(|s| {
                    s.team
                        .current_members()
                        .into_iter()
                        .find(|m| m.name == "Ben")
                        .map(|m| m.id.clone())
                })
                .expect("Ben")
        }
    };
    let Reply::Done {
        created: Some(session),
        ..
    } = a.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::session_now(ben, ana, "Giving feedback"),
        },
    )
    else {
        panic!("session")
    };
    h.state_mut().prefs.screen = Screen::Sessions;
    settle(&mut h, "the session", |app| {
        !app.derived.sessions.is_empty()
    });
    h.state_mut().screens.sessions.selected =
        Some(peercoach_core::SessionId::try_from(session).expect("a session id"));
    for _ in 0..3 {
        h.step();
    }
    assert!(
        h.query_by_label("Only you can read this; it is kept on your devices.")
            .is_some()
    );
    assert!(
        h.query_by_label("Close this panel").is_some(),
        "unambiguous words"
    );
    type_into(
        &mut h,
        "Your private note",
        "I talked too much; ask more next time",
    );
    click(&mut h, "Save private note");
    settle(&mut h, "the note", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.notes
                .iter()
                .any(|n| n.text == "I talked too much; ask more next time")
        })
    });
    assert!(
        h.query_by_label("I talked too much; ask more next time")
            .is_some()
    );
    drop(h);
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn a_new_team_s_dashboard_says_what_will_appear_and_when() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    h.state_mut().prefs.screen = Screen::Dashboard;
    settle(&mut h, "metrics", |app| app.derived.metrics.is_some());
    assert!(
        h.query_by_label("Your dashboard fills in as you help each other")
            .is_some()
    );
    assert!(h.query_by_label_contains("at least 3 people").is_some());
    assert!(
        h.query_by_label_contains("Your team has 1 member so far")
            .is_some()
    );
    assert!(
        h.query_by_label("withheld").is_none(),
        "no wall of withheld cards"
    );
    drop(h);
    d.stop(&rt);
}

#[test]
fn reopening_the_window_shows_what_arrived_while_it_was_closed_at_once() {
    let rt = runtime();
    let a = Device::fresh(&rt);
    let b = Device::fresh(&rt);
    let mut h = a.harness();
    create_team(&mut h, "Ana");
    join(&rt, &a, &b, "Ben");
    // The window closes; the node (the app's process) keeps running.
    drop(h);
    b.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::Ask(NewRequest {
                title: "Asked while Ana's window was closed".into(),
                tried: String::new(),
                skills: vec![],
                urgency: peercoach_core::Urgency::Normal,
                to: None,
            }),
        },
    );
    let start = Instant::now();
    while !a.node().handle().snapshots().iter().any(|s| {
        s.team
            .requests
            .values()
            .any(|r| r.title.contains("while Ana's window"))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the edit reached Ana's device"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Reopened: the first frames show it, from the running node's snapshot.
    let mut h = a.harness();
    h.step();
    h.step();
    assert!(
        h.query_by_label("Asked while Ana's window was closed")
            .is_some()
    );
    drop(h);
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn a_click_on_a_notification_opens_the_window_on_its_record_and_quit_stops_the_app() {
    use peercoach_app::gui::Wake;
    use peercoach_node::api::{Show, ShowTarget};
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    ask(&mut h, "Pods restart after deploy");
    let request = h.state().derived.board[0].id.clone();
    let team = h.state().team_id().expect("team").to_string();
    let (wake, wakes) = std::sync::mpsc::channel();
    h.state_mut().wakes = Some(std::sync::Arc::new(std::sync::Mutex::new(wakes)));
    let shows = |h: &mut Harness<'_, PeercoachApp>, target: ShowTarget| {
        wake.send(Wake::Show(Some(Show {
            team: team.clone(),
            target,
        })))
        .expect("queued");
        h.step();
    };

    // Elsewhere in the app, a click on "Ben asks you for help" opens that request.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num2);
    settle(&mut h, "inbox", |app| app.prefs.screen == Screen::Inbox);
    shows(&mut h, ShowTarget::Request(request.to_string()));
    assert_eq!(h.state().prefs.screen, Screen::Board);
    assert_eq!(h.state().screens.board.selected, Some(request));
    // A summary of new asks opens the board; one of offers, the inbox.
    shows(&mut h, ShowTarget::Inbox);
    assert_eq!(h.state().prefs.screen, Screen::Inbox);
    shows(&mut h, ShowTarget::Board);
    assert_eq!(h.state().prefs.screen, Screen::Board);
    // `peercoach quit` (or Quit in another window of the app): the app stops.
    assert!(!h.state().quit.load(std::sync::atomic::Ordering::SeqCst));
    wake.send(Wake::Quit).expect("queued");
    h.step();
    assert!(h.state().quit.load(std::sync::atomic::Ordering::SeqCst));
    drop(h);
    d.stop(&rt);
}

#[test]
fn a_dropdown_s_label_comes_before_it_and_a_chip_never_breaks_inside_a_word() {
    use peercoach_app::gui::theme;
    let mut h = Harness::builder()
        .with_size(egui::vec2(200.0, 200.0))
        .build_ui(|ui| {
            theme::combo(ui, "Valid for", "1 day", |ui| {
                ui.label("1 hour");
            });
            // Far narrower than the word.
            ui.allocate_ui(egui::vec2(40.0, 100.0), |ui| {
                theme::chip(ui, "product-discovery", theme::ACCENT);
            });
        });
    h.run();
    let label = h
        .get_by_role_and_label(egui::accesskit::Role::Label, "Valid for")
        .rect();
    let combo = h
        .get_by_role_and_label(egui::accesskit::Role::ComboBox, "Valid for")
        .rect();
    assert!(label.max.x <= combo.min.x, "{label:?} before {combo:?}");
    assert!(
        (label.center().y - combo.center().y).abs() < 4.0,
        "on one line"
    );
    let chip = h.get_by_label("product-discovery").rect();
    // One line (of smaller text than the label's), not two.
    assert!(
        chip.height() < label.height() * 1.5,
        "one line, not broken: {chip:?}"
    );
    assert!(
        chip.width() > 40.0,
        "wider than its room rather than broken"
    );
}

/// Two days: a one-day invite made on a clock this far behind has expired.
const TWO_DAYS_BEHIND: i64 = -2 * 86_400_000;

#[test]
fn an_expired_invite_says_so_at_the_join_form_and_on_the_inviter_s_sync_screen() {
    let rt = runtime();
    let a = Device::fresh_skewed(&rt, TWO_DAYS_BEHIND);
    let mut ha = a.harness();
    create_team(&mut ha, "Ann");
    // Ann makes an invite on the Sync screen; by the clock on the wall it has expired.
    ha.state_mut().prefs.screen = Screen::Sync;
    settle(&mut ha, "the sync screen", |_| true);
    click(&mut ha, "Invite a teammate");
    settle(&mut ha, "the invite", |app| {
        app.screens.sync.invite.is_some()
    });
    see(&mut ha, "This invite expired at");
    assert!(
        ha.query_by_label("Make a new invite").is_some(),
        "a new one is offered"
    );
    let ticket = ha
        .state()
        .screens
        .sync
        .invite
        .clone()
        .expect("invite")
        .ticket;

    // Bo pastes it: the form says it expired, and whom to ask.
    let b = Device::fresh(&rt);
    let mut hb = b.harness();
    settle(&mut hb, "first run", |_| true);
    type_into(&mut hb, "Invite ticket", &ticket);
    see(&mut hb, "This invite expired on");
    assert!(
        hb.query_by_label_contains("ask Ann for a new one")
            .is_some(),
        "names the inviter"
    );
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

/// Bo's device as `status` would list it: connected, direct, lacking some of my changes.
fn bo_behind(status: &peercoach_node::api::StatusReply) -> peercoach_node::api::PeerStatus {
    peercoach_node::api::PeerStatus {
        member: "m".into(),
        name: "Bo".into(),
        endpoint_id: status.endpoint_id,
        connected: true,
        last_synced_ms: None,
        has_all_my_changes: false,
        path: Some("direct".into()),
        rtt_ms: Some(3),
        addrs: vec![],
        relay_url: None,
        published_relay: None,
        no_progress_ticks: 0,
        refused: vec![],
        older_app: false,
    }
}

#[test]
fn the_yellow_light_is_syncing_not_offline_and_names_how_each_peer_is_reached() {
    use peercoach_app::gui::theme::SyncLight;
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    settle(&mut h, "a status", |app| app.derived.status.is_some());
    // Bo's device is connected but lacks some of Ana's changes.
    let mut status = h.state().derived.status.clone().expect("status");
    status.peers = vec![peercoach_node::api::PeerStatus {
        path: Some("relay".into()),
        rtt_ms: Some(42),
        ..bo_behind(&status)
    }];
    h.state_mut().derived.status = Some(status);
    let (light, why) = h.state().sync_light();
    assert_eq!(light, SyncLight::Yellow);
    assert!(
        why.starts_with("Syncing with 1 online device: they do not have all your changes yet"),
        "{why}"
    );
    assert!(why.contains("Bo: via relay, 42 ms"), "{why}");
    h.step();
    assert!(h.query_by_label("Syncing…").is_some());
    assert!(h.query_by_label("Offline: saved here").is_none());
    assert!(h.query_by_label("Synced").is_none());
    // Each state has words of its own.
    let words: std::collections::BTreeSet<_> = [
        SyncLight::Green,
        SyncLight::Yellow,
        SyncLight::Gray,
        SyncLight::Alone,
        SyncLight::Red,
        SyncLight::Starting,
    ]
    .map(SyncLight::words)
    .into();
    assert_eq!(words.len(), 6);
    drop(h);
    d.stop(&rt);
}

#[test]
fn settings_switch_a_notification_kind_off_and_quit_stops_the_app() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    h.state_mut().prefs.screen = Screen::Settings;
    settle(&mut h, "the preferences", |app| {
        app.screens.settings.preferences.is_some()
    });
    h.get_by_label("Someone thanked me").click();
    settle(&mut h, "saved", |_| true);
    see(&mut h, "Notifications saved");
    let Reply::Preferences(saved) = d.request(&rt, Request::Preferences { set: None }) else {
        panic!("no preferences")
    };
    assert!(!saved.notifies("thanks"), "{saved:?}");
    assert!(saved.notifies("offer-to-answer"), "only that kind");
    assert!(!h.state().quit.load(std::sync::atomic::Ordering::SeqCst));
    click(&mut h, "Quit peercoach");
    assert!(h.state().quit.load(std::sync::atomic::Ordering::SeqCst));
    drop(h);
    // Ctrl+Q, anywhere, does the same.
    let mut h = d.harness();
    settle(&mut h, "the team", |app| app.snap.is_some());
    assert!(!h.state().quit.load(std::sync::atomic::Ordering::SeqCst));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Q);
    h.step();
    assert!(h.state().quit.load(std::sync::atomic::Ordering::SeqCst));
    drop(h);
    d.stop(&rt);
}

#[test]
fn a_peer_whose_sync_makes_no_progress_says_so_on_the_sync_screen() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    settle(&mut h, "a status", |app| app.derived.status.is_some());
    // Bo's device is connected, lacks some of Ana's changes, and its sync has not moved
    // for six ticks.
    let mut status = h.state().derived.status.clone().expect("status");
    status.peers = vec![peercoach_node::api::PeerStatus {
        no_progress_ticks: 6,
        ..bo_behind(&status)
    }];
    h.state_mut().derived.status = Some(status.clone());
    h.state_mut().prefs.screen = Screen::Sync;
    h.step();
    h.state_mut().derived.status = Some(status.clone());
    h.step();
    assert!(
        h.query_by_label("not yet · no progress for 12 s").is_some(),
        "the Sync screen says how long Bo's sync has not moved"
    );
    // Once it moves again, the plain words come back.
    status.peers[0].no_progress_ticks = 0;
    h.state_mut().derived.status = Some(status);
    h.step();
    assert!(h.query_by_label_contains("no progress").is_none());
    assert!(h.query_by_label("not yet").is_some());
}

#[test]
fn a_newer_peercoach_in_the_team_is_said_and_asking_still_works() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    // A newer build's change: the team's document with a larger schema_version, written
    // by this device (a newer app on it, whose edits a file brings back), imported as
    // an Automerge file. (An import takes only what this device wrote or a signature
    // vouches for.)
    let me = d.node().endpoint_id();
    let Reply::Exported { bytes_b64 } = d.request(
        &rt,
        Request::Export {
            team: None,
            format: peercoach_node::api::ExportFormat::Automerge,
            table: None,
            private_notes: false,
        },
    ) else {
        panic!("an export");
    };
    let bytes = peercoach_node::api::unb64(&bytes_b64).expect("base64");
    let mut doc = peercoach_core::automerge::AutoCommit::load(&bytes)
        .expect("the team's document")
        .with_actor(peercoach_core::session_actor(
            me.endpoint_id().as_bytes(),
            [7; 8],
        ));
    peercoach_core::automerge::transaction::Transactable::put(
        &mut doc,
        peercoach_core::automerge::ROOT,
        "schema_version",
        2_i64,
    )
    .expect("put");
    doc.commit();
    d.request(
        &rt,
        Request::Import {
            team: None,
            bytes_b64: peercoach_node::api::b64(&doc.save()),
        },
    );
    settle(&mut h, "the newer document", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.newer_schema.as_ref().is_some_and(|n| n.found == 2))
    });
    assert!(
        h.query_by_label_contains(
            "A teammate's device runs a newer peercoach (records of version 2"
        )
        .is_some(),
        "the window says a newer peercoach wrote to the team"
    );
    assert!(
        h.query_by_label_contains("read-only").is_none(),
        "and it is no lock"
    );
    click(&mut h, "Ask for help");
    assert!(h.query_by_label("Title").is_some(), "the ask form opens");
}

#[test]
fn a_device_that_joined_as_me_is_removed_with_one_click_on_the_sync_screen() {
    let rt = runtime();
    let (a, laptop) = (Device::fresh(&rt), Device::fresh(&rt));
    let mut h = a.harness_sized(egui::vec2(1280.0, 1400.0));
    create_team(&mut h, "Ana");
    // A second device links itself as Ana with a device ticket, whose lifetime is the
    // app's default for such tickets: minutes.
    let Reply::Invited {
        ticket, expires_ms, ..
    } = a.request(
        &rt,
        Request::Invite {
            team: None,
            expires_in_ms: peercoach_node::join::DEFAULT_DEVICE_INVITE_EXPIRY_MS,
            device: true,
        },
    )
    else {
        panic!("no ticket");
    };
    let now = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    assert!(
        expires_ms - now <= 3_600_000,
        "a device link lives an hour at most"
    );
    laptop.request(
        &rt,
        Request::Join {
            ticket,
            name: "old laptop".into(),
        },
    );
    h.state_mut().prefs.screen = Screen::Sync;
    settle(&mut h, "the linked device", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.me.as_ref()
                .and_then(|me| s.team.members.get(me))
                .is_some_and(|m| m.devices.iter().filter(|d| d.is_active()).count() == 2)
        })
    });
    assert!(h.query_by_label("My devices").is_some());
    assert!(
        h.query_by_role_and_label(egui::accesskit::Role::Button, "Remove This device")
            .is_none(),
        "the device in use has no remove button"
    );
    click(&mut h, "Remove old laptop");
    settle(&mut h, "the device removed", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.me.as_ref()
                .and_then(|me| s.team.members.get(me))
                .is_some_and(|m| m.devices.iter().filter(|d| d.is_active()).count() == 1)
        })
    });
    assert!(
        h.query_by_role_and_label(egui::accesskit::Role::Button, "Remove old laptop")
            .is_none()
    );
    drop(h);
    laptop.stop(&rt);
    a.stop(&rt);
}

#[test]
fn the_sync_screen_names_each_relay_and_says_what_to_try_when_none_answers() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    settle(&mut h, "a status", |app| app.derived.status.is_some());
    h.state_mut().prefs.screen = Screen::Sync;
    let relay = |url: &str, home: bool, answers: bool| peercoach_node::api::RelayStatus {
        url: url.into(),
        home,
        answers: Some(answers),
        fallback: false,
        refused: None,
    };
    // Two relays, the second one home; Bo reached through it.
    let mut status = h.state().derived.status.clone().expect("status");
    status.mode = "team-relay".into();
    status.relay_url = Some("https://b.example.org/".into());
    status.relays = vec![
        relay("https://b.example.org/", true, true),
        relay("https://a.example.org/", false, false),
    ];
    status.peers = vec![peercoach_node::api::PeerStatus {
        path: Some("relay".into()),
        relay_url: Some("https://b.example.org/".into()),
        rtt_ms: Some(40),
        ..bo_behind(&status)
    }];
    for _ in 0..3 {
        // The node's own status poll may land in between: ours is put back each frame.
        h.state_mut().derived.status = Some(status.clone());
        h.step();
    }
    assert!(
        h.query_by_label_contains("https://b.example.org/ (home, answers)")
            .is_some()
            && h.query_by_label_contains("https://a.example.org/ (does not answer)")
                .is_some()
    );
    assert!(
        h.query_by_label("via relay https://b.example.org/, 40 ms")
            .is_some()
    );
    assert!(h.query_by_label_contains("No relay answers").is_none());
    // Neither answers, and Bo has no direct path: it says so, and what to try.
    status.relay_url = None;
    status.relays = vec![
        relay("https://b.example.org/", false, false),
        relay("https://a.example.org/", false, false),
    ];
    status.peers = vec![peercoach_node::api::PeerStatus {
        connected: false,
        path: None,
        rtt_ms: None,
        ..bo_behind(&status)
    }];
    for _ in 0..3 {
        h.state_mut().derived.status = Some(status.clone());
        h.step();
    }
    assert!(
        h.query_by_label_contains("No relay answers now, and Bo cannot be reached directly")
            .is_some(),
        "the outage in words"
    );
    assert!(
        h.query_by_label_contains("switched on and reachable, or add a second relay")
            .is_some(),
        "and what to try"
    );
    drop(h);
    d.stop(&rt);
}

#[test]
fn a_team_of_one_is_shown_how_to_invite_the_others_and_the_step_opens_the_invite() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    h.state_mut().prefs.screen = Screen::Board;
    for _ in 0..3 {
        h.step();
    }
    assert!(h.query_by_label("Invite your team").is_some(), "the step");
    click(&mut h, "Invite a teammate…");
    settle(&mut h, "the invite on the Sync screen", |app| {
        app.screens.sync.invite.is_some()
    });
    assert_eq!(h.state().prefs.screen, Screen::Sync);
    drop(h);
    d.stop(&rt);
}

/// What is wrong with the last frame's layout: two widgets drawn over each other, or a
/// widget cut off at an edge with no scroll bar to bring it into view. Rectangles and
/// clips come from egui's record of the frame; names and roles from its accessibility tree.
fn layout_faults(h: &Harness<'_, PeercoachApp>) -> Vec<String> {
    use egui::accesskit::Role;
    let named: std::collections::HashMap<egui::accesskit::NodeId, (Role, String)> = h
        .query_all(By::new().predicate(|_| true))
        .map(|n| {
            let n = n.accesskit_node();
            let name = n.label().or_else(|| n.value()).unwrap_or_default();
            (n.locate().0, (n.role(), name.chars().take(40).collect()))
        })
        .collect();
    h.ctx.viewport(|v| {
        let mut faults = Vec::new();
        for (_, list) in v.prev_pass.widgets.layers() {
            let shown: Vec<_> = list
                .iter()
                .filter(|w| w.visible && w.rect.is_positive())
                .filter_map(|w| named.get(&w.id.accesskit_id()).map(|n| (w, n)))
                .collect();
            let bars: Vec<egui::Rect> = shown
                .iter()
                .filter(|(_, (role, _))| *role == Role::ScrollBar)
                .map(|(w, _)| w.rect)
                .collect();
            let widgets: Vec<_> = shown
                .iter()
                .filter(|(_, (role, _))| {
                    // What a person sees or uses; the containers around them follow.
                    !matches!(
                        role,
                        Role::ScrollBar | Role::Window | Role::GenericContainer | Role::Pane
                    )
                })
                .collect();
            for (i, (a, (role_a, name_a))) in widgets.iter().enumerate() {
                // Cut off: part of it is outside its clip, and no scroll bar reaches it. A
                // bar reaches a widget when the widget's visible part ends where the bar
                // does (its scroll area cut it there), or the widget lies wholly beyond
                // the bar's ends, on the side the bar can scroll to.
                let (r, seen) = (a.rect, a.interact_rect);
                let hidden = !seen.is_positive();
                let cut_x = !hidden && (r.min.x < seen.min.x - 1.0 || r.max.x > seen.max.x + 1.0);
                let cut_y = !hidden && (r.min.y < seen.min.y - 1.0 || r.max.y > seen.max.y + 1.0);
                let near = |a: f32, b: f32| (a - b).abs() < 2.0;
                let vertical = |b: &egui::Rect| {
                    b.height() > b.width()
                        && b.center().x > r.min.x
                        && if hidden {
                            r.max.y <= b.min.y + 1.0 || r.min.y >= b.max.y - 1.0
                        } else {
                            near(seen.min.y, b.min.y) || near(seen.max.y, b.max.y)
                        }
                };
                let horizontal = |b: &egui::Rect| {
                    b.width() > b.height()
                        && b.center().y > r.min.y
                        && if hidden {
                            r.max.x <= b.min.x + 1.0 || r.min.x >= b.max.x - 1.0
                        } else {
                            near(seen.min.x, b.min.x) || near(seen.max.x, b.max.x)
                        }
                };
                let reached = if hidden {
                    bars.iter().any(vertical) || bars.iter().any(horizontal)
                } else {
                    (!cut_y || bars.iter().any(vertical)) && (!cut_x || bars.iter().any(horizontal))
                };
                if (cut_x || cut_y || hidden) && !reached {
                    faults.push(format!(
                        "{role_a:?} {name_a:?} at {r:?} is cut off (seen: {seen:?})"
                    ));
                }
                if !seen.is_positive() {
                    continue;
                }
                // Drawn over another (a container holding a widget is not).
                for (b, (role_b, name_b)) in &widgets[i + 1..] {
                    if !b.interact_rect.is_positive() {
                        continue;
                    }
                    let (sa, sb) = (seen.shrink(1.0), b.interact_rect.shrink(1.0));
                    if sa.intersects(sb) && !sa.contains_rect(sb) && !sb.contains_rect(sa) {
                        faults.push(format!(
                            "{role_a:?} {name_a:?} at {sa:?} is drawn over {role_b:?} {name_b:?} at {sb:?}"
                        ));
                    }
                }
            }
        }
        faults
    })
}

/// Draws a few frames, so that sizes measured in one frame are laid out in the next.
fn frames(h: &mut Harness<'_, PeercoachApp>) {
    for _ in 0..4 {
        h.step();
    }
}

/// The window sizes people use, in points, at both scales: the app's minimum and a full
/// HD screen at 1×, and the same at 2× (a 4K screen).
const SIZES: [((f32, f32), f32); 4] = [
    ((900.0, 600.0), 1.0),
    ((1920.0, 1080.0), 1.0),
    ((900.0, 600.0), 2.0),
    ((1920.0, 1080.0), 2.0),
];

#[test]
fn every_screen_fits_the_window_at_the_smallest_and_largest_sizes_and_both_scales() {
    let rt = runtime();
    // Two generated teams, the second the one `peercoach demo` makes.
    for seed in [5, 7] {
        every_screen_fits(&rt, seed);
    }
    // The welcome screen, before there is a team.
    let fresh = Device::fresh(&rt);
    let mut h = fresh.harness();
    settle(&mut h, "first run", |_| true);
    for ((w, ht), scale) in SIZES {
        h.set_size(egui::vec2(w, ht));
        h.set_pixels_per_point(scale);
        frames(&mut h);
        let faults = layout_faults(&h);
        assert!(
            faults.is_empty(),
            "welcome at {w}×{ht}, {scale}×: {faults:#?}"
        );
    }
    drop(h);
    fresh.stop(&rt);
}

fn every_screen_fits(rt: &tokio::runtime::Runtime, seed: u64) {
    let (d, mut h) = demo_seeded(rt, seed);
    let request = h.state().derived.board.first().map(|r| r.id.clone());
    let session = h.state().derived.sessions.first().map(|s| s.id.clone());
    let closed = h.state().snap.as_ref().and_then(|s| {
        peercoach_core::views::closed(&s.team)
            .first()
            .map(|r| r.id.clone())
    });
    assert!(closed.is_some(), "the demo has closed requests");
    assert!(request.is_some() && session.is_some(), "the demo has both");
    let mut faults = Vec::new();
    let mut views = 0;
    for ((w, ht), scale) in SIZES {
        h.set_size(egui::vec2(w, ht));
        h.set_pixels_per_point(scale);
        let mut check = |h: &mut Harness<'static, PeercoachApp>, what: &str| {
            frames(h);
            views += 1;
            faults.extend(
                layout_faults(h)
                    .into_iter()
                    .map(|f| format!("{what} at {w}×{ht}, {scale}×: {f}")),
            );
        };
        for screen in Screen::ALL {
            h.state_mut().prefs.screen = screen;
            h.state_mut().screens.board.selected = None;
            h.state_mut().screens.sessions.selected = None;
            check(&mut h, screen.label());
        }
        h.state_mut().prefs.screen = Screen::Board;
        h.state_mut().screens.board.selected = request.clone();
        check(&mut h, "the board with a request open");
        h.state_mut().screens.board.show_closed = true;
        h.state_mut().screens.board.selected = closed.clone();
        check(&mut h, "the closed requests with one open");
        h.state_mut().screens.board.show_closed = false;
        h.state_mut().prefs.screen = Screen::Sessions;
        h.state_mut().screens.sessions.selected = session.clone();
        check(&mut h, "sessions with one open");
        h.state_mut().prefs.screen = Screen::Board;
        h.state_mut()
            .screens
            .dialogs
            .open(peercoach_app::gui::app::Action::Ask);
        check(&mut h, "the ask dialog");
        h.state_mut().screens.dialogs.close_all();
        h.state_mut().shortcut_sheet = true;
        check(&mut h, "the shortcut sheet");
        h.state_mut().shortcut_sheet = false;
    }
    assert_eq!(views, SIZES.len() * (Screen::ALL.len() + 5));
    assert!(faults.is_empty(), "seed {seed}: {}", faults.join("\n"));
    drop(h);
    d.stop(rt);
}

/// The widget that has the keyboard: its role and name.
fn focused(h: &Harness<'_, PeercoachApp>) -> Option<(egui::accesskit::Role, String)> {
    h.query_all(By::new().predicate(|n| n.is_focused()))
        .map(|n| {
            let n = n.accesskit_node();
            (
                n.role(),
                n.label().or_else(|| n.value()).unwrap_or_default(),
            )
        })
        .next()
}

/// Presses a key, with modifiers, and draws the frames that follow.
fn press(h: &mut Harness<'_, PeercoachApp>, modifiers: egui::Modifiers, key: egui::Key) {
    h.key_press_modifiers(modifiers, key);
    h.step();
    h.step();
}

/// Presses Tab until the widget named `name` has the keyboard.
fn tab_to(h: &mut Harness<'_, PeercoachApp>, name: &str) {
    for _ in 0..120 {
        if focused(h).is_some_and(|(_, n)| n == name) {
            return;
        }
        press(h, egui::Modifiers::NONE, egui::Key::Tab);
    }
    panic!("Tab never reached {name:?} (at {:?})", focused(h));
}

/// Types text where the keyboard is.
fn type_keys(h: &mut Harness<'_, PeercoachApp>, text: &str) {
    h.event(egui::Event::Text(text.to_owned()));
    h.step();
}

#[test]
fn the_main_flow_works_from_the_keyboard_alone() {
    use egui::{Key, Modifiers};
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    // Ana asks: Ctrl+N, and the title has the keyboard at once; Enter sends.
    press(&mut ha, Modifiers::COMMAND, Key::N);
    assert_eq!(
        focused(&ha).map(|(_, n)| n),
        Some("Title".to_owned()),
        "the form's first field has the keyboard"
    );
    type_keys(&mut ha, "Deploy keeps timing out");
    // Tab stays in the dialog: nothing behind it takes the keyboard.
    let mut seen = Vec::new();
    for _ in 0..16 {
        press(&mut ha, Modifiers::NONE, Key::Tab);
        let (_, name) = focused(&ha).expect("something has the keyboard");
        assert!(
            !Screen::ALL.iter().any(|s| name.starts_with(s.label())) && name != "Ask for help",
            "Tab left the dialog for {name:?} after {seen:?}"
        );
        seen.push(name);
    }
    assert!(seen.contains(&"Ask for help now".to_owned()), "{seen:?}");
    assert!(seen.contains(&"Cancel".to_owned()), "{seen:?}");
    tab_to(&mut ha, "Title");
    press(&mut ha, Modifiers::NONE, Key::Enter);
    settle(&mut ha, "the request", |app| {
        app.derived
            .board
            .iter()
            .any(|r| r.title == "Deploy keeps timing out")
    });
    assert!(
        !ha.state().screens.dialogs.ask.open,
        "Enter sent and closed it"
    );

    // Ben: to the board, Tab to the request (the list comes before anything else of
    // the board's), Enter opens it; the offer form's first field has the keyboard.
    settle(&mut hb, "the request reaching Ben", |app| {
        app.derived
            .board
            .iter()
            .any(|r| r.title == "Deploy keeps timing out")
    });
    press(&mut hb, Modifiers::COMMAND, Key::Num1);
    tab_to(&mut hb, "Deploy keeps timing out");
    press(&mut hb, Modifiers::NONE, Key::Enter);
    assert!(
        hb.state().screens.board.selected.is_some(),
        "Enter opened it"
    );
    tab_to(&mut hb, "Offer help…");
    press(&mut hb, Modifiers::NONE, Key::Enter);
    assert!(hb.state().screens.dialogs.offer.open);
    assert_eq!(
        focused(&hb).map(|(_, n)| n),
        Some("Advice (optional, shown only after a yes)".to_owned())
    );
    type_keys(&mut hb, "Raise the rollout timeout first");
    press(&mut hb, Modifiers::COMMAND, Key::Enter);
    settle(&mut hb, "the offer", |app| {
        app.snap.as_ref().is_some_and(|s| !s.team.offers.is_empty())
    });
    // Esc closes the request's detail.
    press(&mut hb, Modifiers::NONE, Key::Escape);
    assert!(hb.state().screens.board.selected.is_none(), "Esc closed it");

    // Ana: Inbox (Ctrl+2), Tab to "Yes, please", Enter.
    settle(&mut ha, "the offer reaching Ana", |app| {
        !app.derived.inbox.offers_to_answer.is_empty()
    });
    press(&mut ha, Modifiers::COMMAND, Key::Num2);
    assert_eq!(ha.state().prefs.screen, Screen::Inbox);
    tab_to(&mut ha, "Yes, please");
    press(&mut ha, Modifiers::NONE, Key::Enter);
    settle(&mut ha, "the yes", |app| {
        app.derived.inbox.offers_to_answer.is_empty()
    });

    // Ben logs the session: Inbox, Tab to "Log the session", Enter; the topic is filled
    // in and has the keyboard; Enter saves.
    settle(&mut hb, "the yes reaching Ben", |app| {
        !app.derived.inbox.accepted_offers.is_empty()
    });
    press(&mut hb, Modifiers::COMMAND, Key::Num2);
    tab_to(&mut hb, "Log the session");
    press(&mut hb, Modifiers::NONE, Key::Enter);
    assert!(hb.state().screens.dialogs.session.open);
    assert_eq!(focused(&hb).map(|(_, n)| n), Some("Topic".to_owned()));
    press(&mut hb, Modifiers::NONE, Key::Enter);
    settle(&mut hb, "the session", |app| {
        !app.derived.sessions.is_empty()
    });
    assert!(!hb.state().screens.dialogs.session.open);

    // Ana thanks Ben from the session: Sessions (Ctrl+3), Tab to it, Enter, Tab to the
    // thanks field, type, Enter.
    settle(&mut ha, "the session reaching Ana", |app| {
        !app.derived.sessions.is_empty()
    });
    press(&mut ha, Modifiers::COMMAND, Key::Num3);
    tab_to(&mut ha, "Ben coached Ana: Deploy keeps timing out");
    press(&mut ha, Modifiers::NONE, Key::Enter);
    tab_to(&mut ha, "Thanks note");
    type_keys(&mut ha, "The timeout was it, thank you");
    press(&mut ha, Modifiers::NONE, Key::Enter);
    settle(&mut ha, "the thanks", |app| {
        app.snap.as_ref().is_some_and(|s| !s.team.thanks.is_empty())
    });
    settle(&mut hb, "the thanks reaching Ben", |app| {
        !app.derived.inbox.thanks.is_empty()
    });

    // F1 shows the shortcuts, Esc hides them; the sidebar names each screen's.
    press(&mut ha, Modifiers::NONE, Key::F1);
    assert!(ha.query_by_label("Keyboard shortcuts").is_some());
    assert!(ha.query_by_label("Go to Dashboard").is_some());
    press(&mut ha, Modifiers::NONE, Key::Escape);
    assert!(!ha.state().shortcut_sheet);
    assert!(
        ha.query_by_label_contains("Ctrl+6").is_some(),
        "the sidebar's shortcut"
    );
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn each_screen_keeps_its_own_scroll_position() {
    let rt = runtime();
    let (d, mut h) = demo(&rt);
    h.set_size(egui::vec2(900.0, 600.0));
    h.state_mut().prefs.screen = Screen::Team;
    frames(&mut h);
    let top = h.get_by_label("Members and skills").rect().min.y;
    // Scroll Settings far down.
    h.state_mut().prefs.screen = Screen::Settings;
    frames(&mut h);
    let before = h.get_by_label("Appearance").rect().min.y;
    h.get_by_label("Appearance").hover();
    for _ in 0..10 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -200.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        h.step();
    }
    frames(&mut h);
    let after = h.get_by_label("Appearance").rect().min.y;
    assert!(
        after < before - 100.0,
        "Settings scrolled: {before} → {after}"
    );
    // Team opens where it was, at its top; Settings where it was left.
    h.state_mut().prefs.screen = Screen::Team;
    frames(&mut h);
    assert_eq!(h.get_by_label("Members and skills").rect().min.y, top);
    h.state_mut().prefs.screen = Screen::Settings;
    frames(&mut h);
    assert_eq!(h.get_by_label("Appearance").rect().min.y, after);
    drop(h);
    d.stop(&rt);
}

#[test]
fn an_open_request_names_who_could_help_and_its_author_asks_one_of_them() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    // Ben can coach rust; Ana asks about it.
    b.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::SetSkill {
                skill: "rust".into(),
                level: Some(peercoach_core::SkillLevel::CanCoach),
            },
        },
    );
    settle(&mut ha, "Ben's skill reaching Ana", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.team
                .current_members()
                .iter()
                .any(|m| m.name == "Ben" && !m.skills.is_empty())
        })
    });
    click(&mut ha, "Ask for help");
    type_into(&mut ha, "Title", "Lifetimes in an async trait");
    type_into(&mut ha, "Skills", "rust");
    click(&mut ha, "Ask for help now");
    settle(&mut ha, "the request", |app| !app.derived.board.is_empty());
    click(&mut ha, "Lifetimes in an async trait");
    assert!(ha.query_by_label("Who could help").is_some());
    assert!(
        ha.query_by_label("can coach rust · first time with Ana")
            .is_some()
    );
    // Ana asks Ben: the request is aimed at him, on both devices.
    click(&mut ha, "Ask Ben");
    settle(&mut ha, "the request aimed at Ben", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.requests.values().any(|r| r.to.is_some()))
    });
    assert!(ha.query_by_label_contains("request for Ben").is_some());
    // Ben is asked already: no longer suggested, and Ana can go back to the whole team.
    assert!(ha.query_by_label("Ask Ben").is_none());
    assert!(ha.query_by_label("Ask the whole team instead").is_some());
    settle(&mut hb, "the aim reaching Ben", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.requests.values().any(|r| r.to.is_some()))
    });
    settle(&mut hb, "Ben's inbox", |app| {
        !app.derived.inbox.requests_for_me.is_empty()
    });
    // Ben sees the panel too: nobody else to suggest (he is asked, Ana asked), and no
    // button to aim someone else's request.
    hb.state_mut().screens.board.selected = hb.state().derived.board.first().map(|r| r.id.clone());
    for _ in 0..3 {
        hb.step();
    }
    assert!(hb.query_by_label("Who could help").is_some());
    assert!(
        hb.query_by_label_contains("Nobody else who is around")
            .is_some()
    );
    assert!(hb.query_by_label("Ask the whole team instead").is_none());
    click(&mut ha, "Ask the whole team instead");
    settle(&mut ha, "the request for the whole team", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.requests.values().all(|r| r.to.is_none()))
    });
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn a_resolved_request_is_found_under_closed_and_its_author_reopens_it_for_everyone() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_asks_and_ben_sees(&rt, "Flaky deploys");
    click(&mut ha, "Flaky deploys");
    click(&mut ha, "Resolve");
    settle(&mut ha, "the request resolved", |app| {
        app.derived.board.is_empty()
    });
    settle(&mut hb, "the resolution reaching Ben", |app| {
        app.derived.board.is_empty()
    });
    // Gone from the board, found under Closed, with when and how.
    click(&mut ha, "Closed (1)");
    click(&mut ha, "Flaky deploys");
    assert!(ha.query_by_label_contains("Resolved on").is_some());
    // Ben sees it too, and cannot reopen Ana's request.
    click(&mut hb, "Closed (1)");
    click(&mut hb, "Flaky deploys");
    assert!(hb.query_by_label_contains("Resolved on").is_some());
    assert!(hb.query_by_label("Reopen").is_none());
    // Ana reopens: back on the board, on both devices, and shown where it now is.
    click(&mut ha, "Reopen");
    settle(&mut ha, "the request reopened", |app| {
        app.derived.board.len() == 1
    });
    assert!(!ha.state().screens.board.show_closed);
    assert!(
        ha.query_by_label("Resolve").is_some(),
        "open again: {:?}",
        ha.state().screens.board.selected
    );
    settle(&mut hb, "the reopening reaching Ben", |app| {
        app.derived.board.len() == 1
    });
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn after_a_yes_others_see_who_helps_and_after_the_session_the_coachee_is_asked_to_thank_and_resolve()
 {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    let c = Device::fresh(&rt);
    join(&rt, &a, &c, "Cleo");
    let mut hc = c.harness();
    settle(&mut hc, "Cleo's copy", |app| {
        app.snap.as_ref().is_some_and(|s| s.me.is_some())
    });
    ask(&mut ha, "Flaky deploys");
    settle(&mut hb, "the request reaching Ben", |app| {
        !app.derived.board.is_empty()
    });
    let request = hb.state().derived.board[0].id.clone();
    let offer = match b.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::Offer(NewOffer {
                request: Some(request.clone()),
                to: None,
                topic: String::new(),
                message: "Pin the runner image".into(),
            }),
        },
    ) {
        Reply::Done { created, .. } => created.expect("an offer").to_string(),
        other => panic!("{other:?}"),
    };
    settle(&mut ha, "the offer reaching Ana", |app| {
        !app.derived.inbox.offers_to_answer.is_empty()
    });
    a.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::Respond {
                offer: peercoach_core::OfferId::parse(&offer).expect("id"),
                answer: peercoach_core::Answer::Yes,
            },
        },
    );
    // Cleo sees who helps, and is not invited to offer a second time.
    settle(&mut hc, "the yes reaching Cleo", |app| {
        app.derived
            .board
            .first()
            .is_some_and(|r| r.helped_by.as_deref() == Some("Ben"))
    });
    hc.state_mut().screens.board.selected = Some(request.clone());
    for _ in 0..3 {
        hc.step();
    }
    // In the list's row and in the detail.
    assert_eq!(
        hc.query_all_by_label_contains("being helped by Ben")
            .count(),
        2
    );
    assert!(
        hc.query_by_label_contains("Ana is being helped by Ben: no need to offer too")
            .is_some()
    );
    assert!(hc.query_by_label("Offer help…").is_none());
    assert!(hc.query_by_label("I'm on it").is_none());

    // Ben logs the session: the request's skills are filled in, and a date two days ago.
    settle(&mut hb, "the yes reaching Ben", |app| {
        !app.derived.inbox.accepted_offers.is_empty()
    });
    hb.state_mut().prefs.screen = Screen::Inbox;
    hb.step();
    click(&mut hb, "Log the session");
    assert_eq!(hb.state().screens.dialogs.session.skills, "kubernetes, ops");
    let now = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    let two_days_ago = peercoach_app::local::date(now - 2 * peercoach_core::time::DAY_MS);
    type_into(&mut hb, "Date", &two_days_ago);
    click(&mut hb, "Save session");
    settle(&mut hb, "the session", |app| {
        !app.derived.sessions.is_empty()
    });
    let session = hb.state().derived.sessions[0].clone();
    assert_eq!(session.skills, ["kubernetes", "ops"]);
    assert_eq!(peercoach_app::local::date(session.at_ms), two_days_ago);
    // Shown with its skills in the list and the detail; a follow-up with owner and due.
    hb.state_mut().prefs.screen = Screen::Sessions;
    hb.state_mut().screens.sessions.selected = Some(session.id.clone());
    for _ in 0..3 {
        hb.step();
    }
    assert!(
        hb.query_all_by_label("kubernetes").count() >= 2,
        "list and detail"
    );
    type_into(&mut hb, "New follow-up", "Share the runbook");
    hb.get_by_role_and_label(egui::accesskit::Role::RadioButton, "Ben")
        .click();
    hb.step();
    let in_a_week = peercoach_app::local::date(now + 7 * peercoach_core::time::DAY_MS);
    type_into(&mut hb, "Due (optional)", &in_a_week);
    click(&mut hb, "Add follow-up");
    settle(&mut hb, "the follow-up", |app| {
        app.derived
            .sessions
            .first()
            .is_some_and(|s| !s.followups.is_empty())
    });
    let team = hb.state().snap.clone().expect("team");
    let u = &team.team.sessions[&session.id].followups[0];
    let ben = team.me.clone().expect("Ben");
    assert_eq!(u.owner, ben, "Ben's, as chosen");
    assert_eq!(
        u.due_ms.map(peercoach_app::local::date),
        Some(in_a_week.clone())
    );

    // Ana, coached: thank Ben and resolve the request are kept in her inbox.
    settle(&mut ha, "the session reaching Ana", |app| {
        !app.derived.inbox.after_sessions.is_empty()
    });
    ha.state_mut().prefs.screen = Screen::Inbox;
    for _ in 0..3 {
        ha.step();
    }
    assert!(ha.query_by_label("After your sessions").is_some());
    assert!(
        ha.query_by_label("Ben coached you: Flaky deploys")
            .is_some()
    );
    assert!(
        ha.query_by_label_contains("\"Flaky deploys\" is still open")
            .is_some()
    );
    type_into(&mut ha, "Thank Ben", "Pinning did it");
    ha.key_press(egui::Key::Enter);
    settle(&mut ha, "the thanks", |app| {
        app.derived
            .inbox
            .after_sessions
            .first()
            .is_some_and(|x| !x.thank)
    });
    assert!(ha.query_by_label("Thank Ben").is_none());
    click(&mut ha, "Keep it open");
    for _ in 0..3 {
        ha.step();
    }
    assert!(
        ha.query_by_label("After your sessions").is_none(),
        "both done or dismissed"
    );
    assert!(!ha.state().derived.board.is_empty(), "kept open, as asked");
    drop((ha, hb, hc));
    a.stop(&rt);
    b.stop(&rt);
    c.stop(&rt);
}

/// Ben offers Ana help straight to her, and Ana's device says yes; the offer's id.
fn ben_offers_and_ana_says_yes(
    rt: &tokio::runtime::Runtime,
    a: &Device,
    b: &Device,
    ha: &mut Harness<'static, PeercoachApp>,
) -> peercoach_core::OfferId {
    let ana = ha
        .state()
        .snap
        .as_ref()
        .and_then(|s| s.me.clone())
        .expect("Ana");
    let offer = match b.request(
        rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::Offer(NewOffer {
                request: None,
                to: Some(ana),
                topic: "Release checklist".into(),
                message: String::new(),
            }),
        },
    ) {
        Reply::Done { created, .. } => {
            peercoach_core::OfferId::parse(&created.expect("an offer").to_string()).expect("id")
        }
        other => panic!("{other:?}"),
    };
    settle(ha, "the offer reaching Ana", |app| {
        !app.derived.inbox.offers_to_answer.is_empty()
    });
    a.request(
        rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::Respond {
                offer: offer.clone(),
                answer: peercoach_core::Answer::Yes,
            },
        },
    );
    offer
}

#[test]
fn after_a_yes_one_proposes_times_the_other_picks_one_and_both_see_the_session_scheduled() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    let offer = ben_offers_and_ana_says_yes(&rt, &a, &b, &mut ha);
    settle(&mut ha, "the yes in Ana's inbox", |app| {
        !app.derived.inbox.agreed.is_empty()
    });
    ha.state_mut().prefs.screen = Screen::Inbox;
    for _ in 0..3 {
        ha.step();
    }
    // Times that suit both are offered, ticked and sent.
    let times = ha.state().derived.meet_times[&offer].clone();
    assert_eq!(times.len(), 3, "three days with working hours free");
    assert!(ha.query_by_label("Times that suit you both").is_some());
    ha.get_by_label(&peercoach_app::local::day_time(times[0]))
        .click();
    ha.step();
    ha.get_by_label(&peercoach_app::local::day_time(times[2]))
        .click();
    ha.step();
    click(&mut ha, "Propose 2 times");
    settle(&mut ha, "the proposal", |app| {
        app.derived
            .inbox
            .agreed
            .first()
            .is_some_and(|o| matches!(o.meet, peercoach_core::records::meet::Meet::Proposed(_)))
    });
    assert!(
        ha.query_by_label_contains("Waiting for Ben to pick one")
            .is_some()
    );
    // Ben sees them and picks the later one.
    settle(&mut hb, "the proposal reaching Ben", |app| {
        app.derived
            .inbox
            .accepted_offers
            .first()
            .is_some_and(|o| matches!(o.meet, peercoach_core::records::meet::Meet::Proposed(_)))
    });
    hb.state_mut().prefs.screen = Screen::Inbox;
    for _ in 0..3 {
        hb.step();
    }
    assert!(
        hb.query_by_label_contains("Ana proposed times (30 minutes)")
            .is_some()
    );
    assert!(hb.query_by_label("None of these work").is_some());
    click(&mut hb, &peercoach_app::local::day_time(times[2]));
    for (h, who) in [(&mut hb, "Ben"), (&mut ha, "Ana")] {
        settle(h, &format!("the scheduled session at {who}'s"), |app| {
            app.derived.sessions.iter().any(|s| s.at_ms == times[2])
        });
        // Out of the inbox; in Sessions as scheduled, with a way into the calendar.
        assert!(h.state().derived.inbox.agreed.is_empty());
        assert!(h.state().derived.inbox.accepted_offers.is_empty());
        let id = h.state().derived.sessions[0].id.clone();
        h.state_mut().prefs.screen = Screen::Sessions;
        h.state_mut().screens.sessions.selected = Some(id);
        for _ in 0..3 {
            h.step();
        }
        assert!(h.query_by_label_contains("Ben will coach Ana on").is_some());
        assert!(h.query_by_label("Add to calendar").is_some());
        assert!(h.query_by_label("Cancel this session").is_some());
    }
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn a_week_after_a_yes_with_no_session_both_are_asked_did_you_meet() {
    let rt = runtime();
    let (a, b, ha, mut hb) = ana_and_ben(&rt);
    // Ana's device then runs eight days behind: her yes is a week old for Ben.
    drop(ha);
    let a = a.restart_skewed(&rt, -8 * peercoach_core::time::DAY_MS);
    let mut ha = a.harness();
    settle(&mut ha, "Ana's team", |app| {
        app.snap.as_ref().is_some_and(|s| s.me.is_some())
    });
    let offer = ben_offers_and_ana_says_yes(&rt, &a, &b, &mut ha);
    settle(&mut hb, "the yes reaching Ben", |app| {
        !app.derived.inbox.accepted_offers.is_empty()
    });
    hb.state_mut().prefs.screen = Screen::Inbox;
    for _ in 0..3 {
        hb.step();
    }
    assert!(hb.query_by_label("Did you meet Ana?").is_some());
    // Not yet: asked again in three days, not now.
    click(&mut hb, "Not yet");
    let key = offer.to_string();
    settle(&mut hb, "the not yet saved", |app| {
        app.screens
            .settings
            .preferences
            .as_ref()
            .is_some_and(|p| p.not_yet.contains_key(&key))
    });
    assert!(hb.query_by_label("Did you meet Ana?").is_none());
    // A device preference, so the notifier asks again too, in three days.
    let saved = || match b.request(&rt, Request::Preferences { set: None }) {
        Reply::Preferences(saved) => saved,
        other => panic!("no preferences: {other:?}"),
    };
    let start = Instant::now();
    while !saved().not_yet.contains_key(&key) {
        assert!(start.elapsed() < Duration::from_secs(10), "never saved");
        hb.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let now = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    let again = saved().not_yet[&key];
    assert!(
        (again - now - 3 * peercoach_core::time::DAY_MS).abs() < 60_000,
        "{again}"
    );
    // Yes opens the session form, filled in.
    if let Some(p) = hb.state_mut().screens.settings.preferences.as_mut() {
        p.not_yet.clear();
    }
    for _ in 0..3 {
        hb.step();
    }
    click(&mut hb, "Yes, log the session");
    assert_eq!(
        hb.state().screens.dialogs.session.topic,
        "Release checklist"
    );
    press(&mut hb, egui::Modifiers::NONE, egui::Key::Escape);
    // No: the offer ends on both devices.
    click(&mut hb, "No, we won't meet");
    settle(&mut ha, "the end reaching Ana", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.offers[&offer].status() == peercoach_core::OfferStatus::Ended)
    });
    settle(&mut hb, "the offer leaving Ben's inbox", |app| {
        app.derived.inbox.accepted_offers.is_empty()
    });
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn ctrl_f_searches_everything_and_a_result_opens_its_record() {
    let rt = runtime();
    let (d, mut h) = demo(&rt);
    press(&mut h, egui::Modifiers::COMMAND, egui::Key::F);
    h.step();
    assert_eq!(
        focused(&h),
        Some((egui::accesskit::Role::TextInput, "Search".to_owned())),
        "Ctrl+F puts the cursor in the search field"
    );
    type_keys(&mut h, "flaky");
    for _ in 0..3 {
        h.step();
    }
    // Grouped by kind, each group counted; the matched word is in every result.
    assert!(h.query_by_label_contains("results for \"flaky\"").is_some());
    assert!(h.query_by_label_contains("Requests (").is_some());
    assert!(h.query_by_label_contains("Sessions (").is_some());
    let title = h
        .query_all_by_role(egui::accesskit::Role::Link)
        .next()
        .and_then(|n| n.accesskit_node().label())
        .expect("a result");
    assert!(title.to_lowercase().contains("flaky"), "{title}");
    // Opening one shows its record and clears the search.
    h.query_all_by_role(egui::accesskit::Role::Link)
        .next()
        .expect("a result")
        .click();
    for _ in 0..3 {
        h.step();
    }
    assert!(!h.state().screens.search.active());
    let shown = h.state().screens.board.selected.clone();
    let team = h.state().snap.clone().expect("team");
    let open = shown
        .and_then(|id| team.team.requests.get(&id).map(|r| r.title.clone()))
        .or_else(|| {
            h.state()
                .screens
                .sessions
                .selected
                .as_ref()
                .and_then(|id| team.team.sessions.get(id).map(|s| s.topic.clone()))
        })
        .expect("a record open");
    assert!(open.to_lowercase().contains("flaky"), "{open}");
    // Esc clears a search, and nothing is found for words no record has together.
    h.state_mut().screens.search.query = "flaky zebra".into();
    h.step();
    h.step();
    assert!(
        h.query_by_label_contains("Nothing you may read has all of")
            .is_some()
    );
    press(&mut h, egui::Modifiers::NONE, egui::Key::Escape);
    assert!(!h.state().screens.search.active());
    drop(h);
    d.stop(&rt);
}

#[test]
fn undo_in_the_status_bar_and_ctrl_z_take_back_a_resolve_and_a_withdrawal_on_both_devices() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_asks_and_ben_sees(&rt, "Flaky deploys");
    click(&mut ha, "Flaky deploys");
    assert!(ha.query_by_label("Undo").is_none(), "nothing to undo yet");
    click(&mut ha, "Resolve");
    settle(&mut ha, "the request resolved", |app| {
        app.derived.board.is_empty()
    });
    settle(&mut hb, "the resolution reaching Ben", |app| {
        app.derived.board.is_empty()
    });
    // The status bar says what was done and offers to take it back.
    assert!(
        ha.query_by_label_contains("Resolved: Flaky deploys")
            .is_some()
    );
    click(&mut ha, "Undo");
    settle(&mut ha, "the resolve undone", |app| {
        app.derived.board.len() == 1
    });
    assert!(ha.query_by_label_contains("Undone").is_some());
    assert!(ha.query_by_label("Undo").is_none(), "taken back once");
    settle(&mut hb, "the undo reaching Ben", |app| {
        app.derived.board.len() == 1
    });
    // History keeps both: the undo is a new change.
    let history: Vec<String> = ha
        .state()
        .snap
        .as_ref()
        .map(|s| {
            peercoach_core::views::history(&s.team)
                .into_iter()
                .map(|h| h.text)
                .collect()
        })
        .unwrap_or_default();
    assert!(
        history.contains(&"resolved: Flaky deploys".to_owned()),
        "{history:?}"
    );
    assert!(
        history.contains(&"reopened: Flaky deploys".to_owned()),
        "{history:?}"
    );
    // Withdrawn (the request is still open in its panel), then Ctrl+Z, with no text
    // field holding the keys.
    assert!(ha.state().screens.board.selected.is_some());
    click(&mut ha, "Withdraw");
    settle(&mut ha, "the request withdrawn", |app| {
        app.derived.board.is_empty()
    });
    press(&mut ha, egui::Modifiers::COMMAND, egui::Key::Z);
    settle(&mut ha, "the withdrawal undone", |app| {
        app.derived.board.len() == 1
    });
    settle(&mut hb, "the second undo reaching Ben", |app| {
        app.derived.board.len() == 1
    });
    // Nothing more to take back: Ctrl+Z says so and changes nothing.
    press(&mut ha, egui::Modifiers::COMMAND, egui::Key::Z);
    settle(&mut ha, "the answer", |_| true);
    assert!(ha.query_by_label("Nothing to undo").is_some());
    assert_eq!(ha.state().derived.board.len(), 1);
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn ctrl_z_in_a_text_field_undoes_typing_not_the_last_action() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness();
    create_team(&mut h, "Ana");
    ask(&mut h, "Flaky deploys");
    click(&mut h, "Flaky deploys");
    click(&mut h, "Resolve");
    settle(&mut h, "the request resolved", |app| {
        app.derived.board.is_empty()
    });
    h.state_mut().prefs.screen = Screen::History;
    h.step();
    type_into(&mut h, "Filter", "deploys");
    press(&mut h, egui::Modifiers::COMMAND, egui::Key::Z);
    settle(&mut h, "a frame", |_| true);
    assert!(h.state().derived.board.is_empty(), "still resolved");
    assert!(
        h.state().undo.is_some(),
        "the resolve can still be taken back"
    );
    drop(h);
    d.stop(&rt);
}

#[test]
fn a_removed_duty_and_a_deleted_note_go_to_the_trash_and_history_restores_them() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness_sized(egui::vec2(1280.0, 1400.0));
    create_team(&mut h, "Ana");
    // A duty, removed: it leaves Backfill and is in the trash.
    h.state_mut().prefs.screen = Screen::Backfill;
    h.step();
    type_into(&mut h, "New duty of mine", "Release notes");
    click(&mut h, "Add duty");
    settle(&mut h, "the duty", |app| {
        app.snap.as_ref().is_some_and(|s| !s.team.duties.is_empty())
    });
    click(&mut h, "Remove duty");
    settle(&mut h, "the duty removed", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.duties.values().all(|d| d.deleted_ms.is_some()))
    });
    assert!(h.query_by_label("Release notes").is_none());
    // A private note on a request, deleted.
    ask(&mut h, "Flaky deploys");
    h.state_mut().prefs.screen = Screen::Board;
    h.step();
    click(&mut h, "Flaky deploys");
    type_into(&mut h, "Your private note", "Ask Ben about retries");
    click(&mut h, "Save private note");
    settle(&mut h, "the note", |app| {
        app.snap.as_ref().is_some_and(|s| !s.notes.is_empty())
    });
    click(&mut h, "Delete");
    settle(&mut h, "the note deleted", |app| {
        app.snap.as_ref().is_some_and(|s| s.notes.is_empty())
    });
    // History's trash lists both, and restores each.
    h.state_mut().prefs.screen = Screen::History;
    settle(&mut h, "the trash", |app| {
        app.screens.history.trash.len() == 2
    });
    h.get_by_label("Trash (2)").click();
    for _ in 0..3 {
        h.step();
    }
    assert!(h.query_by_label("Release notes (Ana)").is_some());
    assert!(h.query_by_label("Ask Ben about retries").is_some());
    h.query_all_by_role_and_label(egui::accesskit::Role::Button, "Restore")
        .next()
        .expect("a Restore button")
        .click();
    settle(&mut h, "one restored", |app| {
        app.screens.history.trash.len() == 1
    });
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Restore")
        .click();
    settle(&mut h, "both restored", |app| {
        app.screens.history.trash.is_empty()
            && app.snap.as_ref().is_some_and(|s| {
                s.notes.len() == 1 && s.team.duties.values().all(|d| d.deleted_ms.is_none())
            })
    });
    assert!(h.query_by_label("Trash (empty)").is_some());
    // A history line opens the record it is about.
    click(&mut h, "Ana listed a duty: Release notes");
    settle(&mut h, "Backfill", |app| {
        app.prefs.screen == Screen::Backfill
    });
    assert!(h.query_by_label("Release notes").is_some());
    drop(h);
    d.stop(&rt);
}

#[test]
fn a_request_panel_shows_its_own_history() {
    let rt = runtime();
    let d = Device::fresh(&rt);
    let mut h = d.harness_sized(egui::vec2(1280.0, 1400.0));
    create_team(&mut h, "Ana");
    ask(&mut h, "Flaky deploys");
    click(&mut h, "Flaky deploys");
    type_into(&mut h, "Add a comment", "Seen again on Tuesday");
    click(&mut h, "Post comment");
    settle(&mut h, "the comment", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.requests.values().any(|r| !r.comments.is_empty()))
    });
    h.get_by_label("History").click();
    for _ in 0..3 {
        h.step();
    }
    assert!(
        h.query_by_label("Ana asked for help: Flaky deploys")
            .is_some()
    );
    assert!(
        h.query_by_label("Ana commented on: Flaky deploys")
            .is_some()
    );
    drop(h);
    d.stop(&rt);
}

#[test]
fn the_author_edits_a_request_and_both_devices_show_it_with_the_edit_in_its_history() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_asks_and_ben_sees(&rt, "Flaky deploys");
    // Ben may not edit Ana's request: no Edit for him.
    click(&mut hb, "Flaky deploys");
    assert!(hb.query_by_label("Edit").is_none());
    click(&mut ha, "Flaky deploys");
    click(&mut ha, "Edit");
    // The form is filled in from the request.
    assert_eq!(
        ha.state()
            .screens
            .board
            .editing
            .as_ref()
            .map(|(_, d)| d.tried.clone()),
        Some("Restarting it".to_owned())
    );
    type_into(&mut ha, "Title", " on Fridays");
    click(&mut ha, "Save changes");
    settle(&mut ha, "the edit", |app| {
        app.derived
            .board
            .iter()
            .any(|r| r.title == "Flaky deploys on Fridays")
    });
    settle(&mut hb, "the edit reaching Ben", |app| {
        app.derived
            .board
            .iter()
            .any(|r| r.title == "Flaky deploys on Fridays")
    });
    // Its panel's own history says who changed what.
    ha.get_by_label("History").click();
    for _ in 0..3 {
        ha.step();
    }
    assert!(
        ha.query_by_label("Ana changed the title of a request to \"Flaky deploys on Fridays\"")
            .is_some()
    );
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn either_person_edits_a_session_and_a_duty_is_renamed_in_the_window() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    let ids = |h: &Harness<'_, PeercoachApp>| {
        let snap = h.state().snap.clone().expect("team");
        let me = snap.me.clone().expect("me");
        let other = snap
            .team
            .current_members()
            .into_iter()
            .find(|m| m.id != me)
            .map(|m| m.id.clone());
        (me, other)
    };
    settle(&mut ha, "Ben in Ana's team", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.current_members().len() == 2)
    });
    let (ana, ben) = ids(&ha);
    let ben = ben.expect("Ben");
    // Ben logs a session in which Ana coached him; Ana edits its notes and length.
    let Reply::Done {
        created: Some(session),
        ..
    } = b.request(
        &rt,
        Request::Apply {
            team: None,
            command: peercoach_core::Command::session_now(ana, ben, "Reading flame graphs"),
        },
    )
    else {
        panic!("session")
    };
    let session = peercoach_core::SessionId::try_from(session).expect("a session id");
    ha.state_mut().prefs.screen = Screen::Sessions;
    let s = session.clone();
    settle(&mut ha, "the session reaching Ana", move |app| {
        app.snap
            .as_ref()
            .is_some_and(|snap| snap.team.sessions.contains_key(&s))
    });
    ha.state_mut().screens.sessions.selected = Some(session.clone());
    for _ in 0..3 {
        ha.step();
    }
    click(&mut ha, "Edit");
    type_into(&mut ha, "Notes", "Start from the widest frame");
    ha.state_mut()
        .screens
        .sessions
        .editing
        .as_mut()
        .expect("editing")
        .1
        .minutes = "45".into();
    click(&mut ha, "Save changes");
    let s = session.clone();
    settle(&mut hb, "the edit reaching Ben", move |app| {
        app.snap.as_ref().is_some_and(|snap| {
            snap.team
                .sessions
                .get(&s)
                .is_some_and(|s| s.notes == "Start from the widest frame" && s.minutes == 45)
        })
    });
    // A bad length is said at the form, and nothing is saved.
    hb.state_mut().prefs.screen = Screen::Sessions;
    hb.state_mut().screens.sessions.selected = Some(session.clone());
    for _ in 0..3 {
        hb.step();
    }
    click(&mut hb, "Edit");
    hb.state_mut()
        .screens
        .sessions
        .editing
        .as_mut()
        .expect("editing")
        .1
        .minutes = "lots".into();
    hb.step();
    hb.step();
    assert!(
        hb.query_by_label("Minutes: a whole number, up to a day")
            .is_some()
    );
    click(&mut hb, "Cancel");
    // A duty of Ana's, renamed in the window.
    ha.state_mut().prefs.screen = Screen::Backfill;
    ha.step();
    type_into(&mut ha, "New duty of mine", "Release notes");
    click(&mut ha, "Add duty");
    settle(&mut ha, "the duty", |app| {
        app.snap.as_ref().is_some_and(|s| !s.team.duties.is_empty())
    });
    click(&mut ha, "Rename");
    type_into(&mut ha, "New name", " and changelog");
    click(&mut ha, "Save name");
    settle(&mut hb, "the new name reaching Ben", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.team
                .duties
                .values()
                .any(|d| d.title == "Release notes and changelog")
        })
    });
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}

#[test]
fn asking_someone_onto_the_rota_or_a_duty_takes_effect_only_when_they_say_yes_in_their_inbox() {
    let rt = runtime();
    let (a, b, mut ha, mut hb) = ana_and_ben(&rt);
    settle(&mut ha, "Ben in Ana's team", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.current_members().len() == 2)
    });
    let week = peercoach_core::time::iso_week_key(peercoach_core::Env::now_ms(
        &mut peercoach_core::SystemEnv,
    ));
    // Ana clicks Ben's name on this week's rota: a question, not a placement.
    ha.state_mut().prefs.screen = Screen::Team;
    ha.step();
    ha.query_all_by_role_and_label(egui::accesskit::Role::Button, "Ben")
        .next()
        .expect("Ben on this week's rota")
        .click();
    let w = week.clone();
    settle(&mut ha, "Ana's ask", move |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.rota_asks.iter().any(|a| a.week == w))
    });
    let w = week.clone();
    settle(&mut hb, "the ask reaching Ben", move |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.rota_asks.iter().any(|a| a.week == w))
    });
    let floats = |h: &Harness<'_, PeercoachApp>, week: &str| {
        h.state()
            .snap
            .as_ref()
            .is_some_and(|s| s.team.rota.get(week).is_some_and(|m| !m.is_empty()))
    };
    assert!(!floats(&hb, &week), "nobody floats before a yes");
    hb.state_mut().prefs.screen = Screen::Inbox;
    hb.step();
    assert!(
        hb.query_by_label(&format!(
            "Ana asks you to float on the helper rota in {week}"
        ))
        .is_some()
    );
    click(&mut hb, "Yes");
    let w = week.clone();
    settle(&mut ha, "Ben's yes reaching Ana", move |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.rota.get(&w).is_some_and(|m| m.len() == 1))
    });
    // A duty of Ana's: she asks Ben to shadow; he is an apprentice after his yes.
    ha.state_mut().prefs.screen = Screen::Backfill;
    ha.step();
    type_into(&mut ha, "New duty of mine", "Release notes");
    click(&mut ha, "Add duty");
    settle(&mut ha, "the duty", |app| {
        app.snap.as_ref().is_some_and(|s| !s.team.duties.is_empty())
    });
    let duty = ha
        .state()
        .snap
        .as_ref()
        .and_then(|s| s.team.duties.keys().next().cloned())
        .expect("the duty");
    let ben = hb
        .state()
        .snap
        .as_ref()
        .and_then(|s| s.me.clone())
        .expect("Ben");
    ha.state_mut()
        .screens
        .backfill
        .apprentice
        .insert(duty.to_string(), Some(ben.clone()));
    ha.step();
    click(&mut ha, "Ask to shadow");
    settle(&mut ha, "the ask", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.duties.values().any(|d| d.asked.len() == 1))
    });
    assert!(
        ha.query_by_label("asked to shadow: waiting for a yes")
            .is_some()
    );
    settle(&mut hb, "the duty ask reaching Ben", |app| {
        app.derived.inbox.asks.len() == 1
    });
    assert!(
        hb.query_by_label(
            "Ana asks you to be an apprentice on \"Release notes\", starting at shadow"
        )
        .is_some()
    );
    click(&mut hb, "Yes");
    settle(&mut ha, "Ben an apprentice on Ana's device", |app| {
        app.snap.as_ref().is_some_and(|s| {
            s.team
                .duties
                .values()
                .any(|d| d.backfills.len() == 1 && d.asked.is_empty())
        })
    });
    drop((ha, hb));
    a.stop(&rt);
    b.stop(&rt);
}
