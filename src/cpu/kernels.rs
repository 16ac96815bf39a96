//! Dispatch from a [`SimdLevel`] to its kernel, and the one kernel body every SIMD level shares.
//!
//! The body is written once, generic over [`Isa`]: the vector operations an instruction set
//! offers. Each operation is the IEEE operation the reference in [`crate::transform`] does at
//! that step (a fused multiply-add where the reference has `mul_add`, a plain multiply where it
//! has `*`), so every level gives the reference's bits.
//!
//! Data layout: one vector holds `LANES` consecutive Philox blocks in structure-of-arrays form
//! (vector `j` holds word `j` of each block), so every Philox round and every transform step is
//! purely vertical. The four result vectors (element offset `j` of each block) are transposed
//! to element order only at the store. A level may run Philox in another layout
//! ([`Isa::philox`]); AVX-512 does.
//!
//! PERF: every function here is `#[inline(always)]` and is instantiated inside a
//! `#[target_feature]` function of the level's module. A call that is not inlined would cross
//! a target-feature boundary: a real call per operation, with the vectors spilled to memory.

use half::{bf16, f16, slice::HalfFloatSliceExt};

use super::SimdLevel;
use super::scalar;
use crate::philox::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, Philox};
use crate::transform::{
    ANGLE_STEP, COS_POLY, ERF_LIMIT, ERFINV_CENTRAL, ERFINV_TAIL, F32Params, Kind, LN_POLY, LN2_HI,
    LN2_LO, SIN_POLY, SQRT_HALF_BITS, SQRT2,
};

/// Whether this CPU can run `level`.
pub(super) fn is_supported(level: SimdLevel) -> bool {
    match level {
        SimdLevel::Scalar => true,
        SimdLevel::Avx2Fma | SimdLevel::Avx512 => {
            #[cfg(target_arch = "x86_64")]
            return super::x86::is_supported(level);
            #[cfg(not(target_arch = "x86_64"))]
            return false;
        }
        // NEON is part of the AArch64 baseline.
        SimdLevel::Neon => cfg!(target_arch = "aarch64"),
    }
}

/// Elements `start..start + out.len()` of an f32 tensor, any start and length.
///
/// `nontemporal` asks for streaming stores, for outputs too large to stay in cache. The
/// caller checks `level` with [`is_supported`] first; an unsupported level falls back to the
/// scalar reference.
pub(super) fn fill_f32(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma | SimdLevel::Avx512 if is_supported(level) => {
            super::x86::fill_f32(level, p, rng, start, out, nontemporal)
        }
        #[cfg(target_arch = "aarch64")]
        SimdLevel::Neon => super::neon::fill_f32(p, rng, start, out, nontemporal),
        _ => scalar::fill_f32(p, rng, start, out),
    }
}

/// The raw Philox words of elements `start..start + out.len()`: element `i` is word `i % 4` of
/// block `i / 4`, the word every transform of that element starts from.
pub(super) fn fill_bits(
    level: SimdLevel,
    rng: &Philox,
    start: u64,
    out: &mut [u32],
    nontemporal: bool,
) {
    // The kernels move words through f32 lanes as bits only (no float operation touches
    // them), so the slice is viewed as f32.
    let out: &mut [f32] = bytemuck::cast_slice_mut(out);
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma | SimdLevel::Avx512 if is_supported(level) => {
            super::x86::fill_bits(level, rng, start, out, nontemporal)
        }
        #[cfg(target_arch = "aarch64")]
        SimdLevel::Neon => super::neon::fill_bits(rng, start, out, nontemporal),
        _ => scalar::fill_bits(rng, start, out),
    }
}

/// Runs the level's kernel body for raw words; `isa` proves the instruction set is there.
#[inline(always)]
pub(super) fn fill_bits_with<I: Isa>(
    isa: I,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    fill_with(isa, &Bits, rng, start, out, nontemporal)
}

/// Elements per piece of a half-precision fill: large enough to amortise the call per piece,
/// small enough to stay in L1 with its output.
const STAGING: usize = 2048;

/// Elements of a half-precision tensor at a `level` with no half kernel of its own (the
/// scalar reference, NEON's f16): that level's f32 fill into a small buffer on the stack, one
/// piece at a time, rounded to the output by `round`.
pub(super) fn fill_half_staged<H>(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [H],
    round: impl Fn(&mut [H], &[f32]),
) {
    let mut staging = [0f32; STAGING];
    for (k, dst) in out.chunks_mut(STAGING).enumerate() {
        let buf = &mut staging[..dst.len()];
        fill_f32(level, p, rng, start + (k * STAGING) as u64, buf, false);
        round(dst, buf);
    }
}

