//! Connections to peers: who may connect, dialing with backoff, keeping one connection
//! per pair, and one framed sync stream per shared team.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointAddr, EndpointId};
use rand::RngExt;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::AbortHandle;

use crate::frame::{self, FrameError, Tag};
use crate::gate::Gate;
use crate::{DeviceId, Hello, NetEvent, PeerSpec, TeamId, close};

/// How long the device with the higher id waits for the lower one to dial first.
const GRACE: Duration = Duration::from_millis(1500);
/// How old our own connection must be before a dial from the peer replaces it (see
/// [`Shared::adopt`]): longer than a simultaneous dial at start takes.
const STALE_AFTER: Duration = Duration::from_secs(3);
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A connection that closes sooner than this after it came up (the peer's gate refused
/// us, as a joiner's does while it is still taking in the team) is dialed again after the
/// backoff; one that lived longer resets it.
const STABLE_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Conn {
    connection: Connection,
    dialed_by_me: bool,
    /// When it was adopted.
    since: std::time::Instant,
    generation: u64,
    opened: HashSet<TeamId>,
}

#[derive(Debug)]
struct Peer {
    spec: PeerSpec,
    conn: Option<Conn>,
    wake: Arc<Notify>,
    /// Dial at once, without the higher id's grace: our gate refused this device lately
    /// (it was not in the team yet), so its own dials wait out a backoff.
    hurry: bool,
}

#[derive(Debug, Default)]
struct State {
    peers: HashMap<EndpointId, Peer>,
    blocked: HashSet<EndpointId>,
    sessions: HashMap<(EndpointId, TeamId), (u64, AbortHandle)>,
}

/// State shared by the handlers and peer tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    endpoint: Endpoint,
    gate: Gate,
    events: mpsc::UnboundedSender<NetEvent>,
    pub(crate) max_frame: usize,
    /// Received frames waiting for the node.
    inbound: crate::flow::Budget,
    /// Each peer's rate of received bytes, over all its sessions.
    rates: Mutex<HashMap<EndpointId, Arc<crate::flow::PeerRate>>>,
    state: Mutex<State>,
    shutdown: watch::Sender<bool>,
    pub(crate) traffic: crate::Traffic,
    /// This device's relays (see [`crate::failover`]): every dial tries them all.
    relays: Arc<crate::failover::Seen>,
    /// A copy of every frame received on sync streams, hellos included, when someone
    /// watches (see [`crate::Net::tap`]).
    tap: Mutex<Option<mpsc::UnboundedSender<crate::Tapped>>>,
}

impl Shared {
    pub(crate) fn events_sender(&self) -> &mpsc::UnboundedSender<NetEvent> {
        &self.events
    }

    pub(crate) fn new(
        endpoint: Endpoint,
        gate: Gate,
        events: mpsc::UnboundedSender<NetEvent>,
        max_frame: usize,
        relays: Arc<crate::failover::Seen>,
    ) -> Self {
        Self {
            relays,
            endpoint,
            gate,
            events,
            max_frame,
            inbound: crate::flow::Budget::new(crate::flow::INBOUND_BUDGET),
            rates: Mutex::new(HashMap::new()),
            state: Mutex::new(State::default()),
            shutdown: watch::channel(false).0,
            traffic: crate::Traffic::default(),
            tap: Mutex::new(None),
        }
    }

    /// A peer's rate, shared by its sessions (made on its first).
    fn rate_of(&self, peer: EndpointId) -> Arc<crate::flow::PeerRate> {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        rates
            .entry(peer)
            .or_insert_with(|| {
                Arc::new(crate::flow::PeerRate::new(
                    crate::flow::PEER_BYTES_PER_MINUTE,
                    crate::flow::PEER_BURST,
                ))
            })
            .clone()
    }

    pub(crate) fn set_tap(&self, tap: Option<mpsc::UnboundedSender<crate::Tapped>>) {
        *self.tap.lock().unwrap_or_else(|p| p.into_inner()) = tap;
    }

    /// Hands a copy of a received frame to the tap, if one is set.
    fn tapped(&self, peer: EndpointId, bytes: &[u8]) {
        let tap = self.tap.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = tap.as_ref()
            && tx
                .send(crate::Tapped {
                    peer: peer.into(),
                    bytes: bytes.to_vec(),
                })
                .is_err()
        {
            tracing::trace!("nobody reads the tap any more");
        }
    }

