//! Signed changes: every change a device makes is signed with its ed25519 device key (the
//! iroh secret key whose public half is the device id the QUIC handshake proves), and
//! nothing a peer sends is applied before its signature is checked.
//!
//! A change's hash covers its dependencies, so a signature on the latest change of an
//! actor vouches for that actor's earlier changes too: they are its ancestors, and an
//! honest device never takes a change of its own actor it did not make. What is sent
//! ([`Envelope`]) carries each change's own signature where the sender holds it, and
//! otherwise its actor's latest among them; each device keeps every signature it took
//! and the latest per actor ([`Signatures`]), so history whose own signatures it never
//! saw (a new member's copy) is still vouched for. A live push is one change, the latest
//! of its actor, and carries its own.
//!
//! A new member (a join, a device link) is handed the whole document with its inviter's
//! latest signature per actor, the inviter's own history signed on the spot
//! ([`Signatures::sign_own`]), and checks the copy before keeping it ([`unvouched`]).
//!
//! Who signs for an actor: a session actor begins with its device's key, so only that
//! device can sign its changes (see [`peercoach_core::ActorHex`]); an actor from before
//! session actors is the device whose entry names it. Either way the device must be a
//! member's ([`Signer`]): a change whose device the document does not know yet waits for
//! the change that adds it (a new joiner's first edit depends on it); once everything it
//! depends on is here and the device is still unknown, it is refused.
//!
//! A change that is unsigned, wrongly signed, or signed for an actor by another device is
//! refused from the peer that sent it — the change may be genuine, and an honest peer
//! that holds its signature still gives it to us. So a forged change reusing a device's
//! next (actor, sequence number) is set aside without blocking the real one.
//!
//! A device whose app predates signatures speaks `peercoach/sync/1`: the same frames
//! without envelopes. The runtime still syncs with it ([`for_older_app`],
//! [`from_older_app`]): it gets everything, and what it sends arrives unsigned, so it is
//! refused from it alone until it updates and sends its edits again, signed.

use std::collections::{HashMap, HashSet};

use iroh_base::{SecretKey, Signature};
use peercoach_core::automerge::{ActorId, AutoCommit, Change, ChangeHash};
use peercoach_core::{ActorHex, MemberId, Team, device_key_of};
use peercoach_net::{DeviceId, Wire};

use super::Refusal;

/// The bytes of one signature entry: the change hash and the signature.
pub const ENTRY_LEN: usize = 32 + 64;

/// The most signature entries one envelope may carry.
pub const MAX_ENTRIES: usize = 65_535;

/// What a signature signs: a fixed context, then the change hash.
const CONTEXT: &[u8] = b"peercoach change signature v1\0";

/// One device's signature on one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeSig {
    /// The change.
    pub hash: ChangeHash,
    /// The signature over [`CONTEXT`] and the hash.
    pub sig: [u8; 64],
}

impl ChangeSig {
    /// Signs a change with a device's key.
    pub fn sign(key: &SecretKey, hash: ChangeHash) -> Self {
        Self {
            hash,
            sig: key.sign(&message(&hash)).to_bytes(),
        }
    }

    /// Whether `device` made this signature.
    pub fn verify(&self, device: &DeviceId) -> bool {
        device
            .endpoint_id()
            .verify(&message(&self.hash), &Signature::from_bytes(&self.sig))
            .is_ok()
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.hash.0);
        out.extend_from_slice(&self.sig);
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let hash = ChangeHash::try_from(bytes.get(..32)?).ok()?;
        let sig = bytes.get(32..ENTRY_LEN)?.try_into().ok()?;
        Some(Self { hash, sig })
    }
}

fn message(hash: &ChangeHash) -> Vec<u8> {
    let mut m = Vec::with_capacity(CONTEXT.len() + 32);
    m.extend_from_slice(CONTEXT);
    m.extend_from_slice(&hash.0);
    m
}

/// A frame's payload: the signatures for the changes it carries, then the body (an
/// Automerge sync message, or one change). `u16` count, the entries, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Signatures.
    pub sigs: Vec<ChangeSig>,
    /// What they sign for.
    pub body: Vec<u8>,
}

