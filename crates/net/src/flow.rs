//! Bounds on what waits in memory between the network and the node.
//!
//! A node that falls behind (a slow laptop, a burst from thirty teammates) must not
//! queue without end. Received frames wait for the node under one budget per node: when
//! it is spent, the session readers stop reading, QUIC's flow control stops the senders,
//! and their outboxes fill. Frames to send wait under a budget per session: when it is
//! spent, [`Outbox::send`] refuses and the node lets the sync protocol repair what the
//! peer missed, once the session has drained.
//!
//! Each peer also has a rate ([`PeerRate`]): bytes per minute over all its sessions,
//! with a burst. A peer over it is deferred, not refused: its readers pause until its
//! debt is paid, so QUIC holds it back, and the node's time goes to the other peers. One
//! member's device sending without end costs the others a share of the node, never all
//! of it.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::Wire;

/// Bytes of received frames that may wait for the node, per node.
pub const INBOUND_BUDGET: usize = 64 << 20;
/// Bytes of frames that may wait to be written, per session.
pub const OUTBOUND_BUDGET: usize = 16 << 20;

/// Bytes a peer may send per minute, over all its sessions, once its burst is spent.
/// An honest peer's catch-up after months away is a few MB (BENCHMARKS.md: 350 kB for a
/// thousand offline edits); the join document does not count (another protocol).
pub const PEER_BYTES_PER_MINUTE: usize = 64 << 20;
/// Bytes a peer may send at once before its rate applies.
pub const PEER_BURST: usize = 64 << 20;

/// A token bucket of bytes for one peer, shared by its sessions' readers.
#[derive(Debug)]
pub(crate) struct PeerRate {
    /// Bytes it may still send now (negative: a debt to wait out), and when that was.
    state: std::sync::Mutex<(f64, tokio::time::Instant)>,
    per_second: f64,
    burst: f64,
}

impl PeerRate {
    pub(crate) fn new(per_minute: usize, burst: usize) -> Self {
        Self {
            state: std::sync::Mutex::new((burst as f64, tokio::time::Instant::now())),
            per_second: (per_minute as f64 / 60.0).max(1.0),
            burst: burst as f64,
        }
    }

    /// Counts `len` bytes received, and says how long the peer's readers should pause
    /// before reading on (zero within its rate).
    pub(crate) fn spend(&self, len: usize) -> std::time::Duration {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = tokio::time::Instant::now();
        let earned = now.duration_since(state.1).as_secs_f64() * self.per_second;
        state.0 = (state.0 + earned).min(self.burst) - len as f64;
        state.1 = now;
        if state.0 >= 0.0 {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_secs_f64(-state.0 / self.per_second)
        }
    }
}

/// Budgets are counted in KiB; every frame costs at least one, and a frame larger than
/// the whole budget costs the whole budget (it waits until nothing else does).
const UNIT: usize = 1024;

/// A frame's share of a budget, given back when it is dropped.
#[derive(Debug)]
pub struct Credit(#[allow(dead_code)] OwnedSemaphorePermit);

/// A byte budget shared by the holders of its credits.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    units: Arc<Semaphore>,
    total: u32,
}

impl Budget {
    pub(crate) fn new(bytes: usize) -> Self {
        let total = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX >> 4);
        Self {
            units: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    fn cost(&self, len: usize) -> u32 {
        u32::try_from(len.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total)
    }

    /// Waits until `len` bytes fit (`None` only if the budget were closed, which it never
    /// is).
    pub(crate) async fn take(&self, len: usize) -> Option<Credit> {
        self.units
            .clone()
            .acquire_many_owned(self.cost(len))
            .await
            .ok()
            .map(Credit)
    }

    /// `len` bytes' credit, if they fit now.
    pub(crate) fn try_take(&self, len: usize) -> Option<Credit> {
        self.units
            .clone()
            .try_acquire_many_owned(self.cost(len))
            .ok()
            .map(Credit)
    }

    /// Nothing holds a credit.
    pub(crate) fn is_idle(&self) -> bool {
        self.units.available_permits() == self.total as usize
    }
}

/// Why [`Outbox::send`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session has ended.
    Closed,
    /// The session's budget is spent (the peer reads slower than we write): the message
    /// was dropped.
    Full,
}

