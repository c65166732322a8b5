//! What deserves a desktop notification, derived from how the team changed.
//!
//! The app compares the team as it last saw it with the team as it is now, and asks
//! [`changes`] what among the difference needs this person: an offer waiting for their
//! answer, a request aimed at them, a yes to their offer, a thanks, every new ask on the
//! board in a week when they are the floating helper (or, when nobody floats that week,
//! while they are not snoozed: a new team's asks would otherwise reach no one), and a
//! teammate who joined. Follow-ups due today come
//! from [`due_today`], which looks at the clock rather than at a change. Nothing here
//! notifies anyone of their own actions: each alert is about something another member
//! did. [`summarize`] turns a burst (edits that arrive together after being offline)
//! into one alert.

use std::collections::BTreeMap;

use crate::ids::{FollowUpId, MemberId, OfferId, RequestId, SessionId};
use crate::model::{OfferStatus, Team};
use crate::records::meet::Meet;
use crate::records::offer::Offer;
use crate::time::{DAY_MS, iso_week_key};

/// The kinds of alert, each of which a person can turn off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// Someone asks "Would you like some help?" and waits for my answer.
    OfferToAnswer,
    /// A request aimed at me ("coach me").
    RequestForMe,
    /// The person I offered help said yes.
    YesToMyOffer,
    /// Someone thanked me.
    Thanks,
    /// A follow-up of mine is due today.
    FollowUpDue,
    /// A new ask on the board while I am this week's floating helper.
    FloatingAsk,
    /// A new ask on the board in a week when nobody floats (and I am not snoozed).
    TeamAsk,
    /// A teammate joined the team.
    NewMember,
    /// A session with me was logged by the other person.
    SessionWithMe,
    /// After a yes, the other person proposed times, picked one, said none work, or
    /// said we did not meet.
    Meeting,
    /// A scheduled session of mine starts.
    SessionStarts,
    /// A yes of mine has had no session for days: did we meet?
    DidYouMeet,
    /// An ask has waited days with no offer, and I float or have its skill.
    Unanswered,
    /// Someone asked me to float on the rota or to be an apprentice on a duty.
    AskedOfMe,
    /// A notice from the app itself (that it keeps running in the background): not a
    /// kind a person turns off, so it is not in [`AlertKind::ALL`].
    Notice,
    /// Something about who speaks for whom: a new device joined as me, or a member asked
    /// to remove someone and waits for a second member. Not a kind a person turns off.
    Trust,
}

impl AlertKind {
    /// Every kind, in the order Settings lists them.
    pub const ALL: [AlertKind; 14] = [
        Self::OfferToAnswer,
        Self::RequestForMe,
        Self::YesToMyOffer,
        Self::Thanks,
        Self::FollowUpDue,
        Self::FloatingAsk,
        Self::TeamAsk,
        Self::NewMember,
        Self::SessionWithMe,
        Self::Meeting,
        Self::SessionStarts,
        Self::DidYouMeet,
        Self::Unanswered,
        Self::AskedOfMe,
    ];

