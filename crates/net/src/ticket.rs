//! Invite tickets: one line of text that lets one person (or one more device of a member)
//! join a team, once, before it expires. It names the team, how to reach the inviter, and
//! a one-time secret the inviter checks before sending any byte of the document.

use std::fmt;
use std::str::FromStr;

use iroh::EndpointAddr;
use iroh_tickets::Ticket;
use peercoach_base::TeamId;
use serde::{Deserialize, Serialize};

/// The current ticket format.
const VERSION: u8 = 1;

/// An invite.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteTicket {
    version: u8,
    /// The team.
    pub team_id: TeamId,
    /// Its name, to show before joining.
    pub team_name: String,
    /// How to reach the inviter.
    pub inviter: EndpointAddr,
    /// The one-time secret.
    pub secret: [u8; 32],
    /// Expiry, ms since the epoch.
    pub expires_ms: i64,
    /// Set when the ticket links another device of this member rather than a new member.
    pub device_of: Option<String>,
}

impl fmt::Debug for InviteTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never goes into logs.
        f.debug_struct("InviteTicket")
            .field("team_id", &self.team_id)
            .field("team_name", &self.team_name)
            .field("inviter", &self.inviter.id.fmt_short().to_string())
            .field("expires_ms", &self.expires_ms)
            .field("device_of", &self.device_of)
            .finish_non_exhaustive()
    }
}

/// Why a ticket string is not a usable invite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Not a ticket of ours, or damaged.
    #[error("not a valid peercoach invite ticket ({0}); copy the whole line the inviter sent")]
    Malformed(String),
    /// From a newer app.
    #[error("this invite was made by a newer peercoach (ticket version {0}); update to join")]
    Version(u8),
    /// Expired.
    #[error("this invite expired; ask for a new one")]
    Expired,
}

impl InviteTicket {
    /// A new ticket.
    pub fn new(
        team_id: TeamId,
        team_name: String,
        inviter: EndpointAddr,
        secret: [u8; 32],
        expires_ms: i64,
        device_of: Option<String>,
    ) -> Self {
        Self {
            version: VERSION,
            team_id,
            team_name,
            inviter,
            secret,
            expires_ms,
            device_of,
        }
    }

    /// Checks the ticket can still be used at `now_ms`.
    pub fn check(&self, now_ms: i64) -> Result<(), TicketError> {
        if self.version != VERSION {
            return Err(TicketError::Version(self.version));
        }
        if self.expires_ms <= now_ms {
            return Err(TicketError::Expired);
        }
        Ok(())
    }

    /// Parses a ticket, with a clear error for anything else.
    pub fn parse(s: &str) -> Result<Self, TicketError> {
        let ticket = <Self as Ticket>::decode_string(s.trim())
            .map_err(|e| TicketError::Malformed(e.to_string()))?;
        if ticket.version != VERSION {
            return Err(TicketError::Version(ticket.version));
        }
        if ticket.inviter.is_empty() {
            return Err(TicketError::Malformed(
                "it holds no address to reach the inviter".into(),
            ));
        }
        Ok(ticket)
    }
}

impl Ticket for InviteTicket {
    const KIND: &'static str = "peercoach";

    fn encode_bytes(&self) -> Vec<u8> {
        // Serializing plain owned data into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    fn decode_bytes(bytes: &[u8]) -> Result<Self, iroh_tickets::ParseError> {
        Ok(postcard::from_bytes(bytes)?)
    }
}

impl fmt::Display for InviteTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode_string())
    }
}

impl FromStr for InviteTicket {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ticket() -> InviteTicket {
        let id = iroh::SecretKey::from_bytes(&[7; 32]).public();
        let addr = EndpointAddr::new(id).with_ip_addr("127.0.0.1:4444".parse().expect("addr"));
        InviteTicket::new(
            TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000a").expect("team id"),
            "Platform".into(),
            addr,
            [9; 32],
            1_000,
            None,
        )
    }

    #[test]
    fn round_trips_through_text() {
        let t = ticket();
        let s = t.to_string();
        assert!(s.starts_with("peercoach"));
        assert_eq!(InviteTicket::parse(&s), Ok(t.clone()));
        assert_eq!(InviteTicket::parse(&format!("  {s}\n")), Ok(t));
        assert!(
            !format!("{:?}", ticket()).contains("9, 9"),
            "secret not in Debug"
        );
    }

    #[test]
    fn expiry_and_garbage_are_clear_errors() {
        let t = ticket();
        assert_eq!(t.check(999), Ok(()));
        assert_eq!(t.check(1_000), Err(TicketError::Expired));
        for bad in ["", "hello", "peercoach", "peercoachAAAA", "endpointabc"] {
            assert!(
                matches!(InviteTicket::parse(bad), Err(TicketError::Malformed(_))),
                "{bad}"
            );
        }
        let s = t.to_string();
        let cut = &s[..s.len() - 3];
        assert!(InviteTicket::parse(cut).is_err());
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = InviteTicket::parse(&s);
        }

        #[test]
        fn parsing_mutated_tickets_never_panics(i in 0usize..400, c in any::<char>()) {
            let mut s: Vec<char> = ticket().to_string().chars().collect();
            let at = i % s.len();
            s[at] = c;
            let _ = InviteTicket::parse(&s.into_iter().collect::<String>());
        }
    }
}