/// Elements of a half-precision tensor at the level `isa` proves: its f32 kernel into a small
/// buffer on the stack, one piece at a time, then `round`.
///
/// Inlined into a level's `#[target_feature]` function, the rounding pass vectorises with the
/// level's instructions; outside one it is baseline SSE2 code, which halved the speed of a bf16
/// uniform fill. With `nontemporal`, each piece is rounded into a second buffer and streamed to the output
/// ([`stream_halves`]), which spares large outputs the read of every line before it is written
/// (on x86; elsewhere the piece is copied). The caller fences.
// LIMIT: the rounding is still a second pass over an L1-resident buffer, not fused into the
// kernel's stores: halves ran 10–25% below f32 on the Intel machine.
#[inline(always)]
pub(super) fn fill_half_with<I: Isa, H: bytemuck::Pod>(
    isa: I,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [H],
    nontemporal: bool,
    round: impl Fn(&mut [H], &[f32]),
) {
    // `fill_half_staged`'s loop, written out with the level's kernel: a closure made here would
    // not inherit the caller's `#[target_feature]`s, and the kernel inlined into it ran fifty
    // times slower, one call per intrinsic.
    let mut staging = [0f32; STAGING];
    let mut halves = [H::zeroed(); STAGING];
    for (k, dst) in out.chunks_mut(STAGING).enumerate() {
        let buf = &mut staging[..dst.len()];
        fill_f32_with(isa, p, rng, start + (k * STAGING) as u64, buf, false);
        if nontemporal {
            let rounded = &mut halves[..dst.len()];
            round(rounded, buf);
            stream_halves(bytemuck::cast_slice_mut(dst), bytemuck::cast_slice(rounded));
        } else {
            round(dst, buf);
        }
    }
}

/// `dst.copy_from_slice(src)`, with streaming stores on x86 (SSE2, in the baseline) from the
/// first 16-byte boundary of `dst` to the last; the ends are copied.
#[inline(always)]
pub(super) fn stream_halves(dst: &mut [u16], src: &[u16]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let head = ((dst.as_ptr() as usize).wrapping_neg() % 16 / 2).min(dst.len());
        let body = (dst.len() - head) / 8 * 8;
        let (d_head, d_rest) = dst.split_at_mut(head);
        let (s_head, s_rest) = src.split_at(head);
        d_head.copy_from_slice(s_head);
        for (d, s) in d_rest[..body]
            .chunks_exact_mut(8)
            .zip(s_rest[..body].chunks_exact(8))
        {
            // SAFETY: `s` holds 8 halves (16 bytes) to load, unaligned; `d` holds 8 and starts
            // at a 16-byte boundary, as the streaming store needs: the head ended on one and
            // every chunk is 16 bytes.
            unsafe {
                let v = _mm_loadu_si128(s.as_ptr().cast::<__m128i>());
                _mm_stream_si128(d.as_mut_ptr().cast::<__m128i>(), v);
            }
        }
        d_rest[body..].copy_from_slice(&s_rest[body..]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    dst.copy_from_slice(src);
}

/// Elements of an f16 tensor: the f32 values rounded to nearest even (with F16C `vcvtps2ph`
/// inside the x86 kernels; elsewhere by `half`). `nontemporal` asks the x86 kernels for
/// streaming stores, which the caller fences.
pub(super) fn fill_f16(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f16],
    nontemporal: bool,
) {
    #[cfg(not(target_arch = "x86_64"))]
    let _ = nontemporal; // Streaming stores are only wired on x86.
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma | SimdLevel::Avx512 if is_supported(level) && super::x86::has_f16c() => {
            super::x86::fill_f16(level, p, rng, start, out, nontemporal)
        }
        _ => fill_half_staged(level, p, rng, start, out, |d, s| {
            d.convert_from_f32_slice(s)
        }),
    }
}

/// Elements of a bf16 tensor: the f32 values rounded to nearest even. `nontemporal` asks the
/// x86 kernels for streaming stores, which the caller fences.
pub(super) fn fill_bf16(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [bf16],
    nontemporal: bool,
) {
    #[cfg(not(target_arch = "x86_64"))]
    let _ = nontemporal; // Streaming stores are only wired on x86.
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2Fma | SimdLevel::Avx512 if is_supported(level) => {
            super::x86::fill_bf16(level, p, rng, start, out, nontemporal)
        }
        #[cfg(target_arch = "aarch64")]
        SimdLevel::Neon => super::neon::fill_bf16(p, rng, start, out),
        _ => fill_half_staged(level, p, rng, start, out, round_bf16),
    }
}

/// `bf16::from_f32` of each value, written without branches so that it vectorises (`half`
/// converts bf16 slices one branchy element at a time).
///
/// Adding `0x7fff` plus the kept part's lowest bit carries into the kept part exactly when the
/// dropped half is above one half, or equal to it with an odd kept part: ties to even.
#[inline(always)]
pub(super) fn round_bf16(dst: &mut [bf16], src: &[f32]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        let x = v.to_bits();
        let rounded = x.wrapping_add(0x7fff + ((x >> 16) & 1)) >> 16;
        // NaN stays NaN, quietened, as `half` does.
        let nan = (x & 0x7fff_ffff) > 0x7f80_0000;
        *d = bf16::from_bits(if nan { (x >> 16) | 0x40 } else { rounded } as u16);
    }
}

/// Orders non-temporal stores before whatever the caller does next.
pub(super) fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `sfence` has no preconditions; SSE is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// The vector operations the kernel body needs from one instruction set.
///
/// A value of an implementing type is a proof that the CPU runs the instruction set: it is
/// only made after run-time detection, inside a function compiled for those features.
/// Vectors hold `LANES` lanes of 32 bits. Float operations are IEEE single precision with
/// round-to-nearest-even, exactly as in the scalar reference.
pub(super) trait Isa: Copy {
    /// Lanes per vector: Philox blocks per step.
    const LANES: usize;
    /// A vector of `u32`.
    type U: Copy;
    /// A vector of `f32`.
    type F: Copy;
    /// The result of a float comparison.
    type M: Copy;

