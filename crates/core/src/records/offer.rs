//! An offer of help ("Would you like some help?"): a question to one person, whose
//! answer is the consent that coaching rests on.
//!
//! ```text
//! offers/<offer>: {from, to, request?, topic, message, created_ms, withdrawn_ms?,
//!                  responses/<member>: {answer, at_ms},
//!                  meet/<member>: …}                              (see meet.rs)
//! ```
//!
//! The answer lives under the answering member's key and counts only when every field
//! of it was written by that member's devices; the advice stays out of view until a yes.

use std::collections::HashMap;

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::meet::{self, Meet};
use super::{
    Cx, Forgery, ImportCx, Read, check_speaker, clean_text, csv_line, done, opt_member,
    own_entries, record_err, written_by,
};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::Fields;
use crate::ids::{ActorHex, MemberId, OfferId, RequestId};
use crate::model::Team;
use crate::schema::{MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::time::format_datetime;
use crate::touched::Collection;

/// The document keys of an offer.
mod key {
    pub(super) const FROM: &str = "from";
    pub(super) const TO: &str = "to";
    pub(super) const REQUEST: &str = "request";
    pub(super) const TOPIC: &str = "topic";
    pub(super) const MESSAGE: &str = "message";
    pub(super) const CREATED_MS: &str = "created_ms";
    pub(super) const WITHDRAWN_MS: &str = "withdrawn_ms";
    pub(super) const RESPONSES: &str = "responses";
    /// In a response.
    pub(super) const ANSWER: &str = "answer";
    /// In a response.
    pub(super) const AT_MS: &str = "at_ms";
}

/// The answer to an offer of help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Answer {
    /// Yes please: coaching may start, and the advice becomes visible.
    Yes,
    /// Not now: the offer stays closed.
    NotNow,
}

impl Answer {
    /// The stored and typed form: `yes`, `not-now`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::NotNow => "not-now",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "yes" => Some(Self::Yes),
            "not-now" => Some(Self::NotNow),
            _ => None,
        }
    }
}

/// A verified answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Yes or not now.
    pub answer: Answer,
    /// When.
    pub at_ms: i64,
}

/// An offer of help: a question to one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Id.
    pub id: OfferId,
    /// Who offers.
    pub from: MemberId,
    /// Who is asked.
    pub to: MemberId,
    /// The request it answers, if any.
    pub request: Option<RequestId>,
    /// What it is about (for offers straight to a person; a request's title otherwise).
    pub topic: String,
    /// Advice text: never shown before a yes. Use [`Offer::visible_message`].
    pub(crate) message: String,
    /// When offered.
    pub created_ms: i64,
    /// Taken back by the offerer.
    pub withdrawn_ms: Option<i64>,
    /// The answer of `to`, verified to be written by their device.
    pub response: Option<Response>,
    /// Answers written by anyone else, ignored.
    pub forged_responses: Vec<Forgery>,
    /// After a yes: where finding a time stands.
    pub meet: Meet,
    /// After a yes, one of the two said they did not meet (who, when).
    pub ended: Option<(MemberId, i64)>,
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfferStatus {
    /// Waiting for an answer.
    Pending,
    /// Yes.
    Accepted,
    /// Not now.
    Declined,
    /// The offerer took it back before a yes.
    Withdrawn,
    /// After a yes, one of the two said they did not meet after all.
    Ended,
}

impl OfferStatus {
    /// Stored/typed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
            Self::Ended => "ended",
        }
    }
}

impl Offer {
    /// Derived status.
    pub fn status(&self) -> OfferStatus {
        match (self.response.map(|r| r.answer), self.withdrawn_ms) {
            (Some(Answer::Yes), _) if self.ended.is_some() => OfferStatus::Ended,
            (Some(Answer::Yes), _) => OfferStatus::Accepted,
            (_, Some(_)) => OfferStatus::Withdrawn,
            (Some(Answer::NotNow), None) => OfferStatus::Declined,
            (None, None) => OfferStatus::Pending,
        }
    }

    /// The advice text as `viewer` may see it: the offerer always sees their own words;
    /// anyone else only after the person asked said yes.
    pub fn visible_message(&self, viewer: Option<&MemberId>) -> Option<&str> {
        let mine = viewer == Some(&self.from);
        (mine || self.status() == OfferStatus::Accepted)
            .then_some(self.message.as_str())
            .filter(|m| !m.is_empty())
    }

