//! A duty in someone's handover plan, with the apprentices learning it
//! (shadow → co-do → lead).
//!
//! ```text
//! duties/<duty>: {owner, title, notes, created_ms, deleted_ms?, restored_ms?, edit:<id>…,
//!                 backfills/<member>: {stage, updated_ms, answer?, answered_ms?}}
//! ```
//!
//! Nobody is made an apprentice without saying yes: a stage set by the duty's owner (or
//! whoever listed it) for someone new is a question, which counts once the apprentice's
//! own device writes `answer: "yes"`. An apprentice who puts themselves on a duty needs
//! no yes. A stage or an answer written by anyone else counts for nothing.

use std::collections::BTreeMap;

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use super::edits::{self, Edit};
use super::{
    Cx, Forgery, ImportCx, Writer, clean_text, done, map_or_new, opt_member, read_entries,
    record_err,
};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::Fields;
use crate::fields::{actor_of, op_of};
use crate::ids::ActorHex;
use crate::ids::{DutyId, MemberId};
use crate::model::Team;
use crate::schema::{MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::touched::Collection;

/// The document keys of a duty.
mod key {
    pub(super) const OWNER: &str = "owner";
    pub(super) const TITLE: &str = "title";
    pub(super) const NOTES: &str = "notes";
    pub(super) const CREATED_MS: &str = "created_ms";
    pub(super) const DELETED_MS: &str = "deleted_ms";
    /// Taken out of the trash: a removal at or before it no longer counts.
    pub(super) const RESTORED_MS: &str = "restored_ms";
    pub(super) const BACKFILLS: &str = "backfills";
    /// In a backfill.
    pub(super) const STAGE: &str = "stage";
    /// In a backfill.
    pub(super) const UPDATED_MS: &str = "updated_ms";
    /// In a backfill: the apprentice's "yes" or "no" (anything else: not answered).
    pub(super) const ANSWER: &str = "answer";
    /// In a backfill.
    pub(super) const ANSWERED_MS: &str = "answered_ms";
    /// In a backfill: when the owner (or lister) last asked; an answer must come after.
    pub(super) const ASKED_MS: &str = "asked_ms";
}

/// The stored stage of an apprentice who was taken off a duty.
const NO_STAGE: &str = "none";

/// An apprentice's stage on a duty: shadow → co-do → lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Watches the owner do it.
    Shadow,
    /// Does it together with the owner.
    CoDo,
    /// Leads it; the owner only backs up. A trained backfill.
    Lead,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 3] = [Self::Shadow, Self::CoDo, Self::Lead];

    /// The stored and typed form: `shadow`, `co-do`, `lead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shadow => "shadow",
            Self::CoDo => "co-do",
            Self::Lead => "lead",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// An apprentice on a duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The apprentice.
    pub apprentice: MemberId,
    /// Their stage.
    pub stage: Stage,
    /// Last stage change.
    pub updated_ms: i64,
    /// Who set the stage (the owner, whoever listed the duty, or the apprentice).
    #[serde(default)]
    pub by: Option<MemberId>,
}

/// A duty in someone's handover plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duty {
    /// Id.
    pub id: DutyId,
    /// Who does it today.
    pub owner: MemberId,
    /// What it is.
    pub title: String,
    /// Notes.
    pub notes: String,
    /// When listed.
    pub created_ms: i64,
    /// In the trash since then (a removal that a later restore took back does not count).
    pub deleted_ms: Option<i64>,
    /// Last taken out of the trash.
    #[serde(default)]
    pub restored_ms: Option<i64>,
    /// Who put it in the trash, or last took it out (its owner or whoever listed it).
    #[serde(default)]
    pub trashed_by: Option<MemberId>,
    /// Who listed it (when the device that did is known).
    #[serde(default)]
    pub listed_by: Option<MemberId>,
    /// Renames, oldest first.
    #[serde(default)]
    pub edits: Vec<Edit>,
    /// Renames by anyone but its owner or whoever listed it: they count for nothing.
    #[serde(default)]
    pub ignored: Vec<Forgery>,
    /// Apprentices who said yes (or put themselves on it).
    pub backfills: Vec<Backfill>,
    /// People asked to be an apprentice, who have not answered yet.
    #[serde(default)]
    pub asked: Vec<Backfill>,
    /// People who said no to being asked.
    #[serde(default)]
    pub declined: Vec<MemberId>,
}

impl Duty {
    /// Someone can step in: an apprentice at co-do or lead.
    pub fn has_trained_backfill(&self) -> bool {
        self.backfills.iter().any(|b| b.stage >= Stage::CoDo)
    }
}

