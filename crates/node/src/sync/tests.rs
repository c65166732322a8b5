//! The sync rules in simulated time: machines wired through an in-memory network that
//! drops, delays, duplicates and reorders frames, each with an in-memory "disk" that can
//! refuse writes. Every frame a machine sends is checked against its disk: a frame that
//! announces heads (or relays a change) not yet persisted fails the test.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use peercoach_core::automerge::transaction::Transactable;
use peercoach_core::automerge::{ActorId, AutoCommit, ROOT, ReadDoc};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::*;

/// The node's tick interval.
const TICK_MS: i64 = 2_000;
/// One-way latency of a frame on the simulated network.
const LATENCY_MS: i64 = 5;

fn team() -> TeamId {
    TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000a").expect("team id")
}

/// A node's documents, with the devices it knows as members' and its signatures, and
/// what it did when it set a version aside.
#[derive(Default)]
struct SimDocs(
    BTreeMap<TeamId, AutoCommit>,
    BTreeSet<DeviceId>,
    Signatures,
    Asides,
);

/// How a simulated node sets versions aside (as the engine does, on its memory only).
#[derive(Default)]
struct Asides {
    /// The node's device key.
    me: [u8; 32],
    /// Sessions taken so far for edits made again.
    sessions: u8,
    /// The actor it writes with since, until the world has saved the document anew.
    rebuilt: Option<ActorId>,
    /// What each setting aside did.
    reports: Vec<versions::Report>,
}

impl Docs for SimDocs {
    type Error = peercoach_core::automerge::AutomergeError;

    fn doc(&mut self, team: &TeamId) -> Option<&mut AutoCommit> {
        self.0.get_mut(team)
    }

    fn apply_changes(&mut self, team: &TeamId, changes: Vec<Change>) -> Result<(), Self::Error> {
        match self.0.get_mut(team) {
            Some(doc) => doc.apply_changes(changes),
            None => Ok(()),
        }
    }

    fn merged(&mut self, _: &TeamId) {}

    fn signer(&mut self, _: &TeamId, actor: &ActorId) -> Signer {
        match peercoach_core::device_key_of(actor)
            .and_then(|k| iroh_base::PublicKey::from_bytes(&k).ok())
            .map(DeviceId::from)
        {
            Some(device) if self.1.contains(&device) => Signer::Member(device),
            Some(device) => Signer::NotAMember(device),
            None => Signer::Unknown,
        }
    }

    fn signatures(&mut self, team: &TeamId) -> Option<&mut Signatures> {
        self.0.contains_key(team).then_some(&mut self.2)
    }

    fn can_set_aside(&self, team: &TeamId) -> bool {
        self.0.contains_key(team)
    }

    fn set_aside(
        &mut self,
        team: &TeamId,
        losers: &HashSet<ChangeHash>,
    ) -> Result<versions::Report, versions::SetAsideError> {
        let Some(doc) = self.0.get_mut(team) else {
            return Ok(versions::Report::default());
        };
        let me = self.3.me;
        self.3.sessions += 1;
        let actor = peercoach_core::session_actor(&me, [0xa5, 0, 0, 0, 0, 0, 0, self.3.sessions]);
        let left = versions::left_out(doc, losers)?;
        let built = versions::without(
            doc,
            &left,
            |a| peercoach_core::device_key_of(a) == Some(me),
            actor.clone(),
        )?;
        self.0.insert(team.clone(), built.doc);
        self.3.rebuilt = Some(actor);
        self.3.reports.push(built.report);
        Ok(built.report)
    }
}

/// Device `byte`'s secret key.
fn secret(byte: u8) -> iroh_base::SecretKey {
    iroh_base::SecretKey::from_bytes(&[byte; 32])
}

/// A machine for device `byte`, signing with its key.
fn machine(byte: u8, limits: Limits) -> SyncMachine {
    SyncMachine::with_limits(limits).with_key(secret(byte))
}

/// The body of a frame (what follows its signatures).
fn body(bytes: &[u8]) -> Vec<u8> {
    Envelope::decode(bytes).expect("our own envelope").body
}

/// What the network does wrong.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// Chance that a frame is lost without a trace.
    drop: f64,
    /// Chance that a frame arrives twice.
    duplicate: f64,
    /// Extra delay, up to this much, drawn per frame: frames overtake each other.
    jitter_ms: i64,
    /// Chance that a frame does not fit the session's budget (the sender is told).
    overflow: f64,
}

struct SimNode {
    id: DeviceId,
    /// Its key's byte (see [`secret`]).
    byte: u8,
    actor: ActorId,
    machine: SyncMachine,
    docs: SimDocs,
    /// The team's document as saved: what survives a restart.
    disk: Vec<u8>,
    /// The hashes of every change on disk.
    durable: HashSet<ChangeHash>,
    saved_states: BTreeMap<DeviceId, Vec<u8>>,
    /// Writes fail while set.
    disk_full: bool,
    /// Persists take this long (0: at once).
    persist_delay_ms: i64,
    /// Tick phase: the node ticks at `phase + k * TICK_MS`.
    phase_ms: i64,
    ticks: u64,
    /// The next this-many sends fail as if the session's budget were spent.
    overflow_next: u32,
    /// The next this-many frames sent are lost on the way.
    lose_next: u32,
}

impl SimNode {
    fn doc(&mut self) -> &mut AutoCommit {
        self.docs.0.get_mut(&team()).expect("the team's document")
    }

    /// Opens the team's document read from disk, as the engine does: without what waits
    /// in Automerge's queue, and the files written anew when something did.
    fn open(&mut self, doc: AutoCommit) {
        let (doc, flushed) = versions::without_waiting(doc);
        self.docs.0.insert(team(), doc);
        if flushed {
            self.disk = self.doc().save();
            self.durable = all_hashes(self.doc());
        }
    }
}

/// A frame on its way.
#[derive(Debug, Clone)]
struct Flight {
    at_ms: i64,
    from: usize,
    to: usize,
    /// The sender's session (to find whether it is still busy).
    from_session: SessionId,
    wire: Wire,
}

/// A sync stream between two nodes: each side has its own session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    a: usize,
    b: usize,
    session_a: SessionId,
    session_b: SessionId,
}

/// A frame that went out, for the tests to look at.
#[derive(Debug, Clone)]
struct Sent {
    at_ms: i64,
    from: usize,
    to: usize,
    wire: Wire,
}

struct World {
    now_ms: i64,
    nodes: Vec<SimNode>,
    links: Vec<Link>,
    flights: Vec<Flight>,
    /// Persists under way: (done at, node, bytes, heads).
    persisting: Vec<(i64, usize, Vec<u8>, Vec<ChangeHash>)>,
    faults: Faults,
    rng: StdRng,
    next_session: SessionId,
    sent: Vec<Sent>,
    violations: Vec<String>,
    /// The most ticks in a row any peer went without progress (after a tick).
    longest_stall: u32,
    /// Liveness resets by machines since replaced by a restart.
    resets_before: u64,
    /// Peers a machine asked to close, handled between steps.
    closing: Vec<(usize, DeviceId)>,
    edits: u64,
    /// A node running modified code, left out of convergence (see
    /// [`Generator::WithRogue`]).
    rogue: Option<usize>,
}

impl World {
    /// `n` nodes holding the same genesis document, not connected.
    fn new(n: usize, seed: u64) -> Self {
        let mut genesis = AutoCommit::new().with_actor(ActorId::from(vec![0xee; 16]));
        genesis.put(ROOT, "genesis", true).expect("put");
        genesis.commit();
        let bytes = genesis.save();
        let mut rng = StdRng::seed_from_u64(seed);
        let nodes = (0..n)
            .map(|i| {
                let byte = u8::try_from(i + 1).expect("few nodes");
                let actor =
                    peercoach_core::session_actor(secret(byte).public().as_bytes(), [byte; 8]);
                let doc = AutoCommit::load(&bytes)
                    .expect("genesis loads")
                    .with_actor(actor.clone());
                let mut docs = SimDocs::default();
                docs.0.insert(team(), doc);
                docs.3.me = *secret(byte).public().as_bytes();
                docs.1 = (1..=n)
                    .map(|d| DeviceId::from(secret(u8::try_from(d).expect("few")).public()))
                    .collect();
                let mut node = SimNode {
                    id: DeviceId::from_secret_key_bytes(&[byte; 32]),
                    byte,
                    actor,
                    machine: machine(byte, Limits::default()),
                    docs,
                    disk: bytes.clone(),
                    durable: HashSet::new(),
                    saved_states: BTreeMap::new(),
                    disk_full: false,
                    persist_delay_ms: 0,
                    phase_ms: rng.random_range(1..TICK_MS),
                    ticks: 0,
                    overflow_next: 0,
                    lose_next: 0,
                };
                node.durable = all_hashes(node.doc());
                node
            })
            .collect();
        Self {
            now_ms: 0,
            nodes,
            links: Vec::new(),
            flights: Vec::new(),
            persisting: Vec::new(),
            faults: Faults::default(),
            rng,
            next_session: 1,
            sent: Vec::new(),
            violations: Vec::new(),
            longest_stall: 0,
            resets_before: 0,
            closing: Vec::new(),
            edits: 0,
            rogue: None,
        }
    }

