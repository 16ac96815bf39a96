//! Dispatch from a [`SimdLevel`] to the kernel that implements it.

use half::{bf16, f16};

use super::SimdLevel;
use super::scalar;
use crate::philox::Philox;
use crate::transform::F32Params;

/// Whether this CPU can run `level`.
pub(super) fn is_supported(level: SimdLevel) -> bool {
    match level {
        SimdLevel::Scalar => true,
        // LIMIT: the SIMD kernels are not written yet; only the scalar reference runs.
        SimdLevel::Neon | SimdLevel::Avx2Fma | SimdLevel::Avx512 => false,
    }
}

/// Elements `start..start + out.len()` of an f32 tensor.
pub(super) fn fill_f32(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [f32],
    _nontemporal: bool,
) {
    match level {
        SimdLevel::Scalar | SimdLevel::Neon | SimdLevel::Avx2Fma | SimdLevel::Avx512 => {
            scalar::fill_f32(p, rng, start, out)
        }
    }
}

/// Elements of an f16 tensor: the f32 values rounded to nearest even.
pub(super) fn fill_f16(level: SimdLevel, p: &F32Params, rng: &Philox, start: u64, out: &mut [f16]) {
    scalar::fill_half(
        out,
        start,
        |first, buf| fill_f32(level, p, rng, first, buf, false),
        f16::from_f32,
    );
}

/// Elements of a bf16 tensor: the f32 values rounded to nearest even.
pub(super) fn fill_bf16(
    level: SimdLevel,
    p: &F32Params,
    rng: &Philox,
    start: u64,
    out: &mut [bf16],
) {
    scalar::fill_half(
        out,
        start,
        |first, buf| fill_f32(level, p, rng, first, buf, false),
        bf16::from_f32,
    );
}

/// Orders non-temporal stores before whatever the caller does next.
pub(super) fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `sfence` has no preconditions; SSE is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}