/// A duty to list: `Command::AddDuty(NewDuty { title, ..Default::default() })`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDuty {
    /// Title.
    pub title: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Owner (default: me).
    #[serde(default)]
    pub owner: Option<MemberId>,
}

impl NewDuty {
    /// A duty's own limits, the same for listing and import.
    fn check(mut self) -> Result<Self, CommandError> {
        self.title = clean_text("title", &self.title, MAX_TITLE_CHARS, true)?;
        self.notes = clean_text("notes", &self.notes, MAX_TEXT_CHARS, false)?;
        Ok(self)
    }

    /// Writes a checked duty owned by `owner`.
    fn write(
        &self,
        w: &mut Writer<'_>,
        id: &DutyId,
        owner: &MemberId,
        created_ms: i64,
    ) -> Result<ObjId, CommandError> {
        let parent = w.collection(Collection::Duties)?;
        let obj = w.new_map(&parent, id.as_str())?;
        w.put(&obj, key::OWNER, owner.as_str())?;
        w.put(&obj, key::TITLE, self.title.as_str())?;
        w.put(&obj, key::NOTES, self.notes.as_str())?;
        w.put(&obj, key::CREATED_MS, created_ms)?;
        w.new_map(&obj, key::BACKFILLS)?;
        Ok(obj)
    }
}

/// Reads one duty; `None` without an owner, or listed by a device no member trusts. An
/// apprentice taken off reads as absent. The owner is whoever listed it named: rewritten by
/// anyone else, the lister is the owner. Its name, notes and trash marks are the owner's or
/// the lister's to write: anyone else's count for nothing (a name then reads as the last
/// genuine rename's, or as none). All such writes are flagged.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &DutyId,
    obj: &ObjId,
) -> Option<Duty> {
    let f = Fields::read(doc, obj);
    let lister = actor_of(obj).and_then(|a| actors.get(&a).cloned())?;
    let created_ms = f.int(key::CREATED_MS).unwrap_or(0);
    let mut ignored = Vec::new();
    let mut flag = |claimed: &MemberId, actor: ActorHex, what: String| {
        ignored.push(Forgery {
            claimed: claimed.clone(),
            actor,
            at_ms: created_ms,
            what,
        });
    };
    let named = opt_member(&f, key::OWNER)?;
    let owner = match f.actor(key::OWNER) {
        Some(writer) if actors.get(&writer) != Some(&lister) => {
            flag(
                &named,
                writer,
                "made someone else the owner of a duty".into(),
            );
            lister.clone()
        }
        _ => named,
    };
    let entitled = |m: &MemberId| m == &owner || m == &lister;
    // A field only the owner or the lister writes: anyone else's counts for nothing.
    let mut theirs = |key: &str, what: &str| match f.actor(key) {
        Some(writer) if !actors.get(&writer).is_some_and(entitled) => {
            flag(&owner, writer, format!("{what} a duty that is not theirs"));
            false
        }
        _ => true,
    };
    let notes = if theirs(key::NOTES, "rewrote the notes of") {
        f.text(key::NOTES)
    } else {
        String::new()
    };
    let restored_ms = f
        .int(key::RESTORED_MS)
        .filter(|_| theirs(key::RESTORED_MS, "restored"));
    let deleted_ms = crate::trash::in_trash(
        f.int(key::DELETED_MS)
            .filter(|_| theirs(key::DELETED_MS, "removed")),
        restored_ms,
    );
    let renamed_by_right = theirs(key::TITLE, "renamed");
    let (edits, forged_edits) = edits::read(doc, actors, obj, &f, entitled, &owner);
    ignored.extend(forged_edits);
    let title = if renamed_by_right {
        f.text(key::TITLE)
    } else {
        edits
            .iter()
            .rev()
            .find(|e| e.field == key::TITLE)
            .map(|e| e.value.clone())
            .unwrap_or_default()
    };
    // Each apprentice's entry, with whether they said yes.
    let entries = read_entries(
        doc,
        f.map(key::BACKFILLS),
        |doc, apprentice: MemberId, entry| {
            let b = Fields::read(doc, entry);
            let setter = b.actor(key::STAGE).and_then(|a| actors.get(&a).cloned());
            let at_ms = b.int(key::UPDATED_MS).unwrap_or(0);
            let forgery = |k: &str, what: &str| {
                b.actor(k).map(|actor| Forgery {
                    claimed: apprentice.clone(),
                    actor,
                    at_ms,
                    what: what.into(),
                })
            };
            // A stage set by anyone but the owner, the lister or the apprentice.
            if setter
                .as_ref()
                .is_none_or(|s| !entitled(s) && s != &apprentice)
            {
                let forged = forgery(
                    key::STAGE,
                    "made someone an apprentice on a duty that is not theirs",
                );
                return Some((None, forged.into_iter().collect::<Vec<_>>()));
            }
            let (said, forged) = answer_of(&b, actors, &apprentice, &entitled);
            let forged: Vec<Forgery> = forged
                .into_iter()
                .filter_map(|(k, what)| forgery(k, what))
                .collect();
            // Off the duty, a no still says who declined. An apprentice moves themselves
            // no further than shadow: co-do and lead are the owner's word.
            let stage = b
                .str(key::STAGE)
                .and_then(Stage::parse)
                .map(|stage| match &setter {
                    Some(s) if s == &apprentice && !entitled(s) => stage.min(Stage::Shadow),
                    _ => stage,
                });
            let entry = match (stage, said) {
                (_, Some(false)) => Some(Err(apprentice.clone())),
                (Some(stage), said) => Some(Ok((
                    Backfill {
                        apprentice: apprentice.clone(),
                        stage,
                        updated_ms: at_ms,
                        by: setter,
                    },
                    said,
                ))),
                (None, _) => None,
            };
            Some((entry, forged))
        },
        |key| MemberId::parse(key).ok(),
    );
    let (mut backfills, mut asked, mut declined) = (Vec::new(), Vec::new(), Vec::new());
    for (entry, forged) in entries {
        ignored.extend(forged);
        match entry {
            Some(Ok((b, Some(true)))) => backfills.push(b),
            Some(Ok((b, _))) => asked.push(b),
            Some(Err(no)) => declined.push(no),
            None => {}
        }
    }
    Some(Duty {
        id: id.clone(),
        owner,
        title,
        notes,
        created_ms,
        trashed_by: match deleted_ms {
            Some(_) => f.actor(key::DELETED_MS),
            None => f.actor(key::RESTORED_MS),
        }
        .and_then(|a| actors.get(&a).cloned()),
        deleted_ms,
        restored_ms,
        listed_by: Some(lister),
        edits,
        ignored,
        backfills,
        asked,
        declined,
    })
}

