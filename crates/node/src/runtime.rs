//! The running node: the driver of the [`SyncMachine`]. The [`Engine`] lives on the
//! node's own thread (the only owner of the documents), with the sync machine beside it;
//! everything reaches them as a message on one channel, so there is never a lock around a
//! document and the order of changes is the order of messages.
//!
//! The actor turns what happens — requests from the UI, the CLI or the control socket,
//! network events, ticks — into engine calls and sync [`Input`]s, and carries out the
//! machine's [`Effect`]s: frames onto sessions' outboxes, appends into the store, sync
//! states saved, snapshots published for the UI. The rules themselves live in
//! [`crate::sync`] (when to send what), [`crate::join`] (who may join) and `crate::access`
//! (who may sync which document); the request policy (which team a request changes, what
//! peers hear after it) is the pure `runtime/policy.rs`. What is left here is plumbing:
//! this file runs the actor's loop and carries out effects; its children start the node
//! (`start.rs`), hold the handle (`handle.rs`), answer `status` (`status.rs`), make
//! invites and joins (`joining.rs`) and apply network settings (`network.rs`).

mod handle;
mod joining;
mod network;
mod policy;
mod start;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use peercoach_core::automerge::Change;
use peercoach_core::{Env, MemberId, SystemEnv, Team, TeamId};
use peercoach_net::{
    DeviceId, InviteTicket, JoinAccepted, JoinError, Net, NetConfig, NetEvent, Outbox, PeerSpec,
    SendError,
};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::api::{PeerStatus, RelayStatus, Reply, Request, StatusReply};
use crate::engine::{Engine, EngineError};
use crate::sync::{Effect, Input, SessionId, SyncMachine};
use peercoach_store::NetworkSettings;
use policy::FollowUp;

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
    /// A desktop app runs this node, with a window to show when asked
    /// ([`Request::ShowWindow`]); a headless node refuses that request.
    pub windowed: bool,
    /// What a peer may make this node apply (tests lower it to exercise it cheaply).
    pub limits: crate::sync::Limits,
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
            windowed: false,
            limits: crate::sync::Limits::default(),
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
        /// The team.
        team: TeamId,
    },
    /// Connections or sync progress changed: re-read status.
    Sync,
    /// The desktop app's window is asked for (`ShowWindow`), on a record if given.
    Show(Option<crate::api::Show>),
    /// The app (or `serve`) is asked to stop (`Quit`).
    Quit,
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
        /// `None` when the join was cancelled.
        result: Option<Result<JoinAccepted, JoinError>>,
        reply: oneshot::Sender<ApiResult>,
    },
    Tick,
    PublishAll,
    /// This device's addresses or home relay changed.
    AddrChanged,
    /// The wait for a home relay before making an invite is over.
    InviteReady {
        team: Option<TeamId>,
        expires_in_ms: i64,
        device: bool,
        reply: oneshot::Sender<ApiResult>,
    },
    /// The endpoint was bound again under `config` (or, on error, kept as it was).
    Rebound {
        config: Box<NetConfig>,
        result: Result<(), crate::connect::NotApplied>,
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
    /// Set when a newer peercoach wrote to the document: shown, not a lock.
    pub newer_schema: Option<peercoach_core::NewerSchema>,
    /// Grows with every change, across teams.
    pub version: u64,
    /// Shown from the view saved when the app last stopped, while the document loads:
    /// requests wait until it has.
    pub loading: bool,
    /// My private notes in this team, newest first (see `peercoach_core::notes`).
    pub notes: Arc<Vec<peercoach_core::notes::Note>>,
}

type Snapshots = Arc<Mutex<BTreeMap<TeamId, Arc<TeamSnapshot>>>>;

/// Set once every team has been opened: each team as it was opened from disk, before
/// anything from the network (empty when no one watches snapshots).
type Opened = Arc<std::sync::OnceLock<Vec<Arc<TeamSnapshot>>>>;

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
    opened: Opened,
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
    /// The node's thread could not be started.
    #[error("could not start the node's thread: {0}")]
    Thread(#[source] std::io::Error),
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
    loopback_forced: bool,
}

impl Node {
    /// A handle for requests and events.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// This device's id.
    pub fn endpoint_id(&self) -> DeviceId {
        self.net.endpoint_id()
    }