    /// The other of the offer's two people, seen from `me`.
    pub fn other(&self, me: &MemberId) -> &MemberId {
        if &self.from == me {
            &self.to
        } else {
            &self.from
        }
    }

    /// When the person asked said yes, if that yes stands as of `at_ms`: given by then
    /// and not ended by then (`live`: not ended at all, whatever the end's time).
    pub fn yes_at(&self, at_ms: i64, live: bool) -> Option<i64> {
        let yes = self
            .response
            .filter(|r| r.answer == Answer::Yes && r.at_ms <= at_ms)?;
        let ended = self
            .ended
            .as_ref()
            .is_some_and(|(_, t)| live || *t <= at_ms);
        (!ended).then_some(yes.at_ms)
    }

    /// Whether there is advice text waiting behind the consent gate.
    pub fn has_message(&self) -> bool {
        !self.message.is_empty()
    }
}

/// An offer to make: on a request, or straight to a person with a topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOffer {
    /// The request, if the offer answers one (its author is then the person asked).
    #[serde(default)]
    pub request: Option<RequestId>,
    /// The person asked, for an offer that is not on a request.
    #[serde(default)]
    pub to: Option<MemberId>,
    /// What the help is about.
    #[serde(default)]
    pub topic: String,
    /// Advice, kept from view until the person says yes.
    #[serde(default)]
    pub message: String,
}

/// Reads one offer; `None` without a sender or a person asked. Only `to`'s own devices
/// can answer it.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &OfferId,
    obj: &ObjId,
) -> Option<Read<Offer>> {
    let f = Fields::read(doc, obj);
    let to = opt_member(&f, key::TO)?;
    let from = opt_member(&f, key::FROM)?;
    let created_ms = f.int(key::CREATED_MS).unwrap_or(0);
    // The offer speaks for its sender: it, and whom and what it is for, are theirs to
    // write; a rewrite of those by anyone else makes it count for nothing.
    for field in [key::FROM, key::TO, key::REQUEST, key::TOPIC, key::MESSAGE] {
        if f.get(field).is_none() {
            continue;
        }
        if let Err(actor) = check_speaker(actors, obj, &f, &from, field) {
            return Some(Read::Forged(Forgery {
                claimed: from,
                actor,
                at_ms: created_ms,
                what: format!("offered help ({})", f.text(key::TOPIC)),
            }));
        }
    }
    let withdrawn_ms = f
        .int(key::WITHDRAWN_MS)
        .filter(|_| written_by(actors, &f, key::WITHDRAWN_MS, &from));
    let mut response = None;
    let mut forged_responses = Vec::new();
    for (member, r, verdict) in own_entries(doc, actors, f.map(key::RESPONSES), key::ANSWER) {
        let at_ms = r.int(key::AT_MS).unwrap_or(0);
        let answer = r.str(key::ANSWER).and_then(Answer::parse);
        match (verdict, answer) {
            (Ok(()), Some(answer)) if member == to => {
                response = Some(Response { answer, at_ms });
            }
            (Err(actor), _) => forged_responses.push(Forgery {
                claimed: member,
                actor,
                at_ms,
                what: format!(
                    "answered {:?}",
                    answer.map(Answer::as_str).unwrap_or("something unreadable")
                ),
            }),
            // A genuine answer from someone the offer was not for, or an unreadable one:
            // not an answer to this offer.
            _ => {}
        }
    }
    let met = meet::read(doc, actors, f.map(meet::MEET), &from, &to);
    forged_responses.extend(met.forged);
    // Only after a yes is there a meeting to arrange or end.
    let said_yes = response.is_some_and(|r| r.answer == Answer::Yes);
    Some(Read::Counts(Offer {
        meet: if said_yes { met.meet } else { Meet::Open },
        ended: met.ended.filter(|_| said_yes),
        id: id.clone(),
        from,
        to,
        request: f.str(key::REQUEST).and_then(|s| RequestId::parse(s).ok()),
        topic: f.text(key::TOPIC),
        message: f.text(key::MESSAGE),
        created_ms,
        withdrawn_ms,
        response,
        forged_responses,
    }))
}

/// An offer, whatever its status.
fn of<'t>(team: &'t Team, id: &OfferId) -> Result<&'t Offer, CommandError> {
    team.offers.get(id).ok_or_else(|| CommandError::NotFound {
        kind: "offer",
        id: id.to_string(),
    })
}

/// The limit on an offer's topic, the same for offering and import.
fn check_topic(topic: &str, required: bool) -> Result<String, CommandError> {
    clean_text("topic", topic, MAX_TITLE_CHARS, required)
}

