//! Helpers shared by the integration tests: a seeded test RNG that reports its seed.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64 (Steele, Lea & Flood, 2014): a tiny generator for drawing test cases, kept
/// separate from the generator under test.
pub struct TestRng(u64);

impl TestRng {
    /// A generator seeded from `VARSCALE_TEST_SEED`, or from the clock; the seed is printed so
    /// that a failure can be replayed.
    pub fn new(test: &str) -> Self {
        let seed = std::env::var("VARSCALE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{test}: VARSCALE_TEST_SEED={seed}");
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}
