//! A help request ("I could use help"), with its claims and comments.
//!
//! ```text
//! requests/<request>: {author, title, tried, urgency, to?, created_ms,
//!                      skills/<skill>: Bool, withdrawn_ms?, resolved_ms?, reopened_ms?,
//!                      claims/<member>: {at_ms, released_ms?},
//!                      comments/<comment>: {author, text, at_ms, deleted_ms?}}
//! ```
//!
//! A claim lives under its claimant's member key, and counts only when every field of
//! it was written by one of that member's devices (the others are [`Forgery`]s).
//!
//! Who may write what:
//! - the request itself and its own fields (author, title, tried, urgency, to, when,
//!   withdrawn, reopened): the author's devices; a request created or edited by anyone else counts
//!   for nothing;
//! - a comment: its author's devices, and only they delete it;
//! - resolving: the author, or a member who claimed the request (the helper says it is
//!   done); anyone else's resolution counts for nothing.

use std::collections::{BTreeSet, HashMap};

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::edits::{self, Edit, Text};
use super::{
    Cx, Forgery, ImportCx, Read, Writer, check_speaker, clean_skills, clean_text, csv_line, done,
    opt_member, own_entries, read_entries, record_err, tags_by, written_by,
};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::Fields;
use crate::ids::{ActorHex, CommentId, MemberId, RequestId};
use crate::model::{OfferStatus, Team};
use crate::schema::{MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::time::format_datetime;
use crate::touched::Collection;
use crate::views::Index;

/// The document keys of a request.
mod key {
    pub(super) const AUTHOR: &str = "author";
    pub(super) const TITLE: &str = "title";
    pub(super) const TRIED: &str = "tried";
    pub(super) const URGENCY: &str = "urgency";
    pub(super) const TO: &str = "to";
    pub(super) const CREATED_MS: &str = "created_ms";
    pub(super) const SKILLS: &str = "skills";
    pub(super) const WITHDRAWN_MS: &str = "withdrawn_ms";
    pub(super) const RESOLVED_MS: &str = "resolved_ms";
    pub(super) const REOPENED_MS: &str = "reopened_ms";
    pub(super) const CLAIMS: &str = "claims";
    pub(super) const COMMENTS: &str = "comments";
    /// In a claim.
    pub(super) const AT_MS: &str = "at_ms";
    /// In a claim.
    pub(super) const RELEASED_MS: &str = "released_ms";
    /// In a comment.
    pub(super) const TEXT: &str = "text";
    /// In a comment.
    pub(super) const DELETED_MS: &str = "deleted_ms";
}

/// How soon help is needed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Urgency {
    /// Whenever someone has time.
    Low,
    /// This week.
    #[default]
    Normal,
    /// I am stuck now.
    High,
}

impl Urgency {
    /// All urgencies, lowest first.
    pub const ALL: [Urgency; 3] = [Self::Low, Self::Normal, Self::High];

    /// The stored and typed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// A claim ("I'm on it") by a member, verified to be written by that member's device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Who claimed.
    pub member: MemberId,
    /// When.
    pub at_ms: i64,
    /// When they let go of it, if they did.
    pub released_ms: Option<i64>,
}

/// A comment on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Id.
    pub id: CommentId,
    /// Who wrote it.
    pub author: MemberId,
    /// Text.
    pub text: String,
    /// When.
    pub at_ms: i64,
    /// Soft delete.
    pub deleted_ms: Option<i64>,
}

