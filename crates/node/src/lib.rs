//! # peercoach-node: the runtime
//!
//! The node owns a data dir's teams — document, store and (with the network layer) the
//! sync sessions — and offers one command API ([`api::Request`] → [`api::Reply`]) to
//! the GUI, the CLI and the local control socket. Data flows one way: a request becomes
//! one Automerge change, the change is fsynced, then shared; views are re-read from the
//! document, never written directly.

pub mod api;
pub mod engine;

pub use engine::{Engine, EngineError, OpenTeam};
