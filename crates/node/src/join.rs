//! Letting someone in: invites and joins, as rules over the [`Engine`].
//!
//! An invite is a one-time secret this device keeps (in the team's `invites.json`, through
//! the store) and a ticket that carries it with the team id and this device's address.
//! The joiner presents the secret over the join protocol; the inviter checks it, burns it,
//! adds the joiner as a member (or as another device of the member who made a device
//! invite), writes that change, and sends the document. A joiner whose first attempt was
//! cut off after the inviter added it may present the same secret again, from the same
//! device, and gets the document again.
//!
//! Nothing here touches the network: the runtime carries the request and the reply, and
//! tells the sync machine what the answer changed ([`Admission`]).

use crate::sync::signed::{Signatures, signer_in, unvouched};
use std::time::Instant;

use iroh_base::SecretKey;
use peercoach_core::automerge::{AutoCommit, ChangeHash};
use peercoach_core::{ActorHex, Command, CommandError, MemberId, Team, TeamDoc, TeamId};
use peercoach_core::{NewDevice, NewMember};
use peercoach_net::{DeviceId, EndpointAddr, InviteTicket, JoinAccepted, JoinReply, JoinRequest};

use crate::api::{InviteRow, Reply};
use crate::engine::{Engine, EngineError, OpenTeam};

/// How long an invite stays valid unless the person chooses otherwise: the same in the
/// app and in `peercoach invite`.
pub const DEFAULT_INVITE_EXPIRY_MS: i64 = 24 * 3_600_000;

/// The shortest and longest time an invite may stay valid.
pub const INVITE_EXPIRY_MS: std::ops::RangeInclusive<i64> = 60_000..=30 * 24 * 3_600_000;

/// How long a ticket that links another device of mine stays valid by default. Such a
/// device gets everything I can read, private notes included, so its ticket lives
/// minutes, not days.
pub const DEFAULT_DEVICE_INVITE_EXPIRY_MS: i64 = 10 * 60_000;

/// The shortest and longest time a device-link ticket may stay valid.
pub const DEVICE_INVITE_EXPIRY_MS: std::ops::RangeInclusive<i64> = 60_000..=3_600_000;

/// The default lifetime of an invite of either kind.
pub fn default_expiry_ms(device: bool) -> i64 {
    if device {
        DEFAULT_DEVICE_INVITE_EXPIRY_MS
    } else {
        DEFAULT_INVITE_EXPIRY_MS
    }
}

/// Makes a one-time invite to `team`, valid for `expires_in_ms`, naming `inviter` as
/// where to join. With `device`, the ticket links another device of mine instead of
/// inviting a new member.
pub fn make_invite(
    engine: &mut Engine,
    team: &TeamId,
    now_ms: i64,
    expires_in_ms: i64,
    device: bool,
    inviter: EndpointAddr,
) -> Result<Reply, EngineError> {
    if device && !DEVICE_INVITE_EXPIRY_MS.contains(&expires_in_ms) {
        return Err(EngineError::DeviceInviteExpiry);
    }
    if !INVITE_EXPIRY_MS.contains(&expires_in_ms) {
        return Err(EngineError::InviteExpiry);
    }
    let open = engine.open_team(team)?;
    let me = open.doc.me().cloned().ok_or(CommandError::NotAMember)?;
    let mut secret = [0u8; 32];
    peercoach_store::random_bytes(&mut secret)?;
    let mut invites = open.store.invites();
    let device_of = device.then(|| me.clone());
    let expires_ms = now_ms + expires_in_ms;
    invites.add(&secret, me.clone(), now_ms, expires_ms, device_of.clone());
    open.store
        .save_invites(&invites)
        .map_err(EngineError::InviteNotSaved)?;
    let inviter_name = open.doc.team().name_of(&me);
    let ticket = InviteTicket::new(
        team.clone(),
        open.doc.team().name.clone(),
        inviter,
        secret,
        expires_ms,
        device_of.map(|m| m.to_string()),
        inviter_name,
    );
    Ok(Reply::Invited {
        ticket: ticket.to_string(),
        expires_ms,
        invite: peercoach_store::Invite::id_of(&secret),
    })
}

