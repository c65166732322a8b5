//! A coaching session: who coached whom, on what, for how long, and what they learned.
//!
//! ```text
//! sessions/<session>: {coach, coachee, topic, skills/<skill>: Bool, at_ms, minutes,
//!                      notes, learning, offer?, request?, created_ms, deleted_ms?,
//!                      followups/<follow-up>: …}                    (see followup.rs)
//! ```
//!
//! Consent: a session is logged after an accepted offer, against a request by the
//! coachee, or by the coachee themselves ([`log`]).

use std::collections::{BTreeSet, HashMap};

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::edits::{self, Edit, Text};
use super::followup::{self, FollowUp, FollowUpOut};
use super::{
    Cx, Forgery, ImportCx, Read, Writer, clean_skills, clean_text, csv_line, done, opt_member,
    opt_u32, record_err, tags_by, written_by,
};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::{Fields, actor_of};
use crate::ids::{ActorHex, MemberId, OfferId, RequestId, SessionId};
use crate::model::{OfferStatus, Team};
use crate::schema::{MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::time::format_datetime;
use crate::touched::Collection;

/// The longest a session can last.
pub const MAX_MINUTES: u32 = 24 * 60;

/// The document keys of a session.
pub(crate) mod key {
    pub(crate) const COACH: &str = "coach";
    pub(crate) const COACHEE: &str = "coachee";
    pub(crate) const TOPIC: &str = "topic";
    pub(crate) const SKILLS: &str = "skills";
    pub(crate) const AT_MS: &str = "at_ms";
    pub(crate) const MINUTES: &str = "minutes";
    pub(crate) const NOTES: &str = "notes";
    pub(crate) const LEARNING: &str = "learning";
    pub(crate) const OFFER: &str = "offer";
    pub(crate) const REQUEST: &str = "request";
    pub(crate) const CREATED_MS: &str = "created_ms";
    pub(crate) const DELETED_MS: &str = "deleted_ms";
    /// Taken out of the trash: a deletion at or before it no longer counts.
    pub(crate) const RESTORED_MS: &str = "restored_ms";
    pub(crate) const FOLLOWUPS: &str = "followups";
}

/// A coaching session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// Coach.
    pub coach: MemberId,
    /// Coachee.
    pub coachee: MemberId,
    /// Topic.
    pub topic: String,
    /// Skill tags.
    pub skills: BTreeSet<String>,
    /// When it happened.
    pub at_ms: i64,
    /// How long.
    pub minutes: u32,
    /// Notes (team-visible).
    pub notes: String,
    /// A shared learning, for the team.
    pub learning: String,
    /// The accepted offer it followed.
    pub offer: Option<OfferId>,
    /// The request it answered.
    pub request: Option<RequestId>,
    /// When logged.
    pub created_ms: i64,
    /// Who logged it (the member whose device wrote the record).
    pub logged_by: Option<MemberId>,
    /// In the trash since then (a deletion that a later restore took back does not count).
    pub deleted_ms: Option<i64>,
    /// Who put it in the trash.
    #[serde(default)]
    pub deleted_by: Option<MemberId>,
    /// Last taken out of the trash.
    #[serde(default)]
    pub restored_ms: Option<i64>,
    /// Who took it out.
    #[serde(default)]
    pub restored_by: Option<MemberId>,
    /// Follow-ups, oldest first.
    pub followups: Vec<FollowUp>,
    /// Its two people's edits, oldest first.
    #[serde(default)]
    pub edits: Vec<Edit>,
    /// Edits written by anyone else: they count for nothing.
    #[serde(default)]
    pub ignored: Vec<Forgery>,
    /// Grows with every change to it (the Lamport counter of its latest write), the same
    /// on every device: a calendar event's `SEQUENCE`.
    #[serde(default)]
    pub revision: u64,
}

/// A session to log: `Command::LogSession(NewSession { topic, ..NewSession::between(a, b) })`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// Coach.
    pub coach: MemberId,
    /// Coachee.
    pub coachee: MemberId,
    /// Topic.
    pub topic: String,
    /// Skill tags.
    #[serde(default)]
    pub skills: Vec<String>,
    /// When it took place (default: now).
    #[serde(default)]
    pub at_ms: Option<i64>,
    /// Minutes.
    pub minutes: u32,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// A learning to share with the team.
    #[serde(default)]
    pub learning: String,
    /// The accepted offer it follows.
    #[serde(default)]
    pub offer: Option<OfferId>,
    /// The request it answers.
    #[serde(default)]
    pub request: Option<RequestId>,
}

