//! peercoach benchmarks: `cargo run --release -p peercoach-bench -- [NAME|all] [--json]`.
//!
//! Every benchmark prints one JSON object (`name`, `value`, `unit`, and `ratio` where a
//! side-by-side comparison with the Automerge protocol in memory is asked for), measured
//! in one run on the same machine. The years-long team history is generated once
//! (deterministically) and cached under `target/bench-cache/`. All networking is on
//! 127.0.0.1 in loopback-only mode.

use peercoach_core::{NewDevice, NewRequest};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use peercoach_core::automerge::AutoCommit;
use peercoach_core::automerge::sync::{self, SyncDoc};
use peercoach_core::{
    ActorHex, Command, Env, RequestId, SeededEnv, SystemEnv, TeamDoc, Urgency, views,
};
use peercoach_node::api::{Query, Reply, Request};
use peercoach_node::{Engine, Node, NodeOptions};
use serde_json::{Value, json};

mod actors;
mod frames;
mod internet;
mod rules;
mod samod_side;

/// Benchmarks.
#[derive(Debug, Parser)]
#[command(name = "peercoach-bench")]
struct Args {
    /// Which benchmark: edit-latency, initial-sync, catch-up, open, frame, write, mesh,
    /// samod, actors, rules, all; or internet (needs root: the simulated internet; not
    /// part of all). Several: comma-separated, run in that order.
    #[arg(default_value = "all")]
    name: String,
    /// Print one JSON object per line only.
    #[arg(long)]
    json: bool,
    /// A smaller history (2,000 requests) for a quick check.
    #[arg(long)]
    quick: bool,
    /// Print the nodes' log (info and above) on standard error: where a join's time
    /// goes, for one.
    #[arg(long)]
    log: bool,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Edits for edit-latency.
    #[arg(long, default_value_t = 1000)]
    edits: usize,
    /// Edits for the samod side-by-side run (each costs samod a protocol round).
    #[arg(long, default_value_t = 200)]
    samod_edits: usize,
    /// Edits per path for `internet` (relay, direct, loopback), each driven by the CLI.
    #[arg(long, default_value_t = 50)]
    internet_edits: usize,
}

/// One result line.
#[derive(Debug, Clone)]
struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
    ratio: Option<f64>,
    extra: Value,
}

impl Figure {
    fn new(name: &str, value: f64, unit: &'static str) -> Self {
        Self {
            name: name.to_owned(),
            value,
            unit,
            ratio: None,
            extra: json!({}),
        }
    }

    fn ratio(mut self, r: f64) -> Self {
        self.ratio = Some(r);
        self
    }

    fn extra(mut self, v: Value) -> Self {
        self.extra = v;
        self
    }

