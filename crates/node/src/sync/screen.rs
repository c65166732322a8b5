//! Limits on what a peer may make us apply, checked before anything is applied.
//!
//! One change of a few kilobytes can hold millions of operations (Automerge stores a
//! run of like operations in a handful of bytes), and applying it costs hundreds of
//! megabytes on every device it reaches. So every change that arrives — pushed, in a
//! sync message, or in an imported file — is screened first: at most
//! [`Limits::max_ops`] operations and [`Limits::max_bytes`] bytes, and none that depends on
//! a change refused before (it could never apply). A refused change is refused once: the
//! machine remembers it, stops counting it among what the peer has for us, and the
//! peer's other changes still flow.
//!
//! A sync message carries its changes as chunks. Only plain change chunks are taken: a
//! whole document in a message cannot be screened change by change without loading it,
//! which is the very cost the limits guard against, and a compressed chunk is inflated
//! without a bound before it can be measured. Automerge sends a document to a peer that
//! has nothing or lacks more than a third of it; this node sends the changes the peer
//! lacks instead ([`crate::sync`]), and refuses documents from peers (what else the
//! message says is taken). Anything else that is not plain change chunks is a bad frame.

use std::collections::HashMap;

use peercoach_core::automerge::{ActorId, AutoCommit, Change, ChangeHash, ROOT, ReadDoc};
use peercoach_core::touched::Collection;
use peercoach_core::{MemberId, Team};

/// The most operations one change may hold. A person's action writes tens; a JSON import
/// of a large team a few thousand.
pub const MAX_CHANGE_OPS: usize = 100_000;

/// The most bytes one change may take.
pub const MAX_CHANGE_BYTES: usize = 4 << 20;

/// What a peer may make us apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Operations per change.
    pub max_ops: usize,
    /// Bytes per change.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ops: MAX_CHANGE_OPS,
            max_bytes: MAX_CHANGE_BYTES,
        }
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Over the operations cap.
    #[error("{ops} operations in one change, over the limit of {max}")]
    TooManyOps {
        /// Its operations.
        ops: usize,
        /// The limit.
        max: usize,
    },
    /// Over the bytes cap.
    #[error("{bytes} bytes in one change, over the limit of {max}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// It depends on a change refused before.
    #[error("it depends on a refused change ({0})")]
    DependsOnRefused(String),
    /// A whole document (or bundle) where changes were expected.
    #[error("a whole document in a sync message (only changes are taken)")]
    Document,
    /// No signature of its device came with it.
    #[error("unsigned: no signature of its device came with it")]
    Unsigned,
    /// The signature that came with it is not its device's.
    #[error("bad signature: not made by the device its actor belongs to")]
    BadSignature,
    /// Signed by a device that is no member's.
    #[error("signed by device {0}, which is no member's device")]
    NotAMember(String),
    /// Its device is not known, though everything it depends on is here.
    #[error("written by a device this team does not know")]
    UnknownDevice,
    /// It depends on a change refused from the same peer.
    #[error("it depends on a change refused from this device ({0})")]
    DependsOnRefusedFromPeer(String),
    /// It deletes a key of the team document, which the app never does.
    #[error("it deletes \"{0}\" (nothing in the team document is ever deleted)")]
    Deletes(String),
    /// It writes over part of the document's shape.
    #[error("it writes over \"{0}\", which is never written over")]
    WritesOverShape(String),
    /// It writes over a whole record.
    #[error("it writes over the whole record \"{0}\"")]
    WritesOverRecord(String),
    /// It writes over what a member wrote under their own key, from another's device.
    #[error("it writes over member {0}'s own entry from a device that is not theirs")]
    WritesOverMember(String),
    /// Its device signed another change under the same actor and sequence number, and
    /// every device keeps the other one (see `versions`).
    #[error(
        "its device signed two versions of its change {seq} (actor {actor}); every device \
         keeps the other one, {kept}"
    )]
    TwoVersions {
        /// The actor, shortened.
        actor: String,
        /// The sequence number.
        seq: u64,
        /// The version kept, shortened.
        kept: String,
    },
    /// Another version of it is held here with too much built on it to set aside.
    #[error(
        "its device signed two versions of its change {seq} (actor {actor}); the one held \
         here has {built} changes built on it and stays"
    )]
    TwoVersionsHeld {
        /// The actor, shortened.
        actor: String,
        /// The sequence number.
        seq: u64,
        /// Changes built on the version held.
        built: usize,
    },
}

