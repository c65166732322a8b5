//! The running node: the [`Engine`] on its own thread (the only owner of the documents),
//! the network, and the control socket. Everything reaches the documents as a message on
//! one channel, so there is never a lock around a document and the order of changes is
//! the order of messages.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use peercoach_core::automerge::AutoCommit;
use peercoach_core::automerge::sync::{self, SyncDoc};
use peercoach_core::automerge::{Change, ChangeHash};
use peercoach_core::{ActorHex, Command, Env, MemberId, SystemEnv, Team, TeamId};
use peercoach_net::{
    InviteTicket, JoinAccepted, JoinError, JoinReply, JoinRequest, Net, NetConfig, NetEvent,
    Outbox, PeerSpec, SendError, Wire,
};
use rand::RngCore;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::api::{PeerStatus, Reply, Request, StatusReply};
use crate::engine::{Engine, EngineError};
use crate::invites::Invites;
use peercoach_store::{NetworkMode, NetworkSettings};

/// How a node is started.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The data dir.
    pub data_dir: PathBuf,
    /// Force loopback-only mode (else the data dir's settings decide).
    pub loopback_only: bool,
    /// Bind this address.
    pub bind: Option<SocketAddr>,
    /// Serve the control socket in the data dir.
    pub control_socket: bool,
    /// Added to the system clock for the times written into documents: a device whose
    /// clock is wrong, for tests of skewed clocks between peers.
    pub clock_skew_ms: i64,
    /// Publish a [`TeamSnapshot`] of every team from the start, including each large
    /// team's saved view while its document loads (the app sets this; see
    /// [`NodeHandle::watch_snapshots`]).
    pub watch_snapshots: bool,
}

impl NodeOptions {
    /// Options for a data dir, loopback-only when `PEERCOACH_LOOPBACK=1` is set.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            loopback_only: loopback_from_env(),
            bind: None,
            control_socket: true,
            clock_skew_ms: 0,
            watch_snapshots: false,
        }
    }
}

/// Whether `PEERCOACH_LOOPBACK` asks for loopback-only mode.
pub fn loopback_from_env() -> bool {
    std::env::var("PEERCOACH_LOOPBACK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// What the node tells the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A team's document changed (locally or from a peer): re-read views.
    Changed {
        /// Team id.
        team: String,
    },
    /// Connections or sync progress changed: re-read status.
    Sync,
}

/// The answer to one API message: the result, and anything worth warning about.
#[derive(Debug)]
pub struct ApiResult {
    /// The reply or the error.
    pub result: Result<Reply, EngineError>,
    /// Warnings (damaged files repaired while opening, …).
    pub warnings: Vec<String>,
}

enum Msg {
    Api(Request, oneshot::Sender<ApiResult>),
    Net(NetEvent),
    JoinDone {
        ticket: Box<InviteTicket>,
        result: Result<JoinAccepted, JoinError>,
        reply: oneshot::Sender<ApiResult>,
    },
    Tick,
    PublishAll,
    /// This device's addresses or home relay changed.
    AddrChanged,
    /// The wait for a home relay before making an invite is over.
    InviteReady {
        team: Option<String>,
        expires_in_ms: i64,
        device: bool,
        reply: oneshot::Sender<ApiResult>,
    },
    /// The endpoint was bound again under `config` (or, on error, kept as it was).
    Rebound {
        config: Box<NetConfig>,
        result: Result<(), String>,
        /// Settings a person changed, to save and answer once they are in force.
        asked: Option<(NetworkSettings, oneshot::Sender<ApiResult>)>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// The latest view of one team, published by the node after every change. The UI reads
/// it (cheaply: it is shared) and never the document itself.
#[derive(Debug, Clone)]
pub struct TeamSnapshot {
    /// Team id.
    pub id: TeamId,
    /// The typed view.
    pub team: Arc<Team>,
    /// This device's member, if it is one.
    pub me: Option<MemberId>,
    /// Set when the document is from a newer app.
    pub read_only: Option<peercoach_core::ReadOnly>,
    /// Grows with every change, across teams.
    pub version: u64,
    /// Shown from the view saved when the app last stopped, while the document loads:
    /// requests wait until it has.
    pub loading: bool,
}

type Snapshots = Arc<Mutex<BTreeMap<TeamId, Arc<TeamSnapshot>>>>;

/// Whether anyone reads snapshots: a headless node (serve, benchmarks) never pays for
/// copying the view after each change.
type Watching = Arc<std::sync::atomic::AtomicBool>;

/// A cheap handle for sending requests to a node.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    tx: mpsc::UnboundedSender<Msg>,
    events: broadcast::Sender<NodeEvent>,
    snapshots: Snapshots,
    watching: Watching,
    opened: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Api(..) => "Api",
            Msg::Net(_) => "Net",
            Msg::JoinDone { .. } => "JoinDone",
            Msg::Tick => "Tick",
            Msg::PublishAll => "PublishAll",
            Msg::AddrChanged => "AddrChanged",
            Msg::InviteReady { .. } => "InviteReady",
            Msg::Rebound { .. } => "Rebound",
            Msg::Shutdown(_) => "Shutdown",
        })
    }
}

impl NodeHandle {
    /// Sends a request; the receiver yields the result once it is applied (and durable).
    pub fn send(&self, request: Request) -> oneshot::Receiver<ApiResult> {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Msg::Api(request, tx));
        rx
    }

    /// Sends a request and waits for the reply.
    pub async fn request(&self, request: Request) -> Result<Reply, EngineError> {
        self.request_with_warnings(request).await.result
    }

    /// Like [`NodeHandle::request`], keeping the warnings.
    pub async fn request_with_warnings(&self, request: Request) -> ApiResult {
        self.send(request).await.unwrap_or_else(|_| ApiResult {
            result: Err(EngineError::Join("the node has stopped".into())),
            warnings: Vec::new(),
        })
    }

    /// Change notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Starts publishing a [`TeamSnapshot`] of every team after each change (the UI calls
    /// this once; a headless node never does).
    pub fn watch_snapshots(&self) {
        if !self
            .watching
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let _ = self.tx.send(Msg::PublishAll);
        }
    }

    /// Whether every team's document has been opened. Until then a team may show its
    /// saved view, or nothing yet (the UI says it is opening, not that there is no team),
    /// and requests wait.
    pub fn is_open(&self) -> bool {
        self.opened.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The latest view of a team.
    pub fn snapshot(&self, team: &TeamId) -> Option<Arc<TeamSnapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(team)
            .cloned()
    }

    /// Every team's latest view, by id.
    pub fn snapshots(&self) -> Vec<Arc<TeamSnapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data dir.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The network.
    #[error(transparent)]
    Net(#[from] peercoach_net::NetError),
    /// The control socket.
    #[error("control socket {path}: {source}")]
    Socket {
        /// Path.
        path: PathBuf,
        /// Error.
        source: std::io::Error,
    },
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    handle: NodeHandle,
    net: Net,
    actor: Option<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    socket: Option<PathBuf>,
    loopback_only: bool,
}

