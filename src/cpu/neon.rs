//! The AArch64 level: Advanced SIMD (NEON), 4 lanes, part of the AArch64 baseline.
//!
//! LIMIT: no AArch64 machine was at hand when this was written: the module was type-checked
//! and linted for `aarch64-unknown-linux-gnu` but never run; it has no streaming stores.

use std::arch::aarch64::*;

use super::kernels::{Isa, fill_bits_with, fill_f32_with, fill_half_with, round_bf16};
use crate::philox::Philox;
use crate::transform::F32Params;

/// Runs one NEON intrinsic.
macro_rules! vector_op {
    ($e:expr) => {
        // SAFETY: NEON is part of the AArch64 baseline, so its intrinsics run on every
        // AArch64 CPU.
        unsafe { $e }
    };
}

/// Elements `start..start + out.len()` of an f32 tensor (`nontemporal` has no effect here).
pub(super) fn fill_f32(
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    nontemporal: bool,
) {
    fill_f32_with(Neon(()), p, rng, start, out, nontemporal);
}

/// The raw Philox words of elements `start..start + out.len()`, as f32 bits.
pub(super) fn fill_bits(rng: &Philox, start: u64, out: &mut [f32], nontemporal: bool) {
    fill_bits_with(Neon(()), rng, start, out, nontemporal);
}

/// Elements `start..start + out.len()` of a bf16 tensor, with ordinary stores: AArch64 has
/// `stnp`, but Rust has no intrinsic for it.
pub(super) fn fill_bf16(p: &F32Params, rng: &Philox, start: u64, out: &mut [half::bf16]) {
    fill_half_with(Neon(()), p, rng, start, out, false, round_bf16);
}

/// Proof that NEON is available (always, on AArch64).
#[derive(Clone, Copy)]
struct Neon(());

impl Isa for Neon {
    const LANES: usize = 4;
    type U = uint32x4_t;
    type F = float32x4_t;
    type M = uint32x4_t;

    #[inline(always)]
    fn splat_u(self, x: u32) -> uint32x4_t {
        vector_op!(vdupq_n_u32(x))
    }
    #[inline(always)]
    fn splat_f(self, x: f32) -> float32x4_t {
        vector_op!(vdupq_n_f32(x))
    }
    #[inline(always)]
    fn iota(self) -> uint32x4_t {
        let lanes = [0u32, 1, 2, 3];
        // SAFETY: `lanes` holds the four `u32` the load reads.
        unsafe { vld1q_u32(lanes.as_ptr()) }
    }
    #[inline(always)]
    fn add_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vector_op!(vaddq_u32(a, b))
    }
    #[inline(always)]
    fn sub_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vector_op!(vsubq_u32(a, b))
    }
    #[inline(always)]
    fn and_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vector_op!(vandq_u32(a, b))
    }
    #[inline(always)]
    fn or_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vector_op!(vorrq_u32(a, b))
    }
    #[inline(always)]
    fn xor3_u(self, a: uint32x4_t, b: uint32x4_t, c: uint32x4_t) -> uint32x4_t {
        self.xor_u(self.xor_u(a, b), c)
    }
    #[inline(always)]
    fn xor_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vector_op!(veorq_u32(a, b))
    }
    #[inline(always)]
    fn shr(self, a: uint32x4_t, n: u32) -> uint32x4_t {
        // A negative count in `ushl` shifts right.
        vector_op!(vshlq_u32(a, vdupq_n_s32(-(n as i32))))
    }
    #[inline(always)]
    fn sar(self, a: uint32x4_t, n: u32) -> uint32x4_t {
        vector_op!(vreinterpretq_u32_s32(vshlq_s32(
            vreinterpretq_s32_u32(a),
            vdupq_n_s32(-(n as i32))
        )))
    }
    #[inline(always)]
    fn shl(self, a: uint32x4_t, n: u32) -> uint32x4_t {
        vector_op!(vshlq_u32(a, vdupq_n_s32(n as i32)))
    }
    #[inline(always)]
    fn lt_u(self, a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        vector_op!(vcltq_u32(a, b))
    }
    #[inline(always)]
    fn mul_hi_lo<const M: u32>(self, a: uint32x4_t) -> (uint32x4_t, uint32x4_t) {
        let m = vector_op!(vdup_n_u32(M));
        let low = vector_op!(vreinterpretq_u32_u64(vmull_u32(vget_low_u32(a), m)));
        let high = vector_op!(vreinterpretq_u32_u64(vmull_u32(vget_high_u32(a), m)));
        // Each 64-bit product is (low word, high word) in little-endian lane order.
        vector_op!((vuzp2q_u32(low, high), vuzp1q_u32(low, high)))
    }
    #[inline(always)]
    fn i32_to_f(self, a: uint32x4_t) -> float32x4_t {
        vector_op!(vcvtq_f32_s32(vreinterpretq_s32_u32(a)))
    }
    #[inline(always)]
    fn u32_to_f(self, a: uint32x4_t) -> float32x4_t {
        // `ucvtf` rounds by the current mode, nearest-even by default, like `as f32`.
        vector_op!(vcvtq_f32_u32(a))
    }
    #[inline(always)]
    fn bits_of(self, a: float32x4_t) -> uint32x4_t {
        vector_op!(vreinterpretq_u32_f32(a))
    }
    #[inline(always)]
    fn float_of(self, a: uint32x4_t) -> float32x4_t {
        vector_op!(vreinterpretq_f32_u32(a))
    }
    #[inline(always)]
    fn add(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vector_op!(vaddq_f32(a, b))
    }
    #[inline(always)]
    fn sub(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vector_op!(vsubq_f32(a, b))
    }
    #[inline(always)]
    fn mul(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vector_op!(vmulq_f32(a, b))
    }
    #[inline(always)]
    fn fma(self, a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // `vfmaq_f32(c, a, b)` is `c + a · b`, fused.
        vector_op!(vfmaq_f32(c, a, b))
    }
    #[inline(always)]
    fn sqrt(self, a: float32x4_t) -> float32x4_t {
        vector_op!(vsqrtq_f32(a))
    }
    #[inline(always)]
    fn max(self, x: float32x4_t, lo: float32x4_t) -> float32x4_t {
        // `fmaxnm` is what Rust's `f32::max` compiles to on AArch64.
        vector_op!(vmaxnmq_f32(x, lo))
    }
    #[inline(always)]
    fn min(self, x: float32x4_t, hi: float32x4_t) -> float32x4_t {
        vector_op!(vminnmq_f32(x, hi))
    }
    #[inline(always)]
    fn lt(self, a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        vector_op!(vcltq_f32(a, b))
    }
    #[inline(always)]
    fn all(self, m: uint32x4_t) -> bool {
        vector_op!(vminvq_u32(m)) == u32::MAX
    }
    #[inline(always)]
    fn select(self, m: uint32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vector_op!(vbslq_f32(m, a, b))
    }
    #[inline(always)]
    fn test_bit(self, a: uint32x4_t, bit: u32) -> uint32x4_t {
        vector_op!(vtstq_u32(a, vdupq_n_u32(1 << bit)))
    }
    #[inline(always)]
    unsafe fn store4(self, dst: *mut f32, z: [float32x4_t; 4], _nontemporal: bool) {
        // `st4` interleaves four vectors: float `4b + j` is lane `b` of `z[j]`.
        // SAFETY: the caller gives 16 writable floats at `dst`.
        unsafe { vst4q_f32(dst, float32x4x4_t(z[0], z[1], z[2], z[3])) }
    }
}
