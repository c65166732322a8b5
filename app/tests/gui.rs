//! The desktop app driven through its accessibility tree (egui_kittest, no GPU), against
//! real nodes on 127.0.0.1.

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use peercoach_app::gui::PeercoachApp;
use peercoach_app::gui::state::{Prefs, Screen};
use peercoach_node::api::{Reply, Request};
use peercoach_node::{Node, NodeOptions};

struct Device {
    _dir: tempfile::TempDir,
    node: Option<Node>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn start(rt: &tokio::runtime::Runtime, dir: tempfile::TempDir) -> Device {
    let mut options = NodeOptions::new(dir.path().to_owned());
    options.loopback_only = true;
    options.control_socket = false;
    let node = rt.block_on(Node::start(options)).expect("node");
    Device {
        _dir: dir,
        node: Some(node),
    }
}

impl Device {
    fn node(&self) -> &Node {
        self.node.as_ref().expect("running")
    }

    fn request(&self, rt: &tokio::runtime::Runtime, request: Request) -> Reply {
        rt.block_on(self.node().handle().request(request))
            .expect("request")
    }

    fn harness(&self, path: &Path) -> Harness<'static, PeercoachApp> {
        self.harness_sized(path, egui::vec2(1280.0, 820.0))
    }

    fn harness_sized(&self, path: &Path, size: egui::Vec2) -> Harness<'static, PeercoachApp> {
        let app = PeercoachApp::new(
            self.node().handle(),
            path.to_owned(),
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
    let Reply::Invited { ticket, .. } = inviter.request(
        rt,
        Request::Invite {
            team: None,
            expires_in_ms: 3_600_000,
            device: false,
        },
    ) else {
        panic!("no ticket")
    };
    joiner.request(
        rt,
        Request::Join {
            ticket,
            name: name.into(),
        },
    );
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
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    let d = start(&rt, dir);
    let mut h = d.harness(&path);
    settle(&mut h, "first run", |_| true);
    assert!(h.query_by_label("Welcome to peercoach").is_some());
    assert!(h.query_by_label_contains("Start a new team").is_some());
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
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    let d = start(&rt, dir);
    let mut h = d.harness(&path);
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
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (path_a, path_b) = (dir_a.path().to_owned(), dir_b.path().to_owned());
    let a = start(&rt, dir_a);
    let b = start(&rt, dir_b);
    let mut ha = a.harness(&path_a);
    create_team(&mut ha, "Ana");
    join(&rt, &a, &b, "Ben");
    let mut hb = b.harness(&path_b);
    settle(&mut hb, "Ben's copy", |app| {
        app.snap.as_ref().is_some_and(|s| s.me.is_some())
    });
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
    hb.get_by_role_and_label(egui::accesskit::Role::Button, "Flaky integration test")
        .click();
    for _ in 0..3 {
        hb.step();
    }
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
    ha.state_mut().drafts.selected = ha.state().derived.board.first().map(|r| r.id.clone());
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
    let form = hb.state().session.clone();
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

#[test]
fn the_dashboard_shows_metrics_for_a_demo_history() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    {
        let mut engine = peercoach_node::Engine::open(&path).expect("engine");
        let first = (
            engine.identity().actor_hex(),
            engine.endpoint_id().to_owned(),
        );
        let mut spec = peercoach_sim::Spec::small(5);
        spec.end_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
        let mut history = peercoach_sim::generate(&spec, Some(first), |_| {});
        engine
            .add_team(history.doc.automerge().clone())
            .expect("add team");
    }
    let d = start(&rt, dir);
    let mut h = d.harness(&path);
    settle(&mut h, "the demo team", |app| {
        app.snap
            .as_ref()
            .is_some_and(|s| s.team.members.len() == 12)
    });
    h.state_mut().prefs.screen = Screen::Dashboard;
    settle(&mut h, "metrics", |app| app.derived.metrics.is_some());
    let (_, m, weekly) = h.state().derived.metrics.clone().expect("metrics");
    assert!(m.time_to_help_median_ms.value.is_some(), "{m:?}");
    assert!(m.sessions > 10);
    assert_eq!(weekly.len(), 26);
    // The figure card and the chart's legend entry.
    assert_eq!(h.query_all_by_label("Median time to help").count(), 2);
    assert!(h.query_by_label("Coaching network").is_some());
    assert!(
        h.query_by_label_contains("deliberately no per-person ranking")
            .is_some()
    );
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
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    let d = start(&rt, dir);
    // Tall enough that the whole Settings screen is on screen.
    let mut h = d.harness_sized(&path, egui::vec2(1280.0, 2000.0));
    create_team(&mut h, "Ana");
    h.state_mut().prefs.screen = Screen::Settings;
    settle(&mut h, "settings", |app| app.drafts.network.is_some());
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
        h.state().drafts.network.as_ref().map(|n| n.mode),
        Some(NetworkMode::Local),
        "the choice is taken"
    );
    click(&mut h, "Apply network settings");
    settle(&mut h, "the node applied it", |app| {
        app.drafts
            .saved_network
            .as_ref()
            .is_some_and(|n| n.mode == NetworkMode::Local)
    });
    let Reply::Network(n) = d.request(&rt, Request::Network { set: None }) else {
        panic!("network settings")
    };
    assert_eq!(n.mode, NetworkMode::Local, "saved on the node's data dir");
    // A team relay, set for the whole team from here.
    type_into(&mut h, "Team relay URL", "https://relay.example.org/");
    click(&mut h, "Set team relay");
    settle(&mut h, "the team relay in the document", |app| {
        app.snap
            .as_ref()
            .and_then(|s| s.team.relay.as_ref())
            .is_some_and(|r| r.url == "https://relay.example.org/")
    });
    assert!(
        h.query_by_label_contains("In use by the team: https://relay.example.org/")
            .is_some()
    );
    drop(h);
    d.stop(&rt);
}
