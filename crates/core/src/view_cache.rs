//! A saved copy of a team's read model, so that a team with years of history shows its
//! views before Automerge has loaded the document (BENCHMARKS.md "Open").
//!
//! Reading the model from a loaded document costs ~25 µs a record (1.9 s for a
//! three-year team); decoding this copy costs about a twentieth of that. The copy names
//! the heads it reflects, and [`crate::TeamDoc::from_doc_with_view`] uses it only when
//! the loaded document has exactly those heads, so a stale or foreign copy can never
//! stand in for the document. It is a cache: losing it costs time, never data.

use std::borrow::Cow;
use std::sync::Arc;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use crate::model::Team;

/// Bumped whenever the model's shape changes in a way old copies cannot be read as.
/// Copies written by another build of the app are ignored as well (see `app`).
pub const VIEW_FORMAT: u32 = 9;

/// A decoded copy of the read model.
#[derive(Debug, Clone)]
pub struct View {
    /// The document heads the model reflects.
    pub heads: Vec<ChangeHash>,
    /// The model, shared: the UI may show it while the document loads.
    pub team: Arc<Team>,
}

/// Why a saved copy was not used.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// Written by another build of the app, or in another format.
    #[error("the saved view is from another version ({0:?})")]
    OtherVersion(String),
    /// Not a view we can read.
    #[error("the saved view is unreadable: {0}")]
    Unreadable(#[from] serde_json::Error),
}

/// The first line names the format and the app version, so a copy from another build is
/// refused before its model is parsed.
fn header_line() -> String {
    format!(
        "peercoach-view {VIEW_FORMAT} {}\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Serialize, Deserialize)]
struct Saved<'a> {
    heads: Vec<ChangeHash>,
    team: Cow<'a, Team>,
}

/// Encodes `team` as the model at `heads`.
pub fn encode(team: &Team, heads: &[ChangeHash]) -> Vec<u8> {
    let mut out = header_line().into_bytes();
    let saved = Saved {
        heads: heads.to_vec(),
        team: Cow::Borrowed(team),
    };
    // Plain structs and maps with string keys: writing them to a Vec cannot fail.
    if serde_json::to_writer(&mut out, &saved).is_err() {
        out.clear();
    }
    out
}

/// Decodes a copy written by [`encode`] of this build.
pub fn decode(bytes: &[u8]) -> Result<View, ViewError> {
    let header = header_line();
    let Some(body) = bytes.strip_prefix(header.as_bytes()) else {
        let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        return Err(ViewError::OtherVersion(
            String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned(),
        ));
    };
    let saved: Saved<'_> = serde_json::from_slice(body)?;
    Ok(View {
        heads: saved.heads,
        team: Arc::new(saved.team.into_owned()),
    })
}