/// No such duty.
fn not_found(duty: &DutyId) -> CommandError {
    CommandError::NotFound {
        kind: "duty",
        id: duty.to_string(),
    }
}

/// Refuses `action` to anyone but the duty's owner or whoever listed it.
fn in_charge(cx: &Cx<'_>, d: &Duty, action: &'static str) -> Result<(), CommandError> {
    if cx.me == &d.owner || Some(cx.me) == d.listed_by.as_ref() {
        return Ok(());
    }
    Err(CommandError::NotYours {
        who: cx.name(&d.owner),
        action,
    })
}

/// A duty that is not in the trash.
fn live<'t>(team: &'t Team, duty: &DutyId) -> Result<&'t Duty, CommandError> {
    team.duties
        .get(duty)
        .filter(|d| d.deleted_ms.is_none())
        .ok_or_else(|| not_found(duty))
}

/// An apprentice's answer to the last time they were asked: `Some(yes)` once their own
/// device answered after it (an answer counts from the apprentice alone; an ask from the
/// owner or the lister alone), `None` while the question is open. Also the keys that
/// someone else wrote, with what that was, to flag.
fn answer_of(
    b: &Fields,
    actors: &HashMap<ActorHex, MemberId>,
    apprentice: &MemberId,
    entitled: &impl Fn(&MemberId) -> bool,
) -> (Option<bool>, Vec<(&'static str, &'static str)>) {
    let mut forged = Vec::new();
    let writer = |k: &str| b.actor(k).and_then(|a| actors.get(&a).cloned());
    let op = |k: &str| b.get(k).and_then(|field| op_of(&field.id)).map(|(c, _)| c);
    let answer = match b.str(key::ANSWER) {
        Some(a) if writer(key::ANSWER).as_ref() == Some(apprentice) => match a {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        Some(_) => {
            forged.push((
                key::ANSWER,
                "answered for someone asked to be an apprentice",
            ));
            None
        }
        None => None,
    };
    let asked = match b.get(key::ASKED_MS) {
        Some(_) if writer(key::ASKED_MS).is_some_and(|w| entitled(&w)) => op(key::ASKED_MS),
        Some(_) => {
            forged.push((
                key::ASKED_MS,
                "asked someone to be an apprentice on a duty that is not theirs",
            ));
            None
        }
        None => None,
    };
    // An answer before the last ask (a Lamport counter grows along every causal chain)
    // does not answer it.
    let said = answer.filter(|_| asked.is_none_or(|ask| op(key::ANSWER).is_some_and(|a| a > ask)));
    (said, forged)
}

/// Whether `apprentice` said yes to the last ask on a duty: they stay an apprentice when
/// taken off and put back, without being asked again.
fn said_yes(cx: &Cx<'_>, duty: &ObjId, apprentice: &MemberId, d: &Duty) -> bool {
    let Some(backfills) = crate::fields::get_map(cx.w.doc, duty, key::BACKFILLS) else {
        return false;
    };
    let Some(entry) = crate::fields::get_map(cx.w.doc, &backfills, apprentice.as_str()) else {
        return false;
    };
    let b = Fields::read(cx.w.doc, &entry);
    let entitled = |m: &MemberId| m == &d.owner || Some(m) == d.listed_by.as_ref();
    answer_of(&b, cx.team.actors(), apprentice, &entitled).0 == Some(true)
}

/// Lists a duty.
pub(crate) fn add(cx: &mut Cx<'_>, new: NewDuty) -> Result<Applied, CommandError> {
    let new = new.check()?;
    let owner = new.owner.clone().unwrap_or_else(|| cx.me.clone());
    cx.current_member(&owner)?;
    let id: DutyId = cx.fresh()?;
    new.write(&mut cx.w, &id, &owner, cx.now_ms)?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: format!("duty: {}", new.title),
    })
}