/// A help request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Id.
    pub id: RequestId,
    /// Who asked.
    pub author: MemberId,
    /// Title.
    pub title: String,
    /// What I tried.
    pub tried: String,
    /// Skill tags.
    pub skills: BTreeSet<String>,
    /// Urgency.
    pub urgency: Urgency,
    /// Aimed at one person ("coach me"), or the whole team.
    pub to: Option<MemberId>,
    /// When asked.
    pub created_ms: i64,
    /// Withdrawn by the author.
    pub withdrawn_ms: Option<i64>,
    /// Resolved.
    pub resolved_ms: Option<i64>,
    /// The member whose device wrote the resolution.
    pub resolved_by: Option<MemberId>,
    /// Reopened by the author: a withdrawal or resolution at or before it no longer
    /// counts (keys are never deleted, so reopening is a newer time, not a removal).
    #[serde(default)]
    pub reopened_ms: Option<i64>,
    /// Verified claims, in document order.
    pub claims: Vec<Claim>,
    /// Claims written by someone other than the claimant.
    pub forged_claims: Vec<Forgery>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// Other writes that broke a rule (a comment in someone else's name, a withdrawal or
    /// resolution by someone not entitled to it): they count for nothing.
    #[serde(default)]
    pub ignored: Vec<Forgery>,
    /// Its author's edits, oldest first.
    #[serde(default)]
    pub edits: Vec<Edit>,
}

impl Request {
    /// The claim that counts: the earliest live one by (time, member id), so that two
    /// concurrent claims resolve the same way on every device.
    pub fn winning_claim(&self) -> Option<&Claim> {
        // A claim from before a reopening did not settle it: it no longer holds.
        let since = self.reopened_ms.unwrap_or(i64::MIN);
        self.claims
            .iter()
            .filter(|c| c.released_ms.is_none() && c.at_ms >= since)
            .min_by(|a, b| (a.at_ms, &a.member).cmp(&(b.at_ms, &b.member)))
    }

    /// Open for help: neither withdrawn nor resolved, or reopened since.
    pub fn is_active(&self) -> bool {
        self.closed_at(i64::MAX).is_none()
    }

    /// How the request stood closed as of `at_ms`, and since when: a withdrawal or a
    /// resolution up to then that no reopening up to then came after.
    pub fn closed_at(&self, at_ms: i64) -> Option<(Closed, i64)> {
        let reopened = self.reopened_ms.filter(|t| *t <= at_ms);
        let counts = |t: Option<i64>| t.filter(|t| *t <= at_ms && reopened.is_none_or(|r| *t > r));
        match (counts(self.withdrawn_ms), counts(self.resolved_ms)) {
            (Some(w), _) => Some((Closed::Withdrawn, w)),
            (None, Some(r)) => Some((Closed::Resolved, r)),
            (None, None) => None,
        }
    }

    /// When the request was last closed or reopened: a new close must come after it.
    fn last_change_ms(&self) -> i64 {
        [self.withdrawn_ms, self.resolved_ms, self.reopened_ms]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(i64::MIN)
    }
}

/// How a request was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Closed {
    /// Its author took it back.
    Withdrawn,
    /// Done.
    Resolved,
}

impl Closed {
    /// As said in a sentence.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Withdrawn => "withdrawn",
            Self::Resolved => "resolved",
        }
    }
}

/// A request to ask: `Command::Ask(NewRequest { title, ..Default::default() })`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    /// Title.
    pub title: String,
    /// What I tried.
    #[serde(default)]
    pub tried: String,
    /// Skill tags.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Urgency.
    #[serde(default)]
    pub urgency: Urgency,
    /// One named person ("coach me"), or the whole team.
    #[serde(default)]
    pub to: Option<MemberId>,
}

impl NewRequest {
    /// A request's own limits, the same for asking and import.
    pub fn check(mut self) -> Result<Self, CommandError> {
        self.title = clean_text("title", &self.title, MAX_TITLE_CHARS, true)?;
        self.tried = clean_text("tried", &self.tried, MAX_TEXT_CHARS, false)?;
        self.skills = clean_skills(&self.skills)?;
        Ok(self)
    }

