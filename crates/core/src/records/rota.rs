//! The helper rota: who floats (has time set aside to help) in which ISO week.
//!
//! ```text
//! rota/<ISO week>|<member>|<member>: {<member>: Bool}  the member's own say: floating or not
//! rota/<ISO week>|<member>|<asker>: {<asker>: Bool}    someone asking them (false: withdrawn)
//! rota/<ISO week>|<member>: Bool                       the first rotas' form, read alike
//! ```
//!
//! Flat scalars under one map, so two devices putting different people on the same week
//! never touch the same key. Nobody is put on the rota by someone else: a member floats
//! when their own device says so. Anyone else's write is a question, which they answer
//! (an old-style entry written by someone else reads as that person asking).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::{Cx, Forgery, ImportCx, done};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::{Fields, Val, get_map, op_of};
use crate::ids::{ActorHex, MemberId};
use crate::model::Team;
use crate::time::parse_week_key;
use crate::touched::Collection;

/// Who floats in which week: ISO week → members.
pub type Rota = BTreeMap<String, BTreeSet<MemberId>>;

/// Someone asked to float in a week, who has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RotaAsk {
    /// The ISO week.
    pub week: String,
    /// Who is asked.
    pub member: MemberId,
    /// Who asks.
    pub by: MemberId,
}

/// The key of one week's entry for one member, as the first rotas wrote it.
fn entry_key(week: &str, member: &MemberId) -> String {
    format!("{week}|{member}")
}

/// A week key such as `2026-W48` written as every device writes it (`2026-W5` is
/// `2026-W05`), or why it is not one.
fn check_week(week: &str) -> Result<String, CommandError> {
    match parse_week_key(week) {
        Some(start) => Ok(crate::time::iso_week_key(start)),
        None => Err(CommandError::InvalidInput {
            field: "week",
            reason: format!("{week:?} is not an ISO week such as 2026-W48"),
        }),
    }
}

/// The key of someone's ask that `member` float in a week.
fn ask_key(week: &str, member: &MemberId, by: &MemberId) -> String {
    format!("{week}|{member}|{by}")
}

/// Reads the whole rota: who floats, by their own say; the asks not answered yet; and
/// what was written in someone else's name (it counts for nothing).
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
) -> (Rota, Vec<RotaAsk>, Vec<Forgery>) {
    let mut rota = Rota::new();
    let mut forged = Vec::new();
    let Some(obj) = get_map(doc, &ROOT, Collection::Rota.key()) else {
        return (rota, Vec::new(), forged);
    };
    // (week, member) → their latest say (its operation, yes or no); and the asks, as
    // (week, member, by) → the operation that asked.
    let mut said: BTreeMap<(String, MemberId), (u64, bool)> = BTreeMap::new();
    let mut asks = BTreeMap::new();
    for (key, field) in Fields::read(doc, &obj).iter() {
        let mut parts = key.split('|');
        let (Some(week), Some(member)) = (parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(member), Some(_)) = (MemberId::parse(member), parse_week_key(week)) else {
            continue;
        };
        let (value, by) = match (&field.val, parts.next().map(MemberId::parse)) {
            // An entry: a map holding the say under the key of whoever says it, which
            // the sync rules let no one else write over.
            (Val::Map(entry), Some(Ok(by))) => {
                let inner = Fields::read(doc, entry);
                let Some(value) = inner.get(by.as_str()).cloned() else {
                    continue;
                };
                (value, by)
            }
            // The first rotas' bare value: whoever wrote it says it.
            (_, None) => match field.actor().and_then(|a| actors.get(&a)) {
                Some(writer) => (field.clone(), writer.clone()),
                None => continue,
            },
            _ => continue,
        };
        let Val::Bool(yes) = value.val else { continue };
        let Some(actor) = value.actor() else { continue };
        if actors.get(&actor) != Some(&by) {
            forged.push(Forgery {
                claimed: by,
                actor,
                at_ms: parse_week_key(week).unwrap_or(0),
                what: format!("answered about the helper rota in {week}"),
            });
            continue;
        }
        let op = op_of(&value.id).map_or(0, |(counter, _)| counter);
        if by == member {
            let latest = said.entry((week.to_owned(), member)).or_insert((op, yes));
            if op >= latest.0 {
                *latest = (op, yes);
            }
        } else if yes {
            // Written for someone else: a question from the writer, not an answer.
            let asked = asks.entry((week.to_owned(), member, by)).or_insert(op);
            *asked = (*asked).max(op);
        }
    }
    for ((week, member), (_, yes)) in &said {
        if *yes {
            rota.entry(week.clone()).or_default().insert(member.clone());
        }
    }
    // An ask is open until the member answers after it (a Lamport counter grows along
    // every causal chain): asked again after an answer, it is open again.
    let asks = asks
        .into_iter()
        .filter(|((week, member, _), asked)| {
            said.get(&(week.clone(), member.clone()))
                .is_none_or(|(answer, _)| answer < asked)
        })
        .map(|((week, member, by), _)| RotaAsk { week, member, by })
        .collect();
    (rota, asks, forged)
}