    /// The nodes that keep the rules.
    fn honest(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| Some(*i) != self.rogue)
            .collect()
    }

    fn index_of(&self, device: DeviceId) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == device)
    }

    fn linked(&self, a: usize, b: usize) -> Option<Link> {
        self.links
            .iter()
            .copied()
            .find(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a))
    }

    /// Feeds one input to a node and carries out its effects, as the runtime does.
    fn feed(&mut self, i: usize, input: Input) {
        let now = self.now_ms;
        let node = &mut self.nodes[i];
        node.machine.handle(now, input, &mut node.docs);
        self.rebuilt(i);
        self.run_effects(i);
    }

    /// After node `i` set a version aside: its document was built anew, and is saved
    /// whole, as the engine compacts it; writes still on their way held the old one.
    fn rebuilt(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(actor) = node.docs.3.rebuilt.take() else {
            return;
        };
        node.actor = actor;
        let doc = node.doc();
        node.disk = doc.save();
        node.durable = all_hashes(node.doc());
        self.persisting.retain(|(_, at, _, _)| *at != i);
    }

    /// A batch: some inputs, then `Settle`.
    fn batch(&mut self, i: usize, inputs: Vec<Input>) {
        for input in inputs {
            self.feed(i, input);
        }
        self.feed(i, Input::Settle);
    }

    fn run_effects(&mut self, i: usize) {
        while let Some(effect) = self.nodes[i].machine.poll_effect() {
            match effect {
                Effect::Send {
                    team: _,
                    peer,
                    session,
                    wire,
                } => self.send(i, peer, session, wire),
                Effect::Persist { team, changes: _ } => {
                    let node = &mut self.nodes[i];
                    if node.disk_full {
                        self.feed_now(i, Input::Persisted { team, heads: None });
                    } else if node.persist_delay_ms > 0 {
                        let doc = node.doc();
                        let (bytes, heads) = (doc.save(), doc.get_heads());
                        let done = self.now_ms + node.persist_delay_ms;
                        self.persisting.push((done, i, bytes, heads));
                    } else {
                        let doc = node.doc();
                        let (bytes, heads) = (doc.save(), doc.get_heads());
                        self.write_disk(i, bytes);
                        self.feed_now(
                            i,
                            Input::Persisted {
                                team,
                                heads: Some(heads),
                            },
                        );
                    }
                }
                Effect::SaveState {
                    team: _,
                    peer,
                    state,
                } => {
                    self.nodes[i].saved_states.insert(peer, state);
                }
                // Honest devices with disks that keep what they saved never send each
                // other anything to refuse, nor the rogue anything that breaks a frame
                // (what it sends is refused before it is applied). The rogue's own
                // document breaks on its forgeries; it may close whom it likes.
                Effect::ClosePeer { peer, .. } if Some(i) == self.rogue => {
                    self.closing.push((i, peer));
                }
                Effect::ClosePeer { peer, reason } => {
                    self.violations.push(format!(
                        "t={} node {i} closed the connection to {}: {reason}",
                        self.now_ms,
                        peer.short()
                    ));
                    self.closing.push((i, peer));
                }
                Effect::Publish { .. } | Effect::StatusChanged => {}
            }
        }
    }

    /// Feeds an input from inside an effect (the runtime does the same: the machine's
    /// queue keeps the order).
    fn feed_now(&mut self, i: usize, input: Input) {
        let now = self.now_ms;
        let node = &mut self.nodes[i];
        node.machine.handle(now, input, &mut node.docs);
        self.rebuilt(i);
    }

    /// Writes a document to node `i`'s disk the way the store does: it appends, so a
    /// write that started before another and ends after it never takes away what the
    /// other made durable.
    fn write_disk(&mut self, i: usize, bytes: Vec<u8>) {
        let node = &mut self.nodes[i];
        let mut on_disk = AutoCommit::load(&node.disk).expect("the disk loads");
        if let Err(e) = on_disk.load_incremental(&bytes) {
            // Only the rogue takes back what it wrote (two versions of one change).
            assert_eq!(Some(i), self.rogue, "a saved document loads: {e}");
            on_disk = AutoCommit::load(&bytes).expect("the rogue's document loads");
        }
        node.durable = all_hashes(&mut on_disk);
        node.disk = on_disk.save();
    }

    /// Checks a frame against the sender's disk, then puts it on the network.
    fn send(&mut self, i: usize, peer: DeviceId, session: SessionId, wire: Wire) {
        let announced: Vec<ChangeHash> = match &wire {
            Wire::Heads(bytes) => decode_heads(bytes).expect("our own heads decode"),
            Wire::Sync(bytes) => {
                sync::Message::decode(&body(bytes))
                    .expect("our own message")
                    .heads
            }
            Wire::Changes(bytes) => vec![
                Change::try_from(body(bytes).as_slice())
                    .expect("our own change")
                    .hash(),
            ],
        };
        // (The rogue's disk is its own business: it takes back what it signed.)
        if let Some(h) = announced
            .iter()
            .find(|h| Some(i) != self.rogue && !self.nodes[i].durable.contains(h))
        {
            self.violations.push(format!(
                "t={} node {i} sent {} naming {h}, which is not on its disk",
                self.now_ms,
                kind(&wire)
            ));
        }
        let Some(to) = self.index_of(peer) else {
            return;
        };
        let live = self.linked(i, to).is_some_and(|l| {
            (l.a == i && l.session_a == session) || (l.b == i && l.session_b == session)
        });
        if !live {
            self.feed_now(
                i,
                Input::SendFailed {
                    team: team(),
                    peer,
                    session,
                    error: SendError::Closed,
                },
            );
            return;
        }
        let node = &mut self.nodes[i];
        if node.overflow_next > 0 || self.rng.random_bool(self.faults.overflow) {
            node.overflow_next = node.overflow_next.saturating_sub(1);
            self.feed_now(
                i,
                Input::SendFailed {
                    team: team(),
                    peer,
                    session,
                    error: SendError::Full,
                },
            );
            return;
        }
        self.sent.push(Sent {
            at_ms: self.now_ms,
            from: i,
            to,
            wire: wire.clone(),
        });
        if node.lose_next > 0 {
            node.lose_next -= 1;
            return;
        }
        if self.rng.random_bool(self.faults.drop) {
            return;
        }
        let copies = if self.rng.random_bool(self.faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = if self.faults.jitter_ms > 0 {
                self.rng.random_range(0..=self.faults.jitter_ms)
            } else {
                0
            };
            self.flights.push(Flight {
                at_ms: self.now_ms + LATENCY_MS + jitter,
                from: i,
                to,
                from_session: session,
                wire: wire.clone(),
            });
        }
    }

    fn connect(&mut self, a: usize, b: usize) {
        if a == b || self.linked(a, b).is_some() {
            return;
        }
        let link = Link {
            a,
            b,
            session_a: self.next_session,
            session_b: self.next_session + 1,
        };
        self.next_session += 2;
        self.links.push(link);
        for (me, other, session) in [(a, b, link.session_a), (b, a, link.session_b)] {
            let peer = self.nodes[other].id;
            let saved_state = self.nodes[me].saved_states.get(&peer).cloned();
            self.batch(
                me,
                vec![Input::SessionUp {
                    team: team(),
                    peer,
                    session,
                    saved_state,
                }],
            );
        }
    }

    fn disconnect(&mut self, a: usize, b: usize) {
        let Some(link) = self.linked(a, b) else {
            return;
        };
        self.links.retain(|l| *l != link);
        // Frames in flight on the connection are lost with it.
        self.flights.retain(|f| {
            !((f.from == link.a && f.to == link.b) || (f.from == link.b && f.to == link.a))
        });
        for (me, other, session) in [
            (link.a, link.b, link.session_a),
            (link.b, link.a, link.session_b),
        ] {
            let peer = self.nodes[other].id;
            self.batch(
                me,
                vec![Input::SessionDown {
                    team: team(),
                    peer,
                    session,
                }],
            );
        }
    }

    fn connect_all(&mut self) {
        for a in 0..self.nodes.len() {
            for b in a + 1..self.nodes.len() {
                self.connect(a, b);
            }
        }
    }

    /// A local edit on node `i`, written by its engine before the machine hears of it. A
    /// write that fails undoes the edit (the engine reads the team again from disk).
    fn edit(&mut self, i: usize) {
        self.edits += 1;
        let key = format!("edit-{}", self.edits);
        let node = &mut self.nodes[i];
        let doc = node.doc();
        doc.put(
            ROOT,
            key.as_str(),
            i64::try_from(self.edits).unwrap_or_default(),
        )
        .expect("put");
        doc.commit();
        let Some(change) = doc.get_last_local_change() else {
            return;
        };
        if node.disk_full {
            let reloaded = AutoCommit::load(&node.disk)
                .expect("disk loads")
                .with_actor(node.actor.clone());
            node.open(reloaded);
            self.batch(i, vec![Input::Reloaded { team: team() }]);
            return;
        }
        let bytes = node.doc().save();
        self.write_disk(i, bytes);
        self.batch(
            i,
            vec![Input::LocalChange {
                team: team(),
                change: Some(change.raw_bytes().to_vec()),
            }],
        );
    }

    /// Node `i` stops at once (no goodbye) and starts again from its disk.
    fn restart(&mut self, i: usize) {
        let peers: Vec<usize> = self
            .links
            .iter()
            .filter_map(|l| {
                if l.a == i {
                    Some(l.b)
                } else if l.b == i {
                    Some(l.a)
                } else {
                    None
                }
            })
            .collect();
        for p in &peers {
            self.disconnect(i, *p);
        }
        self.persisting.retain(|(_, n, _, _)| *n != i);
        let node = &mut self.nodes[i];
        let doc = AutoCommit::load(&node.disk)
            .expect("disk loads")
            .with_actor(node.actor.clone());
        node.open(doc);
        self.resets_before += node.machine.resets;
        node.machine = machine(node.byte, node.machine.limits);
        for p in peers {
            self.connect(i, p);
        }
    }

    /// Runs the world for `ms` of simulated time.
    fn run(&mut self, ms: i64) {
        let end = self.now_ms + ms;
        loop {
            let next_flight = self.flights.iter().map(|f| f.at_ms).min();
            let next_persist = self.persisting.iter().map(|p| p.0).min();
            let next_tick = self
                .nodes
                .iter()
                .map(|n| n.phase_ms + i64::try_from(n.ticks).unwrap_or(i64::MAX) * TICK_MS)
                .min();
            let Some(next) = [next_flight, next_persist, next_tick]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            if next > end {
                break;
            }
            self.now_ms = self.now_ms.max(next);
            self.step();
        }
        self.now_ms = end;
    }

    /// Everything due now: finished persists, frames (one batch per receiver), ticks.
    fn step(&mut self) {
        let now = self.now_ms;
        let done: Vec<(i64, usize, Vec<u8>, Vec<ChangeHash>)> = {
            let (due, later) = std::mem::take(&mut self.persisting)
                .into_iter()
                .partition(|p| p.0 <= now);
            self.persisting = later;
            due
        };
        for (_, i, bytes, heads) in done {
            self.write_disk(i, bytes);
            self.batch(
                i,
                vec![Input::Persisted {
                    team: team(),
                    heads: Some(heads),
                }],
            );
        }
        let (due, later): (Vec<Flight>, Vec<Flight>) = std::mem::take(&mut self.flights)
            .into_iter()
            .partition(|f| f.at_ms <= now);
        self.flights = later;
        let mut by_node: BTreeMap<usize, Vec<Input>> = BTreeMap::new();
        for flight in due {
            by_node.entry(flight.to).or_default().push(Input::Received {
                team: team(),
                peer: self.nodes[flight.from].id,
                wire: flight.wire,
            });
        }
        for (i, inputs) in by_node {
            self.batch(i, inputs);
        }
        for i in 0..self.nodes.len() {
            let node = &self.nodes[i];
            let due = node.phase_ms + i64::try_from(node.ticks).unwrap_or(i64::MAX) * TICK_MS;
            if due <= now {
                self.nodes[i].ticks += 1;
                let busy = self.busy(i);
                self.batch(i, vec![Input::Tick { busy }]);
                if Some(i) != self.rogue {
                    let stalled = self.nodes[i]
                        .machine
                        .peers
                        .values()
                        .map(|ps| ps.stalled_ticks);
                    self.longest_stall = stalled.fold(self.longest_stall, u32::max);
                }
            }
        }
        for (i, peer) in std::mem::take(&mut self.closing) {
            if let Some(p) = self.index_of(peer) {
                self.disconnect(i, p);
            }
        }
    }

    /// The sessions of node `i` with frames still on their way.
    fn busy(&self, i: usize) -> BTreeSet<SessionId> {
        self.flights
            .iter()
            .filter(|f| f.from == i)
            .map(|f| f.from_session)
            .collect()
    }

    fn heads(&mut self, i: usize) -> Vec<ChangeHash> {
        let mut heads = self.nodes[i].doc().get_heads();
        heads.sort();
        heads
    }

    fn converged(&mut self) -> bool {
        let honest = self.honest();
        let first = self.heads(honest[0]);
        if !honest.iter().all(|i| self.heads(*i) == first) {
            return false;
        }
        // Nothing waits for a dependency that an honest device holds. A change of the
        // rogue's may wait for good on one that no honest device took (refused for
        // everyone, or from the rogue, or never sent): it can never apply.
        let missing: Vec<ChangeHash> = honest
            .iter()
            .flat_map(|i| self.nodes[*i].doc().get_missing_deps(&[]))
            .collect();
        missing
            .iter()
            .all(|h| honest.iter().all(|i| !self.has(*i, h)))
            && (self.rogue.is_some() || missing.is_empty())
    }

    fn has(&mut self, i: usize, hash: &ChangeHash) -> bool {
        self.nodes[i].doc().get_change_by_hash(hash).is_some()
    }

    /// Nothing is on its way between honest nodes. A rogue may keep talking: one that
    /// kept a version of its own change that every honest device refused (over their
    /// limits) refuses what they built on the other, for good, and is offered it again.
    fn quiet(&self) -> bool {
        self.flights
            .iter()
            .all(|f| Some(f.from) == self.rogue || Some(f.to) == self.rogue)
    }

    /// Runs until every honest node holds the same document and nothing is on its way
    /// between them, or `limit_ms` passed; returns how long it took.
    fn run_until_converged(&mut self, limit_ms: i64) -> Option<i64> {
        let start = self.now_ms;
        while self.now_ms - start < limit_ms {
            if self.converged() && self.quiet() {
                return Some(self.now_ms - start);
            }
            self.run(50);
        }
        None
    }

    fn last_local_hash(&mut self, i: usize) -> ChangeHash {
        self.nodes[i]
            .doc()
            .get_last_local_change()
            .expect("a local change")
            .hash()
    }

    /// Frames `from` sent to `to` since `since_ms`, by kind.
    fn frames(&self, from: usize, to: usize, since_ms: i64) -> Vec<&'static str> {
        self.sent
            .iter()
            .filter(|s| s.from == from && s.to == to && s.at_ms >= since_ms)
            .map(|s| kind(&s.wire))
            .collect()
    }

    /// Where each node stands, for a failure message.
    fn describe(&mut self) -> String {
        let mut lines = Vec::new();
        for i in 0..self.nodes.len() {
            let heads = self.heads(i);
            let node = &mut self.nodes[i];
            let changes = node.doc().get_changes(&[]).len();
            let missing = node.doc().get_missing_deps(&[]).len();
            lines.push(format!(
                "node {i}: {changes} changes, {} heads, {missing} missing deps, {} on disk; {:?}",
                heads.len(),
                node.durable.len(),
                node.machine
            ));
        }
        let recent: Vec<String> = self
            .sent
            .iter()
            .rev()
            .take(12)
            .map(|s| format!("t={} {}->{} {}", s.at_ms, s.from, s.to, kind(&s.wire)))
            .collect();
        lines.push(format!("last frames: {recent:?}"));
        lines.join("\n")
    }

    /// How many changes one of `a` and `b` holds and the other does not.
    fn gap(&mut self, a: usize, b: usize) -> usize {
        let ours = all_hashes(self.nodes[a].doc());
        let theirs = all_hashes(self.nodes[b].doc());
        ours.symmetric_difference(&theirs).count()
    }

    /// Liveness resets so far, by every machine.
    fn resets(&self) -> u64 {
        self.resets_before + self.nodes.iter().map(|n| n.machine.resets).sum::<u64>()
    }

    /// Drops the connection between `a` and `b` with whatever is on its way, and makes a
    /// new one at once: a laptop that changed networks mid-exchange.
    fn reconnect(&mut self, a: usize, b: usize) {
        self.disconnect(a, b);
        self.connect(a, b);
    }

    /// Runs until a sync message (a fetch, a round) is on its way between `a` and `b`, for
    /// at most `limit_ms`.
    fn run_until_sync_in_flight(&mut self, a: usize, b: usize, limit_ms: i64) {
        let start = self.now_ms;
        while self.now_ms - start < limit_ms {
            let in_flight = self.flights.iter().any(|f| {
                matches!(f.wire, Wire::Sync(_))
                    && ((f.from, f.to) == (a, b) || (f.from, f.to) == (b, a))
            });
            if in_flight {
                return;
            }
            self.run(5);
        }
    }

    fn assert_no_violations(&self) {
        assert!(
            self.violations.is_empty(),
            "frames announced what was not on disk:\n{}",
            self.violations.join("\n")
        );
    }
}