impl NewSession {
    /// The plainest session: `coach` coached `coachee` for 30 minutes, just now, with no
    /// topic, notes, skills or learning, and not after an offer.
    pub fn between(coach: MemberId, coachee: MemberId) -> Self {
        Self {
            coach,
            coachee,
            topic: String::new(),
            skills: Vec::new(),
            at_ms: None,
            minutes: 30,
            notes: String::new(),
            learning: String::new(),
            offer: None,
            request: None,
        }
    }

    /// A session's own limits, the same for logging and import.
    pub fn check(mut self) -> Result<Self, CommandError> {
        if self.coach == self.coachee {
            return Err(CommandError::InvalidInput {
                field: "coachee",
                reason: "coach and coachee must be different people".into(),
            });
        }
        if self.minutes > MAX_MINUTES {
            return Err(CommandError::InvalidInput {
                field: "minutes",
                reason: "a session cannot last more than a day".into(),
            });
        }
        self.topic = clean_text("topic", &self.topic, MAX_TITLE_CHARS, true)?;
        self.notes = clean_text("notes", &self.notes, MAX_TEXT_CHARS, false)?;
        self.learning = clean_text("learning", &self.learning, MAX_TEXT_CHARS, false)?;
        self.skills = clean_skills(&self.skills)?;
        Ok(self)
    }

    /// Writes a checked session as a new record.
    fn write(
        &self,
        w: &mut Writer<'_>,
        id: &SessionId,
        at_ms: i64,
        created_ms: i64,
    ) -> Result<ObjId, CommandError> {
        let parent = w.collection(Collection::Sessions)?;
        let obj = w.new_map(&parent, id.as_str())?;
        w.put(&obj, key::COACH, self.coach.as_str())?;
        w.put(&obj, key::COACHEE, self.coachee.as_str())?;
        w.put(&obj, key::TOPIC, self.topic.as_str())?;
        w.tags(&obj, key::SKILLS, &self.skills)?;
        w.put(&obj, key::AT_MS, at_ms)?;
        w.put(&obj, key::MINUTES, i64::from(self.minutes))?;
        w.put(&obj, key::NOTES, self.notes.as_str())?;
        w.put(&obj, key::LEARNING, self.learning.as_str())?;
        w.put_some(&obj, key::OFFER, self.offer.as_ref().map(OfferId::as_str))?;
        w.put_some(
            &obj,
            key::REQUEST,
            self.request.as_ref().map(RequestId::as_str),
        )?;
        w.put(&obj, key::CREATED_MS, created_ms)?;
        w.new_map(&obj, key::FOLLOWUPS)?;
        Ok(obj)
    }
}

