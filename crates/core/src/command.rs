//! Commands: everything a person can do, each applied as one Automerge change after its
//! rules are checked against the current read model.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ScalarValue, transaction::Transactable};

use crate::fields::get_map;
use crate::ids::{ActorHex, DutyId, FollowUpId, MemberId, OfferId, RequestId, SessionId};
use crate::model::{Answer, OfferStatus, SkillLevel, Stage, Team, Urgency};
use crate::schema::{self, MAX_NAME_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use crate::touched::Collection;

/// Something a member does. Ids of new records are chosen by [`crate::Env`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    /// Change my display name and/or availability note.
    SetProfile {
        /// New name.
        name: Option<String>,
        /// New availability note.
        availability: Option<String>,
    },
    /// Set (or with `None` clear) my level in a skill.
    SetSkill {
        /// Skill tag.
        skill: String,
        /// Level.
        level: Option<SkillLevel>,
    },
    /// Mark a skill I want to learn (or no longer want to).
    SetWantsToLearn {
        /// Skill tag.
        skill: String,
        /// Want it.
        wants: bool,
    },
    /// Pause until a time (`None` ends the snooze).
    Snooze {
        /// Until when.
        until_ms: Option<i64>,
    },
    /// "I could use help."
    Ask {
        /// Title.
        title: String,
        /// What I tried.
        tried: String,
        /// Skill tags.
        skills: Vec<String>,
        /// Urgency.
        urgency: Urgency,
        /// One named person ("coach me"), or the whole team.
        to: Option<MemberId>,
    },
    /// Comment on a request.
    Comment {
        /// Request.
        request: RequestId,
        /// Text.
        text: String,
    },
    /// "I'm on it."
    Claim {
        /// Request.
        request: RequestId,
    },
    /// Let go of my claim.
    ReleaseClaim {
        /// Request.
        request: RequestId,
    },
    /// The request is done (its author, or whoever holds the claim).
    Resolve {
        /// Request.
        request: RequestId,
    },
    /// The author takes the request back.
    Withdraw {
        /// Request.
        request: RequestId,
    },
    /// Ask someone "Would you like some help?" — on a request, or straight to a person.
    Offer {
        /// The request, if the offer answers one (its author is then the person asked).
        request: Option<RequestId>,
        /// The person asked, for an offer that is not on a request.
        to: Option<MemberId>,
        /// What the help is about.
        topic: String,
        /// Advice, kept from view until the person says yes.
        message: String,
    },
    /// Answer an offer made to me.
    Respond {
        /// Offer.
        offer: OfferId,
        /// Yes or not now.
        answer: Answer,
    },
    /// Take back my offer.
    WithdrawOffer {
        /// Offer.
        offer: OfferId,
    },
    /// Record a coaching session. Needs consent: an accepted offer, a request by the
    /// coachee, or the coachee logging it themselves.
    LogSession {
        /// Coach.
        coach: MemberId,
        /// Coachee.
        coachee: MemberId,
        /// Topic.
        topic: String,
        /// Skill tags.
        skills: Vec<String>,
        /// When it took place (default: now).
        at_ms: Option<i64>,
        /// Minutes.
        minutes: u32,
        /// Notes.
        notes: String,
        /// A learning to share with the team.
        learning: String,
        /// The accepted offer it follows.
        offer: Option<OfferId>,
        /// The request it answers.
        request: Option<RequestId>,
    },
    /// Soft-delete a session (its coach or coachee).
    DeleteSession {
        /// Session.
        session: SessionId,
    },
    /// Add a follow-up action to a session.
    AddFollowUp {
        /// Session.
        session: SessionId,
        /// What.
        text: String,
        /// Who (default: the coachee).
        owner: Option<MemberId>,
        /// Due.
        due_ms: Option<i64>,
    },
    /// Tick (or untick) a follow-up.
    SetFollowUpDone {
        /// Session.
        session: SessionId,
        /// Follow-up.
        followup: FollowUpId,
        /// Done.
        done: bool,
    },
    /// Thank someone.
    Thank {
        /// Who.
        to: MemberId,
        /// Text.
        text: String,
        /// For which session.
        session: Option<SessionId>,
    },
    /// Set the team's recurring coaching hour.
    SetCoachingHour {
        /// 0 = Monday.
        weekday: u32,
        /// Minutes after midnight UTC.
        start_minute: u32,
        /// Length.
        minutes: u32,
        /// Where / how.
        note: String,
    },
    /// Put someone on (or off) the helper rota for an ISO week (`2026-W48`).
    SetRota {
        /// Week key.
        week: String,
        /// Member.
        member: MemberId,
        /// Floating that week.
        floating: bool,
    },
    /// List a duty in a handover plan.
    AddDuty {
        /// Title.
        title: String,
        /// Notes.
        notes: String,
        /// Owner (default: me).
        owner: Option<MemberId>,
    },
    /// Set an apprentice's stage on a duty (`None` removes them).
    SetBackfill {
        /// Duty.
        duty: DutyId,
        /// Apprentice.
        apprentice: MemberId,
        /// Stage.
        stage: Option<Stage>,
    },
    /// Soft-delete a duty.
    RemoveDuty {
        /// Duty.
        duty: DutyId,
    },
    /// Add a new member with their first device (done by the inviter on join).
    AddMember {
        /// Display name.
        name: String,
        /// Their device's actor.
        actor: ActorHex,
        /// Their device's endpoint id.
        endpoint: String,
        /// Device label.
        label: String,
        /// Their device's direct addresses (`ip:port`).
        addrs: Vec<String>,
        /// Their device's home relay URL.
        relay: Option<String>,
    },
    /// Link another device of the same person (done by one of their devices).
    AddDevice {
        /// Member.
        member: MemberId,
        /// New device's actor.
        actor: ActorHex,
        /// New device's endpoint id.
        endpoint: String,
        /// Label.
        label: String,
        /// Its direct addresses.
        addrs: Vec<String>,
        /// Its home relay URL.
        relay: Option<String>,
    },
    /// Remove a member. Their devices are refused from then on; their copy of the
    /// document cannot be taken back.
    RemoveMember {
        /// Member.
        member: MemberId,
    },
    /// Publish this device's current direct addresses and home relay, so teammates can
    /// reconnect after either changed.
    PublishAddrs {
        /// `ip:port` strings.
        addrs: Vec<String>,
        /// The relay URL this device is reachable through, if any.
        relay: Option<String>,
    },
    /// Set (or, with `None`, clear) the relay the whole team uses.
    SetTeamRelay {
        /// `https://…` (or `http://…`) URL of a self-hosted iroh relay.
        url: Option<String>,
        /// Its access token, if it asks for one.
        token: Option<String>,
    },
    /// Rename the team.
    RenameTeam {
        /// Name.
        name: String,
    },
}