fn kind(wire: &Wire) -> &'static str {
    match wire {
        Wire::Sync(_) => "sync",
        Wire::Changes(_) => "changes",
        Wire::Heads(_) => "heads",
    }
}

fn all_hashes(doc: &mut AutoCommit) -> HashSet<ChangeHash> {
    doc.get_changes(&[]).iter().map(Change::hash).collect()
}

/// Two synced, connected nodes with quiet ticks behind them.
fn synced_pair(seed: u64) -> World {
    let mut world = World::new(2, seed);
    world.connect(0, 1);
    assert!(world.run_until_converged(10_000).is_some());
    world.run(3 * TICK_MS);
    world
}

#[test]
fn offline_edits_on_two_devices_converge_through_a_lossy_network() {
    let mut world = World::new(2, 1);
    for _ in 0..5 {
        world.edit(0);
        world.edit(1);
    }
    world.faults = Faults {
        drop: 0.1,
        duplicate: 0.1,
        jitter_ms: 300,
        overflow: 0.05,
    };
    world.connect(0, 1);
    let took = world.run_until_converged(120_000);
    assert!(
        took.is_some(),
        "no convergence in two minutes of simulated time"
    );
    world.assert_no_violations();
}

#[test]
fn a_live_edit_is_pushed_with_the_new_heads_not_synced() {
    let mut world = synced_pair(2);
    let t = world.now_ms;
    world.edit(0);
    let hash = world.last_local_hash(0);
    world.run(LATENCY_MS);
    assert!(world.has(1, &hash), "the push arrived within one latency");
    assert_eq!(world.frames(0, 1, t), ["changes", "heads"]);
    world.run(TICK_MS);
    assert!(
        !world.frames(0, 1, t).contains(&"sync") && !world.frames(1, 0, t).contains(&"sync"),
        "no protocol round for a live edit: {:?} / {:?}",
        world.frames(0, 1, t),
        world.frames(1, 0, t)
    );
    world.assert_no_violations();
}

