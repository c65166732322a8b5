//! The membership gate at the QUIC handshake: only trusted devices of current members get
//! past it (and anyone may try the join protocol, which checks the invite secret itself).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use iroh::EndpointId;
use iroh::endpoint::{AfterHandshakeOutcome, Connection, EndpointHooks};

use crate::{JOIN_ALPNS, close};

/// The allowlist, shared with the peer manager that keeps it current.
#[derive(Debug, Clone, Default)]
pub(crate) struct Gate {
    allowed: Arc<RwLock<HashSet<EndpointId>>>,
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
}

impl EndpointHooks for Gate {
    async fn after_handshake<'a>(&'a self, conn: &'a Connection) -> AfterHandshakeOutcome {
        if JOIN_ALPNS.contains(&conn.alpn()) || self.allows(&conn.remote_id()) {
            AfterHandshakeOutcome::Accept
        } else {
            tracing::info!(peer = %conn.remote_id().fmt_short(), "refused: not a member device");
            AfterHandshakeOutcome::Reject {
                error_code: close::FORBIDDEN.into(),
                reason: b"not a member".to_vec(),
            }
        }
    }
}
