//! The team's own settings: its id and name, the schema version, and the team's relays.
//!
//! ```text
//! schema_version: Int                                  (crate::schema::SCHEMA_VERSION)
//! team: {id, name, created_ms, relay_url?, relay_token?,
//!        relays?: {<url>: {token, added_ms, removed_ms?}}, relays_first?}
//! ```
//!
//! Who may write: any current member (the sync layer lets only their devices' signed
//! changes in). No field here speaks for a person: a relay sees only ciphertext, so the
//! worst a member's rogue device can do is list a relay that does not work, which the
//! other relays and direct paths outlast.
//!
//! A team keeps a list of relays (`relays`, keyed by URL so that two members who each add
//! one at once keep both). Nothing in the team document is ever deleted (the sync rules
//! refuse a change that deletes): a removed relay keeps its entry, with `removed_ms` set,
//! and adding it again clears that. Apps older than the list read only `relay_url`/`relay_token`,
//! so every write of the list also puts its first relay there, and the same URL in
//! `relays_first` (one change writes both, so two such writes at once leave the two
//! keys from the same one). A `relay_url` that differs from `relays_first` was set by an
//! older app, and is read as the list's first.

use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, transaction::Transactable};
use serde::{Deserialize, Serialize};

use super::{Cx, clean_text, done};
use crate::command::{Applied, CommandError};
use crate::fields::{Fields, get_map};
use crate::ids::TeamId;
use crate::model::Team;
use crate::schema::MAX_NAME_CHARS;

/// The root key of the schema version.
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";
/// The root key of the team's settings.
pub(crate) const ROOT_KEY: &str = "team";

/// The document keys of the team's settings.
pub(crate) mod key {
    pub(super) const ID: &str = "id";
    pub(super) const NAME: &str = "name";
    pub(super) const CREATED_MS: &str = "created_ms";
    pub(super) const RELAY_URL: &str = "relay_url";
    pub(super) const RELAY_TOKEN: &str = "relay_token";
    pub(crate) const RELAYS: &str = "relays";
    pub(super) const TOKEN: &str = "token";
    pub(super) const ADDED_MS: &str = "added_ms";
    pub(super) const REMOVED_MS: &str = "removed_ms";
    pub(super) const RELAYS_FIRST: &str = "relays_first";
}

/// The most relays a team lists: a few spares are plenty, and every device keeps a
/// connection to its home relay and probes the others.
pub const MAX_TEAM_RELAYS: usize = 8;

/// A self-hosted iroh relay that the whole team uses (docs/design.md §5, "team relay"). It
/// stores nothing and sees only ciphertext; the token, if any, is what it asks of its
/// clients, so it travels only to members, inside the document.
pub type TeamRelay = peercoach_base::Relay;

/// The settings as read: what [`Team`] holds of them.
pub(crate) struct Settings {
    pub(crate) schema_version: i64,
    pub(crate) id: Option<TeamId>,
    pub(crate) name: String,
    pub(crate) relays: Vec<TeamRelay>,
}

/// Reads the settings.
pub(crate) fn read<D: ReadDoc>(doc: &D) -> Settings {
    let root = Fields::read(doc, &ROOT);
    let mut settings = Settings {
        schema_version: root.int(SCHEMA_VERSION_KEY).unwrap_or(0),
        id: None,
        name: String::new(),
        relays: Vec::new(),
    };
    if let Some(team) = root.map(ROOT_KEY) {
        let f = Fields::read(doc, team);
        settings.id = f.str(key::ID).and_then(|s| TeamId::parse(s).ok());
        settings.name = f.text(key::NAME);
        settings.relays = read_relays(doc, &f);
    }
    settings
}