    fn me(&self) -> EndpointId {
        self.endpoint.id()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; keep going with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next(&self) -> u64 {
        // One counter for the process, not per endpoint: after a rebind, sessions of the
        // old endpoint may still report that they ended, and must not be mistaken for
        // the new endpoint's.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn peer_specs(&self) -> Vec<PeerSpec> {
        self.lock().peers.values().map(|p| p.spec.clone()).collect()
    }

    pub(crate) fn blocked(&self) -> BTreeSet<DeviceId> {
        self.lock().blocked.iter().map(|id| (*id).into()).collect()
    }

    pub(crate) fn path(&self, peer: &DeviceId) -> Option<crate::PathInfo> {
        let id = peer.endpoint_id();
        let connection = self
            .lock()
            .peers
            .get(&id)
            .and_then(|p| p.conn.as_ref())
            .filter(|c| c.connection.close_reason().is_none())?
            .connection
            .clone();
        let paths = connection.paths();
        let selected = paths.into_iter().find(|p| p.is_selected())?;
        let relay_url = match selected.remote_addr() {
            iroh::TransportAddr::Relay(url) => Some(url.to_string()),
            _ => None,
        };
        Some(crate::PathInfo {
            kind: if selected.is_relay() {
                crate::PathKind::Relay
            } else {
                crate::PathKind::Direct
            },
            rtt_ms: u64::try_from(selected.rtt().as_millis()).unwrap_or(u64::MAX),
            relay_url,
        })
    }

    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn refresh_gate(&self, state: &State) {
        let allowed = state
            .peers
            .keys()
            .filter(|id| !state.blocked.contains(*id))
            .copied()
            .collect();
        self.gate.set(allowed);
    }

    pub(crate) fn set_peers(self: &Arc<Self>, specs: Vec<PeerSpec>) {
        let me = self.me();
        let mut state = self.lock();
        let mut wanted: HashMap<EndpointId, PeerSpec> = HashMap::new();
        for spec in specs {
            let id = spec.device.endpoint_id();
            if id != me {
                wanted.insert(id, spec);
            }
        }
        // Peers no longer listed: close at once (a removed member's device).
        let gone: Vec<EndpointId> = state
            .peers
            .keys()
            .filter(|id| !wanted.contains_key(*id))
            .copied()
            .collect();
        for id in gone {
            if let Some(peer) = state.peers.remove(&id) {
                if let Some(conn) = peer.conn {
                    conn.connection
                        .close(close::FORBIDDEN.into(), b"no longer a member");
                }
                peer.wake.notify_one();
            }
        }
        for (id, spec) in wanted {
            match state.peers.get_mut(&id) {
                Some(peer) => {
                    if peer.spec != spec {
                        peer.spec = spec;
                        peer.wake.notify_one();
                    }
                }
                None => {
                    let wake = Arc::new(Notify::new());
                    state.peers.insert(
                        id,
                        Peer {
                            spec,
                            conn: None,
                            wake: wake.clone(),
                            hurry: self.gate.refused_lately(&id),
                        },
                    );
                    tokio::spawn(peer_loop(self.clone(), id, wake));
                }
            }
        }
        // Sessions for teams no longer shared end now.
        let stale: Vec<(EndpointId, TeamId)> = state
            .sessions
            .keys()
            .filter(|(id, team)| {
                state
                    .peers
                    .get(id)
                    .is_none_or(|p| !p.spec.teams.contains(team))
            })
            .cloned()
            .collect();
        for key in stale {
            if let Some((_, handle)) = state.sessions.remove(&key) {
                handle.abort();
            }
        }
        self.refresh_gate(&state);
    }

    pub(crate) fn refusals(&self) -> u64 {
        self.gate.refusals()
    }

    pub(crate) fn is_connected(&self, peer: &DeviceId) -> bool {
        let id = peer.endpoint_id();
        self.lock()
            .peers
            .get(&id)
            .and_then(|p| p.conn.as_ref())
            .is_some_and(|c| c.connection.close_reason().is_none())
    }

    pub(crate) fn block(&self, peers: BTreeSet<DeviceId>) {
        let mut state = self.lock();
        state.blocked = peers.iter().map(DeviceId::endpoint_id).collect();
        let blocked = state.blocked.clone();
        for (id, peer) in state.peers.iter_mut() {
            if blocked.contains(id)
                && let Some(conn) = peer.conn.take()
            {
                conn.connection.close(close::FORBIDDEN.into(), b"paused");
            }
            peer.wake.notify_one();
        }
        self.refresh_gate(&state);
    }

    pub(crate) fn close_peer(&self, peer: &DeviceId, reason: &str) {
        let id = peer.endpoint_id();
        let mut state = self.lock();
        if let Some(p) = state.peers.get_mut(&id) {
            if let Some(conn) = p.conn.take() {
                conn.connection
                    .close(close::BAD_FRAME.into(), reason.as_bytes());
            }
            p.wake.notify_one();
        }
    }

    pub(crate) fn drop_connections(&self) {
        let mut state = self.lock();
        for peer in state.peers.values_mut() {
            if let Some(conn) = peer.conn.take() {
                conn.connection.close(close::DONE.into(), b"reconnect");
            }
            peer.wake.notify_one();
        }
    }

    pub(crate) fn drop_connections_via(&self, url: &str) {
        let mut state = self.lock();
        for peer in state.peers.values_mut() {
            let through = peer.conn.as_ref().is_some_and(|c| {
                c.connection.paths().into_iter().any(|p| {
                    p.is_selected()
                        && matches!(p.remote_addr(), iroh::TransportAddr::Relay(r) if r.as_str() == url)
                })
            });
            if through && let Some(conn) = peer.conn.take() {
                conn.connection.close(close::DONE.into(), b"reconnect");
                peer.wake.notify_one();
            }
        }
    }

    /// Resolves `changed` when the endpoint shuts down.
    pub(crate) fn subscribe_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let mut state = self.lock();
        for peer in state.peers.values_mut() {
            if let Some(conn) = peer.conn.take() {
                conn.connection
                    .close(close::SHUTDOWN.into(), b"shutting down");
            }
            peer.wake.notify_one();
        }
    }

