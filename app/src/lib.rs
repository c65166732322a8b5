//! # peercoach-app: the `peercoach` binary's logic
//!
//! With no subcommand the binary opens the desktop app; with one, it runs the CLI. Both
//! talk to the runtime only through the node's command API — never to Automerge.

pub mod autostart;
pub mod cli;
pub mod client;
pub mod desktop;
pub mod gui;
pub mod local;
pub mod notifier;
pub mod opener;
pub mod output;
pub mod run;
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Cmd};
use crate::client::{Local, Socket};

/// The default data dir: the platform's data directory for peercoach.
pub fn default_data_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("org", "peercoach", "peercoach")
        .map(|d| d.data_dir().to_owned())
        .context("could not find a home directory for the data dir; pass --data-dir")
}

/// What `PEERCOACH_LOG` asks to be logged: comma-separated `target=level` directives and
/// a bare default level, as in `warn,peercoach_node=debug`. Without it, warnings, and of
/// iroh's only errors. (A target filter, not tracing's `EnvFilter`: that one brings a
/// regex engine into the build for span-field syntax nobody here uses.)
pub fn log_filter() -> tracing_subscriber::filter::Targets {
    let default = || {
        tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::WARN)
            .with_target("iroh", tracing::Level::ERROR)
            // The windowing layer's complaints about the display (its size in mm,
            // XSETTINGS) are not the person's concern.
            .with_target("winit", tracing::Level::ERROR)
    };
    match std::env::var("PEERCOACH_LOG") {
        Ok(spec) => spec.parse().unwrap_or_else(|e| {
            eprintln!(
                "warning: PEERCOACH_LOG={spec:?} is not a log filter ({e}); using the default"
            );
            default()
        }),
        Err(_) => default(),
    }
}

/// Entry point.
pub fn main() -> ExitCode {
    main_with(std::env::args_os())
}

/// Entry point with explicit arguments (the first is the program name).
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    {
        use tracing_subscriber::prelude::*;
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(log_filter())
            .init();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let globals = run::Globals {
        json: cli.json,
        team: cli.team,
    };
    let Some(cmd) = cli.command else {
        return gui::run(data_dir, cli.screen.map(gui::screen_of), cli.background);
    };
    if let Cmd::Serve {
        bind,
        loopback_only,
    } = cmd
    {
        return serve::serve(data_dir, bind, loopback_only);
    }
    if let Cmd::Demo { seed } = cmd {
        return demo(&data_dir, seed, globals.json);
    }
    // A node running on this data dir owns its files: talk to it.
    if let Some(socket) = peercoach_node::control::ControlClient::connect(&data_dir) {
        return run::run(&mut Socket(socket), globals, cmd);
    }
    if let Cmd::Join { loopback_only, .. } = &cmd {
        // No node runs here: start one just for the join.
        return serve::with_temporary_node(data_dir, *loopback_only, |client| {
            run::run(client, globals, cmd)
        });
    }
    let engine = peercoach_node::Engine::open(&data_dir)?;
    let mut client = Local(engine);
    run::run(&mut client, globals, cmd)
}

/// `peercoach demo`: a generated team with this device as its first member.
fn demo(data_dir: &std::path::Path, seed: u64, json: bool) -> Result<()> {
    if peercoach_node::control::ControlClient::connect(data_dir).is_some() {
        anyhow::bail!(
            "a node is running on {}; stop it before generating demo data",
            data_dir.display()
        );
    }
    let mut engine = peercoach_node::Engine::open(data_dir)?;
    let own_dir = engine.data().team_ids()?.is_empty();
    let actor = engine.identity().actor_hex();
    let endpoint = engine.endpoint_id().to_owned();
    let mut spec = peercoach_sim::Spec::small(seed);
    // End the history now, so the board and dashboard look current.
    spec.end_ms = peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv);
    let history = peercoach_sim::generate(&spec, Some((actor, endpoint)), |_| {});
    let members = history.doc.team().current_members().len();
    let me = history
        .doc
        .team()
        .members
        .get(&history.members[0].0)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let stats = history.stats;
    let team = engine.add_team_doc(history.doc)?;
    engine.refresh_calendar();
    // Its teammates are made up: there is no one to reach, and dialing their ids would
    // only ask the address lookup about devices that do not exist. In a data dir of its
    // own the demo stays on this machine; beside real teams the mode is left alone.
    if own_dir {
        let mut network = engine.settings().network.clone();
        network.mode = peercoach_store::NetworkMode::Loopback;
        let set = peercoach_node::api::call::Network { set: Some(network) };
        engine.handle(peercoach_node::api::call::Call::request(set))?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "team_id": team.to_string(), "changes": stats.changes })
        );
    } else {
        println!("{team}");
        eprintln!(
            "demo team {:?}: {members} members, {} requests, {} offers, {} sessions ({} changes); you are {me}",
            spec.team_name, stats.requests, stats.offers, stats.sessions, stats.changes,
        );
        if own_dir {
            eprintln!(
                "network: loopback only, as the demo's teammates are made up (`peercoach network` or Settings changes it)"
            );
        }
    }
    Ok(())
}
