//! # peercoach-net: teammates' devices talking directly over iroh
//!
//! Every device is an iroh endpoint whose id is its public key. This crate opens the
//! endpoint, keeps one long-lived QUIC connection per pair of devices that share a team,
//! and carries two protocols on it:
//!
//! - `peercoach/sync/2` (and `/1`, for older apps): per shared team, one bi-directional
//!   stream that opens with a [`Hello`] naming the team, then carries Automerge sync
//!   messages as length-prefixed frames ([`frame`]). The document logic (sync states,
//!   signatures, applying messages) lives in the node; this crate only moves bytes and
//!   reports them as [`NetEvent`]s, each session with the version it speaks.
//! - `peercoach/join/1`: a new member proves the one-time secret of an
//!   [`InviteTicket`] and receives the team document.
//!
//! ## The gate
//!
//! Nothing about a team leaves this device unless the other side is a trusted device of
//! a current member of *that* team. An `after_handshake` hook refuses any endpoint that is
//! not a member device of some team before a stream opens; the sync handler then checks
//! the team named in the [`Hello`] before sending a byte of it. The join protocol is the
//! one exception, and the node answers it only after checking the invite's secret.
//!
//! ## Connections
//!
//! Either side dials when it knows the other's addresses (the device with the lower id
//! at once, the other after a short grace period), with backoff after failures. When both
//! dial at once, both keep the connection dialed by the lower id. Only the dialing side
//! opens team streams.

mod failover;
pub mod flow;
pub mod frame;
mod gate;
mod join;
mod peers;
pub mod ticket;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use iroh::endpoint::{PortmapperConfig, presets};
use iroh::protocol::Router;
use iroh::{Endpoint, RelayMode, SecretKey};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

pub use iroh::EndpointAddr;
pub use peercoach_base::{DeviceId, TeamId};

pub use failover::RelayNow;
pub use join::{JoinAccepted, JoinError, JoinReply, JoinRequest};
pub use ticket::{InviteTicket, TicketError};

/// ALPN of the sync protocol this build speaks best.
pub const ALPN_SYNC: &[u8] = SYNC_ALPNS[0];
/// ALPN of the join protocol this build speaks best.
pub const ALPN_JOIN: &[u8] = JOIN_ALPNS[0];

/// Every version of the sync protocol this build speaks, newest first. A team never
/// upgrades at once (docs/design.md §10): a dial offers the whole list, a listener
/// accepts each entry, and the TLS handshake settles on the listener's first choice that
/// the dialer offered. So a newer build that adds `peercoach/sync/2` in front still meets
/// this one on `/1`, and drops `/1` only when no one in the field needs it.
///
/// `/2` carries signatures before every sync message and pushed change (issue 22); `/1`
/// is the same without them. A node still speaks `/1` with a device whose app is older:
/// it sends that device everything (an older app checks no signatures), and refuses the
/// unsigned changes it receives from it, from that device only. The older device's own
/// edits reach the team once it updates and sends them signed.
pub const SYNC_ALPNS: &[&[u8]] = &[ALPN_SYNC_SIGNED, ALPN_SYNC_UNSIGNED];
/// The sync protocol with signatures ahead of every sync message and change.
pub const ALPN_SYNC_SIGNED: &[u8] = b"peercoach/sync/2";
/// The sync protocol of apps older than signatures: the same frames, bare.
pub const ALPN_SYNC_UNSIGNED: &[u8] = b"peercoach/sync/1";
/// Every version of the join protocol this build speaks, newest first (as [`SYNC_ALPNS`]).
pub const JOIN_ALPNS: &[&[u8]] = &[b"peercoach/join/1"];

/// Dials `addr` offering every version in `alpns` (newest first). The connection's
/// [`iroh::endpoint::Connection::alpn`] says which one the listener chose.
pub(crate) async fn dial(
    endpoint: &Endpoint,
    addr: EndpointAddr,
    alpns: &[&[u8]],
) -> Result<iroh::endpoint::Connection, iroh::endpoint::ConnectError> {
    let first = alpns.first().copied().unwrap_or(ALPN_SYNC);
    let rest = alpns.get(1..).unwrap_or_default();
    let options = iroh::endpoint::ConnectOptions::new()
        .with_additional_alpns(rest.iter().map(|alpn| alpn.to_vec()).collect());
    let connecting = endpoint.connect_with_opts(addr, first, options).await?;
    Ok(connecting.await?)
}

