//! The join protocol: the joiner proves an invite's one-time secret and receives the team
//! document. The inviter's node decides (it owns the invites); this module moves bytes.

use std::sync::Arc;
use std::time::Duration;

use iroh::Endpoint;
use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::frame::{self, FrameError, Tag};
use crate::peers::Shared;
use crate::{InviteTicket, NetEvent, TeamId, close};

const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What a joiner sends.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// Protocol version.
    pub version: u32,
    /// The team.
    pub team_id: TeamId,
    /// The invite's secret.
    pub secret: [u8; 32],
    /// Display name (new member) or device label (linked device).
    pub name: String,
    /// The joiner's Automerge actor (hex).
    pub actor: String,
    /// The joiner's direct addresses, so teammates can dial it.
    pub addrs: Vec<String>,
    /// The joiner's home relay, so teammates behind a NAT can reach it too.
    #[serde(default)]
    pub relay_url: Option<String>,
}

impl std::fmt::Debug for JoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest")
            .field("team_id", &self.team_id)
            .field("name", &self.name)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// The inviter's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinReply {
    /// Welcome: the member id; the document follows.
    Accepted {
        /// The member the joiner now is (or was linked to).
        member_id: String,
        /// The team document (an Automerge save).
        #[serde(skip)]
        document: Vec<u8>,
        /// The inviter's signatures of the document's changes (the latest of each actor,
        /// hex), so the new member can vouch for the history it relays.
        #[serde(default)]
        signatures: String,
    },
    /// Refused, with the reason to show.
    Refused {
        /// Why.
        reason: String,
    },
}

/// What a successful join brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinAccepted {
    /// My member id.
    pub member_id: String,
    /// The team document.
    pub document: Vec<u8>,
    /// The inviter's signatures of its changes (hex; see [`JoinReply::Accepted`]).
    pub signatures: String,
}

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The inviter could not be reached.
    #[error("could not reach the inviter ({0}); is their peercoach running and reachable?")]
    Unreachable(String),
    /// The inviter said no.
    #[error("the inviter refused: {0}")]
    Refused(String),
    /// The exchange broke off.
    #[error("the join did not complete: {0}")]
    Protocol(String),
}

impl From<FrameError> for JoinError {
    fn from(e: FrameError) -> Self {
        Self::Protocol(e.to_string())
    }
}

/// Which of the inviter's paths a join tried, for the message when none worked.
fn tried(ticket: &InviteTicket) -> String {
    let addrs: Vec<String> = ticket.inviter.ip_addrs().map(ToString::to_string).collect();
    let relays: Vec<String> = ticket
        .inviter
        .relay_urls()
        .map(ToString::to_string)
        .collect();
    let relay = match relays.as_slice() {
        [] => None,
        [one] => Some(format!("its relay {one}")),
        many => Some(format!("its relays {}", many.join(", "))),
    };
    match (addrs.is_empty(), relay) {
        (true, None) => "the ticket holds no address".to_owned(),
        (false, None) => format!("tried {} (the ticket carries no relay)", addrs.join(", ")),
        (true, Some(relay)) => format!("tried {relay}"),
        (false, Some(relay)) => format!("tried {} and {relay}", addrs.join(", ")),
    }
}

