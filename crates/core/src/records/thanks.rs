//! A thanks note from one member to another, perhaps for a session.
//!
//! ```text
//! thanks/<thanks>: {from, to, text, session?, at_ms}
//! ```
//!
//! A thanks speaks for its writer, so import never re-creates one.

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use super::{Cx, Forgery, Read, check_speaker, clean_text, opt_member, session};
use crate::command::{Applied, CommandError};
use crate::fields::Fields;
use crate::ids::{ActorHex, MemberId, SessionId, ThanksId};
use crate::model::Team;
use crate::schema::MAX_TEXT_CHARS;
use crate::touched::Collection;

/// The document keys of a thanks note.
mod key {
    pub(super) const FROM: &str = "from";
    pub(super) const TO: &str = "to";
    pub(super) const TEXT: &str = "text";
    pub(super) const SESSION: &str = "session";
    pub(super) const AT_MS: &str = "at_ms";
}

/// A thanks note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thanks {
    /// Id.
    pub id: ThanksId,
    /// From.
    pub from: MemberId,
    /// To.
    pub to: MemberId,
    /// Text.
    pub text: String,
    /// The session it thanks for.
    pub session: Option<SessionId>,
    /// When.
    pub at_ms: i64,
}

/// A thanks to send: `Command::Thank(NewThanks { text, ..NewThanks::to(bo) })`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewThanks {
    /// Who.
    pub to: MemberId,
    /// Text.
    pub text: String,
    /// For which session.
    #[serde(default)]
    pub session: Option<SessionId>,
}

impl NewThanks {
    /// A thanks to `to`, not for a session.
    pub fn to(to: MemberId) -> Self {
        Self {
            to,
            text: String::new(),
            session: None,
        }
    }
}

/// Reads one thanks note; `None` without a sender or a receiver.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &ThanksId,
    obj: &ObjId,
) -> Option<Read<Thanks>> {
    let f = Fields::read(doc, obj);
    let from = opt_member(&f, key::FROM)?;
    let to = opt_member(&f, key::TO)?;
    // A thanks speaks for its sender: only their own devices write it.
    for field in [key::FROM, key::TO, key::TEXT, key::SESSION] {
        if f.get(field).is_none() {
            continue;
        }
        if let Err(actor) = check_speaker(actors, obj, &f, &from, field) {
            return Some(Read::Forged(Forgery {
                claimed: from,
                actor,
                at_ms: f.int(key::AT_MS).unwrap_or(0),
                what: "sent thanks".into(),
            }));
        }
    }
    Some(Read::Counts(Thanks {
        id: id.clone(),
        from,
        to,
        text: f.text(key::TEXT),
        session: f.str(key::SESSION).and_then(|s| SessionId::parse(s).ok()),
        at_ms: f.int(key::AT_MS).unwrap_or(0),
    }))
}

/// Thanks someone else, perhaps for a live session.
pub(crate) fn thank(cx: &mut Cx<'_>, new: NewThanks) -> Result<Applied, CommandError> {
    cx.current_member(&new.to)?;
    if &new.to == cx.me {
        return Err(CommandError::InvalidInput {
            field: "to",
            reason: "thank someone else".into(),
        });
    }
    if let Some(s) = &new.session {
        session::live(cx.team, s)?;
    }
    let text = clean_text("text", &new.text, MAX_TEXT_CHARS, true)?;
    let id: ThanksId = cx.fresh()?;
    let w = &mut cx.w;
    let parent = w.collection(Collection::Thanks)?;
    let obj = w.new_map(&parent, id.as_str())?;
    w.put(&obj, key::FROM, cx.me.as_str())?;
    w.put(&obj, key::TO, new.to.as_str())?;
    w.put(&obj, key::TEXT, text)?;
    w.put_some(
        &obj,
        key::SESSION,
        new.session.as_ref().map(SessionId::as_str),
    )?;
    w.put(&obj, key::AT_MS, cx.now_ms)?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: format!("thanked {}", cx.name(&new.to)),
    })
}

/// A thanks note in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanksOut {
    /// From.
    pub from: MemberId,
    /// To.
    pub to: MemberId,
    /// Text.
    pub text: String,
    /// When.
    #[serde(default)]
    pub at: i64,
    /// Session.
    #[serde(default)]
    pub session: Option<SessionId>,
}

impl ThanksOut {
    /// The export of every thanks note.
    pub(crate) fn all(team: &Team) -> Vec<Self> {
        team.thanks
            .values()
            .map(|t| ThanksOut {
                from: t.from.clone(),
                to: t.to.clone(),
                text: t.text.clone(),
                at: t.at_ms,
                session: t.session.clone(),
            })
            .collect()
    }

    /// What import says of thanks notes: they are not re-created.
    pub(crate) fn skipped(thanks: &[Self]) -> Option<String> {
        (!thanks.is_empty()).then(|| {
            format!(
                "{} thanks notes: a thanks is from its writer, so it is not re-created",
                thanks.len()
            )
        })
    }
}
