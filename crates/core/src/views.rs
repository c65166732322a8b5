//! Derived views: the help board, my inbox, the activity history, the board as it stood
//! at a past date, the skill map, backfill coverage and "you coached each other".
//!
//! Everything here is computed from records; nothing is stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::ids::{DutyId, FollowUpId, MemberId, OfferId, RecordId, RequestId, SessionId};
use crate::model::{
    Answer, Closed, Offer, OfferStatus, Request, Session, SkillLevel, Stage, Team, Urgency,
};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestStatus {
    /// Nobody is on it yet.
    Open,
    /// Claimed, an offer was accepted, or a session followed.
    BeingHelped,
    /// Done.
    Resolved,
    /// Taken back by the author.
    Withdrawn,
}

impl RequestStatus {
    /// Stored/typed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::BeingHelped => "being-helped",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::BeingHelped => "being helped",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// Lookups between records, built once per view.
#[derive(Debug, Default)]
pub struct Index<'t> {
    offers_by_request: HashMap<&'t RequestId, Vec<&'t Offer>>,
    sessions_by_request: HashMap<&'t RequestId, Vec<&'t crate::model::Session>>,
    /// Count every close and reopen, whatever its time: the live board's view, which must
    /// agree with the Closed list even when a device's clock ran ahead.
    live: bool,
}

impl<'t> Index<'t> {
    /// Builds the index. An offer counts on a request only when it is made to the request's
    /// author by someone else: one a device wrote to itself, naming another's request,
    /// says nothing about who helps them.
    pub fn new(team: &'t Team) -> Self {
        let mut index = Index::default();
        for o in team.offers.values() {
            if let Some(r) = &o.request
                && team
                    .requests
                    .get(r)
                    .is_some_and(|req| o.to == req.author && o.from != req.author)
            {
                index.offers_by_request.entry(r).or_default().push(o);
            }
        }
        for s in team.sessions.values().filter(|s| s.deleted_ms.is_none()) {
            if let Some(r) = &s.request {
                index.sessions_by_request.entry(r).or_default().push(s);
            }
        }
        index
    }

    /// The index for the board as it is now: closes and reopens count whatever their time.
    pub fn live(team: &'t Team) -> Self {
        Self {
            live: true,
            ..Self::new(team)
        }
    }

    /// From when help on `r` counts as of `at_ms`: its last reopening, if any (on the live
    /// board whatever its time, as closes count there).
    pub fn since(&self, r: &Request, at_ms: i64) -> i64 {
        r.reopened_ms
            .filter(|t| self.live || *t <= at_ms)
            .unwrap_or(i64::MIN)
    }

    /// Who is helping with `r` as of `at_ms`: the first whose offer to its author got a
    /// yes since it was last reopened.
    pub fn helper(&self, r: &Request, at_ms: i64) -> Option<&'t MemberId> {
        let since = self.since(r, at_ms);
        self.offers_on(&r.id)
            .iter()
            .filter_map(|o| o.yes_at(at_ms, self.live).map(|yes| (*o, yes)))
            .filter(|(_, yes)| *yes >= since)
            .min_by_key(|(o, yes)| (*yes, &o.id))
            .map(|(o, _)| &o.from)
    }

    /// Offers made on a request (to its author, by someone else).
    pub fn offers_on(&self, request: &RequestId) -> &[&'t Offer] {
        self.offers_by_request
            .get(request)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// When help first started on a request, as of time `at_ms`: the earliest live claim,
    /// yes to an offer on it, or session for it.
    pub fn helped_ms(&self, r: &Request, at_ms: i64) -> Option<i64> {
        // Help before a reopening does not carry over: it did not settle it.
        let since = self.since(r, at_ms);
        let claims = r
            .claims
            .iter()
            .filter(|c| c.at_ms <= at_ms && c.at_ms >= since)
            .map(|c| c.at_ms);
        let yeses = self
            .offers_on(&r.id)
            .iter()
            .filter_map(|o| o.yes_at(at_ms, self.live))
            .filter(|yes| *yes >= since);
        let sessions = self
            .sessions_by_request
            .get(&r.id)
            .into_iter()
            .flatten()
            .map(|s| s.at_ms.min(s.created_ms))
            .filter(|t| *t <= at_ms && *t >= since);
        claims.chain(yeses).chain(sessions).min()
    }

    /// A request's status as of `at_ms` (use `i64::MAX` for now).
    pub fn status_at(&self, r: &Request, at_ms: i64) -> RequestStatus {
        let closures_at = if self.live { i64::MAX } else { at_ms };
        match r.closed_at(closures_at) {
            Some((Closed::Withdrawn, _)) => return RequestStatus::Withdrawn,
            Some((Closed::Resolved, _)) => return RequestStatus::Resolved,
            None => {}
        }
        // Only help since a reopening counts.
        let since = self.since(r, at_ms);
        let live_claim = r.claims.iter().any(|c| {
            c.at_ms <= at_ms && c.at_ms >= since && c.released_ms.is_none_or(|t| t > at_ms)
        });
        let accepted = self
            .offers_on(&r.id)
            .iter()
            .any(|o| o.yes_at(at_ms, self.live).is_some_and(|yes| yes >= since));
        let session = self.sessions_by_request.get(&r.id).is_some_and(|s| {
            s.iter()
                .any(|s| s.created_ms <= at_ms && s.created_ms >= since)
        });
        if live_claim || accepted || session {
            RequestStatus::BeingHelped
        } else {
            RequestStatus::Open
        }
    }

    /// Current status.
    pub fn status(&self, r: &Request) -> RequestStatus {
        self.status_at(r, i64::MAX)
    }
}

