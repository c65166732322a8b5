//! The loop after a session: the coachee is told it was logged, and the inbox keeps
//! "thank" and "resolve" until each is done.

use super::*;
use crate::NewThanks;
use crate::alerts::Target;
use crate::alerts::{self, AlertKind};
use crate::model::Answer;
use crate::views;

#[test]
fn the_coachee_is_told_and_keeps_thank_and_resolve_until_each_is_done() {
    let mut f = TeamFixture::new(&["Ana", "Bo"]);
    let (ana, bo) = (f.id(0), f.id(1));
    let request = ask(&mut f, 1, "Flaky deploys", Urgency::Normal);
    f.sync_all();
    let offer = offer_on(&mut f, 0, &request, "Pin the runner");
    f.sync_all();
    respond(&mut f, 1, &offer, Answer::Yes);
    f.sync_all();
    let before = f.replicas[1].doc.team().clone();
    // Ana logs the session from her yes.
    let session: SessionId = f.create(
        0,
        Command::LogSession(NewSession {
            topic: "Flaky deploys".into(),
            offer: Some(offer.clone()),
            ..NewSession::between(ana.clone(), bo.clone())
        }),
    );
    f.sync_all();
    let after = f.replicas[1].doc.team().clone();
    // Bo hears of it, with a link; Ana, who logged it, does not.
    let news = alerts::changes(&before, &after, &bo, f.env.now_ms);
    let told: Vec<_> = news
        .iter()
        .filter(|a| a.kind == AlertKind::SessionWithMe)
        .collect();
    assert_eq!(told.len(), 1, "{news:?}");
    assert_eq!(
        told[0].title,
        "Ana logged the session where they coached you"
    );
    assert_eq!(told[0].target, Target::Session(session.clone()));
    assert!(
        alerts::changes(&before, &after, &ana, f.env.now_ms)
            .iter()
            .all(|a| a.kind != AlertKind::SessionWithMe)
    );
    // Bo's inbox: thank Ana, resolve the request.
    let inbox = views::inbox(&after, &bo, f.env.now_ms);
    assert_eq!(inbox.after_sessions.len(), 1);
    let left = &inbox.after_sessions[0];
    assert!(left.thank);
    assert_eq!(
        left.resolve,
        Some((request.clone(), "Flaky deploys".into()))
    );
    assert_eq!(left.coach_name, "Ana");
    assert!(
        inbox.to_act_on() >= 1,
        "an open request of mine is to act on"
    );
    // Nothing of the kind in Ana's.
    assert!(
        views::inbox(&after, &ana, f.env.now_ms)
            .after_sessions
            .is_empty()
    );
    // Thanks sent: only the request is left; resolved: nothing is.
    f.apply(
        1,
        Command::Thank(NewThanks {
            to: ana.clone(),
            text: "Pinning did it".into(),
            session: Some(session.clone()),
        }),
    )
    .expect("thanks");
    let inbox = views::inbox(f.replicas[1].doc.team(), &bo, f.env.now_ms);
    assert!(!inbox.after_sessions[0].thank);
    assert!(inbox.after_sessions[0].resolve.is_some());
    f.apply(1, Command::Resolve { request }).expect("resolve");
    let inbox = views::inbox(f.replicas[1].doc.team(), &bo, f.env.now_ms);
    assert!(inbox.after_sessions.is_empty());
    // And a month on, an old session asks nothing any more.
    f.advance(views::AFTER_SESSION_DAYS * crate::time::DAY_MS + 1);
    let other = session_with_thanks_left(&mut f, &ana, &bo);
    let inbox = views::inbox(f.replicas[1].doc.team(), &bo, f.env.now_ms);
    assert_eq!(inbox.after_sessions.len(), 1);
    assert_eq!(inbox.after_sessions[0].session, other);
    f.advance(views::AFTER_SESSION_DAYS * crate::time::DAY_MS + 1);
    let inbox = views::inbox(f.replicas[1].doc.team(), &bo, f.env.now_ms);
    assert!(inbox.after_sessions.is_empty());
}

/// Bo logs a session Ana coached him in (a coachee may), and thanks no one.
fn session_with_thanks_left(f: &mut TeamFixture, ana: &MemberId, bo: &MemberId) -> SessionId {
    session(f, 1, ana, bo, "Reading flame graphs")
}
