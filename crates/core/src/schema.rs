//! The shape of the team document. Each record's keys are spelled in its own module
//! (see [`crate::records`], whose module docs draw each part of this tree):
//!
//! ```text
//! ROOT
//! ├─ schema_version: Int                      (SCHEMA_VERSION; records::team_settings)
//! ├─ team:          {id, name, created_ms, relay_url?, relay_token?, relays, relays_first?}   (team_settings)
//! ├─ members/<member>: {…, devices/<actor hex>: {…}}                   (member)
//! ├─ requests/<request>: {…, claims/<member>: {…}, comments/<comment>: {…}} (request)
//! ├─ offers/<offer>: {…, responses/<member>: {…}, meet/<member>: {…}}   (offer, meet)
//! ├─ sessions/<session>: {…, followups/<id>: {…}}                      (session, followup)
//! ├─ thanks/<thanks>: {…}                                              (thanks)
//! ├─ duties/<duty>: {…, backfills/<member>: {…}}                       (duty)
//! ├─ rota/<ISO week>|<member>: Bool                                    (rota)
//! └─ coaching_hour/<setting>: {weekday, start_minute, minutes, note, updated_ms,
//!                              zone?, zone_offset_ms?, revision}         (coaching_hour)
//! ```
//!
//! The collections' root keys are spelled once, in [`crate::touched::Collection::key`].
//! Private notes are a second document per member ([`crate::records::note`]).
//!
//! Rules behind the shape (docs/design.md §3): records are nested maps keyed by UUID so that
//! concurrent edits to different fields merge; nothing is ever hard-deleted (`*_ms`
//! tombstones instead); consent and claims live under the speaker's own member key, and
//! every top-level map is created once, at genesis, so no two peers ever create the same
//! map concurrently. Optional values are absent keys or `Null`. Keys and record kinds this
//! build does not know are left as they are (docs/design.md §10).

/// The schema this build reads and writes. A document with a larger number holds records
/// a newer app wrote: this one keeps what it does not know, shows the rest, and says so
/// ([`crate::NewerSchema`]). It never stops writing for it (docs/design.md §10): a team
/// never upgrades at once, and any member's device can write any number here.
pub const SCHEMA_VERSION: i64 = 1;

/// Whether writing over the value at `key` (in the root map when `at_root`) would
/// replace part of the document's shape that the records hang from: a collection, the
/// team header, the coaching hour, a member's removal votes, the team's relays. Each is
/// created once (the votes map by the first vote; the relays at genesis, or by the first
/// relay in a team older than the list) and never written over by this app, so a change that
/// does is refused on receive: Automerge keeps no value written over, and no reader
/// could count the votes or records it hid.
pub fn is_fixed(at_root: bool, key: &str) -> bool {
    use crate::records::{coaching_hour, member, team_settings};
    use crate::touched::Collection;
    if at_root {
        key == team_settings::ROOT_KEY
            || key == coaching_hour::ROOT_KEY
            || Collection::ALL.iter().any(|c| c.key() == key)
    } else {
        key == member::VOTES_KEY || key == team_settings::key::RELAYS
    }
}

/// Limits on free text, so that one paste cannot bloat every teammate's copy.
pub const MAX_TITLE_CHARS: usize = 200;
/// Limit on longer texts (notes, what I tried, messages).
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Limit on names and skill tags.
pub const MAX_NAME_CHARS: usize = 80;
