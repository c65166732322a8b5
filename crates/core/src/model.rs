//! The typed read model: every record of the team document as plain Rust values, with
//! the authorship of consent answers and claims already checked. Each record's struct and
//! reader live in its module under [`crate::records`]; this one holds them together.
//!
//! [`Team::read`] builds the whole model from a document; [`Team::refresh`] re-reads only
//! the records a change touched, so a team with years of history stays cheap to update.

use std::collections::{BTreeMap, HashMap};

use automerge::{ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::fields::{get_map, op_of, record_ids};
use crate::ids::{ActorHex, DutyId, MemberId, OfferId, RequestId, SessionId, TeamId, ThanksId};
use crate::records::{
    Read, coaching_hour, duty, member, offer, request, rota, session, team_settings, thanks,
};
use crate::touched::{Collection, Touched};

pub use crate::records::Forgery;
pub use crate::records::coaching_hour::CoachingHour;
pub use crate::records::duty::{Backfill, Duty, Stage};
pub use crate::records::followup::FollowUp;
pub use crate::records::member::{Device, Member, SkillLevel};
pub use crate::records::offer::{Answer, Offer, OfferStatus, Response};
pub use crate::records::request::{Claim, Closed, Comment, Request, Urgency};
pub use crate::records::session::Session;
pub use crate::records::team_settings::TeamRelay;
pub use crate::records::thanks::Thanks;

/// The whole team as the views see it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Team {
    /// Team id.
    pub id: Option<TeamId>,
    /// Team name.
    pub name: String,
    /// Schema version found in the document.
    pub schema_version: i64,
    /// Members, including removed ones (history needs their names).
    pub members: BTreeMap<MemberId, Member>,
    /// Requests.
    pub requests: BTreeMap<RequestId, Request>,
    /// Offers.
    pub offers: BTreeMap<OfferId, Offer>,
    /// Sessions, including soft-deleted ones.
    pub sessions: BTreeMap<SessionId, Session>,
    /// Thanks notes.
    pub thanks: BTreeMap<ThanksId, Thanks>,
    /// Duties.
    pub duties: BTreeMap<DutyId, Duty>,
    /// Helper rota: ISO week → who floats that week.
    pub rota: rota::Rota,
    /// Asks to float that their member has not answered yet.
    #[serde(default)]
    pub rota_asks: Vec<rota::RotaAsk>,
    /// Rota entries written in someone else's name: they count for nothing.
    #[serde(default)]
    rota_ignored: Vec<Forgery>,
    /// The coaching hour.
    pub coaching_hour: Option<CoachingHour>,
    /// The team's own relays, in the order they were added: every member's device uses
    /// them unless it set relays of its own.
    #[serde(default)]
    pub relays: Vec<TeamRelay>,
    /// Trusted devices: actor → member.
    actors: HashMap<ActorHex, MemberId>,
    /// Votes to remove a member written in someone else's name (they count for nothing).
    #[serde(default)]
    forged_removals: Vec<Forgery>,
    /// The devices of members whose removal is in force, with the operation counter from
    /// which what they write counts for nothing.
    #[serde(default)]
    removed_actors: HashMap<ActorHex, u64>,
    /// Records that a removed member's device created after the removal, by record key:
    /// they stay in the document and count for nothing.
    #[serde(default)]
    ignored_records: BTreeMap<String, Forgery>,
}

/// Records read whole, from which a read is shared out among threads.
const PARALLEL_READ_FROM: usize = 2_000;
/// Threads a whole read uses at most.
const MAX_READ_THREADS: usize = 4;

/// The threads a whole read shares its records among: one per core, at most
/// [`MAX_READ_THREADS`].
fn read_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_READ_THREADS)
}

/// The names whose member differs between two indexes of who speaks for whom.
fn changed_names<'a>(
    before: &'a HashMap<ActorHex, MemberId>,
    after: &'a HashMap<ActorHex, MemberId>,
) -> impl Iterator<Item = &'a ActorHex> {
    let gone_or_moved = before
        .iter()
        .filter(|(name, member)| after.get(*name) != Some(*member))
        .map(|(name, _)| name);
    let new = after.keys().filter(|name| !before.contains_key(*name));
    gone_or_moved.chain(new)
}

