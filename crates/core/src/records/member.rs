//! A member of the team: their name, skills, availability, and the devices that speak
//! for them.
//!
//! ```text
//! members/<member>: {name, created_ms, availability, snoozed_until_ms?,
//!                    removals/<member>: Int (when that member asked for the removal),
//!                    removed_ms? (the form before removals needed a second member),
//!                    skills/<skill>: level, wants/<skill>: Bool,
//!                    devices/<actor hex>: {endpoint, label, added_ms, addrs, relay?}}
//! ```
//!
//! A device entry is trusted when whoever added the member wrote it as the member's first
//! device, or one of the member's already-trusted devices wrote it (linking a second
//! laptop). Only trusted devices speak for the member: their claims, answers and session
//! logs.
//!
//! **Removal** is a vote: `removals/<voter>` written by one of the voter's trusted
//! devices (a vote in anyone else's name counts for nothing and history shows it). A
//! member's own vote is leaving, in force at once. Otherwise, in a team of three or more
//! current members a removal is in force once two members other than the one removed
//! voted for it, so no single member can remove the rest; in a smaller team one vote
//! does. The app never takes a vote back, and clearing `removed_ms` (or writing it)
//! changes nothing, as the reader derives removals from the votes. A change that deletes
//! or writes over a vote (or the votes map) never reaches this reader: Automerge keeps no
//! trace of the old value that a reader sees cheaply, so nodes refuse it on receive
//! (`peercoach_node::sync::screen::guard`, with [`crate::schema::is_fixed`]).
//! A `removed_ms` of the old form counts as one vote by the member whose device wrote it.
//! [`settle`] decides, for the whole team at once and in the order of the votes'
//! operations (Lamport counters, which no one picks as freely as a time): a vote by a
//! member whose own removal took force earlier counts for nothing, and so does a vote
//! from a device its member removed.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::{Cx, ImportCx, Writer, clean_skill, clean_text, csv_line, done, record_err};
use crate::command::{Applied, CommandError};
use crate::export::ImportError;
use crate::fields::{Fields, Val, actor_of, op_of, record_ids};
use crate::ids::{ActorHex, MemberId};
use crate::model::Team;
use crate::records::Forgery;
use crate::schema::{MAX_NAME_CHARS, MAX_TITLE_CHARS};
use crate::time::format_date;
use crate::touched::Collection;
use peercoach_base::DeviceId;

use super::team_settings::clean_relay;

/// The document keys of a member.
mod key {
    pub(super) const NAME: &str = "name";
    pub(super) const CREATED_MS: &str = "created_ms";
    pub(super) const REMOVED_MS: &str = "removed_ms";
    pub(super) const REMOVALS: &str = "removals";
    pub(super) const AVAILABILITY: &str = "availability";
    pub(super) const SNOOZED_UNTIL_MS: &str = "snoozed_until_ms";
    pub(super) const SKILLS: &str = "skills";
    pub(super) const WANTS: &str = "wants";
    pub(super) const DEVICES: &str = "devices";
    /// In a device.
    pub(super) const ENDPOINT: &str = "endpoint";
    /// In a device.
    pub(super) const LABEL: &str = "label";
    /// In a device.
    pub(super) const ADDED_MS: &str = "added_ms";
    /// In a device.
    pub(super) const ADDRS: &str = "addrs";
    /// In a device.
    pub(super) const RELAY: &str = "relay";
    /// In a device: when one of the member's own devices removed it.
    pub(super) const DEVICE_REMOVED_MS: &str = "removed_ms";
}

/// How many operations the change that adds a member writes after the member's record
/// itself (its fields, maps and first device): values the one who added them writes
/// within these count as written at creation.
const CREATION_OPS: u64 = 16;

/// The stored level of a skill someone no longer claims.
const NO_LEVEL: &str = "none";

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

/// One of a member's devices. Its actor id is how the document knows what it wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The device's Automerge actor.
    pub actor: ActorHex,
    /// The device's iroh endpoint id (public key), parsed as the record is read: `None`
    /// when the record names none that parses (such a device can be trusted for what it
    /// wrote, but nobody can dial it).
    pub endpoint: Option<DeviceId>,
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
    /// Whether the entry was written by someone entitled to: whoever added the member,
    /// for the one device added with them, or one of the member's trusted devices before
    /// it was removed. Untrusted entries never speak for the member.
    pub trusted: bool,
    /// When one of the member's own trusted devices removed it: what it wrote before
    /// still counts, but it is refused from then on and receives nothing new.
    #[serde(default)]
    pub removed_ms: Option<i64>,
    /// The operation counter of the mark that removed it: its operations from there on
    /// count for nothing.
    #[serde(default)]
    pub removed_at_op: Option<u64>,
    /// The operation that wrote the entry: of two entries that name one device key, the
    /// earlier one says whose device it is.
    #[serde(default)]
    pub entry_op: Option<(u64, ActorHex)>,
}

