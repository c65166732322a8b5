//! Invites and joins as the driver carries them out: making an invite (once the relay is
//! known), joining with a ticket on a task of its own, and answering a joiner. The rules
//! themselves are in [`crate::join`].

// A part of the driver: it uses the actor's own types and imports.
use super::*;

impl Actor {
    pub(super) fn invite(
        &mut self,
        team: Option<&TeamId>,
        expires_in_ms: i64,
        device: bool,
    ) -> Result<Reply, EngineError> {
        let id = self.engine.select(team)?;
        // Invites run on this device's clock, as its records do: a clock that is behind
        // makes invites that expire sooner by the wall, as a person would see.
        let now = self.engine.now_ms();
        crate::join::make_invite(
            &mut self.engine,
            &id,
            now,
            expires_in_ms,
            device,
            self.net.ticket_addr(),
        )
    }
    /// Starts joining with a ticket: checked here, carried over the network off the
    /// actor's thread; the answer comes back as [`Msg::JoinDone`].
    #[allow(clippy::type_complexity)] // reason: hands the reply channel back on failure
    pub(super) fn start_join(
        &mut self,
        ticket: &str,
        name: String,
        to: oneshot::Sender<ApiResult>,
    ) -> Result<(), (Box<EngineError>, oneshot::Sender<ApiResult>)> {
        if self.join_cancel.is_some() {
            return Err((Box::new(EngineError::JoinUnderway), to));
        }
        let addrs = self
            .net
            .direct_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        let now = self.engine.now_ms();
        let (ticket, request) = match crate::join::join_request(
            &mut self.engine,
            ticket,
            name,
            now,
            addrs,
            self.net.relay_url(),
        ) {
            Ok(started) => started,
            Err(e) => return Err((Box::new(e), to)),
        };
        let net = self.net.clone();
        let tx = self.tx.clone();
        let (cancel, cancelled) = oneshot::channel();
        self.join_cancel = Some(cancel);
        self.rt.spawn(async move {
            let join = async {
                let mut request = request;
                // The inviter writes our relay into our member record: wait (briefly)
                // until we have one, or teammates behind a NAT cannot reach us until we
                // publish it.
                if net.uses_relays() && net.relay_url().is_none() {
                    net.wait_for_relay(INVITE_RELAY_WAIT).await;
                    request.relay_url = net.relay_url();
                }
                net.join(&ticket, request).await
            };
            let result = tokio::select! {
                result = join => Some(result),
                Ok(()) = cancelled => None,
            };
            let done = Msg::JoinDone {
                ticket: Box::new(ticket),
                result,
                reply: to,
            };
            if let Some(tx) = tx.upgrade()
                && let Err(mpsc::error::SendError(Msg::JoinDone { reply: to, .. })) = tx.send(done)
            {
                reply(to, Err(EngineError::Stopped), Vec::new());
            }
        });
        Ok(())
    }
    pub(super) fn join_done(
        &mut self,
        ticket: &InviteTicket,
        result: Option<Result<JoinAccepted, JoinError>>,
        to: oneshot::Sender<ApiResult>,
    ) {
        self.join_cancel = None;
        let outcome = result
            .ok_or(EngineError::JoinCancelled)
            .and_then(|r| r.map_err(EngineError::from))
            .and_then(|accepted| crate::join::finish_join(&mut self.engine, ticket, accepted));
        let result = outcome.map(|(answer, team, heads)| {
            // Both sides know exactly what the other has: start the sync from there, not
            // from nothing (which would send the whole history again).
            self.feed(Input::PeerHas {
                team: team.clone(),
                peer: ticket.inviter.id.into(),
                heads,
            });
            self.feed(Input::LocalChange { team, change: None });
            answer
        });
        let warnings = self.engine.take_warnings();
        reply(to, result, warnings);
    }
}
