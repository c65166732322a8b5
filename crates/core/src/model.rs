//! The typed read model: every record of the team document as plain Rust values, with
//! the authorship of consent answers and claims already checked.
//!
//! [`Team::read`] builds the whole model from a document; [`Team::refresh`] re-reads only
//! the records a change touched, so a team with years of history stays cheap to update.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::fields::{Fields, actor_of, get_map, record_ids};
use crate::ids::{
    ActorHex, CommentId, DutyId, FollowUpId, MemberId, OfferId, RequestId, SessionId, TeamId,
    ThanksId,
};
use crate::schema::{self, COLLECTIONS};
use crate::touched::{Collection, Touched};

/// How well someone knows a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkillLevel {
    /// Learning it now.
    Learning,
    /// Does it unaided.
    CanDo,
    /// Can coach others in it.
    CanCoach,
}

impl SkillLevel {
    /// All levels, from least to most experienced.
    pub const ALL: [SkillLevel; 3] = [Self::Learning, Self::CanDo, Self::CanCoach];

    /// The stored and typed form: `learning`, `can-do`, `can-coach`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Learning => "learning",
            Self::CanDo => "can-do",
            Self::CanCoach => "can-coach",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Learning => "learning",
            Self::CanDo => "can do",
            Self::CanCoach => "can coach",
        }
    }
}

/// How soon help is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    /// Whenever someone has time.
    Low,
    /// This week.
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

/// The answer to an offer of help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// An apprentice's stage on a duty: shadow → co-do → lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Watches the owner do it.
    Shadow,
    /// Does it together with the owner.
    CoDo,
    /// Leads it; the owner only backs up. A trained backfill.
    Lead,
}

impl Stage {
    /// All stages in order.
    pub const ALL: [Stage; 3] = [Self::Shadow, Self::CoDo, Self::Lead];

    /// The stored and typed form: `shadow`, `co-do`, `lead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shadow => "shadow",
            Self::CoDo => "co-do",
            Self::Lead => "lead",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One of a member's devices. Its actor id is how the document knows what it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The device's Automerge actor.
    pub actor: ActorHex,
    /// The device's iroh endpoint id (public key), as text.
    pub endpoint: String,
    /// A name for the device ("laptop").
    pub label: String,
    /// When it was added.
    pub added_ms: i64,
    /// Its last published direct addresses (`ip:port`), for reconnecting.
    pub addrs: Vec<String>,
    /// The relay it was last reachable through (its home relay's URL), for reaching it
    /// behind a NAT and after its direct addresses changed.
    #[serde(default)]
    pub relay: Option<String>,
    /// Whether the entry was written by someone entitled to (the member's own device or
    /// whoever added the member). Untrusted entries never speak for the member.
    pub trusted: bool,
}

/// A person in the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Id.
    pub id: MemberId,
    /// Display name.
    pub name: String,
    /// When they joined.
    pub created_ms: i64,
    /// When they were removed, if they were.
    pub removed_ms: Option<i64>,
    /// Free text: when they usually have time for coaching.
    pub availability: String,
    /// Paused until this time: not offered as a helper, no nudges.
    pub snoozed_until_ms: Option<i64>,
    /// Skills and levels.
    pub skills: BTreeMap<String, SkillLevel>,
    /// Skills they want to learn.
    pub wants: BTreeSet<String>,
    /// Devices.
    pub devices: Vec<Device>,
}

impl Member {
    /// Still in the team.
    pub fn is_current(&self) -> bool {
        self.removed_ms.is_none()
    }

    /// Snoozed at `now_ms`.
    pub fn is_snoozed(&self, now_ms: i64) -> bool {
        self.snoozed_until_ms.is_some_and(|until| until > now_ms)
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

/// Something in the document that claims to speak for a member but was written by a
/// device that is not theirs. Views ignore it; history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgery {
    /// The member it claims to speak for.
    pub claimed: MemberId,
    /// The device that really wrote it.
    pub actor: ActorHex,
    /// When it claims to have been written.
    pub at_ms: i64,
    /// What it was ("answered yes", "claimed").
    pub what: String,
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
    /// Verified claims, in document order.
    pub claims: Vec<Claim>,
    /// Claims written by someone other than the claimant.
    pub forged_claims: Vec<Forgery>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
}

impl Request {
    /// The claim that counts: the earliest live one by (time, member id), so that two
    /// concurrent claims resolve the same way on every device.
    pub fn winning_claim(&self) -> Option<&Claim> {
        self.claims
            .iter()
            .filter(|c| c.released_ms.is_none())
            .min_by(|a, b| (a.at_ms, &a.member).cmp(&(b.at_ms, &b.member)))
    }

