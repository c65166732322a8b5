//! The access rule, tested on read models built by hand: no documents, no network.

use std::collections::BTreeMap;

use peercoach_core::model::{Device, Member};
use peercoach_core::{ActorHex, MemberId, Team, TeamId};
use peercoach_net::DeviceId;

use super::{TeamView, pairs, peers};

fn device(n: u8) -> DeviceId {
    DeviceId::from_secret_key_bytes(&[n; 32])
}

fn uuid(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02x}")
}

fn team_id(n: u8) -> TeamId {
    TeamId::parse(&uuid(0x80 + n)).expect("team id")
}

fn member_id(n: u8) -> MemberId {
    MemberId::parse(&uuid(n)).expect("member id")
}

/// A member with the given devices: (device number, trusted, addresses, relay).
fn member(n: u8, name: &str, devices: &[(u8, bool, &[&str], Option<&str>)]) -> Member {
    Member {
        id: member_id(n),
        name: name.into(),
        created_ms: 0,
        removed_ms: None,
        removal_votes: Vec::new(),
        removed_at_op: None,
        ignored: Vec::new(),
        added_by: None,
        availability: String::new(),
        snoozed_until_ms: None,
        skills: BTreeMap::new(),
        wants: Default::default(),
        devices: devices
            .iter()
            .map(|(d, trusted, addrs, relay)| Device {
                actor: ActorHex::from_bytes(&[*d; 16]),
                endpoint: Some(device(*d)),
                label: String::new(),
                added_ms: 0,
                addrs: addrs.iter().map(|a| (*a).to_owned()).collect(),
                relay: relay.map(str::to_owned),
                trusted: *trusted,
                removed_ms: None,
                removed_at_op: None,
                entry_op: None,
            })
            .collect(),
    }
}

fn team(members: Vec<Member>) -> Team {
    let mut team = Team::default();
    team.members = members.into_iter().map(|m| (m.id.clone(), m)).collect();
    team
}

fn view<'a>(
    id: &'a TeamId,
    team: &'a Team,
    me: &'a MemberId,
    notes: Option<&'a TeamId>,
) -> TeamView<'a> {
    TeamView {
        id,
        team,
        me: Some(me),
        notes,
    }
}

#[test]
fn a_teammates_device_syncs_the_team_and_never_my_notes() {
    let (t, notes) = (team_id(1), team_id(2));
    let ana = member_id(1);
    let team = team(vec![
        member(1, "Ana", &[(1, true, &[], None)]),
        member(2, "Ben", &[(2, true, &["127.0.0.1:4000"], None)]),
    ]);
    let specs = peers(device(1), [view(&t, &team, &ana, Some(&notes))]);
    assert_eq!(specs.len(), 1, "this device never lists itself");
    assert_eq!(specs[0].device, device(2));
    assert_eq!(specs[0].teams.iter().collect::<Vec<_>>(), vec![&t]);
    assert_eq!(
        specs[0].addrs,
        vec!["127.0.0.1:4000".parse().expect("addr")]
    );
}

#[test]
fn my_other_device_gets_my_notes_when_they_are_open_here() {
    let (t, notes) = (team_id(1), team_id(2));
    let ana = member_id(1);
    let team = team(vec![member(
        1,
        "Ana",
        &[(1, true, &[], None), (3, true, &[], None)],
    )]);
    let specs = peers(device(1), [view(&t, &team, &ana, Some(&notes))]);
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].device, device(3));
    assert!(specs[0].teams.contains(&t) && specs[0].teams.contains(&notes));
    // Notes that failed to open are not offered.
    let specs = peers(device(1), [view(&t, &team, &ana, None)]);
    assert_eq!(specs[0].teams.iter().collect::<Vec<_>>(), vec![&t]);
}

#[test]
fn a_removed_member_a_removed_device_and_an_untrusted_entry_get_nothing() {
    let t = team_id(1);
    let ana = member_id(1);
    let mut ben = member(2, "Ben", &[(2, true, &[], None)]);
    ben.removed_ms = Some(5);
    // Dan removed his lost laptop (device 6).
    let mut dan = member(5, "Dan", &[(6, true, &[], None)]);
    dan.devices[0].removed_ms = Some(7);
    let team = team(vec![
        member(1, "Ana", &[(1, true, &[], None)]),
        ben,
        // Cleo's second entry was written by someone not entitled to it.
        member(3, "Cleo", &[(3, true, &[], None), (4, false, &[], None)]),
        dan,
    ]);
    let specs = peers(device(1), [view(&t, &team, &ana, None)]);
    let devices: Vec<_> = specs.iter().map(|s| s.device).collect();
    assert_eq!(devices, vec![device(3)]);
    assert_eq!(pairs(&specs).len(), 1);
}

#[test]
fn a_removed_or_absent_me_shares_nothing_in_that_team() {
    let t = team_id(1);
    let ana = member_id(1);
    let mut me = member(1, "Ana", &[(1, true, &[], None)]);
    me.removed_ms = Some(9);
    let team = team(vec![me, member(2, "Ben", &[(2, true, &[], None)])]);
    assert!(peers(device(1), [view(&t, &team, &ana, None)]).is_empty());
    let nobody = TeamView {
        id: &t,
        team: &team,
        me: None,
        notes: None,
    };
    assert!(peers(device(1), [nobody]).is_empty());
}

#[test]
fn a_device_id_that_does_not_parse_names_no_peer() {
    let t = team_id(1);
    let ana = member_id(1);
    let mut ben = member(2, "Ben", &[(2, true, &[], None)]);
    // What the reader makes of an endpoint that does not parse.
    ben.devices[0].endpoint = None;
    let team = team(vec![member(1, "Ana", &[(1, true, &[], None)]), ben]);
    assert!(peers(device(1), [view(&t, &team, &ana, None)]).is_empty());
}

#[test]
fn one_device_in_two_teams_is_one_peer_with_both_and_its_addresses_merged() {
    let (t1, t2) = (team_id(1), team_id(2));
    let ana = member_id(1);
    let first = team(vec![
        member(1, "Ana", &[(1, true, &[], None)]),
        member(
            2,
            "Ben",
            &[(2, true, &["127.0.0.1:1", "bad"], Some("https://r1.example"))],
        ),
    ]);
    let second = team(vec![
        member(1, "Ana", &[(1, true, &[], None)]),
        member(
            2,
            "Ben",
            &[(
                2,
                true,
                &["127.0.0.1:1", "127.0.0.1:2"],
                Some("https://r2.example"),
            )],
        ),
        member(3, "Cleo", &[(5, true, &[], None)]),
    ]);
    let specs = peers(
        device(1),
        [
            view(&t1, &first, &ana, None),
            view(&t2, &second, &ana, None),
        ],
    );
    let mut sorted = specs.clone();
    sorted.sort_by_key(|s| s.device);
    assert_eq!(specs, sorted, "sorted by device");
    let ben = specs.iter().find(|s| s.device == device(2)).expect("Ben");
    assert_eq!(ben.teams.len(), 2);
    assert_eq!(
        ben.relay_url.as_deref(),
        Some("https://r1.example"),
        "first relay seen"
    );
    assert_eq!(
        ben.addrs,
        vec![
            "127.0.0.1:1".parse().expect("addr"),
            "127.0.0.1:2".parse().expect("addr")
        ]
    );
    let all = pairs(&specs);
    assert!(all.contains(&(t1.clone(), device(2))) && all.contains(&(t2.clone(), device(2))));
    assert!(all.contains(&(t2, device(5))) && !all.contains(&(t1, device(5))));
}
