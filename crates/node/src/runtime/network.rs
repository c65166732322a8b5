//! The network side of the actor: which endpoint configuration the settings and the
//! teams' relays call for, binding again when that changes, this device's addresses in
//! its member records, and which devices it may talk to.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use peercoach_core::{Command, TeamId};
use peercoach_net::NetConfig;
use peercoach_store::NetworkSettings;
use tokio::sync::oneshot;

use super::{Actor, ApiResult, Msg, NodeEvent, reply};
use crate::access::{self, TeamView};
use crate::api::Reply;
use crate::connect::NotApplied;
use crate::engine::EngineError;
use crate::sync::Input;

/// How long a new relay of this device's own gets to accept it before its settings are
/// taken (a relay that refuses the token is refused here, and nothing changes).
const RELAY_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(8);

impl Actor {
    /// Every relay this device's teams list for themselves.
    pub(super) fn team_relays(&mut self) -> Vec<peercoach_core::TeamRelay> {
        self.engine
            .teams_mut()
            .flat_map(|(_, open)| open.doc.team().relays.clone())
            .collect()
    }

    /// The endpoint's configuration for the saved settings and the teams' relays.
    pub(super) fn wanted_config(
        &mut self,
        network: &NetworkSettings,
    ) -> (NetConfig, Option<String>) {
        let relays = self.team_relays();
        crate::connect::net_config(
            self.engine.identity().secret_key,
            network,
            &relays,
            self.forced_loopback,
            self.bind,
        )
    }

    /// Why the network is less than the settings ask, if it is.
    pub(super) fn net_problem(&mut self) -> Option<String> {
        let network = self.engine.settings().network.clone();
        self.wanted_config(&network).1
    }

    /// Binds again when a team's relay, set in its document by any member, changes what
    /// this device should use.
    pub(super) fn follow_team_relays(&mut self) {
        if self.rebinding {
            return;
        }
        let network = self.engine.settings().network.clone();
        let (config, _) = self.wanted_config(&network);
        if config != self.net_config && self.failed_config.as_ref() != Some(&config) {
            tracing::info!(relays = ?config.relays, "the team's relays changed; binding again");
            self.rebind(config, None);
        }
    }

    /// `network` with new settings: checked, put in force (binding again if the paths
    /// change), and saved only once they work. A relay that refuses this device changes
    /// nothing.
    pub(super) fn change_network(
        &mut self,
        network: NetworkSettings,
        to: oneshot::Sender<ApiResult>,
    ) {
        let relays = self.team_relays();
        if let Err(e) = crate::connect::validate(&network, &relays) {
            reply(to, Err(e.into()), Vec::new());
            return;
        }
        let (config, _) = self.wanted_config(&network);
        if config == self.net_config {
            let result = self.save_network(network);
            let warnings = self.engine.take_warnings();
            reply(to, result, warnings);
        } else if self.rebinding {
            reply(to, Err(EngineError::Rebinding), Vec::new());
        } else {
            self.rebind(config, Some((network, to)));
        }
    }

    /// Binds the endpoint again under `config`, off the actor's thread; the outcome
    /// comes back as [`Msg::Rebound`].
    pub(super) fn rebind(
        &mut self,
        config: NetConfig,
        asked: Option<(NetworkSettings, oneshot::Sender<ApiResult>)>,
    ) {
        self.rebinding = true;
        self.rebinding_to = Some(config.clone());
        let net = self.net.clone();
        let previous = self.net_config.clone();
        let tx = self.tx.clone();
        let check_relay =
            asked.is_some() && matches!(config.relays, peercoach_net::Relays::Own { .. });
        self.rt.spawn(async move {
            let mut result = net
                .rebind(&config, &previous)
                .await
                .map_err(NotApplied::Bind);
            if result.is_ok() && check_relay && !net.wait_for_relay(RELAY_CHECK_WAIT).await {
                // Only a refusal undoes the change: a relay that is merely down now (or a
                // laptop offline) may well work later.
                if let Some(refused) = net.relay_refusal() {
                    result = Err(NotApplied::RelayRefused(refused));
                    if let Err(e) = net.rebind(&previous, &config).await {
                        tracing::warn!(error = %e, "could not bind the previous settings again");
                    }
                }
            }
            let config = if result.is_ok() { config } else { previous };
            let rebound = Msg::Rebound {
                config: Box::new(config),
                result,
                asked,
            };
            if let Some(tx) = tx.upgrade()
                && let Err(tokio::sync::mpsc::error::SendError(Msg::Rebound {
                    asked: Some((_, to)),
                    ..
                })) = tx.send(rebound)
            {
                reply(to, Err(EngineError::Stopped), Vec::new());
            }
        });
    }

    pub(super) fn rebound(
        &mut self,
        config: NetConfig,
        result: Result<(), NotApplied>,
        asked: Option<(NetworkSettings, oneshot::Sender<ApiResult>)>,
    ) {
        self.rebinding = false;
        self.net_config = config;
        let tried = self.rebinding_to.take();
        if let Err(e) = &result {
            tracing::warn!(error = %e, "the network settings were not applied");
            self.failed_config = tried;
        } else {
            self.failed_config = None;
        }
        if let Some((network, to)) = asked {
            let result = match result {
                Ok(()) => self.save_network(network),
                Err(e) => Err(e.into()),
            };
            let mut warnings = self.engine.take_warnings();
            if result.is_ok()
                && let Some(problem) = self.net.relay_problem()
            {
                warnings.push(format!("saved, but {problem}"));
            }
            reply(to, result, warnings);
        }
        self.publish_addrs();
        // Settings or teams may have changed while the endpoint was bound again.
        self.follow_team_relays();
        if !self.rebinding {
            for (invite, to) in std::mem::take(&mut self.invites_after_rebind) {
                self.api(invite, to);
            }
        }
        self.notify(NodeEvent::Sync);
    }

