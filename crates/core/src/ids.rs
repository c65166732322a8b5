//! Typed identifiers. Every record in the team document is keyed by a UUID string; the
//! newtypes keep a request id from being passed where a member id is expected.

use std::fmt;

use peercoach_base::DeviceId;
use serde::{Deserialize, Serialize};

pub use peercoach_base::{IdError, TeamId, is_uuid};

/// A newtype over a lowercase UUID string (see [`peercoach_base::uuid_id`]). Fresh ids
/// from an [`crate::Env`] are parsed like any other (`TryFrom<String>`), so a bad one is
/// an error, never a record key.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        peercoach_base::uuid_id!($(#[$doc])* $name);
    };
}

id_type!(
    /// A person in the team (who may have several devices).
    MemberId
);
id_type!(
    /// A help request ("I could use help", or "coach me" aimed at one person).
    RequestId
);
id_type!(
    /// An offer of help: a question that only the person asked can answer.
    OfferId
);
id_type!(
    /// A logged coaching session.
    SessionId
);
id_type!(
    /// A comment on a help request.
    CommentId
);
id_type!(
    /// A follow-up action agreed in a session.
    FollowUpId
);
id_type!(
    /// A thanks note.
    ThanksId
);
id_type!(
    /// A duty in a handover/backfill plan.
    DutyId
);

/// The id of a record something created, with its kind: what a command, a note or an
/// import reports, so that callers get a typed id instead of text to parse again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum RecordId {
    /// A team (an import that brought one).
    Team(TeamId),
    /// A member.
    Member(MemberId),
    /// A help request.
    Request(RequestId),
    /// A comment on a request.
    Comment(CommentId),
    /// An offer.
    Offer(OfferId),
    /// A session.
    Session(SessionId),
    /// A follow-up.
    FollowUp(FollowUpId),
    /// A thanks note.
    Thanks(ThanksId),
    /// A duty.
    Duty(DutyId),
    /// A private note.
    Note(crate::notes::NoteId),
}

impl RecordId {
    /// The id as text, whatever its kind.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Team(id) => id.as_str(),
            Self::Member(id) => id.as_str(),
            Self::Request(id) => id.as_str(),
            Self::Comment(id) => id.as_str(),
            Self::Offer(id) => id.as_str(),
            Self::Session(id) => id.as_str(),
            Self::FollowUp(id) => id.as_str(),
            Self::Thanks(id) => id.as_str(),
            Self::Duty(id) => id.as_str(),
            Self::Note(id) => id.as_str(),
        }
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Takes a typed id out of a [`RecordId`] of its kind (the record id of another kind is
/// handed back).
macro_rules! record_id_of {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for RecordId {
            fn from(id: $ty) -> Self {
                Self::$variant(id)
            }
        }

        impl TryFrom<RecordId> for $ty {
            type Error = RecordId;
            fn try_from(id: RecordId) -> Result<Self, RecordId> {
                match id {
                    RecordId::$variant(id) => Ok(id),
                    other => Err(other),
                }
            }
        }
    )*};
}

record_id_of!(
    Team(TeamId),
    Member(MemberId),
    Request(RequestId),
    Comment(CommentId),
    Offer(OfferId),
    Session(SessionId),
    FollowUp(FollowUpId),
    Thanks(ThanksId),
    Duty(DutyId),
    Note(crate::notes::NoteId),
);

/// A device's Automerge actor id, as lowercase hex. It is how the document knows which
/// device wrote an operation, and through the member's device list, which person.
///
/// A device writes with a *session actor*: its 32-byte public key, then 8 random bytes
/// that its data dir keeps while its files are the ones that made them (a new boot or a
/// copy of the data dir takes new ones), so that two copies of one device — a laptop
/// restored from a backup while the original still runs — never write the same (actor,
/// sequence number). What the document's readers care about is the device, so an
/// operation's session actor reads as the device's key ([`ActorHex::from`]). Devices
/// from before session actors wrote with one random 16-byte actor for life; those read
/// as they are, and their member's device entry names both that actor and the device's
/// key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActorHex(String);

/// The bytes of a device's public key, which begin a session actor.
pub const DEVICE_KEY_LEN: usize = 32;

/// The bytes of a session actor: the device's key and 8 random bytes.
pub const SESSION_ACTOR_LEN: usize = DEVICE_KEY_LEN + 8;

/// A fresh session actor for the device with this public key.
pub fn session_actor(device_key: &[u8; DEVICE_KEY_LEN], nonce: [u8; 8]) -> automerge::ActorId {
    let mut bytes = Vec::with_capacity(SESSION_ACTOR_LEN);
    bytes.extend_from_slice(device_key);
    bytes.extend_from_slice(&nonce);
    automerge::ActorId::from(bytes)
}

/// The device key a session actor begins with (`None` for an actor of another shape).
pub fn device_key_of(actor: &automerge::ActorId) -> Option<[u8; DEVICE_KEY_LEN]> {
    let bytes = actor.to_bytes();
    (bytes.len() == SESSION_ACTOR_LEN)
        .then(|| bytes[..DEVICE_KEY_LEN].try_into().ok())
        .flatten()
}

impl ActorHex {
    /// How a device reads whose public key this is: the name its session actors read as.
    pub fn of_device(device: &DeviceId) -> Self {
        Self::from_bytes(device.endpoint_id().as_bytes())
    }