#[test]
fn three_devices_in_a_line_hear_each_others_edits_by_relay() {
    let mut world = World::new(3, 3);
    world.connect(0, 1);
    world.connect(1, 2);
    assert!(world.run_until_converged(10_000).is_some());
    world.run(3 * TICK_MS);
    let t = world.now_ms;
    world.edit(0);
    let hash = world.last_local_hash(0);
    world.run(3 * LATENCY_MS);
    assert!(world.has(2, &hash), "the middle device relayed the change");
    assert_eq!(world.frames(1, 2, t), ["changes", "heads"]);
    assert!(
        world.frames(1, 0, t).iter().all(|k| *k == "heads"),
        "nothing is sent back but heads"
    );
    world.edit(2);
    let back = world.last_local_hash(2);
    world.run(3 * LATENCY_MS);
    assert!(world.has(0, &back));
    world.assert_no_violations();
}

#[test]
fn a_push_that_does_not_fit_is_repaired_at_the_next_tick() {
    let mut world = synced_pair(4);
    world.nodes[0].overflow_next = 2; // the push and the heads behind it
    world.edit(0);
    let hash = world.last_local_hash(0);
    world.run(LATENCY_MS * 2);
    assert!(!world.has(1, &hash), "the push was dropped");
    let ticks = world.nodes[0].ticks;
    while world.nodes[0].ticks == ticks {
        world.run(10);
    }
    world.run(4 * LATENCY_MS);
    assert!(
        world.has(1, &hash),
        "the next tick's protocol round brought it"
    );
    world.assert_no_violations();
}

#[test]
fn a_lagging_peer_gets_a_protocol_round_after_three_ticks() {
    let mut world = synced_pair(5);
    // The push and the heads behind it are lost on the way, and nobody is told.
    world.nodes[0].lose_next = 2;
    world.edit(0);
    let hash = world.last_local_hash(0);
    let edit_at = world.now_ms;
    let ticks_at_edit = world.nodes[0].ticks;
    while !world.has(1, &hash) {
        assert!(world.now_ms - edit_at < 20_000, "never repaired");
        world.run(10);
    }
    let first_round = world
        .sent
        .iter()
        .find(|s| s.from == 0 && s.at_ms > edit_at && kind(&s.wire) == "sync")
        .map(|s| s.at_ms)
        .expect("a protocol round from the device that made the edit");
    // The first tick after the edit compares against heads from before it; the peer then
    // lags for three ticks in a row, and the third starts the round.
    let ticks = world.nodes[0].ticks - ticks_at_edit;
    assert_eq!(ticks, 4, "round at the fourth tick after the edit");
    assert!(
        first_round - edit_at > 3 * TICK_MS - TICK_MS,
        "not before three ticks of lag"
    );
    world.assert_no_violations();
}

/// One machine with sessions to three peers that all announce heads it lacks in one
/// batch: only one of them is asked, and the next only after the first stays silent.
#[test]
fn announced_heads_are_fetched_from_one_peer_at_a_time() {
    let mut world = World::new(4, 6);
    for p in 1..4 {
        world.connect(0, p);
    }
    assert!(world.run_until_converged(10_000).is_some());
    // Peer 1 makes a change the others learn (they are connected to each other but not,
    // for now, heard by node 0: its inbound frames are held back).
    world.connect(1, 2);
    world.connect(1, 3);
    world.run(3 * TICK_MS);
    let mut unknown = world.nodes[1].doc().clone();
    unknown.put(ROOT, "later", 1).expect("put");
    unknown.commit();
    let change = unknown.get_last_local_change().expect("change");
    let heads = unknown.get_heads();
    let now = world.now_ms;
    let ids: Vec<DeviceId> = (1..4).map(|p| world.nodes[p].id).collect();
    let node = &mut world.nodes[0];
    for peer in &ids {
        node.machine.handle(
            now,
            Input::Received {
                team: team(),
                peer: *peer,
                wire: Wire::Heads(encode_heads(&heads)),
            },
            &mut node.docs,
        );
    }
    node.machine.handle(now, Input::Settle, &mut node.docs);
    let effects: Vec<Effect> = std::iter::from_fn(|| node.machine.poll_effect()).collect();
    let asked: Vec<DeviceId> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                peer,
                wire: Wire::Sync(_),
                ..
            } => Some(*peer),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 1, "one peer asked: {effects:?}");
    // A tick within the wait asks nobody else.
    node.machine.handle(
        now + FETCH_WAIT_MS / 2,
        Input::Tick {
            busy: BTreeSet::new(),
        },
        &mut node.docs,
    );
    node.machine
        .handle(now + FETCH_WAIT_MS / 2, Input::Settle, &mut node.docs);
    let effects: Vec<Effect> = std::iter::from_fn(|| node.machine.poll_effect()).collect();
    assert!(
        !effects.iter().any(|e| matches!(
            e,
            Effect::Send {
                wire: Wire::Sync(_),
                ..
            }
        )),
        "nobody else asked while the first may still answer: {effects:?}"
    );
    // After the wait, the next tick asks another.
    node.machine.handle(
        now + FETCH_WAIT_MS + 1,
        Input::Tick {
            busy: BTreeSet::new(),
        },
        &mut node.docs,
    );
    node.machine
        .handle(now + FETCH_WAIT_MS + 1, Input::Settle, &mut node.docs);
    let next: Vec<DeviceId> = std::iter::from_fn(|| node.machine.poll_effect())
        .filter_map(|e| match e {
            Effect::Send {
                peer,
                wire: Wire::Sync(_),
                ..
            } => Some(peer),
            _ => None,
        })
        .collect();
    assert_eq!(next.len(), 1, "one more peer asked");
    // The change itself is still to come: apply it as the answer would.
    assert!(
        node.docs
            .0
            .get_mut(&team())
            .expect("doc")
            .get_change_by_hash(&change.hash())
            .is_none()
    );
}

