//! One module per record. Each holds, for its record:
//! - the struct the views read, and a `New…` payload for creating one;
//! - its document keys, each spelled once (a private `key` module);
//! - `read` from the document, by hand where the reader must see who wrote a value;
//! - the commands that write it, with the record's limits checked in one place that both
//!   commands and import use;
//! - its JSON form, and its CSV table where it has one.
//!
//! What spans records stays outside: the read model that holds them all
//! ([`crate::model::Team`]), the command enum ([`crate::Command`]) that dispatches here,
//! and the export envelope and Markdown report ([`crate::export`]).

use std::collections::{BTreeSet, HashMap};

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, transaction::Transactable,
};
use serde::{Deserialize, Serialize};

use crate::command::{Applied, CommandError};
use crate::export::{ImportError, ImportReport};
use crate::fields::{Fields, Val, get_map, record_ids};
use crate::ids::{ActorHex, MemberId};
use crate::model::{Member, Team};
use crate::schema::MAX_NAME_CHARS;
use crate::touched::Collection;

pub mod coaching_hour;
pub mod duty;
pub mod edits;
pub mod followup;
pub mod meet;
pub mod member;
pub mod note;
pub mod offer;
pub mod request;
pub mod rota;
pub mod session;
pub mod team_settings;
pub mod thanks;

/// Something in the document that claims to speak for a member but was written by a
/// device that is not theirs. Views ignore it; history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgery {
    /// The member it claims to speak for.
    pub claimed: MemberId,
    /// The device that really wrote it.
    pub actor: ActorHex,
    /// When it claims to have been written.
    pub at_ms: i64,
    /// What it was ("answered yes", "claimed").
    pub what: String,
}

