//! From what a person chose (a [`NetworkMode`], maybe a relay of their own) and what
//! their teams chose (a team relay in the document) to how the endpoint is bound.
//!
//! The rules, from docs/design.md §5 ("Connectivity"):
//! - *Anywhere* (the default) uses a relay so that two laptops behind home routers meet,
//!   punches holes to go direct, asks the router for a port, and finds teammates on the
//!   LAN by mDNS. The relays are this device's own (settings), else its teams' (the
//!   document), with n0's public ones behind them as the last fallback (taken only while
//!   none of the list answers, see `peercoach_net::Relays`); with no list at all, n0's.
//!   Only with n0's relays alone is n0's address lookup used too: a device's home relay
//!   among n0's can change, and the lookup finds it by id; a team's relays are listed in
//!   the document, every dial tries them all, and every teammate reads each device's home
//!   relay from the member records.
//! - *Team relay only* is the same without any third party: no n0 relay, no n0 lookup.
//! - *Local network only*: mDNS and direct addresses, no relay, no port mapping.
//! - *Loopback only*: 127.0.0.1 and nothing else (tests, demos; also forced by
//!   `PEERCOACH_LOOPBACK=1`).

use std::net::SocketAddr;

use peercoach_core::TeamRelay;
use peercoach_core::records::team_settings::{MAX_TEAM_RELAYS, same_relay};
use peercoach_net::{Fallback, NetConfig, RelaySpec, Relays};
use peercoach_store::{DeviceRelay, NetworkMode, NetworkSettings};

/// Test-only: a PEM file of extra root certificates to trust for relays, so a test's
/// own relay with a self-signed certificate can be reached over TLS (which the relay's
/// QUIC address discovery, and so hole punching, needs). The app never sets it.
pub const TEST_RELAY_CA_ENV: &str = "PEERCOACH_TEST_RELAY_CA";

/// Test-only: a relay URL that stands in for n0's public relays as *Anywhere*'s last
/// fallback, so that a test on a simulated internet can see the fallback taken and left
/// without any packet meant for n0. The app never sets it.
pub const TEST_FALLBACK_RELAY_ENV: &str = "PEERCOACH_TEST_FALLBACK_RELAY";

/// The endpoint's configuration for these settings, and why it is less than asked for
/// when it is (*Team relay only* with no relay known yet).
pub fn net_config(
    secret_key: [u8; 32],
    network: &NetworkSettings,
    team_relays: &[TeamRelay],
    forced_loopback: bool,
    bind: Option<SocketAddr>,
) -> (NetConfig, Option<String>) {
    let mut config = NetConfig::loopback(secret_key);
    config.bind = bind;
    config.port = network.port;
    config.extra_relay_roots_pem = test_relay_roots();
    let mode = effective_mode(network, forced_loopback);
    let own = own_relays(network, team_relays);
    let mut problem = None;
    match mode {
        NetworkMode::Loopback => {}
        NetworkMode::Anywhere => {
            config.loopback_only = false;
            config.address_lookup = own.is_empty();
            config.relays = if own.is_empty() {
                Relays::Public
            } else {
                Relays::Own {
                    list: own,
                    fallback: test_fallback().unwrap_or(Fallback::Public),
                }
            };
            config.lan_discovery = true;
            config.port_mapping = true;
        }
        NetworkMode::TeamRelay => {
            config.loopback_only = false;
            if own.is_empty() {
                problem = Some(NO_TEAM_RELAY.to_owned());
                config.relays = Relays::Off;
            } else {
                config.relays = Relays::Own {
                    list: own,
                    fallback: Fallback::None,
                };
            }
            config.lan_discovery = true;
            config.port_mapping = true;
        }
        NetworkMode::Local => {
            config.loopback_only = false;
            config.lan_discovery = true;
        }
    }
    (config, problem)
}

const NO_TEAM_RELAY: &str = "\"Team relay only\" needs a relay: set one for the team with \
    `peercoach network --team-relay URL`, or for this device with `--relay-url URL`";

/// The mode in force: loopback-only when the environment or `serve --loopback-only`
/// forces it, whatever the settings say.
pub fn effective_mode(network: &NetworkSettings, forced_loopback: bool) -> NetworkMode {
    if forced_loopback {
        NetworkMode::Loopback
    } else {
        network.mode
    }
}

