//! The sync rules, as a state machine without I/O.
//!
//! [`SyncMachine`] decides everything about keeping a device's teams in sync with its
//! peers: the Automerge sync protocol per peer, live pushes of new changes and their
//! relaying, heads announcements, which peer to fetch missing changes from, anti-entropy
//! ticks, and when what it received is safe to acknowledge. It never reads a clock, a
//! socket or a file. Its inputs are values ([`Input`]: a session came up or went down, a
//! frame arrived, a local change was made, a batch was persisted or failed to be, a tick
//! at time `now_ms`), and its outputs are effects ([`Effect`]: send this frame on this
//! session, persist this team, save this sync state, close this peer, publish this team).
//! The node's runtime feeds it events and carries out its effects; the tests in
//! `sync/tests.rs` wire two to four machines through an in-memory network that drops,
//! delays, duplicates and reorders frames, in simulated time.
//!
//! ## The protocol
//!
//! When two devices meet, the Automerge sync protocol catches them up. While they stay
//! connected, each new change is pushed as it is made ([`Wire::Changes`]) and every device
//! announces its heads after it applied something ([`Wire::Heads`]): answering a sync
//! message costs time in proportion to the whole history in automerge 0.12, applying one
//! change does not. A protocol round still runs whenever a peer is known to lack
//! something: heads it announced that we do not know (fetched from one peer at a time), a
//! frame that could not be queued, a peer that stays behind for [`LAGGING_TICKS`] ticks.
//! So a lost or out-of-order push only delays, never loses.
//!
//! ## Acknowledge only what is on disk
//!
//! Every frame this machine sends tells the peer what we hold: a sync message carries our
//! heads, a heads announcement is nothing else, and a push relays a change as ours. So
//! for a team whose document holds changes that are not yet on disk, nothing is sent at
//! all: whatever changed a team in a batch is handed to [`Effect::Persist`] first, and its
//! frames wait until [`Input::Persisted`] reports the heads now durable. A failed persist
//! is tried again at every tick, and until it succeeds the peers are told nothing.
//!
//! ## Liveness
//!
//! Two connected devices whose heads differ must come closer: within [`STALL_TICKS`]
//! ticks, something the peer sent is applied here, or the peer confirms a change of ours
//! it had not confirmed before. Ticks spent waiting for our disk or for frames still
//! queued to the peer do not count. A peer that goes that long without progress has its
//! sync state reset: every hint of what it holds is forgotten, it is asked to forget what
//! it sent us, and a fresh round starts. The rules above are meant to leave no state in
//! which a pair waits on each other for good; this one holds if one ever does, and says
//! so in the log. The count shows per peer in `status` ([`SyncMachine::no_progress_ticks`]).
//!
//! ## Batches
//!
//! The runtime takes its mailbox a batch at a time and ends each with [`Input::Settle`].
//! Pushed changes and heads announcements of a batch are applied together, in one
//! Automerge call per team (whose cost grows with the document, not the batch); every
//! other input first applies what arrived before it.
//!
//! ```
//! use peercoach_core::automerge::{ActorId, AutoCommit, Change, AutomergeError};
//! use peercoach_node::sync::signed::{Signatures, Signer};
//! use peercoach_node::sync::{Docs, Effect, Input, SyncMachine};
//! use peercoach_net::{DeviceId, TeamId, Wire};
//!
//! struct One(TeamId, AutoCommit);
//! impl Docs for One {
//!     type Error = AutomergeError;
//!     fn doc(&mut self, team: &TeamId) -> Option<&mut AutoCommit> {
//!         (*team == self.0).then_some(&mut self.1)
//!     }
//!     fn apply_changes(&mut self, _: &TeamId, changes: Vec<Change>) -> Result<(), AutomergeError> {
//!         self.1.apply_changes(changes)
//!     }
//!     fn merged(&mut self, _: &TeamId) {}
//!     fn signer(&mut self, _: &TeamId, _: &ActorId) -> Signer {
//!         Signer::Unknown
//!     }
//!     fn signatures(&mut self, _: &TeamId) -> Option<&mut Signatures> {
//!         None
//!     }
//! }
//!
//! let team = TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000a")?;
//! let peer = DeviceId::from_secret_key_bytes(&[2; 32]);
//! let mut docs = One(team.clone(), AutoCommit::new());
//! let mut machine = SyncMachine::default();
//! // A session with a peer comes up: the machine starts a protocol round on it.
//! machine.handle(0, Input::SessionUp { team: team.clone(), peer, session: 7, saved_state: None }, &mut docs);
//! machine.handle(0, Input::Settle, &mut docs);
//! let effects: Vec<Effect> = std::iter::from_fn(|| machine.poll_effect()).collect();
//! assert!(effects.iter().any(|e| matches!(e, Effect::Send { session: 7, wire: Wire::Sync(_), .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use iroh_base::SecretKey;
use peercoach_core::automerge::sync::{self, SyncDoc};
use peercoach_core::automerge::{ActorId, AutoCommit, Change, ChangeHash};
use peercoach_net::{DeviceId, SendError, TeamId, Wire};
use serde::{Deserialize, Serialize};

pub mod screen;
pub mod signed;
pub mod versions;
use screen::{ChunkError, Refused};
pub use screen::{Limits, MAX_CHANGE_BYTES, MAX_CHANGE_OPS, Refusal};
use signed::{ChangeSig, Envelope, Signatures, Signer, Verdict};

/// How many refused changes a peer's status keeps (the latest).
const REFUSED_SHOWN: usize = 16;

/// A change a peer sent that was refused before it was applied, as its status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedChange {
    /// The change's hash, shortened (none for a whole document).
    pub change: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

/// Ticks in a row a peer may lag behind our heads of the tick before it is sent a
/// protocol round. Pushes travel on an ordered, reliable stream, and a dropped push, a
/// new session and heads we do not know each start a round at once; so a peer that lags
/// has almost always a backlog to work through, not a lost change, and a round (whose
/// cost grows with the history) would only add to that backlog.
pub const LAGGING_TICKS: u32 = 3;

/// How long a fetch from one peer (heads it announced that we lack) may go unanswered
/// before the next peer that has them is asked.
pub const FETCH_WAIT_MS: i64 = 2_000;

/// Every this many ticks the sync states of all peers are saved, so that a crash costs
/// at most a few rounds of catching up.
pub const SAVE_STATES_EVERY_TICKS: u64 = 15;

/// Ticks in a row that a connected peer whose heads differ from ours may go without
/// progress before its sync state is reset and the protocol starts again (see
/// [`SyncMachine::no_progress_ticks`]). Ticks while frames to the peer still wait to be
/// written, or while our own changes wait for the disk, do not count: the pair is busy,
/// not stuck. The rules above repair a lost frame within about seven ticks (a lagging
/// peer's round at three, its resend at six), so a reset never races them: with five
/// ticks, one schedule in five of the soak reset a pair that was about to recover. A
/// reset that brings no progress doubles the wait for the next one, up to
/// `STALL_TICKS << MAX_RESET_BACKOFF`, so a peer that cannot move (its disk is full) is
/// not sent a fresh round, a bloom filter of the whole history, every few seconds.
pub const STALL_TICKS: u32 = 10;

/// How many times the wait between resets doubles at most.
pub const MAX_RESET_BACKOFF: u32 = 2;

/// Pushes that may wait for a team whose changes cannot be saved (a full disk); past
/// this, they are dropped for a protocol round with each peer once the disk takes writes.
const MAX_WAITING_PUSHES: usize = 4096;

/// A sync stream with one peer for one team: unique per stream, for the node's life.
pub type SessionId = u64;

/// The documents the machine keeps in sync: the node's open teams, or plain documents in
/// tests. Everything here works on memory only.
pub trait Docs {
    /// Why changes were refused.
    type Error: std::error::Error + Send + Sync + 'static;
    /// A team's document, if this device holds it.
    fn doc(&mut self, team: &TeamId) -> Option<&mut AutoCommit>;
    /// Applies pushed changes to a team's document, and to anything kept over it (the
    /// node's read model). Automerge checks the whole batch before it applies any of it.
    fn apply_changes(&mut self, team: &TeamId, changes: Vec<Change>) -> Result<(), Self::Error>;
    /// The sync protocol merged changes into a team's document: refresh what is kept over
    /// it.
    fn merged(&mut self, team: &TeamId);
    /// Who may sign the changes of `actor` in a team, as its document says (see
    /// [`signed`]).
    fn signer(&mut self, team: &TeamId, actor: &ActorId) -> Signer;
    /// The team's signatures: the latest signed change of each actor.
    fn signatures(&mut self, team: &TeamId) -> Option<&mut Signatures>;
    /// Signed changes from a peer, about to be applied (the node looks for another copy
    /// of this device writing at the same time).
    fn arriving(&mut self, _team: &TeamId, _changes: &[Change]) {}
    /// Checks what signed changes do to what the document holds ([`screen::guard`]):
    /// the team's rules, applied before the changes are. One verdict per change.
    fn guard(&mut self, _team: &TeamId, changes: &[&Change]) -> Vec<Result<(), Refusal>> {
        vec![Ok(()); changes.len()]
    }
    /// Whether this document can set aside a change it holds that lost to another version
    /// of it ([`versions`]). Where it cannot, the version it holds is kept and the other
    /// refused.
    fn can_set_aside(&self, _team: &TeamId) -> bool {
        false
    }
    /// Builds the team's document again without `losers` and everything that depends on
    /// them, this device's own edits among those made again ([`versions::without`]), and
    /// keeps it (on disk, and read again): the machine then starts afresh with every peer.
    fn set_aside(
        &mut self,
        _team: &TeamId,
        _losers: &HashSet<ChangeHash>,
    ) -> Result<versions::Report, versions::SetAsideError> {
        Ok(versions::Report::default())
    }
}