/// The joiner's side.
pub(crate) async fn request_join(
    endpoint: &Endpoint,
    ticket: &InviteTicket,
    request: JoinRequest,
    max_frame: usize,
    traffic: &crate::Traffic,
) -> Result<JoinAccepted, JoinError> {
    let connection = tokio::time::timeout(
        JOIN_TIMEOUT,
        crate::dial(endpoint, ticket.inviter.clone(), crate::JOIN_ALPNS),
    )
    .await
    .map_err(|_| JoinError::Unreachable(format!("timed out; {}", tried(ticket))))?
    .map_err(|e| JoinError::Unreachable(format!("{e}; {}", tried(ticket))))?;
    let result = tokio::time::timeout(JOIN_TIMEOUT, async {
        let (mut send, mut recv) = connection
            .open_bi()
            .await
            .map_err(|e| JoinError::Protocol(e.to_string()))?;
        let body = serde_json::to_vec(&request).map_err(|e| JoinError::Protocol(e.to_string()))?;
        frame::write_frame(&mut send, Tag::JoinRequest, &body).await?;
        traffic.sent(body.len());
        let header = frame::expect_frame(&mut recv, Tag::JoinReply, 64 * 1024).await?;
        traffic.received(header.len());
        let reply: JoinReply =
            serde_json::from_slice(&header).map_err(|e| JoinError::Protocol(e.to_string()))?;
        match reply {
            JoinReply::Refused { reason } => Err(JoinError::Refused(reason)),
            JoinReply::Accepted {
                member_id,
                signatures,
                ..
            } => {
                let document = frame::expect_frame(&mut recv, Tag::Document, max_frame).await?;
                traffic.received(document.len());
                Ok(JoinAccepted {
                    member_id,
                    document,
                    signatures,
                })
            }
        }
    })
    .await
    .map_err(|_| JoinError::Protocol("timed out".into()))
    .and_then(|r| r);
    connection.close(close::DONE.into(), b"joined");
    result
}

/// The inviter's side: reads the request, asks the node, answers.
#[derive(Debug, Clone)]
pub(crate) struct JoinHandler(pub(crate) Arc<Shared>);

impl ProtocolHandler for JoinHandler {
    async fn accept(&self, connection: Connection) -> Result<(), AcceptError> {
        let from = crate::DeviceId::from(connection.remote_id());
        let outcome = tokio::time::timeout(JOIN_TIMEOUT, async {
            let (mut send, mut recv) = connection
                .accept_bi()
                .await
                .map_err(|e| FrameError::Io(e.to_string()))?;
            let body = frame::expect_frame(&mut recv, Tag::JoinRequest, 64 * 1024).await?;
            self.0.traffic.received(body.len());
            let reply = match serde_json::from_slice::<JoinRequest>(&body) {
                Err(e) => JoinReply::Refused {
                    reason: format!("malformed join request: {e}"),
                },
                Ok(request) => {
                    // If the node is gone (it is shutting down), the answer channel is
                    // dropped with the event, and the joiner hears so.
                    let (tx, rx) = oneshot::channel();
                    let asked = self.0.events_sender().send(NetEvent::Join {
                        request,
                        from,
                        reply: tx,
                    });
                    if asked.is_err() {
                        tracing::debug!("a join arrived while the node stops");
                    }
                    rx.await.unwrap_or(JoinReply::Refused {
                        reason: "the inviter's device is shutting down".into(),
                    })
                }
            };
            let header = serde_json::to_vec(&reply).map_err(|e| FrameError::Io(e.to_string()))?;
            frame::write_frame(&mut send, Tag::JoinReply, &header).await?;
            self.0.traffic.sent(header.len());
            if let JoinReply::Accepted { document, .. } = &reply {
                frame::write_frame(&mut send, Tag::Document, document).await?;
                self.0.traffic.sent(document.len());
            }
            send.finish().map_err(|e| FrameError::Io(e.to_string()))?;
            Ok::<_, FrameError>(())
        })
        .await;
        match outcome {
            Ok(Ok(())) => {
                // Let the joiner read everything, then it closes.
                if tokio::time::timeout(JOIN_TIMEOUT, connection.closed())
                    .await
                    .is_err()
                {
                    tracing::debug!(peer = %from.short(), "the joiner kept the connection open");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(peer = %from.short(), error = %e, "bad join attempt");
                connection.close(close::BAD_FRAME.into(), b"bad join request");
            }
            Err(_) => connection.close(close::BAD_FRAME.into(), b"join timed out"),
        }
        Ok(())
    }
}