/// This device's own relays if it set any, else every relay its teams list (each once,
/// in order).
fn own_relays(network: &NetworkSettings, team_relays: &[TeamRelay]) -> Vec<RelaySpec> {
    let listed: Vec<&RelaySpec> = if network.relays.is_empty() {
        // A member's typo (a URL the document takes and iroh does not) must not take the
        // others down with it: the endpoint could not be bound with it.
        team_relays
            .iter()
            .filter(|relay| match peercoach_net::parse_relay_url(&relay.url) {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "a team relay is left out");
                    false
                }
            })
            .collect()
    } else {
        network.relays.iter().collect()
    };
    let mut relays: Vec<RelaySpec> = Vec::new();
    for relay in listed {
        if !relays.iter().any(|r| same_relay(&r.url, &relay.url)) {
            relays.push(relay.clone());
        }
    }
    relays
}

/// Why network settings a person gave cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The relay URL is not one iroh can use.
    #[error(transparent)]
    RelayUrl(peercoach_net::NetError),
    /// The token has characters a relay cannot take.
    #[error(transparent)]
    Token(peercoach_core::CommandError),
    /// The same relay twice.
    #[error("the relay {0} is listed twice")]
    Twice(String),
    /// More relays than a device keeps.
    #[error("{0} relays given; a device lists at most {MAX_TEAM_RELAYS}")]
    TooMany(usize),
    /// *Team relay only*, and no relay to use.
    #[error("{NO_TEAM_RELAY}")]
    NoTeamRelay,
}

/// Why new network settings were not put in force (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum NotApplied {
    /// The endpoint could not be bound under them.
    #[error(transparent)]
    Bind(peercoach_net::NetError),
    /// The relay refused this device (its reason, as iroh gives it).
    #[error("{0}; check the relay token (nothing was changed)")]
    RelayRefused(String),
}

/// Checks a device's own relays as a person typed them: every URL one iroh can use and
/// listed once, every token printable, no more than a team may list.
pub fn check_relays(relays: &[DeviceRelay]) -> Result<(), SettingsError> {
    for (i, relay) in relays.iter().enumerate() {
        peercoach_net::parse_relay_url(&relay.url).map_err(SettingsError::RelayUrl)?;
        if relays[..i].iter().any(|r| same_relay(&r.url, &relay.url)) {
            return Err(SettingsError::Twice(relay.url.clone()));
        }
        if let Some(token) = &relay.token {
            peercoach_core::records::team_settings::clean_token(token)
                .map_err(SettingsError::Token)?;
        }
    }
    if relays.len() > MAX_TEAM_RELAYS {
        return Err(SettingsError::TooMany(relays.len()));
    }
    Ok(())
}

/// Checks settings a person typed: the device's relays ([`check_relays`]), and *Team
/// relay only* needs a relay.
pub fn validate(network: &NetworkSettings, team_relays: &[TeamRelay]) -> Result<(), SettingsError> {
    check_relays(&network.relays)?;
    if network.mode == NetworkMode::TeamRelay && own_relays(network, team_relays).is_empty() {
        return Err(SettingsError::NoTeamRelay);
    }
    Ok(())
}

fn test_fallback() -> Option<Fallback> {
    let url = std::env::var(TEST_FALLBACK_RELAY_ENV).ok()?;
    Some(Fallback::These(vec![RelaySpec { url, token: None }]))
}