    /// Every lane `x`.
    fn splat_u(self, x: u32) -> Self::U;
    /// Every lane `x`.
    fn splat_f(self, x: f32) -> Self::F;
    /// Lane `i` holds `i`.
    fn iota(self) -> Self::U;
    /// Wrapping `a + b`.
    fn add_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// Wrapping `a − b`.
    fn sub_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// `a & b`.
    fn and_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// `a | b`.
    fn or_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// `a ^ b ^ c`.
    fn xor3_u(self, a: Self::U, b: Self::U, c: Self::U) -> Self::U;
    /// `a ^ b`.
    fn xor_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// Logical shift right by `n < 32`, a constant at every call.
    fn shr(self, a: Self::U, n: u32) -> Self::U;
    /// Arithmetic (sign-filling) shift right by `n < 32`.
    fn sar(self, a: Self::U, n: u32) -> Self::U;
    /// Shift left by `n < 32`.
    fn shl(self, a: Self::U, n: u32) -> Self::U;
    /// All ones where `a < b` as unsigned integers, zero elsewhere.
    fn lt_u(self, a: Self::U, b: Self::U) -> Self::U;
    /// The 64-bit products `M · a` of each lane, as `(high 32 bits, low 32 bits)`.
    fn mul_hi_lo<const M: u32>(self, a: Self::U) -> (Self::U, Self::U);
    /// Philox4x32-10 of the `LANES` blocks from `block` on, under the splatted round keys
    /// `keys` and stream words `stream`; a level may override the lane-by-lane default
    /// with a faster layout.
    #[inline(always)]
    fn philox(self, keys: &Keys<Self::U>, block: u64, stream: [Self::U; 2]) -> [Self::U; 4] {
        philox_rounds(self, keys, counters(self, block, stream))
    }

    /// Whether [`Isa::philox_elements`] gives its words in element order.
    const ELEMENT_ORDER: bool = false;
    /// Philox as [`Isa::philox`], for transforms that turn each word into one value on its
    /// own: when [`Isa::ELEMENT_ORDER`] holds, vector `v` holds the words of elements
    /// `v · LANES..(v + 1) · LANES` of the step (word `e % 4` of block `e / 4`), to be stored
    /// with [`Isa::store_rows`]; otherwise the words are in [`Isa::philox`]'s order.
    #[inline(always)]
    fn philox_elements(
        self,
        keys: &Keys<Self::U>,
        block: u64,
        stream: [Self::U; 2],
    ) -> [Self::U; 4] {
        self.philox(keys, block, stream)
    }
    /// `2k + 1 − 2²⁴` for `k = w >> 8`, as a signed integer: `((w >> 7) | 1) − 2²⁴`.
    #[inline(always)]
    fn centred_odd(self, w: Self::U) -> Self::U {
        let odd = self.or_u(self.shr(w, 7), self.splat_u(1));
        self.sub_u(odd, self.splat_u(1 << 24))
    }

