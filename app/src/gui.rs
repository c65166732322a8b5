//! The desktop app (eframe). `run` starts the node on a background runtime and opens the
//! window; everything the window shows comes from the node's snapshots and replies.

pub mod app;
pub mod qr;
pub mod screens;
pub mod state;
pub mod theme;

use std::path::PathBuf;

use anyhow::{Context, Result};
use peercoach_node::{Node, NodeOptions};

pub use app::PeercoachApp;

/// The screen a `--screen` argument names.
pub fn screen_of(arg: crate::cli::ScreenArg) -> state::Screen {
    use crate::cli::ScreenArg as A;
    use state::Screen as S;
    match arg {
        A::Board => S::Board,
        A::Inbox => S::Inbox,
        A::Sessions => S::Sessions,
        A::Team => S::Team,
        A::Backfill => S::Backfill,
        A::Dashboard => S::Dashboard,
        A::History => S::History,
        A::Sync => S::Sync,
        A::Settings => S::Settings,
    }
}

/// Opens the window on a data dir (optionally on one screen) and runs until it is closed.
pub fn run(data_dir: PathBuf, screen: Option<state::Screen>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("peercoach-net")
        .build()
        .context("could not start the async runtime")?;
    let options = NodeOptions {
        watch_snapshots: true,
        ..NodeOptions::new(data_dir.clone())
    };
    let node = match rt.block_on(Node::start(options)) {
        Ok(node) => node,
        Err(e) => return Err(e).context("could not open the data dir"),
    };
    let loopback_only = node.is_loopback_only();
    let handle = node.handle();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("peercoach")
            .with_app_id("peercoach")
            .with_inner_size([1280.0, 820.0])
            .with_min_inner_size([900.0, 600.0]),
        persist_window: true,
        persistence_path: Some(data_dir.join("window.ron")),
        ..Default::default()
    };
    let events = handle.clone();
    let app_dir = data_dir.clone();
    let spawner = rt.handle().clone();
    let result = eframe::run_native(
        "peercoach",
        native,
        Box::new(move |cc| {
            let mut prefs: state::Prefs = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            if let Some(screen) = screen {
                prefs.screen = screen;
            }
            // Wake the window whenever the node reports a change (from a peer, too).
            let ctx = cc.egui_ctx.clone();
            let mut rx = events.subscribe();
            spawner.spawn(async move {
                while rx.recv().await.is_ok() {
                    ctx.request_repaint();
                }
            });
            Ok(Box::new(PeercoachApp::new(
                handle,
                app_dir,
                loopback_only,
                prefs,
            )))
        }),
    );
    rt.block_on(node.shutdown());
    result.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