fn test_relay_roots() -> Option<Vec<u8>> {
    let path = std::env::var_os(TEST_RELAY_CA_ENV)?;
    match std::fs::read(&path) {
        Ok(pem) => Some(pem),
        Err(e) => {
            tracing::warn!(path = ?path, error = %e, "could not read the test relay's certificate");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device_relay(url: &str) -> peercoach_store::DeviceRelay {
        peercoach_store::DeviceRelay {
            url: url.into(),
            token: None,
        }
    }

    fn team_relay(url: &str) -> TeamRelay {
        TeamRelay {
            url: url.into(),
            token: Some("t".into()),
        }
    }

    #[test]
    fn anywhere_is_the_default_and_uses_n0_only_without_a_relay_of_our_own() {
        let n = NetworkSettings::default();
        assert_eq!(n.mode, NetworkMode::Anywhere);
        let (c, problem) = net_config([1; 32], &n, &[], false, None);
        assert_eq!(problem, None);
        assert!(!c.loopback_only && c.lan_discovery && c.port_mapping && c.address_lookup);
        assert_eq!(c.relays, Relays::Public);
        // A team relay replaces n0's relays and n0's lookup.
        let (c, _) = net_config(
            [1; 32],
            &n,
            &[team_relay("https://team.example/")],
            false,
            None,
        );
        assert!(!c.address_lookup);
        assert_eq!(
            c.relays,
            Relays::Own {
                list: vec![RelaySpec {
                    url: "https://team.example/".into(),
                    token: Some("t".into())
                }],
                fallback: Fallback::Public,
            }
        );
        // Every relay of every team, each once, in order.
        let (c, _) = net_config(
            [1; 32],
            &n,
            &[
                team_relay("https://team.example/"),
                team_relay("https://spare.example/"),
                team_relay("https://team.example"),
            ],
            false,
            None,
        );
        assert!(
            matches!(&c.relays, Relays::Own { list, .. } if list.iter().map(|r| r.url.as_str()).collect::<Vec<_>>() == ["https://team.example/", "https://spare.example/"]),
            "{:?}",
            c.relays
        );
        // The device's own relays override the team's.
        let mine = NetworkSettings {
            relays: vec![
                device_relay("https://mine.example/"),
                device_relay("https://mine2.example/"),
            ],
            ..NetworkSettings::default()
        };
        let (c, _) = net_config(
            [1; 32],
            &mine,
            &[team_relay("https://team.example/")],
            false,
            None,
        );
        assert!(
            matches!(&c.relays, Relays::Own { list, fallback: Fallback::Public } if list.len() == 2 && list[0].url == "https://mine.example/")
        );
        // Team relay only: n0's relays are never a fallback.
        let team_only = NetworkSettings {
            mode: NetworkMode::TeamRelay,
            ..mine
        };
        let (c, _) = net_config([1; 32], &team_only, &[], false, None);
        assert!(
            matches!(&c.relays, Relays::Own { list, fallback: Fallback::None } if list.len() == 2)
        );
        assert!(!c.address_lookup);
    }

    #[test]
    fn every_mode_turns_on_only_its_own_paths() {
        let with = |mode| NetworkSettings {
            mode,
            ..NetworkSettings::default()
        };
        let (c, problem) = net_config([1; 32], &with(NetworkMode::TeamRelay), &[], false, None);
        assert!(problem.is_some(), "no relay to use yet");
        assert_eq!(c.relays, Relays::Off);
        assert!(!c.address_lookup);
        let (c, _) = net_config([1; 32], &with(NetworkMode::Local), &[], false, None);
        assert_eq!(c.relays, Relays::Off);
        assert!(c.lan_discovery && !c.port_mapping && !c.address_lookup && !c.loopback_only);
        let (c, _) = net_config([1; 32], &with(NetworkMode::Loopback), &[], false, None);
        assert!(c.loopback_only && !c.lan_discovery && !c.port_mapping && !c.address_lookup);
        // PEERCOACH_LOOPBACK=1 wins over the settings.
        let (c, _) = net_config([1; 32], &with(NetworkMode::Anywhere), &[], true, None);
        assert!(c.loopback_only);
        assert_eq!(c.relays, Relays::Off);
    }

    #[test]
    fn bad_relay_settings_are_refused_with_what_to_do() {
        let bad = |urls: &[&str], token: Option<&str>| NetworkSettings {
            relays: urls
                .iter()
                .map(|url| peercoach_store::DeviceRelay {
                    url: (*url).into(),
                    token: token.map(Into::into),
                })
                .collect(),
            ..NetworkSettings::default()
        };
        for (n, says) in [
            (bad(&["relay.example.org"], None), "https://"),
            (bad(&["https://"], None), "not a URL"),
            (
                bad(&["https://relay.example.org"], Some("two words")),
                "token",
            ),
            (
                bad(
                    &["https://relay.example.org", "https://relay.example.org/"],
                    None,
                ),
                "listed twice",
            ),
        ] {
            let e = validate(&n, &[]).expect_err("refused").to_string();
            assert!(e.contains(says), "{e}");
        }
        let team_only = NetworkSettings {
            mode: NetworkMode::TeamRelay,
            ..NetworkSettings::default()
        };
        assert!(validate(&team_only, &[]).is_err());
        assert!(validate(&team_only, &[team_relay("https://team.example/")]).is_ok());
    }
}