/// Reads one session; `None` when it lacks a coach or coachee.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &SessionId,
    obj: &ObjId,
) -> Option<Read<Session>> {
    let f = Fields::read(doc, obj);
    let coach = opt_member(&f, key::COACH)?;
    let coachee = opt_member(&f, key::COACHEE)?;
    // A session is logged by one of the two people in it, from their own device.
    let logger = actor_of(obj);
    let logged_by = logger.as_ref().and_then(|a| actors.get(a).cloned());
    if logged_by
        .as_ref()
        .is_none_or(|by| by != &coach && by != &coachee)
        && let Some(actor) = logger
    {
        return Some(Read::Forged(Forgery {
            claimed: coachee,
            actor,
            at_ms: f.int(key::AT_MS).unwrap_or(0),
            what: format!("logged a session between others ({})", f.text(key::TOPIC)),
        }));
    }
    // Every field is the two people's to write: one rewritten by anyone else (a time
    // moved, a cancellation written or taken back) makes the session count for nothing,
    // as a forged offer does.
    for field in [
        key::COACH,
        key::COACHEE,
        key::TOPIC,
        key::AT_MS,
        key::MINUTES,
        key::NOTES,
        key::LEARNING,
        key::OFFER,
        key::REQUEST,
        key::CREATED_MS,
        key::DELETED_MS,
        key::RESTORED_MS,
        key::SKILLS,
    ] {
        if f.get(field).is_none()
            || written_by(actors, &f, field, &coach)
            || written_by(actors, &f, field, &coachee)
        {
            continue;
        }
        if let Some(actor) = f.actor(field) {
            return Some(Read::Forged(Forgery {
                claimed: coachee,
                actor,
                at_ms: f.int(key::AT_MS).unwrap_or(0),
                what: format!("rewrote a session of others ({})", f.text(key::TOPIC)),
            }));
        }
    }
    let ours = |m: &MemberId| m == &coach || m == &coachee;
    let skills = match tags_by(doc, actors, &f, key::SKILLS, ours) {
        Ok(skills) => skills,
        Err(actor) => {
            return Some(Read::Forged(Forgery {
                claimed: coachee,
                actor,
                at_ms: f.int(key::AT_MS).unwrap_or(0),
                what: format!("rewrote a session of others ({})", f.text(key::TOPIC)),
            }));
        }
    };
    let (edits, ignored) = edits::read(doc, actors, obj, &f, ours, &coachee);
    let restored_ms = f.int(key::RESTORED_MS);
    let deleted_ms = crate::trash::in_trash(f.int(key::DELETED_MS), restored_ms);
    let deleted_by = deleted_ms
        .and(f.actor(key::DELETED_MS))
        .and_then(|a| actors.get(&a).cloned());
    let restored_by = f
        .actor(key::RESTORED_MS)
        .and_then(|a| actors.get(&a).cloned());
    Some(Read::Counts(Session {
        id: id.clone(),
        coach,
        coachee,
        topic: f.text(key::TOPIC),
        skills,
        at_ms: f.int(key::AT_MS).unwrap_or(0),
        minutes: opt_u32(&f, key::MINUTES).unwrap_or(0),
        notes: f.text(key::NOTES),
        learning: f.text(key::LEARNING),
        offer: f.str(key::OFFER).and_then(|s| OfferId::parse(s).ok()),
        request: f.str(key::REQUEST).and_then(|s| RequestId::parse(s).ok()),
        created_ms: f.int(key::CREATED_MS).unwrap_or(0),
        logged_by,
        deleted_ms,
        deleted_by,
        restored_ms,
        restored_by,
        followups: followup::read_all(doc, f.map(key::FOLLOWUPS)),
        edits,
        ignored,
        revision: f
            .iter()
            .filter_map(|(_, v)| crate::fields::op_of(&v.id))
            .map(|(counter, _)| counter)
            .max()
            .unwrap_or(0),
    }))
}

impl Session {
    /// Whether this session is the one `offer` led to: it names the offer, and the offer
    /// was from its coach to its coachee (a session naming someone else's offer says
    /// nothing about it).
    pub fn follows(&self, offer: &crate::model::Offer) -> bool {
        self.deleted_ms.is_none()
            && self.offer.as_ref() == Some(&offer.id)
            && self.coach == offer.from
            && self.coachee == offer.to
    }

    /// Planned ahead: logged before it began (by the coachee, or after the coachee's yes
    /// to the coach's offer), and not cancelled. What calendars and "starts now" show.
    pub fn is_scheduled(&self, team: &Team) -> bool {
        self.created_ms < self.at_ms && self.consented(team)
    }

    /// The coachee agreed to it: they logged it, or it follows the yes they gave to an
    /// offer from its coach.
    pub fn consented(&self, team: &Team) -> bool {
        self.logged_by.as_ref() == Some(&self.coachee)
            || self
                .offer
                .as_ref()
                .and_then(|o| team.offers.get(o))
                .is_some_and(|o| {
                    o.from == self.coach
                        && o.to == self.coachee
                        && o.response
                            .is_some_and(|r| r.answer == crate::model::Answer::Yes)
                })
    }
}

/// A session that has not been deleted.
pub(crate) fn live<'t>(team: &'t Team, id: &SessionId) -> Result<&'t Session, CommandError> {
    team.sessions
        .get(id)
        .filter(|s| s.deleted_ms.is_none())
        .ok_or_else(|| CommandError::NotFound {
            kind: "session",
            id: id.to_string(),
        })
}

