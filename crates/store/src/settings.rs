//! Per-device settings (never synced): which team opened last, network mode, and how the
//! desktop app behaves (the window's own state, such as the theme, is in `window.ron`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How this device reaches teammates: which paths it may use, and so what it reveals to
/// whom (docs/design.md §5, "Connectivity").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// Direct when possible, through a relay otherwise; teammates find the device by its
    /// id alone (the address lookup publishes only its relay URL). The default: it works
    /// behind home routers and firewalls.
    #[default]
    Anywhere,
    /// Direct, or through the team's (or this device's) own relay only: no service of a
    /// third party is asked anything.
    TeamRelay,
    /// Devices on the same local network only (mDNS and direct addresses); nothing leaves
    /// the LAN.
    Local,
    /// 127.0.0.1 only, every external service off (tests, demos).
    Loopback,
}

impl NetworkMode {
    /// Every mode, in the order a person chooses among them.
    pub const ALL: [NetworkMode; 4] = [
        NetworkMode::Anywhere,
        NetworkMode::TeamRelay,
        NetworkMode::Local,
        NetworkMode::Loopback,
    ];

    /// The name on the command line and in `settings.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Anywhere => "anywhere",
            NetworkMode::TeamRelay => "team-relay",
            NetworkMode::Local => "local",
            NetworkMode::Loopback => "loopback",
        }
    }

    /// What a person sees in Settings.
    pub fn title(self) -> &'static str {
        match self {
            NetworkMode::Anywhere => "Anywhere",
            NetworkMode::TeamRelay => "Team relay only",
            NetworkMode::Local => "Local network only",
            NetworkMode::Loopback => "Loopback only",
        }
    }

    /// One line on what the mode reveals, and to whom.
    pub fn reveals(self) -> &'static str {
        match self {
            NetworkMode::Anywhere => {
                "Syncs from home, office or on the road. The relays (your team's if it set any, \
                 with n0's public ones as the last resort; else n0's, with n0's address \
                 lookup) see your device id and IP address, never your data; teammates see \
                 your addresses."
            }
            NetworkMode::TeamRelay => {
                "Only your team's own relays see your device id and IP address (never your \
                 data); no public service is used. Needs a team relay."
            }
            NetworkMode::Local => {
                "Syncs only with teammates on the same network (Wi-Fi or office LAN); nothing \
                 is sent beyond it. Devices on that network can see that peercoach runs here."
            }
            NetworkMode::Loopback => {
                "This computer only (127.0.0.1): for tests and demos; syncs with nobody else."
            }
        }
    }

    /// Parses [`NetworkMode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// This device's network settings (never synced).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "StoredNetwork", into = "StoredNetwork")]
pub struct NetworkSettings {
    /// Which paths this device uses.
    pub mode: NetworkMode,
    /// This device's own relays, in order, overriding the team's (and n0's).
    pub relays: Vec<DeviceRelay>,
    /// Fixed UDP port to listen on (0 = any).
    pub port: u16,
}

/// One of this device's own relays.
pub type DeviceRelay = peercoach_base::Relay;

/// `settings.json`'s network part as any version wrote it. Before modes, a device kept
/// separate switches that all defaulted to off, and wrote them out whenever it saved its
/// port, so every data dir holds `"relays": false`; only `loopback_only` expressed a
/// choice (and so is kept); the other switches are the old defaults and are dropped, so
/// such a device now gets the defaults that work behind a NAT. Before the list of relays,
/// a device kept one (`relay_url`, `relay_token`); the first of the list is still written
/// there, so an older app reads it.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct StoredNetwork {
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<NetworkMode>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    loopback_only: bool,
    relay_url: Option<String>,
    relay_token: Option<String>,
    /// Not `relays`: apps before modes wrote `"relays": false` there.
    #[serde(skip_serializing_if = "Option::is_none")]
    relay_list: Option<Vec<DeviceRelay>>,
    port: u16,
}

impl From<NetworkSettings> for StoredNetwork {
    fn from(n: NetworkSettings) -> Self {
        let first = n.relays.first();
        Self {
            mode: Some(n.mode),
            loopback_only: false,
            relay_url: first.map(|r| r.url.clone()),
            relay_token: first.and_then(|r| r.token.clone()),
            relay_list: Some(n.relays),
            port: n.port,
        }
    }
}

impl From<StoredNetwork> for NetworkSettings {
    fn from(s: StoredNetwork) -> Self {
        let legacy = if s.loopback_only {
            NetworkMode::Loopback
        } else {
            NetworkMode::Anywhere
        };
        Self {
            mode: s.mode.unwrap_or(legacy),
            relays: s.relay_list.unwrap_or_else(|| {
                s.relay_url
                    .map(|url| DeviceRelay {
                        url,
                        token: s.relay_token,
                    })
                    .into_iter()
                    .collect()
            }),
            port: s.port,
        }
    }
}

/// How the desktop app behaves on this device: notifications, and whether it keeps
/// running when its window is closed. Read by the app's window and by the app running in
/// the background alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Kinds of desktop notification turned off (`peercoach_core::alerts::AlertKind`'s
    /// stored names). Every kind is on unless listed.
    pub notifications_off: std::collections::BTreeSet<String>,
    /// Closing the window keeps the device syncing and notifying in the background (the
    /// default); when off, closing the window quits.
    pub keep_running: bool,
    /// Days after a yes with no session before both are asked "Did you meet?".
    pub met_after_days: u32,
    /// Working days an ask waits with no offer before it is raised to the floater (or to
    /// everyone with its skill).
    pub unanswered_after_days: u32,
    /// "Did you meet?" answered "not yet": asked again from then, by offer id.
    pub not_yet: std::collections::BTreeMap<String, i64>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            notifications_off: std::collections::BTreeSet::new(),
            keep_running: true,
            met_after_days: 7,
            unanswered_after_days: 2,
            not_yet: std::collections::BTreeMap::new(),
        }
    }
}

impl Preferences {
    /// Whether notifications of this kind are on.
    pub fn notifies(&self, kind: &str) -> bool {
        !self.notifications_off.contains(kind)
    }
}

/// Everything in `settings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The team opened last.
    pub last_team: Option<String>,
    /// Network.
    pub network: NetworkSettings,
    /// The desktop app's behaviour.
    pub preferences: Preferences,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("settings.json")
}