    fn to_json(&self) -> Value {
        let mut o = json!({ "name": self.name, "value": round(self.value), "unit": self.unit });
        if let Some(r) = self.ratio {
            o["ratio"] = json!(round(r));
        }
        if let (Some(o), Some(extra)) = (o.as_object_mut(), self.extra.as_object()) {
            for (k, v) in extra {
                o.insert(k.clone(), v.clone());
            }
        }
        o
    }
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().collect();
    // Child modes: a fresh process for cold-start RSS, and a CLI call.
    if raw.get(1).map(String::as_str) == Some("__open") {
        return open_child(Path::new(raw.get(2).context("dir")?));
    }
    if raw.get(1).map(String::as_str) == Some("__cli") {
        let code = peercoach_app::main_with(
            std::iter::once("peercoach".to_owned()).chain(raw[2..].iter().cloned()),
        );
        std::process::exit(if code == std::process::ExitCode::SUCCESS {
            0
        } else {
            1
        });
    }
    if raw.get(1).map(String::as_str) == Some("__relay") {
        // The simulated internet's relay (`internet`), run from this same binary.
        let args = <peercoach_netsim::relay::RelayArgs as clap::Parser>::parse_from(
            std::iter::once("peercoach-test-relay".to_owned()).chain(raw[2..].iter().cloned()),
        );
        return Ok(peercoach_netsim::relay::run_blocking(args)?);
    }
    if raw.get(1).map(String::as_str) == Some("__phases") {
        let quick = raw.get(2).map(String::as_str) != Some("full");
        let args = if quick {
            Args::parse_from(["peercoach-bench", "edit-latency", "--quick"])
        } else {
            Args::parse_from(["peercoach-bench", "edit-latency"])
        };
        return phases(&big_history(&args)?);
    }
    let args = Args::parse();
    if args.log {
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
            .with_writer(std::io::stderr)
            .init();
    }
    // SAFETY-free env: loopback only for every node started here.
    let all = [
        "edit-latency",
        "initial-sync",
        "catch-up",
        "open",
        "frame",
        "write",
        "mesh",
        "samod",
        "actors",
        "rules",
    ];
    // One name, several joined by commas (run in that order, so `initial-sync,samod`
    // gives samod's ratios against ours from the same run), or all.
    let names: Vec<&str> = if args.name == "all" {
        all.to_vec()
    } else {
        let names: Vec<&str> = args.name.split(',').map(str::trim).collect();
        if let Some(unknown) = names.iter().find(|n| !all.contains(n) && **n != "internet") {
            bail!(
                "unknown benchmark {unknown:?}; one of {} or all (several: comma-separated)",
                all.join(", ")
            );
        }
        names
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let history = if names
        .iter()
        .any(|n| *n != "mesh" && *n != "write" && *n != "internet")
    {
        Some(big_history(&args)?)
    } else {
        None
    };
    let mut results = Vec::new();
    for name in names {
        if !args.json {
            eprintln!("== {name}");
        }
        let figures = match name {
            "edit-latency" => edit_latency(&rt, history.as_ref().context("history")?, args.edits)?,
            "initial-sync" => initial_sync(&rt, history.as_ref().context("history")?)?,
            "catch-up" => catch_up(&rt, history.as_ref().context("history")?)?,
            "open" => open(history.as_ref().context("history")?)?,
            "actors" => actors::actors(history.as_ref().context("history")?)?,
            "rules" => rules::rules(history.as_ref().context("history")?)?,
            "frame" => frames::frame(&rt, history.as_ref().context("history")?)?,
            "write" => write(&rt)?,
            "internet" => internet::internet(args.internet_edits)?,
            "samod" => {
                let ours = |name: &str| {
                    results
                        .iter()
                        .find(|f: &&Figure| f.name == name)
                        .map(|f| f.value)
                };
                let ours = samod_side::Ours {
                    edit_p99_ms: ours("edit-latency-p99"),
                    initial_sync_ms: ours("initial-sync-time"),
                    initial_sync_bytes: ours("initial-sync-bytes"),
                };
                samod_side::samod(
                    &rt,
                    history.as_ref().context("history")?,
                    args.samod_edits,
                    &ours,
                )?
            }
            _ => mesh(&rt)?,
        };
        for f in figures {
            println!("{}", f.to_json());
            results.push(f);
        }
    }
    Ok(())
}

/// The cached big history: a data dir whose device is member 0.
pub struct History {
    dir: PathBuf,
    changes: usize,
    save_bytes: usize,
}

fn cache_root() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("bench-cache")
}