    /// Open for help: neither withdrawn nor resolved.
    pub fn is_active(&self) -> bool {
        self.withdrawn_ms.is_none() && self.resolved_ms.is_none()
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
}

impl OfferStatus {
    /// Stored/typed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl Offer {
    /// Derived status.
    pub fn status(&self) -> OfferStatus {
        match (self.response.map(|r| r.answer), self.withdrawn_ms) {
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

    /// Whether there is advice text waiting behind the consent gate.
    pub fn has_message(&self) -> bool {
        !self.message.is_empty()
    }
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
    /// Soft delete.
    pub deleted_ms: Option<i64>,
    /// Follow-ups.
    pub followups: Vec<FollowUp>,
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

/// An apprentice on a duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The apprentice.
    pub apprentice: MemberId,
    /// Their stage.
    pub stage: Stage,
    /// Last stage change.
    pub updated_ms: i64,
}

/// A duty in someone's handover plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duty {
    /// Id.
    pub id: DutyId,
    /// Who does it today.
    pub owner: MemberId,
    /// What it is.
    pub title: String,
    /// Notes.
    pub notes: String,
    /// When listed.
    pub created_ms: i64,
    /// Soft delete.
    pub deleted_ms: Option<i64>,
    /// Apprentices.
    pub backfills: Vec<Backfill>,
}

impl Duty {
    /// Someone can step in: an apprentice at co-do or lead.
    pub fn has_trained_backfill(&self) -> bool {
        self.backfills.iter().any(|b| b.stage >= Stage::CoDo)
    }
}

/// The team's recurring coaching hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoachingHour {
    /// 0 = Monday.
    pub weekday: u32,
    /// Minutes after midnight UTC.
    pub start_minute: u32,
    /// Length.
    pub minutes: u32,
    /// Where / how.
    pub note: String,
}

impl CoachingHour {
    /// `Thursday 15:00–16:00 UTC`.
    pub fn describe(&self) -> String {
        let day = crate::time::WEEKDAYS
            .get(self.weekday as usize)
            .copied()
            .unwrap_or("?");
        let end = self.start_minute + self.minutes;
        format!(
            "{day} {:02}:{:02}–{:02}:{:02} UTC",
            self.start_minute / 60,
            self.start_minute % 60,
            (end / 60) % 24,
            end % 60
        )
    }
}

/// A self-hosted iroh relay that the whole team uses (docs/design.md §5, "team relay"). It
/// stores nothing and sees only ciphertext; the token, if any, is what it asks of its
/// clients, so it travels only to members, inside the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRelay {
    /// The relay's URL (`https://…`).
    pub url: String,
    /// The access token the relay asks for.
    pub token: Option<String>,
}

/// The whole team as the views see it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Team {
    /// Team id.
    pub id: Option<TeamId>,
    /// Team name.
    pub name: String,
    /// Schema version found in the document.
    pub schema_version: i64,
    /// Members, including removed ones (history needs their names).
    pub members: BTreeMap<MemberId, Member>,
    /// Requests.
    pub requests: BTreeMap<RequestId, Request>,
    /// Offers.
    pub offers: BTreeMap<OfferId, Offer>,
    /// Sessions, including soft-deleted ones.
    pub sessions: BTreeMap<SessionId, Session>,
    /// Thanks notes.
    pub thanks: BTreeMap<ThanksId, Thanks>,
    /// Duties.
    pub duties: BTreeMap<DutyId, Duty>,
    /// Helper rota: ISO week → who floats that week.
    pub rota: BTreeMap<String, BTreeSet<MemberId>>,
    /// The coaching hour.
    pub coaching_hour: Option<CoachingHour>,
    /// The team's own relay, which every member's device uses unless it overrides it.
    #[serde(default)]
    pub relay: Option<TeamRelay>,
    /// Trusted devices: actor → member.
    actors: HashMap<ActorHex, MemberId>,
}