/// One row of the help board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRow {
    /// Request id.
    pub id: RequestId,
    /// Title.
    pub title: String,
    /// What they tried.
    pub tried: String,
    /// Who asked.
    pub author: MemberId,
    /// Their name.
    pub author_name: String,
    /// Aimed at one person.
    pub to: Option<MemberId>,
    /// That person's name.
    pub to_name: Option<String>,
    /// Urgency.
    pub urgency: Urgency,
    /// Skill tags.
    pub skills: Vec<String>,
    /// When asked.
    pub created_ms: i64,
    /// How long it has waited (until now, or until help started).
    pub waiting_ms: i64,
    /// Status.
    pub status: RequestStatus,
    /// Who holds the claim.
    pub claimed_by: Option<String>,
    /// Whose offer the author said yes to: they are helping.
    #[serde(default)]
    pub helper: Option<MemberId>,
    /// Their name.
    #[serde(default)]
    pub helped_by: Option<String>,
    /// The author has never been helped yet: they go first.
    pub first_time: bool,
    /// Offers waiting for an answer.
    pub pending_offers: usize,
    /// Open since then with nobody offering or claiming: its creation or last reopening.
    #[serde(default)]
    pub no_offer_since: Option<i64>,
    /// Comments.
    pub comments: usize,
}

/// The help board at `now_ms`: open requests before those being helped; within each,
/// people never helped before first, then higher urgency, then the longest waiting.
pub fn board(team: &Team, now_ms: i64) -> Vec<BoardRow> {
    rows(team, now_ms, Index::live(team))
}

/// The board as it stood at `at_ms` (read-only history view). Uses only record
/// timestamps, so it needs no document history.
pub fn board_at(team: &Team, at_ms: i64) -> Vec<BoardRow> {
    rows(team, at_ms, Index::new(team))
}

/// The board's rows at `at_ms`, with `index` deciding how closes count.
fn rows<'t>(team: &'t Team, at_ms: i64, index: Index<'t>) -> Vec<BoardRow> {
    // Who had been helped before `at_ms` (as a coachee or on a request of theirs).
    let mut helped: BTreeSet<&MemberId> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none() && s.at_ms <= at_ms)
        .map(|s| &s.coachee)
        .collect();
    for r in team.requests.values() {
        if index.helped_ms(r, at_ms).is_some() {
            helped.insert(&r.author);
        }
    }
    let mut rows: Vec<BoardRow> = team
        .requests
        .values()
        .filter(|r| r.created_ms <= at_ms)
        .filter_map(|r| {
            let status = index.status_at(r, at_ms);
            if !matches!(status, RequestStatus::Open | RequestStatus::BeingHelped) {
                return None;
            }
            let waited_until = index.helped_ms(r, at_ms).unwrap_or(at_ms);
            Some(BoardRow {
                id: r.id.clone(),
                title: r.title.clone(),
                tried: r.tried.clone(),
                author: r.author.clone(),
                author_name: team.name_of(&r.author),
                to: r.to.clone(),
                to_name: r.to.as_ref().map(|m| team.name_of(m)),
                urgency: r.urgency,
                skills: r.skills.iter().cloned().collect(),
                created_ms: r.created_ms,
                waiting_ms: (waited_until - r.created_ms).max(0),
                status,
                claimed_by: r
                    .claims
                    .iter()
                    .filter(|c| {
                        let since = index.since(r, at_ms);
                        c.at_ms <= at_ms
                            && c.at_ms >= since
                            && c.released_ms.is_none_or(|t| t > at_ms)
                    })
                    .min_by(|a, b| (a.at_ms, &a.member).cmp(&(b.at_ms, &b.member)))
                    .map(|c| team.name_of(&c.member)),
                helper: index.helper(r, at_ms).cloned(),
                helped_by: index.helper(r, at_ms).map(|m| team.name_of(m)),
                first_time: !helped.contains(&r.author),
                pending_offers: index
                    .offers_on(&r.id)
                    .iter()
                    .filter(|o| o.created_ms <= at_ms && o.status() == OfferStatus::Pending)
                    .count(),
                comments: r
                    .comments
                    .iter()
                    .filter(|c| c.deleted_ms.is_none() && c.at_ms <= at_ms)
                    .count(),
                no_offer_since: {
                    // Waiting since it was opened, or since the last offer on it closed
                    // (declined, withdrawn, or "we did not meet").
                    let since = index.since(r, at_ms);
                    let offers: Vec<_> = index
                        .offers_on(&r.id)
                        .iter()
                        .filter(|o| o.created_ms <= at_ms && o.created_ms >= since)
                        .collect();
                    let live = offers.iter().any(|o| {
                        matches!(o.status(), OfferStatus::Pending | OfferStatus::Accepted)
                    });
                    let closed = offers
                        .iter()
                        .filter_map(|o| {
                            o.ended
                                .as_ref()
                                .map(|(_, t)| *t)
                                .or(o.withdrawn_ms)
                                .or(o.response.map(|r| r.at_ms))
                        })
                        .max();
                    let claimed = r
                        .claims
                        .iter()
                        .any(|c| c.at_ms <= at_ms && c.at_ms >= since);
                    (status == RequestStatus::Open && !live && !claimed)
                        .then(|| since.max(r.created_ms).max(closed.unwrap_or(i64::MIN)))
                },
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            a.status,
            !a.first_time,
            std::cmp::Reverse(a.urgency),
            a.created_ms,
            &a.id,
        )
            .cmp(&(
                b.status,
                !b.first_time,
                std::cmp::Reverse(b.urgency),
                b.created_ms,
                &b.id,
            ))
    });
    rows
}