/// The list in the order the relays were added (then by URL), the older apps' one first
/// when it is not in the list.
fn read_relays<D: ReadDoc>(doc: &D, team: &Fields) -> Vec<TeamRelay> {
    let mut listed: Vec<(i64, TeamRelay)> = Vec::new();
    if let Some(map) = team.map(key::RELAYS) {
        let entries = Fields::read(doc, map);
        for (url, _) in entries.iter() {
            let (Some(entry), Some(url)) = (entries.map(url), clean_relay(url)) else {
                continue;
            };
            let e = Fields::read(doc, entry);
            if e.int(key::REMOVED_MS).unwrap_or(0) > 0 {
                continue;
            }
            let token = Some(e.text(key::TOKEN)).filter(|t| clean_token(t).is_ok());
            listed.push((e.int(key::ADDED_MS).unwrap_or(0), TeamRelay { url, token }));
        }
    }
    listed.sort_by(|(a, r), (b, s)| a.cmp(b).then_with(|| r.url.cmp(&s.url)));
    let mut relays: Vec<TeamRelay> = Vec::new();
    // One relay spelled two ways (two members adding it at once) is listed once.
    for (_, relay) in listed {
        if !relays.iter().any(|r| same_relay(&r.url, &relay.url)) {
            relays.push(relay);
        }
    }
    if let Some(url) = clean_relay(&team.text(key::RELAY_URL))
        && url != team.text(key::RELAYS_FIRST)
        && !relays.iter().any(|r| same_relay(&r.url, &url))
    {
        let token = Some(team.text(key::RELAY_TOKEN)).filter(|t| clean_token(t).is_ok());
        relays.insert(0, TeamRelay { url, token });
    }
    relays.truncate(MAX_TEAM_RELAYS);
    relays
}

/// The team id stored in a document, read without building the whole view.
pub(crate) fn id_of<D: ReadDoc>(doc: &D) -> Option<TeamId> {
    let team = get_map(doc, &ROOT, ROOT_KEY)?;
    Fields::read(doc, &team)
        .str(key::ID)
        .and_then(|s| TeamId::parse(s).ok())
}

/// A team name's limits.
pub(crate) fn check_name(name: &str) -> Result<String, CommandError> {
    clean_text("team name", name, MAX_NAME_CHARS, true)
}

/// Writes a new team's settings (at genesis).
pub(crate) fn write_genesis(
    doc: &mut AutoCommit,
    schema_version: i64,
    id: &TeamId,
    name: &str,
    now_ms: i64,
) -> Result<(), CommandError> {
    doc.put(ROOT, SCHEMA_VERSION_KEY, schema_version)?;
    let team = doc.put_object(ROOT, ROOT_KEY, ObjType::Map)?;
    doc.put(&team, key::ID, id.as_str())?;
    doc.put(&team, key::NAME, name)?;
    doc.put(&team, key::CREATED_MS, now_ms)?;
    // Made here, once: two members' first relays would otherwise each make the map, and
    // only one map would be kept.
    doc.put_object(&team, key::RELAYS, ObjType::Map)?;
    Ok(())
}

/// Renames the team.
pub(crate) fn rename(cx: &mut Cx<'_>, name: &str) -> Result<Applied, CommandError> {
    let name = check_name(name)?;
    let obj = cx.w.child(&ROOT, ROOT_KEY)?;
    cx.w.put(&obj, key::NAME, name.as_str())?;
    done(format!("team renamed to {name}"))
}

