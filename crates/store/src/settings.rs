//! Per-device settings (never synced): which team opened last, network mode, theme.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How this device reaches teammates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkSettings {
    /// Bind 127.0.0.1 only, with no relays, discovery or port mapping (tests, demos).
    pub loopback_only: bool,
    /// Find teammates on the local network with mDNS.
    pub lan_discovery: bool,
    /// Use relays to get through NATs and firewalls.
    pub relays: bool,
    /// A self-hosted relay; `None` with `relays` means n0's public relays.
    pub relay_url: Option<String>,
    /// Ask the router to forward a port (UPnP / NAT-PMP / PCP).
    pub port_mapping: bool,
    /// Fixed UDP port to listen on (0 = any).
    pub port: u16,
}

/// Light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Theme {
    /// Dark.
    #[default]
    Dark,
    /// Light.
    Light,
}

/// Everything in `settings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The team opened last.
    pub last_team: Option<String>,
    /// Network.
    pub network: NetworkSettings,
    /// Theme.
    pub theme: Theme,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("settings.json")
}