impl Node {
    /// Opens the data dir (taking its lock), binds the network and starts syncing.
    /// Must be called inside a tokio runtime.
    pub async fn start(options: NodeOptions) -> Result<Self, NodeError> {
        let engine = if options.clock_skew_ms == 0 {
            Engine::open(&options.data_dir)?
        } else {
            Engine::open_with_env(
                &options.data_dir,
                Box::new(SkewedClock(options.clock_skew_ms)),
            )?
        };
        let settings = engine.data().settings();
        let loopback_only =
            crate::connect::effective_mode(&settings.network, options.loopback_only)
                == NetworkMode::Loopback;
        // The teams' own relays are known once their documents are open; the actor binds
        // again then if they change anything.
        let (mut config, problem) = crate::connect::net_config(
            engine.identity().secret_key,
            &settings.network,
            &[],
            options.loopback_only,
            options.bind,
        );
        if let Some(problem) = problem {
            tracing::warn!("{problem}");
        }
        let (net_tx, mut net_rx) = mpsc::unbounded_channel();
        // Keep the same port across restarts, so teammates who know our old address
        // find us again; if it is taken, take any and publish the new address.
        let net = match Net::bind(&config, net_tx.clone()).await {
            Ok(net) => net,
            Err(e) if config.port != 0 && config.bind.is_none() => {
                tracing::warn!(port = config.port, error = %e, "saved port unavailable; using another");
                Net::bind(
                    &NetConfig {
                        port: 0,
                        ..config.clone()
                    },
                    net_tx,
                )
                .await?
            }
            Err(e) => return Err(e.into()),
        };
        if options.bind.is_none()
            && let Some(port) = net.direct_addrs().first().map(SocketAddr::port)
            && port != settings.network.port
        {
            // What the endpoint is bound with: a later rebind keeps this port.
            config.port = port;
            let mut settings = engine.data().settings();
            settings.network.port = port;
            if let Err(e) = engine.data().save_settings(&settings) {
                tracing::warn!(error = %e, "could not remember the port");
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(256);
        let snapshots = Snapshots::default();
        let watching = Watching::new(options.watch_snapshots.into());
        let opened = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handle = NodeHandle {
            tx: tx.clone(),
            events: events.clone(),
            snapshots: snapshots.clone(),
            watching: watching.clone(),
            opened: opened.clone(),
        };
        let mut tasks = Vec::new();
        let forward = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(event) = net_rx.recv().await {
                if forward.send(Msg::Net(event)).is_err() {
                    break;
                }
            }
        }));
        let ticker = tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(std::time::Duration::from_secs(2));
            loop {
                interval.tick().await;
                if ticker.send(Msg::Tick).is_err() {
                    break;
                }
            }
        }));
        let watched = net.clone();
        let changes = tx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                watched.addr_changed().await;
                // Addresses come and go in bursts (a new network brings several): publish
                // once they settled.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                if changes.send(Msg::AddrChanged).is_err() {
                    break;
                }
            }
        }));
        let socket = if options.control_socket {
            let path = peercoach_store::DataDir::control_socket_path(&options.data_dir);
            tasks.push(crate::control::serve(&path, handle.clone())?);
            Some(path)
        } else {
            None
        };
        let network = NetworkSettings {
            port: config.port,
            ..settings.network.clone()
        };
        let actor = Actor {
            engine,
            net: net.clone(),
            net_config: config,
            forced_loopback: options.loopback_only,
            bind: options.bind,
            rebinding: false,
            last_addrs: net.direct_addrs().into_iter().collect(),
            network,
            rt: tokio::runtime::Handle::current(),
            tx: tx.downgrade(),
            events,
            peers: BTreeMap::new(),
            specs: Vec::new(),
            snapshots,
            watching,
            opened,
            version: 0,
            pushes: BTreeMap::new(),
            arrivals: Arrivals::default(),
            unsaved: BTreeMap::new(),
            ticks: 0,
            fetching: BTreeMap::new(),
            refetch: BTreeSet::new(),
        };
        let thread = std::thread::Builder::new()
            .name("peercoach-node".into())
            .spawn(move || actor.run(rx))
            .map_err(|e| NodeError::Socket {
                path: options.data_dir.clone(),
                source: e,
            })?;
        Ok(Self {
            handle,
            net,
            actor: Some(thread),
            tasks,
            socket,
            loopback_only,
        })
    }

    /// A handle for requests and events.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// This device's endpoint id.
    pub fn endpoint_id(&self) -> String {
        self.net.endpoint_id()
    }

    /// This device's direct addresses.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.net.direct_addrs()
    }

    /// Whether the node runs loopback-only.
    pub fn is_loopback_only(&self) -> bool {
        self.loopback_only
    }

    /// The network layer (for pausing peers and dropping connections).
    pub fn net(&self) -> &Net {
        &self.net
    }

    /// Stops: saves sync states, tells peers, closes the endpoint, removes the socket.
    pub async fn shutdown(mut self) {
        // The socket goes first, while this process still holds the data dir's lock: a
        // node started right after us must never find its fresh socket removed by us.
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Some(path) = &self.socket {
            let _ = std::fs::remove_file(path);
        }
        let (tx, rx) = oneshot::channel();
        if self.handle.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        if let Some(thread) = self.actor.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.net.shutdown().await;
    }
}

/// The system clock off by a fixed amount (see [`NodeOptions::clock_skew_ms`]).
struct SkewedClock(i64);

impl Env for SkewedClock {
    fn now_ms(&mut self) -> i64 {
        SystemEnv.now_ms().saturating_add(self.0)
    }

    fn fresh_id(&mut self) -> String {
        SystemEnv.fresh_id()
    }
}

/// Sync with one peer on one team.
#[derive(Debug)]
struct PeerSync {
    state: sync::State,
    /// Live sessions, oldest first; the newest is the one in use. Briefly there can be
    /// two (while a duplicate connection is being closed); when the one in use ends, the
    /// sync falls back to the other.
    sessions: Vec<(u64, Outbox)>,
    last_received_ms: Option<i64>,
    /// The heads in the last message we really sent on the session in use.
    told_heads: Vec<ChangeHash>,
    /// The peer's heads as it last told us (a `Heads` message or a sync message).
    peer_heads: Option<Vec<ChangeHash>>,
    /// Our heads at the previous anti-entropy tick: what a peer has had a whole tick to
    /// confirm.
    tick_heads: Vec<ChangeHash>,
    /// A message was dropped because the session's budget was spent.
    overflowed: bool,
    /// Ticks in a row at which the peer had not confirmed our heads of the tick before.
    lagging: u32,
}

/// Ticks in a row a peer may lag behind our heads of the tick before it is sent a
/// protocol round. Pushes travel on an ordered, reliable stream, and a dropped push, a
/// new session and heads we do not know each start a round at once; so a peer that
/// lags has almost always a backlog to work through, not a lost change, and a round
/// (whose cost grows with the history) would only add to that backlog.
const LAGGING_TICKS: u32 = 3;

/// How long a fetch from one peer (see [`Actor::fetch_next`]) may go unanswered before
/// another peer is asked.
const FETCH_WAIT_MS: i64 = 2_000;

impl PeerSync {
    fn new(state: sync::State) -> Self {
        Self {
            state,
            sessions: Vec::new(),
            last_received_ms: None,
            told_heads: Vec::new(),
            peer_heads: None,
            tick_heads: Vec::new(),
            overflowed: false,
            lagging: 0,
        }
    }

    fn current(&self) -> Option<u64> {
        self.sessions.last().map(|(s, _)| *s)
    }

    /// Starts the protocol afresh on the session now in use: a message lost with the
    /// old stream must not stall the pair (DESIGN.md §5).
    fn restart_protocol(&mut self) {
        self.state = sync::State::decode(&self.state.encode()).unwrap_or_default();
        self.told_heads = Vec::new();
    }

    /// A message could not be queued: the session ended, or the peer reads slower than
    /// we write and the session's budget is spent. Either way the message is gone, and
    /// the protocol starts afresh so that a round repairs what it carried: on the next
    /// session, or at the first tick after this one has drained.
    fn send_failed(&mut self, error: SendError) {
        if error == SendError::Closed {
            self.sessions.pop();
        } else {
            self.overflowed = true;
        }
        self.restart_protocol();
    }

    /// Whether everything queued for the peer has been written.
    fn drained(&self) -> bool {
        self.sessions.last().is_none_or(|(_, o)| o.is_idle())
    }
}

