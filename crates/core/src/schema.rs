//! The shape of the team document: every key the app reads or writes, in one place.
//!
//! ```text
//! ROOT
//! ├─ schema_version: Int                      (SCHEMA_VERSION)
//! ├─ team:          {id, name, created_ms, relay_url?, relay_token?}
//! ├─ members/<member>: {name, created_ms, removed_ms?, removed_by?, availability,
//! │                     snoozed_until_ms?, skills/<skill>: level, wants/<skill>: Bool,
//! │                     devices/<actor hex>: {endpoint, label, added_ms, addrs, relay?}}
//! ├─ requests/<request>: {author, title, tried, urgency, to?, created_ms,
//! │                       skills/<skill>: Bool, withdrawn_ms?, resolved_ms?,
//! │                       claims/<member>: {at_ms, released_ms?},
//! │                       comments/<comment>: {author, text, at_ms, deleted_ms?}}
//! ├─ offers/<offer>: {from, to, request?, topic, message, created_ms, withdrawn_ms?,
//! │                   responses/<member>: {answer, at_ms}}
//! ├─ sessions/<session>: {coach, coachee, topic, skills/<skill>: Bool, at_ms, minutes,
//! │                       notes, learning, offer?, request?, created_ms, deleted_ms?,
//! │                       followups/<id>: {text, owner, due_ms?, done_ms?, created_ms}}
//! ├─ thanks/<thanks>: {from, to, text, session?, at_ms}
//! ├─ duties/<duty>: {owner, title, notes, created_ms, deleted_ms?,
//! │                  backfills/<member>: {stage, updated_ms}}
//! ├─ rota/<ISO week>|<member>: Bool           (floating that week)
//! └─ coaching_hour: {weekday, start_minute, minutes, note, updated_ms}
//! ```
//!
//! Rules behind the shape (docs/design.md §3): records are nested maps keyed by UUID so that
//! concurrent edits to different fields merge; nothing is ever hard-deleted (`*_ms`
//! tombstones instead); consent and claims live under the speaker's own member key, and
//! every top-level map is created once, at genesis, so no two peers ever create the same
//! map concurrently. Optional values are absent keys or `Null`.

/// The schema this build reads and writes. A document with a larger number holds records
/// a newer app wrote: this one keeps what it does not know, shows the rest, and says so
/// ([`crate::NewerSchema`]). It never stops writing for it (docs/design.md §10): a team
/// never upgrades at once, and any member's device can write any number here.
pub const SCHEMA_VERSION: i64 = 1;

pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";
pub(crate) const TEAM: &str = "team";
pub(crate) const MEMBERS: &str = "members";
pub(crate) const REQUESTS: &str = "requests";
pub(crate) const OFFERS: &str = "offers";
pub(crate) const SESSIONS: &str = "sessions";
pub(crate) const THANKS: &str = "thanks";
pub(crate) const DUTIES: &str = "duties";
pub(crate) const ROTA: &str = "rota";
pub(crate) const COACHING_HOUR: &str = "coaching_hour";

/// The top-level collections, each a map from record id to record.
pub(crate) const COLLECTIONS: [&str; 7] =
    [MEMBERS, REQUESTS, OFFERS, SESSIONS, THANKS, DUTIES, ROTA];

/// Limits on free text, so that one paste cannot bloat every teammate's copy.
pub const MAX_TITLE_CHARS: usize = 200;
/// Limit on longer texts (notes, what I tried, messages).
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Limit on names and skill tags.
pub const MAX_NAME_CHARS: usize = 80;
