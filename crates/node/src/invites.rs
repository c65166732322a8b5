//! Outstanding invites of one team, kept by the device that made them (the ticket points
//! at it). Each secret works once, until it expires; a used or expired one is refused
//! with a reason the joiner sees.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// One invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// The secret, hex.
    pub secret: String,
    /// Who made it (member id).
    pub by: String,
    /// Made at.
    pub created_ms: i64,
    /// Expires at.
    pub expires_ms: i64,
    /// For linking a device of this member.
    pub device_of: Option<String>,
    /// Redeemed by this endpoint.
    pub used_by: Option<String>,
    /// When.
    pub used_ms: Option<i64>,
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

/// The invites file of a team.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Invites {
    invites: Vec<Invite>,
}

impl Invites {
    /// Loads the file (an unreadable one counts as empty: its invites just stop working).
    pub fn load(path: &Path) -> Self {
        fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Saves durably: a redeemed invite must stay redeemed after a crash.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Adds an invite.
    pub fn add(
        &mut self,
        secret: &[u8; 32],
        by: &str,
        now_ms: i64,
        expires_ms: i64,
        device_of: Option<String>,
    ) {
        // Drop long-expired entries so the file stays small.
        self.invites
            .retain(|i| i.expires_ms > now_ms - 30 * 24 * 3_600_000);
        self.invites.push(Invite {
            secret: hex(secret),
            by: by.to_owned(),
            created_ms: now_ms,
            expires_ms,
            device_of,
            used_by: None,
            used_ms: None,
        });
    }

    /// Redeems a secret for `endpoint`, marking it used. The endpoint that used it may
    /// redeem it again (to finish a join that was cut off); nobody else can.
    pub fn redeem(
        &mut self,
        secret: &[u8; 32],
        endpoint: &str,
        now_ms: i64,
    ) -> Result<Invite, Refusal> {
        let wanted = hex(secret);
        let invite = self
            .invites
            .iter_mut()
            .find(|i| same(&i.secret, &wanted))
            .ok_or(Refusal::Unknown)?;
        match invite.used_by.as_deref() {
            // The same device again: its join was cut off before it saved the team (a
            // crash, a closed lid). It may finish; the node sends what it has.
            Some(by) if by == endpoint => return Ok(invite.clone()),
            Some(_) => return Err(Refusal::Used),
            None => {}
        }
        if invite.expires_ms <= now_ms {
            return Err(Refusal::Expired);
        }
        invite.used_by = Some(endpoint.to_owned());
        invite.used_ms = Some(now_ms);
        Ok(invite.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invite_works_once_and_not_after_expiry() {
        let mut inv = Invites::default();
        inv.add(&[1; 32], "ana", 0, 100, None);
        inv.add(&[2; 32], "ana", 0, 100, None);
        assert_eq!(inv.redeem(&[3; 32], "x", 10), Err(Refusal::Unknown));
        assert!(inv.redeem(&[1; 32], "x", 10).is_ok());
        assert_eq!(inv.redeem(&[1; 32], "y", 11), Err(Refusal::Used));
        assert!(
            inv.redeem(&[1; 32], "x", 12).is_ok(),
            "the device that used it may finish its join"
        );
        assert_eq!(inv.redeem(&[2; 32], "y", 100), Err(Refusal::Expired));
    }

    #[test]
    fn survives_a_round_trip_through_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("invites.json");
        let mut inv = Invites::default();
        inv.add(&[1; 32], "ana", 0, 100, Some("ana".into()));
        inv.redeem(&[1; 32], "x", 1).expect("redeem");
        inv.save(&path).expect("save");
        let mut again = Invites::load(&path);
        assert_eq!(again.redeem(&[1; 32], "y", 2), Err(Refusal::Used));
        std::fs::write(&path, b"garbage").expect("write");
        assert_eq!(Invites::load(&path).invites.len(), 0);
    }
}