/// The invites this device made for `team`, with what became of each: used by whom and
/// when, expired, or still open. Newest first.
pub fn invites(engine: &mut Engine, team: &TeamId) -> Result<Vec<InviteRow>, EngineError> {
    let open = engine.open_team(team)?;
    let model = open.doc.team();
    let mut rows: Vec<InviteRow> = open
        .store
        .invites()
        .all()
        .iter()
        .map(|i| {
            let used_by_name = i.used_by.map(|device| {
                model
                    .members
                    .values()
                    .find(|m| m.devices.iter().any(|d| d.endpoint == Some(device)))
                    .map_or_else(|| "someone".to_owned(), |m| m.name.clone())
            });
            InviteRow {
                invite: i.id().to_owned(),
                device: i.device_of.is_some(),
                created_ms: i.created_ms,
                expires_ms: i.expires_ms,
                used_by_name,
                used_ms: i.used_ms,
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.created_ms));
    Ok(rows)
}

/// What answering a join did, for the runtime to tell the sync machine.
#[derive(Debug)]
pub struct Admission {
    /// The answer to send the joiner.
    pub reply: JoinReply,
    /// The team it was about.
    pub team: Option<TeamId>,
    /// The change that added the joiner (raw bytes), to push to teammates.
    pub change: Option<Vec<u8>>,
    /// The heads of the document sent: what the joiner now holds.
    pub joiner_has: Option<Vec<ChangeHash>>,
    /// The team's document was read again from disk (adding the joiner could not be
    /// saved, and what peers had sent and was not saved went with it).
    pub reloaded: Option<TeamId>,
}

impl Admission {
    fn refused(reason: impl Into<String>) -> Self {
        Self {
            reply: JoinReply::Refused {
                reason: reason.into(),
            },
            team: None,
            change: None,
            joiner_has: None,
            reloaded: None,
        }
    }
}

/// The inviter's side of a join: checks the secret, adds the member (or device), makes it
/// durable, and answers with the document.
pub fn answer_join(
    engine: &mut Engine,
    request: &JoinRequest,
    from: DeviceId,
    now_ms: i64,
) -> Admission {
    let team_id = request.team_id.clone();
    let key = SecretKey::from_bytes(&engine.identity().secret_key);
    let Ok(open) = engine.open_team(&team_id) else {
        return Admission::refused("this device does not hold that team");
    };
    // A device of a removed member, an invite made by a member since removed, or an
    // inviter no longer in the team: refused before the secret is even looked at.
    let model = open.doc.team();
    if !open
        .doc
        .me()
        .is_some_and(|me| model.members.get(me).is_some_and(|m| m.is_current()))
    {
        return Admission::refused("the inviter is no longer a member of this team");
    }
    if model
        .members
        .values()
        .any(|m| !m.is_current() && m.devices.iter().any(|d| d.endpoint == Some(from)))
    {
        tracing::info!(peer = %from.short(), "refused a join from a removed member's device");
        return Admission::refused("this device belongs to someone who was removed from the team");
    }
    let mut invites = open.store.invites();
    let redeemed = match invites.redeem(&request.secret, from, now_ms) {
        Ok(r) => r,
        Err(r) => {
            tracing::info!(peer = %from.short(), reason = %r, "refused a join");
            return Admission::refused(r.to_string());
        }
    };
    let (invite, again) = (redeemed.invite, redeemed.again);
    if model
        .members
        .get(&invite.by)
        .is_some_and(|m| !m.is_current())
    {
        return Admission::refused("the member who made this invite was removed from the team");
    }
    // Burn the secret before anything else: a crash now costs a new invite, never a
    // second use.
    if let Err(e) = open.store.save_invites(&invites) {
        return Admission::refused(format!("the inviter could not record the invite: {e}"));
    }
    let Some(actor) = ActorHex::parse(&request.actor) else {
        return Admission::refused("malformed device id");
    };
    let endpoint = from.to_string();
    // This very device (actor and endpoint) is already a current member's: an earlier
    // join went through here but was cut off before the device saved the team. Send the
    // team again rather than add the device twice.
    let finishing = rejoining(open.doc.team(), &actor, from, invite.device_of.as_ref());
    // An invite used before may only finish that same join: any other use (another
    // actor on the same device, a device since removed) is a second use.
    if again && finishing.is_none() {
        tracing::info!(peer = %from.short(), "refused a second use of an invite");
        return Admission::refused(peercoach_store::Refusal::Used.to_string());
    }
    if let Some(member) = finishing {
        tracing::info!(peer = %from.short(), "a device finishes a join that was cut off");
        return Admission {
            reply: JoinReply::Accepted {
                member_id: member.to_string(),
                document: open.doc.automerge().save(),
                signatures: handed_over(open, &key),
            },
            joiner_has: Some(open.doc.heads()),
            team: Some(team_id),
            change: None,
            reloaded: None,
        };
    }
    let command = match &invite.device_of {
        Some(member) => Command::AddDevice(NewDevice {
            member: member.clone(),
            actor,
            endpoint,
            label: request.name.clone(),
            addrs: request.addrs.clone(),
            relay: request.relay_url.clone(),
        }),
        None => Command::AddMember(NewMember {
            name: request.name.clone(),
            actor,
            endpoint,
            label: String::new(),
            addrs: request.addrs.clone(),
            relay: request.relay_url.clone(),
        }),
    };
    let started = Instant::now();
    let applied = match engine.apply_to(&team_id, command) {
        Ok(a) => a,
        Err(e) => {
            let reloaded = matches!(e, EngineError::NotSaved(_)).then(|| team_id.clone());
            return Admission {
                reloaded,
                ..Admission::refused(e.to_string())
            };
        }
    };
    let made = applied.created.and_then(|id| MemberId::try_from(id).ok());
    let Some(member_id) = made.or(invite.device_of).map(|m| m.to_string()) else {
        return Admission::refused("the inviter could not add you: no member was made");
    };
    let Ok(open) = engine.open_team(&team_id) else {
        return Admission::refused("the team closed");
    };
    let change = open
        .doc
        .automerge()
        .get_last_local_change()
        .map(|c| c.raw_bytes().to_vec());
    let added = started.elapsed();
    let document = open.doc.automerge().save();
    let saved = started.elapsed();
    let signatures = handed_over(open, &key);
    tracing::info!(
        bytes = document.len(),
        add_ms = added.as_millis(),
        save_ms = (saved - added).as_millis(),
        sign_ms = (started.elapsed() - saved).as_millis(),
        "handed the team over"
    );
    Admission {
        reply: JoinReply::Accepted {
            member_id,
            document,
            signatures,
        },
        joiner_has: Some(open.doc.heads()),
        team: Some(team_id),
        change,
        reloaded: None,
    }
}

/// The member this device already is, if a join from it was cut off after the inviter
/// added it (and the invite is for that member, when it links a device).
fn rejoining(
    team: &Team,
    actor: &ActorHex,
    endpoint: DeviceId,
    device_of: Option<&MemberId>,
) -> Option<MemberId> {
    let member = team.member_of_actor(actor)?;
    let m = team.members.get(member)?;
    let same_device = m
        .devices
        .iter()
        .any(|d| d.trusted && d.actor == *actor && d.endpoint == Some(endpoint));
    let wanted = device_of.is_none_or(|o| o == member);
    (m.is_current() && same_device && wanted).then(|| member.clone())
}

/// The signatures a new member is handed with the document (hex): the latest of every
/// actor this device holds one for, with its own history signed now, sent or not, so
/// that the joiner can check every change of a session actor ([`unvouched`]).
fn handed_over(open: &mut OpenTeam, key: &SecretKey) -> String {
    open.signatures.sign_own(open.doc.automerge(), key);
    data_encoding::HEXLOWER.encode(&open.signatures.encode_tips())
}

/// The joiner's side, before the network: checks the ticket and makes the request.
pub fn join_request(
    engine: &mut Engine,
    ticket: &str,
    name: String,
    now_ms: i64,
    addrs: Vec<String>,
    relay_url: Option<String>,
) -> Result<(InviteTicket, JoinRequest), EngineError> {
    let ticket = InviteTicket::parse(ticket)?;
    ticket.check(now_ms)?;
    engine.open_all()?;
    if engine.open_team(&ticket.team_id).is_ok() {
        return Err(EngineError::AlreadyJoined {
            team_name: ticket.team_name.clone(),
        });
    }
    let request = JoinRequest {
        version: 1,
        team_id: ticket.team_id.clone(),
        secret: ticket.secret,
        name,
        actor: engine.identity().actor_hex().to_string(),
        addrs,
        relay_url,
    };
    Ok((ticket, request))
}

/// The joiner's side, after the inviter answered: keeps the team it sent. Returns the
/// reply, the team and the heads both sides now hold.
pub fn finish_join(
    engine: &mut Engine,
    ticket: &InviteTicket,
    accepted: JoinAccepted,
) -> Result<(Reply, TeamId, Vec<ChangeHash>), EngineError> {
    let started = Instant::now();
    let mut doc =
        AutoCommit::load(&accepted.document).map_err(|e| EngineError::JoinDocument(Box::new(e)))?;
    let loaded = started.elapsed();
    if Team::id_of(&doc).as_ref() != Some(&ticket.team_id) {
        return Err(EngineError::WrongTeam);
    }
    // What the inviter holds: the sync with it starts from there.
    let heads = doc.get_heads();
    // The model is read once, for the check and for keeping the team.
    let mut doc = TeamDoc::from_doc(doc, engine.identity().actor_hex());
    let read = started.elapsed();
    // The inviter's signatures vouch for its copy; ones that do not read vouch for
    // nothing.
    let sigs = data_encoding::HEXLOWER
        .decode(accepted.signatures.as_bytes())
        .ok()
        .and_then(|bytes| Signatures::decode(&bytes))
        .unwrap_or_default();
    // Checked before anything is kept: a change no signature vouches for is left out,
    // with what depends on it. Its author's device (or a peer holding its signature)
    // sends it again, signed, once the sync runs.
    let team = doc.shared_team();
    let left_out = unvouched(doc.automerge(), |actor| signer_in(&team, actor).0, &sigs);
    let checked = started.elapsed();
    let id = if left_out.is_empty() {
        engine.add_team_read(doc, Some(&accepted.document))?
    } else {
        let kept: Vec<_> = doc
            .automerge()
            .get_changes(&[])
            .into_iter()
            .filter(|c| !left_out.contains(&c.hash()))
            .collect();
        let mut vouched = AutoCommit::new();
        vouched
            .apply_changes(kept)
            .map_err(|e| EngineError::JoinDocument(Box::new(e)))?;
        let vouched = TeamDoc::from_doc(vouched, engine.identity().actor_hex());
        // Without them, is this device still in the team? (An inviter that holds a
        // forgery built the change adding us on top of it.)
        let in_team = vouched.me().is_some_and(|me| {
            vouched
                .team()
                .members
                .get(me)
                .is_some_and(|m| m.is_current())
        });
        if vouched.team().id.as_ref() != Some(&ticket.team_id) || !in_team {
            tracing::warn!(
                changes = left_out.len(),
                "refused a join: the copy handed over rests on changes no signature vouches for"
            );
            return Err(EngineError::JoinUnvouched {
                changes: left_out.len(),
            });
        }
        tracing::warn!(
            changes = left_out.len(),
            "the copy of the team handed over held changes no signature vouches for; left out"
        );
        engine.warn(format!(
            "The copy of the team you were given held {} change(s) that no signature of \
             their device vouches for. They were left out; their authors' devices send \
             them again, signed.",
            left_out.len()
        ));
        engine.add_team_read(vouched, None)?
    };
    tracing::info!(
        bytes = accepted.document.len(),
        load_ms = loaded.as_millis(),
        read_ms = (read - loaded).as_millis(),
        check_ms = (checked - read).as_millis(),
        keep_ms = (started.elapsed() - checked).as_millis(),
        "kept the team handed over"
    );
    let open = engine.open_team(&id)?;
    open.signatures.merge(sigs);
    let team_name = open.doc.team().name.clone();
    Ok((
        Reply::Joined {
            team_id: id.to_string(),
            team_name,
            member_id: accepted.member_id,
        },
        id,
        heads,
    ))
}