impl Device {
    /// A trusted device that was not removed: it may sync and speak for its member.
    pub fn is_active(&self) -> bool {
        self.trusted && self.removed_ms.is_none()
    }

    /// The names its operations read as: the entry's actor, and its key (what its
    /// session actors read as; see [`ActorHex`]). An entry's actor shaped like a device
    /// key names only the key its endpoint names: a device's key cannot be claimed by an
    /// entry for another device.
    pub fn names(&self) -> impl Iterator<Item = ActorHex> + '_ {
        let key = self.endpoint.as_ref().map(ActorHex::of_device);
        let own = (self.actor.as_str().len() != 2 * crate::ids::DEVICE_KEY_LEN
            || key.as_ref() == Some(&self.actor))
        .then(|| self.actor.clone());
        own.into_iter().chain(key.filter(|key| *key != self.actor))
    }

    /// Whether operations read as `actor` are this device's.
    pub fn is(&self, actor: &ActorHex) -> bool {
        self.names().any(|name| name == *actor)
    }
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
    /// When their removal took force, if it did (derived from `removal_votes` by
    /// [`settle`]).
    pub removed_ms: Option<i64>,
    /// The votes to remove them, as written (genuine or not).
    #[serde(default)]
    pub removal_votes: Vec<RemovalVote>,
    /// The operation counter of the vote that put their removal in force: their devices'
    /// operations from that counter on cannot precede it and count for nothing.
    #[serde(default)]
    pub removed_at_op: Option<u64>,
    /// Profile fields someone else's device wrote: they count for nothing.
    #[serde(default)]
    pub ignored: Vec<Forgery>,
    /// The operation that created the record (its counter and device): a member added by
    /// a removed member's device after the removal counts for nothing.
    #[serde(default)]
    pub added_by: Option<(u64, ActorHex)>,
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

/// A vote to remove a member, as the document holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalVote {
    /// The member it speaks for: the key it is written under, or for a vote of the old
    /// form (`removed_ms`) the member whose device wrote it.
    pub by: Option<MemberId>,
    /// The device that wrote it.
    pub actor: Option<ActorHex>,
    /// When it was cast.
    pub at_ms: i64,
    /// Its operation's counter.
    pub op: u64,
    /// Whether it counts: written by one of the voter's own trusted devices.
    pub genuine: bool,
}

impl Member {
    /// Still in the team.
    pub fn is_current(&self) -> bool {
        self.removed_ms.is_none()
    }

    /// The members who voted to remove this one while the removal is not yet in force
    /// (it waits for a second member), earliest first.
    pub fn pending_removal(&self) -> Vec<&MemberId> {
        if self.removed_ms.is_some() {
            return Vec::new();
        }
        let mut voters: Vec<&MemberId> = Vec::new();
        for v in self.removal_votes.iter().filter(|v| v.genuine) {
            if let Some(by) = &v.by
                && !voters.contains(&by)
            {
                voters.push(by);
            }
        }
        voters
    }

    /// Whether `voter` already voted to remove this member.
    pub fn has_vote_of(&self, voter: &MemberId) -> bool {
        self.removal_votes
            .iter()
            .any(|v| v.genuine && v.by.as_ref() == Some(voter))
    }

    /// Snoozed at `now_ms`.
    pub fn is_snoozed(&self, now_ms: i64) -> bool {
        self.snoozed_until_ms.is_some_and(|until| until > now_ms)
    }
}

/// A member to add with their first device (done by the inviter on join).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMember {
    /// Display name.
    pub name: String,
    /// Their device's actor.
    pub actor: ActorHex,
    /// Their device's endpoint id.
    pub endpoint: String,
    /// Device label.
    #[serde(default)]
    pub label: String,
    /// Their device's direct addresses (`ip:port`).
    #[serde(default)]
    pub addrs: Vec<String>,
    /// Their device's home relay URL.
    #[serde(default)]
    pub relay: Option<String>,
}

