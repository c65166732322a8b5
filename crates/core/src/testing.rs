//! Test fixtures: a team of replicas in one process, and the Automerge sync protocol run
//! in memory between them. Enabled by the `testing` feature; used by this crate's tests,
//! the store's crash test and the end-to-end tests.

use crate::NewMember;
use crate::RecordId;
use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};

use crate::{ActorHex, Applied, Command, CommandError, MemberId, SeededEnv, TeamDoc};

/// One member's device.
#[derive(Debug)]
pub struct Replica {
    /// Its document.
    pub doc: TeamDoc,
    /// The member it belongs to.
    pub member: MemberId,
}

/// A team whose members each have one device, all in memory.
#[derive(Debug)]
pub struct TeamFixture {
    /// The shared deterministic clock and id source.
    pub env: SeededEnv,
    /// One replica per member, in the order of the names given.
    pub replicas: Vec<Replica>,
}

/// A deterministic actor for device `i`.
pub fn actor(i: usize) -> ActorHex {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    bytes[8] = 0xac;
    ActorHex::from_bytes(&bytes)
}

/// A deterministic device key for device `i`.
pub fn device_key(i: usize) -> peercoach_base::DeviceId {
    peercoach_base::DeviceId::from_secret_key_bytes(&[i as u8 + 1; 32])
}

/// A session actor of device `i` (see [`ActorHex`]), told apart by `session`.
pub fn session(i: usize, session: u8) -> automerge::ActorId {
    crate::session_actor(device_key(i).endpoint_id().as_bytes(), [session; 8])
}

/// 2026-06-01 00:00 UTC, a Monday: the fixtures' epoch.
pub const START_MS: i64 = 1_780_272_000_000;

impl TeamFixture {
    /// Creates the team on the first name's device, adds the others, and gives everyone
    /// a synced copy.
    pub fn new(names: &[&str]) -> Self {
        Self::with_seed(names, 1)
    }

    /// Like [`TeamFixture::new`] with a chosen id seed.
    pub fn with_seed(names: &[&str], seed: u64) -> Self {
        Self::build(names, seed, |i| format!("endpoint-{i}"))
    }

    /// Like [`TeamFixture::new`], with each device entry naming a real device key
    /// ([`device_key`]), so that the devices can write with session actors.
    pub fn with_device_keys(names: &[&str]) -> Self {
        Self::build(names, 1, |i| device_key(i).to_string())
    }

    fn build(names: &[&str], seed: u64, endpoint: impl Fn(usize) -> String) -> Self {
        let mut env = SeededEnv::new(seed, START_MS);
        let (first, rest) = names.split_first().expect("at least one member");
        let (mut doc, first_id) =
            TeamDoc::genesis(actor(0), "Test team", first, &endpoint(0), &mut env)
                .expect("genesis");
        let mut members = vec![first_id];
        for (i, name) in rest.iter().enumerate() {
            let applied = doc
                .apply(
                    Command::AddMember(NewMember {
                        name: (*name).into(),
                        actor: actor(i + 1),
                        endpoint: endpoint(i + 1),
                        label: "laptop".into(),
                        addrs: vec![],
                        relay: None,
                    }),
                    &mut env,
                )
                .expect("add member");
            let created = applied.created.expect("member id");
            members.push(MemberId::try_from(created).expect("a member id"));
        }
        let snapshot = doc.automerge().save();
        let mut replicas = vec![Replica {
            doc,
            member: members[0].clone(),
        }];
        for (i, member) in members.iter().enumerate().skip(1) {
            let copy = AutoCommit::load(&snapshot).expect("load");
            replicas.push(Replica {
                doc: TeamDoc::from_doc(copy, actor(i)),
                member: member.clone(),
            });
        }
        Self { env, replicas }
    }

    /// Member id of replica `i`.
    pub fn id(&self, i: usize) -> MemberId {
        self.replicas[i].member.clone()
    }

    /// Applies a command on replica `i`.
    pub fn apply(&mut self, i: usize, cmd: Command) -> Result<Applied, CommandError> {
        self.replicas[i].doc.apply(cmd, &mut self.env)
    }

    /// Applies a command that creates a record and returns the new id.
    pub fn create<I>(&mut self, i: usize, cmd: Command) -> I
    where
        I: TryFrom<RecordId>,
        I::Error: std::fmt::Debug,
    {
        let created = self
            .apply(i, cmd)
            .expect("command applies")
            .created
            .expect("created an id");
        match I::try_from(created) {
            Ok(id) => id,
            Err(other) => panic!("created an id of another kind: {other:?}"),
        }
    }

    /// Advances the clock.
    pub fn advance(&mut self, ms: i64) {
        self.env.now_ms += ms;
    }

    /// Merges every replica's changes into every other.
    pub fn sync_all(&mut self) {
        let n = self.replicas.len();
        for i in 1..n {
            let (left, right) = self.replicas.split_at_mut(i);
            sync_docs(&mut left[0].doc, &mut right[0].doc);
        }
        for i in 1..n {
            let (left, right) = self.replicas.split_at_mut(i);
            sync_docs(&mut left[0].doc, &mut right[0].doc);
        }
    }

    /// Merges two replicas.
    pub fn sync_pair(&mut self, a: usize, b: usize) {
        assert_ne!(a, b);
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = self.replicas.split_at_mut(hi);
        sync_docs(&mut left[lo].doc, &mut right[0].doc);
    }
}

/// Runs the Automerge sync protocol between two documents until both are quiet, then
/// refreshes both read models. Returns the number of messages exchanged.
pub fn sync_docs(a: &mut TeamDoc, b: &mut TeamDoc) -> usize {
    let mut sa = sync::State::new();
    let mut sb = sync::State::new();
    let messages = sync_states(a.automerge(), &mut sa, b.automerge(), &mut sb);
    a.refresh_after_merge();
    b.refresh_after_merge();
    messages
}

/// The sync protocol between two raw documents with given states.
pub fn sync_states(
    a: &mut AutoCommit,
    sa: &mut sync::State,
    b: &mut AutoCommit,
    sb: &mut sync::State,
) -> usize {
    let mut messages = 0;
    for _ in 0..100 {
        let ma = a.sync().generate_sync_message(sa);
        let mb = b.sync().generate_sync_message(sb);
        if ma.is_none() && mb.is_none() {
            return messages;
        }
        if let Some(m) = ma {
            messages += 1;
            b.sync().receive_sync_message(sb, m).expect("receive");
        }
        if let Some(m) = mb {
            messages += 1;
            a.sync().receive_sync_message(sa, m).expect("receive");
        }
    }
    panic!("sync did not go quiet within 100 rounds");
}