impl Command {
    /// The plainest session log: `coach` coached `coachee` on `topic` for 30 minutes, just
    /// now, with no notes, skills or learning, and not after an offer.
    pub fn session_now(coach: MemberId, coachee: MemberId, topic: &str) -> Self {
        Self::LogSession {
            coach,
            coachee,
            topic: topic.into(),
            skills: Vec::new(),
            at_ms: None,
            minutes: 30,
            notes: String::new(),
            learning: String::new(),
            offer: None,
            request: None,
        }
    }
}

/// Why a command was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such record.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// Record kind.
        kind: &'static str,
        /// The id given.
        id: String,
    },
    /// A value is missing, too long or malformed.
    #[error("{field}: {reason}")]
    InvalidInput {
        /// Which input.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// This device is not (or no longer) a trusted device of a member.
    #[error("this device is not a member of the team")]
    NotAMember,
    /// The person named has been removed from the team.
    #[error("{name} has been removed from the team")]
    MemberRemoved {
        /// Their name.
        name: String,
    },
    /// Someone else's to do.
    #[error("only {who} can {action}")]
    NotYours {
        /// Who may.
        who: String,
        /// What.
        action: &'static str,
    },
    /// Acting on one's own request where that makes no sense.
    #[error("you cannot {action} your own request")]
    OwnRequest {
        /// What.
        action: &'static str,
    },
    /// The record is closed for this action.
    #[error("{kind} {id} is {status}")]
    Closed {
        /// Record kind.
        kind: &'static str,
        /// Id.
        id: String,
        /// Its status.
        status: &'static str,
    },
    /// Someone else holds the claim.
    #[error("{by} is already on it (claimed {request})")]
    AlreadyClaimed {
        /// Who.
        by: String,
        /// Request.
        request: String,
    },
    /// An offer already waits for an answer.
    #[error("you already offered help here; waiting for {to} to answer (offer {offer})")]
    DuplicateOffer {
        /// Offer id.
        offer: String,
        /// Person asked.
        to: String,
    },
    /// Coaching without a yes.
    #[error(
        "{coachee} has not said yes to help from {coach}: offer first (peercoach offer --to …), \
         log it against their request, or let {coachee} log it"
    )]
    NoConsent {
        /// Coach's name.
        coach: String,
        /// Coachee's name.
        coachee: String,
    },
    /// Automerge refused the write (a bug, not bad input).
    #[error("the team document could not be written: {0}")]
    Document(String),
}

impl From<automerge::AutomergeError> for CommandError {
    fn from(e: automerge::AutomergeError) -> Self {
        Self::Document(e.to_string())
    }
}

/// Checks and cleans free text.
pub(crate) fn clean_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    required: bool,
) -> Result<String, CommandError> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(CommandError::InvalidInput {
            field,
            reason: "must not be empty".into(),
        });
    }
    if text.chars().count() > max_chars {
        return Err(CommandError::InvalidInput {
            field,
            reason: format!("is longer than {max_chars} characters"),
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(CommandError::InvalidInput {
            field,
            reason: "contains control characters".into(),
        });
    }
    Ok(text.to_owned())
}

/// A skill tag: lowercase, trimmed, inner spaces as dashes.
pub fn clean_skill(skill: &str) -> Result<String, CommandError> {
    let tag = skill
        .trim()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    let tag = clean_text("skill", &tag, MAX_NAME_CHARS, true)?;
    if tag.contains('|') {
        return Err(CommandError::InvalidInput {
            field: "skill",
            reason: "must not contain '|'".into(),
        });
    }
    Ok(tag)
}

fn clean_skills(skills: &[String]) -> Result<Vec<String>, CommandError> {
    let mut tags: Vec<String> = skills
        .iter()
        .map(|s| clean_skill(s))
        .collect::<Result<_, _>>()?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// The acting member, checked to be current.
pub(crate) struct Actor<'a> {
    pub(crate) id: &'a MemberId,
}

/// Helpers to write records into the document.
pub(crate) struct Writer<'a> {
    pub(crate) doc: &'a mut AutoCommit,
}