struct Actor {
    engine: Engine,
    net: Net,
    /// What the endpoint is bound with now.
    net_config: NetConfig,
    /// Loopback-only forced by the environment or `serve --loopback-only`.
    forced_loopback: bool,
    bind: Option<SocketAddr>,
    /// A rebind is under way: the next one waits for it.
    rebinding: bool,
    /// This device's direct addresses when they last changed.
    last_addrs: BTreeSet<SocketAddr>,
    /// The network settings as saved: read once at start and kept here as they change
    /// (only this actor writes them while the node runs), so a status request or a batch
    /// of edits never reads `settings.json`.
    network: NetworkSettings,
    rt: tokio::runtime::Handle,
    tx: mpsc::WeakUnboundedSender<Msg>,
    events: broadcast::Sender<NodeEvent>,
    peers: BTreeMap<(TeamId, String), PeerSync>,
    specs: Vec<PeerSpec>,
    snapshots: Snapshots,
    watching: Watching,
    opened: Arc<std::sync::atomic::AtomicBool>,
    version: u64,
    /// Changes to push to connected peers in `settle`, per team: local ones, and ones a
    /// peer pushed that were new here (relayed to the others, so a star of peers hears
    /// each other's edits without protocol rounds).
    pushes: BTreeMap<TeamId, Vec<Push>>,
    /// Pushed changes and heads received in this batch, taken together.
    arrivals: Arrivals,
    /// Per team, the changes applied in this batch and not yet saved, while they are
    /// known exactly (`None` once a sync message, or a change that had to wait, brought
    /// others): `settle` hands them to the store as they are.
    unsaved: BTreeMap<TeamId, Option<Vec<Change>>>,
    ticks: u64,
    /// Per team, the peer we are fetching changes from because it announced heads we
    /// lack, and since when (see [`Actor::fetch_next`]).
    fetching: BTreeMap<TeamId, (String, i64)>,
    /// Teams whose fetch was answered in this batch: the next peer is judged in
    /// `settle`, once the answer is applied.
    refetch: BTreeSet<TeamId>,
}

/// How long an invite waits for the device's home relay right after start.
const INVITE_RELAY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a new relay of this device's own gets to accept it before its settings are
/// taken (a relay that refuses the token is refused here, and nothing changes).
const RELAY_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

/// Messages taken from the actor's mailbox at once. Pushes in a batch are applied in one
/// Automerge call (see [`Arrivals`]), so a node that fell behind catches up in fewer,
/// larger calls; the inbound budget bounds what the mailbox holds.
const MAX_BATCH: usize = 2048;

/// A change to push, and the peer it came from (who is not sent it back).
struct Push {
    from: Option<String>,
    bytes: Vec<u8>,
}

/// Pushed changes and announced heads received in the current batch. Automerge applies
/// a hundred changes in one call for about the cost of one change alone on a large
/// history (the call's cost is mostly per object touched, not per change), so pushes are
/// applied a batch at a time; heads are judged after that, against the batch's result.
#[derive(Default)]
struct Arrivals {
    changes: BTreeMap<TeamId, Vec<(String, Change)>>,
    heads: Vec<((TeamId, String), Vec<ChangeHash>)>,
}

impl Arrivals {
    fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.heads.is_empty()
    }
}

