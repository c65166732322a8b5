//! The invites one device made for a team (`teams/<id>/invites.json`): the ticket points
//! at that device, and only it can check the secret. Each secret works once, until it
//! expires; a used or expired one is refused with a reason the joiner sees, and kept for
//! a while so that the reason is "used" or "expired", not "unknown". The secrets are kept
//! as they are — the device must compare them — in a data dir only its user can read.
//! The file is replaced whole and fsynced on every change: a redeemed invite must stay
//! redeemed after a crash.

use peercoach_base::DeviceId;
use peercoach_core::MemberId;
use serde::{Deserialize, Serialize};

/// One invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The secret, hex.
    pub secret: String,
    /// Who made it.
    pub by: MemberId,
    /// Made at.
    pub created_ms: i64,
    /// Expires at.
    pub expires_ms: i64,
    /// For linking a device of this member (rather than inviting a new member).
    pub device_of: Option<MemberId>,
    /// Redeemed by this device.
    pub used_by: Option<DeviceId>,
    /// When.
    pub used_ms: Option<i64>,
}

impl Invite {
    /// How the invite is named on this device: the first 6 bytes of its secret, in hex
    /// (the app matches the ticket it shows with what became of it).
    pub fn id(&self) -> &str {
        self.secret.get(..12).unwrap_or_default()
    }

    /// The id of the invite with this secret, as [`Invite::id`] names it once added.
    pub fn id_of(secret: &[u8; 32]) -> String {
        hex(&secret[..6])
    }
}

/// Why an invite was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No invite with that secret.
    #[error("this invite is not known here (it may be for another device or team)")]
    Unknown,
    /// Already used.
    #[error("this invite was already used; ask for a new one")]
    Used,
    /// Expired.
    #[error("this invite expired; ask for a new one")]
    Expired,
}

/// An invite redeemed.
#[derive(Debug, Clone)]
pub struct Redeemed {
    /// The invite.
    pub invite: Invite,
    /// The same device used it before (a join that was cut off, finishing).
    pub again: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal-time comparison, so response timing says nothing about how close a guess was.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// How long an expired invite is kept (to say "expired" rather than "unknown").
const KEEP_EXPIRED_MS: i64 = 30 * 24 * 3_600_000;

/// The invites of a team.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invites {
    invites: Vec<Invite>,
}

impl Invites {
    /// Adds an invite.
    pub fn add(
        &mut self,
        secret: &[u8; 32],
        by: MemberId,
        now_ms: i64,
        expires_ms: i64,
        device_of: Option<MemberId>,
    ) {
        // Drop long-expired entries so the file stays small.
        self.invites
            .retain(|i| i.expires_ms > now_ms - KEEP_EXPIRED_MS);
        self.invites.push(Invite {
            secret: hex(secret),
            by,
            created_ms: now_ms,
            expires_ms,
            device_of,
            used_by: None,
            used_ms: None,
        });
    }

    /// Redeems a secret for `device`, marking it used. Expiry is checked first, for
    /// every use. The device that used it may redeem it again before it expires (to
    /// finish a join that was cut off: `again` says so, and the caller checks that it is
    /// that same join); nobody else can.
    pub fn redeem(
        &mut self,
        secret: &[u8; 32],
        device: DeviceId,
        now_ms: i64,
    ) -> Result<Redeemed, Refusal> {
        let wanted = hex(secret);
        let invite = self
            .invites
            .iter_mut()
            .find(|i| same(&i.secret, &wanted))
            .ok_or(Refusal::Unknown)?;
        if invite.expires_ms <= now_ms {
            return Err(Refusal::Expired);
        }
        let again = match invite.used_by {
            Some(by) if by == device => true,
            Some(_) => return Err(Refusal::Used),
            None => false,
        };
        invite.used_by = Some(device);
        invite.used_ms = invite.used_ms.or(Some(now_ms));
        Ok(Redeemed {
            invite: invite.clone(),
            again,
        })
    }

    /// Every invite kept, oldest first.
    pub fn all(&self) -> &[Invite] {
        &self.invites
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> MemberId {
        MemberId::parse("0b6f5c1e-0000-4000-8000-00000000000a").expect("member id")
    }

    fn device(n: u8) -> DeviceId {
        DeviceId::from_secret_key_bytes(&[n; 32])
    }

    #[test]
    fn an_invite_works_once_and_not_after_expiry() {
        let mut inv = Invites::default();
        inv.add(&[1; 32], member(), 0, 100, None);
        inv.add(&[2; 32], member(), 0, 100, None);
        assert_eq!(
            inv.redeem(&[3; 32], device(1), 10).err(),
            Some(Refusal::Unknown)
        );
        assert!(inv.redeem(&[1; 32], device(1), 10).is_ok_and(|r| !r.again));
        assert_eq!(
            inv.redeem(&[1; 32], device(2), 11).err(),
            Some(Refusal::Used)
        );
        assert!(
            inv.redeem(&[1; 32], device(1), 12).is_ok_and(|r| r.again),
            "the device that used it may finish its join, and is told it is a second use"
        );
        assert_eq!(inv.all()[0].used_ms, Some(10), "first use kept");
        assert_eq!(
            inv.redeem(&[2; 32], device(2), 100).err(),
            Some(Refusal::Expired)
        );
        // Expiry comes first, also for the device that used it.
        assert_eq!(
            inv.redeem(&[1; 32], device(1), 100).err(),
            Some(Refusal::Expired)
        );
    }

    #[test]
    fn an_invite_is_named_by_the_start_of_its_secret_before_and_after_it_is_added() {
        let mut inv = Invites::default();
        let secret = [
            0xab, 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
            23, 24, 25, 26, 27, 28, 29, 30, 31,
        ];
        inv.add(&secret, member(), 0, 100, None);
        assert_eq!(Invite::id_of(&secret), "ab0102030405");
        assert_eq!(inv.all()[0].id(), Invite::id_of(&secret));
    }
}