impl Writer<'_> {
    pub(crate) fn collection(&self, collection: Collection) -> Result<ObjId, CommandError> {
        get_map(self.doc, &ROOT, collection.key()).ok_or_else(|| {
            CommandError::Document(format!("the document has no {} map", collection.key()))
        })
    }

    pub(crate) fn record(
        &self,
        collection: Collection,
        kind: &'static str,
        id: &str,
    ) -> Result<ObjId, CommandError> {
        let parent = self.collection(collection)?;
        get_map(self.doc, &parent, id).ok_or_else(|| CommandError::NotFound {
            kind,
            id: id.to_owned(),
        })
    }

    pub(crate) fn child(&self, obj: &ObjId, key: &str) -> Result<ObjId, CommandError> {
        get_map(self.doc, obj, key)
            .ok_or_else(|| CommandError::Document(format!("record has no {key} map")))
    }

    pub(crate) fn new_map(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, CommandError> {
        Ok(self.doc.put_object(obj, key, ObjType::Map)?)
    }

    pub(crate) fn put(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: impl Into<ScalarValue>,
    ) -> Result<(), CommandError> {
        self.doc.put(obj, key, value)?;
        Ok(())
    }

    pub(crate) fn put_opt_i64(
        &mut self,
        obj: &ObjId,
        key: &str,
        value: Option<i64>,
    ) -> Result<(), CommandError> {
        match value {
            Some(v) => self.put(obj, key, v),
            None => self.put(obj, key, ScalarValue::Null),
        }
    }

    pub(crate) fn tags(
        &mut self,
        obj: &ObjId,
        key: &str,
        tags: &[String],
    ) -> Result<(), CommandError> {
        let map = self.new_map(obj, key)?;
        for tag in tags {
            self.put(&map, tag, true)?;
        }
        Ok(())
    }
}

pub(crate) fn member_exists<'t>(
    team: &'t Team,
    id: &MemberId,
) -> Result<&'t crate::model::Member, CommandError> {
    let member = team.members.get(id).ok_or_else(|| CommandError::NotFound {
        kind: "member",
        id: id.to_string(),
    })?;
    if !member.is_current() {
        return Err(CommandError::MemberRemoved {
            name: member.name.clone(),
        });
    }
    Ok(member)
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The id of the record it created, if it created one.
    pub created: Option<String>,
    /// A short line for people ("asked for help: …").
    pub summary: String,
}