    /// Writes a checked request by `author` as a new record.
    fn write(
        &self,
        w: &mut Writer<'_>,
        id: &RequestId,
        author: &MemberId,
        created_ms: i64,
    ) -> Result<ObjId, CommandError> {
        let parent = w.collection(Collection::Requests)?;
        let obj = w.new_map(&parent, id.as_str())?;
        w.put(&obj, key::AUTHOR, author.as_str())?;
        w.put(&obj, key::TITLE, self.title.as_str())?;
        w.put(&obj, key::TRIED, self.tried.as_str())?;
        w.put(&obj, key::URGENCY, self.urgency.as_str())?;
        w.put_some(&obj, key::TO, self.to.as_ref().map(MemberId::as_str))?;
        w.put(&obj, key::CREATED_MS, created_ms)?;
        w.tags(&obj, key::SKILLS, &self.skills)?;
        w.new_map(&obj, key::CLAIMS)?;
        w.new_map(&obj, key::COMMENTS)?;
        Ok(obj)
    }
}

/// Reads one request; `None` without an author. Claims are checked against the devices
/// of the member they name.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &RequestId,
    obj: &ObjId,
) -> Option<Read<Request>> {
    let f = Fields::read(doc, obj);
    let author = opt_member(&f, key::AUTHOR)?;
    let created_ms = f.int(key::CREATED_MS).unwrap_or(0);
    // Created, and naming its author, by someone else: the whole request is a forgery.
    if let Err(actor) = check_speaker(actors, obj, &f, &author, key::AUTHOR) {
        return Some(Read::Forged(Forgery {
            claimed: author,
            actor,
            at_ms: created_ms,
            what: format!("asked for help: {}", f.text(key::TITLE)),
        }));
    }
    // One of its fields rewritten by someone else: that value counts for nothing (the
    // request stays, so no one can make another's request vanish with one write).
    let mut ignored = Vec::new();
    let own = |key: &'static str, ignored: &mut Vec<Forgery>| {
        let Some(writer) = f.actor(key) else {
            return true;
        };
        if actors.get(&writer) == Some(&author) {
            return true;
        }
        ignored.push(Forgery {
            claimed: author.clone(),
            actor: writer,
            at_ms: created_ms,
            what: format!("rewrote the {key} of a request"),
        });
        false
    };
    let title = if own(key::TITLE, &mut ignored) {
        f.text(key::TITLE)
    } else {
        String::new()
    };
    let tried = if own(key::TRIED, &mut ignored) {
        f.text(key::TRIED)
    } else {
        String::new()
    };
    let skills = match tags_by(doc, actors, &f, key::SKILLS, |m| m == &author) {
        Ok(skills) => skills,
        Err(actor) => {
            ignored.push(Forgery {
                claimed: author.clone(),
                actor,
                at_ms: created_ms,
                what: "rewrote the skills of a request".into(),
            });
            BTreeSet::new()
        }
    };
    let (edits, forged_edits) = edits::read(doc, actors, obj, &f, |m| m == &author, &author);
    ignored.extend(forged_edits);
    let urgency = if own(key::URGENCY, &mut ignored) {
        f.str(key::URGENCY)
            .and_then(Urgency::parse)
            .unwrap_or_default()
    } else {
        Urgency::default()
    };
    let to = if own(key::TO, &mut ignored) {
        opt_member(&f, key::TO)
    } else {
        None
    };
    let mut claims = Vec::new();
    let mut forged_claims = Vec::new();
    for (member, c, verdict) in own_entries(doc, actors, f.map(key::CLAIMS), key::AT_MS) {
        let at_ms = c.int(key::AT_MS).unwrap_or(0);
        match verdict {
            Ok(()) => claims.push(Claim {
                member,
                at_ms,
                released_ms: c.int(key::RELEASED_MS),
            }),
            Err(actor) => forged_claims.push(Forgery {
                claimed: member,
                actor,
                at_ms,
                what: "claimed the request".into(),
            }),
        }
    }
    let mut comments = read_entries(
        doc,
        f.map(key::COMMENTS),
        |doc, id, entry| {
            let c = Fields::read(doc, entry);
            let comment_author = opt_member(&c, key::AUTHOR)?;
            let at_ms = c.int(key::AT_MS).unwrap_or(0);
            if let Err(actor) = [key::AUTHOR, key::TEXT, key::AT_MS]
                .into_iter()
                .try_for_each(|k| check_speaker(actors, entry, &c, &comment_author, k))
            {
                ignored.push(Forgery {
                    claimed: comment_author,
                    actor,
                    at_ms,
                    what: "commented".into(),
                });
                return None;
            }
            Some(Comment {
                id,
                text: c.text(key::TEXT),
                at_ms,
                deleted_ms: c
                    .int(key::DELETED_MS)
                    .filter(|_| written_by(actors, &c, key::DELETED_MS, &comment_author)),
                author: comment_author,
            })
        },
        |key| CommentId::parse(key).ok(),
    );
    comments.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    // A time only the author writes: anyone else's counts for nothing, and is recorded.
    let mut authors_time = |key: &str, what: &str| {
        let at = f.int(key)?;
        if written_by(actors, &f, key, &author) {
            return Some(at);
        }
        if let Some(actor) = f.actor(key) {
            ignored.push(Forgery {
                claimed: author.clone(),
                actor,
                at_ms: at,
                what: what.into(),
            });
        }
        None
    };
    let withdrawn_ms = authors_time(key::WITHDRAWN_MS, "withdrew the request");
    let reopened_ms = authors_time(key::REOPENED_MS, "reopened the request");
    // Resolving: the author, or someone who claimed it.
    let resolved_by = f
        .actor(key::RESOLVED_MS)
        .and_then(|a| actors.get(&a).cloned());
    let mut resolved_ms = f.int(key::RESOLVED_MS);
    if let Some(at) = resolved_ms {
        let entitled = resolved_by
            .as_ref()
            .is_some_and(|by| by == &author || claims.iter().any(|c| &c.member == by));
        if !entitled {
            if let Some(actor) = f.actor(key::RESOLVED_MS) {
                ignored.push(Forgery {
                    claimed: author.clone(),
                    actor,
                    at_ms: at,
                    what: "resolved a request they neither asked nor claimed".into(),
                });
            }
            resolved_ms = None;
        }
    }
    Some(Read::Counts(Request {
        id: id.clone(),
        author,
        title,
        tried,
        skills,
        urgency,
        to,
        created_ms,
        withdrawn_ms,
        resolved_by: resolved_ms.and(resolved_by),
        resolved_ms,
        reopened_ms,
        claims,
        forged_claims,
        comments,
        ignored,
        edits,
    }))
}

