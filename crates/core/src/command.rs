//! Commands: everything a person can do, each applied as one Automerge change after its
//! rules are checked against the current read model. The rules themselves live with
//! their records ([`crate::records`]); this module names the commands and dispatches.

use crate::ids::{ActorHex, DutyId, FollowUpId, MemberId, OfferId, RequestId, SessionId};
use crate::records::coaching_hour::{self, CoachingHour};
use crate::records::duty::{self, NewDuty, Stage};
use crate::records::followup::{self, NewFollowUp};
use crate::records::meet;
use crate::records::member::{self, NewDevice, NewMember, SkillLevel};
use crate::records::offer::{self, Answer, NewOffer};
use crate::records::request::{self, NewRequest};
use crate::records::session::{self, NewSession};
use crate::records::team_settings::{self, TeamRelay};
use crate::records::thanks::{self, NewThanks};
use crate::records::{Cx, rota};

/// Something a member does. Ids of new records are chosen by [`crate::Env`]. Each
/// variant's rules live in its record's module ([`crate::records`]); commands that create
/// a record carry that record's `New…` payload.
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
    Ask(NewRequest),
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
    /// The author reopens a resolved or withdrawn request: back on the board.
    Reopen {
        /// Request.
        request: RequestId,
    },
    /// The author edits their request, open or closed: the fields given change.
    EditRequest {
        /// Request.
        request: RequestId,
        /// What changes.
        change: crate::records::request::RequestEdit,
    },
    /// The author aims an open request at one teammate ("Ask Ana"), or back at the
    /// whole team. The teammate answers it as any request aimed at them.
    AimRequest {
        /// Request.
        request: RequestId,
        /// The teammate, or `None` for the whole team.
        to: Option<MemberId>,
    },
    /// Ask someone "Would you like some help?" — on a request, or straight to a person.
    Offer(NewOffer),
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
    /// After a yes, propose one to three times to meet (either of the two).
    ProposeTimes {
        /// The accepted offer.
        offer: OfferId,
        /// The times, as instants.
        times: Vec<i64>,
        /// How long the meeting lasts.
        minutes: u32,
    },
    /// Pick one of the times the other person proposed: schedules the session.
    PickTime {
        /// The accepted offer.
        offer: OfferId,
        /// One of the proposed times.
        at_ms: i64,
    },
    /// Say none of the other person's times work.
    NoTimeWorks {
        /// The accepted offer.
        offer: OfferId,
    },
    /// After a yes: we did not meet. The offer ends and its request returns to the board.
    EndOffer {
        /// The accepted offer.
        offer: OfferId,
    },
    /// Take back my "we did not meet": the offer is open to a meeting again.
    ResumeOffer {
        /// The ended offer.
        offer: OfferId,
    },
    /// Record a coaching session. Needs consent: an accepted offer, a request by the
    /// coachee, or the coachee logging it themselves.
    LogSession(NewSession),
    /// Edit a session (its coach or coachee): the fields given change.
    EditSession {
        /// Session.
        session: SessionId,
        /// What changes.
        change: crate::records::session::SessionEdit,
    },
    /// Put a session in the trash (its coach or coachee).
    DeleteSession {
        /// Session.
        session: SessionId,
    },
    /// Take a session out of the trash, within 30 days (its coach or coachee).
    RestoreSession {
        /// Session.
        session: SessionId,
    },
    /// Add a follow-up action to a session.
    AddFollowUp(NewFollowUp),
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
    Thank(NewThanks),
    /// Set the team's recurring coaching hour.
    SetCoachingHour(CoachingHour),
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
    AddDuty(NewDuty),
    /// Set an apprentice's stage on a duty (`None` removes them).
    SetBackfill {
        /// Duty.
        duty: DutyId,
        /// Apprentice.
        apprentice: MemberId,
        /// Stage.
        stage: Option<Stage>,
    },
    /// Rename a duty (its owner, or whoever listed it).
    RenameDuty {
        /// Duty.
        duty: DutyId,
        /// The new name.
        title: String,
    },
    /// Say yes or no to being asked to float in a week (yes puts me on the rota).
    AnswerRota {
        /// ISO week.
        week: String,
        /// Yes.
        yes: bool,
    },
    /// Say yes or no to being asked to be an apprentice on a duty.
    AnswerBackfill {
        /// Duty.
        duty: DutyId,
        /// Yes.
        yes: bool,
    },
    /// Put a duty in the trash.
    RemoveDuty {
        /// Duty.
        duty: DutyId,
    },
    /// Take a duty out of the trash, within 30 days.
    RestoreDuty {
        /// Duty.
        duty: DutyId,
    },
    /// Add a new member with their first device (done by the inviter on join).
    AddMember(NewMember),
    /// Link another device of the same person (done by one of their devices).
    AddDevice(NewDevice),
    /// Vote to remove a member (myself: leave). In a team of three or more, someone
    /// else's removal takes force when a second member votes for it. Their devices are
    /// refused from then on; their copy of the document cannot be taken back.
    RemoveMember {
        /// Member.
        member: MemberId,
    },
    /// Remove one of my own devices (a lost laptop, a link I did not make): it is refused
    /// from then on and receives nothing new, my private notes included.
    RemoveDevice {
        /// The device's actor.
        device: ActorHex,
    },
    /// Publish this device's current direct addresses and home relay, so teammates can
    /// reconnect after either changed.
    PublishAddrs {
        /// `ip:port` strings.
        addrs: Vec<String>,
        /// The relay URL this device is reachable through, if any.
        relay: Option<String>,
    },
    /// Make the team's list of relays exactly these (empty: no relay of its own). Each
    /// is a self-hosted iroh relay (`https://…`, or `http://…`) with the access token it
    /// asks for, if any; the first is what apps older than the list use.
    SetTeamRelays {
        /// The relays, in order.
        relays: Vec<TeamRelay>,
    },
    /// Add one relay at the end of the team's list (refused if it is listed already).
    AddTeamRelay {
        /// The relay.
        relay: TeamRelay,
    },
    /// Remove one relay from the team's list (refused if it is not listed).
    RemoveTeamRelay {
        /// Its URL.
        url: String,
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
        Self::LogSession(NewSession {
            topic: topic.into(),
            ..NewSession::between(coach, coachee)
        })
    }

    /// The command's wire tag (`log-session`), which also labels its change in history.
    pub fn tag(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("command")?.as_str().map(str::to_owned))
            .unwrap_or_default()
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

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The id of the record it created, if it created one.
    pub created: Option<crate::ids::RecordId>,
    /// A short line for people ("asked for help: …").
    pub summary: String,
}

