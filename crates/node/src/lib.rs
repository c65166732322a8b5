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
//! - [`Node`]: the engine on its own thread plus [`peercoach_net::Net`] and the
//!   [`control`] socket. Only the node spawns tasks and threads.

pub mod api;
pub mod connect;
pub mod control;
pub mod engine;
pub mod invites;
pub mod runtime;

pub use engine::{Engine, EngineError, OpenTeam};
pub use runtime::{
    ApiResult, Node, NodeEvent, NodeHandle, NodeOptions, TeamSnapshot, loopback_from_env,
};
