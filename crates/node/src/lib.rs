//! # peercoach-node: the runtime
//!
//! The node owns a data dir's teams — document, store and sync sessions — and offers one
//! command API ([`api::Request`] → [`api::Reply`]) to the GUI, the CLI and the local
//! control socket. Data flows one way: a request becomes one Automerge change, the
//! change is fsynced, then offered to connected peers; changes from peers are made
//! durable before they are acknowledged; views are re-read from the document.
//!
//! - [`Engine`]: the data dir and its open teams, no network (the CLI uses it directly
//!   when no node runs).
//! - [`sync::SyncMachine`]: the sync rules, without I/O — inputs in (a frame, a tick at
//!   `now_ms`, a persist's outcome), effects out (send, persist, save, close). Tested
//!   in simulated time against a lossy in-memory network.
//! - [`join`]: the rules of invites and joins, over the engine.
//! - `access`: who may sync which document, a pure function of the team documents.
//! - [`Node`]: the driver — the engine and the sync machine on their own thread, fed by
//!   [`peercoach_net::Net`], the [`control`] socket and the app, carrying out the
//!   machine's effects.

mod access;
pub mod api;
pub mod clock;
pub mod connect;
pub mod control;
pub mod engine;
pub mod join;
pub mod runtime;
pub mod sync;

pub use engine::{Engine, EngineError, OpenTeam};
pub use runtime::{
    ApiResult, Node, NodeEvent, NodeHandle, NodeOptions, TeamSnapshot, loopback_from_env,
};