    /// Exact conversion of a signed integer below 2²⁴ in magnitude.
    fn i32_to_f(self, a: Self::U) -> Self::F;
    /// Correctly rounded conversion of any `u32`, as Rust's `as f32`.
    fn u32_to_f(self, a: Self::U) -> Self::F;
    /// The bits of a float.
    fn bits_of(self, a: Self::F) -> Self::U;
    /// The float of some bits.
    fn float_of(self, a: Self::U) -> Self::F;
    /// `a + b`.
    fn add(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a − b`.
    fn sub(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a · b`.
    fn mul(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a · b + c` with one rounding, as `a.mul_add(b, c)`.
    fn fma(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// `√a`, correctly rounded.
    fn sqrt(self, a: Self::F) -> Self::F;
    /// `x.max(lo)` for non-NaN values: `x` where they are equal.
    fn max(self, x: Self::F, lo: Self::F) -> Self::F;
    /// `x.min(hi)` for non-NaN values: `x` where they are equal.
    fn min(self, x: Self::F, hi: Self::F) -> Self::F;
    /// `a < b` (false for NaN).
    fn lt(self, a: Self::F, b: Self::F) -> Self::M;
    /// Whether `m` is true in every lane.
    fn all(self, m: Self::M) -> bool;
    /// `a` where `m` is true, `b` elsewhere.
    fn select(self, m: Self::M, a: Self::F, b: Self::F) -> Self::F;
    /// True in the lanes of `a` whose bit `bit` (below 32) is set.
    fn test_bit(self, a: Self::U, bit: u32) -> Self::M;
    /// `a` where `m` is true, `b` elsewhere, for words.
    #[inline(always)]
    fn select_u(self, m: Self::M, a: Self::U, b: Self::U) -> Self::U {
        self.bits_of(self.select(m, self.float_of(a), self.float_of(b)))
    }
    /// `−a` where `m` is true (the sign bit flipped), `a` elsewhere.
    #[inline(always)]
    fn neg_where(self, m: Self::M, a: Self::F) -> Self::F {
        self.select(m, neg(self, a), a)
    }

    /// Stores `4 · LANES` floats to `dst` in element order: float `4b + j` is lane `b` of
    /// `z[j]`.
    ///
    /// # Safety
    /// `dst` must be valid for `4 · LANES` writes of `f32`; when `nontemporal` is true it must
    /// also be 64-byte aligned.
    unsafe fn store4(self, dst: *mut f32, z: [Self::F; 4], nontemporal: bool);

    /// Stores `4 · LANES` floats already in element order: vector `v` to `dst + v · LANES`.
    /// The default ignores `nontemporal`.
    ///
    /// # Safety
    /// As [`Isa::store4`].
    #[inline(always)]
    unsafe fn store_rows(self, dst: *mut f32, z: [Self::F; 4], _nontemporal: bool) {
        for (v, row) in z.into_iter().enumerate() {
            // SAFETY: the caller gives `4 · LANES` writable floats at `dst`, and `Self::F` is
            // `LANES` floats; the write is unaligned.
            unsafe {
                dst.add(v * Self::LANES)
                    .cast::<Self::F>()
                    .write_unaligned(row)
            };
        }
    }
}

/// The most floats one step makes: four vectors of 16 lanes.
const MAX_STEP: usize = 64;

/// One transform from Philox words to values, vectorised.
trait Transform<I: Isa> {
    /// Whether the transform reads the words at all (a constant does not).
    const WORDS: bool = true;
    /// Whether each value depends on one word alone, the word of its own element offset, by the
    /// same function for all four offsets; such a transform may take its words in element
    /// order ([`Isa::philox_elements`]).
    const PER_WORD: bool = false;
    /// The values for the four words of `LANES` blocks: `[element offset 0, 1, 2, 3]`.
    fn apply(&self, isa: I, w: [I::U; 4]) -> [I::F; 4];
}

/// Runs the level's kernel body for `p`; `isa` proves the instruction set is there.
#[inline(always)]
pub(super) fn fill_f32_with<I: Isa>(
    isa: I,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    // PERF: no closures in this file: a closure gets no `#[inline(always)]`, and one left out
    // of line is compiled without the level's target features.
    match p.kind() {
        Kind::Constant => {
            let t = Constant(isa.splat_f(p.a));
            fill_with(isa, &t, rng, start, out, nontemporal)
        }
        Kind::Uniform => match folded_half(p.b) {
            Some(folded) if clamp_is_identity(p.b, p.a, p.lo, p.hi) => {
                let t = Uniform::<_, true>::new(isa, p, folded);
                fill_with(isa, &t, rng, start, out, nontemporal)
            }
            _ => {
                let t = Uniform::<_, false>::new(isa, p, p.b);
                fill_with(isa, &t, rng, start, out, nontemporal)
            }
        },
        Kind::Normal => {
            let t = Normal {
                mean: isa.splat_f(p.mean),
                std: isa.splat_f(p.std),
            };
            fill_with(isa, &t, rng, start, out, nontemporal)
        }
        Kind::TruncatedNormal => {
            let fast = folded_half(p.b)
                .filter(|_| clamp_is_identity(p.b, p.a, -ERF_LIMIT, ERF_LIMIT) && p.central_only());
            if let Some(folded) = fast {
                let t = Truncated::<_, true>::new(isa, p, folded);
                fill_with(isa, &t, rng, start, out, nontemporal)
            } else {
                let t = Truncated::<_, false>::new(isa, p, p.b);
                fill_with(isa, &t, rng, start, out, nontemporal)
            }
        }
    }
}

/// The Philox keys of the ten rounds, splatted: `[k0 of each round, k1 of each round]`.
pub(super) type Keys<U> = [[U; 10]; 2];

/// The splatted round keys of Philox key `key`.
#[inline(always)]
fn round_keys<I: Isa>(isa: I, key: [u32; 2]) -> Keys<I::U> {
    let mut keys = [[isa.splat_u(0); 10]; 2];
    let [mut k0, mut k1] = key;
    let [round_k0, round_k1] = &mut keys;
    for (r0, r1) in round_k0.iter_mut().zip(round_k1) {
        (*r0, *r1) = (isa.splat_u(k0), isa.splat_u(k1));
        k0 = k0.wrapping_add(PHILOX_W0);
        k1 = k1.wrapping_add(PHILOX_W1);
    }
    keys
}

/// The Philox counters of the `LANES` blocks from `block` on, one word per vector.
#[inline(always)]
fn counters<I: Isa>(isa: I, block: u64, [s0, s1]: [I::U; 2]) -> [I::U; 4] {
    let base = isa.splat_u(block as u32);
    let c0 = isa.add_u(base, isa.iota());
    // A lane whose low word wrapped carries into the high word (all ones = −1).
    let c1 = isa.sub_u(isa.splat_u((block >> 32) as u32), isa.lt_u(c0, base));
    [c0, c1, s0, s1]
}

/// Philox4x32-10 of `LANES` counters at once, as [`crate::philox::philox4x32_10`].
#[inline(always)]
pub(super) fn philox_rounds<I: Isa>(isa: I, keys: &Keys<I::U>, counter: [I::U; 4]) -> [I::U; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    for (&k0, &k1) in keys[0].iter().zip(&keys[1]) {
        let (hi0, lo0) = isa.mul_hi_lo::<PHILOX_M0>(c0);
        let (hi1, lo1) = isa.mul_hi_lo::<PHILOX_M1>(c2);
        (c0, c1, c2, c3) = (isa.xor3_u(hi1, c1, k0), lo1, isa.xor3_u(hi0, c3, k1), lo0);
    }
    [c0, c1, c2, c3]
}

/// One transform under one Philox key and stream, at one level.
struct Kernel<'t, I: Isa, T> {
    isa: I,
    t: &'t T,
    keys: Keys<I::U>,
    stream: [I::U; 2],
}

impl<I: Isa, T: Transform<I>> Kernel<'_, I, T> {
    /// The values of the `LANES` blocks from `block` on.
    #[inline(always)]
    fn values(&self, block: u64) -> [I::F; 4] {
        self.t.apply(self.isa, self.words(block))
    }

