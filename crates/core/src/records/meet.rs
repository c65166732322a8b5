//! Finding a time after a yes: the two people of an accepted offer propose times, and the
//! other one picks one (which schedules the session) or says none work. Either of them
//! can also say they did not meet after all, which ends the offer.
//!
//! ```text
//! offers/<offer>/meet/<member>: {kind, seq?, times?, minutes?, pick?, session?, at_ms}
//! ```
//!
//! Each of the two keeps one entry under their own key, written afresh by their own
//! devices each time: `kind` is `propose` (with `times`, a comma-separated list of
//! instants, and `minutes`), `pick` (with the picked instant and the session it
//! scheduled), `none` or `ended`. An entry counts only when every field of it was written
//! by the member it is filed under, and only for the offer's two people. Proposals are
//! numbered (`seq`: one more than the newest the proposer had seen) and an answer names
//! the number of the proposal it answers, so which proposal is newest and what answers it
//! never depend on the devices' clocks. A pick counts only against the other person's
//! newest proposal, and only for one of its times: so only the other person can accept,
//! and only a time that was offered.

use std::collections::HashMap;

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::offer::{Offer, OfferStatus};
use super::session::NewSession;
use super::{Cx, Forgery, done, map_or_new, opt_u32, own_entries};
use crate::command::{Applied, CommandError};
use crate::fields::Fields;
use crate::ids::{ActorHex, MemberId, OfferId, SessionId};
use crate::model::Team;
use crate::time::format_datetime;
use crate::touched::Collection;

/// The key of the map of entries in an offer.
pub(crate) const MEET: &str = "meet";

/// The document keys of an entry.
mod key {
    pub(super) const KIND: &str = "kind";
    pub(super) const TIMES: &str = "times";
    pub(super) const MINUTES: &str = "minutes";
    pub(super) const PICK: &str = "pick";
    pub(super) const SESSION: &str = "session";
    pub(super) const AT_MS: &str = "at_ms";
    pub(super) const SEQ: &str = "seq";
}

/// The most times one proposal holds.
pub const MAX_TIMES: usize = 3;

/// How long a proposed meeting lasts unless said otherwise.
pub const DEFAULT_MINUTES: u32 = 30;

/// Times one of the two proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Who proposed them.
    pub by: MemberId,
    /// The times, earliest first.
    pub times: Vec<i64>,
    /// How long the meeting would last.
    pub minutes: u32,
    /// When proposed (by the proposer's clock: shown, never compared).
    pub at_ms: i64,
    /// Its number: one more than the newest proposal its author had seen.
    #[serde(default)]
    pub seq: u64,
}

/// Where finding a time stands for an accepted offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Meet {
    /// Nobody proposed a time yet.
    Open,
    /// Times wait for the other person's pick.
    Proposed(Proposal),
    /// The other person picked one: the session is scheduled.
    Agreed {
        /// The proposal.
        proposal: Proposal,
        /// The time picked.
        at_ms: i64,
        /// Who picked it.
        by: MemberId,
        /// The scheduled session.
        session: Option<SessionId>,
    },
    /// The other person said none of the times work.
    NoneWork {
        /// The proposal turned down.
        proposal: Proposal,
        /// Who said so.
        by: MemberId,
        /// When.
        at_ms: i64,
    },
}

/// One person's entry, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    member: MemberId,
    at_ms: i64,
    /// A proposal's number, or the number of the proposal an answer answers.
    seq: u64,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Propose { times: Vec<i64>, minutes: u32 },
    Pick { at: i64, session: Option<SessionId> },
    NoneWork,
    Ended,
}

/// What the meet entries of an offer say: where finding a time stands, and whether one
/// of the two ended the offer (who, when).
pub(crate) struct Read {
    pub(crate) meet: Meet,
    pub(crate) ended: Option<(MemberId, i64)>,
    pub(crate) forged: Vec<Forgery>,
}

