//! The helper rota: who floats (has time set aside to help) in which ISO week.
//!
//! ```text
//! rota/<ISO week>|<member>|<member>: {say: Bool}   the member's own say: floating or not
//! rota/<ISO week>|<member>|<asker>: {say: Bool}    someone asking them (false: withdrawn)
//! rota/<ISO week>|<member>: Bool                   the first rotas' form, read alike
//! ```
//!
//! Flat scalars under one map, so two devices putting different people on the same week
//! never touch the same key. Nobody is put on the rota by someone else: a member floats
//! when their own device says so. Anyone else's write is a question, which they answer
//! (an old-style entry written by someone else reads as that person asking).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::{Cx, ImportCx, done};
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

/// The key inside an entry map holding its yes or no.
const SAY: &str = "say";

/// Reads the whole rota: who floats, by their own say, and the asks not answered yet.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
) -> (Rota, Vec<RotaAsk>) {
    let mut rota = Rota::new();
    let Some(obj) = get_map(doc, &ROOT, Collection::Rota.key()) else {
        return (rota, Vec::new());
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
        let asker = parts.next();
        let (Ok(member), Some(_)) = (MemberId::parse(member), parse_week_key(week)) else {
            continue;
        };
        // An entry is a map whose `say` is written again at each answer; the first
        // rotas wrote a bare value, read the same way.
        let inner;
        let value = match &field.val {
            Val::Map(entry) => {
                inner = Fields::read(doc, entry);
                match inner.get(SAY) {
                    Some(v) => v,
                    None => continue,
                }
            }
            _ => field,
        };
        let Val::Bool(yes) = value.val else { continue };
        // Only a trusted device says anything here.
        let Some(writer) = value.actor().and_then(|a| actors.get(&a)) else {
            continue;
        };
        let op = op_of(&value.id).map_or(0, |(counter, _)| counter);
        let by = match asker.map(MemberId::parse) {
            None => writer.clone(),
            Some(Ok(by)) if &by == writer => by,
            // An entry in someone else's name counts for nothing.
            _ => continue,
        };
        if by == member {
            let latest = said.entry((week.to_owned(), member)).or_insert((op, yes));
            if op >= latest.0 {
                *latest = (op, yes);
            }
        } else if yes {
            // Written for someone else: a question from the writer, not an answer.
            asks.insert((week.to_owned(), member, by), op);
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
    (rota, asks)
}

/// Writes `yes` into the entry `week|member|by`, as a new operation even when it is the
/// same as before (an equal value writes nothing, and an answer must come after the ask).
/// The entry is a map, made once: values are written inside it, never over a key of
/// the rota itself (which the sync rules refuse, as for any record).
fn say(cx: &mut Cx<'_>, week: &str, member: &MemberId, yes: bool) -> Result<(), CommandError> {
    let rota = cx.w.collection(Collection::Rota)?;
    let key = ask_key(week, member, cx.me);
    let entry = match get_map(cx.w.doc, &rota, &key) {
        Some(entry) => entry,
        None => cx.w.new_map(&rota, &key)?,
    };
    cx.w.put(&entry, SAY, !yes)?;
    cx.w.put(&entry, SAY, yes)
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
