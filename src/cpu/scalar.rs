//! The scalar kernels: the reference transform of [`crate::transform`], element by element.

use crate::philox::Philox;
use crate::transform::{F32Params, f32_fill_reference};

/// Elements `start..start + out.len()` of an f32 tensor.
pub(super) fn fill_f32(p: &F32Params, rng: &Philox, start: u64, out: &mut [f32]) {
    f32_fill_reference(p, rng, start, out);
}

/// The raw Philox words of elements `start..start + out.len()`, as f32 bits.
pub(super) fn fill_bits(rng: &Philox, start: u64, out: &mut [f32]) {
    for (v, i) in out.iter_mut().zip(start..) {
        *v = f32::from_bits(rng.block(i / 4)[(i % 4) as usize]);
    }
}
