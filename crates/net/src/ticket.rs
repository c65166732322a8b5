//! Invite tickets: one line of text that lets one person (or one more device of a member)
//! join a team, once, before it expires. It names the team, how to reach the inviter, and
//! a one-time secret the inviter checks before sending any byte of the document.

use std::fmt;
use std::str::FromStr;

use iroh::EndpointAddr;
use iroh_tickets::Ticket;
use peercoach_base::TeamId;
use serde::{Deserialize, Serialize};

/// The current ticket format: 2 adds the inviter's name. Tickets of format 1 are read
/// too (they carry no name).
const VERSION: u8 = 2;

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
    /// The inviter's name, to show while joining ("Reaching Ana's device…"); empty in
    /// tickets of format 1.
    pub inviter_name: String,
}

/// A ticket of format 1, as postcard laid it out.
#[derive(Deserialize)]
struct TicketV1 {
    version: u8,
    team_id: TeamId,
    team_name: String,
    inviter: EndpointAddr,
    secret: [u8; 32],
    expires_ms: i64,
    device_of: Option<String>,
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
            .field("inviter_name", &self.inviter_name)
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
        inviter_name: String,
    ) -> Self {
        Self {
            version: VERSION,
            team_id,
            team_name,
            inviter,
            secret,
            expires_ms,
            device_of,
            inviter_name,
        }
    }

    /// Who invites, for messages: "Ana", or "the inviter" for a ticket without a name.
    pub fn inviter_label(&self) -> String {
        if self.inviter_name.trim().is_empty() {
            "the inviter".to_owned()
        } else {
            self.inviter_name.clone()
        }
    }

    /// Checks the ticket can still be used at `now_ms`.
    pub fn check(&self, now_ms: i64) -> Result<(), TicketError> {
        if !(1..=VERSION).contains(&self.version) {
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
        if !(1..=VERSION).contains(&ticket.version) {
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
        // The version comes first (postcard writes a u8 as one byte): it says the layout.
        if bytes.first() == Some(&1) {
            let v1: TicketV1 = postcard::from_bytes(bytes)?;
            return Ok(Self {
                version: v1.version,
                team_id: v1.team_id,
                team_name: v1.team_name,
                inviter: v1.inviter,
                secret: v1.secret,
                expires_ms: v1.expires_ms,
                device_of: v1.device_of,
                inviter_name: String::new(),
            });
        }
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
            "Ana".into(),
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
    fn a_ticket_of_the_first_format_still_reads_without_a_name() {
        #[derive(Serialize)]
        struct V1 {
            version: u8,
            team_id: TeamId,
            team_name: String,
            inviter: EndpointAddr,
            secret: [u8; 32],
            expires_ms: i64,
            device_of: Option<String>,
        }
        let t = ticket();
        let old = V1 {
            version: 1,
            team_id: t.team_id.clone(),
            team_name: t.team_name.clone(),
            inviter: t.inviter.clone(),
            secret: t.secret,
            expires_ms: t.expires_ms,
            device_of: None,
        };
        let bytes = postcard::to_stdvec(&old).expect("encode");
        let text = format!(
            "peercoach{}",
            data_encoding::BASE32_NOPAD
                .encode(&bytes)
                .to_ascii_lowercase()
        );
        let read = InviteTicket::parse(&text).expect("a format-1 ticket reads");
        assert_eq!(read.secret, t.secret);
        assert_eq!(read.team_id, t.team_id);
        assert_eq!(read.inviter_label(), "the inviter");
        assert_eq!(t.inviter_label(), "Ana");
        assert_eq!(read.check(999), Ok(()));
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
