//! Desktop notifications for what others did: the app's watch over the node.
//!
//! It runs in the app's process, window open or not, for as long as the app runs: it
//! compares each team as the node publishes it with the team as it last saw it
//! ([`Watch`], pure and tested without a desktop), asks `peercoach_core::alerts` what
//! among the difference needs this person, drops what they turned off or what comes
//! while they are snoozed, folds a burst into one summary, and shows the rest through
//! [`crate::desktop`]. A click comes back as a request to show the window on the record.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use peercoach_core::alerts::{self, Alert};
use peercoach_core::{FollowUpId, Team, TeamId};
use peercoach_node::api::call;
use peercoach_node::api::{Show, ShowTarget};
use peercoach_node::{NodeEvent, NodeHandle, TeamSnapshot};
use peercoach_store::Preferences;
use tokio::sync::{broadcast, mpsc};

use crate::desktop::{Click, Desktop};

/// What the notifier has seen: each team's model as last shown, and the follow-ups it
/// already reminded of today (the day, and those; a new day starts afresh).
#[derive(Debug, Default)]
pub struct Watch {
    seen: BTreeMap<TeamId, Arc<Team>>,
    reminded: (i64, BTreeSet<FollowUpId>),
    /// When each team's clock was last looked at: what passed since is news.
    clock: BTreeMap<TeamId, i64>,
}

/// The check-backs' waits as this device's preferences set them.
pub fn check_backs(preferences: &Preferences) -> alerts::CheckBacks {
    alerts::CheckBacks {
        met_after_days: preferences.met_after_days.max(1),
        unanswered_after_days: preferences.unanswered_after_days.max(1),
        not_yet: preferences
            .not_yet
            .iter()
            .filter_map(|(offer, at)| Some((peercoach_core::OfferId::parse(offer).ok()?, *at)))
            .collect(),
    }
}

impl Watch {
    /// Takes a team as it is now; returns the alerts its changes since the last look
    /// call for (none at the first look: that is where the watch starts).
    pub fn look(
        &mut self,
        snap: &TeamSnapshot,
        preferences: &Preferences,
        now_ms: i64,
    ) -> Vec<Alert> {
        let before = self.seen.insert(snap.id.clone(), snap.team.clone());
        let (Some(before), Some(me)) = (before, snap.me.as_ref()) else {
            return Vec::new();
        };
        if Arc::ptr_eq(&before, &snap.team) || snapshot_is_quiet(&snap.team, me, now_ms) {
            return Vec::new();
        }
        let found = alerts::changes(&before, &snap.team, me, now_ms);
        alerts::summarize(wanted(found, preferences))
    }

    /// Follow-ups of mine due today that were not reminded of yet today, and what the
    /// clock brought since the last look: a session starting, a check-back due.
    pub fn due(
        &mut self,
        snap: &TeamSnapshot,
        preferences: &Preferences,
        now_ms: i64,
    ) -> Vec<Alert> {
        let Some(me) = snap.me.as_ref() else {
            return Vec::new();
        };
        if snapshot_is_quiet(&snap.team, me, now_ms) {
            return Vec::new();
        }
        // Due dates are typed on the person's clock: today is theirs.
        let offset_ms = crate::local::offset_ms(now_ms);
        let day = (now_ms + offset_ms).div_euclid(peercoach_core::time::DAY_MS);
        if self.reminded.0 != day {
            self.reminded = (day, BTreeSet::new());
        }
        let mut fresh: Vec<Alert> = alerts::due_today(&snap.team, me, now_ms, offset_ms)
            .into_iter()
            .filter(|(id, _)| self.reminded.1.insert(id.clone()))
            .map(|(_, alert)| alert)
            .collect();
        // Sessions starting, check-backs falling due: once, as their moment passes (the
        // first look only starts the clock).
        let last = self.clock.insert(snap.id.clone(), now_ms).unwrap_or(now_ms);
        fresh.extend(alerts::on_the_clock(
            &snap.team,
            me,
            last,
            now_ms,
            &check_backs(preferences),
        ));
        alerts::summarize(wanted(fresh, preferences))
    }
}

