//! # peercoach-net: teammates' devices talking directly over iroh
//!
//! Every device is an iroh endpoint whose id is its public key. This crate opens the
//! endpoint, keeps one long-lived QUIC connection per pair of devices that share a team,
//! and carries two protocols on it:
//!
//! - `peercoach/sync/1`: per shared team, one bi-directional stream that opens with a
//!   [`Hello`] naming the team, then carries Automerge sync messages as length-prefixed
//!   frames ([`frame`]). The document logic (sync states, applying messages) lives in the
//!   node; this crate only moves bytes and reports them as [`NetEvent`]s.
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
use iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

pub use join::{JoinAccepted, JoinError, JoinReply, JoinRequest};
pub use ticket::{InviteTicket, TicketError};

/// ALPN of the sync protocol.
pub const ALPN_SYNC: &[u8] = b"peercoach/sync/1";
/// ALPN of the join protocol.
pub const ALPN_JOIN: &[u8] = b"peercoach/join/1";

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

/// How to set up the endpoint.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// The device's secret key.
    pub secret_key: [u8; 32],
    /// 127.0.0.1 only; no relays, DNS/pkarr lookup, mDNS or port mapping.
    pub loopback_only: bool,
    /// Explicit address to bind (overrides `loopback_only`'s 127.0.0.1:0 and the default
    /// 0.0.0.0:`port`).
    pub bind: Option<SocketAddr>,
    /// UDP port when `bind` is not set (0 = any).
    pub port: u16,
    /// Use relays.
    pub relays: bool,
    /// A self-hosted relay (else n0's public relays).
    pub relay_url: Option<String>,
    /// mDNS discovery on the LAN.
    pub lan_discovery: bool,
    /// UPnP / NAT-PMP / PCP port mapping.
    pub port_mapping: bool,
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
            relays: false,
            relay_url: None,
            lan_discovery: false,
            port_mapping: false,
            max_frame: frame::DEFAULT_MAX_FRAME,
        }
    }
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
    pub team_id: String,
}

/// Another device we may talk to, and the teams we share with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// Endpoint id (hex).
    pub endpoint_id: String,
    /// Known direct addresses.
    pub addrs: Vec<SocketAddr>,
    /// Teams shared with it.
    pub teams: BTreeSet<String>,
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
        /// Peer endpoint id.
        peer: String,
        /// Team.
        team: String,
        /// Unique per stream.
        session: u64,
        /// Messages to send on it.
        outbox: Outbox,
    },
    /// A message arrived on a sync stream.
    Received {
        /// Peer.
        peer: String,
        /// Team.
        team: String,
        /// Session.
        session: u64,
        /// What it carries.
        message: Wire,
        /// Its share of the inbound budget, given back when the event is dropped.
        credit: Credit,
    },
    /// A sync stream ended.
    SessionDown {
        /// Peer.
        peer: String,
        /// Team.
        team: String,
        /// Session.
        session: u64,
        /// Why.
        reason: String,
    },
    /// Someone presents an invite secret.
    Join {
        /// The request.
        request: JoinRequest,
        /// The joiner's endpoint id (authenticated by the QUIC handshake).
        from: String,
        /// Where to answer.
        reply: oneshot::Sender<JoinReply>,
    },
}

/// The running network layer.
#[derive(Debug, Clone)]
pub struct Net {
    router: Router,
    shared: Arc<peers::Shared>,
}

impl Net {
    /// Binds the endpoint and starts accepting. Events go to `events`.
    pub async fn bind(
        config: &NetConfig,
        events: mpsc::UnboundedSender<NetEvent>,
    ) -> Result<Self, NetError> {
        let secret = SecretKey::from_bytes(&config.secret_key);
        let gate = gate::Gate::default();
        let mut builder = Endpoint::builder(presets::Minimal)
            .secret_key(secret)
            .clear_ip_transports()
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
        if config.loopback_only {
            builder = builder
                .relay_mode(RelayMode::Disabled)
                .clear_address_lookup()
                .portmapper_config(PortmapperConfig::Disabled);
        } else {
            builder = builder.relay_mode(match (config.relays, &config.relay_url) {
                (false, _) => RelayMode::Disabled,
                (true, None) => RelayMode::Default,
                (true, Some(url)) => RelayMode::custom([url
                    .parse::<iroh::RelayUrl>()
                    .map_err(|e| NetError::Config(format!("relay URL {url:?}: {e}")))?]),
            });
            builder = builder.portmapper_config(if config.port_mapping {
                PortmapperConfig::default()
            } else {
                PortmapperConfig::Disabled
            });
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
        ));
        let router = Router::builder(endpoint)
            .accept(ALPN_SYNC, peers::SyncHandler(shared.clone()))
            .accept(ALPN_JOIN, join::JoinHandler(shared.clone()))
            .spawn();
        Ok(Self { router, shared })
    }

    /// This device's endpoint id (hex).
    pub fn endpoint_id(&self) -> String {
        self.router.endpoint().id().to_string()
    }

    /// How to reach this device right now.
    pub fn addr(&self) -> EndpointAddr {
        self.router.endpoint().addr()
    }

    /// The direct socket addresses in [`Net::addr`].
    pub fn direct_addrs(&self) -> Vec<SocketAddr> {
        self.addr().ip_addrs().copied().collect()
    }

    /// Replaces the set of peers (the allowlist, their addresses and shared teams).
    /// Connections to peers no longer listed are closed at once.
    pub fn set_peers(&self, peers: Vec<PeerSpec>) {
        self.shared.set_peers(peers);
    }

    /// Frame bytes sent and received so far.
    pub fn traffic(&self) -> (u64, u64) {
        self.shared.traffic.totals()
    }

    /// Whether a live connection to `peer` exists.
    pub fn is_connected(&self, peer: &str) -> bool {
        self.shared.is_connected(peer)
    }

    /// Fault injection and "pause sync": refuse and close connections to these peers
    /// until the set is changed again.
    pub fn block(&self, peers: BTreeSet<String>) {
        self.shared.block(peers);
    }

    /// Closes the connection to one peer after it sent something unusable (it is
    /// re-established with backoff).
    pub fn close_peer(&self, peer: &str, reason: &str) {
        self.shared.close_peer(peer, reason);
    }

    /// Drops every connection (they are re-established with backoff). For tests of
    /// reconnecting and for "reconnect now" in the UI.
    pub fn drop_connections(&self) {
        self.shared.drop_connections();
    }

    /// Joins a team with an invite: proves the secret to the inviter and receives the
    /// document.
    pub async fn join(
        &self,
        ticket: &InviteTicket,
        request: JoinRequest,
    ) -> Result<JoinAccepted, JoinError> {
        join::request_join(
            self.router.endpoint(),
            ticket,
            request,
            self.shared.max_frame,
            &self.shared.traffic,
        )
        .await
    }

    /// Closes every connection and the endpoint, waiting for peers to be told.
    pub async fn shutdown(&self) {
        self.shared.shutdown();
        if let Err(e) = self.router.shutdown().await {
            tracing::warn!(error = %e, "router shutdown");
        }
    }
}