#[test]
fn an_overflowed_session_gets_its_round_once_it_has_drained() {
    let mut world = synced_pair(7);
    let now = world.now_ms;
    let peer = world.nodes[1].id;
    let session = world.linked(0, 1).expect("linked").session_a;
    let node = &mut world.nodes[0];
    let drain = |node: &mut SimNode| -> Vec<Effect> {
        std::iter::from_fn(|| node.machine.poll_effect()).collect()
    };
    node.machine.handle(
        now,
        Input::SendFailed {
            team: team(),
            peer,
            session,
            error: SendError::Full,
        },
        &mut node.docs,
    );
    drain(node);
    for tick in 1..=3 {
        node.machine.handle(
            now + tick * TICK_MS,
            Input::Tick {
                busy: BTreeSet::from([session]),
            },
            &mut node.docs,
        );
        node.machine
            .handle(now + tick * TICK_MS, Input::Settle, &mut node.docs);
        let effects = drain(node);
        assert!(
            !effects.iter().any(|e| matches!(
                e,
                Effect::Send {
                    wire: Wire::Sync(_),
                    ..
                }
            )),
            "no round while frames still wait to be written"
        );
    }
    node.machine.handle(
        now + 4 * TICK_MS,
        Input::Tick {
            busy: BTreeSet::new(),
        },
        &mut node.docs,
    );
    node.machine
        .handle(now + 4 * TICK_MS, Input::Settle, &mut node.docs);
    let effects = drain(node);
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::Send { wire: Wire::Sync(_), session: s, .. } if *s == session)
        ),
        "a round once drained: {effects:?}"
    );
}

#[test]
fn changes_from_a_peer_are_acknowledged_only_once_on_disk() {
    let mut world = synced_pair(8);
    world.nodes[1].disk_full = true;
    let t = world.now_ms;
    world.edit(0);
    let hash = world.last_local_hash(0);
    world.run(3 * TICK_MS);
    assert!(world.has(1, &hash), "the change is applied in memory");
    assert!(!world.nodes[1].durable.contains(&hash));
    assert!(
        world.frames(1, 0, t).is_empty(),
        "a device that could not save a change tells its peer nothing: {:?}",
        world.frames(1, 0, t)
    );
    world.nodes[1].disk_full = false;
    let freed = world.now_ms;
    world.run(TICK_MS + LATENCY_MS);
    assert!(
        world.nodes[1].durable.contains(&hash),
        "the next tick saved it"
    );
    assert!(
        world.frames(1, 0, freed).contains(&"heads"),
        "and then told the peer"
    );
    world.assert_no_violations();
}

#[test]
fn a_change_that_was_never_saved_comes_back_after_a_restart() {
    let mut world = synced_pair(9);
    world.nodes[1].disk_full = true;
    world.edit(0);
    let hash = world.last_local_hash(0);
    world.run(TICK_MS);
    assert!(world.has(1, &hash));
    world.nodes[1].disk_full = false;
    world.restart(1);
    assert!(!world.has(1, &hash), "it was only in memory");
    assert!(world.run_until_converged(30_000).is_some());
    assert!(world.has(1, &hash));
    world.assert_no_violations();
}

#[test]
fn frames_wait_for_a_slow_disk() {
    let mut world = synced_pair(10);
    world.nodes[1].persist_delay_ms = 500;
    let t = world.now_ms;
    world.edit(0);
    let hash = world.last_local_hash(0);
    world.run(400);
    assert!(world.has(1, &hash));
    assert!(
        world.frames(1, 0, t).is_empty(),
        "nothing until the write is done"
    );
    world.run(200);
    assert!(world.frames(1, 0, t).contains(&"heads"));
    world.assert_no_violations();
}

/// A connection that silently loses everything one side sends (a half-dead link after a
/// network change): the side whose changes never get confirmed counts ticks without
/// progress, resets the peer's sync at the bound, and once frames flow again the pair
/// converges.
#[test]
fn a_peer_that_makes_no_progress_is_reset_at_the_bound_and_then_converges() {
    let log = Log::default();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(log.clone())
            .finish(),
    );
    let mut world = synced_pair(11);
    let peer = world.nodes[1].id;
    world.nodes[0].lose_next = u32::MAX;
    world.edit(0);
    let ours = world.heads(0);
    let mut seen = Vec::new();
    while world.nodes[0].machine.resets == 0 {
        assert!(
            seen.len() < 3 * STALL_TICKS as usize,
            "no reset after {seen:?}"
        );
        let ticks = world.nodes[0].ticks;
        while world.nodes[0].ticks == ticks {
            world.run(10);
        }
        seen.push(world.nodes[0].machine.no_progress_ticks(&team(), &peer));
    }
    // The first tick after the edit already counts (the push never arrived): 1, 2, …, 9,
    // then the tenth resets and starts counting again.
    let expected: Vec<u32> = (1..STALL_TICKS).chain([0]).collect();
    assert_eq!(seen, expected, "ticks without progress, tick by tick");
    // Logged once, naming the peer and both sides' heads.
    let text = log.text();
    let resets: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("no sync progress with a peer"))
        .collect();
    assert_eq!(resets.len(), 1, "one line per reset: {text}");
    assert!(
        resets[0].contains(&peer.short()) && resets[0].contains(&ours[0].to_string()),
        "the line names the peer and our heads: {}",
        resets[0]
    );
    assert!(
        world.nodes[0]
            .machine
            .peers
            .values()
            .all(|ps| ps.stall_limit() == 2 * STALL_TICKS),
        "the next reset waits twice as long"
    );
    world.nodes[0].lose_next = 0;
    let took = world.run_until_converged(LIVENESS_BOUND_MS);
    assert!(took.is_some(), "converged once frames flowed again");
    world.run(TICK_MS);
    assert_eq!(world.nodes[0].machine.no_progress_ticks(&team(), &peer), 0);
    world.assert_no_violations();
}

/// What the machines logged, for a test to read.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log")).into_owned()
    }
}

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

/// Which schedules a seed draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generator {
    /// As the property test drew them until issue 20: the stalls found then replay with
    /// their seeds.
    AsFound,
    /// Also connections dropped and made again mid-exchange (a fetch or a round on its
    /// way), and frames lost on both sides of a pair at once.
    Extended,
    /// Extended, with one more node running modified code: it writes changes over the
    /// others' limits now and then, and keeps writing on top of them. The others must
    /// converge among themselves as fast, and never hold what was refused.
    WithRogue,
    /// WithRogue, and the rogue also signs two versions of one change now and then and
    /// sends both (see `versions`): the honest nodes must still converge, on one of them.
    WithTwoVersions,
}

/// What one schedule showed.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Simulated time from healing to convergence.
    converged_ms: i64,
    /// Liveness resets in the whole schedule.
    resets: u64,
    /// Liveness resets after healing.
    resets_healed: u64,
    /// After healing, the longest time a pair of devices that differed went without
    /// coming closer (fewer changes held by one and not the other).
    longest_gap_hold_ms: i64,
}

/// How long devices may take to converge once the faults heal and everyone connects:
/// the worst seen in 100,000 schedules (RELIABILITY.md) was well under this.
const HEALED_CONVERGENCE_MS: i64 = 60_000;

