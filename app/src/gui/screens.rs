//! One module per screen; each draws from the per-frame [`super::app::Cx`] and queues
//! requests, never touching another screen.

pub mod backfill;
pub mod board;
pub mod dashboard;
pub mod dialogs;
pub mod first_run;
pub mod history;
pub mod inbox;
pub mod notes;
pub mod sessions;
pub mod settings;
pub mod sync;
pub mod team;