/// Checks and cleans free text.
pub(crate) fn clean_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    required: bool,
) -> Result<String, CommandError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(CommandError::InvalidInput {
            field,
            reason: "must not be empty".into(),
        });
    }
    if text.chars().count() > max_chars {
        return Err(CommandError::InvalidInput {
            field,
            reason: format!("is longer than {max_chars} characters"),
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(CommandError::InvalidInput {
            field,
            reason: "contains control characters".into(),
        });
    }
    Ok(text.to_owned())
}

/// A skill tag: lowercase, trimmed, inner spaces as dashes.
pub fn clean_skill(skill: &str) -> Result<String, CommandError> {
    let tag = skill
        .trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    let tag = clean_text("skill", &tag, MAX_NAME_CHARS, true)?;
    if tag.contains('|') {
        return Err(CommandError::InvalidInput {
            field: "skill",
            reason: "must not contain '|'".into(),
        });
    }
    Ok(tag)
}

/// Skill tags, cleaned, sorted and without repeats.
pub(crate) fn clean_skills<'s>(
    skills: impl IntoIterator<Item = &'s String>,
) -> Result<Vec<String>, CommandError> {
    let mut tags: Vec<String> = skills
        .into_iter()
        .map(|s| clean_skill(s))
        .collect::<Result<_, _>>()?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// A member id stored as text under `key`.
pub(crate) fn opt_member(f: &Fields, key: &str) -> Option<MemberId> {
    f.str(key).and_then(|s| MemberId::parse(s).ok())
}

/// A set of tags stored as `key/<tag>: true`.
pub(crate) fn tags<D: ReadDoc>(doc: &D, f: &Fields, key: &str) -> BTreeSet<String> {
    f.map(key)
        .map(|obj| {
            Fields::read(doc, obj)
                .iter()
                .filter(|(_, v)| matches!(v.val, Val::Bool(true)))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The tags at `key` (as [`tags`]), when the map and every tag in it were written by a
/// member `may_write` allows; `Err` with the device that broke the rule otherwise.
pub(crate) fn tags_by<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    f: &Fields,
    key: &str,
    may_write: impl Fn(&MemberId) -> bool,
) -> Result<BTreeSet<String>, ActorHex> {
    let Some(map) = f.map(key) else {
        return Ok(BTreeSet::new());
    };
    let entries = Fields::read(doc, map);
    let writers = f
        .actor(key)
        .into_iter()
        .chain(entries.iter().filter_map(|(_, v)| v.actor()));
    for writer in writers {
        if !actors.get(&writer).is_some_and(&may_write) {
            return Err(writer);
        }
    }
    Ok(tags(doc, f, key))
}

/// Checks that a field naming the person a record speaks for (a request's author, an
/// offer's or a thanks' sender) and the record itself were written by that person's own
/// trusted devices. The device that broke the rule is returned, for history.
pub(crate) fn check_speaker(
    actors: &HashMap<ActorHex, MemberId>,
    obj: &ObjId,
    f: &Fields,
    named: &MemberId,
    key: &str,
) -> Result<(), ActorHex> {
    for writer in [crate::fields::actor_of(obj), f.actor(key)]
        .into_iter()
        .flatten()
    {
        if actors.get(&writer) != Some(named) {
            return Err(writer);
        }
    }
    Ok(())
}

/// Whether the value at `key` was written by one of `member`'s own trusted devices.
pub(crate) fn written_by(
    actors: &HashMap<ActorHex, MemberId>,
    f: &Fields,
    key: &str,
    member: &MemberId,
) -> bool {
    f.actor(key).is_some_and(|a| actors.get(&a) == Some(member))
}

/// A record as its reader found it: one that counts, or one that breaks a rule on who
/// may write what (it stays in the document and counts for nothing).
pub(crate) enum Read<T> {
    /// The record counts.
    Counts(T),
    /// Written in someone else's name.
    Forged(Forgery),
}

/// Reads a map of `<member> → {…}` entries that only that member may write (claims,
/// answers), splitting them into genuine and forged by the actors that wrote them.
/// Entries without `check_key` are skipped.
pub(crate) fn own_entries<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    obj: Option<&ObjId>,
    check_key: &str,
) -> Vec<(MemberId, Fields, Result<(), ActorHex>)> {
    let Some(obj) = obj else { return Vec::new() };
    record_ids(doc, obj)
        .into_iter()
        .filter_map(|(key, entry)| {
            let member = MemberId::parse(&key).ok()?;
            let f = Fields::read(doc, &entry);
            // Every field must come from the member's own devices: checking only one
            // would let someone flip `answer` on a genuine entry.
            let mut verdict = Ok(());
            for (_, field) in f.iter() {
                if let Some(actor) = field.actor()
                    && actors.get(&actor) != Some(&member)
                {
                    verdict = Err(actor);
                }
            }
            f.get(check_key)?;
            Some((member, f, verdict))
        })
        .collect()
}

/// Writes records into the document.
pub(crate) struct Writer<'a> {
    pub(crate) doc: &'a mut AutoCommit,
}

impl Writer<'_> {
    /// A top-level collection's map.
    pub(crate) fn collection(&self, collection: Collection) -> Result<ObjId, CommandError> {
        get_map(self.doc, &ROOT, collection.key()).ok_or_else(|| {
            CommandError::Document(format!("the document has no {} map", collection.key()))
        })
    }

    /// One record of a collection, which must exist.
    pub(crate) fn record(
        &self,
        collection: Collection,
        kind: &'static str,
        id: &str,
    ) -> Result<ObjId, CommandError> {
        let parent = self.collection(collection)?;
        get_map(self.doc, &parent, id).ok_or_else(|| CommandError::NotFound {
            kind,
            id: id.to_owned(),
        })
    }

    /// A map inside a record, which must exist.
    pub(crate) fn child(&self, obj: &ObjId, key: &str) -> Result<ObjId, CommandError> {
        get_map(self.doc, obj, key)
            .ok_or_else(|| CommandError::Document(format!("record has no {key} map")))
    }

    /// A new map at `key`, replacing whatever was there.
    pub(crate) fn new_map(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, CommandError> {
        Ok(self.doc.put_object(obj, key, ObjType::Map)?)
    }

    pub(crate) fn put(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: impl Into<ScalarValue>,
    ) -> Result<(), CommandError> {
        self.doc.put(obj, key, value)?;
        Ok(())
    }

    /// An optional time: the value, or `Null` to clear it.
    pub(crate) fn put_opt_i64(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: Option<i64>,
    ) -> Result<(), CommandError> {
        match value {
            Some(v) => self.put(obj, key, v),
            None => self.put(obj, key, ScalarValue::Null),
        }
    }

    /// An optional value written only when present.
    pub(crate) fn put_some(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), CommandError> {
        match value {
            Some(v) => self.put(obj, key, v),
            None => Ok(()),
        }
    }

    /// A set of tags as `key/<tag>: true`.
    pub(crate) fn tags(
        &mut self,
        obj: &ObjId,
        key: &str,
        tags: &[String],
    ) -> Result<(), CommandError> {
        let map = self.new_map(obj, key)?;
        for tag in tags {
            self.put(&map, tag, true)?;
        }
        Ok(())
    }
}

/// What a command sees while it runs: the team as read before it, the writer, who acts,
/// and when. Record modules take it as `cx`.
pub(crate) struct Cx<'a> {
    pub(crate) team: &'a Team,
    pub(crate) w: Writer<'a>,
    /// The acting member, checked to be current.
    pub(crate) me: &'a MemberId,
    /// This device's actor.
    pub(crate) my_actor: &'a ActorHex,
    pub(crate) now_ms: i64,
    pub(crate) fresh_id: &'a mut dyn FnMut() -> String,
}