/// Sets an apprentice's stage on a duty (`None` takes them off).
pub(crate) fn set_backfill(
    cx: &mut Cx<'_>,
    duty: &DutyId,
    apprentice: &MemberId,
    stage: Option<Stage>,
) -> Result<Applied, CommandError> {
    let d = live(cx.team, duty)?;
    cx.current_member(apprentice)?;
    if apprentice == &d.owner {
        return Err(CommandError::InvalidInput {
            field: "apprentice",
            reason: "the owner cannot be their own backfill".into(),
        });
    }
    let me_apprentice = apprentice == cx.me;
    if !me_apprentice {
        in_charge(cx, d, "make someone an apprentice on this duty")?;
    }
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    let agreed = said_yes(cx, &obj, apprentice, d);
    let backfills = cx.w.child(&obj, key::BACKFILLS)?;
    let b = map_or_new(&mut cx.w, &backfills, apprentice.as_str())?;
    // A new operation even when the stage is the same: the writer is who says it now.
    cx.w.put(&b, key::STAGE, "")?;
    cx.w.put(&b, key::STAGE, stage.map(Stage::as_str).unwrap_or(NO_STAGE))?;
    cx.w.put(&b, key::UPDATED_MS, cx.now_ms)?;
    let name = cx.name(apprentice);
    match stage {
        // Stepping off myself is my no: putting me back asks again.
        None if me_apprentice => {
            say(cx, &b, "no")?;
            done(format!("you are off {}", d.title))
        }
        None => done(format!("{name} is off {}", d.title)),
        // My own say: no yes needed.
        Some(stage) if me_apprentice => {
            say(cx, &b, "yes")?;
            done(format!("you are at {} on {}", stage.as_str(), d.title))
        }
        Some(stage) if agreed => done(format!("{name} on {}: {}", d.title, stage.as_str())),
        // Someone new, or who said no before: a question again.
        Some(stage) => {
            // A new value, even on the same millisecond: an equal one writes nothing.
            let before = Fields::read(cx.w.doc, &b).int(key::ASKED_MS);
            let at = crate::trash::mark_after(cx.now_ms, before);
            cx.w.put(&b, key::ASKED_MS, at)?;
            done(format!(
                "asked {name} to {} on {}: it counts once they say yes",
                stage.as_str(),
                d.title
            ))
        }
    }
}

/// Writes the apprentice's answer as a new operation, even when it is the same word as
/// before (an equal value writes nothing, and the answer must come after the last ask).
fn say(cx: &mut Cx<'_>, entry: &ObjId, answer: &str) -> Result<(), CommandError> {
    cx.w.put(entry, key::ANSWER, "")?;
    cx.w.put(entry, key::ANSWER, answer)?;
    cx.w.put(entry, key::ANSWERED_MS, cx.now_ms)
}