/// Applies `cmd` for `actor` at `now_ms`, writing into `doc` (without committing).
/// Returns what was created. Called by [`crate::TeamDoc::apply`].
pub(crate) fn write(
    team: &Team,
    doc: &mut AutoCommit,
    actor: &Actor<'_>,
    my_actor: &ActorHex,
    cmd: Command,
    now_ms: i64,
    fresh_id: &mut dyn FnMut() -> String,
) -> Result<Applied, CommandError> {
    let me = actor.id;
    let mut w = Writer { doc };
    let name = |id: &MemberId| team.name_of(id);
    let done = |summary: String| {
        Ok(Applied {
            created: None,
            summary,
        })
    };
    match cmd {
        Command::SetProfile {
            name: new_name,
            availability,
        } => {
            let obj = w.record(Collection::Members, "member", me.as_str())?;
            if let Some(n) = new_name {
                let n = clean_text("name", &n, MAX_NAME_CHARS, true)?;
                w.put(&obj, "name", n)?;
            }
            if let Some(a) = availability {
                let a = clean_text("availability", &a, MAX_TITLE_CHARS, false)?;
                w.put(&obj, "availability", a)?;
            }
            done("updated profile".into())
        }
        Command::SetSkill { skill, level } => {
            let skill = clean_skill(&skill)?;
            let obj = w.record(Collection::Members, "member", me.as_str())?;
            let skills = w.child(&obj, "skills")?;
            w.put(
                &skills,
                &skill,
                level.map(SkillLevel::as_str).unwrap_or("none"),
            )?;
            done(format!(
                "{skill}: {}",
                level.map(SkillLevel::label).unwrap_or("removed")
            ))
        }
        Command::SetWantsToLearn { skill, wants } => {
            let skill = clean_skill(&skill)?;
            let obj = w.record(Collection::Members, "member", me.as_str())?;
            let map = w.child(&obj, "wants")?;
            w.put(&map, &skill, wants)?;
            done(format!("wants to learn {skill}: {wants}"))
        }
        Command::Snooze { until_ms } => {
            let obj = w.record(Collection::Members, "member", me.as_str())?;
            w.put_opt_i64(&obj, "snoozed_until_ms", until_ms)?;
            done(match until_ms {
                Some(t) => format!("snoozed until {}", crate::time::format_datetime(t)),
                None => "snooze ended".into(),
            })
        }
        Command::Ask {
            title,
            tried,
            skills,
            urgency,
            to,
        } => {
            let title = clean_text("title", &title, MAX_TITLE_CHARS, true)?;
            let tried = clean_text("tried", &tried, MAX_TEXT_CHARS, false)?;
            let skills = clean_skills(&skills)?;
            if let Some(to) = &to {
                member_exists(team, to)?;
                if to == me {
                    return Err(CommandError::InvalidInput {
                        field: "to",
                        reason: "you cannot ask yourself for help".into(),
                    });
                }
            }
            let id = RequestId::from_fresh(fresh_id());
            let parent = w.collection(Collection::Requests)?;
            let obj = w.new_map(&parent, id.as_str())?;
            w.put(&obj, "author", me.as_str())?;
            w.put(&obj, "title", title.as_str())?;
            w.put(&obj, "tried", tried)?;
            w.put(&obj, "urgency", urgency.as_str())?;
            if let Some(to) = &to {
                w.put(&obj, "to", to.as_str())?;
            }
            w.put(&obj, "created_ms", now_ms)?;
            w.tags(&obj, "skills", &skills)?;
            w.new_map(&obj, "claims")?;
            w.new_map(&obj, "comments")?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!("asked for help: {title}"),
            })
        }
        Command::Comment { request, text } => {
            let text = clean_text("text", &text, MAX_TEXT_CHARS, true)?;
            request_of(team, &request)?;
            let obj = w.record(Collection::Requests, "request", request.as_str())?;
            let comments = w.child(&obj, "comments")?;
            let id = crate::ids::CommentId::from_fresh(fresh_id());
            let c = w.new_map(&comments, id.as_str())?;
            w.put(&c, "author", me.as_str())?;
            w.put(&c, "text", text)?;
            w.put(&c, "at_ms", now_ms)?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: "commented".into(),
            })
        }
        Command::Claim { request } => {
            let r = active_request(team, &request)?;
            if &r.author == me {
                return Err(CommandError::OwnRequest { action: "claim" });
            }
            if let Some(winner) = r.winning_claim() {
                if &winner.member == me {
                    return done("already yours".into());
                }
                return Err(CommandError::AlreadyClaimed {
                    by: name(&winner.member),
                    request: request.to_string(),
                });
            }
            let obj = w.record(Collection::Requests, "request", request.as_str())?;
            let claims = w.child(&obj, "claims")?;
            let c = w.new_map(&claims, me.as_str())?;
            w.put(&c, "at_ms", now_ms)?;
            done(format!("on it: {}", r.title))
        }
        Command::ReleaseClaim { request } => {
            let r = request_of(team, &request)?;
            if !r
                .claims
                .iter()
                .any(|c| &c.member == me && c.released_ms.is_none())
            {
                return Err(CommandError::InvalidInput {
                    field: "request",
                    reason: "you have no claim on it".into(),
                });
            }
            let obj = w.record(Collection::Requests, "request", request.as_str())?;
            let claims = w.child(&obj, "claims")?;
            let c = w.child(&claims, me.as_str())?;
            w.put(&c, "released_ms", now_ms)?;
            done(format!("let go of: {}", r.title))
        }
        Command::Resolve { request } => {
            let r = active_request(team, &request)?;
            let claimer = r.winning_claim().map(|c| &c.member);
            if &r.author != me && claimer != Some(me) {
                return Err(CommandError::NotYours {
                    who: format!("{} (who asked) or whoever is on it", name(&r.author)),
                    action: "resolve this request",
                });
            }
            let obj = w.record(Collection::Requests, "request", request.as_str())?;
            w.put(&obj, "resolved_ms", now_ms)?;
            done(format!("resolved: {}", r.title))
        }
        Command::Withdraw { request } => {
            let r = active_request(team, &request)?;
            if &r.author != me {
                return Err(CommandError::NotYours {
                    who: name(&r.author),
                    action: "withdraw this request",
                });
            }
            let obj = w.record(Collection::Requests, "request", request.as_str())?;
            w.put(&obj, "withdrawn_ms", now_ms)?;
            done(format!("withdrew: {}", r.title))
        }
        Command::Offer {
            request,
            to,
            topic,
            message,
        } => {
            let message = clean_text("message", &message, MAX_TEXT_CHARS, false)?;
            let (to, topic) = match &request {
                Some(rid) => {
                    let r = active_request(team, rid)?;
                    if &r.author == me {
                        return Err(CommandError::OwnRequest {
                            action: "offer help on",
                        });
                    }
                    if let Some(o) = team.offers.values().find(|o| {
                        o.request.as_ref() == Some(rid)
                            && &o.from == me
                            && o.status() == OfferStatus::Pending
                    }) {
                        return Err(CommandError::DuplicateOffer {
                            offer: o.id.to_string(),
                            to: name(&o.to),
                        });
                    }
                    let topic = clean_text("topic", &topic, MAX_TITLE_CHARS, false)?;
                    let topic = if topic.is_empty() {
                        r.title.clone()
                    } else {
                        topic
                    };
                    (r.author.clone(), topic)
                }
                None => {
                    let to = to.ok_or(CommandError::InvalidInput {
                        field: "to",
                        reason: "an offer needs a request or a person to ask".into(),
                    })?;
                    member_exists(team, &to)?;
                    if &to == me {
                        return Err(CommandError::InvalidInput {
                            field: "to",
                            reason: "you cannot offer help to yourself".into(),
                        });
                    }
                    (to, clean_text("topic", &topic, MAX_TITLE_CHARS, true)?)
                }
            };
            let id = OfferId::from_fresh(fresh_id());
            let parent = w.collection(Collection::Offers)?;
            let obj = w.new_map(&parent, id.as_str())?;
            w.put(&obj, "from", me.as_str())?;
            w.put(&obj, "to", to.as_str())?;
            if let Some(rid) = &request {
                w.put(&obj, "request", rid.as_str())?;
            }
            w.put(&obj, "topic", topic.as_str())?;
            w.put(&obj, "message", message)?;
            w.put(&obj, "created_ms", now_ms)?;
            w.new_map(&obj, "responses")?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!(
                    "asked {} \"Would you like some help?\" ({topic})",
                    name(&to)
                ),
            })
        }
        Command::Respond { offer, answer } => {
            let o = team
                .offers
                .get(&offer)
                .ok_or_else(|| CommandError::NotFound {
                    kind: "offer",
                    id: offer.to_string(),
                })?;
            if &o.to != me {
                return Err(CommandError::NotYours {
                    who: name(&o.to),
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
            let obj = w.record(Collection::Offers, "offer", offer.as_str())?;
            let responses = w.child(&obj, "responses")?;
            // Always a fresh entry: every field of it is then written by this device,
            // even where a forged entry stood (re-putting an equal value writes nothing).
            let r = w.new_map(&responses, me.as_str())?;
            w.put(&r, "answer", answer.as_str())?;
            w.put(&r, "at_ms", now_ms)?;
            done(format!(
                "answered {} to {}",
                match answer {
                    Answer::Yes => "yes",
                    Answer::NotNow => "not now",
                },
                name(&o.from)
            ))
        }
        Command::WithdrawOffer { offer } => {
            let o = team
                .offers
                .get(&offer)
                .ok_or_else(|| CommandError::NotFound {
                    kind: "offer",
                    id: offer.to_string(),
                })?;
            if &o.from != me {
                return Err(CommandError::NotYours {
                    who: name(&o.from),
                    action: "withdraw this offer",
                });
            }
            let obj = w.record(Collection::Offers, "offer", offer.as_str())?;
            w.put(&obj, "withdrawn_ms", now_ms)?;
            done("offer withdrawn".into())
        }
        Command::LogSession {
            coach,
            coachee,
            topic,
            skills,
            at_ms,
            minutes,
            notes,
            learning,
            offer,
            request,
        } => {
            member_exists(team, &coach)?;
            member_exists(team, &coachee)?;
            if coach == coachee {
                return Err(CommandError::InvalidInput {
                    field: "coachee",
                    reason: "coach and coachee must be different people".into(),
                });
            }
            if me != &coach && me != &coachee {
                return Err(CommandError::NotYours {
                    who: format!("{} or {}", name(&coach), name(&coachee)),
                    action: "log this session",
                });
            }
            if minutes > 24 * 60 {
                return Err(CommandError::InvalidInput {
                    field: "minutes",
                    reason: "a session cannot last more than a day".into(),
                });
            }
            let (offer, request) = consent_for_session(team, me, &coach, &coachee, offer, request)?;
            let topic = clean_text("topic", &topic, MAX_TITLE_CHARS, true)?;
            let notes = clean_text("notes", &notes, MAX_TEXT_CHARS, false)?;
            let learning = clean_text("learning", &learning, MAX_TEXT_CHARS, false)?;
            let skills = clean_skills(&skills)?;
            let id = SessionId::from_fresh(fresh_id());
            let parent = w.collection(Collection::Sessions)?;
            let obj = w.new_map(&parent, id.as_str())?;
            w.put(&obj, "coach", coach.as_str())?;
            w.put(&obj, "coachee", coachee.as_str())?;
            w.put(&obj, "topic", topic.as_str())?;
            w.tags(&obj, "skills", &skills)?;
            w.put(&obj, "at_ms", at_ms.unwrap_or(now_ms))?;
            w.put(&obj, "minutes", i64::from(minutes))?;
            w.put(&obj, "notes", notes)?;
            w.put(&obj, "learning", learning)?;
            if let Some(o) = &offer {
                w.put(&obj, "offer", o.as_str())?;
            }
            if let Some(r) = &request {
                w.put(&obj, "request", r.as_str())?;
            }
            w.put(&obj, "created_ms", now_ms)?;
            w.new_map(&obj, "followups")?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!("{} coached {}: {topic}", name(&coach), name(&coachee)),
            })
        }
        Command::DeleteSession { session } => {
            let s = session_of(team, &session)?;
            if me != &s.coach && me != &s.coachee {
                return Err(CommandError::NotYours {
                    who: format!("{} or {}", name(&s.coach), name(&s.coachee)),
                    action: "delete this session",
                });
            }
            let obj = w.record(Collection::Sessions, "session", session.as_str())?;
            w.put(&obj, "deleted_ms", now_ms)?;
            done("session deleted".into())
        }
        Command::AddFollowUp {
            session,
            text,
            owner,
            due_ms,
        } => {
            let s = session_of(team, &session)?;
            let text = clean_text("text", &text, MAX_TITLE_CHARS, true)?;
            let owner = owner.unwrap_or_else(|| s.coachee.clone());
            member_exists(team, &owner)?;
            let obj = w.record(Collection::Sessions, "session", session.as_str())?;
            let ups = w.child(&obj, "followups")?;
            let id = FollowUpId::from_fresh(fresh_id());
            let u = w.new_map(&ups, id.as_str())?;
            w.put(&u, "text", text.as_str())?;
            w.put(&u, "owner", owner.as_str())?;
            if let Some(due) = due_ms {
                w.put(&u, "due_ms", due)?;
            }
            w.put(&u, "created_ms", now_ms)?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!("follow-up for {}: {text}", name(&owner)),
            })
        }
        Command::SetFollowUpDone {
            session,
            followup,
            done: is_done,
        } => {
            let s = session_of(team, &session)?;
            if !s.followups.iter().any(|u| u.id == followup) {
                return Err(CommandError::NotFound {
                    kind: "follow-up",
                    id: followup.to_string(),
                });
            }
            let obj = w.record(Collection::Sessions, "session", session.as_str())?;
            let ups = w.child(&obj, "followups")?;
            let u = w.child(&ups, followup.as_str())?;
            w.put_opt_i64(&u, "done_ms", is_done.then_some(now_ms))?;
            done(
                if is_done {
                    "follow-up done"
                } else {
                    "follow-up reopened"
                }
                .into(),
            )
        }
        Command::Thank { to, text, session } => {
            member_exists(team, &to)?;
            if &to == me {
                return Err(CommandError::InvalidInput {
                    field: "to",
                    reason: "thank someone else".into(),
                });
            }
            if let Some(s) = &session {
                session_of(team, s)?;
            }
            let text = clean_text("text", &text, MAX_TEXT_CHARS, true)?;
            let id = crate::ids::ThanksId::from_fresh(fresh_id());
            let parent = w.collection(Collection::Thanks)?;
            let obj = w.new_map(&parent, id.as_str())?;
            w.put(&obj, "from", me.as_str())?;
            w.put(&obj, "to", to.as_str())?;
            w.put(&obj, "text", text)?;
            if let Some(s) = &session {
                w.put(&obj, "session", s.as_str())?;
            }
            w.put(&obj, "at_ms", now_ms)?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!("thanked {}", name(&to)),
            })
        }
        Command::SetCoachingHour {
            weekday,
            start_minute,
            minutes,
            note,
        } => {
            if weekday > 6 || start_minute >= 24 * 60 || minutes == 0 || minutes > 8 * 60 {
                return Err(CommandError::InvalidInput {
                    field: "coaching hour",
                    reason: "needs a weekday, a start time within the day and 1–480 minutes".into(),
                });
            }
            let note = clean_text("note", &note, MAX_TITLE_CHARS, false)?;
            let obj = w.child(&ROOT, schema::COACHING_HOUR)?;
            w.put(&obj, "weekday", i64::from(weekday))?;
            w.put(&obj, "start_minute", i64::from(start_minute))?;
            w.put(&obj, "minutes", i64::from(minutes))?;
            w.put(&obj, "note", note)?;
            w.put(&obj, "updated_ms", now_ms)?;
            done("coaching hour set".into())
        }
        Command::SetRota {
            week,
            member,
            floating,
        } => {
            if crate::time::parse_week_key(&week).is_none() {
                return Err(CommandError::InvalidInput {
                    field: "week",
                    reason: format!("{week:?} is not an ISO week such as 2026-W48"),
                });
            }
            member_exists(team, &member)?;
            let rota = w.collection(Collection::Rota)?;
            w.put(&rota, &format!("{week}|{member}"), floating)?;
            done(format!(
                "{} {} floating in {week}",
                name(&member),
                if floating { "is" } else { "is not" }
            ))
        }
        Command::AddDuty {
            title,
            notes,
            owner,
        } => {
            let title = clean_text("title", &title, MAX_TITLE_CHARS, true)?;
            let notes = clean_text("notes", &notes, MAX_TEXT_CHARS, false)?;
            let owner = owner.unwrap_or_else(|| me.clone());
            member_exists(team, &owner)?;
            let id = DutyId::from_fresh(fresh_id());
            let parent = w.collection(Collection::Duties)?;
            let obj = w.new_map(&parent, id.as_str())?;
            w.put(&obj, "owner", owner.as_str())?;
            w.put(&obj, "title", title.as_str())?;
            w.put(&obj, "notes", notes)?;
            w.put(&obj, "created_ms", now_ms)?;
            w.new_map(&obj, "backfills")?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!("duty: {title}"),
            })
        }
        Command::SetBackfill {
            duty,
            apprentice,
            stage,
        } => {
            let d = team
                .duties
                .get(&duty)
                .filter(|d| d.deleted_ms.is_none())
                .ok_or_else(|| CommandError::NotFound {
                    kind: "duty",
                    id: duty.to_string(),
                })?;
            member_exists(team, &apprentice)?;
            if apprentice == d.owner {
                return Err(CommandError::InvalidInput {
                    field: "apprentice",
                    reason: "the owner cannot be their own backfill".into(),
                });
            }
            let obj = w.record(Collection::Duties, "duty", duty.as_str())?;
            let backfills = w.child(&obj, "backfills")?;
            let b = match get_map(w.doc, &backfills, apprentice.as_str()) {
                Some(b) => b,
                None => w.new_map(&backfills, apprentice.as_str())?,
            };
            w.put(&b, "stage", stage.map(Stage::as_str).unwrap_or("none"))?;
            w.put(&b, "updated_ms", now_ms)?;
            done(format!(
                "{} on {}: {}",
                name(&apprentice),
                d.title,
                stage.map(Stage::as_str).unwrap_or("removed")
            ))
        }
        Command::RemoveDuty { duty } => {
            if !team.duties.contains_key(&duty) {
                return Err(CommandError::NotFound {
                    kind: "duty",
                    id: duty.to_string(),
                });
            }
            let obj = w.record(Collection::Duties, "duty", duty.as_str())?;
            w.put(&obj, "deleted_ms", now_ms)?;
            done("duty removed".into())
        }
        Command::AddMember {
            name: new_name,
            actor,
            endpoint,
            label,
            addrs,
            relay,
        } => {
            let new_name = clean_text("name", &new_name, MAX_NAME_CHARS, true)?;
            if team.member_of_actor(&actor).is_some() {
                return Err(CommandError::InvalidInput {
                    field: "device",
                    reason: "this device already belongs to a member".into(),
                });
            }
            let id = MemberId::from_fresh(fresh_id());
            let parent = w.collection(Collection::Members)?;
            write_member(
                &mut w,
                &parent,
                &id,
                &new_name,
                &actor,
                &endpoint,
                &label,
                &clean_addrs(&addrs),
                &relay.as_deref().and_then(clean_relay).unwrap_or_default(),
                now_ms,
            )?;
            Ok(Applied {
                created: Some(id.to_string()),
                summary: format!("added {new_name} to the team"),
            })
        }
        Command::AddDevice {
            member,
            actor,
            endpoint,
            label,
            addrs,
            relay,
        } => {
            if &member != me {
                return Err(CommandError::NotYours {
                    who: name(&member),
                    action: "link a device to their membership",
                });
            }
            if team.member_of_actor(&actor).is_some() {
                return Err(CommandError::InvalidInput {
                    field: "device",
                    reason: "this device already belongs to a member".into(),
                });
            }
            let obj = w.record(Collection::Members, "member", member.as_str())?;
            let devices = w.child(&obj, "devices")?;
            let d = w.new_map(&devices, actor.as_str())?;
            w.put(&d, "endpoint", endpoint)?;
            w.put(
                &d,
                "label",
                clean_text("label", &label, MAX_NAME_CHARS, false)?,
            )?;
            w.put(&d, "added_ms", now_ms)?;
            w.put(&d, "addrs", clean_addrs(&addrs))?;
            w.put(
                &d,
                "relay",
                relay.as_deref().and_then(clean_relay).unwrap_or_default(),
            )?;
            done("linked a device".into())
        }
        Command::RemoveMember { member } => {
            member_exists(team, &member)?;
            if team.current_members().len() <= 1 {
                return Err(CommandError::InvalidInput {
                    field: "member",
                    reason: "the last member cannot be removed".into(),
                });
            }
            let obj = w.record(Collection::Members, "member", member.as_str())?;
            w.put(&obj, "removed_ms", now_ms)?;
            done(format!("removed {} from the team", name(&member)))
        }
        Command::PublishAddrs { addrs, relay } => {
            let obj = w.record(Collection::Members, "member", me.as_str())?;
            let devices = w.child(&obj, "devices")?;
            let d = w.child(&devices, my_actor.as_str())?;
            // Written only by this device and always replaced whole, so one string is
            // the right shape here.
            w.put(&d, "addrs", clean_addrs(&addrs))?;
            w.put(
                &d,
                "relay",
                relay.as_deref().and_then(clean_relay).unwrap_or_default(),
            )?;
            done("published addresses".into())
        }
        Command::SetTeamRelay { url, token } => {
            let obj = w.child(&ROOT, schema::TEAM)?;
            match url {
                Some(url) => {
                    let url = clean_relay(&url).ok_or_else(|| CommandError::InvalidInput {
                        field: "relay URL",
                        reason: format!(
                            "{url:?} is not a relay URL; give one like https://relay.example.org"
                        ),
                    })?;
                    let token = match token {
                        Some(t) => clean_token(&t)?,
                        None => String::new(),
                    };
                    w.put(&obj, "relay_url", url.as_str())?;
                    w.put(&obj, "relay_token", token)?;
                    done(format!("the team now uses the relay {url}"))
                }
                None => {
                    w.put(&obj, "relay_url", "")?;
                    w.put(&obj, "relay_token", "")?;
                    done("the team uses no relay of its own".into())
                }
            }
        }
        Command::RenameTeam { name: team_name } => {
            let team_name = clean_text("team name", &team_name, MAX_NAME_CHARS, true)?;
            let obj = w.child(&ROOT, schema::TEAM)?;
            w.put(&obj, "name", team_name.as_str())?;
            done(format!("team renamed to {team_name}"))
        }
    }
}