/// QUIC close codes we use.
pub mod close {
    /// Normal end.
    pub const DONE: u32 = 0;
    /// A malformed or oversized frame.
    pub const BAD_FRAME: u32 = 400;
    /// Not a member (of this team).
    pub const FORBIDDEN: u32 = 403;
    /// A second connection between the same pair; the other one is kept.
    pub const DUPLICATE: u32 = 409;
    /// The device is shutting down.
    pub const SHUTDOWN: u32 = 503;
}

/// Which relays the endpoint keeps a home connection to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relays {
    /// None: only direct paths (the LAN, loopback, or an open port).
    Off,
    /// n0's public relays.
    Public,
    /// These self-hosted relays (a team's, or the device's own), each with the token it
    /// asks for, in order. iroh makes the one that answers fastest home, and a home that
    /// stops answering is left within seconds (see `failover`).
    Own {
        /// The relays.
        list: Vec<RelaySpec>,
        /// Relays that join the list while none of it answers, and leave once one does.
        fallback: Fallback,
    },
}

/// The last resort behind a list of relays (see `failover`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// None: only the list (*Team relay only*).
    None,
    /// n0's public relays (*Anywhere*).
    Public,
    /// These (a test's own relays, standing in for n0's on a simulated internet).
    These(Vec<RelaySpec>),
}

/// A self-hosted iroh relay, with the token it asks for.
pub type RelaySpec = peercoach_base::Relay;

/// How to set up the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// The device's secret key.
    pub secret_key: [u8; 32],
    /// 127.0.0.1 only; no relays, DNS/pkarr lookup, mDNS or port mapping, whatever the
    /// other fields say.
    pub loopback_only: bool,
    /// Explicit address to bind (overrides `loopback_only`'s 127.0.0.1:0 and the default
    /// 0.0.0.0:`port`).
    pub bind: Option<SocketAddr>,
    /// UDP port when `bind` is not set (0 = any).
    pub port: u16,
    /// Relays.
    pub relays: Relays,
    /// iroh's address lookup through n0's DNS (pkarr): publishes this device's relay URL
    /// under its id and finds teammates by id alone, after their relay changed.
    pub address_lookup: bool,
    /// mDNS discovery on the LAN.
    pub lan_discovery: bool,
    /// UPnP / NAT-PMP / PCP port mapping.
    pub port_mapping: bool,
    /// Extra root certificates (PEM) trusted for relays, beside the usual web roots: for
    /// a test's own relay with a self-signed certificate. Nothing in the app sets it.
    pub extra_relay_roots_pem: Option<Vec<u8>>,
    /// Largest frame accepted.
    pub max_frame: usize,
}

impl NetConfig {
    /// Loopback-only defaults for a key (what every test uses).
    pub fn loopback(secret_key: [u8; 32]) -> Self {
        Self {
            secret_key,
            loopback_only: true,
            bind: None,
            port: 0,
            relays: Relays::Off,
            address_lookup: false,
            lan_discovery: false,
            port_mapping: false,
            extra_relay_roots_pem: None,
            max_frame: frame::DEFAULT_MAX_FRAME,
        }
    }
}

/// Parses a relay URL as iroh takes it, with a message that says what to give instead.
pub fn parse_relay_url(url: &str) -> Result<iroh::RelayUrl, NetError> {
    let bad = |why: String| NetError::Config(format!("relay URL {url:?} {why}"));
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(bad("must start with https:// (or http://)".into()));
    }
    url.parse::<iroh::RelayUrl>()
        .map_err(|e| bad(format!("is not a URL ({e})")))
}

/// How a connection to a peer runs right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Straight between the two devices (on a LAN, or through a hole punched in the NATs).
    Direct,
    /// Through a relay (end-to-end encrypted; the relay sees only ciphertext).
    Relay,
}

impl PathKind {
    /// `"direct"` or `"relay"`, as `status --json` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Direct => "direct",
            PathKind::Relay => "relay",
        }
    }
}

