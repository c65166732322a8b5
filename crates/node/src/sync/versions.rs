//! Two versions of one change: a device that signed two different changes under one
//! (actor, sequence number).
//!
//! An honest device never does; a modified app can, and a data dir rolled back under a
//! running session could. Automerge holds one change per (actor, sequence number), so a
//! device that took one version cannot take the other, nor anything built on it: the two
//! halves of the team would stop taking each other's edits for good.
//!
//! Every node settles it the same way, whatever it saw first: the version with the
//! smaller hash is kept ([`kept`]). A node that holds the other one sets it aside
//! ([`without`]): the document is built again without it and without every change that
//! depends on it, and this device's own edits among those are made again on top, under a
//! new actor, so they reach the whole team. What other devices built on it is made again
//! by each of them, the same way, when the kept version reaches them. The version set
//! aside is refused from then on, and named in the status of the peer that sent the
//! kept one.
//!
//! History does not move: a version with more than [`MAX_SET_ASIDE`] changes built on it
//! stays, and the other is refused. A split caught as it happens leaves out a handful of
//! changes; a modified app that signs a second version of one of its old changes would
//! otherwise make every device set aside everything written since, and what devices that
//! are gone for good wrote would never be made again.

use std::collections::{HashMap, HashSet, VecDeque};

use peercoach_core::automerge::{
    self, ActorId, AutoCommit, Change, ChangeHash, ObjId, Patch, PatchAction, Prop, ReadDoc, Value,
    transaction::Transactable,
};

/// Which of two versions of one change every node keeps: the one with the smaller hash.
pub fn kept(a: ChangeHash, b: ChangeHash) -> ChangeHash {
    a.min(b)
}

/// An actor as a status line names it: its first 12 hex digits.
pub fn short_actor(actor: &ActorId) -> String {
    actor.to_hex_string().chars().take(12).collect()
}

/// The changes a document holds under the (actor, sequence number) pairs `wanted`,
/// found in one pass over all of its changes: called only where another version is
/// suspected ([`crate::sync::signed::Signatures::may_hold`]).
pub fn held_at(
    doc: &mut AutoCommit,
    wanted: &HashSet<(&ActorId, u64)>,
) -> HashMap<(ActorId, u64), ChangeHash> {
    doc.get_changes_meta(&[])
        .into_iter()
        .filter(|m| wanted.contains(&(m.actor.as_ref(), m.seq)))
        .map(|m| ((m.actor.into_owned(), m.seq), m.hash))
        .collect()
}

/// `doc` without the changes waiting in Automerge's queue for a dependency, as a document
/// read from disk may hold them (a save keeps them, and the log takes what arrives), and
/// whether there were any: then the files should be written anew from it, or another
/// version of one of them taken later would sit beside it on disk. The sync machine knows
/// which changes wait only for those it handed over itself, and another version of one it
/// does not know of could not be applied, nor judged: so a document is opened without
/// them, and they come again with what they wait for.
pub fn without_waiting(mut doc: AutoCommit) -> (AutoCommit, bool) {
    if doc.get_missing_deps(&[]).is_empty() {
        return (doc, false);
    }
    let actor = doc.get_actor().clone();
    let heads = doc.get_heads();
    match doc.fork_at(&heads) {
        Ok(fork) => (fork.with_actor(actor), true),
        Err(_) => (doc, false),
    }
}

/// The most changes setting a version aside may leave out (see the module docs).
pub const MAX_SET_ASIDE: usize = 1_000;