/// A request, open or not.
pub(crate) fn of<'t>(team: &'t Team, id: &RequestId) -> Result<&'t Request, CommandError> {
    team.requests.get(id).ok_or_else(|| CommandError::NotFound {
        kind: "request",
        id: id.to_string(),
    })
}

/// A request still open for help.
pub(crate) fn active<'t>(team: &'t Team, id: &RequestId) -> Result<&'t Request, CommandError> {
    let r = of(team, id)?;
    match r.closed_at(i64::MAX) {
        None => Ok(r),
        Some((closed, _)) => Err(CommandError::Closed {
            kind: "request",
            id: id.to_string(),
            status: closed.as_str(),
        }),
    }
}

/// What to change in a request: each field given is set, each `None` is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEdit {
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// What I tried, rewritten.
    #[serde(default)]
    pub tried: Option<String>,
    /// The skill tags, all of them.
    #[serde(default)]
    pub skills: Option<Vec<String>>,
    /// How soon.
    #[serde(default)]
    pub urgency: Option<Urgency>,
}

/// The author edits their request (open or closed): only the fields that change are
/// written, each with an entry for History.
pub(crate) fn edit(
    cx: &mut Cx<'_>,
    request: &RequestId,
    change: RequestEdit,
) -> Result<Applied, CommandError> {
    let r = of(cx.team, request)?;
    if &r.author != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&r.author),
            action: "edit this request",
        });
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    let mut changed = Vec::new();
    let title = Text {
        key: key::TITLE,
        name: "title",
        max_chars: MAX_TITLE_CHARS,
        required: true,
    };
    if edits::set_text(cx, &obj, title, change.title.as_deref(), &r.title)? {
        changed.push("title");
    }
    let tried = Text {
        key: key::TRIED,
        name: "tried",
        max_chars: MAX_TEXT_CHARS,
        required: false,
    };
    if edits::set_text(cx, &obj, tried, change.tried.as_deref(), &r.tried)? {
        changed.push("what was tried");
    }
    if edits::set_tags(cx, &obj, key::SKILLS, change.skills.as_deref(), &r.skills)? {
        changed.push("skills");
    }
    if let Some(urgency) = change.urgency
        && urgency != r.urgency
    {
        cx.w.put(&obj, key::URGENCY, urgency.as_str())?;
        edits::note(cx, &obj, key::URGENCY, urgency.as_str())?;
        changed.push("urgency");
    }
    if changed.is_empty() {
        return done("nothing changed");
    }
    let title = change.title.as_deref().map_or(r.title.as_str(), str::trim);
    done(format!("edited the {} of: {title}", changed.join(", ")))
}