    /// This device's direct addresses.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.net.direct_addrs()
    }

    /// Whether loopback-only is forced on this node, whatever its settings say
    /// (`PEERCOACH_LOOPBACK`, `serve --loopback-only`).
    pub fn is_loopback_forced(&self) -> bool {
        self.loopback_forced
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
        if let Some(path) = &self.socket
            && let Err(e) = std::fs::remove_file(path)
        {
            tracing::debug!(error = %e, "the control socket was already gone");
        }
        let (tx, rx) = oneshot::channel();
        if self.handle.tx.send(Msg::Shutdown(tx)).is_ok() && rx.await.is_err() {
            tracing::warn!("the node's thread ended before it confirmed the shutdown");
        }
        if let Some(thread) = self.actor.take() {
            match tokio::task::spawn_blocking(move || thread.join()).await {
                Ok(Ok(())) => {}
                _ => tracing::error!("the node's thread panicked"),
            }
        }
        self.net.shutdown().await;
    }
}

/// Answers a request, dropping the answer if the asker stopped waiting (a CLI that was
/// interrupted, a closed window): nothing is left to tell.
fn reply(
    to: oneshot::Sender<ApiResult>,
    result: Result<Reply, EngineError>,
    warnings: Vec<String>,
) {
    if to.send(ApiResult { result, warnings }).is_err() {
        tracing::debug!("the asker stopped waiting for a reply");
    }
}

/// How long an invite waits for the device's home relay right after start.
const INVITE_RELAY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Messages taken from the actor's mailbox at once. Pushes in a batch are applied in one
/// Automerge call (see [`crate::sync`]), so a node that fell behind catches up in fewer,
/// larger calls; the inbound budget bounds what the mailbox holds.
const MAX_BATCH_MSGS: usize = 2048;

/// Every this many ticks, this device's addresses are published again where they
/// changed (they are also published at once on every change the endpoint reports).
const PUBLISH_ADDRS_EVERY_TICKS: u64 = 15;

/// The node's thread: the engine, the sync machine, and the plumbing between them and
/// the network.
struct Actor {
    engine: Engine,
    sync: SyncMachine,
    /// Where each live session's frames go.
    outboxes: HashMap<SessionId, Outbox>,
    /// The live sessions with devices whose app predates signatures (`/1`), and whose
    /// device each is: their frames go out and come in without envelopes.
    older_apps: HashMap<SessionId, DeviceId>,
    net: Net,
    /// What the endpoint is bound with now.
    net_config: NetConfig,
    /// Loopback-only forced by the environment or `serve --loopback-only`.
    forced_loopback: bool,
    bind: Option<SocketAddr>,
    /// A rebind is under way: the next one waits for it.
    rebinding: bool,
    /// This device's direct addresses when they last changed.
    last_addrs: std::collections::BTreeSet<SocketAddr>,
    /// This device's home relay when it last had one.
    last_relay: Option<String>,
    /// What the endpoint was last being bound to, and one that could not be bound (it is
    /// not tried again for the teams' relays: that would loop; new settings still are).
    rebinding_to: Option<NetConfig>,
    failed_config: Option<NetConfig>,
    /// Invites asked for while the endpoint was being bound again (at start, under the
    /// teams' relays): made once it is, so that they carry the relays.
    invites_after_rebind: Vec<(Request, oneshot::Sender<ApiResult>)>,
    rt: tokio::runtime::Handle,
    tx: mpsc::WeakUnboundedSender<Msg>,
    events: broadcast::Sender<NodeEvent>,
    specs: Vec<PeerSpec>,
    snapshots: Snapshots,
    watching: Watching,
    opened: Opened,
    /// A desktop app runs this node ([`NodeOptions::windowed`]).
    windowed: bool,
    version: u64,
    ticks: u64,
    /// A team was published in this batch (its members or relay may have changed).
    published: bool,
    /// Stops the join under way, if one is.
    join_cancel: Option<oneshot::Sender<()>>,
}

/// The clock the node reads: once per input it hands the sync machine or the join
/// rules, never inside them.
fn now_ms() -> i64 {
    SystemEnv.now_ms()
}