    /// The Philox words of the `LANES` blocks from `block` on, in the order the transform
    /// takes them (none for a transform that reads no words).
    #[inline(always)]
    fn words(&self, block: u64) -> [I::U; 4] {
        let isa = self.isa;
        if !T::WORDS {
            return [isa.splat_u(0); 4];
        }
        let keys = &self.keys;
        if Self::ROWS {
            isa.philox_elements(keys, block, self.stream)
        } else {
            isa.philox(keys, block, self.stream)
        }
    }

    /// Whether [`Kernel::values`] come in element order.
    const ROWS: bool = I::ELEMENT_ORDER && T::PER_WORD;

    /// Stores the values of one step.
    ///
    /// # Safety
    /// As [`Isa::store4`].
    #[inline(always)]
    unsafe fn store(&self, dst: *mut f32, z: [I::F; 4], nontemporal: bool) {
        // SAFETY: passed on from the caller.
        unsafe {
            if Self::ROWS {
                self.isa.store_rows(dst, z, nontemporal)
            } else {
                self.isa.store4(dst, z, nontemporal)
            }
        }
    }

    /// Elements `first..first + dst.len()` through a buffer, one step at a time.
    #[inline(always)]
    fn partial(&self, first: u64, dst: &mut [f32]) {
        let mut buf = [0f32; MAX_STEP];
        let mut index = first;
        for piece in dst.chunks_mut(4 * I::LANES - 3) {
            let skip = (index % 4) as usize;
            // SAFETY: `buf` holds `MAX_STEP >= 4 · LANES` floats; no streaming.
            unsafe { self.store(buf.as_mut_ptr(), self.values(index / 4), false) };
            piece.copy_from_slice(&buf[skip..skip + piece.len()]);
            index += piece.len() as u64;
        }
    }
}

/// Fills `out` with elements `start..` under transform `t`: a head and a tail of partial steps
/// through a buffer, and whole steps stored in place between them.
#[inline(always)]
fn fill_with<I: Isa, T: Transform<I>>(
    isa: I,
    t: &T,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    let step = 4 * I::LANES;
    let [_, _, s0, s1] = rng.counter(0);
    let kernel = Kernel {
        isa,
        t,
        keys: round_keys(isa, rng.key()),
        stream: [isa.splat_u(s0), isa.splat_u(s1)],
    };

    // The body starts at a block boundary and, for streaming stores, a 64-byte boundary.
    let to_block = (start.wrapping_neg() % 4) as usize;
    let addr_words = out.as_ptr() as usize / 4;
    // LIMIT: a slice whose address and start index disagree modulo 16 bytes never reaches a
    // 64-byte boundary at a block start, and takes ordinary stores.
    let nontemporal = nontemporal && (addr_words as u64).wrapping_sub(start).is_multiple_of(4);
    let head = if nontemporal {
        // At most 15 elements, and it ends at a block start as the address and index agree.
        addr_words.wrapping_neg() % 16
    } else {
        to_block
    };
    if head + step > out.len() {
        kernel.partial(start, out);
        return;
    }
    let (head_out, body) = out.split_at_mut(head);
    kernel.partial(start, head_out);

    let mut block = (start + head as u64) / 4;
    let mut chunks = body.chunks_exact_mut(step);
    // PERF: software-pipelined: the words of the next step are made before the values of this
    // one. A step is a few hundred instructions, about the reorder window, and Philox and the
    // polynomials are each long dependency chains; in this order the window holds both chains
    // at once instead of one after the other. The last step makes one set of words unused.
    let mut words = kernel.words(block);
    for dst in &mut chunks {
        let next = kernel.words(block + I::LANES as u64);
        let values = kernel.t.apply(isa, words);
        // SAFETY: `dst` holds exactly `4 · LANES` floats; when streaming, it starts at a
        // 64-byte boundary: the head ended on one and every step is a multiple of 64 bytes.
        unsafe { kernel.store(dst.as_mut_ptr(), values, nontemporal) };
        words = next;
        block += I::LANES as u64;
    }
    kernel.partial(block * 4, chunks.into_remainder());
}

/// Every element `a`.
struct Constant<F>(F);

