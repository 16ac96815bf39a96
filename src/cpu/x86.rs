//! The x86-64 levels: AVX2 with FMA (8 lanes) and AVX-512 (16 lanes), detected at run time.

use std::arch::x86_64::*;

use super::SimdLevel;
use half::{bf16, f16, slice::HalfFloatSliceExt};

use super::kernels::{
    Isa, Keys, fill_bits_with, fill_f32_with, fill_half_staged, fill_half_with, round_bf16,
};
use crate::philox::{PHILOX_M0, PHILOX_M1, Philox};
use crate::transform::F32Params;

/// Runs one intrinsic of a level whose token (`Avx2`, `Avx512`) is in scope.
macro_rules! vector_op {
    ($e:expr) => {
        // SAFETY: the intrinsics need the token's CPU features, and a token is only made
        // inside a `#[target_feature]` function that `fill_f32` calls after
        // `is_x86_feature_detected!` confirmed those features.
        unsafe { $e }
    };
}

/// Whether this CPU runs `level` (only the x86 levels can be true).
pub(super) fn is_supported(level: SimdLevel) -> bool {
    match level {
        SimdLevel::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        SimdLevel::Avx512 => {
            is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512vl")
        }
        SimdLevel::Scalar | SimdLevel::Neon => false,
    }
}

/// Whether this CPU converts f32 to f16 in hardware (every AVX2 CPU made so far does).
pub(super) fn has_f16c() -> bool {
    is_x86_feature_detected!("f16c")
}

/// Elements `start..start + out.len()` of an f32 tensor at an x86 `level`.
///
/// The caller has checked `level` with [`is_supported`]; anything else runs the scalar
/// reference.
pub(super) fn fill_f32(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    match level {
        // SAFETY: the features `avx2_fma` is compiled for were detected just now.
        SimdLevel::Avx2Fma if is_supported(level) => unsafe {
            avx2_fma(p, rng, start, out, nontemporal)
        },
        // SAFETY: as above, for `avx512`.
        SimdLevel::Avx512 if is_supported(level) => unsafe {
            avx512(p, rng, start, out, nontemporal)
        },
        _ => super::scalar::fill_f32(p, rng, start, out),
    }
}

/// The raw Philox words of elements `start..start + out.len()`, as f32 bits, at an x86
/// `level`; anything else runs the scalar loop.
pub(super) fn fill_bits(
    level: SimdLevel,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    match level {
        // SAFETY: the features `avx2_fma_bits` is compiled for were detected just now.
        SimdLevel::Avx2Fma if is_supported(level) => unsafe {
            avx2_fma_bits(rng, start, out, nontemporal)
        },
        // SAFETY: as above, for `avx512_bits`.
        SimdLevel::Avx512 if is_supported(level) => unsafe {
            avx512_bits(rng, start, out, nontemporal)
        },
        _ => super::scalar::fill_bits(rng, start, out),
    }
}

/// Elements `start..start + out.len()` of an f16 tensor at an x86 `level`, rounded with F16C
/// where the CPU has it; anything else runs the scalar reference, rounded by `half`.
pub(super) fn fill_f16(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f16],
    nontemporal: bool,
) {
    let f16c = has_f16c();
    match level {
        // SAFETY: the features `avx2_fma_f16` is compiled for were detected just now.
        SimdLevel::Avx2Fma if f16c && is_supported(level) => unsafe {
            avx2_fma_f16(p, rng, start, out, nontemporal)
        },
        // SAFETY: as above, for `avx512_f16`.
        SimdLevel::Avx512 if f16c && is_supported(level) => unsafe {
            avx512_f16(p, rng, start, out, nontemporal)
        },
        _ => fill_half_staged(SimdLevel::Scalar, p, rng, start, out, |d, s| {
            d.convert_from_f32_slice(s)
        }),
    }
}

/// Elements `start..start + out.len()` of a bf16 tensor at an x86 `level`; anything else runs
/// the scalar reference, rounded.
pub(super) fn fill_bf16(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [bf16],
    nontemporal: bool,
) {
    match level {
        // SAFETY: the features `avx2_fma_bf16` is compiled for were detected just now.
        SimdLevel::Avx2Fma if is_supported(level) => unsafe {
            avx2_fma_bf16(p, rng, start, out, nontemporal)
        },
        // SAFETY: as above, for `avx512_bf16`.
        SimdLevel::Avx512 if is_supported(level) => unsafe {
            avx512_bf16(p, rng, start, out, nontemporal)
        },
        _ => fill_half_staged(SimdLevel::Scalar, p, rng, start, out, round_bf16),
    }
}

/// `f16::from_f32` of each value: `vcvtps2ph` eight at a time, rounding to nearest even as
/// `half` does; the last few through `half`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn round_f16(dst: &mut [f16], src: &[f32]) {
    let mut dst8 = dst.chunks_exact_mut(8);
    let mut src8 = src.chunks_exact(8);
    for (d, s) in (&mut dst8).zip(&mut src8) {
        // SAFETY: `s` holds 8 f32 to load and `d` 8 f16 (16 bytes) to store; both intrinsics
        // take unaligned pointers.
        unsafe {
            let v = _mm256_loadu_ps(s.as_ptr());
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm_storeu_si128(d.as_mut_ptr().cast(), h);
        }
    }
    for (d, &v) in dst8.into_remainder().iter_mut().zip(src8.remainder()) {
        *d = f16::from_f32(v);
    }
}