impl Actor {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        // The network layer spawns its tasks on the node's runtime.
        let rt = self.rt.clone();
        let _runtime = rt.enter();
        let me = self.net.endpoint_id();
        let span = tracing::info_span!("node", id = %&me[..8]);
        let _span = span.enter();
        if self.watching.load(std::sync::atomic::Ordering::SeqCst) {
            // Show each team's saved view while Automerge loads its document (seconds,
            // for years of history); the snapshots are replaced once it has.
            for (id, view) in self.engine.preview_all() {
                let me = view
                    .team
                    .member_of_actor(&self.engine.identity().actor_hex())
                    .cloned();
                self.put_snapshot(id, view.team, me, true);
            }
            let _ = self.events.send(NodeEvent::Sync);
        }
        if let Err(e) = self.engine.open_all() {
            tracing::error!(error = %e, "could not open every team");
        }
        self.publish_addrs();
        self.refresh_peers();
        self.follow_team_relays();
        self.publish_all();
        // After the snapshots: the UI takes "open, and no snapshot" for "no team yet".
        self.opened.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.events.send(NodeEvent::Sync);
        self.engine.save_views();
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(msg) => batch.push(msg),
                    Err(_) => break,
                }
            }
            let mut changed: BTreeSet<TeamId> = BTreeSet::new();
            let mut reply_to: BTreeSet<(TeamId, String)> = BTreeSet::new();
            let mut stop = None;
            for msg in batch {
                // Everything but a push, a heads announcement or a request from this
                // device sees the pushes so far. A local command may go before pushes
                // that arrived in the same batch: nobody here has seen them yet (the UI
                // shows what `settle` publishes), and both are concurrent edits anyway.
                let deferred = matches!(
                    &msg,
                    Msg::Api(..)
                        | Msg::Net(NetEvent::Received {
                            message: Wire::Changes(_) | Wire::Heads(_),
                            ..
                        })
                );
                if !deferred {
                    self.take_arrivals(&mut changed, &mut reply_to);
                }
                match msg {
                    Msg::Api(request, reply) => self.api(request, reply, &mut changed),
                    Msg::Net(event) => self.net_event(event, &mut changed, &mut reply_to),
                    Msg::JoinDone {
                        ticket,
                        result,
                        reply,
                    } => self.join_done(&ticket, result, reply, &mut changed),
                    Msg::Tick => {
                        self.ticks += 1;
                        if self.ticks.is_multiple_of(15) {
                            self.publish_addrs();
                            self.save_sync_states();
                        }
                        self.anti_entropy(&mut reply_to);
                        // A peer's heads we still lack (its answer lost, or it went
                        // away while we fetched): ask again, one peer at a time.
                        let teams: BTreeSet<TeamId> =
                            self.peers.keys().map(|(team, _)| team.clone()).collect();
                        for team in teams {
                            self.fetch_next(&team, &mut reply_to);
                        }
                    }
                    Msg::PublishAll => self.publish_all(),
                    Msg::AddrChanged => self.addrs_changed(),
                    Msg::InviteReady {
                        team,
                        expires_in_ms,
                        device,
                        reply,
                    } => {
                        let result = self.invite(team.as_deref(), expires_in_ms, device);
                        let mut warnings = self.engine.take_warnings();
                        if result.is_ok()
                            && let Some(why) = self.no_relay_warning()
                        {
                            warnings.push(why);
                        }
                        let _ = reply.send(ApiResult { result, warnings });
                    }
                    Msg::Rebound {
                        config,
                        result,
                        asked,
                    } => self.rebound(*config, result, asked),
                    Msg::Shutdown(done) => stop = Some(done),
                }
            }
            self.take_arrivals(&mut changed, &mut reply_to);
            let any_change = !changed.is_empty();
            self.settle(&changed, reply_to);
            if any_change {
                // A teammate may have set (or cleared) the team's relay.
                self.follow_team_relays();
            }
            if let Some(done) = stop {
                self.save_sync_states();
                self.engine.save_views();
                let _ = done.send(());
                return;
            }
        }
    }

    /// Applies the pushed changes received so far, a team at a time, and judges the heads
    /// peers announced against the result. New changes are relayed to the other peers in
    /// `settle`; a peer whose changes lack dependencies, or whose heads we do not know, is
    /// answered with a protocol round to fetch the rest.
    fn take_arrivals(
        &mut self,
        changed: &mut BTreeSet<TeamId>,
        reply_to: &mut BTreeSet<(TeamId, String)>,
    ) {
        if self.arrivals.is_empty() {
            return;
        }
        let Arrivals { changes, heads } = std::mem::take(&mut self.arrivals);
        for (team, arrived) in changes {
            let Ok(open) = self.engine.team(Some(team.as_str())) else {
                continue;
            };
            // Only what is new here: a change can arrive from several peers.
            let hashes: Vec<ChangeHash> = arrived.iter().map(|(_, c)| c.hash()).collect();
            let unknown: HashSet<ChangeHash> = open
                .doc
                .automerge()
                .get_missing_deps(&hashes)
                .into_iter()
                .collect();
            let mut taken = HashSet::new();
            let fresh: Vec<(String, Change)> = arrived
                .into_iter()
                .filter(|(_, c)| unknown.contains(&c.hash()) && taken.insert(c.hash()))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let before = open.doc.automerge().get_heads();
            let mut refused: Vec<(String, String)> = Vec::new();
            let all = fresh.iter().map(|(_, c)| c.clone()).collect();
            if open.doc.apply_changes(all).is_err() {
                // Automerge checks the whole batch before applying any of it: find the
                // change it refused, and the peer that sent it.
                for (peer, change) in &fresh {
                    if let Err(e) = open.doc.apply_changes(vec![change.clone()]) {
                        refused.push((peer.clone(), e.to_string()));
                    }
                }
            }
            if open.doc.automerge().get_heads() != before {
                changed.insert(team.clone());
            }
            // A change that overtook one it depends on waits in Automerge's queue; a
            // protocol round with whoever sent it fetches the rest. Relaying waits for
            // a batch that applied whole.
            let waiting = !open.doc.automerge().get_missing_deps(&[]).is_empty();
            let unsaved = self.unsaved.entry(team.clone()).or_insert(Some(Vec::new()));
            if waiting || !refused.is_empty() {
                *unsaved = None;
            } else if let Some(list) = unsaved {
                list.extend(fresh.iter().map(|(_, c)| c.clone()));
            }
            for (peer, change) in fresh {
                if refused.iter().any(|(p, _)| *p == peer) {
                    continue;
                }
                if waiting {
                    reply_to.insert((team.clone(), peer));
                } else {
                    self.pushes.entry(team.clone()).or_default().push(Push {
                        from: Some(peer),
                        bytes: change.raw_bytes().to_vec(),
                    });
                }
            }
            for (peer, error) in refused {
                self.drop_bad_peer(&(team.clone(), peer), &error);
            }
        }
        let mut lacking = BTreeSet::new();
        for (key, heads) in heads {
            let Ok(open) = self.engine.team(Some(key.0.as_str())) else {
                continue;
            };
            let Some(ps) = self.peers.get_mut(&key) else {
                continue;
            };
            // Heads we do not know mean the peer has something for us.
            if !open.doc.automerge().get_missing_deps(&heads).is_empty() {
                lacking.insert(key.0.clone());
            }
            ps.peer_heads = Some(heads);
        }
        for team in lacking {
            self.fetch_next(&team, reply_to);
        }
    }

    /// Starts a protocol round with one peer that announced heads we lack, unless a
    /// round started that way with another peer is still unanswered. When many peers
    /// reconnect at once (a team back from an offsite), each of them announces new
    /// heads after every merge; answering every announcement at once has every peer
    /// send us everything we lack, so that each change arrives many times over. One
    /// fetch at a time, judged again after each answer, asks each peer only for what is
    /// still missing.
    fn fetch_next(&mut self, team: &TeamId, reply_to: &mut BTreeSet<(TeamId, String)>) {
        let now = SystemEnv.now_ms();
        if let Some((peer, since)) = self.fetching.get(team)
            && now - since < FETCH_WAIT_MS
            && self
                .peers
                .get(&(team.clone(), peer.clone()))
                .is_some_and(|ps| !ps.sessions.is_empty())
        {
            return;
        }
        self.fetching.remove(team);
        let Ok(open) = self.engine.team(Some(team.as_str())) else {
            return;
        };
        let doc = open.doc.automerge();
        let next = self.peers.iter_mut().find(|((t, _), ps)| {
            t == team
                && !ps.sessions.is_empty()
                && ps
                    .peer_heads
                    .as_ref()
                    .is_some_and(|heads| !doc.get_missing_deps(heads).is_empty())
        });
        if let Some(((_, peer), ps)) = next {
            // Make sure our next sync message goes out, so they answer it with what we
            // lack.
            ps.state.last_sent_heads.clear();
            reply_to.insert((team.clone(), peer.clone()));
            self.fetching.insert(team.clone(), (peer.clone(), now));
        }
    }

    /// Garbage from a member's device: drop that connection, loudly.
    fn drop_bad_peer(&mut self, key: &(TeamId, String), error: &str) {
        let peer = &key.1;
        tracing::warn!(peer = %&peer[..8.min(peer.len())], %error, "unusable sync message; closing");
        if let Some(ps) = self.peers.get_mut(key) {
            ps.sessions.clear();
        }
        self.net.close_peer(peer, "bad sync message");
    }

    /// After a batch: make remote changes durable, then tell every affected peer.
    fn settle(&mut self, changed: &BTreeSet<TeamId>, mut reply_to: BTreeSet<(TeamId, String)>) {
        let mut unsaved = std::mem::take(&mut self.unsaved);
        for team in changed {
            let Ok(open) = self.engine.team(Some(team.as_str())) else {
                continue;
            };
            let saved = match unsaved.remove(team).flatten() {
                Some(known) => open.store.append_changes(open.doc.automerge(), &known),
                None => open.store.append(open.doc.automerge()),
            };
            if let Err(e) = saved {
                // They stay in memory and go out with the next append.
                tracing::error!(error = %e, "could not save changes from peers");
            }
        }
        // Live changes go out as they are, and everyone hears our new heads; the sync
        // protocol runs only where a peer asked (a sync message), just connected, or is
        // known to lack something.
        let pushes = std::mem::take(&mut self.pushes);
        let keys: Vec<(TeamId, String)> = self
            .peers
            .keys()
            .filter(|(team, _)| changed.contains(team) || pushes.contains_key(team))
            .cloned()
            .collect();
        // Each team's heads once: a push tells the peer them too.
        let teams: BTreeSet<&TeamId> = keys.iter().map(|(team, _)| team).collect();
        let mut heads_of: BTreeMap<TeamId, (Vec<ChangeHash>, Vec<u8>)> = BTreeMap::new();
        for team in teams {
            if let Ok(open) = self.engine.team(Some(team.as_str())) {
                let heads = open.doc.heads();
                let encoded = encode_heads(&heads);
                heads_of.insert(team.clone(), (heads, encoded));
            }
        }
        for (team, peer) in &keys {
            let Some((heads, encoded)) = heads_of.get(team) else {
                continue;
            };
            for push in pushes.get(team).into_iter().flatten() {
                if push.from.as_deref() != Some(peer.as_str()) {
                    let wire = Wire::Changes(push.bytes.clone());
                    self.send_wire(team, peer, wire, Some(heads));
                }
            }
            self.send_wire(team, peer, Wire::Heads(encoded.clone()), None);
        }
        for team in std::mem::take(&mut self.refetch) {
            self.fetch_next(&team, &mut reply_to);
        }
        for (team, peer) in &reply_to {
            self.send_sync(team, peer);
        }
        if !changed.is_empty() {
            self.refresh_peers();
            for team in changed {
                self.publish_snapshot(team);
                let _ = self.events.send(NodeEvent::Changed {
                    team: team.to_string(),
                });
            }
        }
        if !changed.is_empty() || !reply_to.is_empty() {
            let _ = self.events.send(NodeEvent::Sync);
        }
    }

    /// Sends one message on a peer's live session. `told` records that the peer now has
    /// our current heads (after a push), so the protocol does not send them again.
    fn send_wire(&mut self, team: &TeamId, peer: &str, wire: Wire, told: Option<&[ChangeHash]>) {
        let Some(ps) = self.peers.get_mut(&(team.clone(), peer.to_owned())) else {
            return;
        };
        let Some((_, outbox)) = ps.sessions.last() else {
            return;
        };
        match outbox.send(wire) {
            Ok(()) => {
                if let Some(heads) = told {
                    ps.told_heads = heads.to_vec();
                }
            }
            Err(e) => ps.send_failed(e),
        }
    }

    /// Every few seconds: a protocol round with each connected peer that is known to lack
    /// some of our changes (a dropped push, a change that came from a third device). A
    /// change pushed moments ago is given time to be confirmed ([`LAGGING_TICKS`]), and
    /// nothing is started while messages to the peer still wait to be written: a protocol
    /// round costs the peer time in proportion to the whole history, so it is not spent
    /// on pushes in flight.
    fn anti_entropy(&mut self, reply_to: &mut BTreeSet<(TeamId, String)>) {
        let keys: Vec<(TeamId, String)> = self
            .peers
            .iter()
            .filter(|(_, ps)| !ps.sessions.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for (team, peer) in keys {
            let Ok(open) = self.engine.team(Some(team.as_str())) else {
                continue;
            };
            let Some(ps) = self.peers.get_mut(&(team.clone(), peer.clone())) else {
                continue;
            };
            let doc = open.doc.automerge();
            let heads = doc.get_heads();
            let previous = std::mem::replace(&mut ps.tick_heads, heads);
            // While messages still wait to be written, the peer has not had them: a
            // round now would only add to its backlog.
            if !ps.drained() {
                continue;
            }
            if std::mem::take(&mut ps.overflowed) {
                ps.lagging = 0;
                reply_to.insert((team, peer));
            } else if !peer_has_all(doc, ps) && peer_lacks(doc, ps, &previous) {
                ps.lagging += 1;
                if ps.lagging >= LAGGING_TICKS {
                    ps.lagging = 0;
                    reply_to.insert((team, peer));
                }
            } else {
                ps.lagging = 0;
            }
        }
    }

    /// Remembers the change a local command just made, to push it to connected peers.
    fn local_change(&mut self, team: &TeamId) {
        let Ok(open) = self.engine.team(Some(team.as_str())) else {
            return;
        };
        if let Some(change) = open.doc.automerge().get_last_local_change() {
            self.pushes.entry(team.clone()).or_default().push(Push {
                from: None,
                bytes: change.raw_bytes().to_vec(),
            });
        }
    }

    fn publish_all(&mut self) {
        let all: Vec<TeamId> = self.engine.teams_mut().map(|(id, _)| id.clone()).collect();
        for team in &all {
            self.publish_snapshot(team);
        }
    }

    fn publish_snapshot(&mut self, team: &TeamId) {
        if !self.watching.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let Ok(open) = self.engine.team(Some(team.as_str())) else {
            return;
        };
        let view = open.doc.shared_team();
        let me = open.doc.me().cloned();
        self.put_snapshot(team.clone(), view, me, false);
    }

    fn put_snapshot(&mut self, id: TeamId, team: Arc<Team>, me: Option<MemberId>, loading: bool) {
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        // The same model published again (the UI asking for snapshots while the node
        // opens, a change that touched nothing the model holds): no new version, so the
        // UI does not derive its views again for nothing.
        if snapshots.get(&id).is_some_and(|old| {
            Arc::ptr_eq(&old.team, &team) && old.me == me && old.loading == loading
        }) {
            return;
        }
        self.version += 1;
        let snapshot = Arc::new(TeamSnapshot {
            id: id.clone(),
            read_only: peercoach_core::ReadOnly::of(&team),
            team,
            me,
            version: self.version,
            loading,
        });
        snapshots.insert(id, snapshot);
    }

    fn send_sync(&mut self, team: &TeamId, peer: &str) {
        let Ok(open) = self.engine.team(Some(team.as_str())) else {
            return;
        };
        let Some(ps) = self.peers.get_mut(&(team.clone(), peer.to_owned())) else {
            return;
        };
        let Some((_, outbox)) = ps.sessions.last() else {
            return;
        };
        // Automerge skips a reply when a message it received carried heads equal to ours,
        // assuming every message gets answered before the next arrives. We answer a batch
        // at a time, so we track what we really told this peer: whenever our heads moved
        // since, it hears them.
        let heads = open.doc.automerge().get_heads();
        if ps.told_heads != heads {
            ps.state.last_sent_heads = Vec::new();
        }
        if let Some(message) = open
            .doc
            .automerge()
            .sync()
            .generate_sync_message(&mut ps.state)
        {
            let heads = message.heads.clone();
            tracing::trace!(peer = %&peer[..8.min(peer.len())], ?heads, changes = message.changes.len(), "send sync");
            match outbox.send(Wire::Sync(message.encode())) {
                Ok(()) => ps.told_heads = heads,
                Err(e) => ps.send_failed(e),
            }
        }
    }

    fn api(
        &mut self,
        request: Request,
        reply: oneshot::Sender<ApiResult>,
        changed: &mut BTreeSet<TeamId>,
    ) {
        let team_of = |req: &Request| match req {
            Request::Apply { team, .. } | Request::Import { team, .. } => Some(team.clone()),
            Request::Init { .. } => Some(None),
            _ => None,
        };
        let mutates = team_of(&request);
        let creates_team = matches!(request, Request::Init { .. });
        let result = match request {
            Request::Status { team } => self.status(team.as_deref()),
            Request::Invite {
                team,
                expires_in_ms,
                device,
            } => {
                if self.net.uses_relays() && self.net.relay_url().is_none() {
                    // Just started: an invite without the relay cannot be used from
                    // behind a NAT, so wait (a few seconds at most) until it is known.
                    let net = self.net.clone();
                    let tx = self.tx.clone();
                    self.rt.spawn(async move {
                        net.wait_for_relay(INVITE_RELAY_WAIT).await;
                        if let Some(tx) = tx.upgrade() {
                            let _ = tx.send(Msg::InviteReady {
                                team,
                                expires_in_ms,
                                device,
                                reply,
                            });
                        }
                    });
                    return;
                }
                self.invite(team.as_deref(), expires_in_ms, device)
            }
            Request::Network { set: Some(network) } => {
                self.change_network(network, reply);
                return;
            }
            Request::Join { ticket, name } => match self.start_join(&ticket, name, reply) {
                Ok(()) => return,
                Err((e, reply)) => {
                    let _ = reply.send(ApiResult {
                        result: Err(e),
                        warnings: self.engine.take_warnings(),
                    });
                    return;
                }
            },
            other => self.engine.handle(other),
        };
        if result.is_ok()
            && let Some(team) = mutates
            && let Ok(id) = self.engine.select(team.as_deref())
        {
            self.local_change(&id);
            changed.insert(id);
        }
        if creates_team && result.is_ok() {
            // A new team: teammates must be able to find this device.
            self.publish_addrs();
        }
        let _ = reply.send(ApiResult {
            result,
            warnings: self.engine.take_warnings(),
        });
    }

    fn status(&mut self, team: Option<&str>) -> Result<Reply, EngineError> {
        let endpoint_id = self.net.endpoint_id();
        let addrs = self
            .net
            .direct_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        let id = self.engine.select(team)?;
        let open = self.engine.team(Some(id.as_str()))?;
        let view = open.doc.team().clone();
        let mut peers = Vec::new();
        for member in view.current_members() {
            for device in member
                .devices
                .iter()
                .filter(|d| d.trusted && d.endpoint != endpoint_id)
            {
                let ps = self.peers.get(&(id.clone(), device.endpoint.clone()));
                let path = self.net.path(&device.endpoint);
                peers.push(PeerStatus {
                    member: member.id.to_string(),
                    name: member.name.clone(),
                    endpoint_id: device.endpoint.clone(),
                    connected: self.net.is_connected(&device.endpoint),
                    last_synced_ms: ps.and_then(|p| p.last_received_ms),
                    has_all_my_changes: ps.is_some_and(|p| peer_has_all(open.doc.automerge(), p)),
                    path: path.map(|p| p.kind.as_str().to_owned()),
                    rtt_ms: path.map(|p| p.rtt_ms),
                    addrs: device.addrs.clone(),
                    relay_url: device.relay.clone(),
                });
            }
        }
        Ok(Reply::Status(StatusReply {
            endpoint_id,
            addrs,
            relay_url: self.net.relay_url(),
            mode: crate::connect::effective_mode(&self.network, self.forced_loopback)
                .as_str()
                .to_owned(),
            relay_problem: self.net.relay_problem().or_else(|| self.net_problem()),
            team_relay: view.relay.as_ref().map(|r| r.url.clone()),
            team: Some(id.to_string()),
            peers,
        }))
    }

    fn invite(
        &mut self,
        team: Option<&str>,
        expires_in_ms: i64,
        device: bool,
    ) -> Result<Reply, EngineError> {
        if !(60_000..=30 * 24 * 3_600_000).contains(&expires_in_ms) {
            return Err(EngineError::BadRequest(
                "an invite must expire between 1 minute and 30 days from now".into(),
            ));
        }
        let now = SystemEnv.now_ms();
        let id = self.engine.select(team)?;
        let open = self.engine.team(Some(id.as_str()))?;
        if let Some(ro) = open.doc.read_only() {
            return Err(peercoach_core::CommandError::ReadOnly {
                found: ro.found,
                supported: peercoach_core::schema::SCHEMA_VERSION,
            }
            .into());
        }
        let me = open
            .doc
            .me()
            .cloned()
            .ok_or(peercoach_core::CommandError::NotAMember)?;
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let path = open.store.file("invites.json");
        let mut invites = Invites::load(&path);
        let device_of = device.then(|| me.to_string());
        let expires_ms = now + expires_in_ms;
        invites.add(&secret, me.as_str(), now, expires_ms, device_of.clone());
        invites
            .save(&path)
            .map_err(|e| EngineError::BadFile(format!("could not save the invite: {e}")))?;
        let ticket = InviteTicket::new(
            id.to_string(),
            open.doc.team().name.clone(),
            self.net.addr(),
            secret,
            expires_ms,
            device_of,
        );
        Ok(Reply::Invited {
            ticket: ticket.to_string(),
            expires_ms,
        })
    }

    #[allow(clippy::result_large_err)] // reason: hands the reply channel back on failure
    fn start_join(
        &mut self,
        ticket: &str,
        name: String,
        reply: oneshot::Sender<ApiResult>,
    ) -> Result<(), (EngineError, oneshot::Sender<ApiResult>)> {
        let ticket = match InviteTicket::parse(ticket) {
            Ok(t) => t,
            Err(e) => return Err((EngineError::Join(e.to_string()), reply)),
        };
        if let Err(e) = ticket.check(SystemEnv.now_ms()) {
            return Err((EngineError::Join(e.to_string()), reply));
        }
        let Ok(team_id) = TeamId::parse(&ticket.team_id) else {
            return Err((
                EngineError::Join("the ticket names no valid team".into()),
                reply,
            ));
        };
        if self.engine.select(Some(team_id.as_str())).is_ok() {
            return Err((
                EngineError::Join(format!("this device already has team {}", ticket.team_name)),
                reply,
            ));
        }
        let request = JoinRequest {
            version: 1,
            team_id: ticket.team_id.clone(),
            secret: ticket.secret,
            name,
            actor: self.engine.identity().actor_hex().to_string(),
            addrs: self
                .net
                .direct_addrs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            relay_url: self.net.relay_url(),
        };
        let net = self.net.clone();
        let tx = self.tx.clone();
        self.rt.spawn(async move {
            let mut request = request;
            // The inviter writes our relay into our member record: wait (briefly) until
            // we have one, or teammates behind a NAT cannot reach us until we publish it.
            if net.uses_relays() && net.relay_url().is_none() {
                net.wait_for_relay(INVITE_RELAY_WAIT).await;
                request.relay_url = net.relay_url();
            }
            let result = net.join(&ticket, request).await;
            if let Some(tx) = tx.upgrade() {
                let _ = tx.send(Msg::JoinDone {
                    ticket: Box::new(ticket),
                    result,
                    reply,
                });
            }
        });
        Ok(())
    }

    fn join_done(
        &mut self,
        ticket: &InviteTicket,
        result: Result<JoinAccepted, JoinError>,
        reply: oneshot::Sender<ApiResult>,
        changed: &mut BTreeSet<TeamId>,
    ) {
        let outcome = (|| {
            let accepted = result.map_err(|e| EngineError::Join(e.to_string()))?;
            let mut doc = AutoCommit::load(&accepted.document).map_err(|e| {
                EngineError::Join(format!("the inviter sent an unreadable document: {e}"))
            })?;
            if Team::id_of(&doc).map(|t| t.to_string()) != Some(ticket.team_id.clone()) {
                return Err(EngineError::Join(
                    "the inviter sent a different team than the ticket names".into(),
                ));
            }
            let heads = doc.get_heads();
            let id = self.engine.add_team_saved(doc, Some(&accepted.document))?;
            let open = self.engine.team(Some(id.as_str()))?;
            let team_name = open.doc.team().name.clone();
            // Both sides know exactly what the other has: start the sync from there, not
            // from nothing (which would send the whole history again).
            self.know_peer_has(&id, &ticket.inviter.id.to_string(), heads);
            changed.insert(id.clone());
            Ok(Reply::Joined {
                team_id: id.to_string(),
                team_name,
                member_id: accepted.member_id,
            })
        })();
        let _ = reply.send(ApiResult {
            result: outcome,
            warnings: self.engine.take_warnings(),
        });
    }

    /// Records that a peer holds exactly `heads` (after a join, both sides know), so the
    /// first sync between them sends only what came after.
    fn know_peer_has(
        &mut self,
        team: &TeamId,
        peer: &str,
        heads: Vec<peercoach_core::automerge::ChangeHash>,
    ) {
        let ps = self
            .peers
            .entry((team.clone(), peer.to_owned()))
            .or_insert_with(|| PeerSync::new(sync::State::new()));
        ps.state.shared_heads = heads;
    }

    /// The inviter's side of a join: check the secret, add the member (or device),
    /// make it durable, and send the document.
    fn answer_join(
        &mut self,
        request: JoinRequest,
        from: &str,
        changed: &mut BTreeSet<TeamId>,
    ) -> JoinReply {
        let refuse = |reason: String| JoinReply::Refused { reason };
        let Ok(team_id) = TeamId::parse(&request.team_id) else {
            return refuse("unknown team".into());
        };
        let Ok(open) = self.engine.team(Some(team_id.as_str())) else {
            return refuse("this device does not hold that team".into());
        };
        if open.doc.team().id.as_ref() != Some(&team_id) {
            return refuse("this device does not hold that team".into());
        }
        let path = open.store.file("invites.json");
        let mut invites = Invites::load(&path);
        let now = SystemEnv.now_ms();
        let invite = match invites.redeem(&request.secret, from, now) {
            Ok(i) => i,
            Err(r) => {
                tracing::info!(peer = %&from[..8.min(from.len())], reason = %r, "refused a join");
                return refuse(r.to_string());
            }
        };
        // Burn the secret before anything else: a crash now costs a new invite, never a
        // second use.
        if let Err(e) = invites.save(&path) {
            return refuse(format!("the inviter could not record the invite: {e}"));
        }
        let Some(actor) = ActorHex::parse(&request.actor) else {
            return refuse("malformed device id".into());
        };
        // This very device (actor and endpoint) is already a current member's: an earlier
        // join went through here but was cut off before the device saved the team. Send
        // the team again rather than add the device twice.
        let team = open.doc.team();
        let rejoin = team.member_of_actor(&actor).and_then(|member| {
            let m = team.members.get(member)?;
            let same_device = m
                .devices
                .iter()
                .any(|d| d.trusted && d.actor == actor && d.endpoint == from);
            let wanted = invite
                .device_of
                .as_deref()
                .is_none_or(|o| o == member.as_str());
            (m.is_current() && same_device && wanted).then(|| member.to_string())
        });
        if let Some(member_id) = rejoin {
            tracing::info!(peer = %&from[..8.min(from.len())], "a device finishes a join that was cut off");
            let document = open.doc.automerge().save();
            let heads = open.doc.heads();
            self.know_peer_has(&team_id, from, heads);
            return JoinReply::Accepted {
                member_id,
                document,
            };
        }
        let command = match &invite.device_of {
            Some(member) => match MemberId::parse(member) {
                Ok(member) => Command::AddDevice {
                    member,
                    actor,
                    endpoint: from.to_owned(),
                    label: request.name.clone(),
                    addrs: request.addrs.clone(),
                    relay: request.relay_url.clone(),
                },
                Err(_) => return refuse("malformed invite".into()),
            },
            None => Command::AddMember {
                name: request.name.clone(),
                actor,
                endpoint: from.to_owned(),
                label: String::new(),
                addrs: request.addrs.clone(),
                relay: request.relay_url.clone(),
            },
        };
        let applied = match self.engine.apply(Some(team_id.as_str()), command) {
            Ok(a) => a,
            Err(e) => return refuse(e.to_string()),
        };
        self.local_change(&team_id);
        changed.insert(team_id.clone());
        let member_id = applied.created.or(invite.device_of).unwrap_or_default();
        let Ok(open) = self.engine.team(Some(team_id.as_str())) else {
            return refuse("the team closed".into());
        };
        let document = open.doc.automerge().save();
        let heads = open.doc.heads();
        self.know_peer_has(&team_id, from, heads);
        JoinReply::Accepted {
            member_id,
            document,
        }
    }

    fn net_event(
        &mut self,
        event: NetEvent,
        changed: &mut BTreeSet<TeamId>,
        reply_to: &mut BTreeSet<(TeamId, String)>,
    ) {
        match event {
            NetEvent::SessionUp {
                peer,
                team,
                session,
                outbox,
            } => {
                let Ok(team_id) = TeamId::parse(&team) else {
                    return;
                };
                let saved = self
                    .engine
                    .team(Some(team_id.as_str()))
                    .ok()
                    .and_then(|open| open.store.peer_state(&peer));
                let ps = self
                    .peers
                    .entry((team_id.clone(), peer.clone()))
                    .or_insert_with(|| {
                        PeerSync::new(
                            saved
                                .and_then(|b| sync::State::decode(&b).ok())
                                .unwrap_or_default(),
                        )
                    });
                ps.sessions.retain(|(_, o)| !o.is_closed());
                tracing::trace!(peer = %&peer[..8.min(peer.len())], session, live = ps.sessions.len(), "session up");
                ps.sessions.push((session, outbox));
                ps.restart_protocol();
                reply_to.insert((team_id, peer));
            }
            NetEvent::Received {
                peer,
                team,
                session,
                message,
                // Given back to the network's inbound budget when this event is done.
                credit: _credit,
            } => {
                let Ok(team_id) = TeamId::parse(&team) else {
                    return;
                };
                let key = (team_id.clone(), peer.clone());
                let Some(ps) = self.peers.get_mut(&key) else {
                    return;
                };
                // A message that arrived on a stream which has since ended still counts:
                // the peer sent it. Replies always go out on the stream in use.
                let _ = session;
                let Ok(open) = self.engine.team(Some(team_id.as_str())) else {
                    return;
                };
                ps.last_received_ms = Some(SystemEnv.now_ms());
                let outcome = match message {
                    Wire::Sync(bytes) => {
                        let before = open.doc.automerge().get_heads();
                        sync::Message::decode(&bytes)
                            .map_err(|e| e.to_string())
                            .and_then(|m| {
                                open.doc
                                    .automerge()
                                    .sync()
                                    .receive_sync_message(&mut ps.state, m)
                                    .map_err(|e| e.to_string())
                            })
                            .map(|()| {
                                if self.fetching.get(&team_id).is_some_and(|(p, _)| *p == peer) {
                                    self.fetching.remove(&team_id);
                                    self.refetch.insert(team_id.clone());
                                }
                                ps.peer_heads = ps.state.their_heads.clone();
                                if open.doc.automerge().get_heads() != before {
                                    open.doc.refresh_after_merge();
                                    changed.insert(team_id.clone());
                                    self.unsaved.insert(team_id.clone(), None);
                                }
                                // A sync message is always answered, once per batch,
                                // after the changes are on disk.
                                reply_to.insert(key.clone());
                            })
                    }
                    // Exactly one change per push, checked now, applied with the batch.
                    Wire::Changes(bytes) => {
                        peercoach_core::automerge::Change::try_from(bytes.as_slice())
                            .map_err(|e| e.to_string())
                            .map(|change| {
                                self.arrivals
                                    .changes
                                    .entry(team_id.clone())
                                    .or_default()
                                    .push((peer.clone(), change));
                            })
                    }
                    Wire::Heads(bytes) => decode_heads(&bytes).map(|heads| {
                        self.arrivals.heads.push((key.clone(), heads));
                    }),
                };
                if let Err(e) = outcome {
                    self.drop_bad_peer(&key, &e);
                }
            }
            NetEvent::SessionDown {
                peer,
                team,
                session,
                reason,
            } => {
                tracing::debug!(peer = %&peer[..8.min(peer.len())], %reason, "session down");
                let Ok(team_id) = TeamId::parse(&team) else {
                    return;
                };
                if let Some(ps) = self.peers.get_mut(&(team_id.clone(), peer.clone())) {
                    let was_current = ps.current() == Some(session);
                    tracing::trace!(peer = %&peer[..8.min(peer.len())], session, was_current, %reason, "session down");
                    ps.sessions.retain(|(s, o)| *s != session && !o.is_closed());
                    if was_current {
                        ps.restart_protocol();
                        let bytes = ps.state.encode();
                        if !ps.sessions.is_empty() {
                            reply_to.insert((team_id.clone(), peer.clone()));
                        }
                        if let Ok(open) = self.engine.team(Some(team_id.as_str())) {
                            let _ = open.store.save_peer_state(&peer, &bytes);
                        }
                    }
                }
                let _ = self.events.send(NodeEvent::Sync);
            }
            NetEvent::Join {
                request,
                from,
                reply,
            } => {
                let answer = self.answer_join(request, &from, changed);
                let _ = reply.send(answer);
            }
        }
    }

    fn save_sync_states(&mut self) {
        let states: Vec<(TeamId, String, Vec<u8>)> = self
            .peers
            .iter()
            .map(|((t, p), ps)| (t.clone(), p.clone(), ps.state.encode()))
            .collect();
        for (team, peer, bytes) in states {
            if let Ok(open) = self.engine.team(Some(team.as_str())) {
                let _ = open.store.save_peer_state(&peer, &bytes);
            }
        }
    }

    /// Every relay this device's teams set for themselves.
    fn team_relays(&mut self) -> Vec<peercoach_core::TeamRelay> {
        self.engine
            .teams_mut()
            .filter_map(|(_, open)| open.doc.team().relay.clone())
            .collect()
    }

    /// The endpoint's configuration for the saved settings and the teams' relays.
    fn wanted_config(&mut self, network: &NetworkSettings) -> (NetConfig, Option<String>) {
        let relays = self.team_relays();
        crate::connect::net_config(
            self.engine.identity().secret_key,
            network,
            &relays,
            self.forced_loopback,
            self.bind,
        )
    }

    /// Why the network is less than the settings ask, if it is.
    fn net_problem(&mut self) -> Option<String> {
        let network = self.network.clone();
        self.wanted_config(&network).1
    }

    /// Binds again when a team's relay, set in its document by any member, changes what
    /// this device should use.
    fn follow_team_relays(&mut self) {
        if self.rebinding {
            return;
        }
        let network = self.network.clone();
        let (config, _) = self.wanted_config(&network);
        if config != self.net_config {
            tracing::info!(relays = ?config.relays, "the team's relay changed; binding again");
            self.rebind(config, None);
        }
    }

    /// `network` with new settings: checked, put in force (binding again if the paths
    /// change), and saved only once they work. A relay that refuses this device changes
    /// nothing.
    fn change_network(&mut self, network: NetworkSettings, reply: oneshot::Sender<ApiResult>) {
        let relays = self.team_relays();
        if let Err(e) = crate::connect::validate(&network, &relays) {
            let _ = reply.send(ApiResult {
                result: Err(EngineError::BadRequest(e)),
                warnings: Vec::new(),
            });
            return;
        }
        let (config, _) = self.wanted_config(&network);
        if config == self.net_config {
            let result = self.save_network(network);
            let _ = reply.send(ApiResult {
                result,
                warnings: self.engine.take_warnings(),
            });
        } else if self.rebinding {
            let _ = reply.send(ApiResult {
                result: Err(EngineError::BadRequest(
                    "the network is being set up again; try again in a moment".into(),
                )),
                warnings: Vec::new(),
            });
        } else {
            self.rebind(config, Some((network, reply)));
        }
    }

    /// Binds the endpoint again under `config`, off the actor's thread; the outcome
    /// comes back as [`Msg::Rebound`].
    fn rebind(
        &mut self,
        config: NetConfig,
        asked: Option<(NetworkSettings, oneshot::Sender<ApiResult>)>,
    ) {
        self.rebinding = true;
        let net = self.net.clone();
        let previous = self.net_config.clone();
        let tx = self.tx.clone();
        let check_relay = asked.is_some() && matches!(config.relays, peercoach_net::Relays::Own(_));
        self.rt.spawn(async move {
            let mut result = net
                .rebind(&config, &previous)
                .await
                .map_err(|e| e.to_string());
            if result.is_ok() && check_relay && !net.wait_for_relay(RELAY_CHECK_WAIT).await {
                // Only a refusal undoes the change: a relay that is merely down now (or a
                // laptop offline) may well work later.
                if let Some(refused) = net.relay_refusal() {
                    result = Err(format!(
                        "{refused}; check the relay token (nothing was changed)"
                    ));
                    if let Err(e) = net.rebind(&previous, &config).await {
                        tracing::warn!(error = %e, "could not bind the previous settings again");
                    }
                }
            }
            let config = if result.is_ok() { config } else { previous };
            if let Some(tx) = tx.upgrade() {
                let _ = tx.send(Msg::Rebound {
                    config: Box::new(config),
                    result,
                    asked,
                });
            }
        });
    }

    fn rebound(
        &mut self,
        config: NetConfig,
        result: Result<(), String>,
        asked: Option<(NetworkSettings, oneshot::Sender<ApiResult>)>,
    ) {
        self.rebinding = false;
        self.net_config = config;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "the network settings were not applied");
        }
        if let Some((network, reply)) = asked {
            let result = match result {
                Ok(()) => self.save_network(network),
                Err(e) => Err(EngineError::BadRequest(e)),
            };
            let mut warnings = self.engine.take_warnings();
            if result.is_ok()
                && let Some(problem) = self.net.relay_problem()
            {
                warnings.push(format!("saved, but {problem}"));
            }
            let _ = reply.send(ApiResult { result, warnings });
        }
        self.publish_addrs();
        // Settings or teams may have changed while the endpoint was bound again.
        self.follow_team_relays();
        let _ = self.events.send(NodeEvent::Sync);
    }

    /// Saves network settings (through the engine, which checks them) and keeps them.
    fn save_network(&mut self, network: NetworkSettings) -> Result<Reply, EngineError> {
        let result = self.engine.handle(Request::Network { set: Some(network) });
        if let Ok(Reply::Network(saved)) = &result {
            self.network = saved.clone();
        }
        result
    }

    /// What to tell the person who made an invite when it carries no relay.
    fn no_relay_warning(&self) -> Option<String> {
        (self.net.uses_relays() && self.net.relay_url().is_none()).then(|| {
            let why = self
                .net
                .relay_problem()
                .unwrap_or_else(|| "no relay answered yet".into());
            format!(
                "this invite carries no relay ({why}): it works only for a device that can \
                 reach this one directly, as on the same network"
            )
        })
    }

    /// The endpoint's addresses or relay changed. When an address went away, the laptop
    /// most likely moved to another network: a teammate still sends to the old one (its
    /// direct path looks alive to it until it times out, ~15 s), so the connections are
    /// made again at once, over the relay and the new addresses. Then the new addresses
    /// are published.
    fn addrs_changed(&mut self) {
        let now: BTreeSet<SocketAddr> = self.net.direct_addrs().into_iter().collect();
        let lost = self.last_addrs.iter().any(|a| !now.contains(a));
        if lost && !now.is_empty() {
            tracing::info!(was = ?self.last_addrs, now = ?now, "an address went away: reconnecting to teammates");
            self.net.drop_connections();
        }
        self.last_addrs = now;
        self.publish_addrs();
    }

    /// Writes this device's current addresses into each team where they changed.
    fn publish_addrs(&mut self) {
        let mut addrs: Vec<String> = self
            .net
            .direct_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        addrs.sort();
        let relay = self.net.relay_url();
        let teams: Vec<TeamId> = self.engine.teams_mut().map(|(id, _)| id.clone()).collect();
        let actor = self.engine.identity().actor_hex();
        let mut changed = BTreeSet::new();
        for team in teams {
            let Ok(open) = self.engine.team(Some(team.as_str())) else {
                continue;
            };
            let Some(me) = open.doc.me().cloned() else {
                continue;
            };
            if open.doc.read_only().is_some() {
                continue;
            }
            let current: Option<(Vec<String>, Option<String>)> =
                open.doc.team().members.get(&me).and_then(|m| {
                    m.devices.iter().find(|d| d.actor == actor).map(|d| {
                        let mut a = d.addrs.clone();
                        a.sort();
                        (a, d.relay.clone())
                    })
                });
            // A relay connection that is down for a moment (the laptop just changed
            // networks) is no reason to tell teammates we have none: keep the one
            // published until another is known, unless relays are off.
            let relay = match (&relay, &current) {
                (None, Some((_, published))) if self.net.uses_relays() => published.clone(),
                _ => relay.clone(),
            };
            if current.as_ref() != Some(&(addrs.clone(), relay.clone())) {
                match self.engine.apply(
                    Some(team.as_str()),
                    Command::PublishAddrs {
                        addrs: addrs.clone(),
                        relay: relay.clone(),
                    },
                ) {
                    Ok(_) => {
                        self.local_change(&team);
                        changed.insert(team);
                    }
                    Err(e) => tracing::warn!(error = %e, "could not publish addresses"),
                }
            }
        }
        if !changed.is_empty() {
            self.settle(&changed, BTreeSet::new());
        }
    }

    /// Recomputes who we may talk to: every trusted device of every current member of
    /// every team this device is a current member of.
    fn refresh_peers(&mut self) {
        let me = self.net.endpoint_id();
        let mut specs: HashMap<String, PeerSpec> = HashMap::new();
        for (team_id, open) in self.engine.teams_mut() {
            let team = open.doc.team();
            let Some(my_member) = open.doc.me() else {
                continue;
            };
            if !team.members.get(my_member).is_some_and(|m| m.is_current()) {
                continue;
            }
            for member in team.current_members() {
                for device in member
                    .devices
                    .iter()
                    .filter(|d| d.trusted && d.endpoint != me)
                {
                    if iroh_endpoint_ok(&device.endpoint) {
                        let spec =
                            specs
                                .entry(device.endpoint.clone())
                                .or_insert_with(|| PeerSpec {
                                    endpoint_id: device.endpoint.clone(),
                                    addrs: Vec::new(),
                                    relay_url: None,
                                    teams: BTreeSet::new(),
                                });
                        if spec.relay_url.is_none() {
                            spec.relay_url = device.relay.clone();
                        }
                        for a in &device.addrs {
                            if let Ok(addr) = SocketAddr::from_str(a)
                                && !spec.addrs.contains(&addr)
                            {
                                spec.addrs.push(addr);
                            }
                        }
                        spec.teams.insert(team_id.to_string());
                    }
                }
            }
        }
        let mut specs: Vec<PeerSpec> = specs.into_values().collect();
        specs.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id));
        if specs != self.specs {
            tracing::debug!(?specs, "peers changed");
            // Sessions with peers who are no longer members end here too.
            let allowed: BTreeSet<(String, String)> = specs
                .iter()
                .flat_map(|s| {
                    s.teams
                        .iter()
                        .map(move |t| (t.clone(), s.endpoint_id.clone()))
                })
                .collect();
            for ((team, peer), ps) in self.peers.iter_mut() {
                if !allowed.contains(&(team.to_string(), peer.clone())) {
                    ps.sessions.clear();
                }
            }
            self.net.set_peers(specs.clone());
            self.specs = specs;
        }
    }
}