impl<I: Isa> Transform<I> for Constant<I::F> {
    const WORDS: bool = false;
    const PER_WORD: bool = true;

    #[inline(always)]
    fn apply(&self, _: I, _: [I::U; 4]) -> [I::F; 4] {
        [self.0; 4]
    }
}

/// The words themselves, as the bits of f32 lanes.
struct Bits;

impl<I: Isa> Transform<I> for Bits {
    const PER_WORD: bool = true;

    #[inline(always)]
    fn apply(&self, isa: I, [w0, w1, w2, w3]: [I::U; 4]) -> [I::F; 4] {
        [
            isa.float_of(w0),
            isa.float_of(w1),
            isa.float_of(w2),
            isa.float_of(w3),
        ]
    }
}

/// `clamp(fma(half, s, mid), lo, hi)`. When `FOLDED`, `half` holds `half · 2⁻²⁴` (see
/// [`folded_half`]) and the clamp is known not to bind (see [`clamp_is_identity`]).
struct Uniform<F, const FOLDED: bool> {
    mid: F,
    half: F,
    lo: F,
    hi: F,
}

/// 2⁻²⁴.
const TWO_M24: f32 = 1.0 / 16_777_216.0;

/// `half · 2⁻²⁴` where that product is exact (zero, or a normal float), else `None`.
///
/// Then `fma(half · 2⁻²⁴, j, c)`, with `j = 2k + 1 − 2²⁴` converted exactly, equals the
/// reference's `fma(half, s, c)` with `s = j · 2⁻²⁴` exact: both round the same real number
/// `half · j · 2⁻²⁴ + c`. The multiply by 2⁻²⁴ moves from every element to the setup.
fn folded_half(half: f32) -> Option<f32> {
    let folded = half * TWO_M24;
    let exact = half == 0.0 || (half.is_finite() && folded.abs() >= f32::MIN_POSITIVE);
    exact.then_some(folded)
}

/// Whether `clamp(fma(half, s, mid), lo, hi)` is `fma(half, s, mid)` for every symmetric
/// uniform `s`, so that the clamp can be left out with the same bits.
///
/// A correctly rounded `fma(half, s, mid)` is monotone in `s`, so every value lies between the
/// two at `s = ±(1 − 2⁻²⁴)`, the extremes of `s`. When both lie inside `[lo, hi]`, `max` and
/// `min` return the value itself or a bound equal to it, and equal floats have equal bits
/// unless they are zeros, so an end at zero must lie strictly inside. NaN fails the test.
fn clamp_is_identity(half: f32, mid: f32, lo: f32, hi: f32) -> bool {
    let s_max = 1.0 - TWO_M24;
    [half.mul_add(s_max, mid), half.mul_add(-s_max, mid)]
        .iter()
        .all(|&v| lo <= v && v <= hi && (v != 0.0 || (lo < v && v < hi)))
}

/// The numerator `j = 2k + 1 − 2²⁴`, `k = w >> 8`, of the symmetric uniform `s = j · 2⁻²⁴`, as
/// [`crate::transform::symmetric_uniform`]; `j` converts exactly.
#[inline(always)]
fn centred_odd<I: Isa>(isa: I, w: I::U) -> I::F {
    isa.i32_to_f(isa.centred_odd(w))
}

/// The symmetric uniform `(2k + 1 − 2²⁴) · 2⁻²⁴`, `k = w >> 8`.
#[inline(always)]
fn symmetric_uniform<I: Isa>(isa: I, w: I::U) -> I::F {
    isa.mul(centred_odd(isa, w), isa.splat_f(TWO_M24))
}

impl<F: Copy, const FOLDED: bool> Uniform<F, FOLDED> {
    /// The transform of `p` with half-width `half` (`p.b`, or `p.b · 2⁻²⁴` when `FOLDED`).
    #[inline(always)]
    fn new<I: Isa<F = F>>(isa: I, p: &F32Params, half: f32) -> Self {
        Self {
            mid: isa.splat_f(p.a),
            half: isa.splat_f(half),
            lo: isa.splat_f(p.lo),
            hi: isa.splat_f(p.hi),
        }
    }

    #[inline(always)]
    fn one<I: Isa<F = F>>(&self, isa: I, w: I::U) -> F {
        if FOLDED {
            return isa.fma(self.half, centred_odd(isa, w), self.mid);
        }
        let v = isa.fma(self.half, symmetric_uniform(isa, w), self.mid);
        isa.min(isa.max(v, self.lo), self.hi)
    }
}

impl<I: Isa, const FOLDED: bool> Transform<I> for Uniform<I::F, FOLDED> {
    const PER_WORD: bool = true;

    #[inline(always)]
    fn apply(&self, isa: I, [w0, w1, w2, w3]: [I::U; 4]) -> [I::F; 4] {
        [
            self.one(isa, w0),
            self.one(isa, w1),
            self.one(isa, w2),
            self.one(isa, w3),
        ]
    }
}

/// Horner's rule with fused steps over coefficients, highest degree first.
#[inline(always)]
fn horner<I: Isa>(isa: I, coeffs: &[f32], x: I::F) -> I::F {
    let mut p = isa.splat_f(coeffs[0]);
    for &c in &coeffs[1..] {
        p = isa.fma(p, x, isa.splat_f(c));
    }
    p
}