/// Another device of the same person to link (done by one of their devices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevice {
    /// Member.
    pub member: MemberId,
    /// New device's actor.
    pub actor: ActorHex,
    /// New device's endpoint id.
    pub endpoint: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Its direct addresses.
    #[serde(default)]
    pub addrs: Vec<String>,
    /// Its home relay URL.
    #[serde(default)]
    pub relay: Option<String>,
}

/// A member's name, the same limit everywhere.
pub(crate) fn check_name(name: &str) -> Result<String, CommandError> {
    clean_text("name", name, MAX_NAME_CHARS, true)
}

/// An availability note's limit.
fn check_availability(text: &str) -> Result<String, CommandError> {
    clean_text("availability", text, MAX_TITLE_CHARS, false)
}

/// Keeps the well-formed `ip:port` addresses, space-separated.
fn clean_addrs(addrs: &[String]) -> String {
    addrs
        .iter()
        .filter(|a| a.parse::<std::net::SocketAddr>().is_ok())
        .take(16)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A device entry's fields, checked.
struct DeviceEntry<'a> {
    actor: &'a ActorHex,
    endpoint: &'a str,
    label: String,
    addrs: String,
    relay: String,
}

impl<'a> DeviceEntry<'a> {
    fn check(
        actor: &'a ActorHex,
        endpoint: &'a str,
        label: &str,
        addrs: &[String],
        relay: Option<&str>,
    ) -> Result<Self, CommandError> {
        Ok(Self {
            actor,
            endpoint,
            label: clean_text("label", label, MAX_NAME_CHARS, false)?,
            addrs: clean_addrs(addrs),
            relay: relay.and_then(clean_relay).unwrap_or_default(),
        })
    }

    fn write(&self, w: &mut Writer<'_>, devices: &ObjId, now_ms: i64) -> Result<(), CommandError> {
        let d = w.new_map(devices, self.actor.as_str())?;
        w.put(&d, key::ENDPOINT, self.endpoint)?;
        w.put(&d, key::LABEL, self.label.as_str())?;
        w.put(&d, key::ADDED_MS, now_ms)?;
        w.put(&d, key::ADDRS, self.addrs.as_str())?;
        w.put(&d, key::RELAY, self.relay.as_str())?;
        Ok(())
    }
}

/// The key of a member's removal votes, in their record (see [`crate::schema::is_fixed`]).
pub(crate) const VOTES_KEY: &str = key::REMOVALS;

/// Writes a new member record, with its first device if one is given.
fn write_member(
    w: &mut Writer<'_>,
    id: &MemberId,
    name: &str,
    availability: &str,
    device: Option<&DeviceEntry<'_>>,
    now_ms: i64,
) -> Result<ObjId, CommandError> {
    let parent = w.collection(Collection::Members)?;
    let obj = w.new_map(&parent, id.as_str())?;
    w.put(&obj, key::NAME, name)?;
    w.put(&obj, key::CREATED_MS, now_ms)?;
    w.put(&obj, key::AVAILABILITY, availability)?;
    w.new_map(&obj, key::SKILLS)?;
    w.new_map(&obj, key::WANTS)?;
    w.new_map(&obj, key::REMOVALS)?;
    let devices = w.new_map(&obj, key::DEVICES)?;
    if let Some(device) = device {
        device.write(w, &devices, now_ms)?;
    }
    Ok(obj)
}

/// Writes the first member of a new team, with this device.
pub(crate) fn write_founder(
    w: &mut Writer<'_>,
    id: &MemberId,
    name: &str,
    actor: &ActorHex,
    endpoint: &str,
    now_ms: i64,
) -> Result<(), CommandError> {
    let device = DeviceEntry::check(actor, endpoint, "", &[], None)?;
    write_member(w, id, &check_name(name)?, "", Some(&device), now_ms)?;
    Ok(())
}

/// A device's removal mark as written: when, and the operation (counter and device)
/// that wrote it.
type RemovalMark = (i64, Option<(u64, ActorHex)>);