/// An offer as someone may see it (advice only after a yes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRow {
    /// Id.
    pub id: OfferId,
    /// Offerer.
    pub from: MemberId,
    /// Name.
    pub from_name: String,
    /// Person asked.
    pub to: MemberId,
    /// Name.
    pub to_name: String,
    /// The request it is on.
    pub request: Option<RequestId>,
    /// Topic.
    pub topic: String,
    /// When.
    pub created_ms: i64,
    /// Status.
    pub status: OfferStatus,
    /// The advice, where the viewer may see it.
    pub message: Option<String>,
    /// There is advice behind the consent gate.
    pub message_hidden: bool,
    /// A session already followed this offer (or is scheduled after it).
    pub session_logged: bool,
    /// When the person asked said yes.
    #[serde(default)]
    pub yes_ms: Option<i64>,
    /// After a yes: where finding a time stands.
    #[serde(default = "open_meet")]
    pub meet: crate::records::meet::Meet,
}

/// An offer row from before meetings were arranged in the app.
fn open_meet() -> crate::records::meet::Meet {
    crate::records::meet::Meet::Open
}

impl OfferRow {
    /// The name of one of the offer's two people.
    pub fn name_of(&self, member: &MemberId) -> &str {
        if member == &self.from {
            &self.from_name
        } else {
            &self.to_name
        }
    }
}

/// A resolved or withdrawn request, under the board's "Closed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedRow {
    /// Request.
    pub id: RequestId,
    /// Title.
    pub title: String,
    /// Who asked.
    pub author: MemberId,
    /// Their name.
    pub author_name: String,
    /// How it was closed.
    pub closed: Closed,
    /// When.
    pub closed_ms: i64,
}

/// Resolved and withdrawn requests, the most recently closed first.
pub fn closed(team: &Team) -> Vec<ClosedRow> {
    let mut rows: Vec<ClosedRow> = team
        .requests
        .values()
        .filter_map(|r| {
            let (closed, closed_ms) = r.closed_at(i64::MAX)?;
            Some(ClosedRow {
                id: r.id.clone(),
                title: r.title.clone(),
                author: r.author.clone(),
                author_name: team.name_of(&r.author),
                closed,
                closed_ms,
            })
        })
        .collect();
    rows.sort_by(|a, b| (b.closed_ms, &b.id).cmp(&(a.closed_ms, &a.id)));
    rows
}

/// An offer as `viewer` may see it.
pub fn offer_row(team: &Team, o: &Offer, viewer: Option<&MemberId>) -> OfferRow {
    let message = o.visible_message(viewer).map(str::to_owned);
    OfferRow {
        id: o.id.clone(),
        from: o.from.clone(),
        from_name: team.name_of(&o.from),
        to: o.to.clone(),
        to_name: team.name_of(&o.to),
        request: o.request.clone(),
        topic: o.topic.clone(),
        created_ms: o.created_ms,
        status: o.status(),
        message_hidden: message.is_none() && o.has_message(),
        message,
        session_logged: team.sessions.values().any(|s| s.follows(o)),
        yes_ms: o.yes_at(i64::MAX, true),
        meet: o.meet.clone(),
    }
}

/// A follow-up due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpRow {
    /// Session.
    pub session: SessionId,
    /// Follow-up.
    pub id: FollowUpId,
    /// What.
    pub text: String,
    /// Due.
    pub due_ms: Option<i64>,
    /// Session topic.
    pub topic: String,
    /// The other person in the session.
    pub with_name: String,
}

/// A claim of mine that lost a concurrent race.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostClaim {
    /// Request.
    pub request: RequestId,
    /// Title.
    pub title: String,
    /// Who won.
    pub winner_name: String,
}

/// My inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    /// Offers waiting for my yes / not now.
    pub offers_to_answer: Vec<OfferRow>,
    /// Open requests aimed at me.
    pub requests_for_me: Vec<BoardRow>,
    /// My open follow-ups.
    pub followups: Vec<FollowUpRow>,
    /// My offers that got a yes and have no session yet.
    pub accepted_offers: Vec<OfferRow>,
    /// Claims of mine that lost to an earlier one.
    pub lost_claims: Vec<LostClaim>,
    /// Offers I said yes to that have no session yet: the advice (visible now) and what
    /// comes next.
    #[serde(default)]
    pub agreed: Vec<OfferRow>,
    /// Thanks I received in the last [`THANKS_SHOWN_DAYS`] days, newest first.
    #[serde(default)]
    pub thanks: Vec<ThanksRow>,
    /// Sessions I was coached in lately with something left to do: thank the coach,
    /// resolve the request it answered. Newest first.
    #[serde(default)]
    pub after_sessions: Vec<AfterSession>,
    /// Someone asked me to float on the rota, or to be an apprentice on a duty: it takes
    /// effect when I say yes.
    #[serde(default)]
    pub asks: Vec<AskRow>,
}

