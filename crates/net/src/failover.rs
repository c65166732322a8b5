//! Moving off a relay that stopped answering, and n0's relays as the last resort.
//!
//! With several relays in its map, iroh picks a home relay by latency in its net
//! reports, which it runs every 20–26 s. A home relay that stops (its machine switched
//! off or rebooted) would leave the device unreachable, except over direct paths, until
//! the next one. The watch below notices within [`NOTICE`] that the home relay is down
//! and asks for a fresh report at once (a change to the relay map makes iroh run one);
//! the report leaves out relays that do not answer, so the best one that does becomes
//! home. A device whose home relay changed tells the node ([`crate::Net::addr_changed`]
//! fires), which publishes it and reconnects to its teammates over every relay it knows.
//!
//! With a fallback (*Anywhere* with relays of the team's or the device's own: n0's public
//! relays), the fallback relays join the map once none of the list has answered for
//! [`FALLBACK_AFTER`], and leave it when one of the list answers again: they stay behind
//! the team's.
//!
//! The watch also keeps what `status` says: which relays answered the latest report.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iroh::{Endpoint, RelayConfig, RelayUrl, Watcher};
use tokio::sync::watch;

/// How long the home relay may be down before a new one is looked for: long enough to
/// ride out a reconnect to a relay that is only restarting its connection.
pub(crate) const NOTICE: Duration = Duration::from_millis(1500);
/// How often a fresh report is asked for while no relay is home.
const RENUDGE: Duration = Duration::from_secs(5);
/// How long none of the list may answer before n0's relays are taken.
pub(crate) const FALLBACK_AFTER: Duration = Duration::from_secs(15);
/// How often the watch looks.
const TICK: Duration = Duration::from_millis(500);

/// One relay of the device's map, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayNow {
    /// Its URL.
    pub url: String,
    /// This device's home relay: where teammates reach it.
    pub home: bool,
    /// It answered the latest net report (`None`: no report yet).
    pub answers: Option<bool>,
    /// A fallback relay (n0's), taken because none of the list answered.
    pub fallback: bool,
    /// It refused this device (a wrong or missing token): left out until the endpoint is
    /// bound again (new settings or a new list).
    pub refused: Option<String>,
}

/// What the watch learned, shared with [`crate::Net`].
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// The endpoint's relay map: the list, then n0's relays while they are taken.
    map: Mutex<Vec<Arc<RelayConfig>>>,
    /// The URLs that answered the latest net report.
    answered: Mutex<Option<BTreeSet<RelayUrl>>>,
    /// n0's relays are in the map now.
    fallback: Mutex<BTreeSet<RelayUrl>>,
    /// Relays that refused this device, with why; taken out of the map.
    refused: Mutex<Vec<(RelayUrl, String)>>,
    /// Dials try only the relays of the map (*Team relay only*): a teammate's published
    /// relay outside it (n0's, taken as its fallback) is not one this device may use.
    only_listed: bool,
}

impl Seen {
    /// Starts with the relays the endpoint was bound with.
    pub(crate) fn new(map: Vec<Arc<RelayConfig>>, only_listed: bool) -> Self {
        Self {
            map: Mutex::new(map),
            only_listed,
            ..Self::default()
        }
    }

    /// Whether a dial may try `url`, a relay a teammate published.
    pub(crate) fn may_dial(&self, url: &RelayUrl) -> bool {
        !self.only_listed || self.urls().contains(url)
    }

    /// Whether `url` is one of the fallback relays taken now.
    pub(crate) fn is_fallback(&self, url: &RelayUrl) -> bool {
        self.fallback
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(url)
    }

    /// The URLs of the endpoint's relay map now.
    pub(crate) fn urls(&self) -> Vec<RelayUrl> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|c| c.url.clone())
            .collect()
    }

    fn config(&self, url: &RelayUrl) -> Option<Arc<RelayConfig>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|c| &c.url == url)
            .cloned()
    }

    /// Every relay in the map with whether it answers, home first.
    pub(crate) fn relays(&self, endpoint: &Endpoint) -> Vec<RelayNow> {
        let home: BTreeSet<RelayUrl> = endpoint
            .home_relay_status()
            .get()
            .iter()
            .map(|r| r.url().clone())
            .collect();
        let answered = self.answered.lock().unwrap_or_else(|p| p.into_inner());
        let fallback = self.fallback.lock().unwrap_or_else(|p| p.into_inner());
        let mut relays: Vec<RelayNow> = self
            .urls()
            .into_iter()
            .map(|url| RelayNow {
                home: home.contains(&url),
                answers: answered.as_ref().map(|a| a.contains(&url)),
                fallback: fallback.contains(&url),
                refused: None,
                url: url.to_string(),
            })
            .collect();
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        relays.extend(refused.iter().map(|(url, why)| RelayNow {
            url: url.to_string(),
            home: false,
            answers: Some(false),
            fallback: false,
            refused: Some(why.clone()),
        }));
        relays.sort_by_key(|r| !r.home);
        relays
    }
}