/// Asks for help.
pub(crate) fn ask(cx: &mut Cx<'_>, new: NewRequest) -> Result<Applied, CommandError> {
    let new = new.check()?;
    if let Some(to) = &new.to {
        cx.current_member(to)?;
        if to == cx.me {
            return Err(CommandError::InvalidInput {
                field: "to",
                reason: "you cannot ask yourself for help".into(),
            });
        }
    }
    let id: RequestId = cx.fresh()?;
    new.write(&mut cx.w, &id, cx.me, cx.now_ms)?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: format!("asked for help: {}", new.title),
    })
}

/// Comments on a request.
pub(crate) fn comment(
    cx: &mut Cx<'_>,
    request: &RequestId,
    text: &str,
) -> Result<Applied, CommandError> {
    let text = clean_text("text", text, MAX_TEXT_CHARS, true)?;
    of(cx.team, request)?;
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    let comments = cx.w.child(&obj, key::COMMENTS)?;
    let id: CommentId = cx.fresh()?;
    let c = cx.w.new_map(&comments, id.as_str())?;
    cx.w.put(&c, key::AUTHOR, cx.me.as_str())?;
    cx.w.put(&c, key::TEXT, text)?;
    cx.w.put(&c, key::AT_MS, cx.now_ms)?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: "commented".into(),
    })
}

/// "I'm on it": under my own member key, never on my own request.
pub(crate) fn claim(cx: &mut Cx<'_>, request: &RequestId) -> Result<Applied, CommandError> {
    let r = active(cx.team, request)?;
    if &r.author == cx.me {
        return Err(CommandError::OwnRequest { action: "claim" });
    }
    if let Some(winner) = r.winning_claim() {
        if &winner.member == cx.me {
            return done("already yours");
        }
        return Err(CommandError::AlreadyClaimed {
            by: cx.name(&winner.member),
            request: request.to_string(),
        });
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    let claims = cx.w.child(&obj, key::CLAIMS)?;
    let c = cx.w.new_map(&claims, cx.me.as_str())?;
    cx.w.put(&c, key::AT_MS, cx.now_ms)?;
    done(format!("on it: {}", r.title))
}

/// Lets go of my claim.
pub(crate) fn release_claim(cx: &mut Cx<'_>, request: &RequestId) -> Result<Applied, CommandError> {
    let r = of(cx.team, request)?;
    if !r
        .claims
        .iter()
        .any(|c| &c.member == cx.me && c.released_ms.is_none())
    {
        return Err(CommandError::InvalidInput {
            field: "request",
            reason: "you have no claim on it".into(),
        });
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    let claims = cx.w.child(&obj, key::CLAIMS)?;
    let c = cx.w.child(&claims, cx.me.as_str())?;
    cx.w.put(&c, key::RELEASED_MS, cx.now_ms)?;
    done(format!("let go of: {}", r.title))
}

/// Marks the request done: its author, or whoever holds the claim.
pub(crate) fn resolve(cx: &mut Cx<'_>, request: &RequestId) -> Result<Applied, CommandError> {
    let r = active(cx.team, request)?;
    let claimer = r.winning_claim().map(|c| &c.member);
    if &r.author != cx.me && claimer != Some(cx.me) {
        return Err(CommandError::NotYours {
            who: format!("{} (who asked) or whoever is on it", cx.name(&r.author)),
            action: "resolve this request",
        });
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    // After a reopening, even one from a device whose clock runs ahead.
    let at = cx.now_ms.max(r.last_change_ms().saturating_add(1));
    cx.w.put(&obj, key::RESOLVED_MS, at)?;
    done(format!("resolved: {}", r.title))
}

/// The author takes the request back.
pub(crate) fn withdraw(cx: &mut Cx<'_>, request: &RequestId) -> Result<Applied, CommandError> {
    let r = active(cx.team, request)?;
    if &r.author != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&r.author),
            action: "withdraw this request",
        });
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    let at = cx.now_ms.max(r.last_change_ms().saturating_add(1));
    cx.w.put(&obj, key::WITHDRAWN_MS, at)?;
    done(format!("withdrew: {}", r.title))
}