#[allow(clippy::too_many_arguments)] // reason: one record's fields, written together
pub(crate) fn write_member(
    w: &mut Writer<'_>,
    parent: &ObjId,
    id: &MemberId,
    name: &str,
    actor: &ActorHex,
    endpoint: &str,
    label: &str,
    addrs: &str,
    relay: &str,
    now_ms: i64,
) -> Result<(), CommandError> {
    let obj = w.new_map(parent, id.as_str())?;
    w.put(&obj, "name", name)?;
    w.put(&obj, "created_ms", now_ms)?;
    w.put(&obj, "availability", "")?;
    w.new_map(&obj, "skills")?;
    w.new_map(&obj, "wants")?;
    let devices = w.new_map(&obj, "devices")?;
    let d = w.new_map(&devices, actor.as_str())?;
    w.put(&d, "endpoint", endpoint)?;
    w.put(
        &d,
        "label",
        clean_text("label", label, MAX_NAME_CHARS, false)?,
    )?;
    w.put(&d, "added_ms", now_ms)?;
    w.put(&d, "addrs", addrs)?;
    w.put(&d, "relay", relay)?;
    Ok(())
}

/// A relay URL as it may be stored: `http(s)://host…`, no spaces, of a sane length.
pub fn clean_relay(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let ok = !host.is_empty()
        && url.len() <= 512
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| url.to_owned())
}