    /// Stored form (settings).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfferToAnswer => "offer-to-answer",
            Self::RequestForMe => "request-for-me",
            Self::YesToMyOffer => "yes-to-my-offer",
            Self::Thanks => "thanks",
            Self::FollowUpDue => "follow-up-due",
            Self::FloatingAsk => "floating-ask",
            Self::TeamAsk => "team-ask",
            Self::NewMember => "new-member",
            Self::SessionWithMe => "session-with-me",
            Self::Meeting => "meeting",
            Self::SessionStarts => "session-starts",
            Self::DidYouMeet => "did-you-meet",
            Self::Unanswered => "unanswered",
            Self::AskedOfMe => "asked-of-me",
            Self::Notice => "notice",
            Self::Trust => "trust",
        }
    }

    /// What a person reads in Settings.
    pub fn label(self) -> &'static str {
        match self {
            Self::OfferToAnswer => "An offer of help waits for my answer",
            Self::RequestForMe => "A request is aimed at me",
            Self::YesToMyOffer => "Someone said yes to my offer",
            Self::Thanks => "Someone thanked me",
            Self::FollowUpDue => "A follow-up of mine is due today",
            Self::FloatingAsk => "Every new ask, in weeks when I am the floating helper",
            Self::TeamAsk => "Every new ask, in weeks when nobody is floating",
            Self::NewMember => "A teammate joined the team",
            Self::SessionWithMe => "A session with me was logged",
            Self::Meeting => "Times to meet were proposed or agreed",
            Self::SessionStarts => "A scheduled session of mine starts",
            Self::DidYouMeet => "Check back: did we meet, days after a yes?",
            Self::Unanswered => "Check back: an ask in my skills waits with no offer",
            Self::AskedOfMe => "Someone asks me to float on the rota or to learn a duty",
            Self::Notice => "Notices from peercoach itself",
            Self::Trust => "A new device of mine, a removal waiting for a second member",
        }
    }

    /// A noun for counting in a summary ("3 new asks").
    fn counted(self, n: usize) -> String {
        let (one, many) = match self {
            Self::OfferToAnswer => ("offer to answer", "offers to answer"),
            Self::RequestForMe => ("request for you", "requests for you"),
            Self::YesToMyOffer => ("yes to your offers", "yeses to your offers"),
            Self::Thanks => ("thanks", "thanks"),
            Self::FollowUpDue => ("follow-up due today", "follow-ups due today"),
            Self::FloatingAsk | Self::TeamAsk => ("new ask", "new asks"),
            Self::NewMember => ("teammate joined", "teammates joined"),
            Self::SessionWithMe => ("session logged with you", "sessions logged with you"),
            Self::Meeting => ("answer about a time to meet", "answers about times to meet"),
            Self::SessionStarts => ("session starting", "sessions starting"),
            Self::DidYouMeet => ("check-back: did you meet?", "check-backs: did you meet?"),
            Self::Unanswered => ("ask waiting for an offer", "asks waiting for an offer"),
            Self::AskedOfMe => ("question for you", "questions for you"),
            Self::Notice => ("notice", "notices"),
            Self::Trust => (
                "change to who is in the team",
                "changes to who is in the team",
            ),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

/// Where clicking an alert takes the person.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A request on the board.
    Request(RequestId),
    /// An offer (shown in the inbox).
    Offer(OfferId),
    /// A session.
    Session(SessionId),
    /// The inbox as a whole (a summary).
    Inbox,
    /// The board as a whole (a summary of new asks).
    Board,
    /// The window, wherever it was (a notice from the app itself).
    Window,
    /// The Sync screen: devices, invites and removals.
    Sync,
    /// The Team screen: who is in the team and what they can coach.
    Team,
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its kind (the setting that can turn it off).
    pub kind: AlertKind,
    /// The first line.
    pub title: String,
    /// The text under it.
    pub body: String,
    /// Where a click takes the person.
    pub target: Target,
}

/// The alerts for `me` in what changed from `before` to `after`, oldest first. Records
/// another member made; a member never hears of their own actions.
pub fn changes(before: &Team, after: &Team, me: &MemberId, now_ms: i64) -> Vec<Alert> {
    let mut found: Vec<(i64, Alert)> = Vec::new();
    let week = after.rota.get(&iso_week_key(now_ms));
    let floating = week.is_some_and(|week| week.contains(me));
    // A week with nobody floating (a new team has no rota): every new ask reaches every
    // member who is not snoozed, or it would reach no one.
    let nobody_floats = week.is_none_or(|week| {
        !week
            .iter()
            .any(|m| after.members.get(m).is_some_and(|m| m.is_current()))
    });
    let snoozed = after.members.get(me).is_some_and(|m| m.is_snoozed(now_ms));
    for (id, offer) in &after.offers {
        let was = before.offers.get(id);
        if &offer.to == me && &offer.from != me && offer.status() == OfferStatus::Pending {
            let new = was.is_none_or(|o| o.status() != OfferStatus::Pending);
            if new {
                found.push((
                    offer.created_ms,
                    Alert {
                        kind: AlertKind::OfferToAnswer,
                        title: format!(
                            "{} asks: would you like some help?",
                            after.name_of(&offer.from)
                        ),
                        body: format!(
                            "About: {}. Answer yes or not now in your inbox.",
                            offer.topic
                        ),
                        target: Target::Offer(id.clone()),
                    },
                ));
            }
        }
        let yes_now = offer.status() == OfferStatus::Accepted;
        let yes_before = was.is_some_and(|o| o.status() == OfferStatus::Accepted);
        if &offer.from == me && &offer.to != me && yes_now && !yes_before {
            let at = offer.response.map_or(offer.created_ms, |r| r.at_ms);
            found.push((
                at,
                Alert {
                    kind: AlertKind::YesToMyOffer,
                    title: format!("{} said yes to your offer", after.name_of(&offer.to)),
                    body: format!(
                        "About: {}. Time to meet, then log the session.",
                        offer.topic
                    ),
                    target: Target::Offer(id.clone()),
                },
            ));
        }
        if let Some(alert) = meeting(was, offer, after, me) {
            found.push(alert);
        }
    }
    for (id, request) in &after.requests {
        if &request.author == me || !request.is_active() {
            continue;
        }
        // New, or an older request its author has just aimed at me ("Ask Ana").
        let aimed_at_me_now = request.to.as_ref() == Some(me)
            && before
                .requests
                .get(id)
                .is_some_and(|was| was.to.as_ref() != Some(me));
        if before.requests.contains_key(id) && !aimed_at_me_now {
            continue;
        }
        let who = after.name_of(&request.author);
        let alert = match &request.to {
            Some(to) if to == me => Alert {
                kind: AlertKind::RequestForMe,
                title: format!("{who} asks you for help"),
                body: request.title.clone(),
                target: Target::Request(id.clone()),
            },
            None if floating => Alert {
                kind: AlertKind::FloatingAsk,
                title: format!("New ask from {who} (you are floating this week)"),
                body: request.title.clone(),
                target: Target::Request(id.clone()),
            },
            None if nobody_floats && !snoozed => Alert {
                kind: AlertKind::TeamAsk,
                title: format!("New ask from {who}"),
                body: request.title.clone(),
                target: Target::Request(id.clone()),
            },
            _ => continue,
        };
        found.push((request.created_ms, alert));
    }
    // Someone asked me onto the rota or a duty: it waits for my yes.
    // The same question (what, by whom) is not news again when a name changes.
    let asked_before: Vec<_> = crate::views::asks(before, me, now_ms)
        .into_iter()
        .map(|a| (a.asked.key().to_owned(), a.by))
        .collect();
    for a in crate::views::asks(after, me, now_ms) {
        if asked_before.contains(&(a.asked.key().to_owned(), a.by.clone())) {
            continue;
        }
        found.push((
            now_ms,
            Alert {
                kind: AlertKind::AskedOfMe,
                title: a.text(),
                body: "Nothing changes until you say yes, in your inbox.".into(),
                target: Target::Inbox,
            },
        ));
    }
    // A session the other person logged with me: what it was, and a link to it.
    for (id, session) in &after.sessions {
        let mine = &session.coach == me || &session.coachee == me;
        let by_other = session.logged_by.as_ref().is_some_and(|by| by != me);
        if before.sessions.contains_key(id) || !mine || !by_other || session.deleted_ms.is_some() {
            continue;
        }
        let other = after.name_of(if &session.coach == me {
            &session.coachee
        } else {
            &session.coach
        });
        let ahead = session.created_ms < session.at_ms;
        // One scheduled by a pick of a proposed time is told as that (a Meeting alert).
        let picked = session
            .offer
            .as_ref()
            .and_then(|o| after.offers.get(o))
            .is_some_and(|o| matches!(&o.meet, Meet::Agreed { session: Some(s), .. } if s == id));
        if picked {
            continue;
        }
        let title = match (&session.coach == me, ahead) {
            (_, true) => format!(
                "{other} scheduled a session with you: {} UTC",
                crate::time::format_datetime(session.at_ms)
            ),
            (true, false) => format!("{other} logged the session where you coached them"),
            (false, false) => format!("{other} logged the session where they coached you"),
        };
        found.push((
            session.created_ms,
            Alert {
                kind: AlertKind::SessionWithMe,
                title,
                body: format!(
                    "{}. Open it to add a follow-up or say thanks.",
                    session.topic
                ),
                target: Target::Session(id.clone()),
            },
        ));
    }
    for (id, thanks) in &after.thanks {
        if before.thanks.contains_key(id) || &thanks.to != me || &thanks.from == me {
            continue;
        }
        found.push((
            thanks.at_ms,
            Alert {
                kind: AlertKind::Thanks,
                title: format!("{} thanked you", after.name_of(&thanks.from)),
                body: thanks.text.clone(),
                target: thanks
                    .session
                    .clone()
                    .map_or(Target::Inbox, Target::Session),
            },
        ));
    }
    joined(before, after, me, &mut found);
    trust(before, after, me, &mut found);
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, alert)| alert).collect()
}

