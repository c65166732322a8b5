//! The team's own settings: its id and name, the schema version, and the team relay.
//!
//! ```text
//! schema_version: Int                                  (crate::schema::SCHEMA_VERSION)
//! team: {id, name, created_ms, relay_url?, relay_token?}
//! ```

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
mod key {
    pub(super) const ID: &str = "id";
    pub(super) const NAME: &str = "name";
    pub(super) const CREATED_MS: &str = "created_ms";
    pub(super) const RELAY_URL: &str = "relay_url";
    pub(super) const RELAY_TOKEN: &str = "relay_token";
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

/// The settings as read: what [`Team`] holds of them.
pub(crate) struct Settings {
    pub(crate) schema_version: i64,
    pub(crate) id: Option<TeamId>,
    pub(crate) name: String,
    pub(crate) relay: Option<TeamRelay>,
}

/// Reads the settings.
pub(crate) fn read<D: ReadDoc>(doc: &D) -> Settings {
    let root = Fields::read(doc, &ROOT);
    let mut settings = Settings {
        schema_version: root.int(SCHEMA_VERSION_KEY).unwrap_or(0),
        id: None,
        name: String::new(),
        relay: None,
    };
    if let Some(team) = root.map(ROOT_KEY) {
        let f = Fields::read(doc, team);
        settings.id = f.str(key::ID).and_then(|s| TeamId::parse(s).ok());
        settings.name = f.text(key::NAME);
        let url = f.text(key::RELAY_URL);
        settings.relay = (!url.is_empty()).then(|| TeamRelay {
            url,
            token: Some(f.text(key::RELAY_TOKEN)).filter(|t| !t.is_empty()),
        });
    }
    settings
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
    Ok(())
}

/// Renames the team.
pub(crate) fn rename(cx: &mut Cx<'_>, name: &str) -> Result<Applied, CommandError> {
    let name = check_name(name)?;
    let obj = cx.w.child(&ROOT, ROOT_KEY)?;
    cx.w.put(&obj, key::NAME, name.as_str())?;
    done(format!("team renamed to {name}"))
}

/// Sets (or, with `None`, clears) the relay the whole team uses.
pub(crate) fn set_relay(
    cx: &mut Cx<'_>,
    url: Option<&str>,
    token: Option<&str>,
) -> Result<Applied, CommandError> {
    let obj = cx.w.child(&ROOT, ROOT_KEY)?;
    match url {
        Some(url) => {
            let url = clean_relay(url).ok_or_else(|| CommandError::InvalidInput {
                field: "relay URL",
                reason: format!(
                    "{url:?} is not a relay URL; give one like https://relay.example.org"
                ),
            })?;
            let token = match token {
                Some(t) => clean_token(t)?,
                None => String::new(),
            };
            cx.w.put(&obj, key::RELAY_URL, url.as_str())?;
            cx.w.put(&obj, key::RELAY_TOKEN, token)?;
            done(format!("the team now uses the relay {url}"))
        }
        None => {
            cx.w.put(&obj, key::RELAY_URL, "")?;
            cx.w.put(&obj, key::RELAY_TOKEN, "")?;
            done("the team uses no relay of its own")
        }
    }
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
