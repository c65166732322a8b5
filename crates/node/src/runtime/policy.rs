//! The request policy of the driver: which team a request changes, and what peers must
//! hear after the engine answered it. Pure functions, so the rules are tested without an
//! actor, a network or a disk (`policy/tests.rs`).

use peercoach_core::{RecordId, TeamId};

use crate::api::{Reply, Request};
use crate::engine::EngineError;

/// What a request writes, which decides what its peers hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writes {
    /// One change to a team's document.
    Team,
    /// One change to my private notes in a team.
    Notes,
    /// A file merged into a team's document (or a new team, from an Automerge file).
    Import,
}

/// What a request writes, if anything the peers must hear.
pub(super) fn writes(request: &Request) -> Option<Writes> {
    match request {
        Request::Apply { .. } => Some(Writes::Team),
        Request::AddNote { .. } | Request::DeleteNote { .. } | Request::RestoreNote { .. } => {
            Some(Writes::Notes)
        }
        Request::Import { .. } => Some(Writes::Import),
        _ => None,
    }
}

/// The team a writing request names (by id, or none for the default). The driver picks
/// the default once and writes its id back, so every later step names the same team.
pub(super) fn named_team(request: &mut Request) -> Option<&mut Option<TeamId>> {
    match request {
        Request::Apply { team, .. }
        | Request::Import { team, .. }
        | Request::AddNote { team, .. }
        | Request::DeleteNote { team, .. }
        | Request::RestoreNote { team, .. } => Some(team),
        _ => None,
    }
}

/// Whether a request may go on when the team it names cannot be found: only an import,
/// since an Automerge file may bring the first team.
pub(super) fn may_go_on_without_team(writes: Option<Writes>) -> bool {
    writes == Some(Writes::Import)
}

/// Whether an invite waits for this device's relay to be known: an invite without it
/// cannot be used from behind a NAT.
pub(super) fn invite_waits(uses_relays: bool, relay_known: bool) -> bool {
    uses_relays && !relay_known
}

/// What the driver does once the engine answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FollowUp {
    /// Nothing for the peers.
    Nothing,
    /// Push the change just made to this document.
    LocalChange(TeamId),
    /// Tell peers this document's new heads (a merge brought others' changes, not one of
    /// ours), so they fetch what they lack.
    Merged(TeamId),
    /// The document was read again from disk, dropping what peers had sent and was not
    /// yet saved: the sync sessions start over for it.
    Reloaded(TeamId),
    /// A new team: push its first change (when its id reads) and publish this device's
    /// addresses so teammates can find it.
    Created(Option<TeamId>),
}

/// What peers must hear after `result`, for a request that `writes` into `target`.
/// `notes_of` names my notes document in a team.
pub(super) fn follow_up(
    writes: Option<Writes>,
    target: Option<&TeamId>,
    notes_of: impl Fn(&TeamId) -> Option<TeamId>,
    result: &Result<Reply, EngineError>,
) -> FollowUp {
    let changed = || match writes {
        Some(Writes::Notes) => target.and_then(&notes_of),
        _ => target.cloned(),
    };
    match result {
        Ok(Reply::TeamCreated { team_id, .. }) => FollowUp::Created(TeamId::parse(team_id).ok()),
        Ok(reply) if writes == Some(Writes::Import) => {
            // A file that added a team names it.
            let added = match reply {
                Reply::Done {
                    created: Some(RecordId::Team(id)),
                    ..
                } => Some(id.clone()),
                _ => None,
            };
            added
                .or_else(|| target.cloned())
                .map_or(FollowUp::Nothing, FollowUp::Merged)
        }
        Ok(_) => changed().map_or(FollowUp::Nothing, FollowUp::LocalChange),
        Err(EngineError::NotSaved(_)) => changed().map_or(FollowUp::Nothing, FollowUp::Reloaded),
        Err(_) => FollowUp::Nothing,
    }
}

#[cfg(test)]
mod tests;