impl Refusal {
    /// Whether the sender alone is to blame (a change unsigned or wrongly signed may be
    /// genuine, and another peer may give it with its signature), rather than the
    /// change itself.
    pub fn from_sender(&self) -> bool {
        matches!(
            self,
            Self::Unsigned
                | Self::BadSignature
                | Self::NotAMember(_)
                | Self::UnknownDevice
                | Self::DependsOnRefusedFromPeer(_)
        )
    }
}

/// A change refused, with its dependencies (a peer's heads that name it are read as
/// these).
#[derive(Debug, Clone)]
pub struct Refused {
    /// Why.
    pub why: Refusal,
    /// Its dependencies.
    pub deps: Vec<ChangeHash>,
}

/// Checks what a signed change does to what is already there, whoever signed it. These
/// are the rules no reader can apply afterwards: Automerge keeps no value an op deleted
/// or wrote over, so the readers — which judge who wrote each value they see (see
/// `peercoach_core::records`) — would never see what was lost. This app never does any
/// of it, so a change that does is refused, not kept:
///
/// - deleting a key of a map (records end with `*_ms` tombstones, never a delete);
/// - writing over part of the document's shape ([`peercoach_core::schema::is_fixed`]):
///   a collection, the team header, a member's removal votes;
/// - writing over a whole record (a key of a collection's map: `is_collection` says
///   which objects those are), which would take its history with it — a member's own
///   record included, where the votes to remove them live;
/// - writing over an entry under a member's own key (their vote, their answer to an
///   offer, their claim: `…/<member id>`) from a device that is not that member's.
///
/// `writer` is the member whose device signed the change, `is_member` says whether a
/// key is a member's id, `is_collection` whether an object (as `counter@actor`) is one
/// of the collections' maps. Writing a key for the first time loses nothing, and is left to
/// the readers (a vote in someone else's name counts for nothing, and History says so).
pub fn guard(
    change: &Change,
    writer: Option<&str>,
    is_member: impl Fn(&str) -> bool,
    is_collection: impl Fn(&str) -> bool,
) -> Result<(), Refusal> {
    use peercoach_core::automerge::legacy::{Key, ObjectId, OpType};
    for op in change.decode().operations {
        let Key::Map(key) = &op.key else {
            continue;
        };
        if op.pred.is_empty() {
            continue;
        }
        if matches!(op.action, OpType::Delete) {
            return Err(Refusal::Deletes(key.to_string()));
        }
        if peercoach_core::schema::is_fixed(op.obj == ObjectId::Root, key) {
            return Err(Refusal::WritesOverShape(key.to_string()));
        }
        if let ObjectId::Id(_) = &op.obj
            && is_collection(&op.obj.to_string())
        {
            return Err(Refusal::WritesOverRecord(key.to_string()));
        }
        if writer != Some(key.as_str()) && is_member(key) {
            return Err(Refusal::WritesOverMember(key.to_string()));
        }
    }
    Ok(())
}

/// [`guard`] against a team's document: the writer is the member whose device signs for
/// the change's actor, the members and collections are the document's. Made once for a
/// batch of changes (reading them costs more than the check itself).
pub struct Rules<'a> {
    team: &'a Team,
    collections: Vec<String>,
    writers: HashMap<ActorId, Option<MemberId>>,
}

impl<'a> Rules<'a> {
    /// The rules of the team whose document is `doc` and whose model is `team`.
    pub fn of(doc: &AutoCommit, team: &'a Team) -> Self {
        let collections = Collection::ALL
            .iter()
            .flat_map(|c| doc.get_all(ROOT, c.key()).unwrap_or_default())
            .map(|(_, id)| id.to_string())
            .collect();
        Self {
            team,
            collections,
            writers: HashMap::new(),
        }
    }

    /// Checks one change ([`guard`]).
    pub fn check(&mut self, change: &Change) -> Result<(), Refusal> {
        let team = self.team;
        let writer = self
            .writers
            .entry(change.actor_id().clone())
            .or_insert_with(|| super::signed::signer_in(team, change.actor_id()).1);
        guard(
            change,
            writer.as_ref().map(|m| m.as_str()),
            |key| MemberId::parse(key).is_ok_and(|m| team.members.contains_key(&m)),
            |obj| self.collections.iter().any(|c| c == obj),
        )
    }
}