/// One record as read from the document, before it goes into the model.
struct Entry {
    /// `None` when the key names no record of its collection.
    record: Option<Record>,
    /// Written against the rules: it counts for nothing, and is listed as ignored.
    ignored: Option<Forgery>,
}

/// A record and its id: `None` when it is gone or counts for nothing.
enum Record {
    Member(Option<Member>, MemberId),
    Request(Option<Request>, RequestId),
    Offer(Option<Offer>, OfferId),
    Session(Option<Session>, SessionId),
    Thanks(Option<Thanks>, ThanksId),
    Duty(Option<Duty>, DutyId),
}

/// A record that counts, or `None` for one written in someone else's name (then it is
/// to be listed among the ignored).
fn counted<T>(read: Option<Read<T>>, ignored: &mut Option<Forgery>) -> Option<T> {
    match read? {
        Read::Counts(record) => Some(record),
        Read::Forged(f) => {
            *ignored = Some(f);
            None
        }
    }
}

impl Team {
    /// Reads the whole document.
    pub fn read<D: ReadDoc + Sync>(doc: &D) -> Self {
        Self::read_with(doc, read_threads())
    }

    /// [`Team::read`] on at most `threads` threads.
    pub(crate) fn read_with<D: ReadDoc + Sync>(doc: &D, threads: usize) -> Self {
        let mut team = Team::default();
        team.read_header(doc);
        team.refresh_with(doc, &Touched::all(), threads, &mut |_| true);
        team
    }

    /// Re-reads what `touched` names. A change to who speaks for whom re-reads every
    /// record, since a new device can turn an answer from forged into genuine and a
    /// removal in force turns what came after it into nothing.
    ///
    /// `wrote` says whether the document holds any change written under a device name
    /// (see [`ActorHex`]). A device trusted anew changes nothing already read when it
    /// has written nothing yet, which is the case of every join: then only the members
    /// are read again.
    pub fn refresh<D: ReadDoc + Sync>(
        &mut self,
        doc: &D,
        touched: &Touched,
        wrote: &mut dyn FnMut(&ActorHex) -> bool,
    ) {
        self.refresh_with(doc, touched, read_threads(), wrote);
    }

    fn refresh_with<D: ReadDoc + Sync>(
        &mut self,
        doc: &D,
        touched: &Touched,
        threads: usize,
        wrote: &mut dyn FnMut(&ActorHex) -> bool,
    ) {
        if touched.is_empty() {
            return;
        }
        if touched.header() {
            self.read_header(doc);
        }
        // A change to who speaks for whom (a device trusted or removed, a removal in
        // force) can turn what others wrote from counted into ignored or back: then every
        // record is read again. Most member changes (an address, a skill) change neither,
        // and a device that has written nothing yet changes no record by being trusted.
        let trust_before = touched
            .any(Collection::Members)
            .then(|| (self.actors.clone(), self.removed_actors.clone()));
        let mut trust_changed = false;
        // Collections read whole: every record, after the members (who decide what
        // counts), on several threads for a large team.
        let mut whole: Vec<(Collection, String, ObjId)> = Vec::new();
        for collection in Collection::ALL {
            let everything =
                touched.whole(collection) || (trust_changed && collection != Collection::Rota);
            let Some(obj) = get_map(doc, &ROOT, collection.key()) else {
                continue;
            };
            if everything {
                self.clear(collection);
                if collection == Collection::Members {
                    for (key, record) in record_ids(doc, &obj) {
                        self.read_record(doc, collection, &key, Some(&record));
                    }
                } else {
                    whole.extend(
                        record_ids(doc, &obj)
                            .into_iter()
                            .map(|(key, record)| (collection, key, record)),
                    );
                }
            } else {
                for key in touched.keys(collection) {
                    let record = get_map(doc, &obj, key);
                    self.read_record(doc, collection, key, record.as_ref());
                }
            }
            if collection == Collection::Members {
                self.settle_members();
                trust_changed = trust_before.as_ref().is_some_and(|(actors, removed)| {
                    *removed != self.removed_actors
                        || changed_names(actors, &self.actors).any(&mut *wrote)
                });
            }
        }
        self.read_whole(doc, whole, threads);
        // Who floats is each member's own say: a change of trust can change it.
        if touched.whole(Collection::Rota) || touched.any(Collection::Rota) || trust_changed {
            self.read_rota(doc);
        }
    }

