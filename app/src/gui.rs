//! The desktop app (eframe). `run` starts the node on a background runtime, the
//! notifier beside it, and opens the window — again and again: closing it leaves the app
//! syncing and notifying until the person quits. Everything the window shows comes from
//! the node's snapshots and replies.

pub mod app;
pub mod qr;
pub mod screens;
pub mod state;
pub mod theme;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use peercoach_node::api::Show;
use peercoach_node::api::call::{self, Call};
use peercoach_node::control::ControlClient;
use peercoach_node::{Node, NodeEvent, NodeOptions};

use crate::notifier;

pub use app::PeercoachApp;

/// The app's id: the name of its desktop entry (`org.peercoach.peercoach.desktop`), and
/// the Wayland app id should the window be built for Wayland (it is built for X11 only,
/// which XWayland runs). On X11 the window's class is the binary's name, `peercoach`,
/// which the desktop entry names as its `StartupWMClass`: the running window matches its
/// launcher.
pub const APP_ID: &str = "org.peercoach.peercoach";

/// The window's icon (rendered from packaging/icons/peercoach.svg by scripts/icons.sh).
const ICON_PNG: &[u8] =
    include_bytes!("../../packaging/icons/hicolor/256x256/apps/org.peercoach.peercoach.png");

/// The window's icon, decoded.
pub fn icon() -> Result<egui::IconData> {
    eframe::icon_data::from_png_bytes(ICON_PNG).context("the built-in app icon is not a PNG")
}

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

/// Whether the app can run on with its window closed here: where a second start finds it
/// over its control socket and the desktop shows its notifications (the freedesktop
/// systems). On macOS and Windows closing the window quits, for now: a relaunch from the
/// Dock or the Start menu could not reach it (README, "Other platforms").
pub const RUNS_IN_BACKGROUND: bool = cfg!(all(unix, not(target_os = "macos")));

/// How long a second start waits for the running app to answer.
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the desktop app on a data dir: its node, its notifications, and its window —
/// opened at once (on `screen`, if given), or with `background` only when asked (a second
/// `peercoach`, a click on a notification). Closing the window leaves the app running,
/// syncing and notifying, unless the person turned that off or chose Quit.
///
/// One app runs per data dir: when one already does, this asks it to show its window and
/// returns.
pub fn run(data_dir: PathBuf, screen: Option<state::Screen>, background: bool) -> Result<()> {
    if let Some(mut running) = ControlClient::connect(&data_dir) {
        if background {
            return Ok(());
        }
        running
            .call(&call::ShowWindow { show: None }.request(), ANSWER_WAIT)
            .context("peercoach already runs on this data dir, and did not open its window")?;
        eprintln!("peercoach is already running: its window is open.");
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("peercoach-net")
        .build()
        .context("could not start the async runtime")?;
    let options = NodeOptions {
        watch_snapshots: true,
        windowed: true,
        ..NodeOptions::new(data_dir.clone())
    };
    let node = match rt.block_on(Node::start(options)) {
        Ok(node) => node,
        Err(e) => return Err(e).context("could not open the data dir"),
    };
    let handle = node.handle();
    // The window is asked for, and the app to quit, over the control socket (a second
    // start, `peercoach quit`) and by a click on a notification: all arrive as node
    // events, and land in one queue with one reader at a time — the open window, or
    // this thread while none is open. Nothing is done twice or lost at the moment the
    // window closes.
    let (wake_tx, wake_rx) = std::sync::mpsc::channel();
    let wakes: Wakes = Arc::new(Mutex::new(wake_rx));
    let open_window: OpenWindow = Arc::default();
    let mut events = handle.subscribe();
    let forward_to = open_window.clone();
    rt.spawn(async move {
        loop {
            let wake = match events.recv().await {
                Ok(NodeEvent::Show(show)) => Some(Wake::Show(show)),
                Ok(NodeEvent::Quit) => Some(Wake::Quit),
                // A change (from a peer, too), or changes missed: the open window draws
                // the node's state again.
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            if let Some(wake) = wake
                && wake_tx.send(wake).is_err()
            {
                break;
            }
            // The open window reads the queue and the node's state on its next frame.
            if let Some(ctx) = forward_to
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                ctx.request_repaint();
            }
        }
    });
    // SIGTERM (a logout) or Ctrl+C quits as Quit does: the window closes and saves
    // its state, the node flushes and stops.
    let stopping = handle.clone();
    rt.spawn(async move {
        match crate::serve::stop_signal().await {
            Ok(()) => {
                if let Err(e) = stopping.call(call::Quit {}).await {
                    tracing::warn!("could not quit on a signal: {e}");
                }
            }
            Err(e) => tracing::warn!("the app cannot hear SIGTERM: {e}"),
        }
    });
    let (announce, announced) = tokio::sync::mpsc::unbounded_channel();
    rt.spawn(notifier::run(handle.clone(), announced));
    let quit = Arc::new(AtomicBool::new(false));
    let mut next = (!background).then_some(Opening { screen, show: None });
    let mut told_background = false;
    let mut first = !background;
    let result = loop {
        if let Some(opening) = next.take() {
            let shown = Window {
                opening,
                quit: quit.clone(),
                wakes: wakes.clone(),
                open: open_window.clone(),
            };
            if let Err(e) = window(&node, &data_dir, shown) {
                if first {
                    break Err(e);
                }
                // Asked for later (a click, a second start) and it cannot open (no
                // display now): the app goes on syncing without it.
                tracing::error!("{e:#}");
            }
            first = false;
            // Before the first team there is nothing to sync or tell about: closing
            // the window quits (a join still underway is cancelled with it).
            if quit.load(Ordering::SeqCst)
                || handle.snapshots().is_empty()
                || !keeps_running(&rt, &handle)
            {
                break Ok(());
            }
            if !told_background {
                told_background = true;
                let notice = peercoach_core::alerts::Alert {
                    kind: peercoach_core::alerts::AlertKind::Notice,
                    title: "peercoach keeps running in the background".into(),
                    body: "It syncs with your team and tells you when someone needs you. \
                           Open it again from the menu; Quit is in its Settings."
                        .into(),
                    target: peercoach_core::alerts::Target::Window,
                };
                if announce.send(notice).is_err() {
                    tracing::debug!("no notifier to say the app keeps running");
                }
            }
        }
        let wake = wakes.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match wake {
            Ok(Wake::Show(show)) => {
                next = Some(Opening { screen: None, show });
            }
            Ok(Wake::Quit) | Err(_) => break Ok(()),
        }
    };
    rt.block_on(node.shutdown());
    result
}

/// What the app is asked to do from outside its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// Open (or raise) the window, on a record if given.
    Show(Option<Show>),
    /// Stop the app.
    Quit,
}

