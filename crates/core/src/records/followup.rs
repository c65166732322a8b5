//! A follow-up: an action agreed in a session, with its owner and due date.
//!
//! ```text
//! sessions/<session>/followups/<follow-up>: {text, owner, due_ms?, done_ms?, created_ms}
//! ```

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::session;
use super::{Cx, Writer, clean_text, done, opt_member, read_entries};
use crate::command::{Applied, CommandError};
use crate::fields::Fields;
use crate::ids::{FollowUpId, MemberId, SessionId};
use crate::schema::MAX_TITLE_CHARS;
use crate::touched::Collection;

/// The document keys of a follow-up.
mod key {
    pub(super) const TEXT: &str = "text";
    pub(super) const OWNER: &str = "owner";
    pub(super) const DUE_MS: &str = "due_ms";
    pub(super) const DONE_MS: &str = "done_ms";
    pub(super) const CREATED_MS: &str = "created_ms";
}

/// A follow-up action from a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Id.
    pub id: FollowUpId,
    /// What to do.
    pub text: String,
    /// Who does it.
    pub owner: MemberId,
    /// When it is due.
    pub due_ms: Option<i64>,
    /// Done.
    pub done_ms: Option<i64>,
    /// When agreed.
    pub created_ms: i64,
}

/// A follow-up to add: `Command::AddFollowUp(NewFollowUp { text, ..NewFollowUp::on(s) })`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFollowUp {
    /// Session.
    pub session: SessionId,
    /// What.
    pub text: String,
    /// Who (default: the coachee).
    #[serde(default)]
    pub owner: Option<MemberId>,
    /// Due.
    #[serde(default)]
    pub due_ms: Option<i64>,
}

impl NewFollowUp {
    /// A follow-up on `session`, owned by its coachee, without a due date.
    pub fn on(session: SessionId) -> Self {
        Self {
            session,
            text: String::new(),
            owner: None,
            due_ms: None,
        }
    }
}

/// The text of a follow-up, the same for adding and import.
fn check_text(text: &str) -> Result<String, CommandError> {
    clean_text("text", text, MAX_TITLE_CHARS, true)
}

/// Writes a follow-up with checked text into a session's `followups` map.
fn write(
    w: &mut Writer<'_>,
    followups: &ObjId,
    id: &str,
    text: &str,
    owner: &MemberId,
    due_ms: Option<i64>,
    created_ms: i64,
) -> Result<ObjId, CommandError> {
    let u = w.new_map(followups, id)?;
    w.put(&u, key::TEXT, text)?;
    w.put(&u, key::OWNER, owner.as_str())?;
    if let Some(due) = due_ms {
        w.put(&u, key::DUE_MS, due)?;
    }
    w.put(&u, key::CREATED_MS, created_ms)?;
    Ok(u)
}

/// Reads a session's follow-ups, oldest first.
pub(crate) fn read_all<D: ReadDoc>(doc: &D, obj: Option<&ObjId>) -> Vec<FollowUp> {
    let mut followups = read_entries(
        doc,
        obj,
        |doc, id, entry| {
            let u = Fields::read(doc, entry);
            Some(FollowUp {
                id,
                text: u.text(key::TEXT),
                owner: opt_member(&u, key::OWNER)?,
                due_ms: u.int(key::DUE_MS),
                done_ms: u.int(key::DONE_MS),
                created_ms: u.int(key::CREATED_MS).unwrap_or(0),
            })
        },
        |key| FollowUpId::parse(key).ok(),
    );
    followups.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    followups
}

/// Adds a follow-up to a live session, for a current member.
pub(crate) fn add(cx: &mut Cx<'_>, new: NewFollowUp) -> Result<Applied, CommandError> {
    let s = session::live(cx.team, &new.session)?;
    let text = check_text(&new.text)?;
    let owner = new.owner.unwrap_or_else(|| s.coachee.clone());
    cx.current_member(&owner)?;
    let id: FollowUpId = cx.fresh()?;
    let obj =
        cx.w.record(Collection::Sessions, "session", new.session.as_str())?;
    let ups = cx.w.child(&obj, session::key::FOLLOWUPS)?;
    write(
        &mut cx.w,
        &ups,
        id.as_str(),
        &text,
        &owner,
        new.due_ms,
        cx.now_ms,
    )?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: format!("follow-up for {}: {text}", cx.name(&owner)),
    })
}

/// Ticks (or unticks) a follow-up.
pub(crate) fn set_done(
    cx: &mut Cx<'_>,
    session: &SessionId,
    followup: &FollowUpId,
    is_done: bool,
) -> Result<Applied, CommandError> {
    let s = session::live(cx.team, session)?;
    if !s.followups.iter().any(|u| &u.id == followup) {
        return Err(CommandError::NotFound {
            kind: "follow-up",
            id: followup.to_string(),
        });
    }
    let obj =
        cx.w.record(Collection::Sessions, "session", session.as_str())?;
    let ups = cx.w.child(&obj, session::key::FOLLOWUPS)?;
    let u = cx.w.child(&ups, followup.as_str())?;
    cx.w.put_opt_i64(&u, key::DONE_MS, is_done.then_some(cx.now_ms))?;
    done(if is_done {
        "follow-up done"
    } else {
        "follow-up reopened"
    })
}

/// A follow-up in the JSON export (inside its session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpOut {
    /// Text.
    pub text: String,
    /// Owner.
    pub owner: MemberId,
    /// Due.
    #[serde(default)]
    pub due_at: Option<i64>,
    /// Done.
    #[serde(default)]
    pub done_at: Option<i64>,
}

impl From<&FollowUp> for FollowUpOut {
    fn from(u: &FollowUp) -> Self {
        Self {
            text: u.text.clone(),
            owner: u.owner.clone(),
            due_at: u.due_ms,
            done_at: u.done_ms,
        }
    }
}

impl FollowUpOut {
    /// Restores this follow-up under `followups`, under the same limits as adding one.
    pub(crate) fn import(
        &self,
        w: &mut Writer<'_>,
        followups: &ObjId,
        id: &str,
        created_ms: i64,
    ) -> Result<(), CommandError> {
        let text = check_text(&self.text)?;
        let u = write(
            w,
            followups,
            id,
            &text,
            &self.owner,
            self.due_at,
            created_ms,
        )?;
        if let Some(t) = self.done_at {
            w.put(&u, key::DONE_MS, t)?;
        }
        Ok(())
    }
}

/// Follow-up ids are not exported: an imported one gets an id derived from its session's
/// and its place, so importing the same file twice restores it once.
pub(crate) fn imported_id(session: &SessionId, i: usize) -> String {
    // The session's UUID with its last 4 hex digits replaced by the index.
    let base = session.as_str();
    format!("{}{:04x}", &base[..32], i.min(0xffff))
}