/// What the other person of an accepted offer did about a time to meet, newly.
fn meeting(was: Option<&Offer>, offer: &Offer, team: &Team, me: &MemberId) -> Option<(i64, Alert)> {
    if (&offer.from != me && &offer.to != me) || offer.from == offer.to {
        return None;
    }
    let other = offer.other(me);
    let who = team.name_of(other);
    let target = Target::Offer(offer.id.clone());
    if let Some((by, at)) = &offer.ended
        && by == other
        && was.is_none_or(|w| w.ended.is_none())
    {
        return Some((
            *at,
            Alert {
                kind: AlertKind::Meeting,
                title: format!("{who} says you did not meet"),
                body: format!(
                    "About: {}. The offer is closed; an open request is back on the board.",
                    offer.topic
                ),
                target,
            },
        ));
    }
    if was.is_some_and(|w| w.meet == offer.meet) {
        return None;
    }
    // A session follows the yes already (a proposal raced a pick): nothing to answer.
    let settled = team.sessions.values().any(|s| s.follows(offer));
    if settled && !matches!(offer.meet, Meet::Agreed { .. }) {
        return None;
    }
    let (at, title, body) = match &offer.meet {
        Meet::Proposed(p) if &p.by == other => (
            p.at_ms,
            format!("{who} proposed times to meet"),
            format!(
                "About: {}. Pick one in your inbox, or say none work.",
                offer.topic
            ),
        ),
        Meet::Agreed {
            by,
            at_ms,
            proposal,
            session,
        } if by == other => {
            let alert = Alert {
                kind: AlertKind::Meeting,
                title: format!(
                    "{who} picked a time: {} UTC",
                    crate::time::format_datetime(*at_ms)
                ),
                body: format!("About: {}. The session is scheduled.", offer.topic),
                target: session.clone().map_or(target, Target::Session),
            };
            return Some((proposal.at_ms.max(offer.created_ms), alert));
        }
        Meet::NoneWork { by, at_ms, .. } if by == other => (
            *at_ms,
            format!("None of your times work for {who}"),
            format!("About: {}. Propose others in your inbox.", offer.topic),
        ),
        _ => return None,
    };
    Some((
        at,
        Alert {
            kind: AlertKind::Meeting,
            title,
            body,
            target,
        },
    ))
}