/// Why a document could not be built again without a version.
#[derive(Debug, thiserror::Error)]
pub enum SetAsideError {
    /// Too much is built on the version held: it stays ([`MAX_SET_ASIDE`]).
    #[error("{left_out} changes are built on the version held here, over {MAX_SET_ASIDE}")]
    TooMuch {
        /// What setting it aside would leave out.
        left_out: usize,
    },
    /// Automerge refused the changes kept.
    #[error("the changes kept could not be read again: {0}")]
    Doc(#[from] automerge::AutomergeError),
    /// The document could not be saved as it is now.
    #[error("could not save the document without it: {0}")]
    Save(String),
}

/// A document built again without the versions set aside.
pub struct SetAside {
    /// The document: the changes kept, then this device's own edits made again.
    pub doc: AutoCommit,
    /// What was done.
    pub report: Report,
}

/// What setting versions aside did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// Changes left out: the versions and everything that depends on them.
    pub left_out: usize,
    /// This device's own changes among those, made again on top.
    pub redone: usize,
    /// Of this device's own edits, the parts that could not be made again: they wrote
    /// into something only the versions set aside had made.
    pub lost: usize,
}

/// A document's changes, and those setting versions aside leaves out.
pub struct LeftOut {
    all: Vec<Change>,
    gone: HashSet<ChangeHash>,
}

impl LeftOut {
    /// The changes left out, in the document's order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.all.iter().filter(|c| self.gone.contains(&c.hash()))
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.gone.len()
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.gone.is_empty()
    }
}

/// What setting `losers` aside would leave out of `doc`: those it holds, and every change
/// that depends on one of them; refused past [`MAX_SET_ASIDE`].
pub fn left_out(
    doc: &mut AutoCommit,
    losers: &HashSet<ChangeHash>,
) -> Result<LeftOut, SetAsideError> {
    let all = doc.get_changes(&[]);
    let gone = descendants(&all, losers);
    if gone.len() > MAX_SET_ASIDE {
        return Err(SetAsideError::TooMuch {
            left_out: gone.len(),
        });
    }
    Ok(LeftOut { all, gone })
}

/// `doc` without what `left` leaves out ([`left_out`]). This device's own changes among
/// those (`mine` says which actors are its) are made again, in their order, under
/// `actor`, which must be new: the old ones may be held elsewhere, and a change under
/// their (actor, sequence number) would be a second version itself.
pub fn without(
    doc: &mut AutoCommit,
    left: &LeftOut,
    mine: impl Fn(&ActorId) -> bool,
    actor: ActorId,
) -> Result<SetAside, SetAsideError> {
    let (all, gone) = (&left.all, &left.gone);
    let kept: Vec<Change> = all
        .iter()
        .filter(|c| !gone.contains(&c.hash()))
        .cloned()
        .collect();
    let mut fresh = AutoCommit::new();
    fresh.apply_changes(kept)?;
    fresh.set_actor(actor);
    let mut redone = 0;
    let mut lost = 0;
    for change in left.changes() {
        if !mine(change.actor_id()) {
            continue;
        }
        let patches = doc.diff(change.deps(), &[change.hash()]);
        let mut wrote = false;
        for patch in &patches {
            match redo(&mut fresh, patch) {
                Ok(true) => wrote = true,
                Ok(false) => {}
                Err(_) => lost += 1,
            }
        }
        if wrote {
            let mut options = automerge::transaction::CommitOptions::default();
            options.set_time(change.timestamp());
            if let Some(message) = change.message() {
                options.set_message(message.to_string());
            }
            fresh.commit_with(options);
            redone += 1;
        }
    }
    Ok(SetAside {
        doc: fresh,
        report: Report {
            left_out: gone.len(),
            redone,
            lost,
        },
    })
}

/// `losers`, where `all` holds them, and every change of `all` that depends on one.
fn descendants(all: &[Change], losers: &HashSet<ChangeHash>) -> HashSet<ChangeHash> {
    let mut children: HashMap<ChangeHash, Vec<ChangeHash>> = HashMap::new();
    for c in all {
        for dep in c.deps() {
            children.entry(*dep).or_default().push(c.hash());
        }
    }
    let held: HashSet<ChangeHash> = all.iter().map(Change::hash).collect();
    let mut gone: HashSet<ChangeHash> = losers.intersection(&held).copied().collect();
    let mut next: VecDeque<ChangeHash> = gone.iter().copied().collect();
    while let Some(hash) = next.pop_front() {
        for child in children.remove(&hash).unwrap_or_default() {
            if gone.insert(child) {
                next.push_back(child);
            }
        }
    }
    gone
}