/// Watches the home relay of `endpoint` until `shutdown`. The relays it was bound with
/// (in `seen`) are the device's own list: the team's relays, or its own.
pub(crate) async fn watch(
    endpoint: Endpoint,
    fallback: Vec<Arc<RelayConfig>>,
    seen: Arc<Seen>,
    mut shutdown: watch::Receiver<bool>,
) {
    let listed = seen.urls();
    let mut down_since: Option<Instant> = None;
    let mut last_nudge: Option<Instant> = None;
    let mut home = endpoint.home_relay_status();
    let mut report = endpoint.net_report();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() || endpoint.is_closed() {
            return;
        }
        if let Some(r) = report.get() {
            let answered: BTreeSet<RelayUrl> = r
                .relay_latency
                .iter()
                .map(|(_, url, _)| url.clone())
                .collect();
            *seen.answered.lock().unwrap_or_else(|p| p.into_inner()) = Some(answered);
        }
        let now = Instant::now();
        // A relay that refuses this device (its token) would otherwise stay home, or
        // win again at the next report: it leaves the map, and another is looked for.
        let refusing: Vec<(RelayUrl, String)> = home
            .get()
            .iter()
            .filter_map(|r| {
                r.auth_denied_reason()
                    .map(|why| (r.url().clone(), why.to_string()))
            })
            .collect();
        for (url, why) in refusing {
            let listed = seen.urls();
            if listed.len() > 1 && listed.contains(&url) {
                tracing::warn!(relay = %url, reason = %why, "the relay refused this device: leaving it out");
                endpoint.remove_relay(&url).await;
                seen.map
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .retain(|c| c.url != url);
                seen.refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((url, why));
                last_nudge = Some(now);
            }
        }
        let home_up = home.get().iter().any(|r| r.is_connected());
        if home_up {
            down_since = None;
        } else {
            down_since.get_or_insert(now);
        }
        let down_for = down_since.map(|since| now - since).unwrap_or_default();
        let list_answers = seen
            .answered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|a| listed.iter().any(|url| a.contains(url)));
        let fallback_on = !seen
            .fallback
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if !fallback.is_empty() && !fallback_on && down_for >= FALLBACK_AFTER && !list_answers {
            tracing::warn!(
                fallback = ?fallback.iter().map(|c| c.url.to_string()).collect::<Vec<_>>(),
                "none of this device's relays has answered for {} s: taking the fallback \
                 relays until one does",
                FALLBACK_AFTER.as_secs()
            );
            let mut taken = BTreeSet::new();
            for config in fallback.iter().cloned() {
                endpoint
                    .insert_relay(config.url.clone(), config.clone())
                    .await;
                taken.insert(config.url.clone());
                seen.map
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(config);
            }
            *seen.fallback.lock().unwrap_or_else(|p| p.into_inner()) = taken;
            last_nudge = Some(now);
            continue;
        }
        if fallback_on && list_answers {
            tracing::info!(
                "one of this device's relays answers again: leaving the fallback relays"
            );
            let taken =
                std::mem::take(&mut *seen.fallback.lock().unwrap_or_else(|p| p.into_inner()));
            for url in &taken {
                endpoint.remove_relay(url).await;
            }
            seen.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|c| !taken.contains(&c.url));
            last_nudge = Some(now);
            continue;
        }
        let nudge_due = last_nudge.is_none_or(|at| now - at >= RENUDGE);
        if down_for >= NOTICE && nudge_due {
            // Putting a relay's own configuration back changes nothing in the map, but
            // iroh takes it as a change and runs a net report at once.
            let in_map = seen.urls();
            if let Some(url) = listed.iter().find(|u| in_map.contains(u))
                && let Some(config) = seen.config(url)
            {
                tracing::info!(
                    down_ms = down_for.as_millis() as u64,
                    "the home relay does not answer: looking for another"
                );
                endpoint.insert_relay(url.clone(), config).await;
                last_nudge = Some(now);
            }
        }
    }
}