impl Envelope {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let count = self.sigs.len().min(MAX_ENTRIES);
        let mut out = Vec::with_capacity(2 + count * ENTRY_LEN + self.body.len());
        out.extend_from_slice(&(count as u16).to_le_bytes());
        for s in &self.sigs[..count] {
            s.encode_into(&mut out);
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// Reads a payload; `None` when it is too short for the entries it declares.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let count = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]) as usize;
        let end = 2 + count * ENTRY_LEN;
        let entries = bytes.get(2..end)?;
        let sigs = entries
            .chunks(ENTRY_LEN)
            .map(ChangeSig::decode)
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            sigs,
            body: bytes[end..].to_vec(),
        })
    }
}

/// A frame as an older app (`/1`) reads it: the body without the signatures.
pub fn for_older_app(wire: Wire) -> Wire {
    let body = |bytes: Vec<u8>| match Envelope::decode(&bytes) {
        Some(envelope) => envelope.body,
        None => bytes,
    };
    match wire {
        Wire::Sync(bytes) => Wire::Sync(body(bytes)),
        Wire::Changes(bytes) => Wire::Changes(body(bytes)),
        other => other,
    }
}

/// A frame from an older app (`/1`) as this build reads frames: the body, with no
/// signatures (so the changes in it are refused as unsigned).
pub fn from_older_app(wire: Wire) -> Wire {
    let unsigned = |body: Vec<u8>| {
        Envelope {
            sigs: Vec::new(),
            body,
        }
        .encode()
    };
    match wire {
        Wire::Sync(bytes) => Wire::Sync(unsigned(bytes)),
        Wire::Changes(bytes) => Wire::Changes(unsigned(bytes)),
        other => other,
    }
}

/// Who may sign the changes of an actor, as the team's document says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// A trusted device of a member (removed or not: what it wrote before its removal
    /// is history others depend on, and the readers judge the rest).
    Member(DeviceId),
    /// A device the document knows, but as no member's trusted device (an entry planted
    /// under someone else's name, or a key no entry names).
    NotAMember(DeviceId),
    /// No device the document knows of (an actor from before session actors that no
    /// entry names, or a key whose entry has not arrived yet).
    Unknown,
}

/// Who signs for `actor` in a team, and the member whose device that is: a session
/// actor's own key (never what an entry says it is), an older actor's device entry's key.
pub fn signer_in(team: &Team, actor: &ActorId) -> (Signer, Option<MemberId>) {
    let name = ActorHex::from(actor);
    let member = team.member_of_actor(&name).cloned();
    let entry = |trusted: bool| {
        team.members
            .values()
            .flat_map(|m| m.devices.iter())
            .filter(|d| d.trusted == trusted && d.is(&name))
            .find_map(|d| d.endpoint)
    };
    let device = match device_key_of(actor) {
        Some(key) => iroh_base::PublicKey::from_bytes(&key)
            .ok()
            .map(DeviceId::from),
        None if member.is_some() => entry(true),
        None => entry(false),
    };
    let signer = match (device, &member) {
        (Some(device), Some(_)) => Signer::Member(device),
        (Some(device), None) if entry(false).is_some() || device_key_of(actor).is_none() => {
            Signer::NotAMember(device)
        }
        _ => Signer::Unknown,
    };
    (signer, member)
}

/// The signatures this device holds for a team's changes: each change's own, as it was
/// made or arrived, and the latest of each actor (which vouches for the actor's earlier
/// changes, for history whose own signatures this device never saw — a new member's
/// copy). Stored as an append-only log of entries ([`Signatures::take_unsaved`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signatures {
    tips: HashMap<ActorId, (u64, ChangeSig)>,
    by_change: HashMap<ChangeHash, ChangeSig>,
    /// Entries recorded and not yet handed to the store.
    unsaved: Vec<(ActorId, u64, ChangeSig)>,
}

impl Signatures {
    /// Keeps a change's signature.
    pub fn record(&mut self, change: &Change, sig: ChangeSig) {
        if sig.hash != change.hash() || self.by_change.contains_key(&sig.hash) {
            return;
        }
        self.keep(change.actor_id().clone(), change.seq(), sig);
        self.unsaved
            .push((change.actor_id().clone(), change.seq(), sig));
    }

    fn keep(&mut self, actor: ActorId, seq: u64, sig: ChangeSig) {
        self.by_change.insert(sig.hash, sig);
        // Two versions of one change (see `versions`): the one every device keeps.
        let later = |(known, tip): &(u64, ChangeSig)| {
            *known < seq || (*known == seq && super::versions::kept(tip.hash, sig.hash) != tip.hash)
        };
        if self.tips.get(&actor).is_none_or(later) {
            self.tips.insert(actor, (seq, sig));
        }
    }