fn big_history(args: &Args) -> Result<History> {
    let mut spec = peercoach_sim::Spec::large(args.seed);
    if args.quick {
        spec.requests = 2_000;
    }
    let dir = cache_root().join(format!("history-s{}-r{}", spec.seed, spec.requests));
    let marker = dir.join("ready.json");
    if let Ok(bytes) = std::fs::read(&marker)
        && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
    {
        return Ok(History {
            dir: dir.join("data"),
            changes: v["changes"].as_u64().unwrap_or(0) as usize,
            save_bytes: v["save_bytes"].as_u64().unwrap_or(0) as usize,
        });
    }
    crate::clear_dir(&dir);
    eprintln!(
        "generating a history of {} people, {} days, {} requests (cached in {})…",
        spec.members,
        spec.days,
        spec.requests,
        dir.display()
    );
    let started = Instant::now();
    let mut engine = Engine::open(&dir.join("data"))?;
    let first = (
        engine.identity().actor_hex(),
        engine.endpoint_id().to_owned(),
    );
    let mut history = peercoach_sim::generate(&spec, Some(first), |n| eprintln!("  {n} changes…"));
    let save = history.doc.automerge().save();
    engine.add_team(history.doc.automerge().clone())?;
    let info = json!({
        "changes": history.stats.changes,
        "requests": history.stats.requests,
        "offers": history.stats.offers,
        "sessions": history.stats.sessions,
        "save_bytes": save.len(),
        "generated_s": started.elapsed().as_secs_f64(),
    });
    eprintln!("  done: {info}");
    std::fs::write(&marker, serde_json::to_vec(&info)?)?;
    Ok(History {
        dir: dir.join("data"),
        changes: history.stats.changes,
        save_bytes: save.len(),
    })
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "lock" || name == "control.sock" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

fn temp_dir(tag: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "peercoach-bench-{tag}-{}-{}",
        std::process::id(),
        SystemEnv.now_ms()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn start_node(rt: &tokio::runtime::Runtime, dir: &Path, socket: bool) -> Result<Node> {
    let mut options = NodeOptions::new(dir.to_owned());
    options.loopback_only = true;
    options.control_socket = socket;
    Ok(rt.block_on(Node::start(options))?)
}

fn invite(rt: &tokio::runtime::Runtime, node: &Node) -> Result<String> {
    match rt.block_on(node.handle().request(Request::Invite {
        team: None,
        expires_in_ms: 3_600_000,
        device: false,
    }))? {
        Reply::Invited { ticket, .. } => Ok(ticket),
        other => bail!("unexpected {other:?}"),
    }
}

fn join(rt: &tokio::runtime::Runtime, node: &Node, ticket: &str, name: &str) -> Result<()> {
    rt.block_on(node.handle().request(Request::Join {
        ticket: ticket.to_owned(),
        name: name.to_owned(),
    }))?;
    Ok(())
}

fn ask(title: String) -> Command {
    Command::Ask(NewRequest {
        title,
        tried: String::new(),
        skills: vec!["bench".into()],
        urgency: Urgency::Normal,
        to: None,
    })
}

fn has_request(rt: &tokio::runtime::Runtime, node: &Node, id: &str) -> bool {
    let r = rt.block_on(node.handle().request(Request::Resolve {
        team: None,
        refs: vec![peercoach_node::api::Ref {
            kind: peercoach_node::api::RefKind::Request,
            text: id.to_owned(),
        }],
    }));
    matches!(r, Ok(Reply::Resolved { .. }))
}

fn heads(rt: &tokio::runtime::Runtime, node: &Node) -> Result<Vec<String>> {
    match rt.block_on(node.handle().request(Request::Query {
        team: None,
        query: Query::Heads,
    }))? {
        Reply::Heads { heads } => Ok(heads),
        other => bail!("unexpected {other:?}"),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Two in-memory replicas of the big history, each with its own device.
fn memory_pair(history: &History) -> Result<(TeamDoc, TeamDoc)> {
    let mut engine = Engine::open(&history.dir)?;
    let actor = engine.identity().actor_hex();
    let bytes = {
        let open = engine.team(None)?;
        open.doc.automerge().save()
    };
    drop(engine);
    let a = TeamDoc::from_doc(AutoCommit::load(&bytes)?, actor);
    // A second device of member 0 (linked), so it may write too.
    let mut b_doc = a.automerge_ref().clone();
    let phone = ActorHex::from_bytes(&[0x5a; 16]);
    let mut linker = TeamDoc::from_doc(b_doc.fork(), a.actor().clone());
    let me = linker.me().cloned().context("member 0")?;
    linker.apply(
        Command::AddDevice(NewDevice {
            member: me,
            actor: phone.clone(),
            endpoint: "bench".into(),
            label: "bench".into(),
            addrs: vec![],
            relay: None,
        }),
        &mut SystemEnv,
    )?;
    b_doc = linker.automerge().clone();
    let mut a = a;
    a.automerge().merge(&mut b_doc.clone())?;
    a.refresh_after_merge();
    Ok((a, TeamDoc::from_doc(b_doc, phone)))
}

/// Runs the sync protocol between two documents until quiet; returns bytes exchanged.
fn sync_memory(
    a: &mut TeamDoc,
    sa: &mut sync::State,
    b: &mut TeamDoc,
    sb: &mut sync::State,
) -> usize {
    let mut bytes = 0;
    loop {
        let ma = a.automerge().sync().generate_sync_message(sa);
        let mb = b.automerge().sync().generate_sync_message(sb);
        if ma.is_none() && mb.is_none() {
            break;
        }
        if let Some(m) = ma {
            let enc = m.encode();
            bytes += enc.len();
            if let Ok(m) = sync::Message::decode(&enc) {
                let _ = b.automerge().sync().receive_sync_message(sb, m);
            }
        }
        if let Some(m) = mb {
            let enc = m.encode();
            bytes += enc.len();
            if let Ok(m) = sync::Message::decode(&enc) {
                let _ = a.automerge().sync().receive_sync_message(sa, m);
            }
        }
    }
    a.refresh_after_merge();
    b.refresh_after_merge();
    bytes
}

fn edit_latency(
    rt: &tokio::runtime::Runtime,
    history: &History,
    edits: usize,
) -> Result<Vec<Figure>> {
    // In memory: an edit on A, the protocol until B's view has it.
    let (mut a, mut b) = memory_pair(history)?;
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    sync_memory(&mut a, &mut sa, &mut b, &mut sb);
    let mut env = SeededEnv::new(1, SystemEnv.now_ms());
    let mut mem = Vec::with_capacity(edits);
    for i in 0..edits {
        let t = Instant::now();
        let id = a
            .apply(ask(format!("in-memory edit {i}")), &mut env)?
            .created
            .context("id")?;
        sync_memory(&mut a, &mut sa, &mut b, &mut sb);
        let id = RequestId::try_from(id).map_err(|other| anyhow!("created {other:?}"))?;
        if !b.team().requests.contains_key(&id) {
            bail!("in-memory edit did not arrive");
        }
        mem.push(ms(t.elapsed()));
    }
    mem.sort_by(f64::total_cmp);
    // Over iroh: node A (the history's device) and node B (joined).
    let base = temp_dir("latency")?;
    copy_dir(&history.dir, &base.join("a"))?;
    let node_a = start_node(rt, &base.join("a"), false)?;
    let node_b = start_node(rt, &base.join("b"), false)?;
    join(rt, &node_b, &invite(rt, &node_a)?, "Bench")?;
    let warm = Instant::now();
    while !node_a.net().is_connected(&node_b.endpoint_id())
        || !node_b.net().is_connected(&node_a.endpoint_id())
    {
        if warm.elapsed() > Duration::from_secs(30) {
            bail!("nodes did not connect");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut events = node_b.handle().subscribe();
    let mut net = Vec::with_capacity(edits);
    let mut acked = Vec::with_capacity(edits);
    for i in 0..edits {
        while events.try_recv().is_ok() {}
        let t = Instant::now();
        let reply = rt.block_on(node_a.handle().request(Request::Apply {
            team: None,
            command: ask(format!("network edit {i}")),
        }))?;
        let Reply::Done {
            created: Some(id), ..
        } = reply
        else {
            bail!("no id")
        };
        acked.push(ms(t.elapsed()));
        loop {
            if has_request(rt, &node_b, id.as_str()) {
                break;
            }
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(200), events.recv()).await
            });
            if t.elapsed() > Duration::from_secs(30) {
                bail!("edit {i} never arrived");
            }
        }
        net.push(ms(t.elapsed()));
    }
    net.sort_by(f64::total_cmp);
    acked.sort_by(f64::total_cmp);
    rt.block_on(node_a.shutdown());
    rt.block_on(node_b.shutdown());
    crate::clear_dir(&base);
    let (p50, p99) = (percentile(&net, 0.5), percentile(&net, 0.99));
    let (m50, m99) = (percentile(&mem, 0.5), percentile(&mem, 0.99));
    let extra = json!({
        "edits": edits,
        "history_changes": history.changes,
        "in_memory_p50_ms": round(m50),
        "in_memory_p99_ms": round(m99),
        "acknowledged_on_a_p50_ms": round(percentile(&acked, 0.5)),
        "acknowledged_on_a_p99_ms": round(percentile(&acked, 0.99)),
    });
    Ok(vec![
        Figure::new("edit-latency-p50", p50, "ms").extra(extra.clone()),
        Figure::new("edit-latency-p99", p99, "ms")
            .ratio(p99 / m99)
            .extra(extra),
    ])
}

fn initial_sync(rt: &tokio::runtime::Runtime, history: &History) -> Result<Vec<Figure>> {
    // In memory: a fresh document syncing from the full one.
    let (mut a, _) = memory_pair(history)?;
    let mut empty = TeamDoc::from_doc(AutoCommit::new(), ActorHex::from_bytes(&[0x77; 16]));
    let t = Instant::now();
    let mem_bytes = sync_memory(
        &mut a,
        &mut sync::State::new(),
        &mut empty,
        &mut sync::State::new(),
    );
    let mem_time = ms(t.elapsed());
    let save_len = a.automerge().save().len();
    // Over iroh: a fresh device joins.
    let base = temp_dir("initial")?;
    copy_dir(&history.dir, &base.join("a"))?;
    let node_a = start_node(rt, &base.join("a"), false)?;
    let node_b = start_node(rt, &base.join("b"), false)?;
    let ticket = invite(rt, &node_a)?;
    let (a0, _) = node_a.net().traffic();
    let t = Instant::now();
    join(rt, &node_b, &ticket, "Newcomer")?;
    let joined = ms(t.elapsed());
    // Then until the sync session agrees (the joiner has everything and says so).
    let target = heads(rt, &node_a)?;
    while heads(rt, &node_b)? != target {
        if t.elapsed() > Duration::from_secs(120) {
            bail!("the joiner never caught up");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let total = ms(t.elapsed());
    std::thread::sleep(Duration::from_millis(300));
    let (a1, _) = node_a.net().traffic();
    let (b_sent, _) = node_b.net().traffic();
    // Everything both sides sent from the join on (the joiner started at zero).
    let wire = (a1 - a0) + b_sent;
    rt.block_on(node_a.shutdown());
    rt.block_on(node_b.shutdown());
    crate::clear_dir(&base);
    let extra = json!({ "join_ms": round(joined), "save_bytes": save_len, "in_memory_ms": round(mem_time), "in_memory_bytes": mem_bytes, "history_changes": history.changes });
    Ok(vec![
        Figure::new("initial-sync-time", total, "ms")
            .ratio(total / mem_time)
            .extra(extra.clone()),
        Figure::new("initial-sync-bytes", wire as f64, "bytes")
            .ratio(wire as f64 / save_len as f64)
            .extra(extra),
    ])
}

fn catch_up(rt: &tokio::runtime::Runtime, history: &History) -> Result<Vec<Figure>> {
    const EDITS: usize = 500;
    // In memory.
    let (mut a, mut b) = memory_pair(history)?;
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    sync_memory(&mut a, &mut sa, &mut b, &mut sb);
    let mut env = SeededEnv::new(9, SystemEnv.now_ms());
    for i in 0..EDITS {
        a.apply(ask(format!("offline A {i}")), &mut env)?;
        b.apply(ask(format!("offline B {i}")), &mut env)?;
    }
    let t = Instant::now();
    let mem_bytes = sync_memory(&mut a, &mut sa, &mut b, &mut sb);
    let mem_time = ms(t.elapsed());
    // Over iroh.
    let base = temp_dir("catchup")?;
    copy_dir(&history.dir, &base.join("a"))?;
    let node_a = start_node(rt, &base.join("a"), false)?;
    let node_b = start_node(rt, &base.join("b"), false)?;
    join(rt, &node_b, &invite(rt, &node_a)?, "Bench")?;
    let t0 = Instant::now();
    while heads(rt, &node_a)? != heads(rt, &node_b)? {
        if t0.elapsed() > Duration::from_secs(120) {
            bail!("no initial convergence");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (ida, idb) = (node_a.endpoint_id(), node_b.endpoint_id());
    node_a.net().block(BTreeSet::from([idb]));
    node_b.net().block(BTreeSet::from([ida]));
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..EDITS {
        for (node, who) in [(&node_a, "A"), (&node_b, "B")] {
            rt.block_on(node.handle().request(Request::Apply {
                team: None,
                command: ask(format!("offline {who} {i}")),
            }))?;
        }
    }
    let before = (node_a.net().traffic(), node_b.net().traffic());
    let t = Instant::now();
    node_a.net().block(BTreeSet::new());
    node_b.net().block(BTreeSet::new());
    while heads(rt, &node_a)? != heads(rt, &node_b)? {
        if t.elapsed() > Duration::from_secs(120) {
            bail!("no catch-up");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let time = ms(t.elapsed());
    let after = (node_a.net().traffic(), node_b.net().traffic());
    let bytes = (after.0.0 - before.0.0) + (after.1.0 - before.1.0);
    rt.block_on(node_a.shutdown());
    rt.block_on(node_b.shutdown());
    crate::clear_dir(&base);
    let extra = json!({ "edits_each_side": EDITS, "in_memory_ms": round(mem_time), "in_memory_bytes": mem_bytes });
    Ok(vec![
        Figure::new("catch-up-time", time, "ms")
            .ratio(time / mem_time)
            .extra(extra.clone()),
        Figure::new("catch-up-bytes", bytes as f64, "bytes")
            .ratio(bytes as f64 / mem_bytes as f64)
            .extra(extra),
    ])
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

/// Child process: start a node on the data dir cold, as the app does, and report when
/// the first view is ready (a snapshot of the team, with the board derived from it, as
/// the window draws it) and when the node answers requests (its document open), with
/// the peak RSS at each.
fn open_child(dir: &Path) -> Result<()> {
    let t = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let options = NodeOptions {
        loopback_only: true,
        control_socket: false,
        watch_snapshots: true,
        ..NodeOptions::new(dir.to_owned())
    };
    let node = rt.block_on(Node::start(options))?;
    let handle = node.handle();
    let (rows, from_saved_view) = loop {
        if let Some(snap) = handle.snapshots().into_iter().find(|s| s.team.id.is_some()) {
            break (
                views::board(&snap.team, SystemEnv.now_ms()).len(),
                snap.loading,
            );
        }
        if t.elapsed() > Duration::from_secs(300) {
            bail!("no view after 300 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let first_view = ms(t.elapsed());
    let first_view_rss = peak_rss_mb();
    let reply = rt.block_on(handle.request(Request::Query {
        team: None,
        query: Query::Board { at_ms: None },
    }))?;
    let Reply::Board { rows: answered, .. } = reply else {
        bail!("unexpected reply {reply:?}");
    };
    let ready = ms(t.elapsed());
    let ready_rss = peak_rss_mb();
    rt.block_on(node.shutdown());
    println!(
        "{}",
        json!({
            "first_view_ms": first_view,
            "ready_ms": ready,
            "first_view_peak_rss_mb": first_view_rss,
            "peak_rss_mb": ready_rss,
            "board_rows": rows,
            "answered_rows": answered.len(),
            "from_saved_view": from_saved_view,
        })
    );
    Ok(())
}

fn open(history: &History) -> Result<Vec<Figure>> {
    let exe = std::env::current_exe()?;
    let run = || -> Result<Value> {
        let out = std::process::Command::new(&exe)
            .arg("__open")
            .arg(&history.dir)
            .output()?;
        if !out.status.success() {
            bail!(
                "open child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    // Without a saved view: the first start after an upgrade, or after a crash (the
    // node saves the view when it stops, and when it had to read the model the long way).
    let mut cold = Vec::new();
    for _ in 0..2 {
        for team in std::fs::read_dir(history.dir.join("teams"))? {
            let _ = std::fs::remove_file(team?.path().join("view"));
        }
        cold.push(run()?);
    }
    let mut warm = Vec::new();
    for _ in 0..5 {
        warm.push(run()?);
    }
    let field = |runs: &[Value], key: &str| -> Vec<f64> {
        let mut v: Vec<f64> = runs
            .iter()
            .map(|r| r[key].as_f64().unwrap_or(f64::NAN))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    if warm.iter().any(|r| r["from_saved_view"] != json!(true)) {
        bail!("a start with a saved view did not show it first: {warm:?}");
    }
    let max = |v: Vec<f64>| v.into_iter().fold(0.0f64, f64::max);
    let extra = json!({
        "runs": warm.len(),
        "history_changes": history.changes,
        "snapshot_bytes": history.save_bytes,
        "ready_ms": round(percentile(&field(&warm, "ready_ms"), 0.5)),
        "first_view_peak_rss_mb": round(max(field(&warm, "first_view_peak_rss_mb"))),
        "without_saved_view": {
            "runs": cold.len(),
            "first_view_ms": round(percentile(&field(&cold, "first_view_ms"), 0.5)),
            "peak_rss_mb": round(max(field(&cold, "peak_rss_mb"))),
        },
    });
    Ok(vec![
        Figure::new(
            "open-to-first-view",
            percentile(&field(&warm, "first_view_ms"), 0.5),
            "ms",
        )
        .extra(extra.clone()),
        Figure::new("open-peak-rss", max(field(&warm, "peak_rss_mb")), "MB").extra(extra),
    ])
}

fn write(rt: &tokio::runtime::Runtime) -> Result<Vec<Figure>> {
    let base = temp_dir("write")?;
    let dir = base.join("w");
    let node = start_node(rt, &dir, true)?;
    rt.block_on(node.handle().request(Request::Init {
        name: "Writer".into(),
        team_name: "Bench".into(),
    }))?;
    let mut client =
        peercoach_node::control::ControlClient::connect(&dir).context("control socket")?;
    const N: usize = 2000;
    let t = Instant::now();
    for i in 0..N {
        client.call(
            &Request::Apply {
                team: None,
                command: ask(format!("write {i}")),
            },
            Duration::from_secs(10),
        )?;
    }
    let per_sec = N as f64 / t.elapsed().as_secs_f64();
    // One whole CLI call (process start, socket, fsync, reply).
    let exe = std::env::current_exe()?;
    let mut calls = Vec::new();
    for i in 0..30 {
        let t = Instant::now();
        let status = std::process::Command::new(&exe)
            .args(["__cli", "--data-dir"])
            .arg(&dir)
            .args(["ask", &format!("cli {i}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("CLI call failed");
        }
        calls.push(ms(t.elapsed()));
    }
    calls.sort_by(f64::total_cmp);
    rt.block_on(node.shutdown());
    crate::clear_dir(&base);
    Ok(vec![
        Figure::new("write-acked-edits-per-second", per_sec, "edits/s").extra(
            json!({ "edits": N, "via": "control socket, one request at a time, each fsynced" }),
        ),
        Figure::new("write-cli-round-trip-p50", percentile(&calls, 0.5), "ms")
            .extra(json!({ "calls": calls.len(), "p99_ms": round(percentile(&calls, 0.99)) })),
    ])
}

fn mesh(rt: &tokio::runtime::Runtime) -> Result<Vec<Figure>> {
    const NODES: usize = 16;
    const EDITS: usize = 100;
    let base = temp_dir("mesh")?;
    let mut nodes = Vec::new();
    for i in 0..NODES {
        nodes.push(start_node(rt, &base.join(format!("n{i}")), false)?);
    }
    rt.block_on(nodes[0].handle().request(Request::Init {
        name: "N0".into(),
        team_name: "Mesh".into(),
    }))?;
    for i in 1..NODES {
        let ticket = invite(rt, &nodes[i - 1])?;
        join(rt, &nodes[i], &ticket, &format!("N{i}"))?;
    }
    let ids: Vec<peercoach_net::DeviceId> = nodes.iter().map(Node::endpoint_id).collect();
    let settle = Instant::now();
    loop {
        let h0 = heads(rt, &nodes[0])?;
        let mut same = true;
        for n in &nodes[1..] {
            same &= heads(rt, n)? == h0;
        }
        if same {
            break;
        }
        if settle.elapsed() > Duration::from_secs(60) {
            bail!("the mesh never formed");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for (i, n) in nodes.iter().enumerate() {
        let others: BTreeSet<peercoach_net::DeviceId> = ids
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, id)| *id)
            .collect();
        n.net().block(others);
    }
    std::thread::sleep(Duration::from_millis(300));
    for (i, n) in nodes.iter().enumerate() {
        for e in 0..EDITS {
            rt.block_on(n.handle().request(Request::Apply {
                team: None,
                command: ask(format!("mesh {i}/{e}")),
            }))?;
        }
    }
    let before: u64 = nodes.iter().map(|n| n.net().traffic().0).sum();
    let t = Instant::now();
    for n in &nodes {
        n.net().block(BTreeSet::new());
    }
    loop {
        let h0 = heads(rt, &nodes[0])?;
        let mut same = true;
        for n in &nodes[1..] {
            same &= heads(rt, n)? == h0;
            if !same {
                break;
            }
        }
        if same {
            break;
        }
        if t.elapsed() > Duration::from_secs(120) {
            bail!("the mesh did not converge");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let time = ms(t.elapsed());
    let bytes: u64 = nodes.iter().map(|n| n.net().traffic().0).sum::<u64>() - before;
    for n in nodes {
        rt.block_on(n.shutdown());
    }
    crate::clear_dir(&base);
    Ok(vec![
        Figure::new("mesh-convergence", time, "ms")
            .extra(json!({ "nodes": NODES, "edits_each": EDITS })),
        Figure::new("mesh-bytes", bytes as f64, "bytes")
            .extra(json!({ "nodes": NODES, "edits_each": EDITS })),
    ])
}

/// Where the time of one in-memory edit goes (a development aid: `__phases`).
fn phases(history: &History) -> Result<()> {
    let (mut a, mut b) = memory_pair(history)?;
    let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
    sync_memory(&mut a, &mut sa, &mut b, &mut sb);
    let mut env = SeededEnv::new(1, SystemEnv.now_ms());
    let mut t = [0.0f64; 8];
    let n = 50;
    // What a node does per local edit besides the protocol: store it, find the change.
    let dir = temp_dir("phases")?;
    let data = peercoach_store::DataDir::open(&dir)?;
    let team = a.team().id.clone().context("team")?;
    let mut store = data.create_team(&team, a.automerge())?;
    for i in 0..n {
        let s = Instant::now();
        a.apply(ask(format!("phase {i}")), &mut env)?;
        t[0] += ms(s.elapsed());
        let s = Instant::now();
        store.append(a.automerge())?;
        t[4] += ms(s.elapsed());
        let s = Instant::now();
        let last = a.automerge().get_last_local_change();
        t[5] += ms(s.elapsed());
        let s = Instant::now();
        if let Some(change) = last {
            let touched = b.apply_changes(vec![change])?;
            if i == 0 {
                eprintln!("touched by one pushed change: {touched:?}");
            }
        }
        t[6] += ms(s.elapsed());
        loop {
            let s = Instant::now();
            let ma = a.automerge().sync().generate_sync_message(&mut sa);
            let mb = b.automerge().sync().generate_sync_message(&mut sb);
            t[1] += ms(s.elapsed());
            if ma.is_none() && mb.is_none() {
                break;
            }
            let s = Instant::now();
            if let Some(m) = ma {
                b.automerge().sync().receive_sync_message(&mut sb, m)?;
            }
            if let Some(m) = mb {
                a.automerge().sync().receive_sync_message(&mut sa, m)?;
            }
            t[2] += ms(s.elapsed());
        }
        let s = Instant::now();
        b.refresh_after_merge();
        a.refresh_after_merge();
        t[3] += ms(s.elapsed());
    }
    let n = n as f64;
    println!(
        "per edit: apply {:.2} ms, append {:.2} ms, last change {:.2} ms, apply pushed {:.2} ms; \
         protocol: generate {:.2} ms, receive {:.2} ms, refresh {:.2} ms",
        t[0] / n,
        t[4] / n,
        t[5] / n,
        t[6] / n,
        t[1] / n,
        t[2] / n,
        t[3] / n
    );
    // Automerge alone: the ops of one request, the commit, the diff.
    use peercoach_core::automerge::transaction::Transactable;
    use peercoach_core::automerge::{ObjType, ROOT, ReadDoc};
    let (mut ops, mut commit, mut diff, mut changes_since) = (0.0, 0.0, 0.0, 0.0);
    let doc = a.automerge();
    let Some((_, requests)) = doc.get(ROOT, "requests")? else {
        bail!("no requests map")
    };
    for i in 0..50 {
        let before = doc.get_heads();
        let s = Instant::now();
        let obj = doc.put_object(
            &requests,
            format!("00000000-0000-4000-8000-{i:012}"),
            ObjType::Map,
        )?;
        for k in ["author", "title", "tried", "urgency"] {
            doc.put(&obj, k, "x")?;
        }
        doc.put(&obj, "created_ms", 1_i64)?;
        ops += ms(s.elapsed());
        let s = Instant::now();
        doc.commit();
        commit += ms(s.elapsed());
        let s = Instant::now();
        let new = doc.get_changes(&before);
        changes_since += ms(s.elapsed());
        if new.len() != 1 {
            bail!("expected one new change, got {}", new.len());
        }
        let s = Instant::now();
        let _ = doc.diff_incremental();
        diff += ms(s.elapsed());
    }
    println!(
        "automerge per request: ops {:.2} ms, commit {:.2} ms, get_changes since {:.2} ms, diff_incremental {:.2} ms",
        ops / 50.0,
        commit / 50.0,
        changes_since / 50.0,
        diff / 50.0
    );
    let mut all = doc.get_changes(&[]);
    let all = all.split_off(all.len() - 2_000);
    let s = Instant::now();
    let mut places = peercoach_core::Places::default();
    let touched = peercoach_core::Touched::from_changes(doc, &all, &mut places);
    println!(
        "following the last {} changes by their ops: {:.2} ms (everything: {})",
        all.len(),
        ms(s.elapsed()),
        touched == peercoach_core::Touched::all()
    );
    let s = Instant::now();
    let team = peercoach_core::Team::read(doc);
    println!(
        "full read of the model: {:.2} ms ({} requests)",
        ms(s.elapsed()),
        team.requests.len()
    );
    crate::clear_dir(&dir);
    Ok(())
}

/// Removes a scratch directory left by an earlier run (none there is fine); a directory
/// that cannot be removed is reported, and the run goes on to fail where it is used.
pub(crate) fn clear_dir(path: &std::path::Path) {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            eprintln!("could not clear {}: {e}", path.display());
        }
        _ => {}
    }
}