impl Cx<'_> {
    /// A member's name for messages.
    pub(crate) fn name(&self, id: &MemberId) -> String {
        self.team.name_of(id)
    }

    /// A new record id from the environment.
    pub(crate) fn fresh<I: TryFrom<String>>(&mut self) -> Result<I, CommandError> {
        let fresh = (self.fresh_id)();
        I::try_from(fresh.clone()).map_err(|_| {
            CommandError::Document(format!("the environment gave {fresh:?}, not a UUID"))
        })
    }

    /// A member who is still in the team.
    pub(crate) fn current_member(&self, id: &MemberId) -> Result<&Member, CommandError> {
        current_member(self.team, id)
    }
}

/// A member who is still in the team.
pub(crate) fn current_member<'t>(
    team: &'t Team,
    id: &MemberId,
) -> Result<&'t Member, CommandError> {
    let member = team.members.get(id).ok_or_else(|| CommandError::NotFound {
        kind: "member",
        id: id.to_string(),
    })?;
    if !member.is_current() {
        return Err(CommandError::MemberRemoved {
            name: member.name.clone(),
        });
    }
    Ok(member)
}

/// A command's result without a new record.
pub(crate) fn done(summary: impl Into<String>) -> Result<Applied, CommandError> {
    Ok(Applied {
        created: None,
        summary: summary.into(),
    })
}

/// What an import sees: the team before it, the writer, the importer, the members it may
/// name, and the report it adds to.
pub(crate) struct ImportCx<'a> {
    pub(crate) team: &'a Team,
    pub(crate) w: Writer<'a>,
    pub(crate) me: &'a MemberId,
    pub(crate) now_ms: i64,
    /// Members of the team or of the export.
    pub(crate) known: BTreeSet<MemberId>,
    /// Names from the export, for members this copy does not know yet.
    pub(crate) export_names: HashMap<MemberId, String>,
    pub(crate) report: ImportReport,
}

impl ImportCx<'_> {
    /// Refuses a record naming someone neither the team nor the export knows.
    pub(crate) fn check_member(&self, id: &MemberId, of: &dyn ToString) -> Result<(), ImportError> {
        if self.known.contains(id) {
            Ok(())
        } else {
            Err(ImportError::Record {
                id: of.to_string(),
                error: CommandError::NotFound {
                    kind: "member",
                    id: id.to_string(),
                },
            })
        }
    }

    /// A member's name from this copy or the export.
    pub(crate) fn name(&self, id: &MemberId) -> String {
        self.team
            .members
            .get(id)
            .map(|m| m.name.clone())
            .or_else(|| self.export_names.get(id).cloned())
            .unwrap_or_else(|| id.short().to_owned())
    }
}

/// Turns a record's rule violation into an import error naming the record.
pub(crate) fn record_err(id: &impl ToString) -> impl Fn(CommandError) -> ImportError + '_ {
    move |error| ImportError::Record {
        id: id.to_string(),
        error,
    }
}

/// One CSV line (RFC 4180 quoting).
pub(crate) fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            let s = f.as_ref();
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// A stored number as `u32`, when it is one.
pub(crate) fn opt_u32(f: &Fields, key: &str) -> Option<u32> {
    f.int(key).and_then(|m| u32::try_from(m).ok())
}

/// The map at `obj/key`, made if it is not there yet (entries created on first use).
pub(crate) fn map_or_new(
    w: &mut Writer<'_>,
    obj: &ObjId,
    key: &str,
) -> Result<ObjId, CommandError> {
    match get_map(w.doc, obj, key) {
        Some(m) => Ok(m),
        None => w.new_map(obj, key),
    }
}

/// Reads a collection's records into a map by id, skipping keys that are not ids.
pub(crate) fn read_entries<D: ReadDoc, I: Ord, T>(
    doc: &D,
    obj: Option<&ObjId>,
    mut read: impl FnMut(&D, I, &ObjId) -> Option<T>,
    parse: impl Fn(&str) -> Option<I>,
) -> Vec<T> {
    obj.map(|o| {
        record_ids(doc, o)
            .into_iter()
            .filter_map(|(key, entry)| read(doc, parse(&key)?, &entry))
            .collect()
    })
    .unwrap_or_default()
}