    /// Whether a document whose changes this table signs may hold a change of `actor`
    /// at `seq`: its latest signature for the actor is at `seq` or later, or the actor
    /// is from before session actors (whose history was never signed). Every change
    /// taken from a peer, and every change of this device sent, is signed here first.
    pub fn may_hold(&self, actor: &ActorId, seq: u64) -> bool {
        match self.tips.get(actor) {
            Some((tip, _)) => *tip >= seq,
            None => device_key_of(actor).is_none(),
        }
    }

    /// Takes another table's signatures (a new member's, from its inviter).
    pub fn merge(&mut self, other: Signatures) {
        for (actor, (seq, sig)) in other.tips {
            if !self.by_change.contains_key(&sig.hash) {
                self.keep(actor.clone(), seq, sig);
                self.unsaved.push((actor, seq, sig));
            }
        }
    }

    /// A change's own signature, or else its actor's latest when that is the change.
    pub fn get(&self, actor: &ActorId, hash: &ChangeHash) -> Option<ChangeSig> {
        self.by_change.get(hash).copied().or_else(|| {
            self.tips
                .get(actor)
                .map(|(_, s)| *s)
                .filter(|s| s.hash == *hash)
        })
    }

    /// Every actor's latest signature.
    pub fn all(&self) -> Vec<ChangeSig> {
        self.tips.values().map(|(_, s)| *s).collect()
    }

    /// How many changes it has signatures for.
    pub fn len(&self) -> usize {
        self.by_change.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.by_change.is_empty()
    }

    /// The entries recorded since the last call, encoded, to append to the stored log.
    pub fn take_unsaved(&mut self) -> Option<Vec<u8>> {
        if self.unsaved.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for (actor, seq, sig) in std::mem::take(&mut self.unsaved) {
            encode_entry(&mut out, &actor, seq, &sig);
        }
        Some(out)
    }

    /// The latest signature of each actor, encoded as log entries (what a new member is
    /// handed with the document).
    pub fn encode_tips(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (actor, (seq, sig)) in &self.tips {
            encode_entry(&mut out, actor, *seq, sig);
        }
        out
    }

    /// Reads a log of entries. A torn last entry (a crash while appending) is left out;
    /// `None` when an entry before it does not read.
    pub fn decode(mut bytes: &[u8]) -> Option<Self> {
        let mut out = Self::default();
        while let Some((&len, rest)) = bytes.split_first() {
            let len = len as usize;
            let whole = len + 8 + ENTRY_LEN;
            if rest.len() < whole {
                break;
            }
            let actor = ActorId::from(&rest[..len]);
            let seq = u64::from_le_bytes(rest[len..len + 8].try_into().ok()?);
            let sig = ChangeSig::decode(&rest[len + 8..whole])?;
            out.keep(actor, seq, sig);
            bytes = &rest[whole..];
        }
        Some(out)
    }
}

impl Signatures {
    /// Signs the latest change of each of this device's own session actors in `doc`,
    /// where it holds no signature for it yet: what a new member is handed must vouch
    /// for this device's own history too, sent or not.
    pub fn sign_own(&mut self, doc: &mut AutoCommit, key: &SecretKey) {
        let mine = *key.public().as_bytes();
        for meta in doc.get_changes_meta(&[]) {
            if device_key_of(&meta.actor) != Some(mine) {
                continue;
            }
            let actor = meta.actor.into_owned();
            if self.tips.get(&actor).is_none_or(|(seq, _)| *seq < meta.seq) {
                let sig = ChangeSig::sign(key, meta.hash);
                self.keep(actor.clone(), meta.seq, sig);
                self.unsaved.push((actor, meta.seq, sig));
            }
        }
    }
}

