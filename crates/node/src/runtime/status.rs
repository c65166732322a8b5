//! The answer to `status`: this device, its network and each peer's sync state.

// A part of the driver: it uses the actor's own types and imports.
use super::*;

impl Actor {
    pub(super) fn status(&mut self, team: Option<&TeamId>) -> Result<Reply, EngineError> {
        let endpoint_id = self.net.endpoint_id();
        let addrs = self
            .net
            .direct_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        let id = self.engine.select(team)?;
        let open = self.engine.open_team(&id)?;
        let view = open.doc.shared_team();
        let mut peers = Vec::new();
        for (member, device, device_id) in crate::access::team_devices(&view, endpoint_id) {
            let path = self.net.path(&device_id);
            peers.push(PeerStatus {
                member: member.id.to_string(),
                name: member.name.clone(),
                endpoint_id: device_id,
                connected: self.net.is_connected(&device_id),
                last_synced_ms: self.sync.last_received_ms(&id, &device_id),
                has_all_my_changes: self.sync.has_all_my_changes(
                    &id,
                    &device_id,
                    open.doc.automerge(),
                ),
                path: path.as_ref().map(|p| p.kind.as_str().to_owned()),
                rtt_ms: path.as_ref().map(|p| p.rtt_ms),
                addrs: device.addrs.clone(),
                relay_url: path
                    .and_then(|p| p.relay_url)
                    .or_else(|| device.relay.clone()),
                published_relay: device.relay.clone(),
                no_progress_ticks: self.sync.no_progress_ticks(&id, &device_id),
                refused: self.sync.refused(&id, &device_id),
                older_app: self.older_apps.values().any(|d| *d == device_id),
            });
        }
        Ok(Reply::Status(StatusReply {
            endpoint_id,
            addrs,
            relay_url: self.net.relay_url(),
            relays: self
                .net
                .relays_now()
                .into_iter()
                .map(|r| RelayStatus {
                    url: r.url,
                    home: r.home,
                    answers: r.answers,
                    fallback: r.fallback,
                    refused: r.refused,
                })
                .collect(),
            mode: crate::connect::effective_mode(
                &self.engine.settings().network,
                self.forced_loopback,
            )
            .as_str()
            .to_owned(),
            relay_problem: self.net.relay_problem().or_else(|| self.net_problem()),
            team_relays: view.relays.iter().map(|r| r.url.clone()).collect(),
            team: Some(id.to_string()),
            peers,
            another_copy_running: self.engine.another_copy_running(),
        }))
    }
}