/// What I am asked to take on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Asked {
    /// To float on the helper rota in an ISO week.
    Rota {
        /// The week.
        week: String,
    },
    /// To be an apprentice on a duty, starting at a stage.
    Apprentice {
        /// The duty.
        duty: DutyId,
        /// Its name.
        title: String,
        /// The stage.
        stage: Stage,
    },
}

/// An ask in my inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskRow {
    /// What.
    pub asked: Asked,
    /// Who asks.
    pub by: MemberId,
    /// Their name.
    pub by_name: String,
}

impl Asked {
    /// What is asked, whatever the names: the week, or the duty.
    pub fn key(&self) -> &str {
        match self {
            Self::Rota { week } => week,
            Self::Apprentice { duty, .. } => duty.as_str(),
        }
    }
}

impl AskRow {
    /// The question, for people ("Ana asks you to float in 2026-W49").
    pub fn text(&self) -> String {
        match &self.asked {
            Asked::Rota { week } => format!(
                "{} asks you to float on the helper rota in {week}",
                self.by_name
            ),
            Asked::Apprentice { title, stage, .. } => format!(
                "{} asks you to be an apprentice on \"{title}\", starting at {}",
                self.by_name,
                stage.as_str()
            ),
        }
    }
}

/// What `me` is asked to take on and has not answered: rota weeks from this one on, and
/// duties.
pub fn asks(team: &Team, me: &MemberId, now_ms: i64) -> Vec<AskRow> {
    let this_week = crate::time::iso_week_key(now_ms);
    let row = |asked, by: &MemberId| AskRow {
        asked,
        by: by.clone(),
        by_name: team.name_of(by),
    };
    let mut rows: Vec<AskRow> = team
        .rota_asks
        .iter()
        .filter(|a| &a.member == me && a.week >= this_week)
        .map(|a| {
            row(
                Asked::Rota {
                    week: a.week.clone(),
                },
                &a.by,
            )
        })
        .collect();
    for d in team.duties.values().filter(|d| d.deleted_ms.is_none()) {
        for b in d.asked.iter().filter(|b| &b.apprentice == me) {
            rows.push(row(
                Asked::Apprentice {
                    duty: d.id.clone(),
                    title: d.title.clone(),
                    stage: b.stage,
                },
                b.by.as_ref().unwrap_or(&d.owner),
            ));
        }
    }
    rows
}

/// How long after a session the inbox asks what is left to do.
pub const AFTER_SESSION_DAYS: i64 = 30;

/// A session I was coached in, and what is left to do after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSession {
    /// The session.
    pub session: SessionId,
    /// Its topic.
    pub topic: String,
    /// Who coached me.
    pub coach: MemberId,
    /// Their name.
    pub coach_name: String,
    /// When it took place.
    pub at_ms: i64,
    /// I have not thanked them for it yet.
    pub thank: bool,
    /// My request it answered, still open: resolve it?
    pub resolve: Option<(RequestId, String)>,
}

/// How long thanks stay in the inbox.
pub const THANKS_SHOWN_DAYS: i64 = 14;

/// A thanks note, as its receiver sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanksRow {
    /// Who thanked.
    pub from_name: String,
    /// What they wrote.
    pub text: String,
    /// The session it was for, with its topic.
    pub session: Option<(SessionId, String)>,
    /// When.
    pub at_ms: i64,
}

impl Inbox {
    /// Nothing needs me, and nothing new came my way.
    pub fn is_empty(&self) -> bool {
        self.offers_to_answer.is_empty()
            && self.requests_for_me.is_empty()
            && self.followups.is_empty()
            && self.accepted_offers.is_empty()
            && self.lost_claims.is_empty()
            && self.agreed.is_empty()
            && self.thanks.is_empty()
            && self.after_sessions.is_empty()
            && self.asks.is_empty()
    }

    /// How many things wait for me to act (the inbox's badge): thanks are not counted.
    pub fn to_act_on(&self) -> usize {
        self.offers_to_answer.len()
            + self.requests_for_me.len()
            + self.accepted_offers.len()
            + self.lost_claims.len()
            + self.agreed.len()
            + self.asks.len()
            + self
                .after_sessions
                .iter()
                .filter(|a| a.resolve.is_some())
                .count()
    }
}

