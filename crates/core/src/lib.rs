//! # peercoach-core: the team's coaching state, its rules and what we derive from it
//!
//! A team's shared state is one [Automerge](automerge) document. Every member's device
//! holds a full copy and edits it offline; copies merge without conflicts when devices
//! meet. This crate is everything that is true about that document, and nothing else:
//! no files, no network, no threads, no clock (an [`Env`] supplies time and fresh ids).
//!
//! ## The pieces
//!
//! - [`records`]: one module per record (session, request, offer, member, …), each with
//!   its struct, its document keys, how it is read, written, checked, exported and
//!   imported. [`schema`] draws the whole document: records are maps keyed by UUID,
//!   nothing is hard deleted, consent answers sit under the speaker's own member key.
//! - [`Command`]: everything a person can do. [`TeamDoc::apply`] checks its rules against
//!   the current view and writes it as exactly one Automerge change, or nothing.
//! - [`Team`]: the typed read model. It checks authorship as it reads: an answer to an
//!   offer counts only if the device that wrote it belongs to the person it speaks for.
//!   [`TeamDoc::refresh_after_merge`] re-reads only the records a merge touched.
//! - [`views`] and [`metrics`]: the help board, inbox, history, skill map, backfill
//!   coverage and the team-level group metrics (no per-person ranking; figures resting on
//!   fewer than *k* people are withheld).
//! - [`export`]: JSON, CSV and Markdown out; JSON back in.
//!
//! ## A tour
//!
//! ```
//! use peercoach_core::{
//!     ActorHex, Answer, Command, NewMember, NewOffer, NewRequest, SeededEnv, TeamDoc, Urgency,
//!     views,
//! };
//!
//! let mut env = SeededEnv::new(7, 1_780_000_000_000);
//! // Ana creates the team on her laptop.
//! let ana_device = ActorHex::from_bytes(&[1; 16]);
//! let (mut doc, ana) = TeamDoc::genesis(ana_device, "Platform", "Ana", "endpoint-a", &mut env)?;
//! // She adds Ben (in real use, Ben joins with an invite and this runs on Ana's node).
//! let ben_device = ActorHex::from_bytes(&[2; 16]);
//! let ben = doc.apply(Command::AddMember(NewMember {
//!     name: "Ben".into(), actor: ben_device.clone(), endpoint: "endpoint-b".into(),
//!     label: "laptop".into(), addrs: vec![], relay: None,
//! }), &mut env)?.created.expect("member id");
//!
//! // Ben's laptop gets a copy, and Ben asks for help.
//! let mut ben_doc = TeamDoc::from_doc(doc.automerge().fork(), ben_device);
//! let request = ben_doc.apply(Command::Ask(NewRequest {
//!     title: "Flaky integration test".into(), tried: "Reran it".into(),
//!     skills: vec!["testing".into()], urgency: Urgency::High, ..Default::default()
//! }), &mut env)?.created.expect("request id");
//! doc.automerge().merge(ben_doc.automerge())?;
//! doc.refresh_after_merge();
//!
//! // The request is on Ana's board; she offers help: a question, not advice yet.
//! let board = views::board(doc.team(), env.now_ms);
//! assert_eq!(board[0].title, "Flaky integration test");
//! let offer = doc.apply(Command::Offer(NewOffer {
//!     request: Some(board[0].id.clone()),
//!     message: "Try running it with --test-threads=1".into(), ..Default::default()
//! }), &mut env)?.created.expect("created an offer");
//! let offer = peercoach_core::OfferId::try_from(offer).expect("an offer id"); // typed ids
//! assert_eq!(doc.team().offers[&offer].visible_message(None), None); // hidden until yes
//! # let _ = (ana, ben, request, Answer::Yes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alerts;
pub mod calendar;
pub mod command;
pub mod env;
pub mod export;
mod fields;
pub mod free_time;
pub mod ids;
pub mod metrics;
pub mod model;
pub mod records;
pub mod schema;
pub mod search;
pub mod suggest;
pub mod team_doc;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod time;
pub mod touched;
pub mod trash;
pub mod view_cache;
pub mod views;

pub use command::{Applied, Command, CommandError};
pub use env::{Env, SeededEnv, SystemEnv};
pub use ids::{
    ActorHex, CommentId, DutyId, FollowUpId, IdError, MemberId, OfferId, RecordId, RequestId,
    SessionId, TeamId, ThanksId, device_key_of, session_actor,
};
pub use model::{
    Answer, CoachingHour, Member, Offer, OfferStatus, Request, Session, SkillLevel, Stage, Team,
    TeamRelay, Urgency,
};
pub use records::note as notes;
pub use records::{
    clean_skill, duty::NewDuty, followup::NewFollowUp, member::NewDevice, member::NewMember,
    offer::NewOffer, request::NewRequest, request::RequestEdit, session::NewSession,
    session::SessionEdit, thanks::NewThanks,
};
pub use team_doc::{NewerSchema, TeamDoc};
pub use touched::{Places, Touched};

/// Re-exported so that callers name exactly the Automerge this crate was built with.
pub use automerge;
