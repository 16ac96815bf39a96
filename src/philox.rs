//! The counter-based generator, Philox4x32-10, and the map from `(seed, stream, i)` to its input.
//!
//! # The reproducibility contract
//!
//! Every backend (scalar, each SIMD level, the GPU) computes element `i` of a flattened
//! row-major tensor from `(seed, stream, i)` alone, as follows. Nothing else enters: not the
//! device, thread count, chunk size, alignment, or which sub-range or block was asked for.
//!
//! - **Key.** `key = [seed as u32, (seed >> 32) as u32]`.
//! - **Counter.** For a block index `b: u64`,
//!   `counter = [b as u32, (b >> 32) as u32, stream as u32, (stream >> 32) as u32]`.
//!   One call of [`philox4x32_10`] yields four 32-bit words `w[0..4]` for block `b`.
//! - **f32, f16 and bf16 elements.** Element `i` belongs to block `b = i / 4`, lane
//!   `l = i % 4`.
//!   - *uniform*, *truncated normal*: element `i` uses word `w[l]` alone;
//!   - *normal* (Box–Muller): lanes 0 and 1 are the pair made from `(w[0], w[1])`, lanes 2
//!     and 3 the pair made from `(w[2], w[3])`; the even lane takes the cosine, the odd
//!     lane the sine.
//!
//!   f16 and bf16 are the f32 value rounded to nearest, ties to even.
//! - **f64 elements.** Element `i` belongs to block `b = i / 2`; it uses the 64-bit word
//!   `(w[2l+1] << 32) | w[2l]` with `l = i % 2`. Box–Muller pairs elements `2j` and `2j + 1`
//!   (block `j`: radius from lane 0, angle from lane 1).
//!
//! The transforms from words to values are in [`crate::transform`]. The f32 transform is
//! specified operation by operation there (every multiply-add an explicit fused `fma`), so
//! that the scalar path, the SIMD kernels and the WGSL shaders can follow the same sequence.
//!
//! Philox4x32-10 is from J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, "Parallel
//! random numbers: as easy as 1, 2, 3", SC'11 (2011).

/// First round multiplier of Philox4x32 (Salmon et al., 2011).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Second round multiplier of Philox4x32.
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl increment of the first key word between rounds (golden ratio).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl increment of the second key word between rounds (√3 − 1).
pub const PHILOX_W1: u32 = 0xBB67_AE85;

/// The Philox4x32-10 block function: ten rounds over a 128-bit counter under a 64-bit key.
///
/// # Example
/// ```
/// // Known answer from the Random123 distribution.
/// let w = varscale::philox4x32_10([0, 0, 0, 0], [0, 0]);
/// assert_eq!(w, [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
/// ```
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(PHILOX_W0);
            k1 = k1.wrapping_add(PHILOX_W1);
        }
        let p0 = u64::from(PHILOX_M0) * u64::from(c0);
        let p1 = u64::from(PHILOX_M1) * u64::from(c2);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
    }
    [c0, c1, c2, c3]
}

/// A keyed Philox stream: the `(seed, stream)` pair that, with an element index, fixes every
/// value of a tensor.
///
/// Different tensors initialised under one `seed` should use different `stream`s; the CLI
/// derives a tensor's stream from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Philox {
    /// The 64-bit seed; it becomes the Philox key.
    pub seed: u64,
    /// The 64-bit stream id; it fills the high half of the counter.
    pub stream: u64,
}

impl Philox {
    /// The generator for `seed` and `stream`.
    pub const fn new(seed: u64, stream: u64) -> Self {
        Self { seed, stream }
    }

    /// The Philox key for this seed.
    #[inline(always)]
    pub const fn key(&self) -> [u32; 2] {
        [self.seed as u32, (self.seed >> 32) as u32]
    }

    /// The counter for block `block` of this stream.
    #[inline(always)]
    pub const fn counter(&self, block: u64) -> [u32; 4] {
        [
            block as u32,
            (block >> 32) as u32,
            self.stream as u32,
            (self.stream >> 32) as u32,
        ]
    }

    /// The four words of block `block`.
    #[inline(always)]
    pub fn block(&self, block: u64) -> [u32; 4] {
        philox4x32_10(self.counter(block), self.key())
    }
}

/// A stable 64-bit stream id for a tensor name: FNV-1a 64 over the name's UTF-8 bytes.
///
/// FNV-1a is fixed by its definition (offset basis 0xcbf29ce484222325, prime 0x100000001b3),
/// so the id never changes between versions, platforms or runs.
///
/// # Example
/// ```
/// assert_ne!(varscale::stream_for_name("wte.weight"), varscale::stream_for_name("wpe.weight"));
/// ```
pub fn stream_for_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers from Random123's `kat_vectors` for philox4x32_10.
    #[test]
    fn known_answers() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn counter_layout() {
        let g = Philox::new(0x1122_3344_5566_7788, 0x99aa_bbcc_ddee_ff00);
        assert_eq!(g.key(), [0x5566_7788, 0x1122_3344]);
        assert_eq!(
            g.counter(0x0102_0304_0506_0708),
            [0x0506_0708, 0x0102_0304, 0xddee_ff00, 0x99aa_bbcc]
        );
    }

    #[test]
    fn fnv1a_reference_values() {
        // FNV-1a 64 of the empty string is the offset basis; of "a" it is the published value.
        assert_eq!(stream_for_name(""), 0xcbf29ce484222325);
        assert_eq!(stream_for_name("a"), 0xaf63dc4c8601ec8c);
    }
}