/// The author reopens a resolved or withdrawn request: it is back on the board.
pub(crate) fn reopen(cx: &mut Cx<'_>, request: &RequestId) -> Result<Applied, CommandError> {
    let r = of(cx.team, request)?;
    if &r.author != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&r.author),
            action: "reopen this request",
        });
    }
    if r.is_active() {
        return done("already open");
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    // Not before the closing it undoes, whatever this device's clock says.
    let at = cx.now_ms.max(r.last_change_ms());
    cx.w.put(&obj, key::REOPENED_MS, at)?;
    done(format!("reopened: {}", r.title))
}

/// The author aims the open request at one teammate, or back at the whole team.
pub(crate) fn aim(
    cx: &mut Cx<'_>,
    request: &RequestId,
    to: Option<&MemberId>,
) -> Result<Applied, CommandError> {
    let r = active(cx.team, request)?;
    if &r.author != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&r.author),
            action: "say whom this request is for",
        });
    }
    if r.to.as_ref() == to {
        return done("already so");
    }
    let obj =
        cx.w.record(Collection::Requests, "request", request.as_str())?;
    match to {
        Some(to) => {
            cx.current_member(to)?;
            if to == cx.me {
                return Err(CommandError::InvalidInput {
                    field: "to",
                    reason: "you cannot ask yourself for help".into(),
                });
            }
            cx.w.put(&obj, key::TO, to.as_str())?;
            done(format!("asked {}: {}", cx.name(to), r.title))
        }
        None => {
            // Clearing a key is a deletion, which the sync rules refuse: an empty value
            // means the whole team, as no key does.
            cx.w.put(&obj, key::TO, "")?;
            done(format!("asked the whole team: {}", r.title))
        }
    }
}

/// Whether `me` already has a pending offer on this request.
pub(crate) fn pending_offer_by<'t>(
    team: &'t Team,
    request: &RequestId,
    me: &MemberId,
) -> Option<&'t crate::model::Offer> {
    team.offers.values().find(|o| {
        o.request.as_ref() == Some(request) && &o.from == me && o.status() == OfferStatus::Pending
    })
}

/// A request in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestOut {
    /// Id.
    pub id: RequestId,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Who asked.
    pub author: MemberId,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// What they tried.
    #[serde(default)]
    pub tried: String,
    /// Urgency.
    #[serde(default)]
    pub urgency: Urgency,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Aimed at.
    #[serde(default)]
    pub to: Option<MemberId>,
    /// Resolved at.
    #[serde(default)]
    pub resolved_at: Option<i64>,
    /// Withdrawn at.
    #[serde(default)]
    pub withdrawn_at: Option<i64>,
    /// Who holds the claim.
    #[serde(default)]
    pub claimed_by: Option<MemberId>,
    /// Claim time.
    #[serde(default)]
    pub claimed_at: Option<i64>,
}