/// [`round_f16`] sixteen at a time, with AVX-512's `vcvtps2ph`.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,f16c")]
#[inline]
fn round_f16_avx512(dst: &mut [f16], src: &[f32]) {
    let whole = dst.len().min(src.len()) / 16 * 16;
    for (d, s) in dst[..whole]
        .chunks_exact_mut(16)
        .zip(src[..whole].chunks_exact(16))
    {
        // SAFETY: `s` holds 16 f32 to load and `d` 16 f16 (32 bytes) to store; both intrinsics
        // take unaligned pointers.
        unsafe {
            let v = _mm512_loadu_ps(s.as_ptr());
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm256_storeu_si256(d.as_mut_ptr().cast(), h);
        }
    }
    round_f16(&mut dst[whole..], &src[whole..]);
}

#[target_feature(enable = "avx2,fma,f16c")]
fn avx2_fma_f16(p: &F32Params, rng: &Philox, start: u64, out: &mut [f16], nontemporal: bool) {
    fill_half_with(Avx2(()), p, rng, start, out, nontemporal, |d, s| {
        round_f16(d, s)
    });
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,f16c")]
fn avx512_f16(p: &F32Params, rng: &Philox, start: u64, out: &mut [f16], nontemporal: bool) {
    fill_half_with(Avx512(()), p, rng, start, out, nontemporal, |d, s| {
        round_f16_avx512(d, s)
    });
}

#[target_feature(enable = "avx2,fma")]
fn avx2_fma_bf16(p: &F32Params, rng: &Philox, start: u64, out: &mut [bf16], nontemporal: bool) {
    fill_half_with(Avx2(()), p, rng, start, out, nontemporal, round_bf16);
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn avx512_bf16(p: &F32Params, rng: &Philox, start: u64, out: &mut [bf16], nontemporal: bool) {
    fill_half_with(Avx512(()), p, rng, start, out, nontemporal, round_bf16);
}

#[target_feature(enable = "avx2,fma")]
fn avx2_fma_bits(rng: &Philox, start: u64, out: &mut [f32], nontemporal: bool) {
    fill_bits_with(Avx2(()), rng, start, out, nontemporal);
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn avx512_bits(rng: &Philox, start: u64, out: &mut [f32], nontemporal: bool) {
    fill_bits_with(Avx512(()), rng, start, out, nontemporal);
}

#[target_feature(enable = "avx2,fma")]
fn avx2_fma(p: &F32Params, rng: &Philox, start: u64, out: &mut [f32], nontemporal: bool) {
    fill_f32_with(Avx2(()), p, rng, start, out, nontemporal);
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn avx512(p: &F32Params, rng: &Philox, start: u64, out: &mut [f32], nontemporal: bool) {
    fill_f32_with(Avx512(()), p, rng, start, out, nontemporal);
}

/// The operations of Philox in 64-bit lanes: the x86 multiply `vpmuludq` reads only the low
/// word of each 64-bit lane and writes the whole 64-bit product.
trait WideLanes: Isa {
    /// Blocks `block + first + i` (wrapping) in 64-bit lanes `i`.
    fn blocks_wide(self, block: u64, first: u64) -> Self::U;
    /// The 64-bit products `M · low word` of each 64-bit lane.
    fn mul_wide<const M: u32>(self, a: Self::U) -> Self::U;
    /// The high word of each 64-bit lane, moved into its low word.
    fn high_down(self, a: Self::U) -> Self::U;
    /// The low words of the 64-bit lanes of `[low half, high half]`, back into one vector.
    fn narrow(self, halves: [Self::U; 2]) -> Self::U;
}

/// Philox4x32-10 with each half of the blocks in the low words of 64-bit lanes.
///
/// One `vpmuludq` gives both halves of a product: the low half in place, the high half one
/// shift or shuffle away. The high words of the lanes may hold anything, as the multiply never
/// reads them. Twelve operations a round for 16 blocks on AVX-512, against fourteen with
/// `vpermt2d` to regroup the halves of 32-bit lanes.
///
/// AVX-512 IFMA is not used: the high half from `vpmadd52huq` needs the high words clean
/// (it reads 52 bits), so the low half must come from `vpmulld`; that variant was about 10%
/// slower on the AMD Zen 4 this was measured on, and `vpmulld` is two uops on Intel.
// LIMIT: twenty splatted round keys, eight state vectors and the constants exceed the 32
// vector registers; LLVM reloads 8–11 keys from the stack per 64 elements on AVX-512.
#[inline(always)]
fn philox_wide<I: WideLanes>(
    isa: I,
    keys: &Keys<I::U>,
    block: u64,
    stream: [I::U; 2],
) -> [I::U; 4] {
    let halves = philox_halves(isa, keys, block, stream);
    let mut out = [isa.splat_u(0); 4];
    for (k, w) in out.iter_mut().enumerate() {
        *w = isa.narrow([halves[0][k], halves[1][k]]);
    }
    out
}

/// The rounds of [`philox_wide`], output left in 64-bit lanes: `[low half, high half]` of the
/// blocks, word `k` in the low words of vector `k` of each half.
#[inline(always)]
fn philox_halves<I: WideLanes>(
    isa: I,
    keys: &Keys<I::U>,
    block: u64,
    [s0, s1]: [I::U; 2],
) -> [[I::U; 4]; 2] {
    // The 64-bit block index is the counter's low two words: the low word where the multiply
    // reads it, the high word moved down. The stream words are splatted, so already in place.
    let (low, high) = (
        isa.blocks_wide(block, 0),
        isa.blocks_wide(block, (I::LANES / 2) as u64),
    );
    let mut halves = [
        [low, isa.high_down(low), s0, s1],
        [high, isa.high_down(high), s0, s1],
    ];
    for (&k0, &k1) in keys[0].iter().zip(&keys[1]) {
        for [c0, c1, c2, c3] in &mut halves {
            let p0 = isa.mul_wide::<PHILOX_M0>(*c0);
            let p1 = isa.mul_wide::<PHILOX_M1>(*c2);
            (*c0, *c1, *c2, *c3) = (
                isa.xor3_u(isa.high_down(p1), *c1, k0),
                p1,
                isa.xor3_u(isa.high_down(p0), *c3, k1),
                p0,
            );
        }
    }
    halves
}

impl WideLanes for Avx2 {
    #[inline(always)]
    fn blocks_wide(self, block: u64, first: u64) -> __m256i {
        let f = first as i64;
        vector_op!(_mm256_add_epi64(
            _mm256_set1_epi64x(block as i64),
            _mm256_setr_epi64x(f, f + 1, f + 2, f + 3)
        ))
    }
    #[inline(always)]
    fn mul_wide<const M: u32>(self, a: __m256i) -> __m256i {
        vector_op!(_mm256_mul_epu32(a, _mm256_set1_epi32(M as i32)))
    }
    #[inline(always)]
    fn high_down(self, a: __m256i) -> __m256i {
        vector_op!(_mm256_srli_epi64::<32>(a))
    }
    #[inline(always)]
    fn narrow(self, [lo, hi]: [__m256i; 2]) -> __m256i {
        let even = vector_op!(_mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
        vector_op!(_mm256_permute2x128_si256::<0x20>(
            _mm256_permutevar8x32_epi32(lo, even),
            _mm256_permutevar8x32_epi32(hi, even)
        ))
    }
}

impl WideLanes for Avx512 {
    #[inline(always)]
    fn blocks_wide(self, block: u64, first: u64) -> __m512i {
        let f = first as i64;
        vector_op!(_mm512_add_epi64(
            _mm512_set1_epi64(block as i64),
            _mm512_setr_epi64(f, f + 1, f + 2, f + 3, f + 4, f + 5, f + 6, f + 7)
        ))
    }
    #[inline(always)]
    fn mul_wide<const M: u32>(self, a: __m512i) -> __m512i {
        vector_op!(_mm512_mul_epu32(a, _mm512_set1_epi32(M as i32)))
    }
    #[inline(always)]
    fn high_down(self, a: __m512i) -> __m512i {
        // PERF: a shuffle (port 5) balances the multiplies (port 0) better than a shift.
        vector_op!(_mm512_shuffle_epi32::<0xf5>(a))
    }
    #[inline(always)]
    fn narrow(self, [lo, hi]: [__m512i; 2]) -> __m512i {
        let even = vector_op!(_mm512_setr_epi32(
            0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
        ));
        vector_op!(_mm512_permutex2var_epi32(lo, even, hi))
    }
}

/// Proof that AVX2 and FMA are available.
// LIMIT: AVX2 has no `philox_elements`: per-word transforms still narrow the 64-bit lanes and
// transpose at the store (24 shuffles per 32 elements where about 16 would do).
#[derive(Clone, Copy)]
struct Avx2(());

impl Isa for Avx2 {
    const LANES: usize = 8;
    type U = __m256i;
    type F = __m256;
    type M = __m256;

    #[inline(always)]
    fn splat_u(self, x: u32) -> __m256i {
        vector_op!(_mm256_set1_epi32(x as i32))
    }
    #[inline(always)]
    fn splat_f(self, x: f32) -> __m256 {
        vector_op!(_mm256_set1_ps(x))
    }
    #[inline(always)]
    fn iota(self) -> __m256i {
        vector_op!(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }
    #[inline(always)]
    fn add_u(self, a: __m256i, b: __m256i) -> __m256i {
        vector_op!(_mm256_add_epi32(a, b))
    }
    #[inline(always)]
    fn sub_u(self, a: __m256i, b: __m256i) -> __m256i {
        vector_op!(_mm256_sub_epi32(a, b))
    }
    #[inline(always)]
    fn and_u(self, a: __m256i, b: __m256i) -> __m256i {
        vector_op!(_mm256_and_si256(a, b))
    }
    #[inline(always)]
    fn or_u(self, a: __m256i, b: __m256i) -> __m256i {
        vector_op!(_mm256_or_si256(a, b))
    }
    #[inline(always)]
    fn xor3_u(self, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        self.xor_u(self.xor_u(a, b), c)
    }
    #[inline(always)]
    fn xor_u(self, a: __m256i, b: __m256i) -> __m256i {
        vector_op!(_mm256_xor_si256(a, b))
    }
    #[inline(always)]
    fn shr(self, a: __m256i, n: u32) -> __m256i {
        vector_op!(_mm256_srl_epi32(a, _mm_cvtsi32_si128(n as i32)))
    }
    #[inline(always)]
    fn sar(self, a: __m256i, n: u32) -> __m256i {
        vector_op!(_mm256_sra_epi32(a, _mm_cvtsi32_si128(n as i32)))
    }
    #[inline(always)]
    fn shl(self, a: __m256i, n: u32) -> __m256i {
        vector_op!(_mm256_sll_epi32(a, _mm_cvtsi32_si128(n as i32)))
    }
    #[inline(always)]
    fn lt_u(self, a: __m256i, b: __m256i) -> __m256i {
        // Unsigned order is signed order with the sign bits flipped.
        let flip = self.splat_u(0x8000_0000);
        vector_op!(_mm256_cmpgt_epi32(self.xor_u(b, flip), self.xor_u(a, flip)))
    }
    #[inline(always)]
    fn mul_hi_lo<const M: u32>(self, a: __m256i) -> (__m256i, __m256i) {
        // `vpmuludq` multiplies the even lanes; `vpshufd` 0xf5 moves the odd lanes down.
        // PERF: shuffles, not 64-bit shifts: LLVM turns `product << 32` into a slow multiply.
        let m = self.splat_u(M);
        let even = vector_op!(_mm256_mul_epu32(a, m));
        let odd = vector_op!(_mm256_mul_epu32(_mm256_shuffle_epi32::<0xf5>(a), m));
        let hi = vector_op!(_mm256_blend_epi32::<0b0101_0101>(
            odd,
            _mm256_shuffle_epi32::<0xf5>(even)
        ));
        let lo = vector_op!(_mm256_blend_epi32::<0b1010_1010>(
            even,
            _mm256_shuffle_epi32::<0xa0>(odd)
        ));
        (hi, lo)
    }
    #[inline(always)]
    fn philox(self, keys: &Keys<__m256i>, block: u64, stream: [__m256i; 2]) -> [__m256i; 4] {
        philox_wide(self, keys, block, stream)
    }
    #[inline(always)]
    fn i32_to_f(self, a: __m256i) -> __m256 {
        vector_op!(_mm256_cvtepi32_ps(a))
    }
    #[inline(always)]
    fn u32_to_f(self, a: __m256i) -> __m256 {
        // AVX2 converts only signed words. Both 16-bit halves convert exactly, and so does
        // `f(hi) · 2¹⁶`; the one rounding left, in the add, is that of the exact `u32`.
        let hi = self.i32_to_f(self.shr(a, 16));
        let lo = self.i32_to_f(self.and_u(a, self.splat_u(0xffff)));
        self.add(self.mul(hi, self.splat_f(65536.0)), lo)
    }
    #[inline(always)]
    fn bits_of(self, a: __m256) -> __m256i {
        vector_op!(_mm256_castps_si256(a))
    }
    #[inline(always)]
    fn float_of(self, a: __m256i) -> __m256 {
        vector_op!(_mm256_castsi256_ps(a))
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        vector_op!(_mm256_add_ps(a, b))
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        vector_op!(_mm256_sub_ps(a, b))
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        vector_op!(_mm256_mul_ps(a, b))
    }
    #[inline(always)]
    fn fma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        vector_op!(_mm256_fmadd_ps(a, b, c))
    }
    #[inline(always)]
    fn sqrt(self, a: __m256) -> __m256 {
        vector_op!(_mm256_sqrt_ps(a))
    }
    #[inline(always)]
    fn max(self, x: __m256, lo: __m256) -> __m256 {
        // `maxps` returns its second operand when the two compare equal.
        vector_op!(_mm256_max_ps(lo, x))
    }
    #[inline(always)]
    fn min(self, x: __m256, hi: __m256) -> __m256 {
        vector_op!(_mm256_min_ps(hi, x))
    }
    #[inline(always)]
    fn lt(self, a: __m256, b: __m256) -> __m256 {
        vector_op!(_mm256_cmp_ps::<_CMP_LT_OQ>(a, b))
    }
    #[inline(always)]
    fn all(self, m: __m256) -> bool {
        vector_op!(_mm256_movemask_ps(m)) == 0xff
    }
    #[inline(always)]
    fn select(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        vector_op!(_mm256_blendv_ps(b, a, m))
    }
    #[inline(always)]
    fn test_bit(self, a: __m256i, bit: u32) -> __m256 {
        // `blendv` and `movemask` read only the sign bit: move the bit there.
        self.float_of(self.shl(a, 31 - bit))
    }
    #[inline(always)]
    unsafe fn store4(self, dst: *mut f32, [z0, z1, z2, z3]: [__m256; 4], nontemporal: bool) {
        // A 4×4 transpose inside each 128-bit half gives blocks (m, 4 + m) in vector m...
        let (t0, t1) = vector_op!((_mm256_unpacklo_ps(z0, z1), _mm256_unpackhi_ps(z0, z1)));
        let (t2, t3) = vector_op!((_mm256_unpacklo_ps(z2, z3), _mm256_unpackhi_ps(z2, z3)));
        let (b0, b1) = vector_op!((
            _mm256_castpd_ps(_mm256_unpacklo_pd(
                _mm256_castps_pd(t0),
                _mm256_castps_pd(t2)
            )),
            _mm256_castpd_ps(_mm256_unpackhi_pd(
                _mm256_castps_pd(t0),
                _mm256_castps_pd(t2)
            )),
        ));
        let (b2, b3) = vector_op!((
            _mm256_castpd_ps(_mm256_unpacklo_pd(
                _mm256_castps_pd(t1),
                _mm256_castps_pd(t3)
            )),
            _mm256_castpd_ps(_mm256_unpackhi_pd(
                _mm256_castps_pd(t1),
                _mm256_castps_pd(t3)
            )),
        ));
        // ...then the halves are regrouped into blocks 0–1, 2–3, 4–5 and 6–7.
        let out = vector_op!([
            _mm256_permute2f128_ps::<0x20>(b0, b1),
            _mm256_permute2f128_ps::<0x20>(b2, b3),
            _mm256_permute2f128_ps::<0x31>(b0, b1),
            _mm256_permute2f128_ps::<0x31>(b2, b3),
        ]);
        for (k, v) in out.into_iter().enumerate() {
            // SAFETY: the caller gives 32 writable floats at `dst`, 64-byte aligned when
            // streaming.
            unsafe {
                let p = dst.add(8 * k);
                if nontemporal {
                    _mm256_stream_ps(p, v)
                } else {
                    _mm256_storeu_ps(p, v)
                }
            }
        }
    }
}

/// Words `(a, b)` side by side in each 64-bit lane: the low words of `a` stay, those of `b`
/// are copied into the high words.
#[inline(always)]
fn pair_low_words(a: __m512i, b: __m512i) -> __m512i {
    vector_op!(_mm512_mask_shuffle_epi32::<0xa0>(a, 0xaaaa, b))
}

/// Stores 16 floats to `p`, streaming or not.
///
/// # Safety
/// `p` must be valid for 16 writes of `f32`, and 64-byte aligned when `nontemporal`.
#[inline(always)]
unsafe fn store_16(p: *mut f32, v: __m512, nontemporal: bool) {
    // SAFETY: passed on from the caller; the token's features were detected.
    unsafe {
        if nontemporal {
            _mm512_stream_ps(p, v)
        } else {
            _mm512_storeu_ps(p, v)
        }
    }
}

/// Proof that AVX-512 F, BW, DQ and VL are available.
#[derive(Clone, Copy)]
struct Avx512(());

impl Isa for Avx512 {
    const LANES: usize = 16;
    type U = __m512i;
    type F = __m512;
    type M = __mmask16;

    #[inline(always)]
    fn splat_u(self, x: u32) -> __m512i {
        vector_op!(_mm512_set1_epi32(x as i32))
    }
    #[inline(always)]
    fn splat_f(self, x: f32) -> __m512 {
        vector_op!(_mm512_set1_ps(x))
    }
    #[inline(always)]
    fn iota(self) -> __m512i {
        vector_op!(_mm512_setr_epi32(
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        ))
    }
    #[inline(always)]
    fn add_u(self, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_add_epi32(a, b))
    }
    #[inline(always)]
    fn sub_u(self, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_sub_epi32(a, b))
    }
    #[inline(always)]
    fn and_u(self, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_and_si512(a, b))
    }
    #[inline(always)]
    fn or_u(self, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_or_si512(a, b))
    }
    #[inline(always)]
    fn xor3_u(self, a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        // Truth table 0x96: the three-way exclusive or.
        vector_op!(_mm512_ternarylogic_epi32::<0x96>(a, b, c))
    }
    #[inline(always)]
    fn xor_u(self, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_xor_si512(a, b))
    }
    #[inline(always)]
    fn shr(self, a: __m512i, n: u32) -> __m512i {
        vector_op!(_mm512_srl_epi32(a, _mm_cvtsi32_si128(n as i32)))
    }
    #[inline(always)]
    fn sar(self, a: __m512i, n: u32) -> __m512i {
        vector_op!(_mm512_sra_epi32(a, _mm_cvtsi32_si128(n as i32)))
    }
    #[inline(always)]
    fn shl(self, a: __m512i, n: u32) -> __m512i {
        vector_op!(_mm512_sll_epi32(a, _mm_cvtsi32_si128(n as i32)))
    }
    #[inline(always)]
    fn lt_u(self, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_movm_epi32(_mm512_cmplt_epu32_mask(a, b)))
    }
    #[inline(always)]
    fn mul_hi_lo<const M: u32>(self, a: __m512i) -> (__m512i, __m512i) {
        // `vpmuludq` multiplies the even lanes; `vpshufd` 0xf5 moves the odd lanes down, and
        // masked `vpshufd`s gather the high and low halves.
        // PERF: shuffles (port 5) balance the multiplies (port 0); 64-bit shifts would share
        // port 0, and LLVM turns `product << 32` into a three-uop `vpmullq`.
        let m = self.splat_u(M);
        let even = vector_op!(_mm512_mul_epu32(a, m));
        let odd = vector_op!(_mm512_mul_epu32(_mm512_shuffle_epi32::<0xf5>(a), m));
        let hi = vector_op!(_mm512_mask_shuffle_epi32::<0xf5>(odd, 0x5555, even));
        let lo = vector_op!(_mm512_mask_shuffle_epi32::<0xa0>(even, 0xaaaa, odd));
        (hi, lo)
    }
    #[inline(always)]
    fn philox(self, keys: &Keys<__m512i>, block: u64, stream: [__m512i; 2]) -> [__m512i; 4] {
        philox_wide(self, keys, block, stream)
    }

    const ELEMENT_ORDER: bool = true;

    /// PERF: straight from the 64-bit lanes to element order in eight shuffles, where
    /// narrowing and [`Isa::store4`]'s transpose take twenty.
    #[inline(always)]
    fn philox_elements(
        self,
        keys: &Keys<__m512i>,
        block: u64,
        stream: [__m512i; 2],
    ) -> [__m512i; 4] {
        // 64-bit lanes of `a` and `b` alternating: blocks 0–3, then blocks 4–7.
        let first = vector_op!(_mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11));
        let second = vector_op!(_mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15));
        let mut out = [self.splat_u(0); 4];
        let halves = philox_halves(self, keys, block, stream);
        for (k, [w0, w1, w2, w3]) in halves.into_iter().enumerate() {
            let (a, b) = (pair_low_words(w0, w1), pair_low_words(w2, w3));
            out[2 * k] = vector_op!(_mm512_permutex2var_epi64(a, first, b));
            out[2 * k + 1] = vector_op!(_mm512_permutex2var_epi64(a, second, b));
        }
        out
    }

    #[inline(always)]
    fn centred_odd(self, w: __m512i) -> __m512i {
        // `w >> 7` with the sign filled, exclusive-or `0xff00_0000`, is `(w ^ 2³¹) >> 7` with
        // the sign filled: `(w >> 7) − 2²⁴`, whose lowest bit is that of `w >> 7`. Truth table
        // 0xBE: `(a ^ b) | c`.
        vector_op!(_mm512_ternarylogic_epi32::<0xbe>(
            _mm512_srai_epi32::<7>(w),
            _mm512_set1_epi32(0xff00_0000_u32 as i32),
            _mm512_set1_epi32(1)
        ))
    }
    #[inline(always)]
    fn i32_to_f(self, a: __m512i) -> __m512 {
        vector_op!(_mm512_cvtepi32_ps(a))
    }
    #[inline(always)]
    fn u32_to_f(self, a: __m512i) -> __m512 {
        vector_op!(_mm512_cvtepu32_ps(a))
    }
    #[inline(always)]
    fn bits_of(self, a: __m512) -> __m512i {
        vector_op!(_mm512_castps_si512(a))
    }
    #[inline(always)]
    fn float_of(self, a: __m512i) -> __m512 {
        vector_op!(_mm512_castsi512_ps(a))
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        vector_op!(_mm512_add_ps(a, b))
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        vector_op!(_mm512_sub_ps(a, b))
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        vector_op!(_mm512_mul_ps(a, b))
    }
    #[inline(always)]
    fn fma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        vector_op!(_mm512_fmadd_ps(a, b, c))
    }
    #[inline(always)]
    fn sqrt(self, a: __m512) -> __m512 {
        vector_op!(_mm512_sqrt_ps(a))
    }
    #[inline(always)]
    fn max(self, x: __m512, lo: __m512) -> __m512 {
        // `vmaxps` returns its second operand when the two compare equal.
        vector_op!(_mm512_max_ps(lo, x))
    }
    #[inline(always)]
    fn min(self, x: __m512, hi: __m512) -> __m512 {
        vector_op!(_mm512_min_ps(hi, x))
    }
    #[inline(always)]
    fn lt(self, a: __m512, b: __m512) -> __mmask16 {
        vector_op!(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b))
    }
    #[inline(always)]
    fn all(self, m: __mmask16) -> bool {
        m == 0xffff
    }
    #[inline(always)]
    fn select(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        vector_op!(_mm512_mask_blend_ps(m, b, a))
    }
    #[inline(always)]
    fn test_bit(self, a: __m512i, bit: u32) -> __mmask16 {
        vector_op!(_mm512_test_epi32_mask(
            a,
            _mm512_set1_epi32((1u32 << bit) as i32)
        ))
    }
    #[inline(always)]
    fn select_u(self, m: __mmask16, a: __m512i, b: __m512i) -> __m512i {
        vector_op!(_mm512_mask_blend_epi32(m, b, a))
    }
    #[inline(always)]
    fn neg_where(self, m: __mmask16, a: __m512) -> __m512 {
        // One masked `vxorps` with the sign bit.
        vector_op!(_mm512_mask_xor_ps(a, m, a, _mm512_set1_ps(-0.0)))
    }
    #[inline(always)]
    unsafe fn store4(self, dst: *mut f32, [z0, z1, z2, z3]: [__m512; 4], nontemporal: bool) {
        // PERF: eight two-source permutes, where unpacks and 128-bit shuffles take sixteen.
        // First `z0` with `z1` and `z2` with `z3` interleave, blocks 0–7 and 8–15 apart...
        let (lo, hi) = vector_op!((
            _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23),
            _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
        ));
        let (t0, t1) = vector_op!((
            _mm512_castps_pd(_mm512_permutex2var_ps(z0, lo, z1)),
            _mm512_castps_pd(_mm512_permutex2var_ps(z0, hi, z1)),
        ));
        let (t2, t3) = vector_op!((
            _mm512_castps_pd(_mm512_permutex2var_ps(z2, lo, z3)),
            _mm512_castps_pd(_mm512_permutex2var_ps(z2, hi, z3)),
        ));
        // ...then the pairs `(z0, z1)` and `(z2, z3)` of each block alternate, as 64-bit lanes.
        let (first, second) = vector_op!((
            _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11),
            _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15),
        ));
        let out = vector_op!([
            _mm512_castpd_ps(_mm512_permutex2var_pd(t0, first, t2)),
            _mm512_castpd_ps(_mm512_permutex2var_pd(t0, second, t2)),
            _mm512_castpd_ps(_mm512_permutex2var_pd(t1, first, t3)),
            _mm512_castpd_ps(_mm512_permutex2var_pd(t1, second, t3)),
        ]);
        // SAFETY: passed on from the caller.
        unsafe { self.store_rows(dst, out, nontemporal) }
    }
    #[inline(always)]
    unsafe fn store_rows(self, dst: *mut f32, z: [__m512; 4], nontemporal: bool) {
        for (k, v) in z.into_iter().enumerate() {
            // SAFETY: the caller gives 64 writable floats at `dst`, 64-byte aligned when
            // streaming.
            unsafe { store_16(dst.add(16 * k), v, nontemporal) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words where a `u32 → f32` conversion can go wrong: around every power of two, and every
    /// rounding tie (and its neighbours) at every exponent that rounds, plus a sweep.
    fn edge_words() -> Vec<u32> {
        let mut words = vec![0, 1, u32::MAX, u32::MAX - 1, 0x8000_0000, 0x7fff_ffff];
        for shift in 0..32 {
            let p = 1u32 << shift;
            for d in [-2i64, -1, 0, 1, 2] {
                words.push((i64::from(p) + d).clamp(0, i64::from(u32::MAX)) as u32);
            }
        }
        // Above 2²⁴ a float's step is 2^(e − 23); ties sit half a step above a multiple of it.
        for e in 24..32u32 {
            let step = 1u32 << (e - 23);
            for m in [0u32, 1, 2, 3, 0x3f_fffe, 0x7f_fffe, 0x7f_ffff] {
                let base = (1u32 << e).wrapping_add(m.wrapping_mul(step));
                for d in [-1i64, 0, 1] {
                    words.push((i64::from(base) + i64::from(step / 2) + d) as u32);
                }
            }
        }
        words.extend((0..1u32 << 20).map(|k| k.wrapping_mul(4099).wrapping_mul(0x9e37_79b9)));
        words
    }

    #[target_feature(enable = "avx2,fma")]
    fn avx2_words(w: &[u32; 8]) -> ([f32; 8], [u32; 8], [u32; 8]) {
        let isa = Avx2(());
        // SAFETY: `w` holds 8 words; the outputs are 8-lane arrays.
        unsafe {
            let v = _mm256_loadu_si256(w.as_ptr().cast());
            let (hi, lo) = isa.mul_hi_lo::<0xD251_1F53>(v);
            let (mut f, mut h, mut l) = ([0f32; 8], [0u32; 8], [0u32; 8]);
            _mm256_storeu_ps(f.as_mut_ptr(), isa.u32_to_f(v));
            _mm256_storeu_si256(h.as_mut_ptr().cast(), hi);
            _mm256_storeu_si256(l.as_mut_ptr().cast(), lo);
            (f, h, l)
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    fn avx512_words(w: &[u32; 16]) -> ([f32; 16], [u32; 16], [u32; 16]) {
        let isa = Avx512(());
        // SAFETY: `w` holds 16 words; the outputs are 16-lane arrays.
        unsafe {
            let v = _mm512_loadu_si512(w.as_ptr().cast());
            let (hi, lo) = isa.mul_hi_lo::<0xD251_1F53>(v);
            let (mut f, mut h, mut l) = ([0f32; 16], [0u32; 16], [0u32; 16]);
            _mm512_storeu_ps(f.as_mut_ptr(), isa.u32_to_f(v));
            _mm512_storeu_si512(h.as_mut_ptr().cast(), hi);
            _mm512_storeu_si512(l.as_mut_ptr().cast(), lo);
            (f, h, l)
        }
    }

    /// Each lane's conversion equals `as f32` and its product equals the 64-bit product.
    fn assert_lanes(w: &[u32], f: &[f32], h: &[u32], l: &[u32], level: &str) {
        for (k, &x) in w.iter().enumerate() {
            let p = u64::from(x) * 0xD251_1F53;
            assert_eq!(
                f[k].to_bits(),
                (x as f32).to_bits(),
                "{level} u32_to_f({x:#x})"
            );
            assert_eq!(
                (h[k], l[k]),
                ((p >> 32) as u32, p as u32),
                "{level} {x:#x}·M"
            );
        }
    }

    #[test]
    fn conversion_and_product_match_scalar_on_edge_words() {
        let words = edge_words();
        if is_supported(SimdLevel::Avx2Fma) {
            for c in words.chunks_exact(8) {
                let w: [u32; 8] = c.try_into().expect("8 words");
                // SAFETY: AVX2 and FMA were detected above.
                let (f, h, l) = unsafe { avx2_words(&w) };
                assert_lanes(&w, &f, &h, &l, "avx2");
            }
        }
        if is_supported(SimdLevel::Avx512) {
            for c in words.chunks_exact(16) {
                let w: [u32; 16] = c.try_into().expect("16 words");
                // SAFETY: the AVX-512 subsets were detected above.
                let (f, h, l) = unsafe { avx512_words(&w) };
                assert_lanes(&w, &f, &h, &l, "avx512");
            }
        }
    }

    /// f32 values where rounding to a half can go wrong: ties and their neighbours at the f16
    /// and bf16 cut points, the subnormal and overflow boundaries, zeros, infinities and NaNs.
    fn edge_values() -> Vec<f32> {
        let mut bits: Vec<u32> = vec![0, 0x8000_0000, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000];
        bits.extend([
            0x7f80_0001,
            0xffc1_2345,
            0x0000_0001,
            0x007f_ffff,
            0x0080_0000,
        ]);
        for base in [
            0x3f80_0000u32,
            0x4780_0000,
            0x477f_e000,
            0x3380_0000,
            0x3880_0000,
        ] {
            for sign in [0, 0x8000_0000] {
                // f16 keeps 10 of the 23 fraction bits (cut at 2¹³), bf16 keeps 7 (cut at 2¹⁶).
                for cut in [1u32 << 12, 1 << 15] {
                    for odd in [0, cut << 1] {
                        for d in [-1i64, 0, 1] {
                            let b = i64::from(base + odd + cut) + d;
                            bits.push(sign | b as u32);
                        }
                    }
                }
            }
        }
        // 65520 is f16's overflow tie; 2⁻²⁵ is half its smallest subnormal.
        bits.extend([
            0x477f_f000,
            0x477f_efff,
            0x3300_0000,
            0x3300_0001,
            0x32ff_ffff,
        ]);
        bits.into_iter().map(f32::from_bits).collect()
    }

    #[test]
    fn half_rounding_matches_half_on_edge_values() {
        let src = edge_values();
        let mut b = vec![bf16::ZERO; src.len()];
        round_bf16(&mut b, &src);
        for (v, got) in src.iter().zip(&b) {
            let want = bf16::from_f32(*v);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "bf16 of {v:e} ({:#x})",
                v.to_bits()
            );
        }
        type Rounding = fn(&mut [f16], &[f32]);
        let mut roundings: Vec<(&str, Rounding)> = Vec::new();
        if is_supported(SimdLevel::Avx2Fma) && has_f16c() {
            // SAFETY: AVX2, FMA and F16C were detected just now.
            roundings.push(("avx2", |d, s| unsafe { round_f16(d, s) }));
        }
        if is_supported(SimdLevel::Avx512) && has_f16c() {
            // SAFETY: the AVX-512 subsets and F16C were detected just now.
            roundings.push(("avx512", |d, s| unsafe { round_f16_avx512(d, s) }));
        }
        for (level, round) in roundings {
            // Every length up to two vectors and a tail, so each path meets every value.
            for shift in 0..src.len().min(40) {
                let part = &src[shift..];
                let mut h = vec![f16::ZERO; part.len()];
                round(&mut h, part);
                for (v, got) in part.iter().zip(&h) {
                    let want = f16::from_f32(*v);
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{level} f16 of {v:e} ({:#x})",
                        v.to_bits()
                    );
                }
            }
        }
    }
}
