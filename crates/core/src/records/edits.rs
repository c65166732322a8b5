//! Edits of a record's fields, kept beside the record so that History can say who
//! changed what, and to what.
//!
//! ```text
//! <record>/edit:<uuid>: {field, value, at_ms}
//! ```
//!
//! The field itself is overwritten in place, so two concurrent edits of one field keep one
//! value, the same on every device (Automerge's order of concurrent writes). Each edit
//! also leaves its own entry, under a fresh key in the record (never in a shared map that
//! two devices could each create, where one map would hide the other's entries), so the
//! value that lost is not lost silently: History shows both edits, and an edit of a text
//! field whose value is among the concurrent ones Automerge kept says so
//! ([`Edit::concurrent`]; skills, dates and lengths are not marked).
//!
//! An entry counts only when the record's rules let its writer edit: the entry and every
//! value in it must come from an entitled member's own device. Anyone else's counts for
//! nothing and is flagged.

use std::collections::HashMap;

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::{Cx, Forgery};
use crate::command::CommandError;
use crate::fields::{Fields, Val, actor_of};
use crate::ids::{ActorHex, MemberId};

/// The key prefix of an edit entry in a record.
const PREFIX: &str = "edit:";

/// The keys of an edit entry.
mod key {
    pub(super) const FIELD: &str = "field";
    pub(super) const VALUE: &str = "value";
    pub(super) const AT_MS: &str = "at_ms";
}

/// One edit of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// Who made it.
    pub by: MemberId,
    /// When.
    pub at_ms: i64,
    /// The field's key in the record ("title", "tried", "at_ms"): [`Edit::field_name`]
    /// says it in words.
    pub field: String,
    /// The new value, as people read it.
    pub value: String,
    /// Another edit of the same field was made at the same time (neither device had seen
    /// the other's): one value is kept, and this says the other was not.
    #[serde(default)]
    pub concurrent: bool,
}

impl Edit {
    /// The field, as people call it.
    pub fn field_name(&self) -> &str {
        match self.field.as_str() {
            "tried" => "what was tried",
            "learning" => "shared learning",
            "at_ms" => "date",
            "minutes" => "length",
            "title" => "title",
            "topic" => "topic",
            "notes" => "notes",
            "skills" => "skills",
            "urgency" => "urgency",
            other => other,
        }
    }
}

/// A text field of a record, with its limits.
pub(crate) struct Text {
    /// Its key in the record.
    pub(crate) key: &'static str,
    /// Its name in errors.
    pub(crate) name: &'static str,
    /// The most characters it holds.
    pub(crate) max_chars: usize,
    /// Whether it may be empty.
    pub(crate) required: bool,
}

/// Sets a text field to `new` (cleaned to its limits) when one is given and it differs
/// from `old`, with an entry for History; whether it changed.
pub(crate) fn set_text(
    cx: &mut Cx<'_>,
    obj: &ObjId,
    text: Text,
    new: Option<&str>,
    old: &str,
) -> Result<bool, CommandError> {
    let Some(new) = new else { return Ok(false) };
    let new = super::clean_text(text.name, new, text.max_chars, text.required)?;
    if new == old {
        return Ok(false);
    }
    cx.w.put(obj, text.key, new.as_str())?;
    note(cx, obj, text.key, &new)?;
    Ok(true)
}

/// Sets the skill tags at `key` to `new` (cleaned) when given and different from `old`,
/// with an entry for History; whether they changed.
pub(crate) fn set_tags(
    cx: &mut Cx<'_>,
    obj: &ObjId,
    key: &str,
    new: Option<&[String]>,
    old: &std::collections::BTreeSet<String>,
) -> Result<bool, CommandError> {
    let Some(new) = new else { return Ok(false) };
    let new = super::clean_skills(new)?;
    if new.iter().eq(old.iter()) {
        return Ok(false);
    }
    cx.w.tags(obj, key, &new)?;
    note(cx, obj, key, &new.join(", "))?;
    Ok(true)
}

/// Records that `me` set `field` to `value` (after writing the field itself).
pub(crate) fn note(
    cx: &mut Cx<'_>,
    obj: &ObjId,
    field: &str,
    value: &str,
) -> Result<(), CommandError> {
    let id: crate::ids::RequestId = cx.fresh()?;
    let entry = cx.w.new_map(obj, &format!("{PREFIX}{id}"))?;
    cx.w.put(&entry, key::FIELD, field)?;
    cx.w.put(&entry, key::VALUE, value)?;
    cx.w.put(&entry, key::AT_MS, cx.now_ms)?;
    Ok(())
}

/// The edits in a record whose fields are `f`, oldest first: those by members `may_edit`
/// allows, and the forgeries of everyone else (claiming to speak for `claimed`).
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    obj: &ObjId,
    f: &Fields,
    may_edit: impl Fn(&MemberId) -> bool,
    claimed: &MemberId,
) -> (Vec<Edit>, Vec<Forgery>) {
    let mut edits = Vec::new();
    let mut forged = Vec::new();
    for (name, field) in f.iter() {
        if !name.starts_with(PREFIX) {
            continue;
        }
        let Val::Map(entry) = &field.val else {
            continue;
        };
        let e = Fields::read(doc, entry);
        let at_ms = e.int(key::AT_MS).unwrap_or(0);
        let writers: Vec<ActorHex> = std::iter::once(actor_of(entry))
            .chain(e.iter().map(|(_, v)| v.actor()))
            .flatten()
            .collect();
        let by = writers.first().and_then(|a| actors.get(a)).cloned();
        let genuine = by
            .as_ref()
            .filter(|by| may_edit(by) && writers.iter().all(|w| actors.get(w) == Some(*by)));
        let what = e.text(key::FIELD);
        match genuine {
            Some(by) => {
                edits.push(Edit {
                    by: by.clone(),
                    at_ms,
                    field: what,
                    value: e.text(key::VALUE),
                    concurrent: false,
                });
            }
            None => {
                if let Some(actor) = writers.into_iter().find(|w| {
                    actors
                        .get(w)
                        .is_none_or(|m| !may_edit(m) || Some(m) != by.as_ref())
                }) {
                    forged.push(Forgery {
                        claimed: claimed.clone(),
                        actor,
                        at_ms,
                        what: format!("edited the {what} of a record that is not theirs"),
                    });
                }
            }
        }
    }
    // Concurrent writes of one text field that no later write settled: Automerge keeps
    // all of them and shows one. Every edit whose value is among them says so.
    for e in &mut edits {
        let values: Vec<String> = doc
            .get_all(obj, e.field.as_str())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(v, _)| v.into_string().ok())
            .collect();
        e.concurrent = values.len() > 1 && values.contains(&e.value);
    }
    edits.sort_by(|a, b| (a.at_ms, &a.field, &a.value).cmp(&(b.at_ms, &b.field, &b.value)));
    (edits, forged)
}
