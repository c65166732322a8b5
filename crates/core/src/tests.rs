//! Tests of the rules, views and metrics, on in-memory replicas.

mod after_session;
mod alerts;
mod asks;
mod authorship;
mod calendar;
mod edits;
mod export;
mod meet;
mod membership;
mod metrics;
mod reopen;
mod rules;
mod search;
mod sessions;
mod speakers;
mod suggest;
mod trash;
mod view_cache;
mod views;

use crate::model::Answer;
use crate::testing::TeamFixture;
use crate::{Command, MemberId, OfferId, RequestId, SessionId, Urgency};
use crate::{NewOffer, NewRequest, NewSession};

/// The map at `path` from the document's root (tests that write straight into the
/// document, as a modified client would).
pub(crate) fn map_at(doc: &automerge::AutoCommit, path: &[&str]) -> automerge::ObjId {
    use automerge::ReadDoc;
    let mut obj = automerge::ROOT;
    for key in path {
        obj = match doc.get(&obj, *key).expect("get") {
            Some((automerge::Value::Object(automerge::ObjType::Map), id)) => id,
            other => panic!("no map at {key}: {other:?}"),
        };
    }
    obj
}

/// Replica `by` writes straight into the document, bypassing every command's check, as
/// a modified client would.
pub(crate) fn raw(f: &mut TeamFixture, by: usize, write: impl FnOnce(&mut automerge::AutoCommit)) {
    let doc = f.replicas[by].doc.automerge();
    write(doc);
    doc.commit();
    f.replicas[by].doc.refresh_after_merge();
}

/// Ask helper: replica `i` asks with the given title and urgency.
pub(crate) fn ask(f: &mut TeamFixture, i: usize, title: &str, urgency: Urgency) -> RequestId {
    let id: RequestId = f.create(
        i,
        Command::Ask(NewRequest {
            title: title.into(),
            tried: "read the docs".into(),
            skills: vec!["Rust".into()],
            urgency,
            to: None,
        }),
    );
    id
}

/// Offer helper on a request.
pub(crate) fn offer_on(
    f: &mut TeamFixture,
    i: usize,
    request: &RequestId,
    message: &str,
) -> OfferId {
    let id: OfferId = f.create(
        i,
        Command::Offer(NewOffer {
            request: Some(request.clone()),
            to: None,
            topic: String::new(),
            message: message.into(),
        }),
    );
    id
}

/// Replica `i` answers an offer.
pub(crate) fn respond(f: &mut TeamFixture, i: usize, offer: &OfferId, answer: Answer) {
    f.apply(
        i,
        Command::Respond {
            offer: offer.clone(),
            answer,
        },
    )
    .expect("the answer applies");
}

/// Offer helper straight to a person.
pub(crate) fn offer_to(f: &mut TeamFixture, i: usize, to: &MemberId, topic: &str) -> OfferId {
    let id: OfferId = f.create(
        i,
        Command::Offer(NewOffer {
            request: None,
            to: Some(to.clone()),
            topic: topic.into(),
            message: String::new(),
        }),
    );
    id
}

/// Session helper with consent found automatically.
pub(crate) fn session(
    f: &mut TeamFixture,
    i: usize,
    coach: &MemberId,
    coachee: &MemberId,
    topic: &str,
) -> SessionId {
    let id: SessionId = f.create(
        i,
        Command::LogSession(NewSession {
            topic: topic.into(),
            skills: vec!["rust".into()],
            ..NewSession::between(coach.clone(), coachee.clone())
        }),
    );
    id
}