    /// Keeps a new connection, or refuses it if the pair already has the one that wins
    /// (the one dialed by the lower id). Returns whether it was kept.
    fn adopt(&self, connection: &Connection, dialed_by_me: bool) -> bool {
        let me = self.me();
        let id = connection.remote_id();
        let mut state = self.lock();
        if state.blocked.contains(&id) || self.is_shutting_down() {
            connection.close(close::FORBIDDEN.into(), b"paused");
            return false;
        }
        let generation = self.next();
        let Some(peer) = state.peers.get_mut(&id) else {
            connection.close(close::FORBIDDEN.into(), b"not a member");
            return false;
        };
        if let Some(existing) = &peer.conn
            && existing.connection.close_reason().is_none()
            && existing.dialed_by_me != dialed_by_me
        {
            let preferred_dialer_is_me = me < id;
            // The peer dials only while it holds no live connection to us (the higher id
            // after a grace period). A dial from it well after ours was made means ours is
            // dead on its side and only looks alive here, as after the peer moved to
            // another network: take the new one rather than wait for ours to time out.
            let ours_is_stale = !dialed_by_me && existing.since.elapsed() > STALE_AFTER;
            if existing.dialed_by_me == preferred_dialer_is_me && !ours_is_stale {
                connection.close(close::DUPLICATE.into(), b"duplicate");
                return false;
            }
            existing
                .connection
                .close(close::DUPLICATE.into(), b"duplicate");
        } else if let Some(existing) = &peer.conn {
            // A newer connection from the same side replaces a stale one.
            existing
                .connection
                .close(close::DUPLICATE.into(), b"replaced");
        }
        peer.conn = Some(Conn {
            connection: connection.clone(),
            dialed_by_me,
            since: std::time::Instant::now(),
            generation,
            opened: HashSet::new(),
        });
        peer.wake.notify_one();
        true
    }

    fn start_session(
        self: &Arc<Self>,
        connection: Connection,
        team: TeamId,
        send: SendStream,
        recv: RecvStream,
    ) {
        let peer = connection.remote_id();
        let session = self.next();
        let shared = self.clone();
        let team2 = team.clone();
        let handle = tokio::spawn(async move {
            run_session(shared, connection, team2, session, send, recv).await;
        });
        let mut state = self.lock();
        if let Some((_, old)) = state
            .sessions
            .insert((peer, team), (session, handle.abort_handle()))
        {
            old.abort();
        }
    }

