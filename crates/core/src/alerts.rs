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
    /// A notice from the app itself (that it keeps running in the background): not a
    /// kind a person turns off, so it is not in [`AlertKind::ALL`].
    Notice,
    /// Something about who speaks for whom: a new device joined as me, or a member asked
    /// to remove someone and waits for a second member. Not a kind a person turns off.
    Trust,
}

impl AlertKind {
    /// Every kind, in the order Settings lists them.
    pub const ALL: [AlertKind; 9] = [
        Self::OfferToAnswer,
        Self::RequestForMe,
        Self::YesToMyOffer,
        Self::Thanks,
        Self::FollowUpDue,
        Self::FloatingAsk,
        Self::TeamAsk,
        Self::NewMember,
        Self::SessionWithMe,
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
    // A session the other person logged with me: what it was, and a link to it.
    for (id, session) in &after.sessions {
        let mine = &session.coach == me || &session.coachee == me;
        let by_other = session.logged_by.as_ref().is_some_and(|by| by != me);
        if before.sessions.contains_key(id) || !mine || !by_other || session.deleted_ms.is_some() {
            continue;
        }
        let title = if &session.coach == me {
            let who = after.name_of(&session.coachee);
            format!("{who} logged the session where you coached them")
        } else {
            let who = after.name_of(&session.coach);
            format!("{who} logged the session where they coached you")
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
