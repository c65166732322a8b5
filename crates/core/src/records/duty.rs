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
use crate::fields::actor_of;
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

/// Reads one duty; `None` without an owner. An apprentice taken off reads as absent. Its
/// name is its owner's, or whoever listed it: a rename by anyone else counts for nothing
/// (the name reads as the last genuine rename's, or as none).
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &DutyId,
    obj: &ObjId,
) -> Option<Duty> {
    let f = Fields::read(doc, obj);
    let owner = opt_member(&f, key::OWNER)?;
    let lister = actor_of(obj).and_then(|a| actors.get(&a).cloned());
    let entitled = |m: &MemberId| m == &owner || Some(m) == lister.as_ref();
    let (edits, mut ignored) = edits::read(doc, actors, obj, &f, entitled, &owner);
    let title = match f.actor(key::TITLE) {
        Some(writer) if !actors.get(&writer).is_some_and(entitled) => {
            ignored.push(Forgery {
                claimed: owner.clone(),
                actor: writer,
                at_ms: f.int(key::CREATED_MS).unwrap_or(0),
                what: format!(
                    "renamed a duty that is not theirs to \"{}\"",
                    f.text(key::TITLE)
                ),
            });
            edits
                .iter()
                .rev()
                .find(|e| e.field == key::TITLE)
                .map(|e| e.value.clone())
                .unwrap_or_default()
        }
        _ => f.text(key::TITLE),
    };
    let restored_ms = f.int(key::RESTORED_MS);
    // Each apprentice's entry, with whether they said yes.
    let entries = read_entries(
        doc,
        f.map(key::BACKFILLS),
        |doc, apprentice: MemberId, entry| {
            let b = Fields::read(doc, entry);
            let member_of = |k: &str| b.actor(k).and_then(|a| actors.get(&a).cloned());
            let setter = member_of(key::STAGE);
            let at_ms = b.int(key::UPDATED_MS).unwrap_or(0);
            // A stage set by anyone but the owner, the lister or the apprentice.
            if setter
                .as_ref()
                .is_none_or(|s| !entitled(s) && s != &apprentice)
            {
                let forged = b.actor(key::STAGE).map(|actor| Forgery {
                    claimed: apprentice,
                    actor,
                    at_ms,
                    what: "made someone an apprentice on a duty that is not theirs".into(),
                });
                return Some((None, forged));
            }
            // An answer counts from the apprentice's own device; anyone else's is flagged
            // and the question stays open.
            let mut forged = None;
            let answer = match b.str(key::ANSWER).filter(|a| matches!(*a, "yes" | "no")) {
                Some(a) if member_of(key::ANSWER).as_ref() == Some(&apprentice) => Some(a == "yes"),
                Some(_) => {
                    forged = b.actor(key::ANSWER).map(|actor| Forgery {
                        claimed: apprentice.clone(),
                        actor,
                        at_ms,
                        what: "answered for someone asked to be an apprentice".into(),
                    });
                    None
                }
                None => None,
            };
            // On it by their own hand, or by their yes.
            let own = setter.as_ref() == Some(&apprentice)
                || actor_of(entry).and_then(|a| actors.get(&a)) == Some(&apprentice);
            let yes = answer.unwrap_or(own);
            let said = if answer.is_some() || own {
                Some(yes)
            } else {
                None
            };
            let entry = b.str(key::STAGE).and_then(Stage::parse).map(|stage| {
                (
                    Backfill {
                        apprentice,
                        stage,
                        updated_ms: at_ms,
                        by: setter,
                    },
                    said,
                )
            });
            Some((entry, forged))
        },
        |key| MemberId::parse(key).ok(),
    );
    let (mut backfills, mut asked, mut declined) = (Vec::new(), Vec::new(), Vec::new());
    for (entry, forged) in entries {
        ignored.extend(forged);
        match entry {
            Some((b, Some(true))) => backfills.push(b),
            Some((b, None)) => asked.push(b),
            Some((b, Some(false))) => declined.push(b.apprentice),
            None => {}
        }
    }
    Some(Duty {
        id: id.clone(),
        owner,
        title,
        notes: f.text(key::NOTES),
        created_ms: f.int(key::CREATED_MS).unwrap_or(0),
        deleted_ms: f
            .int(key::DELETED_MS)
            .filter(|d| restored_ms.is_none_or(|r| *d > r)),
        restored_ms,
        listed_by: lister,
        edits,
        ignored,
        backfills,
        asked,
        declined,
    })
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
    let d = cx
        .team
        .duties
        .get(duty)
        .filter(|d| d.deleted_ms.is_none())
        .ok_or_else(|| CommandError::NotFound {
            kind: "duty",
            id: duty.to_string(),
        })?;
    cx.current_member(apprentice)?;
    if apprentice == &d.owner {
        return Err(CommandError::InvalidInput {
            field: "apprentice",
            reason: "the owner cannot be their own backfill".into(),
        });
    }
    let me_apprentice = apprentice == cx.me;
    let in_charge = cx.me == &d.owner || Some(cx.me) == d.listed_by.as_ref();
    if !me_apprentice && !in_charge {
        return Err(CommandError::NotYours {
            who: cx.name(&d.owner),
            action: "make someone an apprentice on this duty",
        });
    }
    let on_it = d.backfills.iter().any(|b| &b.apprentice == apprentice);
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    let backfills = cx.w.child(&obj, key::BACKFILLS)?;
    let b = map_or_new(&mut cx.w, &backfills, apprentice.as_str())?;
    cx.w.put(&b, key::STAGE, stage.map(Stage::as_str).unwrap_or(NO_STAGE))?;
    cx.w.put(&b, key::UPDATED_MS, cx.now_ms)?;
    let name = cx.name(apprentice);
    match stage {
        None => done(format!("{name} is off {}", d.title)),
        // My own say: no yes needed.
        Some(stage) if me_apprentice => {
            cx.w.put(&b, key::ANSWER, "yes")?;
            cx.w.put(&b, key::ANSWERED_MS, cx.now_ms)?;
            done(format!("you are at {} on {}", stage.as_str(), d.title))
        }
        Some(stage) if on_it => done(format!("{name} on {}: {}", d.title, stage.as_str())),
        // Someone new (or back, or who said no before): a question again.
        Some(stage) => {
            cx.w.put(&b, key::ANSWER, "")?;
            done(format!(
                "asked {name} to {} on {}: it counts once they say yes",
                stage.as_str(),
                d.title
            ))
        }
    }
}