/// The limit on an offer's advice, the same for offering and import.
fn check_message(message: &str) -> Result<String, CommandError> {
    clean_text("message", message, MAX_TEXT_CHARS, false)
}

/// Offers help: on someone else's open request (once while it waits), or to a person.
pub(crate) fn offer(cx: &mut Cx<'_>, new: NewOffer) -> Result<Applied, CommandError> {
    let me = cx.me;
    let message = check_message(&new.message)?;
    let (to, topic) = match &new.request {
        Some(rid) => {
            let r = super::request::active(cx.team, rid)?;
            if &r.author == me {
                return Err(CommandError::OwnRequest {
                    action: "offer help on",
                });
            }
            if let Some(o) = super::request::pending_offer_by(cx.team, rid, me) {
                return Err(CommandError::DuplicateOffer {
                    offer: o.id.to_string(),
                    to: cx.name(&o.to),
                });
            }
            let topic = check_topic(&new.topic, false)?;
            let topic = if topic.is_empty() {
                r.title.clone()
            } else {
                topic
            };
            (r.author.clone(), topic)
        }
        None => {
            let to = new.to.clone().ok_or(CommandError::InvalidInput {
                field: "to",
                reason: "an offer needs a request or a person to ask".into(),
            })?;
            cx.current_member(&to)?;
            if &to == me {
                return Err(CommandError::InvalidInput {
                    field: "to",
                    reason: "you cannot offer help to yourself".into(),
                });
            }
            (to, check_topic(&new.topic, true)?)
        }
    };
    let id: OfferId = cx.fresh()?;
    let w = &mut cx.w;
    let parent = w.collection(Collection::Offers)?;
    let obj = w.new_map(&parent, id.as_str())?;
    w.put(&obj, key::FROM, me.as_str())?;
    w.put(&obj, key::TO, to.as_str())?;
    w.put_some(
        &obj,
        key::REQUEST,
        new.request.as_ref().map(RequestId::as_str),
    )?;
    w.put(&obj, key::TOPIC, topic.as_str())?;
    w.put(&obj, key::MESSAGE, message)?;
    w.put(&obj, key::CREATED_MS, cx.now_ms)?;
    w.new_map(&obj, key::RESPONSES)?;
    w.new_map(&obj, meet::MEET)?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: format!(
            "asked {} \"Would you like some help?\" ({topic})",
            cx.name(&to)
        ),
    })
}

/// Answers an offer made to me.
pub(crate) fn respond(
    cx: &mut Cx<'_>,
    offer: &OfferId,
    answer: Answer,
) -> Result<Applied, CommandError> {
    let o = of(cx.team, offer)?;
    if &o.to != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&o.to),
            action: "answer this offer",
        });
    }
    if o.status() == OfferStatus::Withdrawn {
        return Err(CommandError::Closed {
            kind: "offer",
            id: offer.to_string(),
            status: "withdrawn",
        });
    }
    let obj = cx.w.record(Collection::Offers, "offer", offer.as_str())?;
    let responses = cx.w.child(&obj, key::RESPONSES)?;
    // Always a fresh entry: every field of it is then written by this device, even where
    // a forged entry stood (re-putting an equal value writes nothing).
    let r = cx.w.new_map(&responses, cx.me.as_str())?;
    cx.w.put(&r, key::ANSWER, answer.as_str())?;
    cx.w.put(&r, key::AT_MS, cx.now_ms)?;
    if answer == Answer::Yes {
        // Where the two will find a time (an offer made before there was one).
        super::map_or_new(&mut cx.w, &obj, meet::MEET)?;
    }
    done(format!(
        "answered {} to {}",
        match answer {
            Answer::Yes => "yes",
            Answer::NotNow => "not now",
        },
        cx.name(&o.from)
    ))
}

/// Takes back my offer.
pub(crate) fn withdraw(cx: &mut Cx<'_>, offer: &OfferId) -> Result<Applied, CommandError> {
    let o = of(cx.team, offer)?;
    if &o.from != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&o.from),
            action: "withdraw this offer",
        });
    }
    let obj = cx.w.record(Collection::Offers, "offer", offer.as_str())?;
    cx.w.put(&obj, key::WITHDRAWN_MS, cx.now_ms)?;
    done("offer withdrawn")
}