/// Reads the meet entries of an offer between `from` and `to`.
pub(crate) fn read<D: ReadDoc>(
    doc: &D,
    actors: &HashMap<ActorHex, MemberId>,
    obj: Option<&ObjId>,
    from: &MemberId,
    to: &MemberId,
) -> Read {
    let mut entries = Vec::new();
    let mut forged = Vec::new();
    for (member, f, verdict) in own_entries(doc, actors, obj, key::KIND) {
        let at_ms = f.int(key::AT_MS).unwrap_or(0);
        if let Err(actor) = verdict {
            forged.push(Forgery {
                claimed: member,
                actor,
                at_ms,
                what: format!("answered about a time to meet ({})", f.text(key::KIND)),
            });
            continue;
        }
        if &member != from && &member != to {
            continue;
        }
        if let Some(kind) = kind_of(&f) {
            entries.push(Entry {
                member,
                at_ms,
                seq: f
                    .int(key::SEQ)
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                kind,
            });
        }
    }
    let ended = entries
        .iter()
        .filter(|e| e.kind == Kind::Ended)
        .map(|e| (e.member.clone(), e.at_ms))
        .min_by_key(|(_, at)| *at);
    Read {
        meet: settle(&entries),
        ended,
        forged,
    }
}

/// An entry's kind, when it is whole.
fn kind_of(f: &Fields) -> Option<Kind> {
    Some(match f.str(key::KIND)? {
        "propose" => {
            let times = parse_times(f.str(key::TIMES)?)?;
            let minutes = opt_u32(f, key::MINUTES)
                .filter(|m| (1..=super::session::MAX_MINUTES).contains(m))
                .unwrap_or(DEFAULT_MINUTES);
            Kind::Propose { times, minutes }
        }
        "pick" => Kind::Pick {
            at: f.int(key::PICK)?,
            session: f.str(key::SESSION).and_then(|s| SessionId::parse(s).ok()),
        },
        "none" => Kind::NoneWork,
        "ended" => Kind::Ended,
        _ => return None,
    })
}

/// `1,2,3` as instants: one to [`MAX_TIMES`] of them, sorted.
fn parse_times(s: &str) -> Option<Vec<i64>> {
    let mut times: Vec<i64> = s
        .split(',')
        .map(|t| t.trim().parse().ok())
        .collect::<Option<_>>()?;
    times.sort_unstable();
    times.dedup();
    (1..=MAX_TIMES).contains(&times.len()).then_some(times)
}

/// The state the entries add up to: the newest proposal (by number, then proposer), and
/// the other person's answer to that very proposal.
fn settle(entries: &[Entry]) -> Meet {
    let Some(proposal) = entries
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Propose { times, minutes } => Some((e, times, *minutes)),
            _ => None,
        })
        .max_by(|(a, ..), (b, ..)| (a.seq, &a.member).cmp(&(b.seq, &b.member)))
        .map(|(e, times, minutes)| Proposal {
            by: e.member.clone(),
            times: times.clone(),
            minutes,
            at_ms: e.at_ms,
            seq: e.seq,
        })
    else {
        return Meet::Open;
    };
    let answer = entries
        .iter()
        .find(|e| e.member != proposal.by && e.seq == proposal.seq);
    match answer.map(|e| (&e.kind, e)) {
        Some((Kind::Pick { at, session }, e)) if proposal.times.contains(at) => Meet::Agreed {
            at_ms: *at,
            by: e.member.clone(),
            session: session.clone(),
            proposal,
        },
        Some((Kind::NoneWork, e)) => Meet::NoneWork {
            by: e.member.clone(),
            at_ms: e.at_ms,
            proposal,
        },
        _ => Meet::Proposed(proposal),
    }
}

/// An offer, whatever its state.
fn of<'t>(team: &'t Team, offer: &OfferId) -> Result<&'t Offer, CommandError> {
    team.offers
        .get(offer)
        .ok_or_else(|| CommandError::NotFound {
            kind: "offer",
            id: offer.to_string(),
        })
}

/// An accepted offer that `me` is one of the two people of, still open to a meeting.
fn meetable<'t>(team: &'t Team, offer: &OfferId, me: &MemberId) -> Result<&'t Offer, CommandError> {
    let o = of(team, offer)?;
    if &o.from != me && &o.to != me {
        return Err(CommandError::NotYours {
            who: format!("{} or {}", team.name_of(&o.from), team.name_of(&o.to)),
            action: "arrange this meeting",
        });
    }
    match o.status() {
        OfferStatus::Accepted => Ok(o),
        status => Err(CommandError::Closed {
            kind: "offer",
            id: offer.to_string(),
            status: match status {
                OfferStatus::Pending => "still waiting for a yes",
                OfferStatus::Declined => "answered \"not now\"",
                OfferStatus::Ended => "ended: you did not meet",
                _ => "withdrawn",
            },
        }),
    }
}