/// Why a part of an edit could not be made again.
#[derive(Debug)]
struct Lost;

impl From<automerge::AutomergeError> for Lost {
    fn from(_: automerge::AutomergeError) -> Self {
        Lost
    }
}

/// Makes one patch of an old edit again in `doc`, finding its object by its path
/// (object ids differ once changes are left out). Returns whether it wrote anything.
fn redo(doc: &mut AutoCommit, patch: &Patch) -> Result<bool, Lost> {
    let obj = resolve(doc, &patch.path)?;
    match &patch.action {
        PatchAction::PutMap { key, value, .. } => {
            put(doc, &obj, Prop::Map(key.clone()), &value.0)?;
        }
        PatchAction::PutSeq { index, value, .. } => {
            put(doc, &obj, Prop::Seq(*index), &value.0)?;
        }
        PatchAction::Insert { index, values } => {
            for (i, (value, _, _)) in values.iter().enumerate() {
                match value {
                    Value::Object(kind) => {
                        doc.insert_object(&obj, index + i, *kind)?;
                    }
                    Value::Scalar(s) => doc.insert(&obj, index + i, s.as_ref().clone())?,
                }
            }
        }
        PatchAction::SpliceText { index, value, .. } => {
            doc.splice_text(&obj, *index, 0, &value.make_string())?;
        }
        PatchAction::Increment { prop, value } => doc.increment(&obj, prop.clone(), *value)?,
        PatchAction::DeleteMap { key } => doc.delete(&obj, key.as_str())?,
        PatchAction::DeleteSeq { index, length } => {
            doc.splice(
                &obj,
                *index,
                *length as isize,
                std::iter::empty::<automerge::ScalarValue>(),
            )?;
        }
        PatchAction::Conflict { .. } | PatchAction::Mark { .. } => return Ok(false),
    }
    Ok(true)
}

fn put(doc: &mut AutoCommit, obj: &ObjId, prop: Prop, value: &Value<'_>) -> Result<(), Lost> {
    match value {
        Value::Object(kind) => {
            doc.put_object(obj, prop, *kind)?;
        }
        Value::Scalar(s) => doc.put(obj, prop, s.as_ref().clone())?,
    }
    Ok(())
}

