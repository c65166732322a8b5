//! Who may sync which document with this device: the access rule, as a pure function of
//! what the team documents say (docs/design.md §9).
//!
//! A device may sync a team's document with every trusted device of every current member
//! of that team, as long as this device's own member is still current there. My private
//! notes in a team travel only to my own other trusted devices. Nothing else is shared:
//! a removed member's devices, a device its member removed, an untrusted device entry
//! and a device id that does not parse get nothing, and this device never lists itself.
//!
//! The driver ([`crate::runtime`]) opens the notes documents, calls [`peers`] after every
//! change to membership, and hands the result to the network (who to dial, and which
//! teams a peer's hello may name) and to the sync machine (which sessions may go on).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::str::FromStr;

use peercoach_core::model::Device;
use peercoach_core::{Member, MemberId, Team, TeamId};
use peercoach_net::{DeviceId, PeerSpec};

/// One team as the rule sees it.
pub(crate) struct TeamView<'a> {
    /// The team's document id.
    pub(crate) id: &'a TeamId,
    /// Its read model.
    pub(crate) team: &'a Team,
    /// This device's member in it, if any.
    pub(crate) me: Option<&'a MemberId>,
    /// The id of my private notes document in this team, when it is open here.
    pub(crate) notes: Option<&'a TeamId>,
}

/// Every device this one may talk to, with the documents it may sync with each and how
/// to reach it, sorted by device. Addresses are merged across teams (first relay seen
/// wins, unparsable addresses are dropped).
pub(crate) fn peers<'a>(
    this: DeviceId,
    teams: impl IntoIterator<Item = TeamView<'a>>,
) -> Vec<PeerSpec> {
    let mut specs: BTreeMap<DeviceId, PeerSpec> = BTreeMap::new();
    for view in teams {
        let Some(me) = view.me else { continue };
        if !view.team.members.get(me).is_some_and(|m| m.is_current()) {
            continue;
        }
        for (member, device, id) in team_devices(view.team, this) {
            let mine = &member.id == me;
            let spec = specs.entry(id).or_insert_with(|| PeerSpec {
                device: id,
                addrs: Vec::new(),
                relay_url: None,
                teams: BTreeSet::new(),
            });
            if spec.relay_url.is_none() {
                spec.relay_url = device.relay.clone();
            }
            for a in &device.addrs {
                if let Ok(addr) = SocketAddr::from_str(a)
                    && !spec.addrs.contains(&addr)
                {
                    spec.addrs.push(addr);
                }
            }
            spec.teams.insert(view.id.clone());
            if mine && let Some(notes) = view.notes {
                spec.teams.insert(notes.clone());
            }
        }
    }
    specs.into_values().collect()
}

/// Every trusted device of every current member of `team` but `this` one, with its
/// parsed id: the devices a member of the team shares it with.
pub(crate) fn team_devices(team: &Team, this: DeviceId) -> Vec<(&Member, &Device, DeviceId)> {
    let mut out = Vec::new();
    for member in team.current_members() {
        for device in member.devices.iter().filter(|d| d.is_active()) {
            // The document is where device ids enter: one that does not parse names no
            // device anyone can dial.
            let Some(id) = device.endpoint else {
                tracing::debug!(member = %member.id.short(), "a member record names no valid device");
                continue;
            };
            if id != this {
                out.push((member, device, id));
            }
        }
    }
    out
}

/// The (document, device) pairs that the peers allow: what the sync machine keeps.
pub(crate) fn pairs(specs: &[PeerSpec]) -> BTreeSet<(TeamId, DeviceId)> {
    specs
        .iter()
        .flat_map(|s| s.teams.iter().map(move |t| (t.clone(), s.device)))
        .collect()
}

#[cfg(test)]
mod tests;