/// What needs `me`.
pub fn inbox(team: &Team, me: &MemberId, now_ms: i64) -> Inbox {
    let mut offers_to_answer: Vec<OfferRow> = team
        .offers
        .values()
        .filter(|o| &o.to == me && o.status() == OfferStatus::Pending)
        .map(|o| offer_row(team, o, Some(me)))
        .collect();
    offers_to_answer.sort_by_key(|o| o.created_ms);
    let requests_for_me = board(team, now_ms)
        .into_iter()
        .filter(|r| r.to.as_ref() == Some(me))
        .collect();
    let mut followups: Vec<FollowUpRow> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none())
        .flat_map(|s| {
            s.followups
                .iter()
                .filter(|u| &u.owner == me && u.done_ms.is_none())
                .map(move |u| FollowUpRow {
                    session: s.id.clone(),
                    id: u.id.clone(),
                    text: u.text.clone(),
                    due_ms: u.due_ms,
                    topic: s.topic.clone(),
                    with_name: team.name_of(if &s.coach == me { &s.coachee } else { &s.coach }),
                })
        })
        .collect();
    followups.sort_by_key(|u| (u.due_ms.unwrap_or(i64::MAX), u.text.clone()));
    // Offers said yes to whose session is not logged yet, where I am on `side`.
    let accepted_unlogged = |side: fn(&Offer) -> &MemberId| {
        let mut rows: Vec<OfferRow> = team
            .offers
            .values()
            .filter(|o| side(o) == me && o.status() == OfferStatus::Accepted)
            .map(|o| offer_row(team, o, Some(me)))
            .filter(|o| !o.session_logged)
            .collect();
        rows.sort_by_key(|o| o.created_ms);
        rows
    };
    let accepted_offers = accepted_unlogged(|o| &o.from);
    let lost_claims = team
        .requests
        .values()
        .filter(|r| r.is_active())
        .filter_map(|r| {
            let mine = r
                .claims
                .iter()
                .any(|c| &c.member == me && c.released_ms.is_none());
            let winner = r.winning_claim()?;
            (mine && &winner.member != me).then(|| LostClaim {
                request: r.id.clone(),
                title: r.title.clone(),
                winner_name: team.name_of(&winner.member),
            })
        })
        .collect();
    let agreed = accepted_unlogged(|o| &o.to);
    let since = now_ms - THANKS_SHOWN_DAYS * crate::time::DAY_MS;
    let mut thanks: Vec<ThanksRow> = team
        .thanks
        .values()
        .filter(|t| &t.to == me && t.at_ms >= since)
        .map(|t| ThanksRow {
            from_name: team.name_of(&t.from),
            text: t.text.clone(),
            session: t.session.as_ref().and_then(|s| {
                team.sessions
                    .get(s)
                    .map(|session| (s.clone(), session.topic.clone()))
            }),
            at_ms: t.at_ms,
        })
        .collect();
    thanks.sort_by_key(|t| std::cmp::Reverse(t.at_ms));
    let after_sessions = after_sessions(team, me, now_ms);
    Inbox {
        offers_to_answer,
        requests_for_me,
        followups,
        accepted_offers,
        lost_claims,
        agreed,
        thanks,
        after_sessions,
        asks: asks(team, me, now_ms),
    }
}

/// Sessions `me` was coached in during the last [`AFTER_SESSION_DAYS`], with what is
/// left to do: a thanks not sent yet, a request of mine it answered still open.
fn after_sessions(team: &Team, me: &MemberId, now_ms: i64) -> Vec<AfterSession> {
    let since = now_ms - AFTER_SESSION_DAYS * crate::time::DAY_MS;
    let mut rows: Vec<AfterSession> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none() && &s.coachee == me && s.coach != *me)
        .filter(|s| s.at_ms.max(s.created_ms) >= since && s.at_ms <= now_ms)
        .filter_map(|s| {
            let offer = s.offer.as_ref().and_then(|o| team.offers.get(o));
            // Thanked: for this session, or unlinked since the yes (or the session).
            let from_ms = offer
                .and_then(|o| o.response.map(|r| r.at_ms))
                .unwrap_or(s.at_ms);
            let thanked = team.thanks.values().any(|t| {
                &t.from == me
                    && t.to == s.coach
                    && match &t.session {
                        Some(id) => id == &s.id,
                        None => t.at_ms >= from_ms,
                    }
            });
            let resolve = s
                .request
                .as_ref()
                .or_else(|| offer.and_then(|o| o.request.as_ref()))
                .and_then(|r| team.requests.get(r))
                .filter(|r| &r.author == me && r.is_active())
                .map(|r| (r.id.clone(), r.title.clone()));
            (!thanked || resolve.is_some()).then(|| AfterSession {
                session: s.id.clone(),
                topic: s.topic.clone(),
                coach: s.coach.clone(),
                coach_name: team.name_of(&s.coach),
                at_ms: s.at_ms,
                thank: !thanked,
                resolve,
            })
        })
        .collect();
    rows.sort_by_key(|a| std::cmp::Reverse(a.at_ms));
    // One prompt per request: with the newest session that answered it.
    let mut asked = BTreeSet::new();
    for row in &mut rows {
        if let Some((request, _)) = &row.resolve
            && !asked.insert(request.clone())
        {
            row.resolve = None;
        }
    }
    rows.retain(|a| a.thank || a.resolve.is_some());
    rows
}

/// The outcome of my claim on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "winner")]
pub enum ClaimOutcome {
    /// I hold the claim.
    Won,
    /// Someone claimed it earlier (concurrently); they have it.
    LostTo(String),
    /// I have no live claim.
    NoClaim,
}

/// Whether `me` holds the claim on a request.
pub fn claim_outcome(team: &Team, request: &RequestId, me: &MemberId) -> ClaimOutcome {
    let Some(r) = team.requests.get(request) else {
        return ClaimOutcome::NoClaim;
    };
    if !r
        .claims
        .iter()
        .any(|c| &c.member == me && c.released_ms.is_none())
    {
        return ClaimOutcome::NoClaim;
    }
    match r.winning_claim() {
        Some(w) if &w.member == me => ClaimOutcome::Won,
        Some(w) => ClaimOutcome::LostTo(team.name_of(&w.member)),
        None => ClaimOutcome::NoClaim,
    }
}

/// What kind of event a history line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HistoryKind {
    /// Membership.
    Member,
    /// Requests, claims, comments.
    Request,
    /// Offers and answers.
    Offer,
    /// Sessions and follow-ups.
    Session,
    /// Thanks.
    Thanks,
    /// Duties and backfill.
    Backfill,
    /// Something that claims to speak for someone else: ignored by every view.
    Forged,
}