impl RequestOut {
    /// The export of every request, with the status the board shows.
    pub(crate) fn all(team: &Team, index: &Index<'_>) -> Vec<Self> {
        team.requests
            .values()
            .map(|r| {
                let claim = r.winning_claim();
                RequestOut {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    status: index.status(r).as_str().into(),
                    author: r.author.clone(),
                    created_at: r.created_ms,
                    tried: r.tried.clone(),
                    urgency: r.urgency,
                    skills: r.skills.iter().cloned().collect(),
                    to: r.to.clone(),
                    // As it stands: a reopened request is exported open.
                    resolved_at: r
                        .closed_at(i64::MAX)
                        .and_then(|(c, at)| (c == Closed::Resolved).then_some(at)),
                    withdrawn_at: r
                        .closed_at(i64::MAX)
                        .and_then(|(c, at)| (c == Closed::Withdrawn).then_some(at)),
                    claimed_by: claim.map(|c| c.member.clone()),
                    claimed_at: claim.map(|c| c.at_ms),
                }
            })
            .collect()
    }

    /// The requests as a CSV table, names beside ids.
    pub(crate) fn csv(team: &Team, requests: &[Self]) -> String {
        let name = |id: &MemberId| team.name_of(id);
        let mut out = csv_line(&[
            "id",
            "title",
            "status",
            "author",
            "author_name",
            "created_at",
            "urgency",
            "skills",
            "to",
            "claimed_by",
            "resolved_at",
        ]);
        for r in requests {
            out += &csv_line(&[
                r.id.to_string(),
                r.title.clone(),
                r.status.clone(),
                r.author.to_string(),
                name(&r.author),
                format_datetime(r.created_at),
                r.urgency.as_str().into(),
                r.skills.join(";"),
                r.to.as_ref().map(name).unwrap_or_default(),
                r.claimed_by.as_ref().map(name).unwrap_or_default(),
                r.resolved_at.map(format_datetime).unwrap_or_default(),
            ]);
        }
        out
    }

    /// Restores this request if the copy lacks it, under the same limits as asking. A
    /// claim comes back only when it is the importer's own.
    pub(crate) fn import(&self, cx: &mut ImportCx<'_>) -> Result<(), ImportError> {
        if cx.team.requests.contains_key(&self.id) {
            cx.report.already_present += 1;
            return Ok(());
        }
        cx.check_member(&self.author, &self.id)?;
        // A request speaks for who asked: only their own device can write it.
        if &self.author != cx.me {
            cx.report.skipped.push(format!(
                "request by {} \"{}\": only they can ask",
                cx.team.name_of(&self.author),
                self.title
            ));
            return Ok(());
        }
        if let Some(to) = &self.to {
            cx.check_member(to, &self.id)?;
        }
        let new = NewRequest {
            title: self.title.clone(),
            tried: self.tried.clone(),
            skills: self.skills.clone(),
            urgency: self.urgency,
            to: self.to.clone(),
        }
        .check()
        .map_err(record_err(&self.id))?;
        let obj = new.write(&mut cx.w, &self.id, &self.author, self.created_at)?;
        if let Some(t) = self.resolved_at {
            cx.w.put(&obj, key::RESOLVED_MS, t)?;
        }
        if let Some(t) = self.withdrawn_at {
            cx.w.put(&obj, key::WITHDRAWN_MS, t)?;
        }
        if let (Some(by), Some(at)) = (&self.claimed_by, self.claimed_at) {
            if by == cx.me {
                let claims = cx.w.child(&obj, key::CLAIMS)?;
                let c = cx.w.new_map(&claims, cx.me.as_str())?;
                cx.w.put(&c, key::AT_MS, at)?;
            } else {
                let skipped = format!(
                    "claim by {} on \"{}\": only they can claim",
                    cx.team.name_of(by),
                    self.title
                );
                cx.report.skipped.push(skipped);
            }
        }
        cx.report.added += 1;
        Ok(())
    }
}