    /// The team id stored in a document, read without building the whole view.
    pub fn id_of<D: ReadDoc>(doc: &D) -> Option<TeamId> {
        team_settings::id_of(doc)
    }

    /// What counts for nothing because it broke a rule on who may write what, apart
    /// from forged claims and answers (which their records list): votes to remove
    /// someone and records written in another member's name, records a removed member's
    /// device created after the removal, profile fields and request edits by someone not
    /// entitled to them.
    pub fn ignored(&self) -> impl Iterator<Item = &Forgery> {
        self.forged_removals
            .iter()
            .chain(self.ignored_records.values())
            .chain(self.members.values().flat_map(|m| m.ignored.iter()))
            .chain(self.requests.values().flat_map(|r| r.ignored.iter()))
            .chain(self.sessions.values().flat_map(|s| s.ignored.iter()))
            .chain(self.duties.values().flat_map(|d| d.ignored.iter()))
            .chain(self.rota_ignored.iter())
    }

    /// Trusted devices (actors) and whose they are.
    pub(crate) fn actors(&self) -> &HashMap<ActorHex, MemberId> {
        &self.actors
    }

    /// The member a device (actor) belongs to, if the device is trusted.
    pub fn member_of_actor(&self, actor: &ActorHex) -> Option<&MemberId> {
        self.actors.get(actor)
    }

    /// A member's display name, or a short id for someone unknown.
    pub fn name_of(&self, id: &MemberId) -> String {
        self.members
            .get(id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| format!("unknown ({})", id.short()))
    }

    /// Members still in the team, by name.
    pub fn current_members(&self) -> Vec<&Member> {
        let mut members: Vec<&Member> = self.members.values().filter(|m| m.is_current()).collect();
        members.sort_by_key(|m| m.name.to_lowercase());
        members
    }

    fn read_header<D: ReadDoc>(&mut self, doc: &D) {
        let settings = team_settings::read(doc);
        self.schema_version = settings.schema_version;
        self.id = settings.id;
        self.name = settings.name;
        self.relays = settings.relays;
        self.coaching_hour = coaching_hour::read(doc);
    }

    fn clear(&mut self, collection: Collection) {
        match collection {
            Collection::Members => self.members.clear(),
            Collection::Requests => self.requests.clear(),
            Collection::Offers => self.offers.clear(),
            Collection::Sessions => self.sessions.clear(),
            Collection::Thanks => self.thanks.clear(),
            Collection::Duties => self.duties.clear(),
            Collection::Rota => {
                self.rota.clear();
                self.rota_asks.clear();
                self.rota_ignored.clear();
            }
        }
    }

    /// Whether a record was created by a removed member's device at or after the
    /// operation that put the removal in force: such an operation cannot causally
    /// precede the removal (a Lamport counter grows along every causal chain).
    fn after_removal(&self, obj: &ObjId) -> Option<Forgery> {
        let (counter, actor) = op_of(obj)?;
        let from = self.removed_actors.get(&actor)?;
        if counter < *from {
            return None;
        }
        let member = self.actors.get(&actor)?;
        let removed = self.members.get(member)?;
        let what = match removed.removed_ms {
            Some(_) => "wrote after their removal",
            None => "wrote from a device their member had removed",
        };
        Some(Forgery {
            claimed: member.clone(),
            actor,
            at_ms: removed.removed_ms.unwrap_or(0),
            what: what.into(),
        })
    }