/// Nothing is shown while I am snoozed (or no longer a member).
fn snapshot_is_quiet(team: &Team, me: &peercoach_core::MemberId, now_ms: i64) -> bool {
    team.members
        .get(me)
        .is_none_or(|m| !m.is_current() || m.is_snoozed(now_ms))
}

/// The alerts whose kind is turned on.
fn wanted(found: Vec<Alert>, preferences: &Preferences) -> Vec<Alert> {
    found
        .into_iter()
        .filter(|a| preferences.notifies(a.kind.as_str()))
        .collect()
}

/// The window's target for a clicked notification: a record, a screen, or (a notice
/// from the app itself) the window wherever it was.
pub fn show_for(click: &Click) -> Option<Show> {
    use peercoach_core::alerts::Target;
    let target = match &click.target {
        Target::Request(id) => ShowTarget::Request(id.to_string()),
        Target::Offer(id) => ShowTarget::Offer(id.to_string()),
        Target::Session(id) => ShowTarget::Session(id.to_string()),
        Target::Inbox => ShowTarget::Inbox,
        Target::Board => ShowTarget::Board,
        Target::Sync => ShowTarget::Sync,
        Target::Team => ShowTarget::Team,
        Target::Window => return None,
    };
    Some(Show {
        team: click.team.as_ref()?.to_string(),
        target,
    })
}

/// How often follow-ups due today are looked for.
const DUE_EVERY: Duration = Duration::from_secs(60);