/// An offer in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferOut {
    /// Id.
    pub id: OfferId,
    /// The request it is on.
    pub request: Option<RequestId>,
    /// Offerer.
    pub from: MemberId,
    /// Person asked.
    pub to: MemberId,
    /// Status.
    pub status: String,
    /// Topic.
    #[serde(default)]
    pub topic: String,
    /// When.
    #[serde(default)]
    pub created_at: i64,
    /// When answered.
    #[serde(default)]
    pub answered_at: Option<i64>,
    /// Advice, where the exporter may see it.
    #[serde(default)]
    pub message: Option<String>,
}

impl OfferOut {
    /// The export of every offer as `viewer` sees it: advice only where they may read it.
    pub(crate) fn all(team: &Team, viewer: Option<&MemberId>) -> Vec<Self> {
        team.offers
            .values()
            .map(|o| OfferOut {
                id: o.id.clone(),
                request: o.request.clone(),
                from: o.from.clone(),
                to: o.to.clone(),
                status: o.status().as_str().into(),
                topic: o.topic.clone(),
                created_at: o.created_ms,
                answered_at: o.response.map(|r| r.at_ms),
                message: o.visible_message(viewer).map(str::to_owned),
            })
            .collect()
    }

    /// The offers as a CSV table.
    pub(crate) fn csv(team: &Team, offers: &[Self]) -> String {
        let mut out = csv_line(&[
            "id",
            "request",
            "from",
            "to",
            "status",
            "topic",
            "created_at",
        ]);
        for o in offers {
            out += &csv_line(&[
                o.id.to_string(),
                o.request
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                team.name_of(&o.from),
                team.name_of(&o.to),
                o.status.clone(),
                o.topic.clone(),
                format_datetime(o.created_at),
            ]);
        }
        out
    }

    /// Restores this offer if the copy lacks it. Its answer comes back only when the
    /// importer is the person asked: nobody else's consent is written on their behalf.
    pub(crate) fn import(&self, cx: &mut ImportCx<'_>) -> Result<(), ImportError> {
        if cx.team.offers.contains_key(&self.id) {
            cx.report.already_present += 1;
            return Ok(());
        }
        cx.check_member(&self.from, &self.id)?;
        cx.check_member(&self.to, &self.id)?;
        // An offer speaks for its sender: only their own device can write it.
        if &self.from != cx.me {
            cx.report.skipped.push(format!(
                "offer from {} ({}): only they can offer",
                cx.team.name_of(&self.from),
                self.topic
            ));
            return Ok(());
        }
        let err = record_err(&self.id);
        let topic = check_topic(&self.topic, false).map_err(&err)?;
        let message = check_message(self.message.as_deref().unwrap_or("")).map_err(&err)?;
        let w = &mut cx.w;
        let parent = w.collection(Collection::Offers)?;
        let obj = w.new_map(&parent, self.id.as_str())?;
        w.put(&obj, key::FROM, self.from.as_str())?;
        w.put(&obj, key::TO, self.to.as_str())?;
        w.put_some(
            &obj,
            key::REQUEST,
            self.request.as_ref().map(RequestId::as_str),
        )?;
        w.put(&obj, key::TOPIC, topic.as_str())?;
        w.put(&obj, key::MESSAGE, message)?;
        w.put(&obj, key::CREATED_MS, self.created_at)?;
        if self.status == OfferStatus::Withdrawn.as_str() {
            w.put(
                &obj,
                key::WITHDRAWN_MS,
                self.answered_at.unwrap_or(self.created_at),
            )?;
        }
        let responses = w.new_map(&obj, key::RESPONSES)?;
        w.new_map(&obj, meet::MEET)?;
        // The yes and a "we did not meet" are the person asked's and the two people's to
        // give: an ended offer comes back as one waiting for their answer, as an accepted
        // one does.
        let ended = self.status == OfferStatus::Ended.as_str();
        let answer = match self.status.as_str() {
            s if s == OfferStatus::Accepted.as_str() || ended => Some(Answer::Yes),
            s if s == OfferStatus::Declined.as_str() => Some(Answer::NotNow),
            _ => None,
        };
        if let Some(answer) = answer {
            if &self.to == cx.me {
                let r = w.new_map(&responses, cx.me.as_str())?;
                w.put(&r, key::ANSWER, answer.as_str())?;
                w.put(&r, key::AT_MS, self.answered_at.unwrap_or(cx.now_ms))?;
            } else {
                let skipped = format!(
                    "{}'s answer to \"{}\": only they can answer; ask them to answer again",
                    cx.name(&self.to),
                    self.topic
                );
                cx.report.skipped.push(skipped);
            }
        }
        cx.report.added += 1;
        Ok(())
    }
}
