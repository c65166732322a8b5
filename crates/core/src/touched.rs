//! Which records a change touched, so the read model re-reads only those.
//!
//! A local command reports what it wrote; a batch of remote changes is turned into the
//! same shape from Automerge's patches ([`Touched::from_patches`]).

use std::collections::BTreeSet;

use automerge::{AutoCommit, Change, Patch, PatchAction, Prop, ReadDoc};

use crate::schema;

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
    /// The root key of the collection.
    pub fn key(self) -> &'static str {
        match self {
            Self::Members => schema::MEMBERS,
            Self::Requests => schema::REQUESTS,
            Self::Offers => schema::OFFERS,
            Self::Sessions => schema::SESSIONS,
            Self::Thanks => schema::THANKS,
            Self::Duties => schema::DUTIES,
            Self::Rota => schema::ROTA,
        }
    }

    pub(crate) fn from_key(key: &str) -> Self {
        Self::parse(key).unwrap_or(Self::Rota)
    }

    fn parse(key: &str) -> Option<Self> {
        [
            Self::Members,
            Self::Requests,
            Self::Offers,
            Self::Sessions,
            Self::Thanks,
            Self::Duties,
            Self::Rota,
        ]
        .into_iter()
        .find(|c| c.key() == key)
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
    pub fn from_changes(doc: &AutoCommit, changes: &[Change]) -> Self {
        let mut touched = Self::none();
        for change in changes {
            for op in change.decode().operations {
                let key = match &op.key {
                    automerge::legacy::Key::Map(k) => Some(k.to_string()),
                    automerge::legacy::Key::Seq(_) => None,
                };
                touched.add_op(doc, &op.obj.to_string(), key);
            }
        }
        touched
    }

    fn add_op(&mut self, doc: &AutoCommit, obj: &str, key: Option<String>) {
        if obj == "_root" {
            match key.as_deref().and_then(Collection::parse) {
                Some(collection) => {
                    self.whole.insert(collection);
                }
                None => self.header = true,
            }
            return;
        }
        // The path from the root down to the object the op changed.
        let Ok(exid) = doc.import_obj(obj) else {
            self.everything = true;
            return;
        };
        let Ok(parents) = doc.parents(&exid) else {
            self.everything = true;
            return;
        };
        let mut path: Vec<Prop> = parents.map(|p| p.prop).collect();
        path.reverse();
        match (path.first(), path.get(1)) {
            (Some(Prop::Map(top)), second) => {
                let record = match second {
                    Some(Prop::Map(record)) => Some(record.clone()),
                    Some(Prop::Seq(_)) => None,
                    None => key,
                };
                match (Collection::parse(top), record) {
                    (Some(collection), Some(record)) => self.record(collection, &record),
                    (Some(collection), None) => {
                        self.whole.insert(collection);
                    }
                    (None, _) => self.header = true,
                }
            }
            _ => self.everything = true,
        }
    }

    /// What a batch of patches (from `AutoCommit::diff`) touched.
    pub fn from_patches(patches: &[Patch]) -> Self {
        let mut touched = Self::none();
        for patch in patches {
            touched.add_patch(patch);
        }
        touched
    }

    fn add_patch(&mut self, patch: &Patch) {
        // The path leads from the root to the patched object; the first step names the
        // collection and the second the record.
        let mut steps = patch.path.iter().map(|(_, prop)| prop);
        let action_key = match &patch.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key.as_str()),
            _ => None,
        };
        match (steps.next(), steps.next()) {
            (Some(Prop::Map(top)), second) => {
                let record = match second {
                    Some(Prop::Map(record)) => Some(record.as_str()),
                    Some(Prop::Seq(_)) => None,
                    None => action_key,
                };
                match (Collection::parse(top), record) {
                    (Some(collection), Some(record)) => self.record(collection, record),
                    (Some(collection), None) => {
                        self.whole.insert(collection);
                    }
                    (None, _) => self.header = true,
                }
            }
            (Some(Prop::Seq(_)), _) => self.everything = true,
            (None, _) => match action_key.and_then(Collection::parse) {
                // The collection map itself was (re)created: read all of it.
                Some(collection) => {
                    self.whole.insert(collection);
                }
                None => self.header = true,
            },
        }
    }
}
