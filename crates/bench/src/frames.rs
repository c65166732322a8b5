//! Frame times: the real app's screens, rendered headless through egui_kittest on the big
//! history, measured as CPU time of the UI thread per frame.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use cpu_time::ThreadTime;
use egui_kittest::Harness;
use peercoach_app::gui::PeercoachApp;
use peercoach_app::gui::state::{Prefs, Screen};
use serde_json::json;

use crate::{Figure, History, copy_dir, percentile, start_node, temp_dir};

const FRAMES: usize = 120;

pub(crate) fn frame(rt: &tokio::runtime::Runtime, history: &History) -> Result<Vec<Figure>> {
    let base = temp_dir("frame")?;
    copy_dir(&history.dir, &base.join("a"))?;
    let node = start_node(rt, &base.join("a"), false)?;
    let app = PeercoachApp::new(node.handle(), base.join("a"), true, Prefs::default());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 820.0))
        .build_ui_state(
            |ui, app: &mut PeercoachApp| {
                app.logic(ui.ctx());
                app.ui(ui);
            },
            app,
        );
    let start = Instant::now();
    while harness.state().snap.is_none() {
        harness.step();
        if start.elapsed() > Duration::from_secs(60) {
            bail!("the app never showed the team");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut figures = Vec::new();
    let mut worst = 0.0f64;
    for screen in Screen::ALL {
        harness.state_mut().prefs.screen = screen;
        // The first frames of a screen build its derived views once; then steady state.
        let first = ThreadTime::now();
        harness.step();
        let first_ms = first.elapsed().as_secs_f64() * 1000.0;
        for _ in 0..5 {
            harness.step();
        }
        let mut times = Vec::with_capacity(FRAMES);
        for i in 0..FRAMES {
            // Scroll a little now and then, as a person reading the list would.
            if i % 10 == 0 {
                harness.event(egui::Event::MouseWheel {
                    unit: egui::MouseWheelUnit::Line,
                    delta: egui::vec2(0.0, -3.0),
                    modifiers: egui::Modifiers::NONE,
                    phase: egui::TouchPhase::Move,
                    source: egui::MouseWheelSource::Wheel,
                });
            }
            let t = ThreadTime::now();
            harness.step();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        worst = worst.max(p99);
        figures.push(
            Figure::new(&format!("frame-{}", screen.label().to_lowercase().replace(' ', "-")), p99, "ms")
                .extra(json!({ "p50_ms": (p50 * 1000.0).round() / 1000.0, "first_frame_ms": (first_ms * 1000.0).round() / 1000.0, "frames": FRAMES, "stat": "p99 CPU time per frame" })),
        );
    }
    // Search (Ctrl+F): the frame where the index is built for this version of the team,
    // then frames each with a new query (as while typing), each searched afresh.
    harness.state_mut().prefs.screen = Screen::Board;
    harness.state_mut().screens.search.query = "f".into();
    let first = ThreadTime::now();
    harness.step();
    let index_ms = first.elapsed().as_secs_f64() * 1000.0;
    const QUERIES: [&str; 8] = [
        "fl",
        "fla",
        "flak",
        "flaky",
        "flaky test",
        "deploy",
        "rust lifetimes",
        "zebra",
    ];
    let mut times = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // Each frame's query differs from the one before: every frame searches.
        harness.state_mut().screens.search.query = QUERIES[i % QUERIES.len()].to_owned();
        let t = ThreadTime::now();
        harness.step();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    figures.push(Figure::new("frame-search", p99, "ms").extra(json!({
        "p50_ms": (p50 * 1000.0).round() / 1000.0,
        "index_frame_ms": (index_ms * 1000.0).round() / 1000.0,
        "frames": FRAMES,
        "stat": "p99 CPU time of a frame that searches a new query"
    })));
    drop(harness);
    rt.block_on(node.shutdown());
    crate::clear_dir(&base);
    figures.push(
        Figure::new("frame-worst-p99", worst, "ms")
            .extra(json!({ "history_changes": history.changes })),
    );
    Ok(figures)
}