/// The liveness bound, in simulated time: once healed, two devices that differ come
/// closer within this, or fail the test. It is the machine's first reset after
/// [`STALL_TICKS`] ticks without progress, and two ticks more for the fresh round to
/// cross: a healed pair that needed a reset backed off by earlier ones (up to
/// `STALL_TICKS << MAX_RESET_BACKOFF`) to move again would be stuck in a way the rules
/// should have repaired on their own, and fails here.
const LIVENESS_BOUND_MS: i64 = (STALL_TICKS as i64 + 2) * TICK_MS;

/// A schedule drawn from a seed: edits, connections coming and going, restarts, disks
/// filling up and freed, over a network that drops, duplicates and reorders; then the
/// faults heal, everyone connects, and everyone must converge within
/// [`HEALED_CONVERGENCE_MS`], with no peer left without progress for [`STALL_TICKS`]
/// ticks after healing.
fn random_schedule(seed: u64, generator: Generator) -> Result<Outcome, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let honest_n = rng.random_range(2..=4);
    let with_rogue = matches!(generator, Generator::WithRogue | Generator::WithTwoVersions);
    let n = honest_n + usize::from(with_rogue);
    let mut world = World::new(n, seed);
    let mut oversized: Vec<ChangeHash> = Vec::new();
    if with_rogue {
        world.rogue = Some(honest_n);
        for i in 0..honest_n {
            world.nodes[i].machine = machine(world.nodes[i].byte, TIGHT);
        }
    }
    world.faults = Faults {
        drop: rng.random_range(0.0..0.2),
        duplicate: rng.random_range(0.0..0.2),
        jitter_ms: rng.random_range(0..500),
        overflow: rng.random_range(0.0..0.1),
    };
    let ops = match generator {
        Generator::AsFound => 100,
        Generator::Extended => 115,
        Generator::WithRogue => 130,
        Generator::WithTwoVersions => 135,
    };
    for _ in 0..rng.random_range(20..60) {
        let i = rng.random_range(0..n);
        let j = rng.random_range(0..n);
        match rng.random_range(0..ops) {
            115..=119 if with_rogue => {
                let ops = rng.random_range(TIGHT.max_ops + 1..4 * TIGHT.max_ops);
                oversized.push(world.big_edit(honest_n, ops));
            }
            120..=124 if with_rogue => world.edit(honest_n),
            125..=129 if with_rogue => world.forge(honest_n, i % honest_n),
            130..=134 => world.two_versions(honest_n),
            0..=39 => world.edit(i),
            40..=54 => world.connect(i, j),
            55..=64 => world.disconnect(i, j),
            65..=69 => world.restart(i),
            70..=74 => world.nodes[i].disk_full = !world.nodes[i].disk_full,
            75..=79 => world.nodes[i].persist_delay_ms = rng.random_range(0..300),
            80..=99 => world.run(rng.random_range(10..3_000)),
            100..=103 => world.reconnect(i, j),
            104..=107 => {
                world.edit(j);
                world.run_until_sync_in_flight(i, j, 3 * TICK_MS);
                world.reconnect(i, j);
            }
            _ => {
                world.nodes[i].lose_next += rng.random_range(1..=3);
                world.nodes[j].lose_next += rng.random_range(1..=3);
            }
        }
    }
    world.faults = Faults::default();
    for node in &mut world.nodes {
        node.disk_full = false;
        node.lose_next = 0;
    }
    world.connect_all();
    let healed_at = world.now_ms;
    let resets_before_healing = world.resets();
    // Every pair that differs must come closer within the liveness bound.
    let mut gaps: BTreeMap<(usize, usize), (usize, i64)> = BTreeMap::new();
    let mut longest_gap_hold_ms = 0;
    let converged_ms = loop {
        if world.converged() && world.quiet() {
            break Some(world.now_ms - healed_at);
        }
        if world.now_ms - healed_at >= 180_000 {
            break None;
        }
        world.run(50);
        for a in 0..honest_n {
            for b in a + 1..honest_n {
                let gap = world.gap(a, b);
                let entry = gaps.entry((a, b)).or_insert((gap, healed_at));
                if gap < entry.0 {
                    *entry = (gap, world.now_ms);
                } else if gap > 0 {
                    longest_gap_hold_ms = longest_gap_hold_ms.max(world.now_ms - entry.1);
                }
            }
        }
        if longest_gap_hold_ms > LIVENESS_BOUND_MS {
            return Err(format!(
                "after healing, two devices that differ came no closer for {longest_gap_hold_ms} ms \
                 (bound {LIVENESS_BOUND_MS} ms):\n{}",
                world.describe()
            ));
        }
    };
    if !world.violations.is_empty() {
        return Err(world.violations.join("\n"));
    }
    for i in 0..honest_n {
        if let Some(h) = oversized.iter().find(|h| world.has(i, h)) {
            return Err(format!("node {i} applied the oversized change {h}"));
        }
    }
    let Some(converged_ms) = converged_ms else {
        return Err(format!(
            "{n} devices did not converge within 3 minutes of simulated time after healing:\n{}",
            world.describe()
        ));
    };
    let outcome = Outcome {
        converged_ms,
        resets: world.resets(),
        resets_healed: world.resets() - resets_before_healing,
        longest_gap_hold_ms,
    };
    if outcome.converged_ms > HEALED_CONVERGENCE_MS {
        return Err(format!(
            "{n} devices took {} ms to converge after healing: {outcome:?}",
            outcome.converged_ms
        ));
    }
    // What the machines report holds too: no peer went past the bound without a reset.
    let limit = STALL_TICKS << MAX_RESET_BACKOFF;
    if world.longest_stall >= limit {
        return Err(format!(
            "a peer went {} ticks without progress and was not reset (limit {limit})",
            world.longest_stall
        ));
    }
    Ok(outcome)
}

/// Replays a schedule as the property test drew it when it failed, and checks it now
/// converges.
fn replay_as_found(seed: u64) {
    if let Err(e) = random_schedule(seed, Generator::AsFound) {
        panic!("seed {seed}: {e}");
    }
}

#[test]
fn changes_lost_on_the_way_are_sent_again_in_the_same_session() {
    // The stall the property test found: Automerge sends a change only once per session,
    // so changes whose frames were lost were never offered again, and two devices
    // exchanged empty messages for ever. This schedule (two devices, lossy links) stalls
    // without the reset on a repeated fetch and the resend to a lagging peer.
    replay_as_found(17_964_770_770_095_004_361);
}

// The four stalls of issue 20. In each, a write that had started before a local edit
// finished after it, and the simulated disk replaced its contents with the older
// document: an edit already sent to the peer was gone from its author's disk. After a
// restart the author made another edit with the same sequence number, every peer refused
// it (Automerge cannot hold two changes with one actor and sequence number), closed the
// connection, and the pair never synced again. The disk now keeps what was saved, as the
// store's append-only log does, and an honest device refusing a peer fails the test.

#[test]
fn a_write_that_ends_after_a_newer_one_keeps_the_newer_edit() {
    replay_as_found(2_703_265_879_080_606_868);
}

#[test]
fn an_edit_sent_before_a_restart_is_still_on_disk_after_it() {
    replay_as_found(17_339_996_734_419_614_992);
}

#[test]
fn a_device_never_reuses_a_sequence_number_after_a_slow_write() {
    replay_as_found(11_702_017_570_188_577_197);
}

#[test]
fn peers_stay_connected_when_both_sides_wrote_slowly_and_restarted() {
    replay_as_found(6_967_333_798_329_082_848);
}

/// Found by the first 100,000-schedule soak: three devices, two of which held a change
/// waiting for a dependency only the third had. Each of the two took the other for a
/// source (Automerge's `get_missing_deps` names a waiting change's dependency whatever
/// heads it is asked about), fetched from it, was answered with nothing, and fetched
/// again at once, so the pair exchanged messages every few milliseconds and the third
/// device's answer, held back by what it believed it had sent, was never asked for
/// again. A peer is now a source only when its heads name a change we do not hold.
#[test]
fn a_dependency_waiting_here_is_fetched_from_a_peer_that_has_it() {
    if let Err(e) = random_schedule(6_079_786_800_404_211_190, Generator::Extended) {
        panic!("{e}");
    }
}