/// `−a`: the sign bit flipped, as Rust's unary minus.
#[inline(always)]
fn neg<I: Isa>(isa: I, a: I::F) -> I::F {
    isa.float_of(isa.xor_u(isa.bits_of(a), isa.splat_u(0x8000_0000)))
}

/// `K · ln x` for `K` a power of two or its negative, bit for bit `K` times
/// [`crate::transform::ln_f32`]: every step of the reference is scaled by `K`, which is exact,
/// and rounding commutes with an exact scaling, so each scaled step rounds to `K` times the
/// reference's step. The reference's `f + y` becomes `fma(f, K, K·y)`. No step comes near the
/// overflow or subnormal range (`|f| ≥ 2⁻²⁴` unless zero). This saves the multiply by `−2` of
/// Box–Muller and the negation of erfinv.
#[inline(always)]
fn scaled_ln<I: Isa, const K: i32>(isa: I, x: I::F) -> I::F {
    let k = K as f32;
    let bits = isa.bits_of(x);
    let e = isa.sar(isa.sub_u(bits, isa.splat_u(SQRT_HALF_BITS)), 23);
    let m = isa.float_of(isa.sub_u(bits, isa.shl(e, 23)));
    let f = isa.sub(m, isa.splat_f(1.0));
    let ef = isa.i32_to_f(e);

    let z = isa.mul(f, f);
    let mut p = isa.splat_f(k * LN_POLY[0]);
    for &c in &LN_POLY[1..] {
        p = isa.fma(p, f, isa.splat_f(k * c));
    }
    let y = isa.mul(isa.mul(f, z), p);
    let y = isa.fma(ef, isa.splat_f(k * LN2_LO), y);
    let y = isa.fma(z, isa.splat_f(-0.5 * k), y);
    let r = isa.fma(f, isa.splat_f(k), y);
    isa.fma(ef, isa.splat_f(k * LN2_HI), r)
}

/// [`crate::transform::sincos_turns`] of `k = w >> 8`, read straight from the word `w`:
/// `(cos, sin)`.
///
/// The octant bits `o0, o1, o2` of `k` are bits 29–31 of `w`, and `j · 2⁸` is `w` masked, so
/// the folded angle is `j · 2⁸` or `2²⁹ − j · 2⁸`, converted exactly and scaled by
/// `ANGLE_STEP · 2⁻⁸` (exact): the same `x` as the reference's `folded · ANGLE_STEP`. Then:
/// swap where `o0 ^ o1` (bit 30 of `w + 2²⁹`), `sin < 0` where `o2` (bit 31 of `w`), and
/// `cos < 0` where `o1 ^ o2` (bit 31 of `w + 2³⁰`), each a carry into the bit above.
#[inline(always)]
fn sincos_word<I: Isa>(isa: I, w: I::U) -> (I::F, I::F) {
    let scaled = isa.and_u(w, isa.splat_u(0x1fff_ff00));
    let odd_octant = isa.test_bit(w, 29);
    let folded = isa.select_u(odd_octant, isa.sub_u(isa.splat_u(1 << 29), scaled), scaled);
    let x = isa.mul(
        isa.i32_to_f(folded),
        isa.splat_f(ANGLE_STEP * (1.0 / 256.0)),
    );

    let z = isa.mul(x, x);
    let ps = horner(isa, &SIN_POLY, z);
    let s = isa.fma(ps, isa.mul(z, x), x);
    let pc = horner(isa, &COS_POLY, z);
    let c = isa.fma(
        pc,
        isa.mul(z, z),
        isa.fma(z, isa.splat_f(-0.5), isa.splat_f(1.0)),
    );

    let swap = isa.test_bit(isa.add_u(w, isa.splat_u(1 << 29)), 30);
    let sin_q = isa.select(swap, c, s);
    let cos_q = isa.select(swap, s, c);
    let sin = isa.neg_where(isa.test_bit(w, 31), sin_q);
    let cos = isa.neg_where(isa.test_bit(isa.add_u(w, isa.splat_u(1 << 30)), 31), cos_q);
    (cos, sin)
}

/// [`crate::transform::box_muller`]: the pair `(r cos θ, r sin θ)` of two word vectors.
///
/// `u = (f32(w0) + 0.5) · 2⁻³²` is one fused step, `fma(f32(w0), 2⁻³², 2⁻³³)`: the product is
/// exact and the scaling by 2⁻³² commutes with the rounding, so both round the same real number.
#[inline(always)]
fn box_muller<I: Isa>(isa: I, w0: I::U, w1: I::U) -> (I::F, I::F) {
    let u = isa.fma(
        isa.u32_to_f(w0),
        isa.splat_f(1.0 / 4_294_967_296.0),
        isa.splat_f(0.5 / 4_294_967_296.0),
    );
    let r = isa.sqrt(scaled_ln::<I, -2>(isa, u));
    let (c, s) = sincos_word(isa, w1);
    (isa.mul(r, c), isa.mul(r, s))
}

/// Box–Muller, `fma(std, z, mean)`.
struct Normal<F> {
    mean: F,
    std: F,
}