/// Checks one change against the limits and what was refused before.
pub fn screen(
    change: &Change,
    limits: Limits,
    refused: &HashMap<ChangeHash, Refused>,
) -> Result<(), Refusal> {
    let bytes = change.raw_bytes().len();
    if bytes > limits.max_bytes {
        return Err(Refusal::TooLarge {
            bytes,
            max: limits.max_bytes,
        });
    }
    if change.len() > limits.max_ops {
        return Err(Refusal::TooManyOps {
            ops: change.len(),
            max: limits.max_ops,
        });
    }
    if let Some(dep) = change.deps().iter().find(|d| refused.contains_key(d)) {
        return Err(Refusal::DependsOnRefused(short(dep)));
    }
    Ok(())
}

/// Checks that a change does not depend on one refused from the same peer.
pub fn not_after(
    change: &Change,
    refused_from: &HashMap<ChangeHash, Refused>,
) -> Result<(), Refusal> {
    match change.deps().iter().find(|d| refused_from.contains_key(d)) {
        Some(dep) => Err(Refusal::DependsOnRefusedFromPeer(short(dep))),
        None => Ok(()),
    }
}

/// Heads as we should read them: a refused change stands for its dependencies (the
/// peer has those, and nothing it could give us beyond them).
pub fn without_refused(
    heads: &[ChangeHash],
    refused: &HashMap<ChangeHash, Refused>,
) -> Vec<ChangeHash> {
    if refused.is_empty() || !heads.iter().any(|h| refused.contains_key(h)) {
        return heads.to_vec();
    }
    let mut out: Vec<ChangeHash> = Vec::new();
    let mut todo: Vec<ChangeHash> = heads.to_vec();
    let mut seen = std::collections::HashSet::new();
    while let Some(h) = todo.pop() {
        if !seen.insert(h) {
            continue;
        }
        match refused.get(&h) {
            Some(r) => todo.extend(r.deps.iter().copied()),
            None => out.push(h),
        }
    }
    out.sort();
    out
}

/// The magic bytes every Automerge chunk starts with.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// The type byte of a document chunk.
const DOCUMENT_CHUNK: u8 = 0;

/// The type byte of a plain (uncompressed) change chunk: what Automerge sends as a change
/// and in sync messages. A compressed change chunk is inflated without a bound as it is
/// read, so it is not taken from peers.
const CHANGE_CHUNK: u8 = 1;

/// Splits concatenated Automerge chunks (a sync message's changes) into plain change
/// chunks, or says why not: a whole document, a chunk of another type (compressed, a
/// bundle), or bytes that are not chunks at all.
pub fn change_chunks(bytes: &[u8]) -> Result<Vec<&[u8]>, ChunkError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 9 || rest[..4] != MAGIC {
            return Err(ChunkError::NotChunks);
        }
        let kind = rest[8];
        let (len, used) = leb128(&rest[9..]).ok_or(ChunkError::NotChunks)?;
        let total = 9usize
            .checked_add(used)
            .and_then(|h| h.checked_add(usize::try_from(len).ok()?))
            .ok_or(ChunkError::NotChunks)?;
        if total > rest.len() {
            return Err(ChunkError::NotChunks);
        }
        if kind == DOCUMENT_CHUNK {
            return Err(ChunkError::Document);
        }
        if kind != CHANGE_CHUNK {
            return Err(ChunkError::OtherChunk);
        }
        out.push(&rest[..total]);
        rest = &rest[total..];
    }
    Ok(out)
}

/// Why a sync message's changes were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// Bytes that are not Automerge chunks.
    NotChunks,
    /// A whole document.
    Document,
    /// A compressed change or a bundle.
    OtherChunk,
}