/// The object at `path` from the root, as `doc` holds it now.
fn resolve(doc: &AutoCommit, path: &[(ObjId, Prop)]) -> Result<ObjId, Lost> {
    let mut obj = automerge::ROOT;
    for (_, prop) in path {
        match doc.get(&obj, prop.clone())? {
            Some((Value::Object(_), id)) => obj = id,
            _ => return Err(Lost),
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercoach_core::automerge::{ObjType, ROOT};

    fn actor(byte: u8) -> ActorId {
        peercoach_core::session_actor(&[byte; 32], [byte; 8])
    }

    #[test]
    fn setting_a_version_aside_leaves_out_what_depends_on_it_and_makes_my_edits_again() {
        let mut base = AutoCommit::new().with_actor(actor(9));
        let records = base
            .put_object(ROOT, "requests", ObjType::Map)
            .expect("map");
        base.put(&records, "r1", "first").expect("put");
        base.commit();
        // The rogue's version, as this device took it.
        let mut doc = base.fork().with_actor(actor(3));
        doc.put(ROOT, "version", 1).expect("put");
        doc.commit();
        let loser = doc.get_last_local_change().expect("change").hash();
        // Built on it: my edits (a new record with a field, and a field written over),
        // and another member's.
        doc.set_actor(actor(1));
        let mine = doc.put_object(&records, "r2", ObjType::Map).expect("map");
        doc.put(&mine, "title", "mine").expect("put");
        doc.put(&records, "r1", "edited").expect("put");
        doc.commit();
        doc.set_actor(actor(2));
        doc.put(ROOT, "theirs", true).expect("put");
        doc.commit();
        // Concurrent with it: kept.
        let mut apart = base.fork().with_actor(actor(4));
        apart.put(ROOT, "apart", true).expect("put");
        apart.commit();
        doc.merge(&mut apart).expect("merge");
        let before = doc.get_changes(&[]).len();

        let losers = HashSet::from([loser]);
        let left = left_out(&mut doc, &losers).expect("within the bound");
        assert_eq!(left.len(), 3);
        let fresh = actor(5);
        let built = without(&mut doc, &left, |a| *a == actor(1), fresh.clone()).expect("built");
        assert_eq!(
            built.report,
            Report {
                left_out: 3,
                redone: 1,
                lost: 0
            }
        );
        let mut out = built.doc;
        assert_eq!(out.get_changes(&[]).len(), before - 3 + 1);
        assert!(out.get_change_by_hash(&loser).is_none());
        assert!(out.get(ROOT, "version").expect("get").is_none());
        assert!(out.get(ROOT, "theirs").expect("get").is_none());
        assert!(out.get(ROOT, "apart").expect("get").is_some());
        let (_, records) = out.get(ROOT, "requests").expect("get").expect("records");
        let (_, r2) = out
            .get(&records, "r2")
            .expect("get")
            .expect("my record, made again");
        assert_eq!(
            out.get(&r2, "title")
                .expect("get")
                .map(|(v, _)| v.into_string().ok()),
            Some(Some("mine".to_string()))
        );
        assert_eq!(
            out.get(&records, "r1")
                .expect("get")
                .map(|(v, _)| v.into_string().ok()),
            Some(Some("edited".to_string()))
        );
        let last = out.get_last_local_change().expect("made again");
        assert_eq!(last.actor_id(), &fresh, "under the new actor");
        // The other version now applies.
        let mut other = base.fork().with_actor(actor(3));
        other.put(ROOT, "version", 2).expect("put");
        other.commit();
        let winner = other.get_last_local_change().expect("change").clone();
        out.apply_changes([winner])
            .expect("the kept version applies");
        assert_eq!(
            out.get(ROOT, "version")
                .expect("get")
                .map(|(v, _)| v.as_i64()),
            Some(Some(2))
        );
    }

    #[test]
    fn a_version_with_too_much_built_on_it_stays() {
        let mut doc = AutoCommit::new().with_actor(actor(3));
        doc.put(ROOT, "old", true).expect("put");
        doc.commit();
        let loser = doc.get_last_local_change().expect("change").hash();
        doc.set_actor(actor(2));
        for i in 0..MAX_SET_ASIDE {
            doc.put(ROOT, "since", i as i64).expect("put");
            doc.commit();
        }
        let before = doc.get_heads();
        match left_out(&mut doc, &HashSet::from([loser])) {
            Err(SetAsideError::TooMuch { left_out }) => assert_eq!(left_out, MAX_SET_ASIDE + 1),
            other => panic!("{:?}", other.map(|left| left.len())),
        }
        assert_eq!(doc.get_heads(), before, "nothing changed");
    }

    #[test]
    fn an_edit_into_what_only_the_version_made_is_counted_as_lost() {
        let mut base = AutoCommit::new().with_actor(actor(9));
        base.put(ROOT, "start", true).expect("put");
        base.commit();
        let mut doc = base.fork().with_actor(actor(3));
        let made = doc.put_object(ROOT, "made", ObjType::Map).expect("map");
        doc.commit();
        let loser = doc.get_last_local_change().expect("change").hash();
        doc.set_actor(actor(1));
        doc.put(&made, "comment", "on the rogue's record")
            .expect("put");
        doc.commit();
        let left = left_out(&mut doc, &HashSet::from([loser])).expect("within the bound");
        let built = without(&mut doc, &left, |a| *a == actor(1), actor(5)).expect("built");
        assert_eq!(built.report.lost, 1);
        assert_eq!(built.report.redone, 0);
        assert_eq!(built.report.left_out, 2);
        assert_eq!(kept(loser, loser), loser);
    }
}