/// The changes of a document handed to a new member (a join, a device link) that no
/// signature handed with it vouches for: a session actor's changes after the latest
/// one its own device signed (all of them, when that device is no member's — `signer`
/// says, as in the team's document — or signed none), and every change that depends on
/// one of those. Changes of actors from before
/// session actors are taken as the team held them (see the module docs).
///
/// A signature vouches for the changes of its actor up to its own: they are its
/// ancestors, and a document holds one change per (actor, sequence number), so the ones
/// it holds are those.
pub fn unvouched(
    doc: &mut AutoCommit,
    mut signer: impl FnMut(&ActorId) -> Signer,
    sigs: &Signatures,
) -> HashSet<ChangeHash> {
    let changes: Vec<(ChangeHash, ActorId, u64, Vec<ChangeHash>)> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| (m.hash, m.actor.into_owned(), m.seq, m.deps))
        .collect();
    let mut signers: HashMap<ActorId, Signer> = HashMap::new();
    let mut vouched_to: HashMap<&ActorId, u64> = HashMap::new();
    for (hash, actor, seq, _) in &changes {
        let Some(sig) = sigs.by_change.get(hash) else {
            continue;
        };
        if device_key_of(actor).is_none() {
            continue;
        }
        let signer = *signers
            .entry(actor.clone())
            .or_insert_with(|| signer(actor));
        if let Signer::Member(device) = signer
            && sig.verify(&device)
        {
            let to = vouched_to.entry(actor).or_insert(0);
            *to = (*to).max(*seq);
        }
    }
    let mut out: HashSet<ChangeHash> = changes
        .iter()
        .filter(|(_, actor, seq, _)| {
            device_key_of(actor).is_some() && vouched_to.get(actor).is_none_or(|to| seq > to)
        })
        .map(|(hash, ..)| *hash)
        .collect();
    // And what depends on them, whatever order the document lists its changes in.
    loop {
        let before = out.len();
        for (hash, _, _, deps) in &changes {
            if !out.contains(hash) && deps.iter().any(|d| out.contains(d)) {
                out.insert(*hash);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// One stored entry: the actor's length (`u8`), its bytes, the sequence number (`u64`
/// little-endian), the change hash and the signature.
fn encode_entry(out: &mut Vec<u8>, actor: &ActorId, seq: u64, sig: &ChangeSig) {
    let bytes = actor.to_bytes();
    let Ok(len) = u8::try_from(bytes.len()) else {
        return;
    };
    out.push(len);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&seq.to_le_bytes());
    sig.encode_into(out);
}

/// What becomes of one change a peer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its device signed it, or a later change of its actor that descends from it.
    Signed,
    /// Its device is not known yet, and the change depends on changes not applied here:
    /// it is judged again once they are.
    Wait,
    /// Refused from this peer.
    Refused(Refusal),
}

/// The verdicts on changes a peer sent, in their order, and the signatures that held.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    /// One per change.
    pub verdicts: Vec<Verdict>,
    /// The signatures that verified (to keep for the changes taken).
    pub verified: Vec<ChangeSig>,
}