/// Reads one member, deciding which of their device entries are trusted.
pub(crate) fn read<D: ReadDoc>(doc: &D, id: &MemberId, obj: &ObjId) -> Option<Member> {
    let f = Fields::read(doc, obj);
    let creator = actor_of(obj);
    let mut devices: Vec<(Device, Option<(u64, ActorHex)>)> = Vec::new();
    // Each device's removal mark, with the device that wrote it.
    let mut removal_marks: Vec<Option<RemovalMark>> = Vec::new();
    if let Some(devs) = f.map(key::DEVICES) {
        for (key, entry) in record_ids(doc, devs) {
            let Some(actor) = ActorHex::parse(&key) else {
                continue;
            };
            let d = Fields::read(doc, &entry);
            removal_marks.push(d.int(key::DEVICE_REMOVED_MS).map(|t| {
                let by = d.get(key::DEVICE_REMOVED_MS).and_then(|v| op_of(&v.id));
                (t, by)
            }));
            devices.push((
                Device {
                    actor,
                    endpoint: d.str(key::ENDPOINT).and_then(|e| DeviceId::parse(e).ok()),
                    label: d.text(key::LABEL),
                    added_ms: d.int(key::ADDED_MS).unwrap_or(0),
                    addrs: d
                        .text(key::ADDRS)
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    relay: Some(d.text(key::RELAY)).filter(|r| !r.is_empty()),
                    trusted: false,
                    removed_ms: None,
                    removed_at_op: None,
                    entry_op: op_of(&entry),
                },
                op_of(&entry),
            ));
        }
    }
    // Whoever added the member vouches for one device: the first one they wrote (a
    // member is added with exactly one). Any later entry of theirs is a device planted
    // under someone else's name, and counts for nothing.
    let first_by_creator = devices
        .iter()
        .filter_map(|(_, w)| w.as_ref())
        .filter(|(_, a)| Some(a) == creator.as_ref())
        .min()
        .cloned();
    for (device, writer) in &mut devices {
        if writer.is_some() && *writer == first_by_creator {
            device.trusted = true;
        }
    }
    // Trust spreads from each trusted device to the devices it wrote: repeat until no
    // more become trusted.
    loop {
        let trusted: BTreeSet<ActorHex> = devices
            .iter()
            .filter(|(d, _)| d.trusted)
            .flat_map(|(d, _)| d.names())
            .collect();
        let mut changed = false;
        for (device, writer) in &mut devices {
            if !device.trusted && writer.as_ref().is_some_and(|(_, w)| trusted.contains(w)) {
                device.trusted = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // A device's removal counts when one of the member's own trusted devices wrote it,
    // and that device was not itself removed before (marks are taken in the order of
    // their operations, so of two devices removing each other the first mark wins).
    // What a removed device writes from its removal on counts for nothing: the devices
    // it links then are not trusted.
    let mut marks: Vec<(usize, i64, u64, ActorHex)> = removal_marks
        .into_iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let (at, (counter, by)) = m.and_then(|(at, by)| Some((at, by?)))?;
            Some((i, at, counter, by))
        })
        .collect();
    marks.sort_by_key(|(_, _, counter, by)| (*counter, by.clone()));
    for (i, at, counter, by) in marks {
        let by_device = devices.iter().find(|(d, _)| d.is(&by)).map(|(d, _)| d);
        let entitled = by_device
            .is_some_and(|d| d.trusted && d.removed_at_op.is_none_or(|cutoff| counter < cutoff));
        if entitled
            && let Some((device, _)) = devices.get_mut(i)
            && device.removed_ms.is_none()
        {
            device.removed_ms = Some(at);
            device.removed_at_op = Some(counter);
        }
    }
    let cutoffs: Vec<(ActorHex, u64)> = devices
        .iter()
        .filter_map(|(d, _)| Some((d, d.removed_at_op?)))
        .flat_map(|(d, cutoff)| d.names().map(move |name| (name, cutoff)))
        .collect();
    for (device, writer) in &mut devices {
        if let Some((counter, w)) = writer
            && cutoffs
                .iter()
                .any(|(a, cutoff)| a == w && *counter >= *cutoff)
        {
            device.trusted = false;
        }
    }
    let trusted: BTreeSet<ActorHex> = devices
        .iter()
        .filter(|(d, _)| d.trusted)
        .flat_map(|(d, _)| d.names())
        .collect();
    let mut removal_votes: Vec<RemovalVote> = Vec::new();
    // Two members' first votes made apart each create the map: read every copy, so
    // neither vote is lost to the conflict.
    let vote_maps = doc
        .get_all(obj, key::REMOVALS)
        .unwrap_or_default()
        .into_iter()
        .filter(|(v, _)| matches!(v, automerge::Value::Object(automerge::ObjType::Map)))
        .map(|(_, id)| id);
    for votes in vote_maps {
        for (voter, vote) in Fields::read(doc, &votes).iter() {
            let (Ok(by), Val::Int(at_ms)) = (MemberId::parse(voter), &vote.val) else {
                continue;
            };
            let op = op_of(&vote.id);
            removal_votes.push(RemovalVote {
                by: Some(by),
                actor: op.as_ref().map(|(_, a)| a.clone()),
                at_ms: *at_ms,
                op: op.map_or(0, |(c, _)| c),
                genuine: false,
            });
        }
    }
    if let (Some(at_ms), Some(field)) = (f.int(key::REMOVED_MS), f.get(key::REMOVED_MS)) {
        let op = op_of(&field.id);
        removal_votes.push(RemovalVote {
            by: None,
            actor: op.as_ref().map(|(_, a)| a.clone()),
            at_ms,
            op: op.map_or(0, |(c, _)| c),
            genuine: false,
        });
    }
    // What speaks for the member is theirs to write: their name and availability note
    // (which whoever added them also writes, in the change that adds them), their skills,
    // wishes and snooze (which the one who added them writes only for a member without a
    // device yet, as an import restores them). Anything else written there counts for
    // nothing.
    let creator_may = trusted.is_empty();
    // The change that created the record writes its first fields right after the
    // record itself: the one who added the member may write these values then, not later.
    let created_at_op = op_of(obj).map_or(0, |(c, _)| c);
    let at_creation = |counter: u64| counter <= created_at_op + CREATION_OPS;
    let own = |writer: Option<(u64, ActorHex)>, creator_too: bool| {
        writer.is_some_and(|(counter, w)| {
            trusted.contains(&w)
                || (Some(&w) == creator.as_ref()
                    && (creator_may || (creator_too && at_creation(counter))))
        })
    };
    let mut ignored = Vec::new();
    let mut field = |key: &str, creator_too: bool, f: &Fields| -> bool {
        let Some(written) = f.get(key).and_then(|v| op_of(&v.id)) else {
            return true;
        };
        let writer = written.1.clone();
        let ok = own(Some(written), creator_too);
        if !ok {
            ignored.push(Forgery {
                claimed: id.clone(),
                actor: writer,
                at_ms: 0,
                what: format!("changed {key} in someone else's profile"),
            });
        }
        ok
    };
    let name = if field(key::NAME, true, &f) {
        f.text(key::NAME)
    } else {
        String::new()
    };
    let availability = if field(key::AVAILABILITY, true, &f) {
        f.text(key::AVAILABILITY)
    } else {
        String::new()
    };
    let snoozed_until_ms = f
        .int(key::SNOOZED_UNTIL_MS)
        .filter(|_| field(key::SNOOZED_UNTIL_MS, false, &f));
    let mut skills = BTreeMap::new();
    if let Some(o) = f.map(key::SKILLS) {
        let entries = Fields::read(doc, o);
        for (k, v) in entries.iter() {
            if let Val::Str(s) = &v.val
                && let Some(level) = SkillLevel::parse(s)
                && field(k, false, &entries)
            {
                skills.insert(k.clone(), level);
            }
        }
    }
    let mut wants = BTreeSet::new();
    if let Some(o) = f.map(key::WANTS) {
        let entries = Fields::read(doc, o);
        for (k, v) in entries.iter() {
            if matches!(v.val, Val::Bool(true)) && field(k, false, &entries) {
                wants.insert(k.clone());
            }
        }
    }
    Some(Member {
        id: id.clone(),
        name,
        created_ms: f.int(key::CREATED_MS).unwrap_or(0),
        removed_ms: None,
        removal_votes,
        removed_at_op: None,
        ignored,
        added_by: op_of(obj),
        availability,
        snoozed_until_ms,
        skills,
        wants,
        devices: devices.into_iter().map(|(d, _)| d).collect(),
    })
}

/// Decides whose removal is in force, for the whole team at once (see the module docs):
/// marks each vote genuine or not, sets `removed_ms` and `removed_at_op`, and returns
/// the votes that count for nothing because a device wrote them in someone else's name.
pub(crate) fn settle(
    members: &mut BTreeMap<MemberId, Member>,
    actors: &std::collections::HashMap<ActorHex, MemberId>,
) -> Vec<Forgery> {
    let mut forged = Vec::new();
    // A device its member removed votes no more from its removal on.
    let device_cutoffs: std::collections::HashMap<ActorHex, u64> = members
        .values()
        .flat_map(|m| m.devices.iter())
        .filter_map(|d| Some((d, d.removed_at_op?)))
        .flat_map(|(d, cutoff)| d.names().map(move |name| (name, cutoff)))
        .collect();
    for m in members.values_mut() {
        m.removed_ms = None;
        m.removed_at_op = None;
        for v in &mut m.removal_votes {
            let writer = v.actor.as_ref().and_then(|a| actors.get(a));
            if v.by.is_none() {
                v.by = writer.cloned();
            }
            let device_removed = v
                .actor
                .as_ref()
                .and_then(|a| device_cutoffs.get(a))
                .is_some_and(|cutoff| v.op >= *cutoff);
            v.genuine = writer.is_some() && writer == v.by.as_ref() && !device_removed;
            if !v.genuine
                && let Some(actor) = &v.actor
            {
                forged.push(Forgery {
                    claimed: v.by.clone().unwrap_or_else(|| m.id.clone()),
                    actor: actor.clone(),
                    at_ms: v.at_ms,
                    what: format!("voted to remove {}", m.name),
                });
            }
        }
    }
    // Removals take force one at a time, in the order of their operations (a Lamport
    // counter grows along every causal chain, and no one chooses it as freely as a
    // time), each with the team as it was. A vote that became enough only because an
    // earlier removal shrank the team takes force no earlier than that removal.
    let mut floor: (u64, i64) = (0, i64::MIN);
    loop {
        let current: BTreeSet<&MemberId> = members
            .values()
            .filter(|m| m.removed_ms.is_none())
            .map(|m| &m.id)
            .collect();
        let needed = if current.len() >= 3 { 2 } else { 1 };
        let mut next: Option<(u64, MemberId, i64)> = None;
        for m in members.values().filter(|m| m.removed_ms.is_none()) {
            if current.len() <= 1 {
                break;
            }
            // The earliest genuine vote of each voter still in the team.
            let mut earliest: BTreeMap<&MemberId, &RemovalVote> = BTreeMap::new();
            for v in m.removal_votes.iter().filter(|v| v.genuine) {
                let Some(by) = v.by.as_ref().filter(|b| current.contains(b)) else {
                    continue;
                };
                let e = earliest.entry(by).or_insert(v);
                if (v.op, v.at_ms) < (e.op, e.at_ms) {
                    *e = v;
                }
            }
            let in_force = if let Some(own) = earliest.get(&m.id) {
                Some((own.op, own.at_ms))
            } else {
                let mut votes: Vec<&&RemovalVote> = earliest.values().collect();
                votes.sort_by_key(|v| (v.op, v.at_ms));
                (votes.len() >= needed).then(|| {
                    let deciding = votes[needed - 1];
                    (deciding.op, deciding.at_ms)
                })
            };
            if let Some((op, at)) = in_force.map(|f| f.max(floor))
                && next
                    .as_ref()
                    .is_none_or(|(o, id, _)| (op, &m.id) < (*o, id))
            {
                next = Some((op, m.id.clone(), at));
            }
        }
        let Some((op, id, at)) = next else { break };
        floor = (op, at);
        if let Some(m) = members.get_mut(&id) {
            m.removed_ms = Some(at);
            m.removed_at_op = Some(op);
        }
    }
    forged
}

/// My own member record.
fn my_record(cx: &Cx<'_>) -> Result<ObjId, CommandError> {
    cx.w.record(Collection::Members, "member", cx.me.as_str())
}

/// Changes my display name and/or availability note.
pub(crate) fn set_profile(
    cx: &mut Cx<'_>,
    name: Option<&str>,
    availability: Option<&str>,
) -> Result<Applied, CommandError> {
    let obj = my_record(cx)?;
    if let Some(n) = name {
        cx.w.put(&obj, key::NAME, check_name(n)?)?;
    }
    if let Some(a) = availability {
        cx.w.put(&obj, key::AVAILABILITY, check_availability(a)?)?;
    }
    done("updated profile")
}

/// Sets (or with `None` clears) my level in a skill.
pub(crate) fn set_skill(
    cx: &mut Cx<'_>,
    skill: &str,
    level: Option<SkillLevel>,
) -> Result<Applied, CommandError> {
    let skill = clean_skill(skill)?;
    let obj = my_record(cx)?;
    let skills = cx.w.child(&obj, key::SKILLS)?;
    cx.w.put(
        &skills,
        &skill,
        level.map(SkillLevel::as_str).unwrap_or(NO_LEVEL),
    )?;
    done(format!(
        "{skill}: {}",
        level.map(SkillLevel::label).unwrap_or("removed")
    ))
}

/// Marks a skill I want to learn (or no longer want to).
pub(crate) fn set_wants(
    cx: &mut Cx<'_>,
    skill: &str,
    wants: bool,
) -> Result<Applied, CommandError> {
    let skill = clean_skill(skill)?;
    let obj = my_record(cx)?;
    let map = cx.w.child(&obj, key::WANTS)?;
    cx.w.put(&map, &skill, wants)?;
    done(format!("wants to learn {skill}: {wants}"))
}

/// Pauses me until a time (`None` ends the snooze).
pub(crate) fn snooze(cx: &mut Cx<'_>, until_ms: Option<i64>) -> Result<Applied, CommandError> {
    let obj = my_record(cx)?;
    cx.w.put_opt_i64(&obj, key::SNOOZED_UNTIL_MS, until_ms)?;
    done(match until_ms {
        Some(t) => format!("snoozed until {}", crate::time::format_datetime(t)),
        None => "snooze ended".into(),
    })
}

/// Refuses a device that already speaks for someone.
fn check_new_device(team: &Team, actor: &ActorHex) -> Result<(), CommandError> {
    if team.member_of_actor(actor).is_some() {
        return Err(CommandError::InvalidInput {
            field: "device",
            reason: "this device already belongs to a member".into(),
        });
    }
    Ok(())
}

/// Adds a new member with their first device.
pub(crate) fn add(cx: &mut Cx<'_>, new: NewMember) -> Result<Applied, CommandError> {
    let name = check_name(&new.name)?;
    check_new_device(cx.team, &new.actor)?;
    let device = DeviceEntry::check(
        &new.actor,
        &new.endpoint,
        &new.label,
        &new.addrs,
        new.relay.as_deref(),
    )?;
    let id: MemberId = cx.fresh()?;
    write_member(&mut cx.w, &id, &name, "", Some(&device), cx.now_ms)?;
    Ok(Applied {
        created: Some(id.clone().into()),
        summary: format!("added {name} to the team"),
    })
}

/// Links another device of mine.
pub(crate) fn add_device(cx: &mut Cx<'_>, new: NewDevice) -> Result<Applied, CommandError> {
    if &new.member != cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(&new.member),
            action: "link a device to their membership",
        });
    }
    check_new_device(cx.team, &new.actor)?;
    let device = DeviceEntry::check(
        &new.actor,
        &new.endpoint,
        &new.label,
        &new.addrs,
        new.relay.as_deref(),
    )?;
    let obj =
        cx.w.record(Collection::Members, "member", new.member.as_str())?;
    let devices = cx.w.child(&obj, key::DEVICES)?;
    device.write(&mut cx.w, &devices, cx.now_ms)?;
    done("linked a device")
}