#[test]
fn a_seed_from_the_environment_replays_one_schedule() {
    // `PEERCOACH_SYNC_SEED=N cargo test -p peercoach-node sync` replays what a failing
    // property case or soak printed (`PEERCOACH_SYNC_GENERATOR=as-found` for a seed found
    // before issue 20, `rogue` for one found with a rogue peer); without it, a fixed seed
    // runs.
    let seed = std::env::var("PEERCOACH_SYNC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let generator = match std::env::var("PEERCOACH_SYNC_GENERATOR").as_deref() {
        Ok("as-found") => Generator::AsFound,
        Ok("rogue") => Generator::WithRogue,
        Ok("two-versions") => Generator::WithTwoVersions,
        _ => Generator::Extended,
    };
    match random_schedule(seed, generator) {
        Ok(outcome) => println!("seed {seed}: {outcome:?}"),
        Err(e) => panic!("seed {seed}: {e}"),
    }
}

proptest! {
    // A fixed, reproducible batch: the regression file's cases first, then 256 schedules
    // drawn from a fixed seed, the same on every run, so CI fails only when the code is
    // wrong. `PROPTEST_CASES` runs more of the same stream; the soak below draws new ones.
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(20),
        ..ProptestConfig::default()
    })]
    #[test]
    fn random_schedules_converge_and_never_announce_unsaved_changes(seed in any::<u64>()) {
        if let Err(e) = random_schedule(seed, Generator::Extended) {
            prop_assert!(false, "seed {seed} (replay with PEERCOACH_SYNC_SEED={seed}): {e}");
        }
    }

    #[test]
    fn with_a_rogue_peer_honest_ones_still_converge(seed in any::<u64>()) {
        if let Err(e) = random_schedule(seed, Generator::WithRogue) {
            prop_assert!(false, "seed {seed} with a rogue: {e}");
        }
    }

    #[test]
    fn with_a_rogue_signing_two_versions_honest_ones_converge_on_one(seed in any::<u64>()) {
        if let Err(e) = random_schedule(seed, Generator::WithTwoVersions) {
            prop_assert!(
                false,
                "seed {seed} with two versions (PEERCOACH_SYNC_GENERATOR=two-versions): {e}"
            );
        }
    }
}

/// The soak's k-th seed: a bijective mix of `base + k`, so runs with different bases
/// draw unrelated schedules.
fn soak_seed(base: u64, k: u64) -> u64 {
    let mut z = base.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `scripts/sync-soak.sh` (or `PEERCOACH_SYNC_SOAK=N cargo test -p peercoach-node --lib
/// -- --ignored sync::tests::soak --nocapture`): `N` fresh random schedules on every
/// core, reporting schedules per second, the slowest convergence after healing, the
/// resets the liveness rule made, and every failing seed.
#[test]
#[ignore = "a long soak of random schedules; scripts/sync-soak.sh runs it"]
fn soak_of_random_schedules() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    let schedules: u64 = std::env::var("PEERCOACH_SYNC_SOAK")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let base: u64 = std::env::var("PEERCOACH_SYNC_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("soak: {schedules} schedules from base seed {base} on {threads} threads");
    let next = AtomicU64::new(0);
    let failures: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let stats = Mutex::new((0_i64, 0_u64, 0_u64, 0_u64, 0_u64, 0_i64));
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= schedules {
                        break;
                    }
                    let seed = soak_seed(base, k);
                    match random_schedule(seed, Generator::Extended) {
                        Ok(outcome) => {
                            let mut s = stats.lock().expect("stats");
                            s.0 = s.0.max(outcome.converged_ms);
                            s.1 += outcome.resets;
                            s.2 += u64::from(outcome.resets > 0);
                            s.3 += 1;
                            s.4 += outcome.resets_healed;
                            s.5 = s.5.max(outcome.longest_gap_hold_ms);
                        }
                        Err(e) => {
                            let first = e.lines().next().unwrap_or_default().to_owned();
                            println!("FAILED seed {seed}: {first}");
                            failures.lock().expect("failures").push((seed, first));
                        }
                    }
                    if (k + 1).is_multiple_of(10_000) {
                        println!(
                            "soak: {} schedules, {:.0} s",
                            k + 1,
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let (slowest_ms, resets, with_resets, passed, resets_healed, hold_ms) =
        *stats.lock().expect("stats");
    let failures = failures.into_inner().expect("failures");
    println!(
        "soak: {schedules} schedules in {secs:.0} s ({:.1} per second); {passed} converged, \
         {} failed; slowest convergence after healing {slowest_ms} ms; longest time a \
         differing pair came no closer after healing {hold_ms} ms (bound {LIVENESS_BOUND_MS} ms); \
         {resets} liveness resets in {with_resets} schedules, {resets_healed} of them after healing",
        f64::from(u32::try_from(schedules).unwrap_or(u32::MAX)) / secs,
        failures.len(),
    );
    for (seed, error) in &failures {
        println!(
            "  seed {seed}: {error}\n    replay: PEERCOACH_SYNC_SEED={seed} cargo test -p peercoach-node --lib -- sync::tests::a_seed_from_the_environment --nocapture"
        );
    }
    assert!(failures.is_empty(), "{} schedules failed", failures.len());
}

impl World {
    /// The rogue writes a change as `victim`'s device: the victim's actor and next
    /// sequence number, signed with the rogue's own key (it has no other), and pushes it.
    fn forge(&mut self, rogue: usize, victim: usize) {
        let actor = self.nodes[victim].actor.clone();
        let own = self.nodes[rogue].actor.clone();
        let doc = self.nodes[rogue].doc();
        doc.set_actor(actor);
        doc.put(ROOT, "forged", true).expect("put");
        doc.commit();
        let change = doc.get_last_local_change();
        doc.set_actor(own);
        let Some(change) = change else {
            return;
        };
        let bytes = self.nodes[rogue].doc().save();
        self.write_disk(rogue, bytes);
        self.batch(
            rogue,
            vec![Input::LocalChange {
                team: team(),
                change: Some(change.raw_bytes().to_vec()),
            }],
        );
    }
}

impl World {
    /// The rogue signs two versions of its next change: it pushes one, then takes it
    /// back on its own copy and pushes the other, so that its peers get one, the other,
    /// or both, in either order, and pass them on.
    fn two_versions(&mut self, rogue: usize) {
        let node = &mut self.nodes[rogue];
        let actor = node.actor.clone();
        let doc = node.doc();
        let before = doc.get_heads();
        let Ok(mut other) = doc.fork_at(&before) else {
            return;
        };
        other.set_actor(actor);
        doc.put(ROOT, "version", 1).expect("put");
        doc.commit();
        other.put(ROOT, "version", 2).expect("put");
        other.commit();
        let (Some(one), Some(two)) = (doc.get_last_local_change(), other.get_last_local_change())
        else {
            return;
        };
        for (change, doc) in [(one, None), (two, Some(other))] {
            let node = &mut self.nodes[rogue];
            if let Some(doc) = doc {
                node.docs.0.insert(team(), doc);
            }
            node.disk = node.doc().save();
            node.durable = all_hashes(node.doc());
            self.batch(
                rogue,
                vec![Input::LocalChange {
                    team: team(),
                    change: Some(change.raw_bytes().to_vec()),
                }],
            );
        }
    }
}

/// A frame payload without signatures.
fn unsigned(body: Vec<u8>) -> Vec<u8> {
    Envelope {
        sigs: Vec::new(),
        body,
    }
    .encode()
}

/// Limits small enough to exercise with a few dozen operations.
const TIGHT: Limits = Limits {
    max_ops: 20,
    max_bytes: 1 << 20,
};

impl World {
    /// Node `i` writes one change of `ops` operations (a rogue's oversized change, when
    /// `ops` is over the others' limits), saved and pushed as any edit.
    fn big_edit(&mut self, i: usize, ops: usize) -> ChangeHash {
        let node = &mut self.nodes[i];
        let doc = node.doc();
        let text = doc
            .put_object(ROOT, "big", peercoach_core::automerge::ObjType::Text)
            .expect("text");
        doc.splice_text(&text, 0, 0, &"x".repeat(ops))
            .expect("splice");
        doc.commit();
        let change = doc.get_last_local_change().expect("a change").clone();
        let bytes = node.doc().save();
        self.write_disk(i, bytes);
        self.batch(
            i,
            vec![Input::LocalChange {
                team: team(),
                change: Some(change.raw_bytes().to_vec()),
            }],
        );
        change.hash()
    }
}

#[test]
fn a_change_over_the_limits_is_refused_once_and_honest_peers_go_on() {
    // Node 2 runs modified code: it writes a change far over the others' limits, and
    // keeps writing on top of it.
    let mut world = World::new(3, 41);
    for i in 0..2 {
        world.nodes[i].machine = machine(world.nodes[i].byte, TIGHT);
    }
    world.connect_all();
    assert!(world.run_until_converged(10_000).is_some());
    let big = world.big_edit(2, 200);
    world.edit(2);
    let on_top = world.last_local_hash(2);
    world.run(3 * TICK_MS);
    for i in 0..2 {
        assert!(!world.has(i, &big), "node {i} never applies it");
        assert!(!world.has(i, &on_top), "nor what depends on it");
        let refused = world.nodes[i].machine.refused(&team(), &world.nodes[2].id);
        assert!(
            refused
                .iter()
                .any(|r| r.reason.contains("201 operations in one change")),
            "node {i}: {refused:?}"
        );
    }
    // The honest pair goes on, at the speed of a live edit, and the rogue still hears it.
    let t = world.now_ms;
    world.edit(0);
    let honest = world.last_local_hash(0);
    world.run(3 * LATENCY_MS);
    assert!(world.has(1, &honest) && world.has(2, &honest));
    // Nothing refused is asked for again and no exchange about it runs on: a minute
    // later neither honest node reset its sync with anyone, and each sent the rogue only
    // a handful of messages (a loop would be thousands).
    world.run(30 * TICK_MS);
    for i in 0..2 {
        let resets = world.nodes[i].machine.resets;
        assert_eq!(resets, 0, "{}", world.describe());
        let to_rogue = world.frames(i, 2, t + 3 * TICK_MS);
        assert!(to_rogue.len() < 40, "node {i} to the rogue: {to_rogue:?}");
        let refused = world.nodes[i].machine.refused(&team(), &world.nodes[2].id);
        assert_eq!(refused.len(), 2, "each refused once: {refused:?}");
    }
    assert!(
        world.closing.is_empty(),
        "no honest device closed the rogue"
    );
    world.assert_no_violations();
}

#[test]
fn a_whole_document_in_a_sync_message_is_refused_and_the_peer_stays() {
    let mut machine = SyncMachine::with_limits(TIGHT);
    let mut docs = SimDocs::default();
    let mut mine = AutoCommit::new();
    mine.put(ROOT, "genesis", true).expect("put");
    mine.commit();
    docs.0.insert(team(), mine.fork());
    let rogue = DeviceId::from_secret_key_bytes(&[9; 32]);
    machine.handle(
        0,
        Input::SessionUp {
            team: team(),
            peer: rogue,
            session: 1,
            saved_state: None,
        },
        &mut docs,
    );
    // Its document: ours, and a change of 200 operations on top, sent whole.
    let mut theirs = mine.fork();
    let text = theirs
        .put_object(ROOT, "big", peercoach_core::automerge::ObjType::Text)
        .expect("text");
    theirs
        .splice_text(&text, 0, 0, &"x".repeat(200))
        .expect("splice");
    theirs.commit();
    let message = sync::Message {
        heads: theirs.get_heads(),
        need: vec![],
        have: vec![],
        changes: sync::ChunkList::from(theirs.save()),
        flags: None,
        version: sync::MessageVersion::V2,
    };
    let before = docs.0.get_mut(&team()).expect("doc").get_heads();
    machine.handle(
        1,
        Input::Received {
            team: team(),
            peer: rogue,
            wire: Wire::Sync(unsigned(message.encode())),
        },
        &mut docs,
    );
    machine.handle(2, Input::Settle, &mut docs);
    let mut effects = Vec::new();
    while let Some(e) = machine.poll_effect() {
        effects.push(e);
    }
    assert_eq!(docs.0.get_mut(&team()).expect("doc").get_heads(), before);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ClosePeer { .. })),
        "{effects:?}"
    );
    let refused = machine.refused(&team(), &rogue);
    assert_eq!(refused.len(), 1);
    assert!(refused[0].reason.contains("whole document"), "{refused:?}");
    // The oversized change as a change chunk with a junk byte after it, or compressed:
    // Automerge would apply it unscreened, so the frame is bad, and nothing is applied.
    let change = theirs
        .get_last_local_change()
        .expect("change")
        .raw_bytes()
        .to_vec();
    let mut junk = change.clone();
    junk.push(0);
    let mut compressed = change;
    compressed[8] = 2;
    for changes in [junk, compressed] {
        let message = sync::Message {
            heads: theirs.get_heads(),
            need: vec![],
            have: vec![],
            changes: sync::ChunkList::from(changes),
            flags: None,
            version: sync::MessageVersion::V2,
        };
        machine.handle(
            3,
            Input::Received {
                team: team(),
                peer: rogue,
                wire: Wire::Sync(unsigned(message.encode())),
            },
            &mut docs,
        );
        let mut closed = false;
        while let Some(e) = machine.poll_effect() {
            closed |= matches!(e, Effect::ClosePeer { .. });
        }
        assert!(closed, "a bad frame closes the peer");
        assert_eq!(docs.0.get_mut(&team()).expect("doc").get_heads(), before);
        machine.handle(
            4,
            Input::SessionUp {
                team: team(),
                peer: rogue,
                session: 2,
                saved_state: None,
            },
            &mut docs,
        );
    }
}