/// Writes my `yes` about `member` in `week` (my own say, or my question to them), as a
/// new operation even when it is the same as before (an equal value writes nothing, and
/// an answer must come after the ask). The entry is a map made once, holding the value
/// under my member key; a key someone else filled with anything but a map is left alone
/// for the next free one (`…|1`), since writing over it would be refused.
fn say(cx: &mut Cx<'_>, week: &str, member: &MemberId, yes: bool) -> Result<(), CommandError> {
    let rota = cx.w.collection(Collection::Rota)?;
    let base = ask_key(week, member, cx.me);
    let mut entry = None;
    for n in 0..16 {
        let key = if n == 0 {
            base.clone()
        } else {
            format!("{base}|{n}")
        };
        match cx.w.doc.get(&rota, key.as_str())? {
            Some((automerge::Value::Object(automerge::ObjType::Map), obj)) => {
                entry = Some(obj);
                break;
            }
            None => {
                entry = Some(cx.w.new_map(&rota, &key)?);
                break;
            }
            Some(_) => {}
        }
    }
    let entry = entry.ok_or_else(|| {
        CommandError::Document(format!(
            "every rota entry for {base} is taken by something else"
        ))
    })?;
    cx.w.put(&entry, cx.me.as_str(), !yes)?;
    cx.w.put(&entry, cx.me.as_str(), yes)
}

/// Puts myself on (or off) the rota for a week; for someone else, asks them (or takes my
/// question back): they float once they say yes.
pub(crate) fn set(
    cx: &mut Cx<'_>,
    week: &str,
    member: &MemberId,
    floating: bool,
) -> Result<Applied, CommandError> {
    let week = &check_week(week)?;
    cx.current_member(member)?;
    if member == cx.me {
        say(cx, week, member, floating)?;
        return done(format!(
            "you are {} floating in {week}",
            if floating { "now" } else { "not" }
        ));
    }
    let name = cx.name(member);
    let asked = cx
        .team
        .rota_asks
        .iter()
        .any(|a| &a.week == week && &a.member == member && &a.by == cx.me);
    if floating {
        if cx.team.rota.get(week).is_some_and(|w| w.contains(member)) {
            return done(format!("{name} already floats in {week}"));
        }
        say(cx, week, member, true)?;
        done(format!(
            "asked {name} to float in {week}: it counts once they say yes"
        ))
    } else if asked {
        say(cx, week, member, false)?;
        done(format!("took back your question to {name} about {week}"))
    } else {
        Err(CommandError::NotYours {
            who: name,
            action: "take someone else off the rota (only they can)",
        })
    }
}

/// My answer to being asked to float in a week: yes puts me on, no says so.
pub(crate) fn answer(cx: &mut Cx<'_>, week: &str, yes: bool) -> Result<Applied, CommandError> {
    let me = cx.me.clone();
    set(cx, week, &me, yes)
}

/// The rota in the JSON export: week → member ids floating.
pub(crate) fn export(team: &Team) -> BTreeMap<String, Vec<MemberId>> {
    team.rota
        .iter()
        .map(|(w, ms)| (w.clone(), ms.iter().cloned().collect()))
        .collect()
}

/// Restores the weeks and members this copy does not have yet.
pub(crate) fn import(
    cx: &mut ImportCx<'_>,
    rota: &BTreeMap<String, Vec<MemberId>>,
) -> Result<(), ImportError> {
    let obj: ObjId = cx.w.collection(Collection::Rota)?;
    for (week, floating) in rota {
        check_week(week).map_err(super::record_err(week))?;
        for member in floating {
            cx.check_member(member, week)?;
            if cx.team.rota.get(week).is_some_and(|s| s.contains(member)) {
                cx.report.already_present += 1;
            } else {
                cx.w.put(&obj, &entry_key(week, member), true)?;
                cx.report.added += 1;
            }
        }
    }
    Ok(())
}