impl Team {
    /// Reads the whole document.
    pub fn read<D: ReadDoc>(doc: &D) -> Self {
        let mut team = Team::default();
        team.read_header(doc);
        team.refresh(doc, &Touched::all());
        team
    }

    /// Re-reads what `touched` names. A change to any member re-reads everything that
    /// depends on device trust (offers and requests), since a new device can turn an
    /// answer from forged into genuine.
    pub fn refresh<D: ReadDoc>(&mut self, doc: &D, touched: &Touched) {
        if touched.is_empty() {
            return;
        }
        if touched.header() {
            self.read_header(doc);
        }
        let members_changed = touched.any(Collection::Members);
        for collection in COLLECTIONS {
            let collection = Collection::from_key(collection);
            let everything = touched.whole(collection)
                || (members_changed
                    && matches!(
                        collection,
                        Collection::Requests | Collection::Offers | Collection::Sessions
                    ));
            let Some(obj) = get_map(doc, &ROOT, collection.key()) else {
                continue;
            };
            if everything {
                self.clear(collection);
                for (key, record) in record_ids(doc, &obj) {
                    self.read_record(doc, collection, &key, Some(&record));
                }
            } else {
                for key in touched.keys(collection) {
                    let record = get_map(doc, &obj, key);
                    self.read_record(doc, collection, key, record.as_ref());
                }
            }
            if collection == Collection::Members {
                self.rebuild_actor_index();
            }
        }
        if touched.whole(Collection::Rota) || touched.any(Collection::Rota) {
            self.read_rota(doc);
        }
    }

    /// The team id stored in a document, read without building the whole view.
    pub fn id_of<D: ReadDoc>(doc: &D) -> Option<TeamId> {
        let team = get_map(doc, &ROOT, schema::TEAM)?;
        Fields::read(doc, &team)
            .str("id")
            .and_then(|s| TeamId::parse(s).ok())
    }

    /// The member a device (actor) belongs to, if the device is trusted.
    pub fn member_of_actor(&self, actor: &ActorHex) -> Option<&MemberId> {
        self.actors.get(actor)
    }

    /// A member's display name, or a short id for someone unknown.
    pub fn name_of(&self, id: &MemberId) -> String {
        self.members
            .get(id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| format!("unknown ({})", id.short()))
    }

    /// Members still in the team, by name.
    pub fn current_members(&self) -> Vec<&Member> {
        let mut members: Vec<&Member> = self.members.values().filter(|m| m.is_current()).collect();
        members.sort_by_key(|m| m.name.to_lowercase());
        members
    }

    fn read_header<D: ReadDoc>(&mut self, doc: &D) {
        let root = Fields::read(doc, &ROOT);
        self.schema_version = root.int(schema::SCHEMA_VERSION_KEY).unwrap_or(0);
        if let Some(team) = root.map(schema::TEAM) {
            let f = Fields::read(doc, team);
            self.id = f.str("id").and_then(|s| TeamId::parse(s).ok());
            self.name = f.text("name");
            let url = f.text("relay_url");
            self.relay = (!url.is_empty()).then(|| TeamRelay {
                url,
                token: Some(f.text("relay_token")).filter(|t| !t.is_empty()),
            });
        }
        self.coaching_hour = root.map(schema::COACHING_HOUR).and_then(|obj| {
            let f = Fields::read(doc, obj);
            Some(CoachingHour {
                weekday: u32::try_from(f.int("weekday")?).ok()?.min(6),
                start_minute: u32::try_from(f.int("start_minute")?).ok()?.min(24 * 60 - 1),
                minutes: u32::try_from(f.int("minutes")?).ok()?.min(24 * 60),
                note: f.text("note"),
            })
        });
    }