/// The queue of [`Wake`]s, read by the open window or, while none is, the main thread.
pub type Wakes = Arc<Mutex<std::sync::mpsc::Receiver<Wake>>>;

/// The open window's context, to wake it when something is queued for it.
type OpenWindow = Arc<Mutex<Option<egui::Context>>>;

/// A window about to open, and what it shares with the app's process.
struct Window {
    opening: Opening,
    quit: Arc<AtomicBool>,
    wakes: Wakes,
    open: OpenWindow,
}

/// What the window opens on.
struct Opening {
    screen: Option<state::Screen>,
    show: Option<Show>,
}

/// Whether closing the window leaves the app running (the person's preference, where
/// the system allows it).
fn keeps_running(rt: &tokio::runtime::Runtime, handle: &peercoach_node::NodeHandle) -> bool {
    if !RUNS_IN_BACKGROUND {
        return false;
    }
    match rt.block_on(handle.call(call::Preferences { set: None })) {
        Ok(p) => p.keep_running,
        Err(e) => {
            // Unknown: keep syncing, as by default.
            tracing::warn!(error = %e, "could not read whether to keep running");
            true
        }
    }
}

/// The window runs on X11, under Wayland through XWayland. The screen reader support
/// (AccessKit) builds winit's Wayland backend in, but the window's OpenGL is built for
/// X11 only, and on X11 a click on a notification may raise the window (Wayland refuses
/// that without an activation token): so X11 is chosen, not left to `WAYLAND_DISPLAY`.
#[cfg(all(unix, not(target_os = "macos")))]
fn on_x11(builder: &mut eframe::EventLoopBuilder<eframe::UserEvent>) {
    use winit::platform::x11::EventLoopBuilderExtX11 as _;
    builder.with_x11();
}

/// Elsewhere the platform's one backend.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn on_x11(_: &mut eframe::EventLoopBuilder<eframe::UserEvent>) {}

/// Opens the window and runs it until it closes. Called again for every reopening (on
/// the main thread: eframe reuses its event loop).
fn window(node: &Node, data_dir: &std::path::Path, shown: Window) -> Result<()> {
    let Window {
        opening,
        quit,
        wakes,
        open,
    } = shown;
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("peercoach")
        .with_app_id(APP_ID)
        .with_inner_size([1280.0, 820.0])
        .with_min_inner_size([900.0, 600.0]);
    match icon() {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => tracing::warn!("{e:#}"),
    }
    let native = eframe::NativeOptions {
        viewport,
        persist_window: true,
        persistence_path: Some(data_dir.join("window.ron")),
        // Closing the window returns here, and the app keeps running without it.
        run_and_return: true,
        event_loop_builder: Some(Box::new(on_x11)),
        ..Default::default()
    };
    let handle = node.handle();
    let loopback_forced = node.is_loopback_forced();
    let app_dir = data_dir.to_owned();
    let window_open = open.clone();
    let ran = eframe::run_native(
        "peercoach",
        native,
        Box::new(move |cc| {
            let mut prefs: state::Prefs = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            if let Some(screen) = opening.screen {
                prefs.screen = screen;
            }
            *window_open.lock().unwrap_or_else(|p| p.into_inner()) = Some(cc.egui_ctx.clone());
            let mut app = PeercoachApp::new(handle, app_dir, loopback_forced, prefs);
            app.quit = quit;
            app.wakes = Some(wakes);
            if let Some(show) = opening.show {
                app.show(&show);
            }
            Ok(Box::new(app))
        }),
    );
    *open.lock().unwrap_or_else(|p| p.into_inner()) = None;
    ran.map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_icon_and_the_desktop_entry_name_the_same_app() {
        let icon = super::icon().expect("the built-in icon decodes");
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
        let entry = include_str!("../../packaging/linux/org.peercoach.peercoach.desktop");
        let line = |key: &str| {
            entry
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(line("Icon"), super::APP_ID);
        // On X11 the window's class is the binary's name.
        assert_eq!(line("StartupWMClass"), "peercoach");
        assert_eq!(line("Exec"), "peercoach");
        let metainfo = include_str!("../../packaging/linux/org.peercoach.peercoach.metainfo.xml");
        assert!(metainfo.contains(&format!("<id>{}</id>", super::APP_ID)));
        assert!(metainfo.contains(&format!(
            "<launchable type=\"desktop-id\">{}.desktop</launchable>",
            super::APP_ID
        )));
    }
}