/// Votes to remove a member (myself: I leave); never the last one. In a team of three
/// or more the removal of someone else takes force when a second member votes for it.
pub(crate) fn remove(cx: &mut Cx<'_>, member: &MemberId) -> Result<Applied, CommandError> {
    let target = cx.current_member(member)?;
    let current = cx.team.current_members().len();
    if current <= 1 {
        return Err(CommandError::InvalidInput {
            field: "member",
            reason: "the last member cannot be removed".into(),
        });
    }
    if target.has_vote_of(cx.me) {
        return Err(CommandError::InvalidInput {
            field: "member",
            reason: format!(
                "you already asked to remove {}; a second member must confirm it",
                target.name
            ),
        });
    }
    let others = target
        .pending_removal()
        .iter()
        .filter(|v| *v != &member)
        .count();
    let name = cx.name(member);
    let summary = if member == cx.me {
        "left the team".to_owned()
    } else if current < 3 || others >= 1 {
        format!("removed {name} from the team")
    } else {
        format!("asked to remove {name}; it takes effect when a second member confirms it")
    };
    let obj =
        cx.w.record(Collection::Members, "member", member.as_str())?;
    let votes = super::map_or_new(&mut cx.w, &obj, key::REMOVALS)?;
    cx.w.put(&votes, cx.me.as_str(), cx.now_ms)?;
    done(summary)
}