    fn session_ended(&self, peer: EndpointId, team: &TeamId, session: u64) {
        let mut state = self.lock();
        let key = (peer, team.clone());
        if state.sessions.get(&key).is_some_and(|(s, _)| *s == session) {
            state.sessions.remove(&key);
        }
    }
}

/// Keeps one peer connected: dials with backoff, opens team streams on connections it
/// dialed, and waits for changes.
async fn peer_loop(shared: Arc<Shared>, id: EndpointId, wake: Arc<Notify>) {
    let me = shared.me();
    let mut backoff = MIN_BACKOFF;
    let mut shutdown = shared.shutdown.subscribe();
    // The connection in use (by generation) and since when; whether the last one closed
    // before it was [`STABLE_AFTER`] old.
    let mut live: Option<(u64, Instant)> = None;
    let mut closed_early = false;
    loop {
        if shared.is_shutting_down() {
            return;
        }
        enum Next {
            Gone,
            Wait,
            Live(Connection, u64, Vec<TeamId>),
            Dial(PeerSpec, bool),
        }
        let next = {
            let mut state = shared.lock();
            let blocked = state.blocked.contains(&id);
            match state.peers.get_mut(&id) {
                None => Next::Gone,
                Some(_) if blocked => Next::Wait,
                Some(peer) => match &mut peer.conn {
                    Some(conn) if conn.connection.close_reason().is_none() => {
                        let to_open: Vec<TeamId> = if conn.dialed_by_me {
                            peer.spec
                                .teams
                                .iter()
                                .filter(|t| !conn.opened.contains(*t))
                                .cloned()
                                .collect()
                        } else {
                            Vec::new()
                        };
                        conn.opened.extend(to_open.iter().cloned());
                        Next::Live(conn.connection.clone(), conn.generation, to_open)
                    }
                    _ => {
                        peer.conn = None;
                        Next::Dial(peer.spec.clone(), std::mem::take(&mut peer.hurry))
                    }
                },
            }
        };
        match next {
            Next::Gone => return,
            Next::Wait => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
            Next::Live(connection, generation, to_open) => {
                if live.is_none_or(|(g, _)| g != generation) {
                    live = Some((generation, Instant::now()));
                }
                for team in to_open {
                    open_stream(&shared, &connection, team).await;
                }
                tokio::select! {
                    _ = connection.closed() => {
                        let lived = live.take().map(|(_, since)| since.elapsed());
                        closed_early = lived.is_some_and(|l| l < STABLE_AFTER);
                        if !closed_early {
                            backoff = MIN_BACKOFF;
                        }
                        let mut state = shared.lock();
                        if let Some(peer) = state.peers.get_mut(&id)
                            && peer.conn.as_ref().is_some_and(|c| c.generation == generation)
                        {
                            peer.conn = None;
                        }
                    }
                    _ = wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
            Next::Dial(spec, hurry) => {
                if std::mem::take(&mut closed_early) {
                    // Not at once: a peer that closes every connection as it comes up
                    // would otherwise be dialed in a tight loop.
                    if !backoff_sleep(&mut backoff, &wake, &mut shutdown).await {
                        return;
                    }
                    continue;
                }
                if spec.addrs.is_empty() && spec.relay_url.is_none() {
                    // Nowhere to dial yet: wait until an address arrives (or mDNS finds
                    // it; iroh resolves an id without addresses through lookup).
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = shutdown.changed() => {}
                    }
                    if !shared.is_shutting_down() {
                        try_dial(&shared, id, &spec).await;
                    }
                    continue;
                }
                if me > id && !hurry {
                    // Give the lower id a head start, so that usually only one side dials.
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(GRACE) => {}
                        _ = shutdown.changed() => {}
                    }
                    if shared.is_connected(&id.into()) || shared.is_shutting_down() {
                        continue;
                    }
                }
                if !try_dial(&shared, id, &spec).await
                    && !backoff_sleep(&mut backoff, &wake, &mut shutdown).await
                {
                    return;
                }
            }
        }
    }
}

