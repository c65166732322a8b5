//! Where time and fresh ids come from. Core reads neither the clock nor the random
//! generator itself: the caller passes an [`Env`], so tests and the history generator can
//! replay the same sequence exactly.

/// The source of timestamps and new record ids.
pub trait Env {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&mut self) -> i64;
    /// A fresh UUID string, unique across devices.
    fn fresh_id(&mut self) -> String;
}

/// The real clock and random UUIDs.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn now_ms(&mut self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    fn fresh_id(&mut self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A deterministic environment: a settable clock and ids from a seeded generator.
#[derive(Debug, Clone)]
pub struct SeededEnv {
    /// The clock; advance it as you like.
    pub now_ms: i64,
    state: u64,
}

impl SeededEnv {
    /// Starts at `now_ms` with ids drawn from `seed`.
    pub fn new(seed: u64, now_ms: i64) -> Self {
        Self {
            now_ms,
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn next_u64(&mut self) -> u64 {
        // splitmix64: small, fast and good enough for ids in tests and demo data.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Env for SeededEnv {
    fn now_ms(&mut self) -> i64 {
        self.now_ms
    }

    fn fresh_id(&mut self) -> String {
        let bytes = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        uuid::Builder::from_random_bytes(bytes.to_be_bytes())
            .into_uuid()
            .to_string()
    }
}