    /// Reads the records of whole collections and puts them in the model. Reading a
    /// record only looks at the document and at who is in the team, so a large team's
    /// records are read on several threads (a joiner reads 75,000 of them at once).
    fn read_whole<D: ReadDoc + Sync>(
        &mut self,
        doc: &D,
        work: Vec<(Collection, String, ObjId)>,
        threads: usize,
    ) {
        let entries: Vec<Entry> = if threads < 2 || work.len() < PARALLEL_READ_FROM {
            work.iter()
                .map(|(collection, key, obj)| self.read_entry(doc, *collection, key, Some(obj)))
                .collect()
        } else {
            // Thread t reads records t, t + threads, …: kinds of record cost differently,
            // and striding spreads each kind over every thread.
            let this = &*self;
            let work = &work;
            let parts: Vec<Vec<Entry>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        scope.spawn(move || {
                            work.iter()
                                .skip(t)
                                .step_by(threads)
                                .map(|(collection, key, obj)| {
                                    this.read_entry(doc, *collection, key, Some(obj))
                                })
                                .collect()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            });
            let mut parts: Vec<_> = parts.into_iter().map(Vec::into_iter).collect();
            (0..work.len())
                .filter_map(|i| parts[i % threads].next())
                .collect()
        };
        for ((_, key, _), entry) in work.iter().zip(entries) {
            self.put(key, entry);
        }
    }

    fn read_record<D: ReadDoc>(
        &mut self,
        doc: &D,
        collection: Collection,
        key: &str,
        obj: Option<&ObjId>,
    ) {
        let entry = self.read_entry(doc, collection, key, obj);
        self.put(key, entry);
    }

    /// Reads one record (`obj`; `None` when it is gone), without changing the model.
    fn read_entry<D: ReadDoc>(
        &self,
        doc: &D,
        collection: Collection,
        key: &str,
        obj: Option<&ObjId>,
    ) -> Entry {
        let mut ignored = match (collection, obj) {
            (Collection::Members, _) | (_, None) => None,
            (_, Some(o)) => self.after_removal(o),
        };
        let obj = match ignored {
            Some(_) => None,
            None => obj,
        };
        let record = match collection {
            Collection::Members => MemberId::parse(key)
                .ok()
                .map(|id| Record::Member(obj.and_then(|o| member::read(doc, &id, o)), id)),
            Collection::Requests => RequestId::parse(key).ok().map(|id| {
                let read = obj.and_then(|o| request::read(doc, &self.actors, &id, o));
                Record::Request(counted(read, &mut ignored), id)
            }),
            Collection::Offers => OfferId::parse(key).ok().map(|id| {
                let read = obj.and_then(|o| offer::read(doc, &self.actors, &id, o));
                Record::Offer(counted(read, &mut ignored), id)
            }),
            Collection::Sessions => SessionId::parse(key).ok().map(|id| {
                let read = obj.and_then(|o| session::read(doc, &self.actors, &id, o));
                Record::Session(counted(read, &mut ignored), id)
            }),
            Collection::Thanks => ThanksId::parse(key).ok().map(|id| {
                let read = obj.and_then(|o| thanks::read(doc, &self.actors, &id, o));
                Record::Thanks(counted(read, &mut ignored), id)
            }),
            Collection::Duties => DutyId::parse(key).ok().map(|id| {
                Record::Duty(obj.and_then(|o| duty::read(doc, &self.actors, &id, o)), id)
            }),
            // The rota is flat scalars, read as a whole.
            Collection::Rota => None,
        };
        Entry { record, ignored }
    }