/// Waits out the backoff (with jitter), or until the peer's spec changes, and doubles
/// it. `false` when the node shuts down meanwhile.
async fn backoff_sleep(
    backoff: &mut Duration,
    wake: &Notify,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let jitter = rand::rng().random_range(0..=backoff.as_millis() as u64 / 4);
    let go_on = tokio::select! {
        _ = tokio::time::sleep(*backoff + Duration::from_millis(jitter)) => true,
        _ = wake.notified() => true,
        _ = shutdown.changed() => false,
    };
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    go_on
}

async fn try_dial(shared: &Arc<Shared>, id: EndpointId, spec: &PeerSpec) -> bool {
    // Every path we know: its direct addresses, the relay it published, every relay of
    // our own map (teammates share the team's relays: one it moved to since it last
    // published is among them), and (with none of those, or when all changed) iroh's
    // address lookup by id.
    let published = spec
        .relay_url
        .as_deref()
        .and_then(|u| u.parse::<iroh::RelayUrl>().ok());
    let relays = published
        .filter(|url| shared.relays.may_dial(url))
        .into_iter()
        .chain(shared.relays.urls())
        .map(iroh::TransportAddr::Relay);
    let addr = EndpointAddr::from_parts(
        id,
        spec.addrs
            .iter()
            .copied()
            .map(iroh::TransportAddr::Ip)
            .chain(relays),
    );
    tracing::debug!(peer = %id.fmt_short(), addrs = ?spec.addrs, relay = ?spec.relay_url, "dialing");
    match tokio::time::timeout(
        DIAL_TIMEOUT,
        crate::dial(&shared.endpoint, addr, crate::SYNC_ALPNS),
    )
    .await
    {
        Ok(Ok(connection)) => {
            shared.adopt(&connection, true);
            true
        }
        Ok(Err(e)) => {
            tracing::debug!(peer = %id.fmt_short(), error = %e, "dial failed");
            false
        }
        Err(_) => {
            tracing::debug!(peer = %id.fmt_short(), "dial timed out");
            false
        }
    }
}

async fn open_stream(shared: &Arc<Shared>, connection: &Connection, team: TeamId) {
    let opened = async {
        let (mut send, recv) = connection
            .open_bi()
            .await
            .map_err(|e| FrameError::Io(e.to_string()))?;
        let hello = serde_json::to_vec(&Hello {
            version: 1,
            team_id: team.clone(),
        })
        .map_err(|e| FrameError::Io(e.to_string()))?;
        frame::write_frame(&mut send, Tag::Hello, &hello).await?;
        shared.traffic.sent(hello.len());
        Ok::<_, FrameError>((send, recv))
    };
    match opened.await {
        Ok((send, recv)) => shared.start_session(connection.clone(), team, send, recv),
        Err(e) => tracing::debug!(error = %e, "could not open a team stream"),
    }
}