/// What happens to the machine.
#[derive(Debug)]
pub enum Input {
    /// A sync stream for `team` with `peer` is open. `saved_state` is the sync state
    /// saved the last time (the runtime reads it from the store), used if the machine
    /// does not know this peer yet.
    SessionUp {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// The stream.
        session: SessionId,
        /// An encoded [`sync::State`], if one was saved.
        saved_state: Option<Vec<u8>>,
    },
    /// A sync stream ended.
    SessionDown {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// The stream.
        session: SessionId,
    },
    /// A frame arrived. A frame that arrived on a stream which has since ended still
    /// counts (the peer sent it); replies go out on the stream in use.
    Received {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// What it carries.
        wire: Wire,
    },
    /// A local command made `change` (raw bytes) in `team`; the engine has written it.
    /// `None` when the document changed in a way that is no one change of ours to push
    /// (a team just joined or imported): peers then only hear the new heads.
    LocalChange {
        /// Team.
        team: TeamId,
        /// The change.
        change: Option<Vec<u8>>,
    },
    /// After a join, both sides know exactly what the other holds: the first sync
    /// between them sends only what came after `heads`.
    PeerHas {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// What it holds.
        heads: Vec<ChangeHash>,
    },
    /// The outcome of an [`Effect::Persist`]: the heads now on disk, or `None` when the
    /// write failed.
    Persisted {
        /// Team.
        team: TeamId,
        /// The durable heads.
        heads: Option<Vec<ChangeHash>>,
    },
    /// A frame of an [`Effect::Send`] could not be queued.
    SendFailed {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// The stream.
        session: SessionId,
        /// Why.
        error: SendError,
    },
    /// The devices this device may sync each team with (after the members changed):
    /// sessions with anyone else end here.
    Allowed {
        /// (team, device) pairs.
        pairs: BTreeSet<(TeamId, DeviceId)>,
    },
    /// A team's document was read again from disk (a local change that could not be
    /// saved was undone, and with it anything received and not yet saved).
    Reloaded {
        /// Team.
        team: TeamId,
    },
    /// Time passed (every 2 s in the node). `busy` lists the sessions whose frames have
    /// not all been written yet.
    Tick {
        /// Sessions with frames waiting to be written.
        busy: BTreeSet<SessionId>,
    },
    /// Apply what arrived, persist, then tell peers: at the end of each batch, and
    /// whenever the runtime wants what is pending sent (after publishing addresses).
    Settle,
    /// The node stops: save every sync state.
    Stop,
}

/// What the machine asks the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Queue a frame on a session. If it cannot be queued, answer with
    /// [`Input::SendFailed`].
    Send {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// The stream.
        session: SessionId,
        /// The frame.
        wire: Wire,
    },
    /// Make the team's document durable (append and fsync what is new), then answer with
    /// [`Input::Persisted`]. `changes`, when known, are exactly the changes new since the
    /// last save, so the store need not rebuild them.
    Persist {
        /// Team.
        team: TeamId,
        /// The new changes, if known exactly.
        changes: Option<Vec<Change>>,
    },
    /// Save a peer's sync state (a hint for the next connection).
    SaveState {
        /// Team.
        team: TeamId,
        /// Peer.
        peer: DeviceId,
        /// The encoded [`sync::State`].
        state: Vec<u8>,
    },
    /// Close the connection to a peer that sent something unusable.
    ClosePeer {
        /// Peer.
        peer: DeviceId,
        /// Why, for the peer's log.
        reason: String,
    },
    /// A team's document changed in this batch: show it.
    Publish {
        /// Team.
        team: TeamId,
    },
    /// Sessions or sync progress changed: status is worth reading again.
    StatusChanged,
}

/// Sync with one peer on one team.
#[derive(Debug)]
struct PeerSync {
    state: sync::State,
    /// Live sessions, oldest first; the newest is the one in use. Briefly there can be
    /// two (while a duplicate connection is being closed); when the one in use ends, the
    /// sync falls back to the other.
    sessions: Vec<SessionId>,
    last_received_ms: Option<i64>,
    /// The heads in the last frame we sent on the session in use.
    told_heads: Vec<ChangeHash>,
    /// The peer's heads as it last told us (a `Heads` frame or a sync message).
    peer_heads: Option<Vec<ChangeHash>>,
    /// Our heads at the previous tick: what a peer has had a whole tick to confirm.
    tick_heads: Vec<ChangeHash>,
    /// A frame was dropped because the session's budget was spent.
    overflowed: bool,
    /// Ticks in a row at which the peer had not confirmed our heads of the tick before.
    lagging: u32,
    /// Protocol rounds in a row started because the peer lagged.
    lag_rounds: u32,
    /// Since the last tick, the pair moved: something from the peer was applied here, or
    /// the peer confirmed a change of ours it had not confirmed before.
    progressed: bool,
    /// Ticks in a row with a live session, differing heads and no progress.
    stalled_ticks: u32,
    /// Resets in a row that brought no progress (the wait before the next one doubles).
    resets: u32,
    /// A frame arrived from the peer since the last tick.
    heard: bool,
    /// The latest changes it sent that were refused, oldest first.
    refused: Vec<RefusedChange>,
    /// Changes refused from this peer alone (unsigned, wrongly signed: the change may be
    /// genuine, and another peer may hold its signature), for as long as the node runs.
    refused_from: HashMap<ChangeHash, Refused>,
}

impl PeerSync {
    /// A change this peer sent is applied, signed: if it was refused from this peer
    /// before (sent unsigned by an older app, which has since updated), it is no longer.
    fn accepted(&mut self, hash: &ChangeHash) {
        self.refused_from.remove(hash);
        if !self.refused.is_empty() {
            let short = screen::short(hash);
            self.refused
                .retain(|r| r.change.as_deref() != Some(short.as_str()));
        }
    }

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
            lag_rounds: 0,
            progressed: false,
            stalled_ticks: 0,
            resets: 0,
            heard: false,
            refused: Vec::new(),
            refused_from: HashMap::new(),
        }
    }

    /// Ticks without progress after which the sync state is reset, given the resets
    /// before that brought none.
    fn stall_limit(&self) -> u32 {
        STALL_TICKS << self.resets.min(MAX_RESET_BACKOFF)
    }

    /// Records the heads the peer just told us: it is progress when they name a change
    /// we hold that the heads it told before did not.
    fn told(&mut self, doc: &mut AutoCommit, heads: Vec<ChangeHash>) {
        let before = self.peer_heads.as_deref().unwrap_or_default();
        if heads
            .iter()
            .any(|h| !before.contains(h) && doc.get_change_meta_by_hash(h).is_some())
        {
            self.progressed = true;
        }
        self.peer_heads = Some(heads);
    }

    /// Starts the sync with this peer from nothing: every hint of what it has (shared
    /// heads, changes sent in this session, a message in flight) is forgotten, and the
    /// peer is asked to forget what it sent us. Whatever wedged the pair lived in that
    /// state; the next round is the first of a new exchange. What the peer told us it
    /// can do is kept.
    fn reset(&mut self) {
        let capabilities = self.state.their_capabilities.take();
        self.state = sync::State::new();
        self.state.their_capabilities = capabilities;
        self.ask_resend();
        self.told_heads = Vec::new();
        self.lagging = 0;
        self.lag_rounds = 0;
    }

    fn current(&self) -> Option<SessionId> {
        self.sessions.last().copied()
    }

    /// Starts the protocol afresh on the session now in use: a message lost with the
    /// old stream must not stall the pair (docs/design.md §5).
    fn restart_protocol(&mut self) {
        self.state = sync::State::decode(&self.state.encode()).unwrap_or_default();
        self.told_heads = Vec::new();
    }

    /// Forgets which changes we sent the peer in this session and that the last message
    /// is unanswered: the next round sends whatever the peer lacks, even if we sent it
    /// before (it never arrived, as the peer's heads say). Unlike a restart, this keeps
    /// what the peer told us it can do.
    fn resend_all(&mut self) {
        self.state.sent_hashes.clear();
        self.state.in_flight = false;
        self.state.last_sent_heads.clear();
    }

    /// Asks the peer, with our next message, to forget which changes it sent us
    /// (Automerge's sync reset): we lack some of them (a frame that never arrived,
    /// changes undone here before they were saved), and Automerge never sends a change
    /// twice in one session on its own. Only a peer that said it understands the reset is
    /// asked: to any other, the reset reads as "I lost everything".
    fn ask_resend(&mut self) {
        let understood = self
            .state
            .their_capabilities
            .as_ref()
            .is_some_and(|caps| caps.contains(&sync::Capability::SyncReset));
        if understood {
            self.state.needs_reset = true;
        }
    }
}

/// The changes applied to a team and not yet persisted, while they are known exactly.
#[derive(Debug)]
enum Unsaved {
    Known(Vec<Change>),
    /// A sync message, or a change that had to wait for another, brought others.
    Unknown,
}

impl Default for Unsaved {
    fn default() -> Self {
        Self::Known(Vec::new())
    }
}

/// A change to push, and the peer it came from (who is not sent it back).
#[derive(Debug)]
struct Push {
    from: Option<DeviceId>,
    bytes: Vec<u8>,
    /// Its device's signature.
    sig: Option<ChangeSig>,
}

/// Per team: what is durable, and what waits to be sent until it is.
#[derive(Debug)]
struct TeamSync {
    /// The heads on disk, as the last persist reported (at first sight of a team: its
    /// heads then, as everything before came from the store or a local command, which
    /// the engine writes before it answers).
    durable: Vec<ChangeHash>,
    /// An [`Effect::Persist`] is out and not yet answered.
    persisting: bool,
    unsaved: Unsaved,
    /// Peers learn our new heads once they are durable.
    announce: bool,
    pushes: Vec<Push>,
    /// Peers to send a protocol round.
    rounds: BTreeSet<DeviceId>,
    /// A fetch was answered: judge the next peer to fetch from.
    refetch: bool,
    /// The peer we fetch changes from because it announced heads we lack, and since when.
    fetching: Option<(DeviceId, i64)>,
    /// The last fetch: whom we asked, for which of its heads.
    asked: Option<(DeviceId, Vec<ChangeHash>)>,
    /// Changes refused before they were applied ([`screen`]), for as long as the node
    /// runs: refused once, never asked for again.
    refused: HashMap<ChangeHash, Refused>,
    /// Changes handed to Automerge that wait in its queue for a dependency, by actor and
    /// sequence number: another version of one of them cannot be applied either (see
    /// `versions`).
    queued: HashMap<(ActorId, u64), Change>,
}

impl TeamSync {
    fn new(durable: Vec<ChangeHash>) -> Self {
        Self {
            durable,
            persisting: false,
            unsaved: Unsaved::default(),
            announce: false,
            pushes: Vec::new(),
            rounds: BTreeSet::new(),
            refetch: false,
            fetching: None,
            asked: None,
            refused: HashMap::new(),
            queued: HashMap::new(),
        }
    }
}

/// Pushed changes and announced heads received in the current batch. Automerge applies a
/// hundred changes in one call for about the cost of one change alone on a large history
/// (the call's cost is mostly per object touched, not per change), so pushes are applied
/// a batch at a time; heads are judged after that, against the batch's result.
#[derive(Debug, Default)]
struct Arrivals {
    changes: BTreeMap<TeamId, Vec<(DeviceId, Change, Vec<ChangeSig>)>>,
    heads: Vec<((TeamId, DeviceId), Vec<ChangeHash>)>,
}

impl Arrivals {
    fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.heads.is_empty()
    }
}

