//! Small typed accessors over Automerge maps: read a record's fields in one pass, and
//! learn which device (actor) wrote each field.

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ReadDoc, ScalarValueRef, ValueRef};

use crate::ids::ActorHex;

/// One field's current value, reduced to the kinds the schema uses.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Map(ObjId),
    /// `Null`, or a kind this schema never writes (read as absent).
    Other,
}

/// A field together with the id of the operation that set it.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) val: Val,
    pub(crate) id: ObjId,
}

impl Field {
    /// The device that wrote this value.
    pub(crate) fn actor(&self) -> Option<ActorHex> {
        actor_of(&self.id)
    }
}

/// The actor in an operation id (`None` for the root object).
pub(crate) fn actor_of(id: &ObjId) -> Option<ActorHex> {
    match id {
        ObjId::Root => None,
        ObjId::Id(_, actor, _) => Some(ActorHex::from(actor)),
    }
}

/// The counter and actor of an operation id (`None` for the root object). Counters are
/// Lamport clocks: an operation that causally precedes another has a smaller one.
pub(crate) fn op_of(id: &ObjId) -> Option<(u64, ActorHex)> {
    match id {
        ObjId::Root => None,
        ObjId::Id(counter, actor, _) => Some((*counter, ActorHex::from(actor))),
    }
}

/// All fields of one map, read in a single pass over the map.
#[derive(Debug, Default)]
pub(crate) struct Fields(BTreeMap<String, Field>);

impl Fields {
    pub(crate) fn read<D: ReadDoc>(doc: &D, obj: &ObjId) -> Self {
        let mut fields = BTreeMap::new();
        for item in doc.map_range(obj, ..) {
            let val = match &item.value {
                ValueRef::Object(ObjType::Map) => Val::Map(item.id()),
                ValueRef::Object(_) => Val::Other,
                ValueRef::Scalar(s) => scalar(s),
            };
            fields.insert(item.key.to_string(), Field { val, id: item.id() });
        }
        Self(fields)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Field> {
        self.0.get(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Field)> {
        self.0.iter()
    }

    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        match self.0.get(key).map(|f| &f.val) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A text field, empty when absent.
    pub(crate) fn text(&self, key: &str) -> String {
        self.str(key).unwrap_or_default().to_owned()
    }

    pub(crate) fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key).map(|f| &f.val) {
            Some(Val::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn map(&self, key: &str) -> Option<&ObjId> {
        match self.0.get(key).map(|f| &f.val) {
            Some(Val::Map(id)) => Some(id),
            _ => None,
        }
    }

    /// Which device wrote `key`.
    pub(crate) fn actor(&self, key: &str) -> Option<ActorHex> {
        self.0.get(key).and_then(Field::actor)
    }
}

fn scalar(s: &ScalarValueRef<'_>) -> Val {
    match s {
        ScalarValueRef::Str(s) => Val::Str(s.to_string()),
        ScalarValueRef::Int(i) | ScalarValueRef::Timestamp(i) | ScalarValueRef::Counter(i) => {
            Val::Int(*i)
        }
        ScalarValueRef::Uint(u) => Val::Int(i64::try_from(*u).unwrap_or(i64::MAX)),
        ScalarValueRef::Boolean(b) => Val::Bool(*b),
        _ => Val::Other,
    }
}

/// The keys and object ids of a map of records (e.g. `requests`), skipping any entry
/// that is not a map (a malformed or future-format entry is not ours to read).
pub(crate) fn record_ids<D: ReadDoc>(doc: &D, collection: &ObjId) -> Vec<(String, ObjId)> {
    doc.map_range(collection, ..)
        .filter(|item| matches!(item.value, ValueRef::Object(ObjType::Map)))
        .map(|item| (item.key.to_string(), item.id()))
        .collect()
}

/// The object id of the map at `key` in `obj`, if it is a map.
pub(crate) fn get_map<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((automerge::Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}