/// Removes one of my own devices; never the one I am using.
pub(crate) fn remove_device(cx: &mut Cx<'_>, device: &ActorHex) -> Result<Applied, CommandError> {
    let mine = cx
        .team
        .members
        .get(cx.me)
        .and_then(|m| m.devices.iter().find(|d| &d.actor == device))
        .ok_or_else(|| CommandError::NotFound {
            kind: "device of yours",
            id: device.to_string(),
        })?;
    if device == cx.my_actor {
        return Err(CommandError::InvalidInput {
            field: "device",
            reason: "this is the device you are using; remove it from another one".into(),
        });
    }
    if mine.removed_ms.is_some() {
        return Err(CommandError::InvalidInput {
            field: "device",
            reason: "that device was already removed".into(),
        });
    }
    let label = if mine.label.is_empty() {
        "a device".to_owned()
    } else {
        format!("device \"{}\"", mine.label)
    };
    let obj = my_record(cx)?;
    let devices = cx.w.child(&obj, key::DEVICES)?;
    let d = cx.w.child(&devices, device.as_str())?;
    cx.w.put(&d, key::DEVICE_REMOVED_MS, cx.now_ms)?;
    done(format!("removed {label}"))
}

/// Publishes this device's direct addresses and home relay.
pub(crate) fn publish_addrs(
    cx: &mut Cx<'_>,
    addrs: &[String],
    relay: Option<&str>,
) -> Result<Applied, CommandError> {
    let obj = my_record(cx)?;
    let devices = cx.w.child(&obj, key::DEVICES)?;
    let d = cx.w.child(&devices, cx.my_actor.as_str())?;
    // Written only by this device and always replaced whole, so one string is the right
    // shape here.
    cx.w.put(&d, key::ADDRS, clean_addrs(addrs))?;
    cx.w.put(
        &d,
        key::RELAY,
        relay.and_then(clean_relay).unwrap_or_default(),
    )?;
    done("published addresses")
}

