//! Helpers shared by the integration tests: a seeded test RNG that reports its seed, and the
//! scalar reference bytes of a tensor.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use half::{bf16, f16};
use varscale::{Cpu, DType, Element, Initializer, Layout, Philox, SimdLevel};

/// SplitMix64 (Steele, Lea & Flood, 2014): a tiny generator for drawing test cases, kept
/// separate from the generator under test.
pub struct TestRng {
    state: u64,
    seed: u64,
}

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
        Self::with_seed(seed)
    }

    /// A generator with a given seed.
    pub fn with_seed(seed: u64) -> Self {
        Self { state: seed, seed }
    }

    /// The seed this generator started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// The scalar reference bytes for a tensor: what every file must hold.
pub fn reference(init: &str, shape: &[u64], layout: Layout, dtype: DType, rng: Philox) -> Vec<u8> {
    let init: Initializer = init.parse().unwrap();
    let sampler = init.sampler_for_shape(shape, layout).unwrap();
    let cpu = Cpu::new().with_level(SimdLevel::Scalar).unwrap();
    let n = shape.iter().product::<u64>() as usize;
    fn fill<T: Element>(cpu: &Cpu, s: &varscale::Sampler, rng: Philox, n: usize) -> Vec<u8> {
        let mut v = vec![T::default(); n];
        cpu.fill(s, rng, 0, &mut v).unwrap();
        bytemuck::cast_slice(&v).to_vec()
    }
    match dtype {
        DType::F32 => fill::<f32>(&cpu, &sampler, rng, n),
        DType::F64 => fill::<f64>(&cpu, &sampler, rng, n),
        DType::F16 => fill::<f16>(&cpu, &sampler, rng, n),
        DType::BF16 => fill::<bf16>(&cpu, &sampler, rng, n),
    }
}
