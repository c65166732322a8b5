//! The request policy, without an actor.

use peercoach_core::{Command, RecordId, TeamId};
use peercoach_store::StoreError;

use super::{
    FollowUp, Writes, follow_up, invite_waits, may_go_on_without_team, named_team, writes,
};
use crate::api::{Reply, Request};
use crate::engine::EngineError;

fn team(n: u8) -> TeamId {
    TeamId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02x}")).expect("team id")
}

fn notes_of(t: &TeamId) -> Option<TeamId> {
    (t == &team(1)).then(|| team(0x11))
}

fn done(created: Option<RecordId>) -> Result<Reply, EngineError> {
    Ok(Reply::Done {
        created,
        summary: String::new(),
    })
}

fn not_saved() -> Result<Reply, EngineError> {
    Err(EngineError::NotSaved(StoreError::Io {
        path: "team.log".into(),
        source: std::io::Error::other("disk full"),
    }))
}

#[test]
fn writing_requests_name_their_team_and_others_do_not() {
    let mut apply = Request::Apply {
        team: None,
        command: Command::Claim {
            request: peercoach_core::RequestId::parse(&team(9).to_string()).expect("id"),
        },
    };
    assert_eq!(writes(&apply), Some(Writes::Team));
    let named = named_team(&mut apply).expect("apply names a team");
    assert_eq!(*named, None, "the default, not chosen yet");
    *named = Some(team(1));
    assert!(matches!(&apply, Request::Apply { team: Some(t), .. } if *t == team(1)));
    let mut status = Request::Status { team: None };
    assert_eq!(writes(&status), None);
    assert!(named_team(&mut status).is_none());
    assert!(may_go_on_without_team(Some(Writes::Import)));
    assert!(!may_go_on_without_team(Some(Writes::Team)));
    assert!(!may_go_on_without_team(None));
}

#[test]
fn a_team_change_is_pushed_and_a_notes_change_goes_to_the_notes_document() {
    let t = team(1);
    assert_eq!(
        follow_up(Some(Writes::Team), Some(&t), notes_of, &done(None)),
        FollowUp::LocalChange(t.clone())
    );
    assert_eq!(
        follow_up(Some(Writes::Notes), Some(&t), notes_of, &done(None)),
        FollowUp::LocalChange(team(0x11))
    );
    // Notes not open here: nothing to push.
    assert_eq!(
        follow_up(Some(Writes::Notes), Some(&team(2)), notes_of, &done(None)),
        FollowUp::Nothing
    );
}

#[test]
fn an_import_tells_peers_the_heads_of_the_team_it_merged_into_or_created() {
    let t = team(1);
    assert_eq!(
        follow_up(Some(Writes::Import), Some(&t), notes_of, &done(None)),
        FollowUp::Merged(t.clone())
    );
    assert_eq!(
        follow_up(
            Some(Writes::Import),
            None,
            notes_of,
            &done(Some(RecordId::Team(team(3))))
        ),
        FollowUp::Merged(team(3))
    );
    assert_eq!(
        follow_up(Some(Writes::Import), None, notes_of, &done(None)),
        FollowUp::Nothing
    );
}

#[test]
fn an_unsaved_change_restarts_the_documents_sessions_and_other_errors_do_nothing() {
    let t = team(1);
    assert_eq!(
        follow_up(Some(Writes::Team), Some(&t), notes_of, &not_saved()),
        FollowUp::Reloaded(t.clone())
    );
    assert_eq!(
        follow_up(Some(Writes::Notes), Some(&t), notes_of, &not_saved()),
        FollowUp::Reloaded(team(0x11))
    );
    assert_eq!(
        follow_up(
            Some(Writes::Team),
            Some(&t),
            notes_of,
            &Err(EngineError::UnknownTeam("x".into()))
        ),
        FollowUp::Nothing
    );
}

#[test]
fn a_new_team_is_announced_even_when_its_id_does_not_read() {
    let created = |id: &str| {
        Ok(Reply::TeamCreated {
            team_id: id.into(),
            member_id: String::new(),
        })
    };
    assert_eq!(
        follow_up(None, None, notes_of, &created(&team(4).to_string())),
        FollowUp::Created(Some(team(4)))
    );
    assert_eq!(
        follow_up(None, None, notes_of, &created("garbled")),
        FollowUp::Created(None)
    );
}

#[test]
fn an_invite_waits_for_the_relay_only_when_relays_are_on_and_it_is_unknown() {
    assert!(invite_waits(true, false));
    assert!(!invite_waits(true, true));
    assert!(!invite_waits(false, false));
}