/// A member in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberOut {
    /// Id.
    pub id: MemberId,
    /// Name.
    pub name: String,
    /// Joined.
    #[serde(default)]
    pub created_at: i64,
    /// Removed.
    #[serde(default)]
    pub removed_at: Option<i64>,
    /// Skills.
    #[serde(default)]
    pub skills: BTreeMap<String, SkillLevel>,
    /// Wants to learn.
    #[serde(default)]
    pub wants_to_learn: Vec<String>,
    /// Availability note.
    #[serde(default)]
    pub availability: String,
}

impl MemberOut {
    /// The export of every member, removed ones included (history names them).
    pub(crate) fn all(team: &Team) -> Vec<Self> {
        team.members
            .values()
            .map(|m| MemberOut {
                id: m.id.clone(),
                name: m.name.clone(),
                created_at: m.created_ms,
                removed_at: m.removed_ms,
                skills: m.skills.clone(),
                wants_to_learn: m.wants.iter().cloned().collect(),
                availability: m.availability.clone(),
            })
            .collect()
    }

    /// The members as a CSV table.
    pub(crate) fn csv(members: &[Self]) -> String {
        let mut out = csv_line(&[
            "id",
            "name",
            "joined",
            "removed",
            "skills",
            "wants_to_learn",
        ]);
        for m in members {
            out += &csv_line(&[
                m.id.to_string(),
                m.name.clone(),
                format_date(m.created_at),
                m.removed_at.map(format_date).unwrap_or_default(),
                m.skills
                    .iter()
                    .map(|(s, l)| format!("{s}:{}", l.as_str()))
                    .collect::<Vec<_>>()
                    .join(";"),
                m.wants_to_learn.join(";"),
            ]);
        }
        out
    }