/// The apprentice answers being asked onto a duty.
pub(crate) fn answer(cx: &mut Cx<'_>, duty: &DutyId, yes: bool) -> Result<Applied, CommandError> {
    let d = cx
        .team
        .duties
        .get(duty)
        .filter(|d| d.deleted_ms.is_none())
        .ok_or_else(|| CommandError::NotFound {
            kind: "duty",
            id: duty.to_string(),
        })?;
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
    cx.w.put(&b, key::ANSWER, if yes { "yes" } else { "no" })?;
    cx.w.put(&b, key::ANSWERED_MS, cx.now_ms)?;
    if yes {
        done(format!("you are at {} on {}", stage.as_str(), d.title))
    } else {
        done(format!("you said no to {}", d.title))
    }
}

/// Puts a duty in the trash.
pub(crate) fn remove(cx: &mut Cx<'_>, duty: &DutyId) -> Result<Applied, CommandError> {
    let d = cx
        .team
        .duties
        .get(duty)
        .filter(|d| d.deleted_ms.is_none())
        .ok_or_else(|| CommandError::NotFound {
            kind: "duty",
            id: duty.to_string(),
        })?;
    let obj = cx.w.record(Collection::Duties, "duty", duty.as_str())?;
    // After the restore it follows, whatever this device's clock says.
    let at = cx.now_ms.max(d.restored_ms.map_or(i64::MIN, |r| r + 1));
    cx.w.put(&obj, key::DELETED_MS, at)?;
    done(format!(
        "duty removed: {} (in the trash for 30 days)",
        d.title
    ))
}

/// Renames a duty (its owner, or whoever listed it).
pub(crate) fn rename(cx: &mut Cx<'_>, duty: &DutyId, title: &str) -> Result<Applied, CommandError> {
    let d = cx
        .team
        .duties
        .get(duty)
        .filter(|d| d.deleted_ms.is_none())
        .ok_or_else(|| CommandError::NotFound {
            kind: "duty",
            id: duty.to_string(),
        })?;
    if cx.me != &d.owner && cx.me != d.listed_by.as_ref().unwrap_or(&d.owner) {
        return Err(CommandError::NotYours {
            who: cx.name(&d.owner),
            action: "rename this duty",
        });
    }
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
    let d = cx
        .team
        .duties
        .get(duty)
        .ok_or_else(|| CommandError::NotFound {
            kind: "duty",
            id: duty.to_string(),
        })?;
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