/// Logs a session. The coach or the coachee logs it, and it needs the coachee's consent.
pub(crate) fn log(cx: &mut Cx<'_>, new: NewSession) -> Result<Applied, CommandError> {
    cx.current_member(&new.coach)?;
    cx.current_member(&new.coachee)?;
    let mut new = new.check()?;
    let me = cx.me;
    if me != &new.coach && me != &new.coachee {
        return Err(CommandError::NotYours {
            who: format!("{} or {}", cx.name(&new.coach), cx.name(&new.coachee)),
            action: "log this session",
        });
    }
    (new.offer, new.request) = consent(cx.team, me, &new)?;
    let id: SessionId = cx.fresh()?;
    let now_ms = cx.now_ms;
    let at_ms = new.at_ms.unwrap_or(now_ms);
    new.write(&mut cx.w, &id, at_ms, now_ms)?;
    let summary = if at_ms > now_ms {
        format!(
            "{} will coach {} on {} UTC: {}",
            cx.name(&new.coach),
            cx.name(&new.coachee),
            format_datetime(at_ms),
            new.topic
        )
    } else {
        format!(
            "{} coached {}: {}",
            cx.name(&new.coach),
            cx.name(&new.coachee),
            new.topic
        )
    };
    Ok(Applied {
        created: Some(id.clone().into()),
        summary,
    })
}

/// Soft-deletes a session (its coach or coachee).
pub(crate) fn delete(cx: &mut Cx<'_>, session: &SessionId) -> Result<Applied, CommandError> {
    let s = live(cx.team, session)?;
    if cx.me != &s.coach && cx.me != &s.coachee {
        return Err(CommandError::NotYours {
            who: format!("{} or {}", cx.name(&s.coach), cx.name(&s.coachee)),
            action: "delete this session",
        });
    }
    let obj =
        cx.w.record(Collection::Sessions, "session", session.as_str())?;
    // After the restore it follows, whatever this device's clock says.
    let at = crate::trash::mark_after(cx.now_ms, s.restored_ms);
    cx.w.put(&obj, key::DELETED_MS, at)?;
    done(format!(
        "session deleted: {} (in the trash for 30 days)",
        s.topic
    ))
}

/// What to change in a session: each field given is set, each `None` is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEdit {
    /// Topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// The shared learning.
    #[serde(default)]
    pub learning: Option<String>,
    /// The skill tags, all of them.
    #[serde(default)]
    pub skills: Option<Vec<String>>,
    /// When it took place (or will).
    #[serde(default)]
    pub at_ms: Option<i64>,
    /// How long.
    #[serde(default)]
    pub minutes: Option<u32>,
}

/// Either of a session's two people edits it: only the fields that change are written,
/// each with an entry for History.
pub(crate) fn edit(
    cx: &mut Cx<'_>,
    session: &SessionId,
    change: SessionEdit,
) -> Result<Applied, CommandError> {
    let s = live(cx.team, session)?;
    if cx.me != &s.coach && cx.me != &s.coachee {
        return Err(CommandError::NotYours {
            who: format!("{} or {}", cx.name(&s.coach), cx.name(&s.coachee)),
            action: "edit this session",
        });
    }
    let obj =
        cx.w.record(Collection::Sessions, "session", session.as_str())?;
    let mut changed = Vec::new();
    let texts = [
        (
            key::TOPIC,
            "topic",
            &change.topic,
            &s.topic,
            MAX_TITLE_CHARS,
            true,
        ),
        (
            key::NOTES,
            "notes",
            &change.notes,
            &s.notes,
            MAX_TEXT_CHARS,
            false,
        ),
        (
            key::LEARNING,
            "learning",
            &change.learning,
            &s.learning,
            MAX_TEXT_CHARS,
            false,
        ),
    ];
    for (key, name, new, old, max_chars, required) in texts {
        let text = Text {
            key,
            name,
            max_chars,
            required,
        };
        if edits::set_text(cx, &obj, text, new.as_deref(), old)? {
            changed.push(name);
        }
    }
    if edits::set_tags(cx, &obj, key::SKILLS, change.skills.as_deref(), &s.skills)? {
        changed.push("skills");
    }
    if let Some(at_ms) = change.at_ms
        && at_ms != s.at_ms
    {
        cx.w.put(&obj, key::AT_MS, at_ms)?;
        edits::note(
            cx,
            &obj,
            key::AT_MS,
            &format!("{} UTC", format_datetime(at_ms)),
        )?;
        changed.push("date");
    }
    if let Some(minutes) = change.minutes
        && minutes != s.minutes
    {
        if minutes > MAX_MINUTES {
            return Err(CommandError::InvalidInput {
                field: "minutes",
                reason: "a session cannot last more than a day".into(),
            });
        }
        cx.w.put(&obj, key::MINUTES, i64::from(minutes))?;
        edits::note(cx, &obj, key::MINUTES, &format!("{minutes} minutes"))?;
        changed.push("length");
    }
    if changed.is_empty() {
        return done("nothing changed");
    }
    let topic = change.topic.as_deref().map_or(s.topic.as_str(), str::trim);
    done(format!(
        "edited the {} of the session: {topic}",
        changed.join(", ")
    ))
}