/// Makes the team's relays exactly `relays` (none: the team has no relay of its own):
/// relays not listed are removed, new ones added, changed tokens written. Refused, with
/// nothing written, when a URL is malformed or listed twice, a token is not one, or the
/// list is longer than [`MAX_TEAM_RELAYS`].
pub(crate) fn set_relays(cx: &mut Cx<'_>, relays: &[TeamRelay]) -> Result<Applied, CommandError> {
    let relays = check_relays(relays)?;
    let obj = cx.w.child(&ROOT, ROOT_KEY)?;
    let map = super::map_or_new(&mut cx.w, &obj, key::RELAYS)?;
    let before = cx.team.relays.clone();
    for old in &before {
        if !relays.iter().any(|r| r.url == old.url)
            && let Some(entry) = get_map(cx.w.doc, &map, &old.url)
        {
            cx.w.put(&entry, key::REMOVED_MS, cx.now_ms.max(1))?;
        }
    }
    // The list's order is each entry's `added_ms`: when the relays kept are given in
    // another order than they are listed, every entry takes its place anew.
    let kept: Vec<&str> = relays
        .iter()
        .filter(|r| before.iter().any(|b| b.url == r.url))
        .map(|r| r.url.as_str())
        .collect();
    let listed: Vec<&str> = before
        .iter()
        .filter(|b| relays.iter().any(|r| r.url == b.url))
        .map(|b| b.url.as_str())
        .collect();
    let reordered = kept != listed;
    for (i, relay) in relays.iter().enumerate() {
        let token = relay.token.clone().unwrap_or_default();
        let added_ms = cx.now_ms + i as i64;
        match get_map(cx.w.doc, &map, &relay.url) {
            Some(entry) => {
                let e = Fields::read(cx.w.doc, &entry);
                if e.int(key::REMOVED_MS).unwrap_or(0) > 0 {
                    // Added again: back in the list.
                    cx.w.put(&entry, key::REMOVED_MS, 0)?;
                    cx.w.put(&entry, key::ADDED_MS, added_ms)?;
                } else if reordered {
                    cx.w.put(&entry, key::ADDED_MS, added_ms)?;
                }
                if e.text(key::TOKEN) != token {
                    cx.w.put(&entry, key::TOKEN, token)?;
                }
            }
            None => {
                let entry = cx.w.new_map(&map, &relay.url)?;
                cx.w.put(&entry, key::TOKEN, token)?;
                cx.w.put(&entry, key::ADDED_MS, added_ms)?;
            }
        }
    }
    // What apps older than the list read: its first relay.
    let first = relays.first();
    let first_url = first.map(|r| r.url.as_str()).unwrap_or("");
    cx.w.put(&obj, key::RELAY_URL, first_url)?;
    cx.w.put(&obj, key::RELAYS_FIRST, first_url)?;
    cx.w.put(
        &obj,
        key::RELAY_TOKEN,
        first.and_then(|r| r.token.as_deref()).unwrap_or(""),
    )?;
    match relays.as_slice() {
        [] => done("the team uses no relay of its own"),
        [one] => done(format!("the team now uses the relay {}", one.url)),
        many => done(format!(
            "the team now uses {} relays: {}",
            many.len(),
            many.iter()
                .map(|r| r.url.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Adds one relay at the end of the list: the rest stay as they are, tokens included. A
/// relay listed already takes the token given (a new token after a member left); the
/// same relay with the same token is refused, as nothing would change.
pub(crate) fn add_relay(cx: &mut Cx<'_>, relay: TeamRelay) -> Result<Applied, CommandError> {
    let mut relays = cx.team.relays.clone();
    match relays.iter_mut().find(|r| same_relay(&r.url, &relay.url)) {
        Some(listed) if listed.token == relay.token => {
            return Err(CommandError::InvalidInput {
                field: "relay URL",
                reason: format!("{} is in the team's list already", relay.url),
            });
        }
        Some(listed) => {
            listed.token = relay.token;
            let summary = match &listed.token {
                Some(_) => format!("the team's relay {} has a new token", listed.url),
                None => format!("the team's relay {} has no token now", listed.url),
            };
            set_relays(cx, &relays)?;
            return done(summary);
        }
        None => relays.push(relay),
    }
    set_relays(cx, &relays)
}

/// Removes one relay from the list: the rest stay as they are.
pub(crate) fn remove_relay(cx: &mut Cx<'_>, url: &str) -> Result<Applied, CommandError> {
    let before = cx.team.relays.clone();
    let relays: Vec<TeamRelay> = before
        .iter()
        .filter(|r| !same_relay(&r.url, url))
        .cloned()
        .collect();
    if relays.len() == before.len() {
        return Err(CommandError::InvalidInput {
            field: "relay URL",
            reason: format!("{url} is not in the team's list"),
        });
    }
    set_relays(cx, &relays)
}

/// A list of relays as it may be stored: every URL and token clean, no URL twice, at
/// most [`MAX_TEAM_RELAYS`].
pub fn check_relays(relays: &[TeamRelay]) -> Result<Vec<TeamRelay>, CommandError> {
    if relays.len() > MAX_TEAM_RELAYS {
        return Err(CommandError::InvalidInput {
            field: "relays",
            reason: format!(
                "{} relays given; a team lists at most {MAX_TEAM_RELAYS}",
                relays.len()
            ),
        });
    }
    let mut clean: Vec<TeamRelay> = Vec::with_capacity(relays.len());
    for relay in relays {
        let url = clean_relay(&relay.url).ok_or_else(|| CommandError::InvalidInput {
            field: "relay URL",
            reason: format!(
                "{:?} is not a relay URL; give one like https://relay.example.org",
                relay.url
            ),
        })?;
        if clean.iter().any(|r| same_relay(&r.url, &url)) {
            return Err(CommandError::InvalidInput {
                field: "relay URL",
                reason: format!("{url} is listed twice"),
            });
        }
        let token = relay.token.as_deref().map(clean_token).transpose()?;
        clean.push(TeamRelay { url, token });
    }
    Ok(clean)
}

/// Whether two relay URLs name the same relay (`https://r.example` and
/// `https://r.example/` do).
pub fn same_relay(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
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

/// The team in the JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

impl TeamOut {
    /// The team's header as exported.
    pub(crate) fn of(team: &Team) -> Self {
        Self {
            id: team
                .id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            name: team.name.clone(),
        }
    }
}