/// A relay access token: printable, without spaces, at most 512 characters.
pub fn clean_token(token: &str) -> Result<String, CommandError> {
    let token = token.trim();
    if token.is_empty()
        || token.len() > 512
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(CommandError::InvalidInput {
            field: "relay token",
            reason: "a token is 1 to 512 printable characters without spaces".into(),
        });
    }
    Ok(token.to_owned())
}

/// Keeps the well-formed `ip:port` addresses, space-separated.
pub(crate) fn clean_addrs(addrs: &[String]) -> String {
    addrs
        .iter()
        .filter(|a| a.parse::<std::net::SocketAddr>().is_ok())
        .take(16)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

fn request_of<'t>(
    team: &'t Team,
    id: &RequestId,
) -> Result<&'t crate::model::Request, CommandError> {
    team.requests.get(id).ok_or_else(|| CommandError::NotFound {
        kind: "request",
        id: id.to_string(),
    })
}

fn active_request<'t>(
    team: &'t Team,
    id: &RequestId,
) -> Result<&'t crate::model::Request, CommandError> {
    let r = request_of(team, id)?;
    let status = if r.withdrawn_ms.is_some() {
        "withdrawn"
    } else if r.resolved_ms.is_some() {
        "resolved"
    } else {
        return Ok(r);
    };
    Err(CommandError::Closed {
        kind: "request",
        id: id.to_string(),
        status,
    })
}