impl Actor {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        // The network layer spawns its tasks on the node's runtime.
        let rt = self.rt.clone();
        let _runtime = rt.enter();
        let span = tracing::info_span!("node", id = %self.net.endpoint_id().short());
        let _span = span.enter();
        if self.watching.load(std::sync::atomic::Ordering::SeqCst) {
            // Show each team's saved view while Automerge loads its document (seconds,
            // for years of history); the snapshots are replaced once it has.
            for (id, view) in self.engine.preview_all() {
                let me = view
                    .team
                    .member_of_actor(&self.engine.identity().actor_hex())
                    .cloned();
                self.put_snapshot(id, view.team, me, true, Arc::default());
            }
            self.notify(NodeEvent::Sync);
        }
        if let Err(e) = self.engine.open_all() {
            tracing::error!(error = %e, "could not open every team");
        }
        self.publish_addrs();
        // Opens every team's private notes too: they sync between this member's devices.
        self.refresh_peers();
        self.follow_team_relays();
        self.publish_all();
        // After the snapshots: the UI takes "open, and no snapshot" for "no team yet".
        let at_open: Vec<Arc<TeamSnapshot>> = self
            .snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        if self.opened.set(at_open).is_err() {
            tracing::debug!("the teams were opened already");
        }
        self.notify(NodeEvent::Sync);
        self.engine.save_views();
        self.engine.refresh_calendar();
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH_MSGS {
                match rx.try_recv() {
                    Ok(msg) => batch.push(msg),
                    Err(_) => break,
                }
            }
            let mut stop = None;
            for msg in batch {
                match msg {
                    Msg::Api(request, reply) => self.api(request, reply),
                    Msg::Net(event) => self.net_event(event),
                    Msg::JoinDone {
                        ticket,
                        result,
                        reply,
                    } => self.join_done(&ticket, result, reply),
                    Msg::Tick => {
                        self.ticks += 1;
                        if self.ticks.is_multiple_of(PUBLISH_ADDRS_EVERY_TICKS) {
                            self.publish_addrs();
                        }
                        let busy = self
                            .outboxes
                            .iter()
                            .filter(|(_, outbox)| !outbox.is_idle())
                            .map(|(session, _)| *session)
                            .collect();
                        self.feed(Input::Tick { busy });
                    }
                    Msg::PublishAll => self.publish_all(),
                    Msg::AddrChanged => self.addrs_changed(),
                    Msg::InviteReady {
                        team,
                        expires_in_ms,
                        device,
                        reply: to,
                    } => {
                        let result = self.invite(team.as_ref(), expires_in_ms, device);
                        let mut warnings = self.engine.take_warnings();
                        if result.is_ok()
                            && let Some(why) = self.no_relay_warning()
                        {
                            warnings.push(why);
                        }
                        reply(to, result, warnings);
                    }
                    Msg::Rebound {
                        config,
                        result,
                        asked,
                    } => self.rebound(*config, result, asked),
                    Msg::Shutdown(done) => stop = Some(done),
                }
            }
            self.settle();
            if let Some(done) = stop {
                self.feed(Input::Stop);
                self.engine.save_views();
                if done.send(()).is_err() {
                    tracing::debug!("nobody waits for the shutdown");
                }
                return;
            }
        }
    }

    /// The end of a batch: the sync machine persists, then tells peers; a team that
    /// changed may have new members or a new relay.
    fn settle(&mut self) {
        self.feed(Input::Settle);
        if std::mem::take(&mut self.published) {
            self.refresh_peers();
            // A teammate may have set (or cleared) the team's relay.
            self.follow_team_relays();
            // A session scheduled or cancelled, the hour moved: calendar apps see it.
            self.engine.refresh_calendar();
        }
    }

    /// Hands one input to the sync machine and carries out what it asks for.
    fn feed(&mut self, input: Input) {
        self.sync.handle(now_ms(), input, &mut self.engine);
        while let Some(effect) = self.sync.poll_effect() {
            self.carry_out(effect);
        }
    }

    fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::Send {
                team,
                peer,
                session,
                wire,
            } => {
                let wire = if self.older_apps.contains_key(&session) {
                    crate::sync::signed::for_older_app(wire)
                } else {
                    wire
                };
                let sent = match self.outboxes.get(&session) {
                    Some(outbox) => outbox.send(wire),
                    None => Err(SendError::Closed),
                };
                if let Err(error) = sent {
                    self.sync.handle(
                        now_ms(),
                        Input::SendFailed {
                            team,
                            peer,
                            session,
                            error,
                        },
                        &mut self.engine,
                    );
                }
            }
            Effect::Persist { team, changes } => {
                let heads = self.persist(&team, changes);
                self.sync
                    .handle(now_ms(), Input::Persisted { team, heads }, &mut self.engine);
            }
            Effect::SaveState { team, peer, state } => {
                if let Some((store, _)) = self.engine.synced_mut(&team)
                    && let Err(e) = store.save_peer_state(&peer, &state)
                {
                    // Only a hint: the next connection starts the protocol from further back.
                    tracing::warn!(peer = %peer.short(), error = %e, "could not save a sync state");
                }
            }
            Effect::ClosePeer { peer, reason } => self.net.close_peer(&peer, &reason),
            Effect::Publish { team } => {
                // Private notes show with the team they belong to.
                let team = self.engine.team_of_notes(&team).unwrap_or(team);
                self.publish_snapshot(&team);
                self.published = true;
                self.notify(NodeEvent::Changed { team });
            }
            Effect::StatusChanged => self.notify(NodeEvent::Sync),
        }
    }

    /// Appends a team's new changes and fsyncs them; the heads now on disk, or `None`.
    fn persist(
        &mut self,
        team: &TeamId,
        changes: Option<Vec<Change>>,
    ) -> Option<Vec<peercoach_core::automerge::ChangeHash>> {
        let (store, doc) = self.engine.synced_mut(team)?;
        let saved = match changes {
            Some(known) => store.append_changes(doc, &known),
            None => store.append(doc),
        };
        match saved {
            Ok(()) => {
                let heads = doc.get_heads();
                self.engine.save_signatures(team);
                Some(heads)
            }
            Err(e) => {
                tracing::error!(team = %team.short(), error = %e, "could not save changes from peers: telling peers nothing until they are, trying again at every tick");
                None
            }
        }
    }

    /// Tells the UI (and anyone else subscribed). Nobody listening is fine: a headless
    /// node has no UI.
    fn notify(&self, event: NodeEvent) {
        if self.events.send(event).is_err() {
            tracing::trace!("no subscriber for node events");
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
        let Ok(open) = self.engine.open_team(team) else {
            return;
        };
        let view = open.doc.shared_team();
        let me = open.doc.me().cloned();
        let notes = self.engine.open_notes_of(team);
        self.put_snapshot(team.clone(), view, me, false, notes);
    }

    fn put_snapshot(
        &mut self,
        id: TeamId,
        team: Arc<Team>,
        me: Option<MemberId>,
        loading: bool,
        notes: Arc<Vec<peercoach_core::notes::Note>>,
    ) {
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        // The same model published again (the UI asking for snapshots while the node
        // opens, a change that touched nothing the model holds): no new version, so the
        // UI does not derive its views again for nothing.
        if snapshots.get(&id).is_some_and(|old| {
            Arc::ptr_eq(&old.team, &team)
                && old.me == me
                && old.loading == loading
                && (Arc::ptr_eq(&old.notes, &notes) || old.notes.is_empty() && notes.is_empty())
        }) {
            return;
        }
        self.version += 1;
        let snapshot = Arc::new(TeamSnapshot {
            id: id.clone(),
            newer_schema: peercoach_core::NewerSchema::of(&team),
            team,
            me,
            version: self.version,
            loading,
            notes,
        });
        snapshots.insert(id, snapshot);
    }

    pub(super) fn api(&mut self, mut request: Request, to: oneshot::Sender<ApiResult>) {
        let writes = policy::writes(&request);
        let target = match policy::named_team(&mut request) {
            Some(team) => match self.engine.select(team.as_ref()) {
                Ok(id) => {
                    // The default, once chosen, is named from here on.
                    *team = Some(id.clone());
                    Some(id)
                }
                Err(_) if policy::may_go_on_without_team(writes) => None,
                Err(e) => {
                    let warnings = self.engine.take_warnings();
                    reply(to, Err(e), warnings);
                    return;
                }
            },
            None => None,
        };
        let result = match request {
            Request::Status { team } => self.status(team.as_ref()),
            Request::ShowWindow { show } => {
                if self.windowed {
                    self.notify(NodeEvent::Show(show));
                    Ok(Reply::Done {
                        created: None,
                        summary: "the window is open".into(),
                    })
                } else {
                    Err(EngineError::NoWindow)
                }
            }
            Request::CancelJoin => {
                let cancelled = self
                    .join_cancel
                    .take()
                    .is_some_and(|cancel| cancel.send(()).is_ok());
                Ok(Reply::Done {
                    created: None,
                    summary: if cancelled {
                        "the join was cancelled".into()
                    } else {
                        "no join is under way".into()
                    },
                })
            }
            Request::Reconnect => {
                // Each connection closes at once; its peer loop dials again, and the
                // sessions that come up start the sync protocol afresh.
                self.net.drop_connections();
                Ok(Reply::Done {
                    created: None,
                    summary: "reconnecting to every device of the team".into(),
                })
            }
            Request::Quit => {
                self.notify(NodeEvent::Quit);
                Ok(Reply::Done {
                    created: None,
                    summary: "stopping".into(),
                })
            }
            invite @ Request::Invite { .. } if self.rebinding => {
                self.invites_after_rebind.push((invite, to));
                return;
            }
            Request::Invite {
                team,
                expires_in_ms,
                device,
            } => {
                if policy::invite_waits(self.net.uses_relays(), self.net.relay_url().is_some()) {
                    // Just started: wait (a few seconds at most) until the relay is known.
                    let net = self.net.clone();
                    let tx = self.tx.clone();
                    self.rt.spawn(async move {
                        net.wait_for_relay(INVITE_RELAY_WAIT).await;
                        let ready = Msg::InviteReady {
                            team,
                            expires_in_ms,
                            device,
                            reply: to,
                        };
                        if let Some(tx) = tx.upgrade()
                            && let Err(mpsc::error::SendError(Msg::InviteReady {
                                reply: to, ..
                            })) = tx.send(ready)
                        {
                            reply(to, Err(EngineError::Stopped), Vec::new());
                        }
                    });
                    return;
                }
                self.invite(team.as_ref(), expires_in_ms, device)
            }
            Request::Network { set: Some(network) } => {
                self.change_network(network, to);
                return;
            }
            Request::Join { ticket, name } => {
                if let Err((e, to)) = self.start_join(&ticket, name, to) {
                    let warnings = self.engine.take_warnings();
                    reply(to, Err(*e), warnings);
                }
                return;
            }
            other => self.engine.handle(other),
        };
        let notes_of = |team: &TeamId| self.engine.notes_id(team);
        match policy::follow_up(writes, target.as_ref(), notes_of, &result) {
            FollowUp::Nothing => {}
            FollowUp::LocalChange(team) => self.local_change(&team),
            FollowUp::Merged(team) => self.feed(Input::LocalChange { team, change: None }),
            FollowUp::Reloaded(team) => self.feed(Input::Reloaded { team }),
            FollowUp::Created(team) => {
                if let Some(team) = team {
                    self.local_change(&team);
                }
                self.publish_addrs();
            }
        }
        let warnings = self.engine.take_warnings();
        reply(to, result, warnings);
    }

    /// Tells the sync machine about the change a local command just made (the engine
    /// has written it), to push to connected peers.
    fn local_change(&mut self, team: &TeamId) {
        let Some((_, doc)) = self.engine.synced_mut(team) else {
            return;
        };
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        self.feed(Input::LocalChange {
            team: team.clone(),
            change,
        });
    }

    fn net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::SessionUp {
                peer,
                team,
                session,
                alpn,
                outbox,
            } => {
                self.outboxes.insert(session, outbox);
                if alpn == peercoach_net::ALPN_SYNC_UNSIGNED {
                    tracing::info!(peer = %peer.short(), "this device runs an app older than signed changes: its edits wait until it updates");
                    self.older_apps.insert(session, peer);
                }
                let saved_state = self
                    .engine
                    .synced_mut(&team)
                    .and_then(|(store, _)| store.peer_state(&peer));
                self.feed(Input::SessionUp {
                    team,
                    peer,
                    session,
                    saved_state,
                });
            }
            NetEvent::Received {
                peer,
                team,
                session,
                message,
                // Given back to the network's inbound budget once the frame is handled.
                credit,
            } => {
                let wire = if self.older_apps.contains_key(&session) {
                    crate::sync::signed::from_older_app(message)
                } else {
                    message
                };
                self.feed(Input::Received { team, peer, wire });
                drop(credit);
            }
            NetEvent::SessionDown {
                peer,
                team,
                session,
                reason,
            } => {
                tracing::debug!(peer = %peer.short(), session, %reason, "session down");
                self.outboxes.remove(&session);
                self.older_apps.remove(&session);
                self.feed(Input::SessionDown {
                    team,
                    peer,
                    session,
                });
            }
            NetEvent::Join {
                request,
                from,
                reply: answer,
            } => {
                let now = self.engine.now_ms();
                let admission = crate::join::answer_join(&mut self.engine, &request, from, now);
                if let Some(team) = admission.reloaded {
                    self.feed(Input::Reloaded { team });
                }
                if let Some(team) = admission.team {
                    if admission.change.is_some() {
                        self.feed(Input::LocalChange {
                            team: team.clone(),
                            change: admission.change,
                        });
                    }
                    if let Some(heads) = admission.joiner_has {
                        self.feed(Input::PeerHas {
                            team,
                            peer: from,
                            heads,
                        });
                    }
                }
                if answer.send(admission.reply).is_err() {
                    tracing::info!(peer = %from.short(), "the joiner left before the answer");
                }
            }
        }
    }
}