    /// Restores this member, without devices, if the copy lacks them: a device joins
    /// only with an invite.
    pub(crate) fn import(&self, cx: &mut ImportCx<'_>) -> Result<(), ImportError> {
        if cx.team.members.contains_key(&self.id) {
            cx.report.already_present += 1;
            return Ok(());
        }
        // Someone who left or was removed is not brought back: that takes a new invite.
        if self.removed_at.is_some() {
            cx.report.skipped.push(format!(
                "{} was removed from the team: not restored (rejoining takes a new invite)",
                self.name
            ));
            return Ok(());
        }
        let err = record_err(&self.id);
        let name = check_name(&self.name).map_err(&err)?;
        let availability = check_availability(&self.availability).map_err(&err)?;
        let obj = write_member(
            &mut cx.w,
            &self.id,
            &name,
            &availability,
            None,
            self.created_at,
        )?;
        let skills = cx.w.child(&obj, key::SKILLS)?;
        for (skill, level) in &self.skills {
            cx.w.put(&skills, &clean_skill(skill).map_err(&err)?, level.as_str())?;
        }
        let wants = cx.w.child(&obj, key::WANTS)?;
        for skill in &self.wants_to_learn {
            cx.w.put(&wants, &clean_skill(skill).map_err(&err)?, true)?;
        }
        cx.report.skipped.push(format!(
            "{} was restored without devices: they rejoin with a new invite",
            self.name
        ));
        cx.report.added += 1;
        Ok(())
    }
}