/// The apprentice answers being asked onto a duty.
pub(crate) fn answer(cx: &mut Cx<'_>, duty: &DutyId, yes: bool) -> Result<Applied, CommandError> {
    let d = live(cx.team, duty)?;
    let Some(ask) = d.asked.iter().find(|b| &b.apprentice == cx.me) else {
        return Err(CommandError::InvalidInput {
            field: "duty",
            reason: format!("nobody has asked you to be an apprentice on {}", d.title),
        });
    };
    let stage = ask.stage;
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    let backfills = cx.w.child(&obj, key::BACKFILLS)?;
    let b = cx.w.child(&backfills, cx.me.as_str())?;
    say(cx, &b, if yes { "yes" } else { "no" })?;
    if yes {
        done(format!("you are at {} on {}", stage.as_str(), d.title))
    } else {
        done(format!("you said no to {}", d.title))
    }
}

/// Puts a duty in the trash.
pub(crate) fn remove(cx: &mut Cx<'_>, duty: &DutyId) -> Result<Applied, CommandError> {
    let d = live(cx.team, duty)?;
    in_charge(cx, d, "remove this duty")?;
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    // After the restore it follows, whatever this device's clock says.
    let at = crate::trash::mark_after(cx.now_ms, d.restored_ms);
    cx.w.put(&obj, key::DELETED_MS, at)?;
    done(format!(
        "duty removed: {} (in the trash for 30 days)",
        d.title
    ))
}

/// Renames a duty (its owner, or whoever listed it).
pub(crate) fn rename(cx: &mut Cx<'_>, duty: &DutyId, title: &str) -> Result<Applied, CommandError> {
    let d = live(cx.team, duty)?;
    in_charge(cx, d, "rename this duty")?;
    let title = clean_text("title", title, MAX_TITLE_CHARS, true)?;
    if title == d.title {
        return done("nothing changed");
    }
    let old = d.title.clone();
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    cx.w.put(&obj, key::TITLE, title.as_str())?;
    edits::note(cx, &obj, key::TITLE, &title)?;
    done(format!("renamed the duty {old:?} to {title:?}"))
}

/// Takes a duty out of the trash, within the days it is kept. A new change: the removal
/// stays in the record, and a later one counts again.
pub(crate) fn restore(cx: &mut Cx<'_>, duty: &DutyId) -> Result<Applied, CommandError> {
    let d = cx.team.duties.get(duty).ok_or_else(|| not_found(duty))?;
    in_charge(cx, d, "restore this duty")?;
    let Some(deleted_ms) = d.deleted_ms else {
        return done("not in the trash");
    };
    crate::trash::still_kept("duty", deleted_ms, cx.now_ms)?;
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    cx.w.put(&obj, key::RESTORED_MS, cx.now_ms.max(deleted_ms))?;
    done(format!("duty restored: {}", d.title))
}

/// A duty in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyOut {
    /// Id.
    pub id: DutyId,
    /// Owner.
    pub owner: MemberId,
    /// Title.
    pub title: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Apprentices and stages.
    #[serde(default)]
    pub backfills: BTreeMap<MemberId, Stage>,
}

impl DutyOut {
    /// The export of the duties that were not removed.
    pub(crate) fn all(team: &Team) -> Vec<Self> {
        team.duties
            .values()
            .filter(|d| d.deleted_ms.is_none())
            .map(|d| DutyOut {
                id: d.id.clone(),
                owner: d.owner.clone(),
                title: d.title.clone(),
                notes: d.notes.clone(),
                backfills: d
                    .backfills
                    .iter()
                    .map(|b| (b.apprentice.clone(), b.stage))
                    .collect(),
            })
            .collect()
    }

    /// Restores this duty if the copy lacks it, under the same limits as listing one.
    pub(crate) fn import(&self, cx: &mut ImportCx<'_>) -> Result<(), ImportError> {
        if cx.team.duties.contains_key(&self.id) {
            cx.report.already_present += 1;
            return Ok(());
        }
        cx.check_member(&self.owner, &self.id)?;
        let new = NewDuty {
            title: self.title.clone(),
            notes: self.notes.clone(),
            owner: Some(self.owner.clone()),
        }
        .check()
        .map_err(record_err(&self.id))?;
        let obj = new.write(&mut cx.w, &self.id, &self.owner, cx.now_ms)?;
        let b = cx.w.child(&obj, key::BACKFILLS)?;
        for (apprentice, stage) in &self.backfills {
            cx.check_member(apprentice, &self.id)?;
            let e = cx.w.new_map(&b, apprentice.as_str())?;
            cx.w.put(&e, key::STAGE, stage.as_str())?;
            cx.w.put(&e, key::UPDATED_MS, cx.now_ms)?;
        }
        cx.report.added += 1;
        Ok(())
    }
}