/// An unsigned LEB128 number and the bytes it took.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The first bytes of a hash, for logs and people.
pub fn short(hash: &ChangeHash) -> String {
    hash.0[..6].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercoach_core::automerge::transaction::Transactable;

    /// A team-like document: a members collection with Ana's record and her vote to
    /// remove Dan, a request with a title.
    fn team_like() -> AutoCommit {
        use peercoach_core::automerge::ObjType;
        let mut doc = AutoCommit::new();
        let members = doc
            .put_object(ROOT, "members", ObjType::Map)
            .expect("members");
        let dan = doc.put_object(&members, "dan", ObjType::Map).expect("dan");
        let votes = doc
            .put_object(&dan, "removals", ObjType::Map)
            .expect("votes");
        doc.put(&votes, "ana", 1_i64).expect("vote");
        let requests = doc
            .put_object(ROOT, "requests", ObjType::Map)
            .expect("requests");
        let r = doc
            .put_object(&requests, "r1", ObjType::Map)
            .expect("request");
        doc.put(&r, "title", "help").expect("title");
        let team = doc.put_object(ROOT, "team", ObjType::Map).expect("team");
        let relays = doc
            .put_object(&team, "relays", ObjType::Map)
            .expect("relays");
        let relay = doc
            .put_object(&relays, "https://relay.example.org/", ObjType::Map)
            .expect("relay");
        doc.put(&relay, "token", "t").expect("token");
        doc.commit();
        doc
    }

    /// The change `edit` makes on a fork of `doc`.
    fn edit(doc: &AutoCommit, edit: impl FnOnce(&mut AutoCommit)) -> Change {
        let mut fork = doc.clone().fork();
        edit(&mut fork);
        fork.commit();
        fork.get_last_local_change().expect("a change").clone()
    }

    /// The change that puts a new, empty map at `key` in the map at `path` (over
    /// whatever was there).
    fn new_map(doc: &AutoCommit, path: &[&str], key: &str) -> Change {
        edit(doc, |d| {
            let obj = at(d, path);
            d.put_object(&obj, key, peercoach_core::automerge::ObjType::Map)
                .expect("new map");
        })
    }

    fn at(doc: &AutoCommit, path: &[&str]) -> peercoach_core::automerge::ObjId {
        use peercoach_core::automerge::ReadDoc;
        path.iter().fold(ROOT, |obj, key| {
            doc.get(&obj, *key).expect("read").expect("there").1
        })
    }

    #[test]
    fn deleting_or_writing_over_what_others_wrote_is_refused_and_ordinary_edits_are_not() {
        let doc = team_like();
        let votes = at(&doc, &["members", "dan", "removals"]);
        let request = at(&doc, &["requests", "r1"]);
        let members = |k: &str| ["ana", "ben", "dan"].contains(&k);
        let collections = [at(&doc, &["members"]), at(&doc, &["requests"])].map(|o| o.to_string());
        let is_collection = |o: &str| collections.iter().any(|c| c == o);
        let judge = |c: &Change, writer: &str| guard(c, Some(writer), members, is_collection);

        let deleted = edit(&doc, |d| d.delete(&votes, "ana").expect("delete"));
        assert_eq!(judge(&deleted, "ana"), Err(Refusal::Deletes("ana".into())));
        let overwritten = edit(&doc, |d| d.put(&votes, "ana", 0_i64).expect("put"));
        assert_eq!(
            judge(&overwritten, "dan"),
            Err(Refusal::WritesOverMember("ana".into()))
        );
        assert_eq!(judge(&overwritten, "ana"), Ok(()), "her own entry, again");
        let emptied = new_map(&doc, &["members", "dan"], "removals");
        assert_eq!(
            judge(&emptied, "dan"),
            Err(Refusal::WritesOverShape("removals".into()))
        );
        // The team's relays, replaced by an empty list (every relay at once, hidden):
        // refused; one relay removed is a mark, not a deletion.
        let relays_emptied = new_map(&doc, &["team"], "relays");
        assert_eq!(
            judge(&relays_emptied, "dan"),
            Err(Refusal::WritesOverShape("relays".into()))
        );
        let relay_deleted = edit(&doc, |d| {
            let relays = at(d, &["team", "relays"]);
            d.delete(&relays, "https://relay.example.org/")
                .expect("delete");
        });
        assert_eq!(
            judge(&relay_deleted, "dan"),
            Err(Refusal::Deletes("https://relay.example.org/".into()))
        );
        let relay_removed = edit(&doc, |d| {
            let relay = at(d, &["team", "relays", "https://relay.example.org/"]);
            d.put(&relay, "removed_ms", 5_i64).expect("mark");
        });
        assert_eq!(judge(&relay_removed, "dan"), Ok(()));
        let collection = new_map(&doc, &[], "members");
        assert_eq!(
            judge(&collection, "ana"),
            Err(Refusal::WritesOverShape("members".into()))
        );
        let record = edit(&doc, |d| {
            let members = at(d, &["members"]);
            d.delete(&members, "dan").expect("delete");
        });
        assert_eq!(judge(&record, "ana"), Err(Refusal::Deletes("dan".into())));

        // Writing a key for the first time, even in another's name, loses nothing: the
        // readers judge it. Ordinary edits pass.
        let forged_first = edit(&doc, |d| d.put(&votes, "ben", 2_i64).expect("put"));
        assert_eq!(judge(&forged_first, "dan"), Ok(()));
        let retitled = edit(&doc, |d| d.put(&request, "title", "help!").expect("put"));
        assert_eq!(judge(&retitled, "ben"), Ok(()));
        assert_eq!(guard(&retitled, None, members, is_collection), Ok(()));
        // A whole record written over, even one's own (where the votes to remove one
        // live), is refused; so is a request replaced by a blank one.
        let own_record = new_map(&doc, &["members"], "dan");
        assert_eq!(
            judge(&own_record, "dan"),
            Err(Refusal::WritesOverRecord("dan".into()))
        );
        let blanked = new_map(&doc, &["requests"], "r1");
        assert_eq!(
            judge(&blanked, "ana"),
            Err(Refusal::WritesOverRecord("r1".into()))
        );
        // A new record is no overwrite.
        let new_request = new_map(&doc, &["requests"], "r2");
        assert_eq!(judge(&new_request, "ben"), Ok(()));
    }

    fn change_of(ops: usize) -> (AutoCommit, Change) {
        let mut doc = AutoCommit::new();
        let text = doc
            .put_object(ROOT, "t", peercoach_core::automerge::ObjType::Text)
            .expect("text");
        doc.splice_text(&text, 0, 0, &"x".repeat(ops))
            .expect("splice");
        doc.commit();
        let change = doc.get_last_local_change().expect("a change").clone();
        (doc, change)
    }

    #[test]
    fn a_change_over_the_caps_or_on_a_refused_one_is_refused() {
        let limits = Limits {
            max_ops: 100,
            max_bytes: 1 << 20,
        };
        let refused = HashMap::new();
        let (_, small) = change_of(50);
        assert_eq!(screen(&small, limits, &refused), Ok(()));
        let (mut doc, big) = change_of(500);
        assert!(matches!(
            screen(&big, limits, &refused),
            Err(Refusal::TooManyOps { max: 100, .. })
        ));
        let tight = Limits {
            max_ops: 1_000,
            max_bytes: 10,
        };
        assert!(matches!(
            screen(&small, tight, &refused),
            Err(Refusal::TooLarge { max: 10, .. })
        ));
        // A change on top of the refused one is refused too.
        let refused = HashMap::from([(
            big.hash(),
            Refused {
                why: Refusal::Document,
                deps: big.deps().to_vec(),
            },
        )]);
        doc.put(ROOT, "after", 1).expect("put");
        doc.commit();
        let after = doc.get_last_local_change().expect("change").clone();
        assert!(matches!(
            screen(&after, limits, &refused),
            Err(Refusal::DependsOnRefused(_))
        ));
        // Heads that name it read as what it depends on.
        assert_eq!(
            without_refused(&[big.hash()], &refused),
            big.deps().to_vec()
        );
    }

    #[test]
    fn chunks_split_into_changes_and_a_document_is_not_taken() {
        let (mut doc, one) = change_of(3);
        doc.put(ROOT, "k", 1).expect("put");
        doc.commit();
        let two = doc.get_last_local_change().expect("change").clone();
        let mut both = one.raw_bytes().to_vec();
        both.extend_from_slice(two.raw_bytes());
        let chunks = change_chunks(&both).expect("chunks");
        assert_eq!(chunks, vec![one.raw_bytes(), two.raw_bytes()]);
        assert_eq!(change_chunks(&doc.save()), Err(ChunkError::Document));
        let mut compressed = one.raw_bytes().to_vec();
        compressed[8] = 2;
        assert_eq!(change_chunks(&compressed), Err(ChunkError::OtherChunk));
        assert_eq!(change_chunks(b"garbage"), Err(ChunkError::NotChunks));
        let mut cut = both.clone();
        cut.truncate(both.len() - 3);
        assert_eq!(change_chunks(&cut), Err(ChunkError::NotChunks));
        assert_eq!(change_chunks(&[]), Ok(vec![]));
    }
}