/// The number of the newest proposal on `o`, or 0.
fn newest_seq(o: &Offer) -> u64 {
    match &o.meet {
        Meet::Open => 0,
        Meet::Proposed(p)
        | Meet::Agreed { proposal: p, .. }
        | Meet::NoneWork { proposal: p, .. } => p.seq,
    }
}

/// A proposal's number as the document keeps it.
fn stored(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Refuses (`why`) when a live session follows the yes on `o`.
fn no_session_yet(team: &Team, o: &Offer, why: &str) -> Result<(), CommandError> {
    if team.sessions.values().any(|s| s.follows(o)) {
        return Err(CommandError::InvalidInput {
            field: "offer",
            reason: why.into(),
        });
    }
    Ok(())
}

/// Writes my entry afresh (every field of it then comes from this device).
fn write_entry(
    cx: &mut Cx<'_>,
    offer: &OfferId,
    fill: impl FnOnce(&mut super::Writer<'_>, &ObjId) -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    let obj = cx.w.record(Collection::Offers, "offer", offer.as_str())?;
    let meet = map_or_new(&mut cx.w, &obj, MEET)?;
    let entry = cx.w.new_map(&meet, cx.me.as_str())?;
    fill(&mut cx.w, &entry)?;
    cx.w.put(&entry, key::AT_MS, cx.now_ms)?;
    Ok(())
}

/// Proposes one to [`MAX_TIMES`] times, each in the future, to meet for `minutes`.
pub(crate) fn propose(
    cx: &mut Cx<'_>,
    offer: &OfferId,
    times: &[i64],
    minutes: u32,
) -> Result<Applied, CommandError> {
    let o = meetable(cx.team, offer, cx.me)?;
    let mut times = times.to_vec();
    times.sort_unstable();
    times.dedup();
    if times.is_empty() || times.len() > MAX_TIMES {
        return Err(CommandError::InvalidInput {
            field: "times",
            reason: format!("propose one to {MAX_TIMES} times"),
        });
    }
    if times.iter().any(|t| *t <= cx.now_ms) {
        return Err(CommandError::InvalidInput {
            field: "times",
            reason: "every time must be in the future".into(),
        });
    }
    if !(1..=super::session::MAX_MINUTES).contains(&minutes) {
        return Err(CommandError::InvalidInput {
            field: "minutes",
            reason: "a meeting lasts 1 minute to a day".into(),
        });
    }
    // A session scheduled (or held) after this yes stands until it is cancelled.
    no_session_yet(
        cx.team,
        o,
        "a session is scheduled already: cancel it first",
    )?;
    let seq = newest_seq(o).saturating_add(1);
    let other = cx.name(o.other(cx.me));
    let list = times
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",");
    write_entry(cx, offer, |w, e| {
        w.put(e, key::KIND, "propose")?;
        w.put(e, key::SEQ, stored(seq))?;
        w.put(e, key::TIMES, list)?;
        w.put(e, key::MINUTES, i64::from(minutes))
    })?;
    done(format!(
        "proposed {} {} to {other}",
        times.len(),
        if times.len() == 1 { "time" } else { "times" }
    ))
}

/// Picks one of the times the other person proposed: the session is scheduled for it.
pub(crate) fn accept(
    cx: &mut Cx<'_>,
    offer: &OfferId,
    at_ms: i64,
) -> Result<Applied, CommandError> {
    let o = meetable(cx.team, offer, cx.me)?;
    let proposal = match &o.meet {
        Meet::Proposed(p) => p,
        Meet::Open | Meet::NoneWork { .. } => {
            return Err(CommandError::InvalidInput {
                field: "offer",
                reason: "no times wait for an answer".into(),
            });
        }
        Meet::Agreed { .. } => {
            return Err(CommandError::InvalidInput {
                field: "offer",
                reason: "a time is agreed already".into(),
            });
        }
    };
    if &proposal.by == cx.me {
        return Err(CommandError::NotYours {
            who: cx.name(o.other(cx.me)),
            action: "pick one of the times you proposed",
        });
    }
    if !proposal.times.contains(&at_ms) {
        return Err(CommandError::InvalidInput {
            field: "time",
            reason: "pick one of the times proposed".into(),
        });
    }
    if at_ms <= cx.now_ms {
        return Err(CommandError::InvalidInput {
            field: "time",
            reason: "that time has passed: propose new times".into(),
        });
    }
    no_session_yet(cx.team, o, "a session is scheduled already")?;
    let seq = proposal.seq;
    let session = NewSession {
        topic: o.topic.clone(),
        at_ms: Some(at_ms),
        minutes: proposal.minutes,
        offer: Some(o.id.clone()),
        request: o.request.clone(),
        skills: o
            .request
            .as_ref()
            .and_then(|r| cx.team.requests.get(r))
            .map(|r| r.skills.iter().cloned().collect())
            .unwrap_or_default(),
        ..NewSession::between(o.from.clone(), o.to.clone())
    };
    let scheduled = super::session::log(cx, session)?;
    let session_id = scheduled
        .created
        .clone()
        .and_then(|c| SessionId::try_from(c).ok());
    write_entry(cx, offer, |w, e| {
        w.put(e, key::KIND, "pick")?;
        w.put(e, key::SEQ, stored(seq))?;
        w.put(e, key::PICK, at_ms)?;
        w.put_some(e, key::SESSION, session_id.as_ref().map(SessionId::as_str))
    })?;
    Ok(Applied {
        created: scheduled.created,
        summary: format!("agreed to meet {} UTC", format_datetime(at_ms)),
    })
}

/// Says none of the other person's times work.
pub(crate) fn decline(cx: &mut Cx<'_>, offer: &OfferId) -> Result<Applied, CommandError> {
    let o = meetable(cx.team, offer, cx.me)?;
    let seq = match &o.meet {
        Meet::Proposed(p) if &p.by != cx.me => p.seq,
        _ => {
            return Err(CommandError::InvalidInput {
                field: "offer",
                reason: "no times of theirs wait for your answer".into(),
            });
        }
    };
    write_entry(cx, offer, |w, e| {
        w.put(e, key::KIND, "none")?;
        w.put(e, key::SEQ, stored(seq))
    })?;
    done("said none of the times work")
}

/// Takes back my "we did not meet": the offer is open to a meeting again (my entry says
/// so; a time I had proposed before is not proposed again).
pub(crate) fn resume(cx: &mut Cx<'_>, offer: &OfferId) -> Result<Applied, CommandError> {
    let o = of(cx.team, offer)?;
    let refuse = |reason: String| {
        Err(CommandError::InvalidInput {
            field: "offer",
            reason,
        })
    };
    if o.ended.as_ref().map(|(by, _)| by) != Some(cx.me) {
        return refuse("only the one who said \"we did not meet\" takes it back".into());
    }
    let other = o.other(cx.me).clone();
    let other_ended =
        cx.w.record(Collection::Offers, "offer", offer.as_str())
            .ok()
            .and_then(|obj| crate::fields::get_map(cx.w.doc, &obj, MEET))
            .and_then(|meet| crate::fields::get_map(cx.w.doc, &meet, other.as_str()))
            .is_some_and(|entry| Fields::read(cx.w.doc, &entry).str(key::KIND) == Some("ended"));
    if other_ended {
        return refuse(format!(
            "{} said you did not meet too: the offer stays closed",
            cx.name(&other)
        ));
    }
    if let Some(r) = o.request.as_ref().and_then(|r| cx.team.requests.get(r)) {
        if !r.is_active() {
            return refuse(format!("the request \"{}\" is closed", r.title));
        }
        if cx.team.offers.values().any(|x| {
            x.id != o.id
                && x.request == o.request
                && x.status() == crate::model::OfferStatus::Accepted
        }) {
            return refuse("another offer on the request was said yes to since".into());
        }
    }
    write_entry(cx, offer, |w, e| w.put(e, key::KIND, "resumed"))?;
    done("the offer is open again: find a time")
}

/// Says we did not meet: the offer ends, and its request goes back to the board.
pub(crate) fn end(cx: &mut Cx<'_>, offer: &OfferId) -> Result<Applied, CommandError> {
    let o = meetable(cx.team, offer, cx.me)?;
    no_session_yet(
        cx.team,
        o,
        "a session follows this yes: cancel it if you will not meet",
    )?;
    let request = o.request.clone();
    write_entry(cx, offer, |w, e| w.put(e, key::KIND, "ended"))?;
    done(if request.is_some() {
        "ended the offer: the request is back on the board"
    } else {
        "ended the offer"
    })
}