    fn clear(&mut self, collection: Collection) {
        match collection {
            Collection::Members => self.members.clear(),
            Collection::Requests => self.requests.clear(),
            Collection::Offers => self.offers.clear(),
            Collection::Sessions => self.sessions.clear(),
            Collection::Thanks => self.thanks.clear(),
            Collection::Duties => self.duties.clear(),
            Collection::Rota => self.rota.clear(),
        }
    }

    fn read_record<D: ReadDoc>(
        &mut self,
        doc: &D,
        collection: Collection,
        key: &str,
        obj: Option<&ObjId>,
    ) {
        match collection {
            Collection::Members => {
                let Ok(id) = MemberId::parse(key) else { return };
                match obj.and_then(|o| read_member(doc, &id, o)) {
                    Some(m) => self.members.insert(id, m),
                    None => self.members.remove(&id),
                };
            }
            Collection::Requests => {
                let Ok(id) = RequestId::parse(key) else {
                    return;
                };
                match obj.and_then(|o| read_request(doc, &self.actors, &id, o)) {
                    Some(r) => self.requests.insert(id, r),
                    None => self.requests.remove(&id),
                };
            }
            Collection::Offers => {
                let Ok(id) = OfferId::parse(key) else { return };
                match obj.and_then(|o| read_offer(doc, &self.actors, &id, o)) {
                    Some(r) => self.offers.insert(id, r),
                    None => self.offers.remove(&id),
                };
            }
            Collection::Sessions => {
                let Ok(id) = SessionId::parse(key) else {
                    return;
                };
                match obj.and_then(|o| read_session(doc, &self.actors, &id, o)) {
                    Some(r) => self.sessions.insert(id, r),
                    None => self.sessions.remove(&id),
                };
            }
            Collection::Thanks => {
                let Ok(id) = ThanksId::parse(key) else { return };
                match obj.and_then(|o| read_thanks(doc, &id, o)) {
                    Some(r) => self.thanks.insert(id, r),
                    None => self.thanks.remove(&id),
                };
            }
            Collection::Duties => {
                let Ok(id) = DutyId::parse(key) else { return };
                match obj.and_then(|o| read_duty(doc, &id, o)) {
                    Some(r) => self.duties.insert(id, r),
                    None => self.duties.remove(&id),
                };
            }
            // The rota is flat scalars, read as a whole.
            Collection::Rota => {}
        }
    }

    fn read_rota<D: ReadDoc>(&mut self, doc: &D) {
        self.rota.clear();
        let Some(obj) = get_map(doc, &ROOT, schema::ROTA) else {
            return;
        };
        for (key, field) in Fields::read(doc, &obj).iter() {
            let Some((week, member)) = key.split_once('|') else {
                continue;
            };
            let (Ok(member), Some(_)) =
                (MemberId::parse(member), crate::time::parse_week_key(week))
            else {
                continue;
            };
            if matches!(field.val, crate::fields::Val::Bool(true)) {
                self.rota.entry(week.to_owned()).or_default().insert(member);
            }
        }
    }

    fn rebuild_actor_index(&mut self) {
        self.actors = self
            .members
            .values()
            .flat_map(|m| {
                m.devices
                    .iter()
                    .filter(|d| d.trusted)
                    .map(|d| (d.actor.clone(), m.id.clone()))
            })
            .collect();
    }
}

fn opt_member(f: &Fields, key: &str) -> Option<MemberId> {
    f.str(key).and_then(|s| MemberId::parse(s).ok())
}