/// A member's modified app signs two versions of one change, gives one to Ana's device
/// and the other to Ben's, and each builds on the one it got while they are apart. Once
/// they meet, both keep the version with the smaller hash, and the edit made on the
/// other one is made again by its own device: nobody is cut off, no connection between
/// them closes, and the version set aside is named in the status.
#[test]
fn two_versions_of_one_change_settle_on_one_and_what_was_built_on_the_other_is_made_again() {
    let mut world = World::new(3, 7);
    world.rogue = Some(2);
    let base = world.nodes[2].doc().get_heads();
    let actor = world.nodes[2].actor.clone();
    let mut hashes = Vec::new();
    for (peer, value) in [(0usize, 1i64), (1, 2)] {
        let mut doc = world.nodes[2].doc().fork_at(&base).expect("fork");
        doc.set_actor(actor.clone());
        doc.put(ROOT, "version", value).expect("put");
        doc.commit();
        let change = doc.get_last_local_change().expect("a change");
        hashes.push(change.hash());
        let rogue = &mut world.nodes[2];
        rogue.docs.0.insert(team(), doc);
        rogue.disk = rogue.doc().save();
        rogue.durable = all_hashes(rogue.doc());
        world.connect(peer, 2);
        world.batch(
            2,
            vec![Input::LocalChange {
                team: team(),
                change: Some(change.raw_bytes().to_vec()),
            }],
        );
        world.run(3 * TICK_MS);
        assert!(
            world.has(peer, &change.hash()),
            "node {peer} took its version"
        );
        world.edit(peer);
        world.run(TICK_MS);
        world.disconnect(peer, 2);
    }
    assert_ne!(hashes[0], hashes[1], "two versions of one change");
    let kept = versions::kept(hashes[0], hashes[1]);
    let lost = if kept == hashes[0] {
        hashes[1]
    } else {
        hashes[0]
    };
    world.connect(0, 1);
    assert!(
        world.run_until_converged(60_000).is_some(),
        "Ana's and Ben's devices converge: {:?}",
        world.violations
    );
    assert!(world.violations.is_empty(), "{:?}", world.violations);
    let value = if kept == hashes[0] { 1 } else { 2 };
    for i in 0..2 {
        assert!(world.has(i, &kept), "node {i} keeps the smaller hash");
        assert!(!world.has(i, &lost), "node {i} holds no other version");
        let doc = world.nodes[i].doc();
        let version = doc
            .get(ROOT, "version")
            .expect("get")
            .map(|(v, _)| v.as_i64());
        assert_eq!(version, Some(Some(value)));
        for edit in ["edit-1", "edit-2"] {
            assert!(
                doc.get(ROOT, edit).expect("get").is_some(),
                "node {i} has {edit}: made on one version, kept on both"
            );
        }
    }
    // The device that held the other version set it aside, made its edit again, and says
    // why in the status of the peer that brought the kept one.
    let (holder, other) = if lost == hashes[0] { (0, 1) } else { (1, 0) };
    assert_eq!(world.nodes[holder].docs.3.reports.len(), 1);
    let report = world.nodes[holder].docs.3.reports[0];
    assert_eq!((report.left_out, report.redone, report.lost), (2, 1, 0));
    let peer = world.nodes[other].id;
    let refused = world.nodes[holder].machine.refused(&team(), &peer);
    assert!(
        refused.iter().any(|r| r.reason.contains("two versions")),
        "{refused:?}"
    );
}