/// How long the check-backs wait: a yes with no session, an ask with no offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckBacks {
    /// Days after a yes with no session before "Did you meet?".
    pub met_after_days: u32,
    /// Working days an ask waits with no offer before it is raised.
    pub unanswered_after_days: u32,
    /// "Did you meet?" answered "not yet": asked again from then, by offer.
    pub not_yet: BTreeMap<OfferId, i64>,
}

impl Default for CheckBacks {
    fn default() -> Self {
        Self {
            met_after_days: 7,
            unanswered_after_days: 2,
            not_yet: BTreeMap::new(),
        }
    }
}

impl CheckBacks {
    /// When "Did you meet?" falls due for `offer`, said yes to at `yes_ms`: days after
    /// the yes, or when a "not yet" runs out.
    pub fn met_due_at(&self, offer: &OfferId, yes_ms: i64) -> i64 {
        let first = yes_ms.saturating_add(i64::from(self.met_after_days).saturating_mul(DAY_MS));
        self.not_yet
            .get(offer)
            .map_or(first, |again| first.max(*again))
    }

    /// Whether "Did you meet?" is asked about `offer`, said yes to at `yes_ms`, at `now_ms`.
    pub fn met_due(&self, offer: &OfferId, yes_ms: i64, now_ms: i64) -> bool {
        now_ms >= self.met_due_at(offer, yes_ms)
    }

    /// Whether an ask open with no offer since `since_ms` is raised at `now_ms`.
    pub fn unanswered_due(&self, since_ms: i64, now_ms: i64) -> bool {
        // A year back is as good as any earlier time (and a time from a modified
        // client's record cannot overflow the count).
        let since_ms = since_ms.max(now_ms.saturating_sub(366 * DAY_MS));
        crate::time::working_ms_between(since_ms, now_ms)
            >= i64::from(self.unanswered_after_days) * DAY_MS
    }
}