/// Whether a peer has every change we have: the heads it last told us cover all of ours,
/// or the sync protocol says so.
fn peer_has_all(doc: &mut AutoCommit, ps: &PeerSync) -> bool {
    let mine = doc.get_heads();
    doc.has_our_changes(&ps.state) || !peer_lacks(doc, ps, &mine)
}

/// Whether the peer is not known to have every change in `heads` (and their history):
/// each is one of the heads the peer last told us, or an ancestor of them.
fn peer_lacks(doc: &mut AutoCommit, ps: &PeerSync, heads: &[ChangeHash]) -> bool {
    if heads.is_empty() {
        return false;
    }
    let Some(theirs) = ps.peer_heads.as_ref().or(ps.state.their_heads.as_ref()) else {
        return true;
    };
    if heads.iter().all(|h| theirs.contains(h)) {
        return false;
    }
    // The peer's heads we know; what we have beyond them (cheap: found by clock).
    let unknown = doc.get_missing_deps(theirs);
    let known: Vec<ChangeHash> = theirs
        .iter()
        .filter(|h| !unknown.contains(h))
        .copied()
        .collect();
    if known.is_empty() {
        return true;
    }
    let beyond: BTreeSet<ChangeHash> = doc
        .get_changes_meta(&known)
        .iter()
        .map(|c| c.hash)
        .collect();
    heads.iter().any(|h| beyond.contains(h))
}

/// Heads as 32-byte hashes back to back.
fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, String> {
    if !bytes.len().is_multiple_of(32) || bytes.len() > 32 * 1024 {
        return Err(format!("{} bytes are no list of heads", bytes.len()));
    }
    bytes
        .chunks(32)
        .map(|c| ChangeHash::try_from(c).map_err(|e| e.to_string()))
        .collect()
}

fn iroh_endpoint_ok(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