/// Where the node sends what goes out on one session: at most [`OUTBOUND_BUDGET`] bytes
/// wait to be written.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<(Wire, Credit)>,
    budget: Budget,
}

/// The writing end of an outbox.
pub(crate) type OutboxReceiver = mpsc::UnboundedReceiver<(Wire, Credit)>;

impl Outbox {
    /// A new outbox with `bytes` of budget, and its receiving end.
    pub(crate) fn new(bytes: usize) -> (Self, OutboxReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                tx,
                budget: Budget::new(bytes),
            },
            rx,
        )
    }

    /// Queues a message, unless the session ended or too much already waits.
    pub fn send(&self, wire: Wire) -> Result<(), SendError> {
        if self.tx.is_closed() {
            return Err(SendError::Closed);
        }
        let credit = self
            .budget
            .try_take(wire.tag_and_bytes().1.len())
            .ok_or(SendError::Full)?;
        self.tx.send((wire, credit)).map_err(|_| SendError::Closed)
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Whether everything queued has been written.
    pub fn is_idle(&self) -> bool {
        self.budget.is_idle()
    }
}

#[cfg(test)]
mod tests {
    /// A peer within its burst is not held; past it, it waits what its rate needs to
    /// earn the excess back, and time pays the debt.
    #[tokio::test(start_paused = true)]
    async fn a_peer_over_its_rate_is_deferred_for_what_it_owes() {
        use std::time::Duration;
        let rate = super::PeerRate::new(60 << 20, 10 << 20);
        assert_eq!(rate.spend(10 << 20), Duration::ZERO, "the burst");
        // 5 MiB over, at 1 MiB/s.
        let wait = rate.spend(5 << 20);
        assert!((wait.as_secs_f64() - 5.0).abs() < 0.01, "{wait:?}");
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(rate.spend(0), Duration::ZERO, "the debt is paid");
        // A minute idle earns the burst back, never more.
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(rate.spend(10 << 20), Duration::ZERO);
        assert!(rate.spend(1 << 20) > Duration::ZERO);
    }

    use super::*;

    #[test]
    fn an_outbox_refuses_past_its_budget_and_takes_again_once_drained() {
        let (outbox, mut rx) = Outbox::new(8 * UNIT);
        for _ in 0..4 {
            assert_eq!(outbox.send(Wire::Changes(vec![0; 2 * UNIT])), Ok(()));
        }
        assert!(!outbox.is_idle());
        assert_eq!(
            outbox.send(Wire::Heads(vec![0; 32])),
            Err(SendError::Full),
            "a full outbox drops even a small message"
        );
        let (first, credit) = rx.try_recv().expect("queued");
        assert_eq!(first, Wire::Changes(vec![0; 2 * UNIT]));
        drop(credit);
        assert_eq!(outbox.send(Wire::Heads(vec![0; 32])), Ok(()));
        while let Ok((_, credit)) = rx.try_recv() {
            drop(credit);
        }
        assert!(outbox.is_idle());
        drop(rx);
        assert_eq!(outbox.send(Wire::Heads(vec![])), Err(SendError::Closed));
    }

    #[test]
    fn a_frame_larger_than_the_budget_still_goes_alone() {
        let (outbox, mut rx) = Outbox::new(4 * UNIT);
        assert_eq!(outbox.send(Wire::Sync(vec![0; 100 * UNIT])), Ok(()));
        assert_eq!(outbox.send(Wire::Heads(vec![0; 32])), Err(SendError::Full));
        drop(rx.try_recv().expect("queued"));
        assert!(outbox.is_idle());
    }

    #[tokio::test]
    async fn an_inbound_budget_makes_the_reader_wait() {
        let budget = Budget::new(4 * UNIT);
        let held = budget.take(3 * UNIT).await;
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), budget.take(2 * UNIT)).await;
        assert!(waiting.is_err(), "the budget is spent: the reader waits");
        drop(held);
        let credit = tokio::time::timeout(std::time::Duration::from_secs(5), budget.take(2 * UNIT))
            .await
            .expect("credit returns when the node drops the frame");
        assert!(credit.is_some());
    }
}