    /// Puts a record as read into the model: there when it counts, gone otherwise, and
    /// listed among the ignored when it was written against the rules.
    fn put(&mut self, key: &str, entry: Entry) {
        self.ignored_records.remove(key);
        if let Some(f) = entry.ignored {
            self.ignored_records.insert(key.to_owned(), f);
        }
        fn set<K: Ord, V>(map: &mut BTreeMap<K, V>, id: K, record: Option<V>) {
            match record {
                Some(r) => map.insert(id, r),
                None => map.remove(&id),
            };
        }
        match entry.record {
            Some(Record::Member(m, id)) => set(&mut self.members, id, m),
            Some(Record::Request(r, id)) => set(&mut self.requests, id, r),
            Some(Record::Offer(r, id)) => set(&mut self.offers, id, r),
            Some(Record::Session(r, id)) => set(&mut self.sessions, id, r),
            Some(Record::Thanks(r, id)) => set(&mut self.thanks, id, r),
            Some(Record::Duty(r, id)) => set(&mut self.duties, id, r),
            // A key that names no record of its kind changes nothing.
            None => {}
        }
    }

    fn read_rota<D: ReadDoc>(&mut self, doc: &D) {
        (self.rota, self.rota_asks, self.rota_ignored) = rota::read(doc, &self.actors);
    }

    /// Decides who is in the team once the member records are read: device trust,
    /// removals, and members that a removed member's device added after its removal (they
    /// count for nothing; deciding that can change the rest, so it is decided again).
    fn settle_members(&mut self) {
        self.rebuild_actor_index();
        self.forged_removals = member::settle(&mut self.members, &self.actors);
        self.rebuild_removed_actors();
        let late: Vec<MemberId> = self
            .members
            .values()
            .filter(|m| {
                m.added_by.as_ref().is_some_and(|(counter, actor)| {
                    self.removed_actors
                        .get(actor)
                        .is_some_and(|cut| counter >= cut)
                })
            })
            .map(|m| m.id.clone())
            .collect();
        if late.is_empty() {
            return;
        }
        for id in late {
            let Some(m) = self.members.remove(&id) else {
                continue;
            };
            let Some((_, actor)) = m.added_by else {
                continue;
            };
            let Some(by) = self.actors.get(&actor).cloned() else {
                continue;
            };
            self.ignored_records.insert(
                id.to_string(),
                Forgery {
                    claimed: by,
                    actor,
                    at_ms: m.created_ms,
                    what: format!("added {} after their removal", m.name),
                },
            );
        }
        self.rebuild_actor_index();
        self.forged_removals = member::settle(&mut self.members, &self.actors);
        self.rebuild_removed_actors();
    }

    /// The cutoff of every device whose writes stop counting: each device of a removed
    /// member (from the removal), and each device its member removed (from that mark).
    fn rebuild_removed_actors(&mut self) {
        let mut cutoffs: HashMap<ActorHex, u64> = HashMap::new();
        for m in self.members.values() {
            for d in &m.devices {
                let cutoff = match (m.removed_at_op, d.removed_at_op) {
                    (Some(a), Some(b)) => a.min(b),
                    (a, b) => match a.or(b) {
                        Some(c) => c,
                        None => continue,
                    },
                };
                for name in d.names() {
                    cutoffs.insert(name, cutoff);
                }
            }
        }
        self.removed_actors = cutoffs;
    }

    /// Who each trusted device's operations speak for, by every name they read as (see
    /// [`Device::names`]). A name two members' entries claim (a device key planted under
    /// someone else) belongs to the entry written first.
    fn rebuild_actor_index(&mut self) {
        let mut claims: HashMap<ActorHex, (Option<(u64, ActorHex)>, MemberId)> = HashMap::new();
        for m in self.members.values() {
            for d in m.devices.iter().filter(|d| d.trusted) {
                for name in d.names() {
                    let earlier = claims.get(&name).is_some_and(|(op, _)| {
                        op.is_some() && (d.entry_op.is_none() || *op < d.entry_op)
                    });
                    if !earlier {
                        claims.insert(name, (d.entry_op.clone(), m.id.clone()));
                    }
                }
            }
        }
        self.actors = claims
            .into_iter()
            .map(|(name, (_, member))| (name, member))
            .collect();
    }
}