impl<I: Isa> Transform<I> for Normal<I::F> {
    #[inline(always)]
    fn apply(&self, isa: I, [w0, w1, w2, w3]: [I::U; 4]) -> [I::F; 4] {
        let (z0, z1) = box_muller(isa, w0, w1);
        let (z2, z3) = box_muller(isa, w2, w3);
        let (std, mean) = (self.std, self.mean);
        [
            isa.fma(std, z0, mean),
            isa.fma(std, z1, mean),
            isa.fma(std, z2, mean),
            isa.fma(std, z3, mean),
        ]
    }
}

/// [`crate::transform::erfinv_f32`]; the tail branch only runs when some lane needs it, and
/// is not even tested for when `CENTRAL_ONLY` (see [`F32Params::central_only`]).
#[inline(always)]
fn erfinv<I: Isa, const CENTRAL_ONLY: bool>(isa: I, x: I::F) -> I::F {
    let one = isa.splat_f(1.0);
    let w = scaled_ln::<I, -1>(isa, isa.mul(isa.sub(one, x), isa.add(one, x)));
    let mut p = horner(isa, &ERFINV_CENTRAL, isa.sub(w, isa.splat_f(2.5)));
    if CENTRAL_ONLY {
        return isa.mul(p, x);
    }
    let central = isa.lt(w, isa.splat_f(5.0));
    if !isa.all(central) {
        let t = isa.sub(isa.sqrt(w), isa.splat_f(3.0));
        p = isa.select(central, p, horner(isa, &ERFINV_TAIL, t));
    }
    isa.mul(p, x)
}

/// Inverse-CDF truncated normal, as the reference's `Kind::TruncatedNormal` arm. When `FAST`,
/// `half` holds `half · 2⁻²⁴` ([`folded_half`]), the clamp to `±(1 − 2⁻²⁴)` cannot bind
/// ([`clamp_is_identity`]) and erfinv's tail branch cannot run ([`F32Params::central_only`]).
struct Truncated<F, const FAST: bool> {
    centre: F,
    half: F,
    mean: F,
    std: F,
    lo: F,
    hi: F,
}

impl<F: Copy, const FAST: bool> Truncated<F, FAST> {
    /// The transform of `p` with half-width `half` (`p.b`, or `p.b · 2⁻²⁴` when `FAST`).
    #[inline(always)]
    fn new<I: Isa<F = F>>(isa: I, p: &F32Params, half: f32) -> Self {
        Self {
            centre: isa.splat_f(p.a),
            half: isa.splat_f(half),
            mean: isa.splat_f(p.mean),
            std: isa.splat_f(p.std),
            lo: isa.splat_f(p.lo),
            hi: isa.splat_f(p.hi),
        }
    }

    #[inline(always)]
    fn one<I: Isa<F = F>>(&self, isa: I, w: I::U) -> F {
        let z = if FAST {
            let x = isa.fma(self.half, centred_odd(isa, w), self.centre);
            erfinv::<I, true>(isa, x)
        } else {
            let limit = isa.splat_f(ERF_LIMIT);
            let x = isa.fma(self.half, symmetric_uniform(isa, w), self.centre);
            let x = isa.min(isa.max(x, neg(isa, limit)), limit);
            erfinv::<I, false>(isa, x)
        };
        let z = isa.mul(z, isa.splat_f(SQRT2));
        let v = isa.fma(self.std, z, self.mean);
        isa.min(isa.max(v, self.lo), self.hi)
    }
}

impl<I: Isa, const FAST: bool> Transform<I> for Truncated<I::F, FAST> {
    const PER_WORD: bool = true;

    #[inline(always)]
    fn apply(&self, isa: I, [w0, w1, w2, w3]: [I::U; 4]) -> [I::F; 4] {
        [
            self.one(isa, w0),
            self.one(isa, w1),
            self.one(isa, w2),
            self.one(isa, w3),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_the_scale_is_refused_where_it_would_round() {
        assert_eq!(folded_half(0.0), Some(0.0));
        assert_eq!(folded_half(0.5), Some(0.5 / 16_777_216.0));
        // 2⁻¹⁰² · 2⁻²⁴ = 2⁻¹²⁶ is the smallest normal float; below it the product rounds.
        let smallest = f32::MIN_POSITIVE * 16_777_216.0;
        assert_eq!(folded_half(smallest), Some(f32::MIN_POSITIVE));
        assert_eq!(folded_half(smallest * 0.75), None);
        assert_eq!(folded_half(f32::NAN), None);
    }

    #[test]
    fn clamp_is_left_out_only_when_no_value_can_reach_past_a_bound() {
        // Ends ±(1 − 2⁻²⁴) sit inside [−1, 1]; the same ends against tighter bounds do not.
        assert!(clamp_is_identity(1.0, 0.0, -1.0, 1.0));
        assert!(!clamp_is_identity(1.0, 0.0, -0.999, 1.0));
        assert!(!clamp_is_identity(1.0, 0.0, -1.0, 1.0 - 2.0 * TWO_M24));
        // An end at zero on a bound of zero may differ in sign: keep the clamp.
        assert!(!clamp_is_identity(0.0, 0.0, 0.0, 1.0));
        assert!(!clamp_is_identity(f32::NAN, 0.0, -1.0, 1.0));
    }
}
