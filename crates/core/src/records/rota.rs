//! The helper rota: who floats (has time set aside to help) in which ISO week.
//!
//! ```text
//! rota/<ISO week>|<member>: Bool
//! ```
//!
//! Flat scalars under one map, so two devices putting different people on the same week
//! never touch the same key.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ObjId, ROOT, ReadDoc};

use super::{Cx, ImportCx, done};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::{Fields, Val, get_map};
use crate::ids::MemberId;
use crate::model::Team;
use crate::time::parse_week_key;
use crate::touched::Collection;

/// Who floats in which week: ISO week → members.
pub type Rota = BTreeMap<String, BTreeSet<MemberId>>;

/// The key of one week's entry for one member.
fn entry_key(week: &str, member: &MemberId) -> String {
    format!("{week}|{member}")
}

/// A week key such as `2026-W48`, or why it is not one.
fn check_week(week: &str) -> Result<(), CommandError> {
    match parse_week_key(week) {
        Some(_) => Ok(()),
        None => Err(CommandError::InvalidInput {
            field: "week",
            reason: format!("{week:?} is not an ISO week such as 2026-W48"),
        }),
    }
}

/// Reads the whole rota.
pub(crate) fn read<D: ReadDoc>(doc: &D) -> Rota {
    let mut rota = Rota::new();
    let Some(obj) = get_map(doc, &ROOT, Collection::Rota.key()) else {
        return rota;
    };
    for (key, field) in Fields::read(doc, &obj).iter() {
        let Some((week, member)) = key.split_once('|') else {
            continue;
        };
        let (Ok(member), Some(_)) = (MemberId::parse(member), parse_week_key(week)) else {
            continue;
        };
        if matches!(field.val, Val::Bool(true)) {
            rota.entry(week.to_owned()).or_default().insert(member);
        }
    }
    rota
}

/// Puts someone on (or off) the rota for a week.
pub(crate) fn set(
    cx: &mut Cx<'_>,
    week: &str,
    member: &MemberId,
    floating: bool,
) -> Result<Applied, CommandError> {
    check_week(week)?;
    cx.current_member(member)?;
    let rota = cx.w.collection(Collection::Rota)?;
    cx.w.put(&rota, &entry_key(week, member), floating)?;
    done(format!(
        "{} {} floating in {week}",
        cx.name(member),
        if floating { "is" } else { "is not" }
    ))
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