    /// The device this actor writes for (a session actor's key; any other as it is).
    pub fn device(&self) -> Self {
        Self::from(&self.to_actor())
    }

    /// From the raw actor bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Self(s)
    }

    /// From a hex string read from the document; `None` when it is not hex.
    pub fn parse(s: &str) -> Option<Self> {
        (!s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(s.to_ascii_lowercase()))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Automerge actor id these bytes name.
    pub fn to_actor(&self) -> automerge::ActorId {
        let bytes: Vec<u8> = (0..self.0.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&self.0[i..i + 2], 16).ok())
            .collect();
        automerge::ActorId::from(bytes)
    }
}

impl From<&automerge::ActorId> for ActorHex {
    /// The device an actor writes for: a session actor's device key, any other actor
    /// as it is.
    fn from(actor: &automerge::ActorId) -> Self {
        let bytes = actor.to_bytes();
        match bytes.len() {
            SESSION_ACTOR_LEN => Self::from_bytes(&bytes[..DEVICE_KEY_LEN]),
            _ => Self::from_bytes(bytes),
        }
    }
}

impl fmt::Display for ActorHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ActorHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Actor({})", self.0.get(..8).unwrap_or(&self.0))
    }
}

/// The shortest id prefix that may pick a record: shorter ones match too much by chance.
pub const MIN_PREFIX_CHARS: usize = 4;

/// The candidates a person's text names, the one rule for every reference typed in the CLI:
/// a whole id names that record alone; otherwise every id the text begins (at least
/// [`MIN_PREFIX_CHARS`] characters), and every candidate whose `name` equals the text
/// (ignoring case), each once, in the candidates' order.
pub fn matching<'a, T>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a T>,
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> Option<&str>,
) -> Vec<&'a T> {
    let lower = typed.trim().to_lowercase();
    let candidates: Vec<&'a T> = candidates.into_iter().collect();
    if let Some(exact) = candidates.iter().find(|c| id(c) == lower) {
        return vec![*exact];
    }
    candidates
        .into_iter()
        .filter(|c| {
            (lower.chars().count() >= MIN_PREFIX_CHARS && id(c).starts_with(&lower))
                || name(c).is_some_and(|n| n.to_lowercase() == lower)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_a_whole_id_a_long_enough_prefix_or_a_name() {
        let people = [
            ("abcd1234", "Ana"),
            ("abcd5678", "Ben"),
            ("ffff0000", "ana"),
        ];
        let pick = |typed: &str| -> Vec<&str> {
            super::matching(typed, &people, |p| p.0, |p| Some(p.1))
                .into_iter()
                .map(|p| p.0)
                .collect()
        };
        assert_eq!(
            pick("abcd1234"),
            ["abcd1234"],
            "a whole id names one record"
        );
        assert_eq!(
            pick("abcd"),
            ["abcd1234", "abcd5678"],
            "a prefix may be ambiguous"
        );
        assert!(pick("abc").is_empty(), "three characters are too few");
        assert_eq!(
            pick("ANA"),
            ["abcd1234", "ffff0000"],
            "names ignore case; two Anas are two"
        );
        assert_eq!(pick(" ffff "), ["ffff0000"]);
        let unnamed: Vec<&str> = super::matching("ana", &people, |p| p.0, |_| None)
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert!(
            unnamed.is_empty(),
            "where names do not count, they do not match"
        );
    }

    #[test]
    fn parses_uuids_and_rejects_others() {
        let id = RequestId::parse("0B6F5C1E-0000-4000-8000-00000000000A").expect("valid");
        assert_eq!(id.as_str(), "0b6f5c1e-0000-4000-8000-00000000000a");
        assert_eq!(id.short(), "0b6f5c1e");
        assert!(RequestId::parse("nope").is_err());
        assert!(RequestId::parse("0b6f5c1e-0000-4000-8000-00000000000").is_err());
        assert!(RequestId::parse("0b6f5c1e_0000-4000-8000-00000000000a").is_err());
    }

    #[test]
    fn actor_hex_round_trips() {
        let actor = automerge::ActorId::from(vec![0xab, 0x01, 0xff]);
        let hex = ActorHex::from(&actor);
        assert_eq!(hex.as_str(), "ab01ff");
        assert_eq!(hex.to_actor(), actor);
        assert_eq!(ActorHex::parse("AB01FF"), Some(hex));
        assert_eq!(ActorHex::parse("abc"), None);
        assert_eq!(ActorHex::parse("zz"), None);
    }

    #[test]
    fn a_session_actor_reads_as_its_device() {
        let device = DeviceId::from_secret_key_bytes(&[9; 32]);
        let key = *device.endpoint_id().as_bytes();
        let one = session_actor(&key, [1; 8]);
        let two = session_actor(&key, [2; 8]);
        assert_ne!(one, two, "two sessions of a device write apart");
        assert_eq!(ActorHex::from(&one), ActorHex::of_device(&device));
        assert_eq!(ActorHex::from(&two), ActorHex::of_device(&device));
        assert_eq!(device_key_of(&one), Some(key));
        let legacy = automerge::ActorId::from(vec![7; 16]);
        assert_eq!(device_key_of(&legacy), None);
        assert_eq!(ActorHex::from(&legacy).as_str(), "07".repeat(16));
        assert_eq!(
            ActorHex::from_bytes(one.to_bytes()).device(),
            ActorHex::of_device(&device)
        );
    }
}
