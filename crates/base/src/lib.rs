//! # peercoach-base: the identifiers every layer shares
//!
//! Two kinds of identity cross every layer of peercoach, and both are parsed once, where
//! they enter the program, and carried as types from then on:
//!
//! - A [`TeamId`] names a team: one Automerge document. It is a UUID, written into the
//!   document at genesis, carried in invite tickets and in the first frame of every sync
//!   stream.
//! - A [`DeviceId`] names a device: its iroh endpoint id, the public half of the key the
//!   device keeps in its data dir. The QUIC handshake authenticates it, so the network
//!   layer knows it for certain; member records in the document list the devices of each
//!   member by it.
//!
//! They live here, below both the domain (`peercoach-core`) and the network
//! (`peercoach-net`), so that neither depends on the other to name a team or a peer —
//! as `iroh-base` does for iroh.
//!
//! ```
//! use peercoach_base::{DeviceId, TeamId};
//!
//! let team = TeamId::parse("0B6F5C1E-0000-4000-8000-00000000000A")?;
//! assert_eq!(team.as_str(), "0b6f5c1e-0000-4000-8000-00000000000a");
//!
//! let device = DeviceId::from_secret_key_bytes(&[7; 32]);
//! let again = DeviceId::parse(&device.to_string())?;
//! assert_eq!(device, again);
//! assert_eq!(device.short().len(), 8);
//! assert!(DeviceId::parse("not a key").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid record id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid id (expected a UUID such as 0b6f5c1e-…)")]
pub struct IdError(pub String);

/// Defines a newtype over a lowercase UUID string: a record id in the team document.
/// Core uses it for its record ids; [`TeamId`] is made with it here.
#[macro_export]
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from a document, a frame or what a user typed, checking
            /// its shape.
            pub fn parse(s: &str) -> Result<Self, $crate::IdError> {
                if $crate::is_uuid(s) {
                    Ok(Self(s.to_ascii_lowercase()))
                } else {
                    Err($crate::IdError(s.to_owned()))
                }
            }

            /// The id as it is stored in the document.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The first eight characters: enough to tell records apart on screen.
            pub fn short(&self) -> &str {
                self.0.get(..8).unwrap_or(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::IdError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }
    };
}

uuid_id!(
    /// A team: one Automerge document.
    TeamId
);

/// Checks the canonical 8-4-4-4-12 hex shape of a UUID.
pub fn is_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Why a string is not a device id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a device id (expected 64 hex digits: an iroh endpoint id)")]
pub struct DeviceIdError(pub String);

/// A device: its iroh endpoint id (an ed25519 public key). Written as 64 lowercase hex
/// digits, in member records, `status` and logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(iroh_base::EndpointId);

impl DeviceId {
    /// Parses the 64 hex digits of an endpoint id, as member records hold it. A string
    /// of the right shape that is no valid key is refused too.
    pub fn parse(s: &str) -> Result<Self, DeviceIdError> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DeviceIdError(s.to_owned()));
        }
        iroh_base::EndpointId::from_str(&s.to_ascii_lowercase())
            .map(Self)
            .map_err(|_| DeviceIdError(s.to_owned()))
    }

    /// The device id of a secret key (the key a data dir keeps in `identity`).
    pub fn from_secret_key_bytes(secret: &[u8; 32]) -> Self {
        Self(iroh_base::SecretKey::from_bytes(secret).public())
    }

    /// The iroh endpoint id, for the network layer.
    pub fn endpoint_id(&self) -> iroh_base::EndpointId {
        self.0
    }

    /// The first eight hex digits: enough to tell devices apart in logs and on screen.
    pub fn short(&self) -> String {
        let mut s = self.to_string();
        s.truncate(8);
        s
    }
}

impl From<iroh_base::EndpointId> for DeviceId {
    fn from(id: iroh_base::EndpointId) -> Self {
        Self(id)
    }
}

impl From<DeviceId> for iroh_base::EndpointId {
    fn from(id: DeviceId) -> Self {
        id.0
    }
}

impl FromStr for DeviceId {
    type Err = DeviceIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // iroh writes endpoint ids as lowercase hex.
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.short())
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A self-hosted iroh relay and the access token it asks for: one of a team's relays (in
/// its document), one of a device's own (in its settings), or one an endpoint is bound
/// with. The token never goes into logs (`Debug` masks it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relay {
    /// `https://…` (or `http://…` for a relay without TLS, which then cannot tell a
    /// device its public address, so hole punching does not work through it).
    pub url: String,
    /// The access token it asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_ids_are_uuids_lowercased_and_travel_as_strings() {
        let id = TeamId::parse("0B6F5C1E-0000-4000-8000-00000000000A").expect("valid");
        assert_eq!(id.as_str(), "0b6f5c1e-0000-4000-8000-00000000000a");
        assert_eq!(id.short(), "0b6f5c1e");
        assert!(TeamId::parse("nope").is_err());
        assert!(TeamId::parse("0b6f5c1e-0000-4000-8000-00000000000").is_err());
        assert!(TeamId::parse("0b6f5c1e_0000-4000-8000-00000000000a").is_err());
        let json = serde_json::to_string(&id).expect("json");
        assert_eq!(json, "\"0b6f5c1e-0000-4000-8000-00000000000a\"");
        assert_eq!(serde_json::from_str::<TeamId>(&json).expect("back"), id);
        assert!(serde_json::from_str::<TeamId>("\"garbage\"").is_err());
    }

    #[test]
    fn device_ids_round_trip_as_hex_and_refuse_anything_else() {
        let id = DeviceId::from_secret_key_bytes(&[1; 32]);
        let hex = id.to_string();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(DeviceId::parse(&hex), Ok(id));
        assert_eq!(DeviceId::parse(&hex.to_uppercase()), Ok(id));
        assert_eq!(id.short(), hex[..8]);
        let json = serde_json::to_string(&id).expect("json");
        assert_eq!(serde_json::from_str::<DeviceId>(&json).expect("back"), id);
        for bad in [
            "",
            "endpoint-0",
            &hex[..63],
            &format!("{hex}0"),
            &"z".repeat(64),
        ] {
            assert!(DeviceId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<DeviceId>("\"x\"").is_err());
    }

    #[test]
    fn device_ids_order_as_iroh_orders_endpoint_ids() {
        // The lower id dials first (crates/net): both sides must agree on "lower".
        let a = DeviceId::from_secret_key_bytes(&[1; 32]);
        let b = DeviceId::from_secret_key_bytes(&[2; 32]);
        assert_eq!(a < b, a.endpoint_id() < b.endpoint_id());
    }
}
