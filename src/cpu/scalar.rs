//! The scalar kernels: the reference transform of [`crate::transform`], element by element.

use crate::philox::Philox;
use crate::transform::{F32Params, f32_fill_reference};

/// Elements `start..start + out.len()` of an f32 tensor.
pub(super) fn fill_f32(p: &F32Params, rng: &Philox, start: u64, out: &mut [f32]) {
    f32_fill_reference(p, rng, start, out);
}

/// Fills a half-precision slice through an f32 staging buffer on the stack.
pub(super) fn fill_half<H>(
    out: &mut [H],
    start: u64,
    fill: impl Fn(u64, &mut [f32]),
    round: impl Fn(f32) -> H,
) {
    let mut staging = [0f32; 1024];
    for (k, dst) in out.chunks_mut(staging.len()).enumerate() {
        let buf = &mut staging[..dst.len()];
        fill(start + (k * 1024) as u64, buf);
        for (d, &v) in dst.iter_mut().zip(buf.iter()) {
            *d = round(v);
        }
    }
}