/// Asks raised to `me` at `now_ms`: open, not aimed at anyone, nobody offering or
/// claiming for `checks.unanswered_after_days` working days. Raised to the week's
/// floating helpers, or, in a week when nobody floats, to everyone not snoozed who can
/// do one of its skills (anyone, for an ask without skills). Never to its author.
pub fn unanswered(
    team: &Team,
    me: &MemberId,
    now_ms: i64,
    checks: &CheckBacks,
) -> Vec<crate::views::BoardRow> {
    let week = team.rota.get(&iso_week_key(now_ms));
    let floaters: Vec<&MemberId> = week
        .map(|w| {
            w.iter()
                .filter(|m| team.members.get(*m).is_some_and(|m| m.is_current()))
                .collect()
        })
        .unwrap_or_default();
    let Some(mine) = team.members.get(me).filter(|m| m.is_current()) else {
        return Vec::new();
    };
    crate::views::board(team, now_ms)
        .into_iter()
        .filter(|r| {
            &r.author != me
                && r.to.is_none()
                && r.no_offer_since
                    .is_some_and(|since| checks.unanswered_due(since, now_ms))
        })
        .filter(|r| {
            if !floaters.is_empty() {
                return floaters.contains(&me);
            }
            !mine.is_snoozed(now_ms)
                && (r.skills.is_empty()
                    || r.skills.iter().any(|s| {
                        mine.skills
                            .get(s)
                            .is_some_and(|l| *l >= crate::model::SkillLevel::CanDo)
                    }))
        })
        .collect()
}

/// What the clock brings `me` between `from_ms` (exclusive) and `now_ms`: a scheduled
/// session starting, a yes whose "Did you meet?" falls due, an ask raised for waiting.
/// Each is shown once, when its moment passes; a device that was off then finds it in
/// the inbox.
pub fn on_the_clock(
    team: &Team,
    me: &MemberId,
    from_ms: i64,
    now_ms: i64,
    checks: &CheckBacks,
) -> Vec<Alert> {
    let mut found: Vec<(i64, Alert)> = Vec::new();
    let crossed = |at: i64| at > from_ms && at <= now_ms;
    for s in team.sessions.values().filter(|s| s.deleted_ms.is_none()) {
        // Only one planned ahead: a session logged as it happened is no news.
        if (&s.coach != me && &s.coachee != me) || !crossed(s.at_ms) || !s.is_scheduled(team) {
            continue;
        }
        let other = if &s.coach == me { &s.coachee } else { &s.coach };
        found.push((
            s.at_ms,
            Alert {
                kind: AlertKind::SessionStarts,
                title: format!("Your session with {} starts now", team.name_of(other)),
                body: format!("{} · {} minutes", s.topic, s.minutes),
                target: Target::Session(s.id.clone()),
            },
        ));
    }
    for o in team.offers.values() {
        if (&o.from != me && &o.to != me) || o.status() != OfferStatus::Accepted {
            continue;
        }
        let Some(yes) = o.yes_at(i64::MAX, true) else {
            continue;
        };
        let due = checks.met_due_at(&o.id, yes);
        let session = team.sessions.values().any(|s| s.follows(o));
        if session || !crossed(due) {
            continue;
        }
        let other = o.other(me);
        found.push((
            due,
            Alert {
                kind: AlertKind::DidYouMeet,
                title: format!("Did you meet {}?", team.name_of(other)),
                body: format!(
                    "About: {}. Log the session, or say you have not met yet.",
                    o.topic
                ),
                target: Target::Offer(o.id.clone()),
            },
        ));
    }
    let before = unanswered(team, me, from_ms, checks);
    for r in unanswered(team, me, now_ms, checks) {
        if before.iter().any(|b| b.id == r.id) {
            continue;
        }
        found.push((
            now_ms,
            Alert {
                kind: AlertKind::Unanswered,
                title: format!(
                    "{} has waited {} with no offer",
                    r.author_name,
                    crate::time::format_span(r.waiting_ms)
                ),
                body: r.title.clone(),
                target: Target::Request(r.id.clone()),
            },
        ));
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, a)| a).collect()
}

/// A teammate new in the team, for everyone already in it (a joiner's first view of the
/// team is not news of everyone in it).
fn joined(before: &Team, after: &Team, me: &MemberId, found: &mut Vec<(i64, Alert)>) {
    if !before.members.contains_key(me) {
        return;
    }
    for (id, m) in &after.members {
        if id == me || before.members.contains_key(id) || !m.is_current() {
            continue;
        }
        found.push((
            m.created_ms,
            Alert {
                kind: AlertKind::NewMember,
                title: format!("{} joined the team", m.name),
                body: "Say hello, and see on the Team screen what they can coach.".into(),
                target: Target::Team,
            },
        ));
    }
}

