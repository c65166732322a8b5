//! Which records a change touched, so the read model re-reads only those.
//!
//! Local commands, pushed changes and sync-protocol merges all go through one path:
//! the new changes' own operations ([`Touched::from_changes`]).

use std::collections::{BTreeSet, HashMap};

use automerge::{AutoCommit, Change, Prop, ReadDoc};

/// A top-level collection of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Collection {
    /// `members`
    Members,
    /// `requests`
    Requests,
    /// `offers`
    Offers,
    /// `sessions`
    Sessions,
    /// `thanks`
    Thanks,
    /// `duties`
    Duties,
    /// `rota`
    Rota,
}

impl Collection {
    /// Every collection, members first: reading them in this order lets the others check
    /// authorship against the members' devices.
    pub const ALL: [Collection; 7] = [
        Self::Members,
        Self::Requests,
        Self::Offers,
        Self::Sessions,
        Self::Thanks,
        Self::Duties,
        Self::Rota,
    ];

    /// The root key of the collection: the only place it is spelled.
    pub fn key(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::Requests => "requests",
            Self::Offers => "offers",
            Self::Sessions => "sessions",
            Self::Thanks => "thanks",
            Self::Duties => "duties",
            Self::Rota => "rota",
        }
    }

    fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// The set of records to re-read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    everything: bool,
    header: bool,
    whole: BTreeSet<Collection>,
    records: BTreeSet<(Collection, String)>,
}

impl Touched {
    /// Everything: after a load, or when a change is too broad to follow.
    pub fn all() -> Self {
        Self {
            everything: true,
            ..Self::default()
        }
    }

    /// Nothing yet.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds one record.
    pub fn record(&mut self, collection: Collection, id: &str) {
        self.records.insert((collection, id.to_owned()));
    }

    /// Adds the team header (name, schema version, coaching hour).
    pub fn add_header(&mut self) {
        self.header = true;
    }

    /// Adds everything in another set.
    pub fn merge(&mut self, other: Touched) {
        self.everything |= other.everything;
        self.header |= other.header;
        self.whole.extend(other.whole);
        self.records.extend(other.records);
    }

    /// Whether there is nothing to re-read.
    pub fn is_empty(&self) -> bool {
        !self.everything && !self.header && self.whole.is_empty() && self.records.is_empty()
    }

    pub(crate) fn header(&self) -> bool {
        self.everything || self.header
    }

    pub(crate) fn whole(&self, collection: Collection) -> bool {
        self.everything || self.whole.contains(&collection)
    }

    pub(crate) fn any(&self, collection: Collection) -> bool {
        self.whole(collection) || self.records.iter().any(|(c, _)| *c == collection)
    }

    pub(crate) fn keys(&self, collection: Collection) -> impl Iterator<Item = &str> {
        self.records
            .iter()
            .filter(move |(c, _)| *c == collection)
            .map(|(_, k)| k.as_str())
    }

    /// What some applied changes touched, read from their operations: the cost is the size
    /// of the changes, not of the document (a diff over heads walks the whole document).
    /// `places` remembers where each object sits, across calls: objects never move, and
    /// asking Automerge for an old object's parents costs a search of the op set.
    pub fn from_changes(doc: &AutoCommit, changes: &[Change], places: &mut Places) -> Self {
        let mut touched = Self::none();
        for change in changes {
            let decoded = change.decode();
            let actor = decoded.actor_id.to_hex_string();
            let start = decoded.start_op.get();
            for (i, op) in decoded.operations.iter().enumerate() {
                let key = match &op.key {
                    automerge::legacy::Key::Map(k) => Some(k.as_str()),
                    automerge::legacy::Key::Seq(_) => None,
                };
                let obj = op.obj.to_string();
                let place = places.of(doc, &obj);
                touched.add(&place, key);
                if let automerge::legacy::OpType::Make(_) = op.action {
                    // The new object's id is this op's id; it sits under `place` at `key`.
                    let id = format!("{}@{actor}", start + i as u64);
                    places.0.insert(id, place.child(key));
                }
            }
        }
        touched
    }

    fn add(&mut self, place: &Place, key: Option<&str>) {
        match place {
            Place::Root => match key.and_then(Collection::parse) {
                Some(collection) => {
                    self.whole.insert(collection);
                }
                None => self.header = true,
            },
            Place::Header => self.header = true,
            Place::Collection(c) => match key {
                Some(record) => self.record(*c, record),
                None => {
                    self.whole.insert(*c);
                }
            },
            Place::Record(c, record) => self.record(*c, record),
            Place::Whole(c) => {
                self.whole.insert(*c);
            }
            Place::Unknown => self.everything = true,
        }
    }
}

/// Where an object sits in the team document, as far as the read model cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Root,
    /// Under a root key that is not a collection (the team header).
    Header,
    /// A collection's map (or list) itself.
    Collection(Collection),
    /// Inside one record of a collection.
    Record(Collection, String),
    /// Inside a collection that is a list: re-read it whole.
    Whole(Collection),
    /// Not found: re-read everything.
    Unknown,
}

impl Place {
    /// The place of an object created at `key` inside this one.
    fn child(&self, key: Option<&str>) -> Place {
        match self {
            Place::Root => match key.and_then(Collection::parse) {
                Some(c) => Place::Collection(c),
                None => Place::Header,
            },
            Place::Collection(c) => match key {
                Some(record) => Place::Record(*c, record.to_owned()),
                None => Place::Whole(*c),
            },
            other => other.clone(),
        }
    }
}

/// Where each object of a document sits, learned as changes are followed (see
/// [`Touched::from_changes`]).
#[derive(Debug, Clone, Default)]
pub struct Places(HashMap<String, Place>);

impl Places {
    fn of(&mut self, doc: &AutoCommit, obj: &str) -> Place {
        if obj == "_root" {
            return Place::Root;
        }
        if let Some(place) = self.0.get(obj) {
            return place.clone();
        }
        let place = Self::look_up(doc, obj);
        if place != Place::Unknown {
            self.0.insert(obj.to_owned(), place.clone());
        }
        place
    }

    /// Asks Automerge for the path from the root (a search: hence the cache).
    fn look_up(doc: &AutoCommit, obj: &str) -> Place {
        let Ok(exid) = doc.import_obj(obj) else {
            return Place::Unknown;
        };
        let Ok(parents) = doc.parents(&exid) else {
            return Place::Unknown;
        };
        let mut path: Vec<Prop> = parents.map(|p| p.prop).collect();
        path.reverse();
        let mut place = Place::Root;
        for prop in &path {
            place = match prop {
                Prop::Map(k) => place.child(Some(k)),
                Prop::Seq(_) => place.child(None),
            };
        }
        place
    }
}