/// Judges the changes a peer sent, with the signatures sent along, against who may sign
/// for each actor (`signer`) and what the document already holds (`held`).
pub fn judge(
    changes: &[Change],
    sigs: &[ChangeSig],
    mut signer: impl FnMut(&ActorId) -> Signer,
    held: impl Fn(&ChangeHash) -> bool,
) -> Judged {
    let index: HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut signers: HashMap<ActorId, Signer> = HashMap::new();
    let mut signer_of = |actor: &ActorId| {
        *signers
            .entry(actor.clone())
            .or_insert_with(|| signer(actor))
    };
    let mut signed = vec![false; changes.len()];
    let mut bad = vec![false; changes.len()];
    let mut verified = Vec::new();
    for s in sigs {
        let Some(&i) = index.get(&s.hash) else {
            continue;
        };
        let actor = changes[i].actor_id();
        match signer_of(actor) {
            Signer::Member(device) if s.verify(&device) => {
                verified.push(*s);
                // The signed change and every earlier change of its actor it descends
                // from, through what this batch holds.
                let mut stack = vec![i];
                let mut seen = HashSet::new();
                while let Some(j) = stack.pop() {
                    if !seen.insert(j) {
                        continue;
                    }
                    if changes[j].actor_id() == actor {
                        signed[j] = true;
                    }
                    stack.extend(changes[j].deps().iter().filter_map(|d| index.get(d)));
                }
            }
            Signer::Member(_) | Signer::NotAMember(_) => bad[i] = true,
            Signer::Unknown => {}
        }
    }
    let verdicts = changes
        .iter()
        .enumerate()
        .map(|(i, c)| match signer_of(c.actor_id()) {
            _ if signed[i] => Verdict::Signed,
            Signer::Member(_) if bad[i] => Verdict::Refused(Refusal::BadSignature),
            Signer::Member(_) => Verdict::Refused(Refusal::Unsigned),
            Signer::NotAMember(device) => Verdict::Refused(Refusal::NotAMember(device.short())),
            Signer::Unknown if c.deps().iter().any(|d| !held(d)) => Verdict::Wait,
            Signer::Unknown => Verdict::Refused(Refusal::UnknownDevice),
        })
        .collect();
    Judged { verdicts, verified }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercoach_core::automerge::AutoCommit;
    use peercoach_core::automerge::transaction::Transactable;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_bytes(&[n; 32])
    }

    fn session(n: u8) -> ActorId {
        peercoach_core::session_actor(key(n).public().as_bytes(), [n; 8])
    }

    /// Three changes of device 1, the middle one's successor made on top of a change of
    /// device 2.
    fn history() -> (Vec<Change>, AutoCommit) {
        let mut a = AutoCommit::new().with_actor(session(1));
        a.put(peercoach_core::automerge::ROOT, "x", 1).expect("put");
        a.commit();
        let mut b = a.fork().with_actor(session(2));
        b.put(peercoach_core::automerge::ROOT, "y", 2).expect("put");
        b.commit();
        a.merge(&mut b).expect("merge");
        a.put(peercoach_core::automerge::ROOT, "x", 3).expect("put");
        a.commit();
        let changes = a.get_changes(&[]);
        (changes, a)
    }

    fn members(actor: &ActorId) -> Signer {
        match peercoach_core::device_key_of(actor) {
            Some(k) => Signer::Member(DeviceId::from(
                iroh_base::PublicKey::from_bytes(&k).expect("key"),
            )),
            None => Signer::Unknown,
        }
    }

    #[test]
    fn a_signature_on_the_latest_change_covers_its_actors_earlier_ones() {
        let (changes, _) = history();
        let last = changes.last().expect("three").hash();
        let of_b = changes[1].hash();
        let sigs = [
            ChangeSig::sign(&key(1), last),
            ChangeSig::sign(&key(2), of_b),
        ];
        let verdicts = judge(&changes, &sigs, members, |_| false).verdicts;
        assert_eq!(verdicts, vec![Verdict::Signed; 3]);
        // Without device 2's signature its change is refused, device 1's are not.
        let verdicts = judge(&changes, &sigs[..1], members, |_| false).verdicts;
        assert_eq!(
            verdicts,
            vec![
                Verdict::Signed,
                Verdict::Refused(Refusal::Unsigned),
                Verdict::Signed
            ]
        );
    }

    #[test]
    fn a_signature_by_another_device_or_garbage_is_refused() {
        let (changes, _) = history();
        let last = changes[2].hash();
        // Device 2 signs device 1's change.
        let forged = [ChangeSig::sign(&key(2), last)];
        let verdicts = judge(&changes[..1], &forged, members, |_| false).verdicts;
        assert_eq!(verdicts, vec![Verdict::Refused(Refusal::Unsigned)]);
        let verdicts = judge(&changes, &forged, members, |_| false).verdicts;
        assert_eq!(verdicts[2], Verdict::Refused(Refusal::BadSignature));
        let mut flipped = ChangeSig::sign(&key(1), last);
        flipped.sig[3] ^= 1;
        let verdicts = judge(&changes, &[flipped], members, |_| false).verdicts;
        assert_eq!(verdicts[2], Verdict::Refused(Refusal::BadSignature));
        // A valid signature from a device no member has.
        let outsider = |a: &ActorId| match members(a) {
            Signer::Member(d) => Signer::NotAMember(d),
            other => other,
        };
        let good = [ChangeSig::sign(&key(1), last)];
        let verdicts = judge(&changes, &good, outsider, |_| false).verdicts;
        assert!(matches!(
            verdicts[2],
            Verdict::Refused(Refusal::NotAMember(_))
        ));
    }

    #[test]
    fn a_handed_over_copy_keeps_what_its_authors_signed_and_leaves_out_the_rest() {
        let (changes, mut doc) = history();
        // The inviter (device 1) signs its own history; device 2's change came with its
        // own signature.
        let mut sigs = Signatures::default();
        sigs.record(&changes[1], ChangeSig::sign(&key(2), changes[1].hash()));
        sigs.sign_own(&mut doc, &key(1));
        assert!(unvouched(&mut doc, members, &sigs).is_empty());
        let handed = Signatures::decode(&sigs.encode_tips()).expect("reads");
        assert!(unvouched(&mut doc, members, &handed).is_empty());

        // Device 2's signature missing: its change, and device 1's change made on top of
        // it, are left out; device 1's first stays.
        let mut only_own = Signatures::default();
        only_own.sign_own(&mut doc, &key(1));
        let left = unvouched(&mut doc, members, &only_own);
        assert_eq!(
            left,
            HashSet::from([changes[1].hash(), changes[2].hash()]),
            "device 2's change and what depends on it"
        );

        // A signature by the wrong device, or by a device no member has, vouches for
        // nothing.
        let mut wrong = Signatures::default();
        wrong.record(&changes[2], ChangeSig::sign(&key(2), changes[2].hash()));
        wrong.record(&changes[1], ChangeSig::sign(&key(2), changes[1].hash()));
        let left = unvouched(&mut doc, members, &wrong);
        assert_eq!(
            left.len(),
            3,
            "device 1 signed nothing: all of it rests on that"
        );
        let outsider = |a: &ActorId| match members(a) {
            Signer::Member(d) => Signer::NotAMember(d),
            other => other,
        };
        assert_eq!(unvouched(&mut doc, outsider, &handed).len(), 3);

        // A rogue's change under device 1's actor, after what device 1 signed.
        let mut rogue = doc.fork().with_actor(session(1));
        rogue
            .put(peercoach_core::automerge::ROOT, "x", 666)
            .expect("put");
        rogue.commit();
        let forged = rogue.get_last_local_change().expect("made").hash();
        assert_eq!(
            unvouched(&mut rogue, members, &handed),
            HashSet::from([forged])
        );
    }

    #[test]
    fn a_forged_change_reusing_an_actors_sequence_number_is_not_covered() {
        let (changes, mut doc) = history();
        // A rogue writes device 1's second sequence number on another branch.
        let mut rogue = doc.fork_at(&[changes[0].hash()]).expect("fork");
        rogue.set_actor(session(1));
        rogue
            .put(peercoach_core::automerge::ROOT, "x", 666)
            .expect("put");
        rogue.commit();
        let forged = rogue.get_last_local_change().expect("made").clone();
        assert_eq!(forged.seq(), changes[2].seq());
        let mut sent = changes.clone();
        sent.push(forged);
        let sigs = [
            ChangeSig::sign(&key(1), changes[2].hash()),
            ChangeSig::sign(&key(2), changes[1].hash()),
        ];
        let verdicts = judge(&sent, &sigs, members, |_| false).verdicts;
        assert_eq!(
            &verdicts[..3],
            &[Verdict::Signed, Verdict::Signed, Verdict::Signed]
        );
        assert_eq!(verdicts[3], Verdict::Refused(Refusal::Unsigned));
        let _ = doc.get_heads();
    }

    #[test]
    fn an_unknown_device_waits_for_what_it_depends_on_then_is_refused() {
        let (changes, _) = history();
        let unknown = |_: &ActorId| Signer::Unknown;
        // The third change depends on the second, which is not here.
        let verdicts = judge(&changes[2..], &[], unknown, |_| false).verdicts;
        assert_eq!(verdicts, vec![Verdict::Wait]);
        let verdicts = judge(&changes[2..], &[], unknown, |_| true).verdicts;
        assert_eq!(verdicts, vec![Verdict::Refused(Refusal::UnknownDevice)]);
    }

    #[test]
    fn envelopes_and_tables_round_trip_and_junk_is_refused() {
        let (changes, _) = history();
        let sig = ChangeSig::sign(&key(1), changes[2].hash());
        let env = Envelope {
            sigs: vec![sig],
            body: b"body".to_vec(),
        };
        assert_eq!(Envelope::decode(&env.encode()), Some(env.clone()));
        assert_eq!(Envelope::decode(&[5, 0, 1, 2]), None);
        assert_eq!(Envelope::decode(&[]), None);
        let mut table = Signatures::default();
        table.record(&changes[2], sig);
        let first = ChangeSig::sign(&key(1), changes[0].hash());
        table.record(&changes[0], first);
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.all(),
            vec![sig],
            "the latest of the actor vouches for it"
        );
        assert_eq!(
            table.get(changes[2].actor_id(), &changes[2].hash()),
            Some(sig)
        );
        assert_eq!(
            table.get(changes[0].actor_id(), &changes[0].hash()),
            Some(first)
        );
        let mut log = table.take_unsaved().expect("two entries");
        assert_eq!(table.take_unsaved(), None);
        let decoded = Signatures::decode(&log).expect("decodes");
        assert_eq!(
            decoded.get(changes[0].actor_id(), &changes[0].hash()),
            Some(first)
        );
        assert_eq!(decoded.all(), vec![sig]);
        // A torn last entry is left out; the rest reads.
        log.extend_from_slice(&[40, 1, 2]);
        assert_eq!(Signatures::decode(&log).map(|d| d.len()), Some(2));
    }
}