/// The path a live connection uses, and its round-trip time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// Direct or relayed.
    pub kind: PathKind,
    /// Round-trip time of that path.
    pub rtt_ms: u64,
    /// The relay it runs through, when it is relayed.
    pub relay_url: Option<String>,
}

/// Why the network could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Binding the endpoint failed.
    #[error("could not open the network endpoint: {0}")]
    Bind(String),
    /// A configured value is wrong.
    #[error("network settings: {0}")]
    Config(String),
    /// `--loopback-only` with a non-loopback `--bind`.
    #[error("loopback-only mode can only bind a 127.0.0.0/8 address, not {0}")]
    NotLoopback(SocketAddr),
}

/// Application bytes this device has sent and received in frames (headers included;
/// QUIC and UDP overhead not), for status and benchmarks.
#[derive(Debug, Default)]
pub struct Traffic {
    sent: std::sync::atomic::AtomicU64,
    received: std::sync::atomic::AtomicU64,
}

impl Traffic {
    pub(crate) fn sent(&self, payload: usize) {
        self.sent
            .fetch_add(payload as u64 + 5, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn received(&self, payload: usize) {
        self.received
            .fetch_add(payload as u64 + 5, std::sync::atomic::Ordering::Relaxed);
    }

    /// (sent, received) so far.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.sent.load(std::sync::atomic::Ordering::Relaxed),
            self.received.load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

/// The first frame on a sync stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version.
    pub version: u32,
    /// The team this stream syncs.
    pub team_id: TeamId,
}

/// A copy of a frame this device received (see [`Net::tap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tapped {
    /// Who sent it.
    pub peer: DeviceId,
    /// Its payload, as it arrived.
    pub bytes: Vec<u8>,
}

/// Another device we may talk to, and the teams we share with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// The device.
    pub device: DeviceId,
    /// Known direct addresses.
    pub addrs: Vec<SocketAddr>,
    /// The relay it was last reachable through.
    pub relay_url: Option<String>,
    /// Teams shared with it.
    pub teams: BTreeSet<TeamId>,
}

/// What travels on a team's sync stream after the hello.
///
/// The Automerge sync protocol catches two devices up after they meet. While they stay
/// connected, each new change is pushed as it is made (`Changes`), and every device tells
/// its peers its heads after it applied something (`Heads`): this keeps a live edit's cost
/// proportional to the edit, not to the history, as answering a sync message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// An Automerge sync message.
    Sync(Vec<u8>),
    /// Raw change chunks, pushed as they are made.
    Changes(Vec<u8>),
    /// The sender's current heads, 32 bytes each.
    Heads(Vec<u8>),
}

impl Wire {
    pub(crate) fn tag_and_bytes(&self) -> (frame::Tag, &[u8]) {
        match self {
            Self::Sync(b) => (frame::Tag::Sync, b),
            Self::Changes(b) => (frame::Tag::Changes, b),
            Self::Heads(b) => (frame::Tag::Heads, b),
        }
    }
}

pub use flow::{Credit, Outbox, SendError};

/// What the network tells the node.
#[derive(Debug)]
pub enum NetEvent {
    /// A sync stream for a team with a peer is open.
    SessionUp {
        /// The peer.
        peer: DeviceId,
        /// Team.
        team: TeamId,
        /// Unique per stream.
        session: u64,
        /// The sync protocol version the two devices settled on (one of [`SYNC_ALPNS`]).
        alpn: Vec<u8>,
        /// Messages to send on it.
        outbox: Outbox,
    },
    /// A message arrived on a sync stream.
    Received {
        /// The peer.
        peer: DeviceId,
        /// Team.
        team: TeamId,
        /// Session.
        session: u64,
        /// What it carries.
        message: Wire,
        /// Its share of the inbound budget, given back when the event is dropped.
        credit: Credit,
    },
    /// A sync stream ended.
    SessionDown {
        /// The peer.
        peer: DeviceId,
        /// Team.
        team: TeamId,
        /// Session.
        session: u64,
        /// Why.
        reason: String,
    },
    /// Someone presents an invite secret.
    Join {
        /// The request.
        request: JoinRequest,
        /// The joiner's device (authenticated by the QUIC handshake).
        from: DeviceId,
        /// Where to answer.
        reply: oneshot::Sender<JoinReply>,
    },
}