/// Watches the node and shows notifications until the node stops. `announce` takes
/// notices the app itself wants shown (the first time its window closes to the
/// background). A click asks the node for the window ([`Request::ShowWindow`]), as a
/// second start of the app does.
pub async fn run(node: NodeHandle, mut announce: mpsc::UnboundedReceiver<Alert>) {
    let mut events = node.subscribe();
    let (click_tx, mut clicks) = mpsc::unbounded_channel();
    let desktop = match Desktop::connect(click_tx).await {
        Ok(desktop) => Some(desktop),
        Err(e) => {
            tracing::info!("{e}; the app runs without notifications");
            None
        }
    };
    // The watch starts from the teams as this device saved them: what the network
    // brought since — even before this task ran — is news.
    while !node.is_open() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut watch = Watch::default();
    let mut preferences = Preferences::default();
    refresh(&node, &mut preferences).await;
    let now = now_ms();
    for snap in node.opened_snapshots() {
        watch.look(&snap, &preferences, now);
    }
    // Whatever changed between the opening and now.
    for snap in node.snapshots() {
        for alert in watch.look(&snap, &preferences, now) {
            if let Some(desktop) = &desktop
                && let Err(e) = desktop.show(Some(&snap.id), &alert).await
            {
                tracing::warn!("{e}");
            }
        }
    }
    let mut due = tokio::time::interval(DUE_EVERY);
    loop {
        let mut shown: Vec<(Option<TeamId>, Alert)> = Vec::new();
        tokio::select! {
            event = events.recv() => match event {
                Ok(NodeEvent::Changed { team }) => {
                    if let Some(snap) = node.snapshot(&team) {
                        refresh(&node, &mut preferences).await;
                        for alert in watch.look(&snap, &preferences, now_ms()) {
                            shown.push((Some(team.clone()), alert));
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Missed change events: look at every team as it is now.
                    refresh(&node, &mut preferences).await;
                    for snap in node.snapshots() {
                        for alert in watch.look(&snap, &preferences, now_ms()) {
                            shown.push((Some(snap.id.clone()), alert));
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = due.tick() => {
                refresh(&node, &mut preferences).await;
                for snap in node.snapshots() {
                    for alert in watch.due(&snap, &preferences, now_ms()) {
                        shown.push((Some(snap.id.clone()), alert));
                    }
                }
            }
            Some(alert) = announce.recv() => shown.push((None, alert)),
            Some(click) = clicks.recv() => {
                let show = show_for(&click);
                if let Err(e) = node.call(call::ShowWindow { show }).await {
                    tracing::warn!("a click on a notification could not open the window: {e}");
                }
            }
        }
        if let Some(desktop) = &desktop {
            for (team, alert) in shown {
                if let Err(e) = desktop.show(team.as_ref(), &alert).await {
                    tracing::warn!("{e}");
                }
            }
        }
    }
}

/// Reads the device's preferences as saved; keeps the last known ones if the node
/// cannot say (a kind turned off stays off through a hiccup).
async fn refresh(node: &NodeHandle, preferences: &mut Preferences) {
    match node.call(call::Preferences { set: None }).await {
        Ok(p) => *preferences = p,
        Err(e) => tracing::warn!(error = %e, "could not read the notification preferences"),
    }
}

fn now_ms() -> i64 {
    peercoach_core::Env::now_ms(&mut peercoach_core::SystemEnv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use peercoach_core::testing::TeamFixture;
    use peercoach_core::{Command, NewFollowUp, NewRequest, Urgency};

    fn snapshot(f: &TeamFixture, i: usize) -> TeamSnapshot {
        let doc = &f.replicas[i].doc;
        TeamSnapshot {
            id: doc.team().id.clone().expect("team id"),
            team: Arc::new(doc.team().clone()),
            me: doc.me().cloned(),
            newer_schema: None,
            version: 0,
            loading: false,
            notes: Arc::default(),
        }
    }

    fn ask_ana(f: &mut TeamFixture, title: &str) {
        let ana = f.id(0);
        f.create::<peercoach_core::RequestId>(
            1,
            Command::Ask(NewRequest {
                title: title.into(),
                tried: String::new(),
                skills: vec![],
                urgency: Urgency::Normal,
                to: Some(ana),
            }),
        );
        f.sync_all();
    }

    #[test]
    fn the_first_look_is_the_baseline_then_changes_alert_unless_turned_off_or_snoozed() {
        let mut f = TeamFixture::new(&["Ana", "Ben"]);
        ask_ana(&mut f, "Already there when the app started");
        let mut watch = Watch::default();
        let on = Preferences::default();
        let now = f.env.now_ms;
        assert!(
            watch.look(&snapshot(&f, 0), &on, now).is_empty(),
            "baseline"
        );
        ask_ana(&mut f, "Review my design doc?");
        let alerts = watch.look(&snapshot(&f, 0), &on, now);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].title, "Ben asks you for help");
        assert!(
            watch.look(&snapshot(&f, 0), &on, now).is_empty(),
            "seen already"
        );

        let off = Preferences {
            notifications_off: [alerts::AlertKind::RequestForMe.as_str().to_owned()].into(),
            ..Preferences::default()
        };
        ask_ana(&mut f, "Pairing on Friday?");
        assert!(
            watch.look(&snapshot(&f, 0), &off, now).is_empty(),
            "turned off"
        );

        f.apply(
            0,
            Command::Snooze {
                until_ms: Some(now + 3_600_000),
            },
        )
        .expect("snooze");
        f.sync_all();
        watch.look(&snapshot(&f, 0), &on, now);
        ask_ana(&mut f, "While Ana is snoozed");
        assert!(watch.look(&snapshot(&f, 0), &on, now).is_empty(), "snoozed");
        ask_ana(&mut f, "After the snooze");
        assert_eq!(
            watch.look(&snapshot(&f, 0), &on, now + 2 * 3_600_000).len(),
            1,
            "the snooze is over"
        );
    }

    #[test]
    fn a_burst_after_being_away_is_one_summary() {
        let mut f = TeamFixture::new(&["Ana", "Ben"]);
        let mut watch = Watch::default();
        let on = Preferences::default();
        watch.look(&snapshot(&f, 0), &on, f.env.now_ms);
        for i in 0..5 {
            ask_ana(&mut f, &format!("Question {i}"));
        }
        let alerts = watch.look(&snapshot(&f, 0), &on, f.env.now_ms);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].title, "5 requests for you while you were away");
    }

    #[test]
    fn a_follow_up_due_today_is_reminded_of_once_a_day_unless_turned_off() {
        let mut f = TeamFixture::new(&["Ana", "Ben"]);
        let (ana, ben) = (f.id(0), f.id(1));
        let session: peercoach_core::SessionId = f.create(
            1,
            Command::session_now(ana.clone(), ben.clone(), "Code review habits"),
        );
        let today = f.env.now_ms;
        f.create::<peercoach_core::FollowUpId>(
            1,
            Command::AddFollowUp(NewFollowUp {
                session: session.clone(),
                text: "Try the checklist".into(),
                owner: Some(ben),
                due_ms: Some(today),
            }),
        );
        f.sync_all();
        let on = Preferences::default();
        let mut watch = Watch::default();
        let first = watch.due(&snapshot(&f, 1), &on, today);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].title, "A follow-up is due today");
        assert!(
            watch.due(&snapshot(&f, 1), &on, today + 60_000).is_empty(),
            "once a day"
        );
        assert!(
            watch.due(&snapshot(&f, 0), &on, today).is_empty(),
            "Ana's? no"
        );
        let off = Preferences {
            notifications_off: [alerts::AlertKind::FollowUpDue.as_str().to_owned()].into(),
            ..Preferences::default()
        };
        assert!(
            Watch::default()
                .due(&snapshot(&f, 1), &off, today)
                .is_empty(),
            "turned off"
        );
    }

    #[test]
    fn a_scheduled_session_is_announced_once_as_it_starts_and_a_check_back_as_it_falls_due() {
        let mut f = TeamFixture::new(&["Ana", "Ben"]);
        let (ana, ben) = (f.id(0), f.id(1));
        let now = f.env.now_ms;
        let start = now + 10 * 60_000;
        f.create::<peercoach_core::SessionId>(
            1,
            Command::LogSession(peercoach_core::NewSession {
                topic: "Release notes".into(),
                at_ms: Some(start),
                ..peercoach_core::NewSession::between(ana, ben.clone())
            }),
        );
        let o = f.create::<peercoach_core::OfferId>(
            0,
            Command::Offer(peercoach_core::NewOffer {
                to: Some(ben),
                topic: "Pairing".into(),
                ..Default::default()
            }),
        );
        f.sync_all();
        f.apply(
            1,
            Command::Respond {
                offer: o,
                answer: peercoach_core::Answer::Yes,
            },
        )
        .expect("yes");
        f.sync_all();
        let on = Preferences::default();
        let mut watch = Watch::default();
        // The first look starts the clock; nothing has passed yet.
        assert!(watch.due(&snapshot(&f, 1), &on, now).is_empty());
        assert!(watch.due(&snapshot(&f, 1), &on, start - 60_000).is_empty());
        let starting = watch.due(&snapshot(&f, 1), &on, start + 30_000);
        assert_eq!(starting.len(), 1);
        assert_eq!(starting[0].kind, alerts::AlertKind::SessionStarts);
        assert_eq!(starting[0].title, "Your session with Ana starts now");
        assert!(
            watch.due(&snapshot(&f, 1), &on, start + 90_000).is_empty(),
            "once"
        );
        // A week after the yes with no session for it: did you meet? Sooner when set so.
        let week = now + 7 * peercoach_core::time::DAY_MS;
        let due = watch.due(&snapshot(&f, 1), &on, week + 60_000);
        assert_eq!(
            due.iter().map(|a| a.kind).collect::<Vec<_>>(),
            [alerts::AlertKind::DidYouMeet]
        );
        let three = Preferences {
            met_after_days: 3,
            ..Preferences::default()
        };
        let mut watch = Watch::default();
        assert!(watch.due(&snapshot(&f, 1), &three, now).is_empty());
        assert!(watch.due(&snapshot(&f, 1), &three, start + 60_000).len() == 1);
        let due = watch.due(
            &snapshot(&f, 1),
            &three,
            now + 3 * peercoach_core::time::DAY_MS + 1,
        );
        assert_eq!(
            due.iter().map(|a| a.kind).collect::<Vec<_>>(),
            [alerts::AlertKind::DidYouMeet]
        );
    }
}