fn session_of<'t>(
    team: &'t Team,
    id: &SessionId,
) -> Result<&'t crate::model::Session, CommandError> {
    team.sessions
        .get(id)
        .filter(|s| s.deleted_ms.is_none())
        .ok_or_else(|| CommandError::NotFound {
            kind: "session",
            id: id.to_string(),
        })
}

/// Finds the consent a session rests on: the offer or request given, or one that can be
/// found, or the coachee's own say-so.
fn consent_for_session(
    team: &Team,
    me: &MemberId,
    coach: &MemberId,
    coachee: &MemberId,
    offer: Option<OfferId>,
    request: Option<RequestId>,
) -> Result<(Option<OfferId>, Option<RequestId>), CommandError> {
    let no_consent = || CommandError::NoConsent {
        coach: team.name_of(coach),
        coachee: team.name_of(coachee),
    };
    if let Some(oid) = offer {
        let o = team
            .offers
            .get(&oid)
            .ok_or_else(|| CommandError::NotFound {
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
                    _ => "withdrawn",
                },
            });
        }
        return Ok((Some(oid), o.request.clone().or(request)));
    }
    if let Some(rid) = request {
        let r = request_of(team, &rid)?;
        if &r.author != coachee {
            return Err(CommandError::InvalidInput {
                field: "request",
                reason: format!("that request was asked by {}", team.name_of(&r.author)),
            });
        }
        if r.withdrawn_ms.is_some() {
            return Err(CommandError::Closed {
                kind: "request",
                id: rid.to_string(),
                status: "withdrawn",
            });
        }
        return Ok((None, Some(rid)));
    }
    // Nothing given: look for an accepted offer not yet followed by a session, then for
    // an active request by the coachee that the coach is on.
    let used: std::collections::BTreeSet<&OfferId> = team
        .sessions
        .values()
        .filter_map(|s| s.offer.as_ref())
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
    Err(no_consent())
}