/// The sync rules of one device, for all its teams and peers. See the module docs.
#[derive(Debug, Default)]
pub struct SyncMachine {
    peers: BTreeMap<(TeamId, DeviceId), PeerSync>,
    teams: BTreeMap<TeamId, TeamSync>,
    arrivals: Arrivals,
    /// Teams whose document changed in this batch.
    changed: BTreeSet<TeamId>,
    /// Versions held here that lost to another version of the same change, with the
    /// peer that sent the one kept: set aside once the input is handled.
    aside: Vec<(TeamId, DeviceId, Aside)>,
    /// Something in this batch is worth a status update.
    status_changed: bool,
    ticks: u64,
    /// Sync states reset by the liveness rule, since the machine started.
    resets: u64,
    effects: VecDeque<Effect>,
    /// What a peer may make us apply.
    limits: Limits,
    /// This device's key, which signs its changes.
    key: Option<SecretKey>,
}

impl SyncMachine {
    /// A machine that screens what peers send against `limits` (the default ones are
    /// [`Limits::default`]).
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// This machine signs its device's changes with `key` (the device's iroh secret key):
    /// without one, what it sends is unsigned and peers refuse it.
    pub fn with_key(mut self, key: SecretKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The latest changes `peer` sent for `team` that were refused, oldest first.
    pub fn refused(&self, team: &TeamId, peer: &DeviceId) -> Vec<RefusedChange> {
        self.peers
            .get(&(team.clone(), *peer))
            .map(|ps| ps.refused.clone())
            .unwrap_or_default()
    }

    /// The next thing to do, in order.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When we last received a frame from `peer` on `team`.
    pub fn last_received_ms(&self, team: &TeamId, peer: &DeviceId) -> Option<i64> {
        self.peers
            .get(&(team.clone(), *peer))
            .and_then(|ps| ps.last_received_ms)
    }

    /// Ticks in a row that `peer` on `team`, connected and with heads that differ from
    /// ours, has gone without progress (0 while the pair is in sync or moving). At
    /// [`STALL_TICKS`] the peer's sync state is reset (see the liveness rule).
    pub fn no_progress_ticks(&self, team: &TeamId, peer: &DeviceId) -> u32 {
        self.peers
            .get(&(team.clone(), *peer))
            .map_or(0, |ps| ps.stalled_ticks)
    }

    /// Whether `peer` is known to hold every change in `doc` (its team's document).
    pub fn has_all_my_changes(&self, team: &TeamId, peer: &DeviceId, doc: &mut AutoCommit) -> bool {
        self.peers
            .get(&(team.clone(), *peer))
            .is_some_and(|ps| peer_has_all(doc, ps))
    }

    /// Feeds one input at time `now_ms`; its effects wait in [`SyncMachine::poll_effect`].
    pub fn handle(&mut self, now_ms: i64, input: Input, docs: &mut impl Docs) {
        // Everything but a push, a heads announcement or a local change sees the pushes
        // so far. A local change may go before pushes that arrived in the same batch:
        // nobody here has seen them yet, and both are concurrent edits anyway.
        let deferred = matches!(
            &input,
            Input::LocalChange { .. }
                | Input::Received {
                    wire: Wire::Changes(_) | Wire::Heads(_),
                    ..
                }
        );
        if !deferred {
            self.take_arrivals(now_ms, docs);
        }
        match input {
            Input::SessionUp {
                team,
                peer,
                session,
                saved_state,
            } => self.session_up(team, peer, session, saved_state, docs),
            Input::SessionDown {
                team,
                peer,
                session,
            } => self.session_down(team, peer, session),
            Input::Received { team, peer, wire } => self.received(now_ms, team, peer, wire, docs),
            Input::LocalChange { team, change } => {
                let sig = change
                    .as_deref()
                    .and_then(|bytes| self.sign_local(&team, bytes, docs));
                if let (Some(t), Some(bytes)) = (self.team(&team, docs), change) {
                    t.pushes.push(Push {
                        from: None,
                        bytes,
                        sig,
                    });
                }
                self.changed.insert(team);
            }
            Input::PeerHas { team, peer, heads } => {
                let ps = self
                    .peers
                    .entry((team, peer))
                    .or_insert_with(|| PeerSync::new(sync::State::new()));
                ps.state.shared_heads = heads;
            }
            Input::Persisted { team, heads } => self.persisted(now_ms, team, heads, docs),
            Input::SendFailed {
                team,
                peer,
                session,
                error,
            } => match error {
                // The session ended under us: as when it reports so itself.
                SendError::Closed => self.session_down(team, peer, session),
                SendError::Full => {
                    if let Some(ps) = self.peers.get_mut(&(team, peer)) {
                        // The frame is gone; the protocol starts afresh so that a round
                        // repairs what it carried, at the first tick after the session
                        // has drained.
                        ps.overflowed = true;
                        ps.restart_protocol();
                    }
                }
            },
            Input::Allowed { pairs } => {
                // Peers no longer allowed (a removed member's devices, a team left) are
                // forgotten; their sync state is saved as a hint should they return.
                let gone: Vec<(TeamId, DeviceId)> = self
                    .peers
                    .keys()
                    .filter(|key| !pairs.contains(*key))
                    .cloned()
                    .collect();
                for (team, peer) in gone {
                    if let Some(ps) = self.peers.remove(&(team.clone(), peer)) {
                        self.effects.push_back(Effect::SaveState {
                            team,
                            peer,
                            state: ps.state.encode(),
                        });
                    }
                }
            }
            Input::Reloaded { team } => self.reloaded(team, docs),
            Input::Tick { busy } => self.tick(now_ms, &busy, docs),
            Input::Settle => self.settle(now_ms, docs),
            Input::Stop => self.save_states(),
        }
        self.set_aside_pending(docs);
    }

    /// Refuses `change` for everyone, named in the status of `peer` (who brought the
    /// other version) while it is connected.
    fn refuse_for_all(&mut self, team: &TeamId, peer: DeviceId, change: &Change, why: Refusal) {
        let Some(t) = self.teams.get_mut(team) else {
            return;
        };
        match self.peers.get_mut(&(team.clone(), peer)) {
            Some(ps) => refuse(&mut t.refused, ps, team, peer, Some(change), why),
            None => {
                tracing::warn!(%team, change = %screen::short(&change.hash()), reason = %why, "refused");
                t.refused.insert(
                    change.hash(),
                    Refused {
                        why,
                        deps: change.deps().to_vec(),
                    },
                );
            }
        }
    }

    /// The changes of `team` waiting in Automerge's queue, by actor and sequence number.
    fn queued(&self, team: &TeamId) -> HashMap<(ActorId, u64), Change> {
        self.teams
            .get(team)
            .map(|t| t.queued.clone())
            .unwrap_or_default()
    }

    /// Sets aside the versions held here that lost to another version of the same
    /// change ([`versions`]), found while judging what peers sent: the document is built
    /// again without them, they are refused from now on (and named in the status of the
    /// peer that sent the version kept), and every peer of the team starts afresh, so the
    /// kept version and this device's edits made again go out. When the document cannot
    /// be built again (a full disk), the kept version keeps waiting and the next round
    /// tries again.
    fn set_aside_pending(&mut self, docs: &mut impl Docs) {
        if self.aside.is_empty() {
            return;
        }
        let mut by_team: BTreeMap<TeamId, Vec<(DeviceId, Aside)>> = BTreeMap::new();
        for (team, peer, aside) in std::mem::take(&mut self.aside) {
            by_team.entry(team).or_default().push((peer, aside));
        }
        for (team, found) in by_team {
            let losers: HashSet<ChangeHash> = found.iter().map(|(_, a)| a.loser.hash()).collect();
            match docs.set_aside(&team, &losers) {
                Ok(_) => {}
                // History does not move: the version held stays, the other is refused.
                Err(versions::SetAsideError::TooMuch { left_out }) => {
                    for (peer, aside) in &found {
                        let why = Refusal::TwoVersionsHeld {
                            actor: versions::short_actor(aside.winner.actor_id()),
                            seq: aside.winner.seq(),
                            built: left_out.saturating_sub(1),
                        };
                        self.refuse_for_all(&team, *peer, &aside.winner, why);
                    }
                    self.status_changed = true;
                    continue;
                }
                Err(e) => {
                    tracing::error!(%team, error = %e, "could not set aside a second version");
                    continue;
                }
            }
            // The document on disk is the one built anew: a write asked for before it
            // would bring back what was left out, and a frame made before it may name it.
            self.effects.retain(|e| {
                !matches!(e, Effect::Persist { team: t, .. } | Effect::Send { team: t, .. } if *t == team)
            });
            if let Some(t) = self.teams.get_mut(&team) {
                t.persisting = false;
            }
            self.reloaded(team.clone(), docs);
            for (peer, aside) in &found {
                let why = two_versions_of(&aside.loser, &aside.winner.hash());
                self.refuse_for_all(&team, *peer, &aside.loser, why);
            }
            // The kept versions go in at once: held, they keep the ones set aside out
            // should those come again (after a restart, which forgets what was refused).
            let winners: Vec<Change> = found.iter().map(|(_, a)| a.winner.clone()).collect();
            if let Some(table) = docs.signatures(&team) {
                for (_, aside) in &found {
                    if let Some(sig) = aside.sig {
                        table.record(&aside.winner, sig);
                    }
                }
            }
            if docs.apply_changes(&team, winners.clone()).is_ok()
                && let (Some(t), Some(doc)) = (self.teams.get_mut(&team), docs.doc(&team))
            {
                note_queued(&mut t.queued, doc, &winners);
                t.unsaved = Unsaved::Unknown;
                docs.merged(&team);
            }
            self.changed.insert(team);
            self.status_changed = true;
        }
    }

    /// The team's sync state, made at first sight with its heads then as durable (and a
    /// round for every peer already connected, whose first round found no document).
    fn team(&mut self, team: &TeamId, docs: &mut impl Docs) -> Option<&mut TeamSync> {
        if !self.teams.contains_key(team) {
            let heads = docs.doc(team)?.get_heads();
            let mut sync = TeamSync::new(heads);
            sync.rounds = self
                .peers
                .iter()
                .filter(|((t, _), ps)| t == team && !ps.sessions.is_empty())
                .map(|((_, peer), _)| *peer)
                .collect();
            self.teams.insert(team.clone(), sync);
        }
        self.teams.get_mut(team)
    }

    fn session_up(
        &mut self,
        team: TeamId,
        peer: DeviceId,
        session: SessionId,
        saved_state: Option<Vec<u8>>,
        docs: &mut impl Docs,
    ) {
        let ps = self.peers.entry((team.clone(), peer)).or_insert_with(|| {
            let state = saved_state.and_then(|bytes| match sync::State::decode(&bytes) {
                Ok(state) => Some(state),
                Err(e) => {
                    tracing::warn!(peer = %peer.short(), error = %e, "unreadable saved sync state; starting afresh");
                    None
                }
            });
            PeerSync::new(state.unwrap_or_default())
        });
        tracing::trace!(peer = %peer.short(), session, live = ps.sessions.len(), "session up");
        ps.sessions.push(session);
        ps.restart_protocol();
        // What it sent unsigned (an older app) may come signed on this session: it
        // updated. So those changes count again as ones it holds, to be asked for.
        ps.refused_from
            .retain(|_, refused| refused.why != Refusal::Unsigned);
        // A new session is a fresh start for the liveness rule too.
        ps.stalled_ticks = 0;
        ps.resets = 0;
        if let Some(t) = self.team(&team, docs) {
            t.rounds.insert(peer);
        }
        self.status_changed = true;
    }

    fn session_down(&mut self, team: TeamId, peer: DeviceId, session: SessionId) {
        if let Some(ps) = self.peers.get_mut(&(team.clone(), peer)) {
            let was_current = ps.current() == Some(session);
            tracing::trace!(peer = %peer.short(), session, was_current, "session down");
            ps.sessions.retain(|s| *s != session);
            if was_current {
                ps.restart_protocol();
                let state = ps.state.encode();
                if !ps.sessions.is_empty()
                    && let Some(t) = self.teams.get_mut(&team)
                {
                    t.rounds.insert(peer);
                }
                self.effects
                    .push_back(Effect::SaveState { team, peer, state });
            }
        }
        self.effects.push_back(Effect::StatusChanged);
    }

    fn received(
        &mut self,
        now_ms: i64,
        team: TeamId,
        peer: DeviceId,
        wire: Wire,
        docs: &mut impl Docs,
    ) {
        let key = (team.clone(), peer);
        if !self.peers.contains_key(&key) || self.team(&team, docs).is_none() {
            return;
        }
        let Some(ps) = self.peers.get_mut(&key) else {
            return;
        };
        ps.last_received_ms = Some(now_ms);
        ps.heard = true;
        let Some(t) = self.teams.get_mut(&team) else {
            return;
        };
        let (refused, queued) = (&mut t.refused, &t.queued);
        let limits = self.limits;
        let mut waiting = None;
        let outcome = match wire {
            Wire::Sync(bytes) => {
                // A peer whose heads differ from ours only by changes refused here, and
                // which asks for nothing, is not answered: both sides would otherwise
                // answer each other for ever, as their heads never meet.
                let mut only_refused_differs = false;
                let mut aside = Vec::new();
                let mut handed = Vec::new();
                let screened =
                    Envelope::decode(&bytes)
                        .ok_or(BadFrame::Envelope)
                        .and_then(|envelope| {
                            let m = sync::Message::decode(&envelope.body)
                                .map_err(BadFrame::SyncMessage)?;
                            only_refused_differs = m.need.is_empty()
                                && m.heads.iter().any(|h| {
                                    refused.contains_key(h) || ps.refused_from.contains_key(h)
                                });
                            let (m, held) = screen_message(
                                m,
                                &envelope.sigs,
                                limits,
                                refused,
                                ps,
                                &team,
                                peer,
                                docs,
                                queued,
                                &mut aside,
                                &mut handed,
                            )?;
                            waiting = Some((held, envelope.sigs));
                            Ok(m)
                        });
                self.aside
                    .extend(aside.into_iter().map(|a| (team.clone(), peer, a)));
                let Some(ps) = self.peers.get_mut(&key) else {
                    return;
                };
                let Some(doc) = docs.doc(&team) else {
                    return;
                };
                let before = doc.get_heads();
                let received = screened
                    .and_then(|m| {
                        doc.sync()
                            .receive_sync_message(&mut ps.state, m)
                            .map_err(BadFrame::SyncRefused)
                    })
                    .map(|()| doc.get_heads() != before);
                let mut answer = true;
                if let Ok(merged) = received {
                    let told = ps.state.their_heads.clone().unwrap_or_default();
                    // Heads it names that were refused here read as what they build on:
                    // a change waiting in Automerge's queue for one refused never comes.
                    let holds = match self.teams.get(&team) {
                        Some(t) => {
                            holds_all(doc, &past_refused(&told, &t.refused, &ps.refused_from))
                        }
                        None => holds_all(doc, &told),
                    };
                    ps.told(doc, told);
                    answer = merged || !only_refused_differs || !holds || !sent_all(doc, ps);
                }
                received.map(|merged| {
                    if merged {
                        ps.progressed = true;
                        docs.merged(&team);
                        self.changed.insert(team.clone());
                    }
                    if let Some(t) = self.teams.get_mut(&team) {
                        if t.fetching.is_some_and(|(p, _)| p == peer) {
                            t.fetching = None;
                            t.refetch = true;
                        }
                        if merged {
                            t.unsaved = Unsaved::Unknown;
                        }
                        // A sync message is answered, once per batch, after the changes
                        // are on disk.
                        if answer {
                            t.rounds.insert(peer);
                        }
                        if let Some(doc) = docs.doc(&team) {
                            note_queued(&mut t.queued, doc, &handed);
                        }
                    }
                })
            }
            // Exactly one change per push, checked now, applied with the batch, unless
            // it is over the limits.
            Wire::Changes(bytes) => Envelope::decode(&bytes)
                .ok_or(BadFrame::Envelope)
                .and_then(|envelope| {
                    screen::change_chunks(&envelope.body)
                        .ok()
                        .filter(|chunks| chunks.len() == 1)
                        .ok_or(BadFrame::NotChangeChunks)?;
                    let change =
                        Change::try_from(envelope.body.as_slice()).map_err(BadFrame::Change)?;
                    Ok((change, envelope.sigs))
                })
                .map(|(change, sigs)| {
                    match screen::screen(&change, limits, refused)
                        .and_then(|()| screen::not_after(&change, &ps.refused_from))
                    {
                        Ok(()) => self
                            .arrivals
                            .changes
                            .entry(team.clone())
                            .or_default()
                            .push((peer, change, sigs)),
                        Err(why) => refuse(refused, ps, &team, peer, Some(&change), why),
                    }
                }),
            Wire::Heads(bytes) => decode_heads(&bytes).map(|heads| {
                let heads = screen::without_refused(&heads, refused);
                let heads = screen::without_refused(&heads, &ps.refused_from);
                self.arrivals.heads.push((key.clone(), heads));
            }),
        };
        if let Err(e) = outcome {
            self.drop_bad_peer(&key, &e);
            return;
        }
        if let Some((held, sigs)) = waiting {
            self.judge_waiting(&team, peer, held, &sigs, docs);
        }
    }

    /// Changes of a sync message whose device was not known yet, judged again now that
    /// the rest of the message is applied: applied if signed, refused if their device
    /// is still unknown with everything they depend on here, and otherwise asked for
    /// again later.
    fn judge_waiting(
        &mut self,
        team: &TeamId,
        peer: DeviceId,
        held: Vec<Change>,
        sigs: &[ChangeSig],
        docs: &mut impl Docs,
    ) {
        if held.is_empty() {
            return;
        }
        let mut aside = Vec::new();
        let queued = self.queued(team);
        let judged = judge_with(team, &held, sigs, docs, &queued, &mut aside);
        self.aside
            .extend(aside.into_iter().map(|a| (team.clone(), peer, a)));
        let key = (team.clone(), peer);
        let mut signed = Vec::new();
        for (change, verdict) in held.into_iter().zip(judged.verdicts) {
            match verdict {
                Verdict::Signed => {
                    if let Some(ps) = self.peers.get_mut(&key) {
                        ps.accepted(&change.hash());
                    }
                    signed.push(change);
                }
                Verdict::Refused(why) => {
                    if let (Some(t), Some(ps)) =
                        (self.teams.get_mut(team), self.peers.get_mut(&key))
                    {
                        refuse(&mut t.refused, ps, team, peer, Some(&change), why);
                    }
                }
                Verdict::Wait => {
                    if let Some(ps) = self.peers.get_mut(&key) {
                        ps.ask_resend();
                    }
                    if let Some(t) = self.teams.get_mut(team) {
                        t.rounds.insert(peer);
                    }
                }
            }
        }
        if signed.is_empty() {
            return;
        }
        record(team, &signed, &judged.verified, docs);
        match docs.apply_changes(team, signed.clone()) {
            Ok(()) => {
                docs.merged(team);
                self.changed.insert(team.clone());
                if let (Some(t), Some(doc)) = (self.teams.get_mut(team), docs.doc(team)) {
                    t.unsaved = Unsaved::Unknown;
                    t.rounds.insert(peer);
                    note_queued(&mut t.queued, doc, &signed);
                }
            }
            Err(e) => self.drop_bad_peer(&key, &BadFrame::ChangeRefused(Box::new(e))),
        }
    }

    /// Signs a change this device just made, and keeps the signature as its actor's
    /// latest.
    fn sign_local(
        &mut self,
        team: &TeamId,
        bytes: &[u8],
        docs: &mut impl Docs,
    ) -> Option<ChangeSig> {
        let key = self.key.as_ref()?;
        let change = Change::try_from(bytes).ok()?;
        let sig = ChangeSig::sign(key, change.hash());
        docs.signatures(team)?.record(&change, sig);
        Some(sig)
    }

    /// The signatures to send with `changes`: each change's own where this device holds
    /// it (kept from when it arrived, or made now for this device's own actors), and
    /// otherwise the one of its actor's latest change among them, which vouches for the
    /// earlier ones.
    fn signatures_for(
        &mut self,
        team: &TeamId,
        changes: &[Vec<u8>],
        docs: &mut impl Docs,
    ) -> Vec<ChangeSig> {
        let me = self.key.as_ref().map(|k| DeviceId::from(k.public()));
        let mut mine: HashMap<ActorId, bool> = HashMap::new();
        let mut out = Vec::with_capacity(changes.len());
        let mut latest: HashMap<ActorId, (u64, Change)> = HashMap::new();
        for bytes in changes {
            let Ok(change) = Change::try_from(bytes.as_slice()) else {
                continue;
            };
            let actor = change.actor_id().clone();
            if let Some(sig) = docs
                .signatures(team)
                .and_then(|s| s.get(&actor, &change.hash()))
            {
                out.push(sig);
                continue;
            }
            let is_mine = *mine.entry(actor.clone()).or_insert_with(|| {
                me.is_some_and(|me| docs.signer(team, &actor) == Signer::Member(me))
            });
            if let (true, Some(key)) = (is_mine, &self.key) {
                let sig = ChangeSig::sign(key, change.hash());
                if let Some(table) = docs.signatures(team) {
                    table.record(&change, sig);
                }
                out.push(sig);
                continue;
            }
            let seq = change.seq();
            if latest.get(&actor).is_none_or(|(known, _)| *known < seq) {
                latest.insert(actor, (seq, change));
            }
        }
        // No signature of their own: vouched for by their actor's latest, if we hold it.
        for (actor, (_, change)) in latest {
            if let Some(sig) = docs
                .signatures(team)
                .and_then(|s| s.get(&actor, &change.hash()))
            {
                out.push(sig);
            }
        }
        out
    }

    /// Garbage from a member's device: drop that connection, loudly.
    fn drop_bad_peer(&mut self, key: &(TeamId, DeviceId), error: &BadFrame) {
        tracing::warn!(peer = %key.1.short(), %error, "unusable frame; closing");
        if let Some(ps) = self.peers.get_mut(key) {
            ps.sessions.clear();
        }
        self.effects.push_back(Effect::ClosePeer {
            peer: key.1,
            reason: error.to_string(),
        });
    }

    /// Applies the pushed changes received so far, a team at a time, and judges the heads
    /// peers announced against the result. New changes are relayed to the other peers
    /// once durable; a peer whose changes lack dependencies, or whose heads we do not
    /// know, is answered with a protocol round to fetch the rest.
    fn take_arrivals(&mut self, now_ms: i64, docs: &mut impl Docs) {
        if self.arrivals.is_empty() {
            return;
        }
        let Arrivals { changes, heads } = std::mem::take(&mut self.arrivals);
        for (team, arrived) in changes {
            self.apply_arrived(&team, arrived, docs);
        }
        let mut lacking = BTreeSet::new();
        for (key, heads) in heads {
            let Some(doc) = docs.doc(&key.0) else {
                continue;
            };
            let Some(ps) = self.peers.get_mut(&key) else {
                continue;
            };
            // Heads we do not hold mean the peer has something for us.
            if !holds_all(doc, &heads) {
                lacking.insert(key.0.clone());
            }
            ps.told(doc, heads);
        }
        for team in lacking {
            self.fetch_next(now_ms, &team, docs);
        }
    }

    fn apply_arrived(
        &mut self,
        team: &TeamId,
        arrived: Vec<(DeviceId, Change, Vec<ChangeSig>)>,
        docs: &mut impl Docs,
    ) {
        if self.team(team, docs).is_none() {
            return;
        }
        let Some(doc) = docs.doc(team) else {
            return;
        };
        // Only what is new here: a change can arrive from several peers.
        let hashes: Vec<ChangeHash> = arrived.iter().map(|(_, c, _)| c.hash()).collect();
        let unknown: HashSet<ChangeHash> = doc.get_missing_deps(&hashes).into_iter().collect();
        let mut taken = HashSet::new();
        let mut fresh: Vec<(DeviceId, Change)> = Vec::new();
        let queued = self.queued(team);
        let mut sigs: HashMap<ChangeHash, ChangeSig> = HashMap::new();
        for (peer, change, sent) in arrived {
            if !unknown.contains(&change.hash()) || taken.contains(&change.hash()) {
                continue;
            }
            // Each push is judged alone, with its own signature.
            let mut aside = Vec::new();
            let judged = judge_with(
                team,
                std::slice::from_ref(&change),
                &sent,
                docs,
                &queued,
                &mut aside,
            );
            self.aside
                .extend(aside.into_iter().map(|a| (team.clone(), peer, a)));
            let key = (team.clone(), peer);
            match judged.verdicts.into_iter().next() {
                Some(Verdict::Signed) => {
                    if let Some(sig) = judged.verified.first() {
                        sigs.insert(change.hash(), *sig);
                    }
                    if let Some(ps) = self.peers.get_mut(&key) {
                        ps.accepted(&change.hash());
                    }
                    taken.insert(change.hash());
                    fresh.push((peer, change));
                }
                Some(Verdict::Refused(why)) => {
                    if let (Some(t), Some(ps)) =
                        (self.teams.get_mut(team), self.peers.get_mut(&key))
                    {
                        refuse(&mut t.refused, ps, team, peer, Some(&change), why);
                    }
                }
                // Its device arrives with what it depends on: a round with the peer.
                Some(Verdict::Wait) | None => {
                    if let Some(t) = self.teams.get_mut(team) {
                        t.rounds.insert(peer);
                    }
                }
            }
        }
        // Each push was judged alone: two versions of one change may have come in one
        // batch (see `versions`). The one every device keeps goes on; the other is refused.
        let mut first: HashMap<(ActorId, u64), ChangeHash> = HashMap::new();
        for (_, change) in &fresh {
            let key = (change.actor_id().clone(), change.seq());
            let kept = first
                .get(&key)
                .map_or(change.hash(), |h| versions::kept(*h, change.hash()));
            first.insert(key, kept);
        }
        let (fresh, lost): (Vec<_>, Vec<_>) = fresh
            .into_iter()
            .partition(|(_, c)| first.get(&(c.actor_id().clone(), c.seq())) == Some(&c.hash()));
        for (peer, change) in lost {
            let kept = first
                .get(&(change.actor_id().clone(), change.seq()))
                .copied()
                .unwrap_or(change.hash());
            let why = two_versions_of(&change, &kept);
            if let (Some(t), Some(ps)) = (
                self.teams.get_mut(team),
                self.peers.get_mut(&(team.clone(), peer)),
            ) {
                refuse(&mut t.refused, ps, team, peer, Some(&change), why);
            }
        }
        if fresh.is_empty() {
            return;
        }
        let arriving: Vec<Change> = fresh.iter().map(|(_, c)| c.clone()).collect();
        docs.arriving(team, &arriving);
        if let Some(table) = docs.signatures(team) {
            for (_, change) in &fresh {
                if let Some(sig) = sigs.get(&change.hash()) {
                    table.record(change, *sig);
                }
            }
        }
        let Some(doc) = docs.doc(team) else {
            return;
        };
        let before = doc.get_heads();
        let mut refused: Vec<(DeviceId, BadFrame)> = Vec::new();
        if docs.apply_changes(team, arriving).is_err() {
            // Automerge checks the whole batch before applying any of it: find the change
            // it refused, and the peer that sent it.
            for (peer, change) in &fresh {
                if let Err(e) = docs.apply_changes(team, vec![change.clone()]) {
                    refused.push((*peer, BadFrame::ChangeRefused(Box::new(e))));
                }
            }
        }
        let Some(doc) = docs.doc(team) else {
            return;
        };
        if doc.get_heads() != before {
            self.changed.insert(team.clone());
        }
        // A change that overtook one it depends on waits in Automerge's queue; a protocol
        // round with whoever sent it fetches the rest. Relaying waits for a batch that
        // applied whole.
        let waiting = fresh
            .iter()
            .any(|(_, c)| doc.get_change_meta_by_hash(&c.hash()).is_none());
        let Some(t) = self.teams.get_mut(team) else {
            return;
        };
        let handed: Vec<Change> = fresh.iter().map(|(_, c)| c.clone()).collect();
        note_queued(&mut t.queued, doc, &handed);
        if waiting || !refused.is_empty() {
            t.unsaved = Unsaved::Unknown;
        } else if let Unsaved::Known(list) = &mut t.unsaved {
            list.extend(fresh.iter().map(|(_, c)| c.clone()));
        }
        for (peer, change) in fresh {
            if refused.iter().any(|(p, _)| *p == peer) {
                continue;
            }
            if waiting {
                t.rounds.insert(peer);
                if let Some(ps) = self.peers.get_mut(&(team.clone(), peer)) {
                    ps.ask_resend();
                }
            } else {
                if let Some(ps) = self.peers.get_mut(&(team.clone(), peer)) {
                    ps.progressed = true;
                }
                t.pushes.push(Push {
                    from: Some(peer),
                    bytes: change.raw_bytes().to_vec(),
                    sig: sigs.get(&change.hash()).copied(),
                });
            }
        }
        for (peer, error) in refused {
            self.drop_bad_peer(&(team.clone(), peer), &error);
        }
    }

    /// Starts a protocol round with one peer that announced heads we lack, unless a round
    /// started that way with another peer is still unanswered. When many peers reconnect
    /// at once (a team back from an offsite), each of them announces new heads after every
    /// merge; answering every announcement at once has every peer send us everything we
    /// lack, so that each change arrives many times over. One fetch at a time, judged
    /// again after each answer, asks each peer only for what is still missing.
    fn fetch_next(&mut self, now_ms: i64, team: &TeamId, docs: &mut impl Docs) {
        let Some(t) = self.teams.get_mut(team) else {
            return;
        };
        if let Some((peer, since)) = t.fetching
            && now_ms - since < FETCH_WAIT_MS
            && self
                .peers
                .get(&(team.clone(), peer))
                .is_some_and(|ps| !ps.sessions.is_empty())
        {
            return;
        }
        // A fetch that went unanswered moves on: the next peer (in order) that announced
        // heads we lack is asked, the silent one again only when no other has them.
        let after = t.fetching.take().map(|(peer, _)| peer);
        let Some(doc) = docs.doc(team) else {
            return;
        };
        let candidates: Vec<DeviceId> = self
            .peers
            .iter()
            .filter(|((t, _), ps)| {
                t == team
                    && !ps.sessions.is_empty()
                    && ps
                        .peer_heads
                        .as_ref()
                        .is_some_and(|heads| !holds_all(doc, heads))
            })
            .map(|((_, peer), _)| *peer)
            .collect();
        let chosen = match after {
            Some(silent) => candidates
                .iter()
                .find(|p| **p > silent)
                .or_else(|| candidates.first())
                .copied(),
            None => candidates.first().copied(),
        };
        let Some(t) = self.teams.get_mut(team) else {
            return;
        };
        let next = chosen.and_then(|peer| {
            self.peers
                .get_mut(&(team.clone(), peer))
                .map(|ps| (peer, ps))
        });
        if let Some((peer, ps)) = next {
            // Make sure our next sync message goes out, so they answer it with what we
            // lack.
            ps.state.last_sent_heads.clear();
            // Asking the same peer for the same heads again: its answer never arrived,
            // or arrived without what we lack because it believes it sent that already
            // (a frame lost, changes undone here). Then it is asked to send it again.
            let heads = ps.peer_heads.clone().unwrap_or_default();
            if t.asked.as_ref() == Some(&(peer, heads.clone())) {
                ps.ask_resend();
            }
            t.asked = Some((peer, heads));
            t.rounds.insert(peer);
            t.fetching = Some((peer, now_ms));
        }
    }

    /// After a batch: what changed is persisted first; every team that is durable tells
    /// its peers (pushes, heads, protocol rounds); changed teams are published.
    fn settle(&mut self, now_ms: i64, docs: &mut impl Docs) {
        let changed = std::mem::take(&mut self.changed);
        for team in &changed {
            if let Some(t) = self.team(team, docs) {
                t.announce = true;
            }
            self.persist(team);
        }
        let teams: Vec<TeamId> = self.teams.keys().cloned().collect();
        for team in &teams {
            self.flush(now_ms, team, docs);
        }
        for team in changed.iter().cloned() {
            self.effects.push_back(Effect::Publish { team });
        }
        if !changed.is_empty() || std::mem::take(&mut self.status_changed) {
            self.effects.push_back(Effect::StatusChanged);
        }
    }

    /// Asks for the team's new changes to be made durable, unless that is under way.
    fn persist(&mut self, team: &TeamId) {
        let Some(t) = self.teams.get_mut(team) else {
            return;
        };
        if t.persisting {
            return;
        }
        t.persisting = true;
        let changes = match std::mem::take(&mut t.unsaved) {
            Unsaved::Known(list) => Some(list),
            Unsaved::Unknown => None,
        };
        self.effects.push_back(Effect::Persist {
            team: team.clone(),
            changes,
        });
    }

    fn persisted(
        &mut self,
        now_ms: i64,
        team: TeamId,
        heads: Option<Vec<ChangeHash>>,
        docs: &mut impl Docs,
    ) {
        let Some(t) = self.teams.get_mut(&team) else {
            return;
        };
        t.persisting = false;
        match heads {
            Some(heads) => {
                t.durable = heads;
                self.flush(now_ms, &team, docs);
                // Rounds sent now come after this batch's status check.
                if std::mem::take(&mut self.status_changed) {
                    self.effects.push_back(Effect::StatusChanged);
                }
            }
            None => {
                // The changes stay in memory and unannounced (the runtime logged why);
                // every tick tries again. Pushes waiting meanwhile are bounded: past
                // the bound, a protocol round with each peer brings them up to date.
                t.unsaved = Unsaved::Unknown;
                if t.pushes.len() > MAX_WAITING_PUSHES {
                    t.pushes.clear();
                    let peers: Vec<DeviceId> = self
                        .peers
                        .keys()
                        .filter(|(t, _)| *t == team)
                        .map(|(_, p)| *p)
                        .collect();
                    if let Some(t) = self.teams.get_mut(&team) {
                        t.rounds.extend(peers);
                    }
                }
            }
        }
    }

    /// Sends what waits for a team, if everything its document holds is durable.
    fn flush(&mut self, now_ms: i64, team: &TeamId, docs: &mut impl Docs) {
        let Some(doc) = docs.doc(team) else {
            return;
        };
        let heads = doc.get_heads();
        let Some(t) = self.teams.get_mut(team) else {
            return;
        };
        if t.durable != heads {
            return;
        }
        let pushes = std::mem::take(&mut t.pushes);
        let announce = std::mem::take(&mut t.announce) || !pushes.is_empty();
        if announce {
            // Live changes go out as they are, and everyone hears our new heads; the sync
            // protocol runs only where a peer asked (a sync message), just connected, or
            // is known to lack something.
            let encoded = encode_heads(&heads);
            let keys: Vec<DeviceId> = self
                .peers
                .keys()
                .filter(|(t, _)| t == team)
                .map(|(_, p)| *p)
                .collect();
            for peer in keys {
                for push in &pushes {
                    if push.from != Some(peer) {
                        let envelope = Envelope {
                            sigs: push.sig.into_iter().collect(),
                            body: push.bytes.clone(),
                        };
                        self.send(team, peer, Wire::Changes(envelope.encode()), Some(&heads));
                    }
                }
                self.send(team, peer, Wire::Heads(encoded.clone()), None);
            }
        }
        if let Some(t) = self.teams.get_mut(team)
            && std::mem::take(&mut t.refetch)
        {
            self.fetch_next(now_ms, team, docs);
        }
        let rounds = self
            .teams
            .get_mut(team)
            .map(|t| std::mem::take(&mut t.rounds))
            .unwrap_or_default();
        for peer in &rounds {
            self.send_sync(team, *peer, docs);
        }
        if !rounds.is_empty() {
            self.status_changed = true;
        }
    }

    /// Queues one frame on a peer's live session. `told` records that the peer now has
    /// our current heads (after a push), so the protocol does not send them again.
    fn send(&mut self, team: &TeamId, peer: DeviceId, wire: Wire, told: Option<&[ChangeHash]>) {
        let Some(ps) = self.peers.get_mut(&(team.clone(), peer)) else {
            return;
        };
        let Some(session) = ps.current() else {
            return;
        };
        if let Some(heads) = told {
            ps.told_heads = heads.to_vec();
        }
        self.effects.push_back(Effect::Send {
            team: team.clone(),
            peer,
            session,
            wire,
        });
    }

    fn send_sync(&mut self, team: &TeamId, peer: DeviceId, docs: &mut impl Docs) {
        let Some(message) = self.sync_message(team, peer, docs) else {
            return;
        };
        let Some(session) = self
            .peers
            .get(&(team.clone(), peer))
            .and_then(PeerSync::current)
        else {
            return;
        };
        // A chunk may hold several changes back to back.
        let joined: Vec<u8> = message.changes.iter().flatten().copied().collect();
        let changes: Vec<Vec<u8>> = screen::change_chunks(&joined)
            .map(|chunks| chunks.into_iter().map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        let sigs = self.signatures_for(team, &changes, docs);
        let envelope = Envelope {
            sigs,
            body: message.encode(),
        };
        self.effects.push_back(Effect::Send {
            team: team.clone(),
            peer,
            session,
            wire: Wire::Sync(envelope.encode()),
        });
    }

    /// The next protocol message for a peer, if there is one to send.
    fn sync_message(
        &mut self,
        team: &TeamId,
        peer: DeviceId,
        docs: &mut impl Docs,
    ) -> Option<sync::Message> {
        let doc = docs.doc(team)?;
        let ps = self.peers.get_mut(&(team.clone(), peer))?;
        ps.current()?;
        // Automerge skips a reply when a message it received carried heads equal to ours,
        // assuming every message gets answered before the next arrives. We answer a batch
        // at a time, so we track what we really told this peer: whenever our heads moved
        // since, it hears them.
        let heads = doc.get_heads();
        if ps.told_heads != heads {
            ps.state.last_sent_heads = Vec::new();
        }
        let generated = doc.sync().generate_sync_message(&mut ps.state);
        if let Some(mut message) = generated {
            // Automerge sends a whole document to a peer that lacks more than a third of
            // it; peers take only changes (they screen each one), so send the changes it
            // lacks: everything after the heads it told us that we hold.
            if message
                .changes
                .iter()
                .any(|c| screen::change_chunks(c) == Err(ChunkError::Document))
            {
                let theirs: Vec<ChangeHash> = ps
                    .state
                    .their_heads
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|h| doc.get_change_meta_by_hash(h).is_some())
                    .collect();
                let lacking: Vec<Vec<u8>> = doc
                    .get_changes(&theirs)
                    .iter()
                    .map(|c| c.raw_bytes().to_vec())
                    .collect();
                message.changes = sync::ChunkList::from(lacking);
            }
            tracing::trace!(peer = %peer.short(), heads = ?message.heads, "send sync");
            ps.told_heads = message.heads.clone();
            return Some(message);
        }
        None
    }

    /// Every tick: save sync states now and then, retry failed persists, run
    /// anti-entropy, and fetch what peers announced and we still lack.
    fn tick(&mut self, now_ms: i64, busy: &BTreeSet<SessionId>, docs: &mut impl Docs) {
        self.ticks += 1;
        if self.ticks.is_multiple_of(SAVE_STATES_EVERY_TICKS) {
            self.save_states();
        }
        let teams: Vec<TeamId> = self.teams.keys().cloned().collect();
        for team in &teams {
            let durable = match (docs.doc(team), self.teams.get(team)) {
                (Some(doc), Some(t)) => t.persisting || doc.get_heads() == t.durable,
                _ => true,
            };
            if !durable {
                self.persist(team);
            }
        }
        self.anti_entropy(busy, docs);
        self.liveness(busy, docs);
        // A peer's heads we still lack (its answer lost, or it went away while we
        // fetched): ask again, one peer at a time.
        let teams: BTreeSet<TeamId> = self.peers.keys().map(|(team, _)| team.clone()).collect();
        for team in teams {
            self.fetch_next(now_ms, &team, docs);
        }
    }

    /// The (team, peer) pairs with a live session.
    fn connected(&self) -> Vec<(TeamId, DeviceId)> {
        self.peers
            .iter()
            .filter(|(_, ps)| !ps.sessions.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// A protocol round with each connected peer that is known to lack some of our
    /// changes (a dropped push, a change that came from a third device). A change pushed
    /// moments ago is given time to be confirmed ([`LAGGING_TICKS`]), and nothing is
    /// started while frames to the peer still wait to be written: a protocol round costs
    /// the peer time in proportion to the whole history, so it is not spent on pushes in
    /// flight.
    fn anti_entropy(&mut self, busy: &BTreeSet<SessionId>, docs: &mut impl Docs) {
        for key in self.connected() {
            let Some(doc) = docs.doc(&key.0) else {
                continue;
            };
            let Some(ps) = self.peers.get_mut(&key) else {
                continue;
            };
            let heads = doc.get_heads();
            let previous = std::mem::replace(&mut ps.tick_heads, heads);
            // While frames still wait to be written, the peer has not had them: a round
            // now would only add to its backlog.
            if ps.current().is_some_and(|s| busy.contains(&s)) {
                continue;
            }
            let round = if std::mem::take(&mut ps.overflowed) {
                ps.lagging = 0;
                true
            } else if !peer_has_all(doc, ps) && peer_lacks(doc, ps, &previous) {
                ps.lagging += 1;
                let due = ps.lagging >= LAGGING_TICKS;
                if due {
                    ps.lagging = 0;
                    // Still behind after a round of its own: what it lacks was lost on the
                    // way, and Automerge would not send it twice; this round sends it again.
                    if ps.lag_rounds > 0 {
                        ps.resend_all();
                    }
                    ps.lag_rounds += 1;
                }
                due
            } else {
                ps.lagging = 0;
                ps.lag_rounds = 0;
                false
            };
            if round && let Some(t) = self.teams.get_mut(&key.0) {
                t.rounds.insert(key.1);
            }
        }
    }

    /// The liveness rule: a connected peer whose heads differ from ours makes progress
    /// within [`STALL_TICKS`] ticks (doubled after each reset that did not help), or its
    /// sync state is reset and the protocol starts again. Everything else in this
    /// machine is meant to leave no state in which two connected devices wait for each
    /// other for good; this rule is what holds if something does, logged once per reset
    /// with the peer and both sides' heads.
    fn liveness(&mut self, busy: &BTreeSet<SessionId>, docs: &mut impl Docs) {
        for key in self.connected() {
            let Some(doc) = docs.doc(&key.0) else {
                continue;
            };
            // Our changes waiting for the disk hold every frame back (`flush`): not the
            // peer's fault.
            let heads = doc.get_heads();
            let held_back = self
                .teams
                .get(&key.0)
                .is_none_or(|t| t.persisting || t.durable != heads);
            let Some(ps) = self.peers.get_mut(&key) else {
                continue;
            };
            let progressed = std::mem::take(&mut ps.progressed);
            let heard = std::mem::take(&mut ps.heard);
            let in_sync = ps
                .peer_heads
                .as_ref()
                .is_some_and(|theirs| holds_all(doc, theirs))
                && peer_has_all(doc, ps);
            if in_sync || progressed {
                ps.stalled_ticks = 0;
                ps.resets = 0;
                continue;
            }
            // Frames to the peer still waiting to be written (a long catch-up on its way)
            // excuse a tick, unless the peer kept talking meanwhile: then the pair is
            // exchanging messages that change nothing.
            let sending = ps.current().is_some_and(|s| busy.contains(&s));
            if held_back || (sending && !heard) {
                continue;
            }
            ps.stalled_ticks += 1;
            if ps.stalled_ticks < ps.stall_limit() {
                continue;
            }
            tracing::warn!(
                peer = %key.1.short(),
                team = %key.0,
                ours = ?heads,
                theirs = ?ps.peer_heads,
                ticks = ps.stalled_ticks,
                "no sync progress with a peer; starting its sync afresh"
            );
            ps.stalled_ticks = 0;
            ps.resets += 1;
            ps.reset();
            self.resets += 1;
            if let Some(t) = self.teams.get_mut(&key.0) {
                t.rounds.insert(key.1);
            }
            self.status_changed = true;
        }
    }

    /// The document was read again from disk: what it held beyond that is gone, so every
    /// peer of the team starts from nothing, and the pushes of lost changes are dropped.
    fn reloaded(&mut self, team: TeamId, docs: &mut impl Docs) {
        let mut rounds = BTreeSet::new();
        for ((t, peer), ps) in &mut self.peers {
            if *t == team {
                ps.state.shared_heads.clear();
                ps.resend_all();
                ps.ask_resend();
                ps.told_heads = Vec::new();
                ps.peer_heads = None;
                if !ps.sessions.is_empty() {
                    rounds.insert(*peer);
                }
            }
        }
        let Some(doc) = docs.doc(&team) else {
            // It could not even be read again: forget it, and meet it afresh when it
            // is back (every peer of it starts from nothing, as above).
            self.teams.remove(&team);
            return;
        };
        let heads = doc.get_heads();
        // Pushes of changes the document still holds (a local change saved before the
        // failure) still go out; those of changes it lost do not.
        let kept: Vec<Push> = self
            .teams
            .get_mut(&team)
            .map(|t| std::mem::take(&mut t.pushes))
            .unwrap_or_default()
            .into_iter()
            .filter(|push| {
                Change::try_from(push.bytes.as_slice())
                    .is_ok_and(|c| doc.get_change_by_hash(&c.hash()).is_some())
            })
            .collect();
        let t = self
            .teams
            .entry(team)
            .or_insert_with(|| TeamSync::new(heads.clone()));
        t.durable = heads;
        t.unsaved = Unsaved::default();
        t.pushes = kept;
        t.queued.clear();
        // A version refused because another was held: that one may be gone with what the
        // document lost, and then this one is the version there is (see `versions`).
        // What was refused for depending on it is judged again when it comes.
        t.refused.retain(|_, r| {
            !matches!(
                r.why,
                Refusal::TwoVersions { .. }
                    | Refusal::TwoVersionsHeld { .. }
                    | Refusal::DependsOnRefused(_)
            )
        });
        t.rounds.extend(rounds);
    }

    fn save_states(&mut self) {
        for ((team, peer), ps) in &self.peers {
            self.effects.push_back(Effect::SaveState {
                team: team.clone(),
                peer: *peer,
                state: ps.state.encode(),
            });
        }
    }
}

/// A received sync message with only the changes that pass [`screen::screen`] and whose
/// device signed them ([`signed`]): the others are refused (once, logged, shown in the
/// peer's status), and the peer's heads read past them. Changes whose device is not known
/// yet are returned apart, to be judged once the rest is applied. A whole document is
/// refused and the rest of the message taken; bytes that are not plain change chunks make
/// the frame bad (Automerge would apply the chunks before junk, unscreened, and inflate
/// compressed ones without a bound).
#[allow(clippy::too_many_arguments)]
fn screen_message(
    mut m: sync::Message,
    sigs: &[ChangeSig],
    limits: Limits,
    refused: &mut HashMap<ChangeHash, Refused>,
    ps: &mut PeerSync,
    team: &TeamId,
    peer: DeviceId,
    docs: &mut impl Docs,
    queued: &HashMap<(ActorId, u64), Change>,
    aside: &mut Vec<Aside>,
    handed: &mut Vec<Change>,
) -> Result<(sync::Message, Vec<Change>), BadFrame> {
    let mut waiting = Vec::new();
    if !m.changes.is_empty() {
        let joined: Vec<u8> = m.changes.iter().flatten().copied().collect();
        match screen::change_chunks(&joined) {
            Err(ChunkError::Document) => {
                refuse(refused, ps, team, peer, None, Refusal::Document);
                m.changes = sync::ChunkList::empty();
            }
            Err(ChunkError::NotChunks | ChunkError::OtherChunk) => {
                return Err(BadFrame::NotChangeChunks);
            }
            Ok(chunks) => {
                let mut within: Vec<Change> = Vec::with_capacity(chunks.len());
                for chunk in chunks {
                    // A chunk Automerge cannot read makes the frame bad.
                    let change = Change::try_from(chunk).map_err(BadFrame::Change)?;
                    match screen::screen(&change, limits, refused)
                        .and_then(|()| screen::not_after(&change, &ps.refused_from))
                    {
                        Ok(()) => within.push(change),
                        Err(why) => refuse(refused, ps, team, peer, Some(&change), why),
                    }
                }
                let judged = judge_with(team, &within, sigs, docs, queued, aside);
                handed.extend(
                    within
                        .iter()
                        .zip(&judged.verdicts)
                        .filter(|(_, v)| **v == Verdict::Signed)
                        .map(|(c, _)| c.clone()),
                );
                let mut kept: Vec<Vec<u8>> = Vec::with_capacity(within.len());
                let mut signed: Vec<Change> = Vec::with_capacity(within.len());
                for (change, verdict) in within.into_iter().zip(judged.verdicts) {
                    match verdict {
                        Verdict::Signed => {
                            ps.accepted(&change.hash());
                            kept.push(change.raw_bytes().to_vec());
                            signed.push(change);
                        }
                        Verdict::Wait => waiting.push(change),
                        Verdict::Refused(why) => {
                            refuse(refused, ps, team, peer, Some(&change), why)
                        }
                    }
                }
                record(team, &signed, &judged.verified, docs);
                m.changes = sync::ChunkList::from(kept);
            }
        }
    }
    m.heads = screen::without_refused(&m.heads, refused);
    m.heads = screen::without_refused(&m.heads, &ps.refused_from);
    Ok((m, waiting))
}

/// [`signed::judge`] against a team's document: who signs for each actor, and which
/// changes it already holds. A change the document holds already counts as signed (it
/// was judged when it first came; sent again, it changes nothing).
fn judge_with(
    team: &TeamId,
    changes: &[Change],
    sigs: &[ChangeSig],
    docs: &mut impl Docs,
    queued: &HashMap<(ActorId, u64), Change>,
    aside: &mut Vec<Aside>,
) -> signed::Judged {
    let mut held: HashSet<ChangeHash> = HashSet::new();
    if let Some(doc) = docs.doc(team) {
        for hash in changes
            .iter()
            .flat_map(|c| c.deps().iter().copied().chain([c.hash()]))
        {
            if doc.get_change_meta_by_hash(&hash).is_some() {
                held.insert(hash);
            }
        }
    }
    let new: Vec<Change> = changes
        .iter()
        .filter(|c| !held.contains(&c.hash()))
        .cloned()
        .collect();
    let mut signers: HashMap<ActorId, Signer> = HashMap::new();
    for c in &new {
        if !signers.contains_key(c.actor_id()) {
            let signer = docs.signer(team, c.actor_id());
            signers.insert(c.actor_id().clone(), signer);
        }
    }
    let judged = signed::judge(
        &new,
        sigs,
        |actor| signers.get(actor).copied().unwrap_or(Signer::Unknown),
        |hash| held.contains(hash),
    );
    // Signed by a member's device: then what each does to the document.
    let signed: Vec<&Change> = new
        .iter()
        .zip(&judged.verdicts)
        .filter(|(_, v)| **v == Verdict::Signed)
        .map(|(c, _)| c)
        .collect();
    let mut guarded = docs.guard(team, &signed).into_iter();
    let mut verdicts = judged.verdicts.into_iter().map(|v| match v {
        Verdict::Signed => match guarded.next() {
            Some(Err(why)) => Verdict::Refused(why),
            _ => Verdict::Signed,
        },
        other => other,
    });
    let mut verdicts: Vec<Verdict> = changes
        .iter()
        .map(|c| match held.contains(&c.hash()) {
            true => Verdict::Signed,
            false => verdicts.next().unwrap_or(Verdict::Wait),
        })
        .collect();
    two_versions(
        team,
        changes,
        sigs,
        &held,
        &mut verdicts,
        docs,
        queued,
        aside,
    );
    signed::Judged {
        verdicts,
        verified: judged.verified,
    }
}

/// `heads` read past the changes refused for everyone (`team`) or from one peer
/// (`peer`): a refused change stands for what it depends on.
fn past_refused(
    heads: &[ChangeHash],
    team: &HashMap<ChangeHash, Refused>,
    peer: &HashMap<ChangeHash, Refused>,
) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    loop {
        let next = screen::without_refused(&screen::without_refused(&heads, team), peer);
        if next == heads {
            return heads;
        }
        heads = next;
    }
}

/// Keeps track of the changes handed to Automerge that wait in its queue: `handed` now,
/// less those applied since.
fn note_queued(
    queued: &mut HashMap<(ActorId, u64), Change>,
    doc: &mut AutoCommit,
    handed: &[Change],
) {
    queued.retain(|_, c| doc.get_change_meta_by_hash(&c.hash()).is_none());
    for c in handed {
        if doc.get_change_meta_by_hash(&c.hash()).is_none() {
            queued.insert((c.actor_id().clone(), c.seq()), c.clone());
        }
    }
}

/// Whether the version held here (or waiting here) of a change stays, and `newcomer`,
/// signed by its device, is refused: where the held one is the one every device keeps,
/// or where this document cannot set changes aside. A held version whose own signature
/// is not its device's (only a modified app keeps one: its own forgery) never stays.
fn keeps_held(team: &TeamId, held: &Change, newcomer: &Change, docs: &mut impl Docs) -> bool {
    if !docs.can_set_aside(team) {
        return true;
    }
    let forged = match docs.signer(team, held.actor_id()) {
        Signer::Member(device) => docs
            .signatures(team)
            .and_then(|t| t.get(held.actor_id(), &held.hash()))
            .is_some_and(|sig| !sig.verify(&device)),
        _ => false,
    };
    !forged && versions::kept(held.hash(), newcomer.hash()) == held.hash()
}

/// Whether everything `change` depends on is applied here. A version that wins is taken
/// only then: setting the other aside for one that cannot apply yet (its dependencies
/// are with a device that never sends them) would leave this device apart from the
/// others, which keep the one they can.
fn ready(change: &Change, doc: Option<&mut AutoCommit>) -> bool {
    doc.is_some_and(|doc| {
        change
            .deps()
            .iter()
            .all(|d| doc.get_change_meta_by_hash(d).is_some())
    })
}

/// A version held here that lost to another version of the same change, found while
/// judging what a peer sent.
#[derive(Debug)]
struct Aside {
    /// The version held here (or waiting in Automerge's queue), to be set aside.
    loser: Change,
    /// The version every device keeps, as the peer sent it.
    winner: Change,
    /// The winner's own signature, if it came with one.
    sig: Option<ChangeSig>,
}

/// Why `lost` is refused: another version of it, `kept`, is the one every device keeps.
fn two_versions_of(lost: &Change, kept: &ChangeHash) -> Refusal {
    Refusal::TwoVersions {
        actor: versions::short_actor(lost.actor_id()),
        seq: lost.seq(),
        kept: screen::short(kept),
    }
}

/// Signed changes that are a second version of another (the same actor and sequence
/// number, another hash), in the batch or held here: every device keeps the one with the
/// smaller hash ([`versions`]). A newcomer that loses is refused. One that wins waits,
/// and the version held here goes into `aside`, to be set aside after this batch; where
/// the document cannot set changes aside, the one held is kept and the newcomer refused.
#[allow(clippy::too_many_arguments)]
fn two_versions(
    team: &TeamId,
    changes: &[Change],
    sigs: &[ChangeSig],
    held: &HashSet<ChangeHash>,
    verdicts: &mut [Verdict],
    docs: &mut impl Docs,
    queued: &HashMap<(ActorId, u64), Change>,
    aside: &mut Vec<Aside>,
) {
    let two = |lost: &Change, kept: &ChangeHash| Verdict::Refused(two_versions_of(lost, kept));
    let mut seen: HashMap<(ActorId, u64), usize> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        if verdicts[i] != Verdict::Signed || held.contains(&c.hash()) {
            continue;
        }
        let key = (c.actor_id().clone(), c.seq());
        if let Some(&j) = seen.get(&key)
            && changes[j].hash() != c.hash()
        {
            let (lost, won) = match versions::kept(changes[j].hash(), c.hash()) == c.hash() {
                true => (j, i),
                false => (i, j),
            };
            verdicts[lost] = two(&changes[lost], &changes[won].hash());
            seen.insert(key, won);
            continue;
        }
        seen.insert(key, i);
    }
    // A version waiting in Automerge's queue: the document is built again without the
    // queue.
    for (i, c) in changes.iter().enumerate() {
        let Some(other) = queued.get(&(c.actor_id().clone(), c.seq())) else {
            continue;
        };
        if verdicts[i] != Verdict::Signed || held.contains(&c.hash()) || other.hash() == c.hash() {
            continue;
        }
        // One that waits is not a version yet: its dependencies may never come. The
        // newcomer, if it can apply, goes in and the waiting one is dropped; if it comes
        // again once it can apply, the two are weighed then.
        if !ready(c, docs.doc(team)) || !docs.can_set_aside(team) {
            verdicts[i] = Verdict::Wait;
        } else {
            verdicts[i] = Verdict::Wait;
            aside.push(Aside {
                loser: other.clone(),
                winner: c.clone(),
                sig: sigs.iter().find(|s| s.hash == c.hash()).copied(),
            });
        }
    }
    // Cheap first: a document can hold another version only of a sequence number it has
    // reached. Then one pass over the change graph for those that may.
    let suspects: Vec<usize> = (0..changes.len())
        .filter(|&i| {
            let c = &changes[i];
            verdicts[i] == Verdict::Signed
                && !held.contains(&c.hash())
                && docs
                    .signatures(team)
                    .is_none_or(|table| table.may_hold(c.actor_id(), c.seq()))
        })
        .collect();
    if suspects.is_empty() {
        return;
    }
    let wanted: HashSet<(&ActorId, u64)> = suspects
        .iter()
        .map(|&i| (changes[i].actor_id(), changes[i].seq()))
        .collect();
    let Some(doc) = docs.doc(team) else {
        return;
    };
    let found = versions::held_at(doc, &wanted);
    for i in suspects {
        let c = &changes[i];
        let Some(&other) = found
            .get(&(c.actor_id().clone(), c.seq()))
            .filter(|h| **h != c.hash())
        else {
            continue;
        };
        let Some(held) = docs.doc(team).and_then(|d| d.get_change_by_hash(&other)) else {
            continue;
        };
        if keeps_held(team, &held, c, docs) {
            verdicts[i] = two(c, &other);
        } else if !ready(c, docs.doc(team)) {
            verdicts[i] = Verdict::Wait;
        } else {
            verdicts[i] = Verdict::Wait;
            aside.push(Aside {
                loser: held,
                winner: c.clone(),
                sig: sigs.iter().find(|s| s.hash == c.hash()).copied(),
            });
        }
    }
}

/// Keeps the signatures that vouched for changes now taken.
fn record(team: &TeamId, taken: &[Change], verified: &[ChangeSig], docs: &mut impl Docs) {
    docs.arriving(team, taken);
    let Some(table) = docs.signatures(team) else {
        return;
    };
    if verified.is_empty() {
        return;
    }
    let by_hash: HashMap<ChangeHash, &Change> = taken.iter().map(|c| (c.hash(), c)).collect();
    for sig in verified {
        if let Some(change) = by_hash.get(&sig.hash) {
            table.record(change, *sig);
        }
    }
}

/// Refuses a change (or a whole document) a peer sent: remembered so that it is refused
/// once and never fetched again, logged once, and listed in the peer's status.
fn refuse(
    refused: &mut HashMap<ChangeHash, Refused>,
    ps: &mut PeerSync,
    team: &TeamId,
    peer: DeviceId,
    change: Option<&Change>,
    why: Refusal,
) {
    let mut known = false;
    let mut why = why;
    // What only the sender is to blame for is refused from it alone.
    let from_sender = why.from_sender();
    if let Some(c) = change {
        let refused = if from_sender {
            &mut ps.refused_from
        } else {
            &mut *refused
        };
        match refused.get(&c.hash()) {
            // Refused before (perhaps from another peer): this peer's status says so too,
            // the log does not again.
            Some(before) => {
                known = true;
                why = before.why.clone();
            }
            None => {
                refused.insert(
                    c.hash(),
                    Refused {
                        why: why.clone(),
                        deps: c.deps().to_vec(),
                    },
                );
            }
        }
    }
    let shown = RefusedChange {
        change: change.map(|c| screen::short(&c.hash())),
        reason: why.to_string(),
    };
    if ps.refused.contains(&shown) {
        return;
    }
    ps.refused.push(shown.clone());
    if ps.refused.len() > REFUSED_SHOWN {
        ps.refused.remove(0);
    }
    if known {
        return;
    }
    tracing::warn!(
        peer = %peer.short(),
        %team,
        change = shown.change.as_deref().unwrap_or("-"),
        reason = %why,
        "refused what a peer sent, before applying it"
    );
}

/// Whether we hold every change in `heads` (applied, not waiting in Automerge's queue for a
/// dependency). A peer whose heads we hold has nothing for us, even while a change from
/// elsewhere waits for a dependency here: `get_missing_deps` would name that dependency
/// for any heads at all, and fetching it from a peer that never had it loops.
fn holds_all(doc: &mut AutoCommit, heads: &[ChangeHash]) -> bool {
    heads
        .iter()
        .all(|h| doc.get_change_meta_by_hash(h).is_some())
}

/// Whether a peer has every change we have: the heads it last told us cover all of ours,
/// or the sync protocol says so.
/// Whether the peer has every change of ours, or was sent in this session every one it
/// lacks: then answering it again sends nothing new (it refused them, as a peer whose
/// heads name changes refused here may, or they are on their way).
fn sent_all(doc: &mut AutoCommit, ps: &PeerSync) -> bool {
    if peer_has_all(doc, ps) {
        return true;
    }
    let Some(theirs) = ps.peer_heads.as_ref().or(ps.state.their_heads.as_ref()) else {
        return false;
    };
    let known: Vec<ChangeHash> = theirs
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    doc.get_changes(&known)
        .iter()
        .all(|c| ps.state.sent_hashes.contains(&c.hash()))
}

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

/// Heads as 32-byte hashes back to back, as [`Wire::Heads`] carries them.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// The heads of a [`Wire::Heads`] frame; an error for anything that is not a list of
/// whole hashes (at most 1,024 of them).
pub fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, BadFrame> {
    if !bytes.len().is_multiple_of(32) || bytes.len() > 32 * 1024 {
        return Err(BadFrame::Heads(bytes.len()));
    }
    bytes
        .chunks(32)
        .map(|c| ChangeHash::try_from(c).map_err(|_| BadFrame::Heads(bytes.len())))
        .collect()
}

/// Why a frame from a peer is unusable: the connection to it is closed (a member's device
/// that sends garbage is broken or hostile, and either way is not listened to).
#[derive(Debug, thiserror::Error)]
pub enum BadFrame {
    /// Not an Automerge sync message.
    #[error("unreadable sync message: {0}")]
    SyncMessage(#[source] sync::ReadMessageError),
    /// A sync message Automerge refused to apply.
    #[error("refused sync message: {0}")]
    SyncRefused(#[source] peercoach_core::automerge::AutomergeError),
    /// A push that is not one Automerge change.
    #[error("unreadable change: {0}")]
    Change(#[source] peercoach_core::automerge::LoadChangeError),
    /// A pushed change the document refused.
    #[error("refused change: {0}")]
    ChangeRefused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Not a list of whole heads.
    #[error("{0} bytes are no list of heads")]
    Heads(usize),
    /// Changes that are not plain Automerge change chunks (junk, or compressed chunks,
    /// which could not be screened before they are inflated).
    #[error("changes that are not plain Automerge change chunks")]
    NotChangeChunks,
    /// A payload without a readable list of signatures before it.
    #[error("no readable signatures before the payload")]
    Envelope,
}

#[cfg(test)]
mod tests;