/// One line of the activity history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// When.
    pub at_ms: i64,
    /// Who did it.
    pub who: Option<MemberId>,
    /// Their name.
    pub who_name: String,
    /// What happened.
    pub text: String,
    /// Kind.
    pub kind: HistoryKind,
    /// The record it is about, which the line opens.
    #[serde(default)]
    pub record: Option<RecordId>,
}

/// The activity history, newest first.
pub fn history(team: &Team) -> Vec<HistoryItem> {
    let mut items = Vec::new();
    let mut push = |record: &Option<RecordId>,
                    at_ms: i64,
                    who: Option<&MemberId>,
                    text: String,
                    kind: HistoryKind| {
        items.push(HistoryItem {
            record: record.clone(),
            at_ms,
            who: who.cloned(),
            who_name: who
                .map(|w| team.name_of(w))
                .unwrap_or_else(|| "someone".into()),
            text,
            kind,
        });
    };
    for m in team.members.values() {
        let rec = Some(RecordId::Member(m.id.clone()));
        push(
            &rec,
            m.created_ms,
            Some(&m.id),
            "joined the team".into(),
            HistoryKind::Member,
        );
        for v in m.removal_votes.iter().filter(|v| v.genuine) {
            let Some(by) = &v.by else { continue };
            let text = if by == &m.id {
                "left the team".to_owned()
            } else {
                format!("asked to remove {}", m.name)
            };
            push(&rec, v.at_ms, Some(by), text, HistoryKind::Member);
        }
        if let Some(t) = m.removed_ms {
            push(
                &rec,
                t,
                Some(&m.id),
                "was removed from the team".into(),
                HistoryKind::Member,
            );
        }
    }
    for f in team.ignored() {
        let rec = None;
        push(
            &rec,
            f.at_ms,
            team.member_of_actor(&f.actor),
            format!(
                "IGNORED: {} (as {}; it counts for nothing)",
                f.what,
                team.name_of(&f.claimed)
            ),
            HistoryKind::Forged,
        );
    }
    for r in team.requests.values() {
        let rec = Some(RecordId::Request(r.id.clone()));
        let aimed =
            r.to.as_ref()
                .map(|t| format!(" (asked {})", team.name_of(t)))
                .unwrap_or_default();
        push(
            &rec,
            r.created_ms,
            Some(&r.author),
            format!("asked for help: {}{aimed}", r.title),
            HistoryKind::Request,
        );
        for e in &r.edits {
            push(
                &rec,
                e.at_ms,
                Some(&e.by),
                edit_text(e, "request", &r.title),
                HistoryKind::Request,
            );
        }
        for c in &r.claims {
            push(
                &rec,
                c.at_ms,
                Some(&c.member),
                format!("is on it: {}", r.title),
                HistoryKind::Request,
            );
            if let Some(t) = c.released_ms {
                push(
                    &rec,
                    t,
                    Some(&c.member),
                    format!("let go of: {}", r.title),
                    HistoryKind::Request,
                );
            }
        }
        for c in r.comments.iter().filter(|c| c.deleted_ms.is_none()) {
            push(
                &rec,
                c.at_ms,
                Some(&c.author),
                format!("commented on: {}", r.title),
                HistoryKind::Request,
            );
        }
        if let Some(t) = r.resolved_ms {
            let who = r.resolved_by.as_ref().unwrap_or(&r.author);
            push(
                &rec,
                t,
                Some(who),
                format!("resolved: {}", r.title),
                HistoryKind::Request,
            );
        }
        if let Some(t) = r.withdrawn_ms {
            push(
                &rec,
                t,
                Some(&r.author),
                format!("withdrew: {}", r.title),
                HistoryKind::Request,
            );
        }
        if let Some(t) = r.reopened_ms {
            push(
                &rec,
                t,
                Some(&r.author),
                format!("reopened: {}", r.title),
                HistoryKind::Request,
            );
        }
        for f in &r.forged_claims {
            push(
                &rec,
                f.at_ms,
                team.member_of_actor(&f.actor),
                format!(
                    "FORGED: wrote a claim in {}'s name on \"{}\" (ignored)",
                    team.name_of(&f.claimed),
                    r.title
                ),
                HistoryKind::Forged,
            );
        }
    }
    for o in team.offers.values() {
        let rec = Some(
            o.request
                .clone()
                .map_or_else(|| RecordId::Offer(o.id.clone()), RecordId::Request),
        );
        push(
            &rec,
            o.created_ms,
            Some(&o.from),
            format!(
                "asked {} \"Would you like some help?\" ({})",
                team.name_of(&o.to),
                o.topic
            ),
            HistoryKind::Offer,
        );
        if let Some(resp) = o.response {
            let said = match resp.answer {
                Answer::Yes => "said yes to help from",
                Answer::NotNow => "said not now to",
            };
            push(
                &rec,
                resp.at_ms,
                Some(&o.to),
                format!("{said} {} ({})", team.name_of(&o.from), o.topic),
                HistoryKind::Offer,
            );
        }
        if let Some(t) = o.withdrawn_ms {
            push(
                &rec,
                t,
                Some(&o.from),
                format!("withdrew an offer ({})", o.topic),
                HistoryKind::Offer,
            );
        }
        for f in &o.forged_responses {
            push(
                &rec,
                f.at_ms,
                team.member_of_actor(&f.actor),
                format!(
                    "FORGED: {} in {}'s name to an offer from {} (ignored)",
                    f.what,
                    team.name_of(&f.claimed),
                    team.name_of(&o.from)
                ),
                HistoryKind::Forged,
            );
        }
    }
    for s in team.sessions.values() {
        let rec = Some(RecordId::Session(s.id.clone()));
        if let Some(t) = s.deleted_ms {
            push(
                &rec,
                t,
                s.deleted_by.as_ref(),
                format!("put a session in the trash: {}", s.topic),
                HistoryKind::Session,
            );
            continue;
        }
        if let Some(t) = s.restored_ms {
            push(
                &rec,
                t,
                s.restored_by.as_ref(),
                format!("restored a session from the trash: {}", s.topic),
                HistoryKind::Session,
            );
        }
        let logger = s.logged_by.as_ref().unwrap_or(&s.coach);
        push(
            &rec,
            s.created_ms,
            Some(logger),
            format!(
                "logged a session: {} coached {} on {}",
                team.name_of(&s.coach),
                team.name_of(&s.coachee),
                s.topic
            ),
            HistoryKind::Session,
        );
        for e in &s.edits {
            push(
                &rec,
                e.at_ms,
                Some(&e.by),
                edit_text(e, "session", &s.topic),
                HistoryKind::Session,
            );
        }
        for u in &s.followups {
            if let Some(t) = u.done_ms {
                push(
                    &rec,
                    t,
                    Some(&u.owner),
                    format!("did a follow-up: {}", u.text),
                    HistoryKind::Session,
                );
            }
        }
    }
    for t in team.thanks.values() {
        let rec = t.session.clone().map(RecordId::Session);
        push(
            &rec,
            t.at_ms,
            Some(&t.from),
            format!("thanked {}", team.name_of(&t.to)),
            HistoryKind::Thanks,
        );
    }
    for d in team.duties.values() {
        let rec = Some(RecordId::Duty(d.id.clone()));
        push(
            &rec,
            d.created_ms,
            Some(&d.owner),
            format!("listed a duty: {}", d.title),
            HistoryKind::Backfill,
        );
        for e in &d.edits {
            push(
                &rec,
                e.at_ms,
                Some(&e.by),
                edit_text(e, "duty", &d.title),
                HistoryKind::Backfill,
            );
        }
        if let Some(t) = d.deleted_ms {
            push(
                &rec,
                t,
                d.trashed_by.as_ref(),
                format!("put a duty in the trash: {}", d.title),
                HistoryKind::Backfill,
            );
        } else if let Some(t) = d.restored_ms {
            push(
                &rec,
                t,
                d.trashed_by.as_ref(),
                format!("restored a duty from the trash: {}", d.title),
                HistoryKind::Backfill,
            );
        }
        for b in &d.backfills {
            push(
                &rec,
                b.updated_ms,
                Some(&b.apprentice),
                format!("is at {} on {}", b.stage.as_str(), d.title),
                HistoryKind::Backfill,
            );
        }
    }
    items.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| a.text.cmp(&b.text)));
    items
}