async fn run_session(
    shared: Arc<Shared>,
    connection: Connection,
    team: TeamId,
    session: u64,
    mut send: SendStream,
    mut recv: RecvStream,
) {
    let peer = connection.remote_id();
    let peer_s = DeviceId::from(peer);
    let (outbox, mut rx) = crate::Outbox::new(crate::flow::OUTBOUND_BUDGET);
    // A node that has stopped drops the outbox with the event: the session then ends
    // below as "closed by the node".
    if shared
        .events
        .send(NetEvent::SessionUp {
            peer: peer_s,
            team: team.clone(),
            session,
            alpn: connection.alpn().to_vec(),
            outbox,
        })
        .is_err()
    {
        tracing::debug!("a session came up while the node stops");
    }
    let events = shared.events.clone();
    let max = shared.max_frame;
    let (peer_r, team_r) = (peer_s, team.clone());
    let counter = shared.clone();
    let rate = shared.rate_of(peer);
    let mut reader = tokio::spawn(async move {
        loop {
            let message = match frame::read_frame(&mut recv, max).await? {
                Some((Tag::Sync, bytes)) => crate::Wire::Sync(bytes),
                Some((Tag::Changes, bytes)) => crate::Wire::Changes(bytes),
                Some((Tag::Heads, bytes)) => crate::Wire::Heads(bytes),
                Some((got, _)) => {
                    return Err(FrameError::Unexpected {
                        expected: Tag::Sync,
                        got,
                    });
                }
                None => return Ok(()),
            };
            let len = message.tag_and_bytes().1.len();
            counter.traffic.received(len);
            counter.tapped(peer, message.tag_and_bytes().1);
            // A peer over its rate is deferred: this reader pauses, QUIC holds it back.
            let owed = rate.spend(len);
            if !owed.is_zero() {
                tracing::debug!(peer = %peer.fmt_short(), wait_ms = owed.as_millis(), "peer over its rate; deferring");
                tokio::time::sleep(owed).await;
            }
            // When the node is behind, stop reading: QUIC then holds the sender back.
            let Some(credit) = counter.inbound.take(len).await else {
                return Ok(());
            };
            let event = NetEvent::Received {
                peer: peer_r,
                team: team_r.clone(),
                session,
                message,
                credit,
            };
            if events.send(event).is_err() {
                // The node has stopped: nobody reads what follows.
                return Ok(());
            }
        }
    });
    let reason = loop {
        tokio::select! {
            outgoing = rx.recv() => match outgoing {
                // The credit is given back once the frame is written.
                Some((message, _credit)) => {
                    let (tag, bytes) = message.tag_and_bytes();
                    if let Err(e) = frame::write_frame(&mut send, tag, bytes).await {
                        break format!("write failed: {e}");
                    }
                    shared.traffic.sent(bytes.len());
                }
                None => break "closed by the node".to_owned(),
            },
            read = &mut reader => {
                break match read {
                    Ok(Ok(())) => "the peer ended the stream".to_owned(),
                    Ok(Err(FrameError::Io(e))) => format!("connection lost: {e}"),
                    Ok(Err(e)) => {
                        // Garbage from a member's device: drop that connection, loudly.
                        tracing::warn!(peer = %peer.fmt_short(), error = %e, "bad frame; closing the connection");
                        connection.close(close::BAD_FRAME.into(), b"bad frame");
                        format!("bad frame: {e}")
                    }
                    Err(e) => format!("reader stopped: {e}"),
                };
            }
        }
    };
    reader.abort();
    shared.session_ended(peer, &team, session);
    let down = NetEvent::SessionDown {
        peer: peer_s,
        team,
        session,
        reason,
    };
    if shared.events.send(down).is_err() {
        tracing::trace!("a session ended after the node stopped");
    }
}

/// Accepts sync connections that passed the gate.
#[derive(Debug, Clone)]
pub(crate) struct SyncHandler(pub(crate) Arc<Shared>);

impl ProtocolHandler for SyncHandler {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let shared = &self.0;
        if !shared.adopt(&connection, false) {
            return Ok(());
        }
        loop {
            let (send, mut recv) = match connection.accept_bi().await {
                Ok(streams) => streams,
                Err(_) => return Ok(()),
            };
            let hello = tokio::time::timeout(
                HELLO_TIMEOUT,
                frame::expect_frame(&mut recv, Tag::Hello, 4096),
            )
            .await;
            let hello: Hello = match hello {
                Ok(Ok(bytes)) => match serde_json::from_slice(&{
                    shared.traffic.received(bytes.len());
                    shared.tapped(connection.remote_id(), &bytes);
                    bytes
                }) {
                    Ok(h) => h,
                    Err(e) => {
                        tracing::warn!(error = %e, "malformed hello; closing");
                        connection.close(close::BAD_FRAME.into(), b"bad hello");
                        return Ok(());
                    }
                },
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "bad first frame; closing");
                    connection.close(close::BAD_FRAME.into(), b"bad hello");
                    return Ok(());
                }
                Err(_) => {
                    connection.close(close::BAD_FRAME.into(), b"no hello");
                    return Ok(());
                }
            };
            let member = {
                let state = shared.lock();
                state
                    .peers
                    .get(&connection.remote_id())
                    .is_some_and(|p| p.spec.teams.contains(&hello.team_id))
                    && !state.blocked.contains(&connection.remote_id())
            };
            if !member || hello.version != 1 {
                tracing::info!(
                    peer = %connection.remote_id().fmt_short(),
                    team = %hello.team_id,
                    "refused a stream: not a member of that team"
                );
                connection.close(close::FORBIDDEN.into(), b"not a member of that team");
                return Ok(());
            }
            shared.start_session(connection.clone(), hello.team_id, send, recv);
        }
    }
}