fn tags<D: ReadDoc>(doc: &D, f: &Fields, key: &str) -> BTreeSet<String> {
    f.map(key)
        .map(|obj| {
            Fields::read(doc, obj)
                .iter()
                .filter(|(_, v)| matches!(v.val, crate::fields::Val::Bool(true)))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn read_member<D: ReadDoc>(doc: &D, id: &MemberId, obj: &ObjId) -> Option<Member> {
    let f = Fields::read(doc, obj);
    let creator = actor_of(obj);
    let skills = f
        .map("skills")
        .map(|o| {
            Fields::read(doc, o)
                .iter()
                .filter_map(|(k, v)| match &v.val {
                    crate::fields::Val::Str(s) => SkillLevel::parse(s).map(|l| (k.clone(), l)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    // Devices: an entry is trusted when whoever added the member wrote it, or one of the
    // member's already-trusted devices did (linking a second laptop). Repeat until no
    // more entries become trusted.
    let mut devices: Vec<(Device, Option<ActorHex>)> = Vec::new();
    if let Some(devs) = f.map("devices") {
        for (key, entry) in record_ids(doc, devs) {
            let Some(actor) = ActorHex::parse(&key) else {
                continue;
            };
            let d = Fields::read(doc, &entry);
            devices.push((
                Device {
                    actor,
                    endpoint: d.text("endpoint"),
                    label: d.text("label"),
                    added_ms: d.int("added_ms").unwrap_or(0),
                    addrs: d
                        .text("addrs")
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    relay: Some(d.text("relay")).filter(|r| !r.is_empty()),
                    trusted: false,
                },
                actor_of(&entry),
            ));
        }
    }
    loop {
        let trusted: BTreeSet<ActorHex> = devices
            .iter()
            .filter(|(d, _)| d.trusted)
            .map(|(d, _)| d.actor.clone())
            .collect();
        let mut changed = false;
        for (device, writer) in &mut devices {
            if !device.trusted
                && writer
                    .as_ref()
                    .is_some_and(|w| Some(w) == creator.as_ref() || trusted.contains(w))
            {
                device.trusted = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Some(Member {
        id: id.clone(),
        name: f.text("name"),
        created_ms: f.int("created_ms").unwrap_or(0),
        removed_ms: f.int("removed_ms"),
        availability: f.text("availability"),
        snoozed_until_ms: f.int("snoozed_until_ms"),
        skills,
        wants: tags(doc, &f, "wants"),
        devices: devices.into_iter().map(|(d, _)| d).collect(),
    })
}

/// Reads a map of `<member> → {…}` entries that only that member may write (claims,
/// answers), splitting them into genuine and forged by the actor that wrote `check_key`.
fn own_entries<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    obj: Option<&ObjId>,
    check_key: &str,
) -> Vec<(MemberId, Fields, Result<(), ActorHex>)> {
    let Some(obj) = obj else { return Vec::new() };
    record_ids(doc, obj)
        .into_iter()
        .filter_map(|(key, entry)| {
            let member = MemberId::parse(&key).ok()?;
            let f = Fields::read(doc, &entry);
            // Every field must come from the member's own devices: checking only one
            // would let someone flip `answer` on a genuine entry.
            let mut verdict = Ok(());
            for (_, field) in f.iter() {
                if let Some(actor) = field.actor()
                    && actors.get(&actor) != Some(&member)
                {
                    verdict = Err(actor);
                }
            }
            f.get(check_key)?;
            Some((member, f, verdict))
        })
        .collect()
}

fn read_request<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &RequestId,
    obj: &ObjId,
) -> Option<Request> {
    let f = Fields::read(doc, obj);
    let author = opt_member(&f, "author")?;
    let mut claims = Vec::new();
    let mut forged_claims = Vec::new();
    for (member, c, verdict) in own_entries(doc, actors, f.map("claims"), "at_ms") {
        let at_ms = c.int("at_ms").unwrap_or(0);
        match verdict {
            Ok(()) => claims.push(Claim {
                member,
                at_ms,
                released_ms: c.int("released_ms"),
            }),
            Err(actor) => forged_claims.push(Forgery {
                claimed: member,
                actor,
                at_ms,
                what: "claimed the request".into(),
            }),
        }
    }
    let mut comments: Vec<Comment> = f
        .map("comments")
        .map(|o| {
            record_ids(doc, o)
                .into_iter()
                .filter_map(|(key, entry)| {
                    let c = Fields::read(doc, &entry);
                    Some(Comment {
                        id: CommentId::parse(&key).ok()?,
                        author: opt_member(&c, "author")?,
                        text: c.text("text"),
                        at_ms: c.int("at_ms").unwrap_or(0),
                        deleted_ms: c.int("deleted_ms"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    comments.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
    Some(Request {
        id: id.clone(),
        author,
        title: f.text("title"),
        tried: f.text("tried"),
        skills: tags(doc, &f, "skills"),
        urgency: f
            .str("urgency")
            .and_then(Urgency::parse)
            .unwrap_or(Urgency::Normal),
        to: opt_member(&f, "to"),
        created_ms: f.int("created_ms").unwrap_or(0),
        withdrawn_ms: f.int("withdrawn_ms"),
        resolved_ms: f.int("resolved_ms"),
        resolved_by: f.actor("resolved_ms").and_then(|a| actors.get(&a).cloned()),
        claims,
        forged_claims,
        comments,
    })
}

fn read_offer<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &OfferId,
    obj: &ObjId,
) -> Option<Offer> {
    let f = Fields::read(doc, obj);
    let to = opt_member(&f, "to")?;
    let mut response = None;
    let mut forged_responses = Vec::new();
    for (member, r, verdict) in own_entries(doc, actors, f.map("responses"), "answer") {
        let at_ms = r.int("at_ms").unwrap_or(0);
        let answer = r.str("answer").and_then(Answer::parse);
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
    Some(Offer {
        id: id.clone(),
        from: opt_member(&f, "from")?,
        to,
        request: f.str("request").and_then(|s| RequestId::parse(s).ok()),
        topic: f.text("topic"),
        message: f.text("message"),
        created_ms: f.int("created_ms").unwrap_or(0),
        withdrawn_ms: f.int("withdrawn_ms"),
        response,
        forged_responses,
    })
}

fn read_session<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    id: &SessionId,
    obj: &ObjId,
) -> Option<Session> {
    let f = Fields::read(doc, obj);
    let mut followups: Vec<FollowUp> = f
        .map("followups")
        .map(|o| {
            record_ids(doc, o)
                .into_iter()
                .filter_map(|(key, entry)| {
                    let u = Fields::read(doc, &entry);
                    Some(FollowUp {
                        id: FollowUpId::parse(&key).ok()?,
                        text: u.text("text"),
                        owner: opt_member(&u, "owner")?,
                        due_ms: u.int("due_ms"),
                        done_ms: u.int("done_ms"),
                        created_ms: u.int("created_ms").unwrap_or(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    followups.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Some(Session {
        id: id.clone(),
        coach: opt_member(&f, "coach")?,
        coachee: opt_member(&f, "coachee")?,
        topic: f.text("topic"),
        skills: tags(doc, &f, "skills"),
        at_ms: f.int("at_ms").unwrap_or(0),
        minutes: f
            .int("minutes")
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(0),
        notes: f.text("notes"),
        learning: f.text("learning"),
        offer: f.str("offer").and_then(|s| OfferId::parse(s).ok()),
        request: f.str("request").and_then(|s| RequestId::parse(s).ok()),
        created_ms: f.int("created_ms").unwrap_or(0),
        logged_by: actor_of(obj).and_then(|a| actors.get(&a).cloned()),
        deleted_ms: f.int("deleted_ms"),
        followups,
    })
}

fn read_thanks<D: ReadDoc>(doc: &D, id: &ThanksId, obj: &ObjId) -> Option<Thanks> {
    let f = Fields::read(doc, obj);
    Some(Thanks {
        id: id.clone(),
        from: opt_member(&f, "from")?,
        to: opt_member(&f, "to")?,
        text: f.text("text"),
        session: f.str("session").and_then(|s| SessionId::parse(s).ok()),
        at_ms: f.int("at_ms").unwrap_or(0),
    })
}

fn read_duty<D: ReadDoc>(doc: &D, id: &DutyId, obj: &ObjId) -> Option<Duty> {
    let f = Fields::read(doc, obj);
    let backfills = f
        .map("backfills")
        .map(|o| {
            record_ids(doc, o)
                .into_iter()
                .filter_map(|(key, entry)| {
                    let b = Fields::read(doc, &entry);
                    Some(Backfill {
                        apprentice: MemberId::parse(&key).ok()?,
                        stage: b.str("stage").and_then(Stage::parse)?,
                        updated_ms: b.int("updated_ms").unwrap_or(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Duty {
        id: id.clone(),
        owner: opt_member(&f, "owner")?,
        title: f.text("title"),
        notes: f.text("notes"),
        created_ms: f.int("created_ms").unwrap_or(0),
        deleted_ms: f.int("deleted_ms"),
        backfills,
    })
}