/// Applies `cmd` in `cx` (without committing). Called by [`crate::TeamDoc::apply`].
pub(crate) fn write(cx: &mut Cx<'_>, cmd: Command) -> Result<Applied, CommandError> {
    match cmd {
        Command::SetProfile { name, availability } => {
            member::set_profile(cx, name.as_deref(), availability.as_deref())
        }
        Command::SetSkill { skill, level } => member::set_skill(cx, &skill, level),
        Command::SetWantsToLearn { skill, wants } => member::set_wants(cx, &skill, wants),
        Command::Snooze { until_ms } => member::snooze(cx, until_ms),
        Command::Ask(new) => request::ask(cx, new),
        Command::Comment { request, text } => request::comment(cx, &request, &text),
        Command::Claim { request } => request::claim(cx, &request),
        Command::ReleaseClaim { request } => request::release_claim(cx, &request),
        Command::Resolve { request } => request::resolve(cx, &request),
        Command::Withdraw { request } => request::withdraw(cx, &request),
        Command::Reopen { request } => request::reopen(cx, &request),
        Command::AimRequest { request, to } => request::aim(cx, &request, to.as_ref()),
        Command::Offer(new) => offer::offer(cx, new),
        Command::Respond { offer, answer } => offer::respond(cx, &offer, answer),
        Command::WithdrawOffer { offer } => offer::withdraw(cx, &offer),
        Command::ProposeTimes {
            offer,
            times,
            minutes,
        } => meet::propose(cx, &offer, &times, minutes),
        Command::PickTime { offer, at_ms } => meet::accept(cx, &offer, at_ms),
        Command::NoTimeWorks { offer } => meet::decline(cx, &offer),
        Command::EndOffer { offer } => meet::end(cx, &offer),
        Command::ResumeOffer { offer } => meet::resume(cx, &offer),
        Command::LogSession(new) => session::log(cx, new),
        Command::DeleteSession { session } => session::delete(cx, &session),
        Command::RestoreSession { session } => session::restore(cx, &session),
        Command::EditSession { session, change } => session::edit(cx, &session, change),
        Command::EditRequest { request, change } => request::edit(cx, &request, change),
        Command::RenameDuty { duty, title } => duty::rename(cx, &duty, &title),
        Command::AnswerBackfill { duty, yes } => duty::answer(cx, &duty, yes),
        Command::AnswerRota { week, yes } => rota::answer(cx, &week, yes),
        Command::AddFollowUp(new) => followup::add(cx, new),
        Command::SetFollowUpDone {
            session,
            followup,
            done,
        } => followup::set_done(cx, &session, &followup, done),
        Command::Thank(new) => thanks::thank(cx, new),
        Command::SetCoachingHour(hour) => coaching_hour::set(cx, hour),
        Command::SetRota {
            week,
            member,
            floating,
        } => rota::set(cx, &week, &member, floating),
        Command::AddDuty(new) => duty::add(cx, new),
        Command::SetBackfill {
            duty,
            apprentice,
            stage,
        } => duty::set_backfill(cx, &duty, &apprentice, stage),
        Command::RemoveDuty { duty } => duty::remove(cx, &duty),
        Command::RestoreDuty { duty } => duty::restore(cx, &duty),
        Command::AddMember(new) => member::add(cx, new),
        Command::AddDevice(new) => member::add_device(cx, new),
        Command::RemoveMember { member } => member::remove(cx, &member),
        Command::RemoveDevice { device } => member::remove_device(cx, &device),
        Command::PublishAddrs { addrs, relay } => {
            member::publish_addrs(cx, &addrs, relay.as_deref())
        }
        Command::SetTeamRelays { relays } => team_settings::set_relays(cx, &relays),
        Command::AddTeamRelay { relay } => team_settings::add_relay(cx, relay),
        Command::RemoveTeamRelay { url } => team_settings::remove_relay(cx, &url),
        Command::RenameTeam { name } => team_settings::rename(cx, &name),
    }
}