/// The running network layer. Cheap to clone; every clone sees the same endpoint, also
/// after [`Net::rebind`] replaced it.
#[derive(Debug, Clone)]
pub struct Net {
    bound: Arc<std::sync::RwLock<Arc<Bound>>>,
    events: mpsc::UnboundedSender<NetEvent>,
    secret_key: [u8; 32],
}

/// One bound endpoint with its protocols.
#[derive(Debug)]
struct Bound {
    router: Router,
    shared: Arc<peers::Shared>,
    relays: Relays,
    /// What the relay watch learned (see `failover`).
    seen: Arc<failover::Seen>,
}

impl Net {
    /// Binds the endpoint and starts accepting. Events go to `events`.
    pub async fn bind(
        config: &NetConfig,
        events: mpsc::UnboundedSender<NetEvent>,
    ) -> Result<Self, NetError> {
        let bound = Bound::bind(config, events.clone()).await?;
        Ok(Self {
            bound: Arc::new(std::sync::RwLock::new(Arc::new(bound))),
            events,
            secret_key: config.secret_key,
        })
    }

    fn bound(&self) -> Arc<Bound> {
        // A panic while holding the lock leaves a valid Arc; keep going with it.
        self.bound.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn shared(&self) -> Arc<peers::Shared> {
        self.bound().shared.clone()
    }

    /// Replaces the endpoint with one bound under `config` (a new network mode, relay or
    /// port), keeping the same key, peers and event channel. Connections end and are
    /// made again over the new endpoint. If the new one cannot be bound, the previous
    /// configuration is bound again (`previous`) and the error returned.
    pub async fn rebind(&self, config: &NetConfig, previous: &NetConfig) -> Result<(), NetError> {
        if config.secret_key != self.secret_key || previous.secret_key != self.secret_key {
            return Err(NetError::Config(
                "a rebind must keep the device's key".into(),
            ));
        }
        let old = self.bound();
        let specs = old.shared.peer_specs();
        let blocked = old.shared.blocked();
        // The old endpoint lets go of its port first, so the new one can take the same.
        old.shared.shutdown();
        if let Err(e) = old.router.shutdown().await {
            tracing::warn!(error = %e, "router shutdown");
        }
        let fresh = match Bound::bind_soon(config, self.events.clone()).await {
            // The old endpoint's socket may linger a while: any port will do, the node
            // publishes the new address.
            Err(NetError::Bind(_)) if config.port != 0 && config.bind.is_none() => {
                let any_port = NetConfig {
                    port: 0,
                    ..config.clone()
                };
                Bound::bind(&any_port, self.events.clone()).await
            }
            other => other,
        };
        let (bound, result) = match fresh {
            Ok(bound) => (bound, Ok(())),
            Err(e) => {
                tracing::warn!(error = %e, "could not rebind; binding the previous settings again");
                let bound = match Bound::bind_soon(previous, self.events.clone()).await {
                    Ok(bound) => bound,
                    // The port went to someone else meanwhile: any port will do, the
                    // node publishes the new address.
                    Err(_) => {
                        let any_port = NetConfig {
                            port: 0,
                            ..previous.clone()
                        };
                        Bound::bind(&any_port, self.events.clone()).await?
                    }
                };
                (bound, Err(e))
            }
        };
        bound.shared.block(blocked);
        bound.shared.set_peers(specs);
        *self.bound.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(bound);
        result
    }

    /// This device's id.
    pub fn endpoint_id(&self) -> DeviceId {
        self.bound().router.endpoint().id().into()
    }

    /// How to reach this device right now.
    pub fn addr(&self) -> EndpointAddr {
        self.bound().router.endpoint().addr()
    }

    /// Every relay in this device's map, home first, with whether each answers now.
    pub fn relays_now(&self) -> Vec<RelayNow> {
        let bound = self.bound();
        bound.seen.relays(bound.router.endpoint())
    }

    /// How to reach this device, for an invite: its addresses and home relay, and every
    /// other relay of its list too, so that a ticket made while one relay is down (or
    /// before the home relay moves) still reaches it. Never a fallback relay (n0's): a
    /// joiner who uses only the team's relays must not be sent to it.
    pub fn ticket_addr(&self) -> EndpointAddr {
        let bound = self.bound();
        let endpoint = bound.router.endpoint();
        let mut addr = endpoint.addr();
        addr.addrs.retain(|a| match a {
            iroh::TransportAddr::Relay(url) => !bound.seen.is_fallback(url),
            _ => true,
        });
        for relay in bound.seen.relays(endpoint).iter().filter(|r| !r.fallback) {
            if let Ok(url) = relay.url.parse::<iroh::RelayUrl>() {
                addr.addrs.insert(iroh::TransportAddr::Relay(url));
            }
        }
        addr
    }

    /// The relay this device can be reached through now (its home relay), if any.
    pub fn relay_url(&self) -> Option<String> {
        self.addr().relay_urls().next().map(ToString::to_string)
    }

    /// Whether relays are in use at all.
    pub fn uses_relays(&self) -> bool {
        self.bound().relays != Relays::Off
    }

    /// Waits until the device has a home relay (or `timeout` passed): an invite made
    /// right after start must carry it, or nobody behind a NAT can use it. Returns
    /// whether it has one.
    pub async fn wait_for_relay(&self, timeout: std::time::Duration) -> bool {
        if !self.uses_relays() {
            return false;
        }
        let endpoint = self.bound().router.endpoint().clone();
        tokio::time::timeout(timeout, endpoint.online())
            .await
            .is_ok()
    }

    /// Why the home relay refused this device (a wrong or missing token), if it did.
    pub fn relay_refusal(&self) -> Option<String> {
        use iroh::Watcher;
        let mut status = self.bound().router.endpoint().home_relay_status();
        status.get().iter().find_map(|relay| {
            relay
                .auth_denied_reason()
                .map(|reason| format!("the relay {} refused this device: {reason}", relay.url()))
        })
    }

    /// Why the home relay cannot be used, if it cannot: it refused our token, or the
    /// last attempt to reach it failed.
    pub fn relay_problem(&self) -> Option<String> {
        use iroh::Watcher;
        let mut status = self.bound().router.endpoint().home_relay_status();
        status.get().iter().find_map(|relay| {
            if relay.is_connected() {
                None
            } else if let Some(reason) = relay.auth_denied_reason() {
                Some(format!(
                    "the relay {} refused this device: {reason}",
                    relay.url()
                ))
            } else {
                relay
                    .last_error()
                    .map(|e| format!("could not reach the relay {}: {e}", relay.url()))
            }
        })
    }

    /// Resolves when this device's addresses or home relay change (or the endpoint was
    /// replaced): the node then publishes them to its teams.
    pub async fn addr_changed(&self) {
        use iroh::Watcher;
        let mut watch = self.bound().router.endpoint().watch_addr();
        // An error means the endpoint closed (a rebind): that is a change too.
        if watch.updated().await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// How the connection to `peer` runs now: `None` when not connected.
    pub fn path(&self, peer: &DeviceId) -> Option<PathInfo> {
        self.shared().path(peer)
    }

    /// The direct socket addresses in [`Net::addr`].
    pub fn direct_addrs(&self) -> Vec<SocketAddr> {
        self.addr().ip_addrs().copied().collect()
    }

    /// Replaces the set of peers (the allowlist, their addresses and shared teams).
    /// Connections to peers no longer listed are closed at once.
    pub fn set_peers(&self, peers: Vec<PeerSpec>) {
        self.shared().set_peers(peers);
    }

    /// From now on, sends a copy of every frame this device receives on sync streams
    /// (each stream's hello included) to `tap`; `None` stops. For tests that check what
    /// crosses the wire, and for debugging. Not kept across [`Net::rebind`].
    pub fn tap(&self, tap: Option<mpsc::UnboundedSender<Tapped>>) {
        self.shared().set_tap(tap);
    }

    /// Frame bytes sent and received so far.
    pub fn traffic(&self) -> (u64, u64) {
        self.shared().traffic.totals()
    }

    /// Connections the gate refused (devices that are no member's, as far as this
    /// device knows) since this endpoint was bound.
    pub fn refusals(&self) -> u64 {
        self.shared().refusals()
    }

    /// Whether a live connection to `peer` exists.
    pub fn is_connected(&self, peer: &DeviceId) -> bool {
        self.shared().is_connected(peer)
    }

    /// Fault injection and "pause sync": refuse and close connections to these peers
    /// until the set is changed again.
    pub fn block(&self, peers: BTreeSet<DeviceId>) {
        self.shared().block(peers);
    }

    /// Closes the connection to one peer after it sent something unusable (it is
    /// re-established with backoff).
    pub fn close_peer(&self, peer: &DeviceId, reason: &str) {
        self.shared().close_peer(peer, reason);
    }

    /// Drops every connection (they are re-established with backoff). For tests of
    /// reconnecting and for "reconnect now" in the UI.
    pub fn drop_connections(&self) {
        self.shared().drop_connections();
    }

    /// Drops the connections that run through the relay `url` (they are made again at
    /// once, over every relay): after this device's home relay moved off it.
    pub fn drop_connections_via(&self, url: &str) {
        self.shared().drop_connections_via(url);
    }

    /// Joins a team with an invite: proves the secret to the inviter and receives the
    /// document.
    pub async fn join(
        &self,
        ticket: &InviteTicket,
        request: JoinRequest,
    ) -> Result<JoinAccepted, JoinError> {
        let bound = self.bound();
        let result = join::request_join(
            bound.router.endpoint(),
            ticket,
            request,
            bound.shared.max_frame,
            &bound.shared.traffic,
        )
        .await;
        match result {
            Err(JoinError::Unreachable(why))
                if bound.relays == Relays::Off && ticket.inviter.relay_urls().next().is_some() =>
            {
                Err(JoinError::Unreachable(format!(
                    "{why}; this device uses no relay in its network mode, so it could not use \
                     the inviter's: try `peercoach network --mode anywhere`"
                )))
            }
            other => other,
        }
    }

    /// Closes every connection and the endpoint, waiting for peers to be told.
    pub async fn shutdown(&self) {
        let bound = self.bound();
        bound.shared.shutdown();
        if let Err(e) = bound.router.shutdown().await {
            tracing::warn!(error = %e, "router shutdown");
        }
    }
}

impl Bound {
    /// [`Bound::bind`], retried for a moment: the endpoint just closed may not have let
    /// go of its port yet.
    async fn bind_soon(
        config: &NetConfig,
        events: mpsc::UnboundedSender<NetEvent>,
    ) -> Result<Self, NetError> {
        let mut tries = 0;
        loop {
            match Self::bind(config, events.clone()).await {
                Err(NetError::Bind(_)) if tries < 3 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    async fn bind(
        config: &NetConfig,
        events: mpsc::UnboundedSender<NetEvent>,
    ) -> Result<Self, NetError> {
        let secret = SecretKey::from_bytes(&config.secret_key);
        let gate = gate::Gate::default();
        let mut builder = Endpoint::builder(presets::Minimal)
            .secret_key(secret)
            .clear_ip_transports()
            .transport_config(transport_config()?)
            .hooks(gate.clone());
        let bind_addr = match (config.bind, config.loopback_only) {
            (Some(addr), true) if !addr.ip().is_loopback() => {
                return Err(NetError::NotLoopback(addr));
            }
            (Some(addr), _) => addr,
            (None, true) => SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)),
            (None, false) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port)),
        };
        builder = builder
            .bind_addr(bind_addr)
            .map_err(|e| NetError::Config(e.to_string()))?;
        let relays = if config.loopback_only {
            Relays::Off
        } else {
            config.relays.clone()
        };
        // Only a list of the device's own is watched: n0's relays (and the lookup that
        // comes with them) look after themselves.
        let relay_map = relay_map(&relays)?;
        let seen = Arc::new(match &relays {
            Relays::Own { fallback, .. } => {
                failover::Seen::new(relay_map.relays(), *fallback == Fallback::None)
            }
            Relays::Off | Relays::Public => failover::Seen::new(Vec::new(), false),
        });
        if config.loopback_only {
            builder = builder
                .relay_mode(RelayMode::Disabled)
                .clear_address_lookup()
                .portmapper_config(PortmapperConfig::Disabled);
        } else {
            builder = builder.relay_mode(match &relays {
                Relays::Off => RelayMode::Disabled,
                Relays::Public => RelayMode::Default,
                Relays::Own { .. } => RelayMode::Custom(relay_map),
            });
            if let Some(pem) = &config.extra_relay_roots_pem {
                builder = builder.ca_tls_config(extra_roots(pem)?);
            }
            builder = builder.portmapper_config(if config.port_mapping {
                PortmapperConfig::default()
            } else {
                PortmapperConfig::Disabled
            });
            if config.address_lookup {
                builder = builder
                    .address_lookup(iroh::address_lookup::PkarrPublisher::n0_dns())
                    .address_lookup(iroh::address_lookup::PkarrResolver::n0_dns())
                    .address_lookup(iroh::address_lookup::DnsAddressLookup::n0_dns());
            }
            if config.lan_discovery {
                builder =
                    builder.address_lookup(iroh_mdns_address_lookup::MdnsAddressLookup::builder());
            }
        }
        let endpoint = builder
            .bind()
            .await
            .map_err(|e| NetError::Bind(e.to_string()))?;
        let shared = Arc::new(peers::Shared::new(
            endpoint.clone(),
            gate,
            events,
            config.max_frame,
            seen.clone(),
        ));
        // In order of preference: the newest version first.
        let mut router = Router::builder(endpoint);
        for alpn in SYNC_ALPNS {
            router = router.accept(*alpn, peers::SyncHandler(shared.clone()));
        }
        for alpn in JOIN_ALPNS {
            router = router.accept(*alpn, join::JoinHandler(shared.clone()));
        }
        let router = router.spawn();
        if let Relays::Own { fallback, .. } = &relays {
            let fallback = match fallback {
                Fallback::None => Vec::new(),
                Fallback::Public => RelayMode::Default.relay_map().relays(),
                Fallback::These(list) => relay_configs(list)?,
            };
            tokio::spawn(failover::watch(
                router.endpoint().clone(),
                fallback,
                seen.clone(),
                shared.subscribe_shutdown(),
            ));
        }
        Ok(Self {
            router,
            shared,
            relays,
            seen,
        })
    }
}

/// How fast a dead path or connection is noticed. A laptop that moved to another network
/// leaves its teammates sending to its old address, a path that looks alive to them until
/// it idles out (iroh's default: 15 s a path, 30 s a connection, so a reconnect could take
/// half a minute). Heartbeats every 1.5 s let a silent path go after 5 s and a silent
/// connection after 10 s; they cost a few bytes a second per teammate.
fn transport_config() -> Result<iroh::endpoint::QuicTransportConfig, NetError> {
    let idle = iroh::endpoint::IdleTimeout::try_from(std::time::Duration::from_secs(10))
        .map_err(|e| NetError::Config(e.to_string()))?;
    Ok(iroh::endpoint::QuicTransportConfig::builder()
        .keep_alive_interval(std::time::Duration::from_millis(1500))
        .default_path_keep_alive_interval(std::time::Duration::from_millis(1500))
        .default_path_max_idle_timeout(std::time::Duration::from_secs(5))
        .max_idle_timeout(Some(idle))
        .build())
}

/// The relays the endpoint starts with.
fn relay_map(relays: &Relays) -> Result<iroh::RelayMap, NetError> {
    Ok(match relays {
        Relays::Off => iroh::RelayMap::empty(),
        Relays::Public => RelayMode::Default.relay_map(),
        Relays::Own { list, .. } if list.is_empty() => {
            return Err(NetError::Config("no relay given".into()));
        }
        Relays::Own { list, .. } => relay_configs(list)?.into_iter().collect(),
    })
}

/// iroh's configuration of each relay, with its token.
fn relay_configs(list: &[RelaySpec]) -> Result<Vec<Arc<iroh::RelayConfig>>, NetError> {
    let mut configs = Vec::new();
    for relay in list {
        let mut config = iroh::RelayConfig::from(parse_relay_url(&relay.url)?);
        if let Some(token) = &relay.token {
            config = config.with_auth_token(token.clone());
        }
        configs.push(Arc::new(config));
    }
    Ok(configs)
}

fn extra_roots(pem: &[u8]) -> Result<iroh::tls::CaTlsConfig, NetError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| NetError::Config(format!("extra relay root certificate: {e}")))?;
    if certs.is_empty() {
        return Err(NetError::Config(
            "extra relay root certificate: no certificate in the PEM".into(),
        ));
    }
    Ok(iroh::tls::CaTlsConfig::embedded().with_extra_roots(certs))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use iroh::protocol::{AcceptError, ProtocolHandler};

    use super::*;

    #[derive(Debug, Clone)]
    struct Accept;

    impl ProtocolHandler for Accept {
        async fn accept(&self, _: iroh::endpoint::Connection) -> Result<(), AcceptError> {
            Ok(())
        }
    }

    /// An endpoint on 127.0.0.1 with relays, lookup and port mapping off.
    async fn loopback(secret: u8) -> Endpoint {
        Endpoint::builder(presets::Minimal)
            .secret_key(SecretKey::from_bytes(&[secret; 32]))
            .clear_ip_transports()
            .bind_addr((Ipv4Addr::LOCALHOST, 0))
            .expect("bind addr")
            .relay_mode(RelayMode::Disabled)
            .portmapper_config(PortmapperConfig::Disabled)
            .bind()
            .await
            .expect("bind")
    }

    /// A dial offers every version it is given, and the listener's own order picks: an
    /// older listener is met on the version both speak, a newer one on its newest.
    #[tokio::test]
    async fn a_dial_offers_every_version_and_the_listener_chooses() {
        const V1: &[u8] = b"peercoach/test/1";
        const V2: &[u8] = b"peercoach/test/2";
        let older = Router::builder(loopback(1).await)
            .accept(V1, Accept)
            .spawn();
        let newer = Router::builder(loopback(2).await)
            .accept(V2, Accept)
            .accept(V1, Accept)
            .spawn();
        let me = loopback(3).await;
        let conn = dial(&me, older.endpoint().addr(), &[V2, V1])
            .await
            .expect("an older listener answers");
        assert_eq!(conn.alpn(), V1);
        let conn = dial(&me, newer.endpoint().addr(), &[V2, V1])
            .await
            .expect("a newer listener answers");
        assert_eq!(conn.alpn(), V2);
        let conn = dial(&me, newer.endpoint().addr(), &[V1])
            .await
            .expect("a newer listener answers an older dial");
        assert_eq!(conn.alpn(), V1);
        me.close().await;
        older.shutdown().await.expect("shutdown");
        newer.shutdown().await.expect("shutdown");
    }

    /// A device whose gate refuses us (it has not taken in the team yet, as a joiner
    /// still loading it) is dialed again after a growing backoff, not in a loop. Once it
    /// lets us in, it dials us at once, without waiting for us to dial (as the device
    /// with the higher id otherwise does) or for our backoff to run out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_device_refused_at_the_gate_is_redialed_with_backoff_and_dials_at_once_when_let_in() {
        let team = TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000a").expect("team id");
        let mut nets = Vec::new();
        for secret in [[1; 32], [2; 32]] {
            let (events, rx) = mpsc::unbounded_channel();
            std::mem::forget(rx);
            let net = Net::bind(&NetConfig::loopback(secret), events)
                .await
                .expect("bind");
            nets.push(net);
        }
        // `b`, the one refusing, has the higher id: left alone it would wait for `a`.
        nets.sort_by_key(|n| n.endpoint_id());
        let (a, b) = (&nets[0], &nets[1]);
        let spec = |net: &Net| PeerSpec {
            device: net.endpoint_id(),
            addrs: net.direct_addrs(),
            relay_url: None,
            teams: BTreeSet::from([team.clone()]),
        };
        a.set_peers(vec![spec(b)]);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let refused = b.refusals();
        assert!(
            (1..=8).contains(&refused),
            "{refused} connections refused in 3 s"
        );
        assert!(!a.is_connected(&b.endpoint_id()));
        // `a`'s next dial is a second or more away.
        let started = std::time::Instant::now();
        b.set_peers(vec![spec(a)]);
        while !a.is_connected(&b.endpoint_id()) {
            assert!(
                started.elapsed() < Duration::from_millis(800),
                "not connected at once"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(b.refusals(), refused, "no refusal since");
        a.shutdown().await;
        b.shutdown().await;
    }
}