/// Takes a session out of the trash (its coach or coachee, within the days it is kept).
/// A new change: the deletion stays in the record, and a later one counts again.
pub(crate) fn restore(cx: &mut Cx<'_>, session: &SessionId) -> Result<Applied, CommandError> {
    let not_found = || CommandError::NotFound {
        kind: "session",
        id: session.to_string(),
    };
    let s = cx.team.sessions.get(session).ok_or_else(not_found)?;
    if cx.me != &s.coach && cx.me != &s.coachee {
        return Err(CommandError::NotYours {
            who: format!("{} or {}", cx.name(&s.coach), cx.name(&s.coachee)),
            action: "restore this session",
        });
    }
    let Some(deleted_ms) = s.deleted_ms else {
        return done("not in the trash");
    };
    crate::trash::still_kept("session", deleted_ms, cx.now_ms)?;
    let obj =
        cx.w.record(Collection::Sessions, "session", session.as_str())?;
    cx.w.put(&obj, key::RESTORED_MS, cx.now_ms.max(deleted_ms))?;
    done(format!("session restored: {}", s.topic))
}

/// Finds the consent a session rests on: the offer or request given, or one that can be
/// found, or the coachee's own say-so.
fn consent(
    team: &Team,
    me: &MemberId,
    new: &NewSession,
) -> Result<(Option<OfferId>, Option<RequestId>), CommandError> {
    let (coach, coachee) = (&new.coach, &new.coachee);
    if let Some(oid) = &new.offer {
        let o = team.offers.get(oid).ok_or_else(|| CommandError::NotFound {
            kind: "offer",
            id: oid.to_string(),
        })?;
        if &o.from != coach || &o.to != coachee {
            return Err(CommandError::InvalidInput {
                field: "offer",
                reason: format!(
                    "that offer was from {} to {}",
                    team.name_of(&o.from),
                    team.name_of(&o.to)
                ),
            });
        }
        if o.status() != OfferStatus::Accepted {
            return Err(CommandError::Closed {
                kind: "offer",
                id: oid.to_string(),
                status: match o.status() {
                    OfferStatus::Pending => "still waiting for an answer",
                    OfferStatus::Declined => "answered \"not now\"",
                    OfferStatus::Ended => "ended: you did not meet",
                    _ => "withdrawn",
                },
            });
        }
        return Ok((Some(oid.clone()), o.request.clone().or(new.request.clone())));
    }
    if let Some(rid) = &new.request {
        let r = super::request::of(team, rid)?;
        if &r.author != coachee {
            return Err(CommandError::InvalidInput {
                field: "request",
                reason: format!("that request was asked by {}", team.name_of(&r.author)),
            });
        }
        if r.closed_at(i64::MAX)
            .is_some_and(|(c, _)| c == super::request::Closed::Withdrawn)
        {
            return Err(CommandError::Closed {
                kind: "request",
                id: rid.to_string(),
                status: "withdrawn",
            });
        }
        return Ok((None, Some(rid.clone())));
    }
    // Nothing given: look for an accepted offer not yet followed by a session, then for
    // an active request by the coachee that the coach is on.
    let used: BTreeSet<&OfferId> = team
        .offers
        .values()
        .filter(|o| team.sessions.values().any(|s| s.follows(o)))
        .map(|o| &o.id)
        .collect();
    if let Some(o) = team
        .offers
        .values()
        .filter(|o| {
            &o.from == coach
                && &o.to == coachee
                && o.status() == OfferStatus::Accepted
                && !used.contains(&o.id)
        })
        .max_by_key(|o| o.created_ms)
    {
        return Ok((Some(o.id.clone()), o.request.clone()));
    }
    if let Some(r) = team.requests.values().find(|r| {
        &r.author == coachee && r.is_active() && r.winning_claim().map(|c| &c.member) == Some(coach)
    }) {
        return Ok((None, Some(r.id.clone())));
    }
    if me == coachee {
        return Ok((None, None));
    }
    Err(CommandError::NoConsent {
        coach: team.name_of(coach),
        coachee: team.name_of(coachee),
    })
}