/// A history line for an edit of a `noun` ("request") called `title` now.
fn edit_text(e: &crate::records::edits::Edit, noun: &str, title: &str) -> String {
    let lost = if e.concurrent {
        " (edited at the same time as another change to it: one of the two was kept)"
    } else {
        ""
    };
    let field = e.field_name();
    if matches!(field, "title" | "topic") {
        // Its name is the change: said once.
        format!("changed the {field} of a {noun} to \"{}\"{lost}", e.value)
    } else {
        format!(
            "changed the {field} of \"{title}\" to \"{}\"{lost}",
            e.value
        )
    }
}

/// A pair who coached each other: A coached B, and later B coached A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reciprocal {
    /// First coach.
    pub first: MemberId,
    /// Then coached back.
    pub second: MemberId,
    /// When the reversal happened.
    pub reversed_ms: i64,
}

/// Every pair where coaching went both ways, with when it first reversed.
pub fn reciprocal_pairs(team: &Team) -> Vec<Reciprocal> {
    let mut first: BTreeMap<(&MemberId, &MemberId), i64> = BTreeMap::new();
    for s in team.sessions.values().filter(|s| s.deleted_ms.is_none()) {
        let t = first.entry((&s.coach, &s.coachee)).or_insert(s.at_ms);
        *t = (*t).min(s.at_ms);
    }
    let mut out = Vec::new();
    for ((coach, coachee), t_ab) in &first {
        if let Some(t_ba) = first.get(&(*coachee, *coach))
            && t_ba > t_ab
        {
            out.push(Reciprocal {
                first: (*coach).clone(),
                second: (*coachee).clone(),
                reversed_ms: *t_ba,
            });
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.reversed_ms));
    out
}

/// A session as the window and the CLI list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Id.
    pub id: SessionId,
    /// Coach.
    pub coach: MemberId,
    /// Coach's name.
    pub coach_name: String,
    /// Coachee.
    pub coachee: MemberId,
    /// Coachee's name.
    pub coachee_name: String,
    /// Topic.
    pub topic: String,
    /// When.
    pub at_ms: i64,
    /// Minutes.
    pub minutes: u32,
    /// Notes.
    pub notes: String,
    /// Shared learning.
    pub learning: String,
    /// Skill tags.
    pub skills: Vec<String>,
    /// Coaching went the other way earlier: the coachee had coached the coach before.
    pub reversal: bool,
    /// Follow-ups, oldest first.
    pub followups: Vec<SessionFollowUp>,
}