    /// Saves network settings (through the engine, which checks them and keeps them).
    pub(super) fn save_network(&mut self, network: NetworkSettings) -> Result<Reply, EngineError> {
        self.engine
            .handle(crate::api::Request::Network { set: Some(network) })
    }

    /// What to tell the person who made an invite when it carries no relay.
    pub(super) fn no_relay_warning(&self) -> Option<String> {
        (self.net.uses_relays() && self.net.relay_url().is_none()).then(|| {
            let why = self
                .net
                .relay_problem()
                .unwrap_or_else(|| "no relay answered yet".into());
            format!(
                "this invite carries no relay ({why}): it works only for a device that can \
                 reach this one directly, as on the same network"
            )
        })
    }

    /// The endpoint's addresses or relay changed. When an address went away, the laptop
    /// most likely moved to another network: a teammate still sends to the old one (its
    /// direct path looks alive to it until it times out, ~15 s), so the connections are
    /// made again at once, over the relay and the new addresses. When the home relay
    /// moved (the old one stopped answering), the connections through it are dead: they
    /// are made again, and a new dial tries every relay. Then the new addresses are
    /// published.
    pub(super) fn addrs_changed(&mut self) {
        let now: BTreeSet<SocketAddr> = self.net.direct_addrs().into_iter().collect();
        let lost = self.last_addrs.iter().any(|a| !now.contains(a));
        let relay = self.net.relay_url();
        let relay_moved =
            matches!((&self.last_relay, &relay), (Some(was), Some(now)) if was != now);
        if lost && !now.is_empty() {
            tracing::info!(was = ?self.last_addrs, now = ?now, "an address went away: reconnecting to teammates");
            self.net.drop_connections();
        } else if relay_moved && let Some(was) = &self.last_relay {
            tracing::info!(was = ?self.last_relay, now = ?relay, "the home relay moved: reconnecting to teammates reached through it");
            self.net.drop_connections_via(was);
        }
        if relay.is_some() {
            self.last_relay = relay;
        }
        self.last_addrs = now;
        self.publish_addrs();
    }

    /// Writes this device's current addresses into each team where they changed.
    pub(super) fn publish_addrs(&mut self) {
        let mut addrs: Vec<String> = self
            .net
            .direct_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        addrs.sort();
        let relay = self.net.relay_url();
        let teams: Vec<TeamId> = self.engine.teams_mut().map(|(id, _)| id.clone()).collect();
        let actor = self.engine.identity().actor_hex();
        let mut changed = false;
        for team in teams {
            let Ok(open) = self.engine.open_team(&team) else {
                continue;
            };
            let Some(me) = open.doc.me().cloned() else {
                continue;
            };
            let current: Option<(Vec<String>, Option<String>)> =
                open.doc.team().members.get(&me).and_then(|m| {
                    m.devices.iter().find(|d| d.actor == actor).map(|d| {
                        let mut a = d.addrs.clone();
                        a.sort();
                        (a, d.relay.clone())
                    })
                });
            // A relay connection that is down for a moment (the laptop just changed
            // networks) is no reason to tell teammates we have none: keep the one
            // published until another is known, unless relays are off.
            let relay = match (&relay, &current) {
                (None, Some((_, published))) if self.net.uses_relays() => published.clone(),
                _ => relay.clone(),
            };
            if current.as_ref() != Some(&(addrs.clone(), relay.clone())) {
                let publish = Command::PublishAddrs {
                    addrs: addrs.clone(),
                    relay: relay.clone(),
                };
                match self.engine.apply_to(&team, publish) {
                    Ok(_) => {
                        self.local_change(&team);
                        changed = true;
                    }
                    Err(EngineError::NotSaved(e)) => {
                        tracing::warn!(error = %e, "could not publish addresses");
                        self.feed(Input::Reloaded { team });
                    }
                    Err(e) => tracing::warn!(error = %e, "could not publish addresses"),
                }
            }
        }
        if changed {
            self.settle();
        }
    }

    /// Recomputes who we may talk to: every trusted device of every current member of
    /// every team this device is a current member of.
    pub(super) fn refresh_peers(&mut self) {
        let me = self.net.endpoint_id();
        // My private notes in each team go to my own other devices, and to no one else.
        let teams: Vec<TeamId> = self.engine.teams_mut().map(|(id, _)| id.clone()).collect();
        let mut notes_of: HashMap<TeamId, TeamId> = HashMap::new();
        for team in teams {
            if let Some(id) = self.engine.notes_id(&team) {
                // Opened (created empty if need be) so that my devices can sync into it.
                if let Err(e) = self.engine.notes(&team) {
                    tracing::warn!(team = %team.short(), error = %e, "private notes unavailable");
                    continue;
                }
                notes_of.insert(team, id);
            }
        }
        let views = self.engine.teams_mut().map(|(id, open)| TeamView {
            id,
            team: open.doc.team(),
            me: open.doc.me(),
            notes: notes_of.get(id),
        });
        let specs = access::peers(me, views);
        if specs != self.specs {
            tracing::debug!(?specs, "peers changed");
            // Sessions with peers who are no longer members end here too.
            self.feed(Input::Allowed {
                pairs: access::pairs(&specs),
            });
            self.net.set_peers(specs.clone());
            self.specs = specs;
        }
    }
}