/// A device that newly speaks for me, and a removal that newly waits for a second member
/// (for the members who could confirm it).
fn trust(before: &Team, after: &Team, me: &MemberId, found: &mut Vec<(i64, Alert)>) {
    if let (Some(was), Some(now)) = (before.members.get(me), after.members.get(me)) {
        for d in now.devices.iter().filter(|d| d.is_active()) {
            if was
                .devices
                .iter()
                .any(|w| w.actor == d.actor && w.is_active())
            {
                continue;
            }
            let label = if d.label.is_empty() {
                "a device without a name".to_owned()
            } else {
                d.label.clone()
            };
            found.push((
                d.added_ms,
                Alert {
                    kind: AlertKind::Trust,
                    title: format!("A new device joined as you: {label}"),
                    body: "It can read everything you can, your private notes included. \
                           Not yours? Remove it in Sync."
                        .into(),
                    target: Target::Sync,
                },
            ));
        }
    }
    for (id, m) in &after.members {
        let voters = m.pending_removal();
        let known = before
            .members
            .get(id)
            .map_or(0, |b| b.pending_removal().len());
        if id == me || voters.len() <= known || voters.contains(&me) {
            continue;
        }
        let Some(by) = voters.last() else { continue };
        let at = m
            .removal_votes
            .iter()
            .filter(|v| v.by.as_ref() == Some(*by))
            .map(|v| v.at_ms)
            .max()
            .unwrap_or(0);
        found.push((
            at,
            Alert {
                kind: AlertKind::Trust,
                title: format!("{} asked to remove {}", after.name_of(by), m.name),
                body: "It takes effect when a second member confirms it, in Sync.".into(),
                target: Target::Sync,
            },
        ));
    }
}

/// `me`'s open follow-ups due on the day of `now_ms`, with their ids (so that each is
/// shown once a day). The day is the person's: on a clock `offset_ms` ahead of UTC, as
/// their due dates were typed on it.
pub fn due_today(
    team: &Team,
    me: &MemberId,
    now_ms: i64,
    offset_ms: i64,
) -> Vec<(FollowUpId, Alert)> {
    let day_of = |ms: i64| (ms + offset_ms).div_euclid(DAY_MS);
    let day = day_of(now_ms);
    let mut due = Vec::new();
    for session in team.sessions.values().filter(|s| s.deleted_ms.is_none()) {
        for u in &session.followups {
            if &u.owner == me && u.done_ms.is_none() && u.due_ms.is_some_and(|d| day_of(d) == day) {
                let with = if &session.coach == me {
                    &session.coachee
                } else {
                    &session.coach
                };
                due.push((
                    u.id.clone(),
                    Alert {
                        kind: AlertKind::FollowUpDue,
                        title: "A follow-up is due today".into(),
                        body: format!(
                            "{} (from \"{}\" with {})",
                            u.text,
                            session.topic,
                            team.name_of(with)
                        ),
                        target: Target::Session(session.id.clone()),
                    },
                ));
            }
        }
    }
    due
}

/// More alerts than this at once become one summary.
pub const BURST: usize = 3;

/// Alerts as they should be shown: as they are, or — more than [`BURST`] at once, as when
/// a laptop catches up after being offline — one summary that counts them by kind and
/// opens the inbox.
pub fn summarize(alerts: Vec<Alert>) -> Vec<Alert> {
    if alerts.len() <= BURST {
        return alerts;
    }
    let mut counts: BTreeMap<AlertKind, usize> = BTreeMap::new();
    for a in &alerts {
        *counts.entry(a.kind).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| k.counted(*n)).collect();
    let kind = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map_or(AlertKind::FloatingAsk, |(k, _)| *k);
    // New asks are on the board; anything else (alone or with them) needs the inbox.
    let asks_only = counts
        .keys()
        .all(|k| matches!(k, AlertKind::FloatingAsk | AlertKind::TeamAsk));
    let (body, target) = if asks_only {
        ("Open the help board to see them.", Target::Board)
    } else {
        ("Open your inbox to see them.", Target::Inbox)
    };
    vec![Alert {
        kind,
        title: format!("{} while you were away", join_words(&parts)),
        body: body.into(),
        target,
    }]
}

/// "a", "a and b", "a, b and c".
pub fn join_words<S: AsRef<str>>(parts: &[S]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", rest.join(", "), last.as_ref())
        }
    }
}