/// A session in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOut {
    /// Id.
    pub id: SessionId,
    /// Coach.
    pub coach: MemberId,
    /// Coachee.
    pub coachee: MemberId,
    /// Topic.
    pub topic: String,
    /// When it happened.
    #[serde(default)]
    pub at: i64,
    /// Minutes.
    #[serde(default)]
    pub minutes: u32,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// Shared learning.
    #[serde(default)]
    pub learning: String,
    /// Offer.
    #[serde(default)]
    pub offer: Option<OfferId>,
    /// Request.
    #[serde(default)]
    pub request: Option<RequestId>,
    /// Follow-ups.
    #[serde(default)]
    pub followups: Vec<FollowUpOut>,
}

impl SessionOut {
    /// The export of the sessions that were not deleted.
    pub(crate) fn all(team: &Team) -> Vec<Self> {
        team.sessions
            .values()
            .filter(|s| s.deleted_ms.is_none())
            .map(|s| SessionOut {
                id: s.id.clone(),
                coach: s.coach.clone(),
                coachee: s.coachee.clone(),
                topic: s.topic.clone(),
                at: s.at_ms,
                minutes: s.minutes,
                skills: s.skills.iter().cloned().collect(),
                notes: s.notes.clone(),
                learning: s.learning.clone(),
                offer: s.offer.clone(),
                request: s.request.clone(),
                followups: s.followups.iter().map(FollowUpOut::from).collect(),
            })
            .collect()
    }

    /// The sessions as a CSV table, names beside ids.
    pub(crate) fn csv(team: &Team, sessions: &[Self]) -> String {
        let mut out = csv_line(&[
            "id", "coach", "coachee", "topic", "at", "minutes", "skills", "learning",
        ]);
        for s in sessions {
            out += &csv_line(&[
                s.id.to_string(),
                team.name_of(&s.coach),
                team.name_of(&s.coachee),
                s.topic.clone(),
                format_datetime(s.at),
                s.minutes.to_string(),
                s.skills.join(";"),
                s.learning.clone(),
            ]);
        }
        out
    }

    /// Restores this session if the copy lacks it, under the same limits as logging.
    pub(crate) fn import(&self, cx: &mut ImportCx<'_>) -> Result<(), ImportError> {
        if cx.team.sessions.contains_key(&self.id) {
            cx.report.already_present += 1;
            return Ok(());
        }
        let err = record_err(&self.id);
        cx.check_member(&self.coach, &self.id)?;
        cx.check_member(&self.coachee, &self.id)?;
        // A session is logged by one of the two people in it.
        if &self.coach != cx.me && &self.coachee != cx.me {
            cx.report.skipped.push(format!(
                "session between {} and {} ({}): only they can log it",
                cx.team.name_of(&self.coach),
                cx.team.name_of(&self.coachee),
                self.topic
            ));
            return Ok(());
        }
        let new = NewSession {
            coach: self.coach.clone(),
            coachee: self.coachee.clone(),
            topic: self.topic.clone(),
            skills: self.skills.clone(),
            at_ms: Some(self.at),
            minutes: self.minutes,
            notes: self.notes.clone(),
            learning: self.learning.clone(),
            offer: self.offer.clone(),
            request: self.request.clone(),
        }
        .check()
        .map_err(&err)?;
        let obj = new.write(&mut cx.w, &self.id, self.at, self.at)?;
        let ups = cx.w.child(&obj, key::FOLLOWUPS)?;
        for (i, u) in self.followups.iter().enumerate() {
            cx.check_member(&u.owner, &self.id)?;
            u.import(
                &mut cx.w,
                &ups,
                &followup::imported_id(&self.id, i),
                self.at,
            )
            .map_err(&err)?;
        }
        cx.report.added += 1;
        Ok(())
    }
}
