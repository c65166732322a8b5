//! The membership gate at the QUIC handshake: only trusted devices of current members get
//! past it (and anyone may try the join protocol, which checks the invite secret itself).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use iroh::EndpointId;
use iroh::endpoint::{AfterHandshakeOutcome, Connection, EndpointHooks};

use crate::{JOIN_ALPNS, close};

/// How long a refusal is remembered: a device refused this recently, once it is let in
/// (a joiner that has taken in the team, a teammate the team just added), is dialed at
/// once, since its own dials are in backoff.
const REFUSED_FRESH: Duration = Duration::from_secs(60);
/// Refusals remembered at most (the oldest are forgotten first).
const REFUSED_KEPT: usize = 256;

/// The allowlist, shared with the peer manager that keeps it current.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gate {
    allowed: Arc<RwLock<HashSet<EndpointId>>>,
    /// Devices refused lately, and when.
    refused: Arc<Mutex<HashMap<EndpointId, Instant>>>,
    /// Connections refused since the endpoint was bound.
    refusals: Arc<AtomicU64>,
}

impl Gate {
    pub(crate) fn set(&self, allowed: HashSet<EndpointId>) {
        match self.allowed.write() {
            Ok(mut guard) => *guard = allowed,
            Err(poisoned) => *poisoned.into_inner() = allowed,
        }
    }

    pub(crate) fn allows(&self, id: &EndpointId) -> bool {
        match self.allowed.read() {
            Ok(guard) => guard.contains(id),
            Err(poisoned) => poisoned.into_inner().contains(id),
        }
    }

    /// Whether this device was refused in the last [`REFUSED_FRESH`].
    pub(crate) fn refused_lately(&self, id: &EndpointId) -> bool {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused
            .get(id)
            .is_some_and(|at| at.elapsed() < REFUSED_FRESH)
    }

    /// Connections refused so far.
    pub(crate) fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    fn refused(&self, id: EndpointId) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused.retain(|_, at| at.elapsed() < REFUSED_FRESH);
        if refused.len() >= REFUSED_KEPT
            && let Some(oldest) = refused.iter().min_by_key(|(_, at)| **at).map(|(id, _)| *id)
        {
            refused.remove(&oldest);
        }
        refused.insert(id, Instant::now());
    }
}

impl EndpointHooks for Gate {
    async fn after_handshake<'a>(&'a self, conn: &'a Connection) -> AfterHandshakeOutcome {
        if JOIN_ALPNS.contains(&conn.alpn()) || self.allows(&conn.remote_id()) {
            AfterHandshakeOutcome::Accept
        } else {
            tracing::info!(peer = %conn.remote_id().fmt_short(), "refused: not a member device");
            self.refused(conn.remote_id());
            AfterHandshakeOutcome::Reject {
                error_code: close::FORBIDDEN.into(),
                reason: b"not a member".to_vec(),
            }
        }
    }
}
