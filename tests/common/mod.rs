//! Helpers shared by the integration tests.

use half::{bf16, f16};
use varscale::{Cpu, DType, Element, Initializer, Layout, Philox, SimdLevel};

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