/// A follow-up as listed under its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFollowUp {
    /// Id.
    pub id: FollowUpId,
    /// What to do.
    pub text: String,
    /// Who does it.
    pub owner: MemberId,
    /// Their name.
    pub owner_name: String,
    /// When it is due.
    pub due_ms: Option<i64>,
    /// Done.
    pub done: bool,
}

/// The sessions that were not deleted, newest first, each marked when it reversed an
/// earlier one (B coaching A after A coached B).
pub fn session_rows(team: &Team) -> Vec<SessionRow> {
    let mut sessions: Vec<&Session> = team
        .sessions
        .values()
        .filter(|s| s.deleted_ms.is_none())
        .collect();
    sessions.sort_by_key(|s| std::cmp::Reverse(s.at_ms));
    let mut first: BTreeMap<(&MemberId, &MemberId), i64> = BTreeMap::new();
    for s in &sessions {
        let t = first.entry((&s.coach, &s.coachee)).or_insert(s.at_ms);
        *t = (*t).min(s.at_ms);
    }
    sessions
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.clone(),
            coach: s.coach.clone(),
            coach_name: team.name_of(&s.coach),
            coachee: s.coachee.clone(),
            coachee_name: team.name_of(&s.coachee),
            topic: s.topic.clone(),
            at_ms: s.at_ms,
            minutes: s.minutes,
            notes: s.notes.clone(),
            learning: s.learning.clone(),
            skills: s.skills.iter().cloned().collect(),
            reversal: first
                .get(&(&s.coachee, &s.coach))
                .is_some_and(|t| *t < s.at_ms),
            followups: s
                .followups
                .iter()
                .map(|u| SessionFollowUp {
                    id: u.id.clone(),
                    text: u.text.clone(),
                    owner: u.owner.clone(),
                    owner_name: team.name_of(&u.owner),
                    due_ms: u.due_ms,
                    done: u.done_ms.is_some(),
                })
                .collect(),
        })
        .collect()
}

/// For each skill: who is at which level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRow {
    /// Skill tag.
    pub skill: String,
    /// Names at each level.
    pub learning: Vec<String>,
    /// Can do.
    pub can_do: Vec<String>,
    /// Can coach.
    pub can_coach: Vec<String>,
    /// People who want to learn it.
    pub wanted_by: Vec<String>,
}

/// The team's skill map.
pub fn skill_map(team: &Team) -> Vec<SkillRow> {
    let mut rows: BTreeMap<String, SkillRow> = BTreeMap::new();
    let row = |rows: &mut BTreeMap<String, SkillRow>, skill: &str| {
        rows.entry(skill.to_owned())
            .or_insert_with(|| SkillRow {
                skill: skill.to_owned(),
                learning: Vec::new(),
                can_do: Vec::new(),
                can_coach: Vec::new(),
                wanted_by: Vec::new(),
            })
            .skill
            .len()
    };
    for m in team.current_members() {
        for (skill, level) in &m.skills {
            row(&mut rows, skill);
            if let Some(r) = rows.get_mut(skill) {
                match level {
                    SkillLevel::Learning => r.learning.push(m.name.clone()),
                    SkillLevel::CanDo => r.can_do.push(m.name.clone()),
                    SkillLevel::CanCoach => r.can_coach.push(m.name.clone()),
                }
            }
        }
        for skill in &m.wants {
            row(&mut rows, skill);
            if let Some(r) = rows.get_mut(skill) {
                r.wanted_by.push(m.name.clone());
            }
        }
    }
    rows.into_values().collect()
}

/// A duty with its backfill state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyRow {
    /// Id.
    pub id: DutyId,
    /// Title.
    pub title: String,
    /// Owner.
    pub owner_name: String,
    /// Apprentices: name and stage.
    pub apprentices: Vec<(String, Stage)>,
    /// Asked to be an apprentice, waiting for their yes: name and stage.
    #[serde(default)]
    pub asked: Vec<(String, Stage)>,
    /// Someone could step in (co-do or lead).
    pub covered: bool,
}

/// Duties, uncovered ones first.
pub fn backfill(team: &Team) -> Vec<DutyRow> {
    let mut rows: Vec<DutyRow> = team
        .duties
        .values()
        .filter(|d| d.deleted_ms.is_none())
        .map(|d| DutyRow {
            id: d.id.clone(),
            title: d.title.clone(),
            owner_name: team.name_of(&d.owner),
            apprentices: d
                .backfills
                .iter()
                .map(|b| (team.name_of(&b.apprentice), b.stage))
                .collect(),
            asked: d
                .asked
                .iter()
                .map(|b| (team.name_of(&b.apprentice), b.stage))
                .collect(),
            covered: d.has_trained_backfill(),
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.covered, &a.owner_name, &a.title).cmp(&(b.covered, &b.owner_name, &b.title))
    });
    rows
}

/// Who floats in a given ISO week, by name.
pub fn rota_week(team: &Team, week: &str) -> Vec<String> {
    let mut names: Vec<String> = team
        .rota
        .get(week)
        .into_iter()
        .flatten()
        .map(|m| team.name_of(m))
        .collect();
    names.sort();
    names
}
