//! The handle the app and the control socket hold: requests in, events and snapshots out.

// A part of the driver: it uses the actor's own types and imports.
use super::*;
use crate::api::call::Call;

impl NodeHandle {
    /// Sends a request; the receiver yields the result once it is applied (and durable).
    /// If the node has stopped, the receiver yields an error at once.
    pub fn send(&self, request: Request) -> oneshot::Receiver<ApiResult> {
        let (tx, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Msg::Api(_, tx))) = self.tx.send(Msg::Api(request, tx)) {
            reply(tx, Err(EngineError::Stopped), Vec::new());
        }
        rx
    }

    /// Sends a typed call and waits for its reply.
    pub async fn call<C: Call>(&self, call: C) -> Result<C::Reply, EngineError> {
        let reply = self.request(call.request()).await?;
        Ok(crate::api::call::reply_of::<C>(reply)?)
    }

    /// Sends a request and waits for the reply.
    pub async fn request(&self, request: Request) -> Result<Reply, EngineError> {
        self.request_with_warnings(request).await.result
    }

    /// Like [`NodeHandle::request`], keeping the warnings.
    pub async fn request_with_warnings(&self, request: Request) -> ApiResult {
        self.send(request).await.unwrap_or_else(|_| ApiResult {
            result: Err(EngineError::Stopped),
            warnings: Vec::new(),
        })
    }

    /// Change notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Starts publishing a [`TeamSnapshot`] of every team after each change (the UI calls
    /// this once; a headless node never does).
    pub fn watch_snapshots(&self) {
        if !self
            .watching
            .swap(true, std::sync::atomic::Ordering::SeqCst)
            && self.tx.send(Msg::PublishAll).is_err()
        {
            tracing::debug!("the node has stopped; no snapshots to publish");
        }
    }

    /// Whether every team's document has been opened. Until then a team may show its
    /// saved view, or nothing yet (the UI says it is opening, not that there is no team),
    /// and requests wait.
    pub fn is_open(&self) -> bool {
        self.opened.get().is_some()
    }

    /// Every team as it was opened from this device's disk, before anything arrived
    /// from the network (once [`Self::is_open`]; only while snapshots are watched). What
    /// came in since is what happened while this device was away.
    pub fn opened_snapshots(&self) -> Vec<Arc<TeamSnapshot>> {
        self.opened.get().cloned().unwrap_or_default()
    }

    /// The latest view of a team.
    pub fn snapshot(&self, team: &TeamId) -> Option<Arc<TeamSnapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(team)
            .cloned()
    }

    /// Every team's latest view, by id.
    pub fn snapshots(&self) -> Vec<Arc<TeamSnapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}
