//! Every SIMD level this CPU runs gives the scalar reference's bits, for every transform,
//! dtype, start and length.
//!
//! Seeds, streams, starts and lengths are drawn fresh on each run from a generator seeded by
//! the clock; every failure message carries that seed. Set `VARSCALE_TEST_SEED` to replay one.

mod common;

use common::TestRng;
use half::{bf16, f16};
use varscale::cpu::fill_serial_f32;
use varscale::transform::{F32Params, f32_fill_reference};
use varscale::{Cpu, Error, Philox, Sampler, SimdLevel};

/// A start index: small, crossing a 2³² block index, near 2⁴⁰, or near the last element.
fn start(r: &mut TestRng, len: u64) -> u64 {
    match r.below(4) {
        0 => r.below(1000),
        1 => (4u64 << 32) - r.below(6000),
        2 => (1u64 << 40) + r.below(1 << 20),
        _ => u64::MAX - len - r.below(1000),
    }
}

/// One sampler of each transform, with bounds that exercise every branch: asymmetric
/// uniforms, ±2σ truncation (erfinv's central branch only), and truncations whose values all
/// or partly need erfinv's tail branch (|z| ≳ 2.9).
fn samplers() -> Vec<(&'static str, Sampler)> {
    let s = |r: varscale::Result<Sampler>| r.expect("valid test sampler");
    vec![
        ("constant", s(Sampler::constant(0.25))),
        ("uniform", s(Sampler::uniform(-0.05, 0.05))),
        ("uniform-asym", s(Sampler::uniform(-0.3, 1.7))),
        ("uniform-narrow", s(Sampler::uniform(5.0, 5.001))),
        // The largest value rounds onto the upper bound.
        ("uniform-unit", s(Sampler::uniform(0.0, 1.0))),
        // A half-width whose product with 2⁻²⁴ would be subnormal.
        ("uniform-tiny", s(Sampler::uniform(-1e-32, 1e-32))),
        ("normal", s(Sampler::normal(0.0, 1.0))),
        ("normal-shifted", s(Sampler::normal(3.5, 0.02))),
        (
            "truncated-2sigma",
            s(Sampler::truncated_normal(0.0, 0.05, -2.0, 2.0)),
        ),
        (
            "truncated-mixed-tail",
            s(Sampler::truncated_normal(1.0, 2.0, 2.5, 6.0)),
        ),
        (
            "truncated-far-tail",
            s(Sampler::truncated_normal(-0.5, 0.3, -8.0, -3.0)),
        ),
        (
            "truncated-asym",
            s(Sampler::truncated_normal(0.1, 1.0, -0.5, 4.0)),
        ),
    ]
}

fn params(s: &Sampler) -> F32Params {
    s.f32_params().expect("f32 parameters")
}

fn reference(p: &F32Params, rng: &Philox, start: u64, len: usize) -> Vec<f32> {
    let mut want = vec![0f32; len];
    f32_fill_reference(p, rng, start, &mut want);
    want
}

/// The first element whose bits differ (so `-0.0` differs from `0.0`), as a message.
fn first_difference<T: bytemuck::Pod + std::fmt::Debug>(got: &[T], want: &[T]) -> Option<String> {
    got.iter()
        .zip(want)
        .position(|(g, w)| bytemuck::bytes_of(g) != bytemuck::bytes_of(w))
        .map(|i| format!("element {i}: got {:?}, want {:?}", got[i], want[i]))
}

/// `Cpu::fill` of one dtype equals the reference `want` rounded by `round`.
fn check_dtype<T: varscale::Element>(
    (cpu, sampler, rng, start, ctx): (&Cpu, &Sampler, Philox, u64, &str),
    want: &[f32],
    round: impl Fn(f32) -> T,
) {
    let want: Vec<T> = want.iter().map(|&v| round(v)).collect();
    let mut got = want.clone();
    got.fill(round(f32::NAN));
    cpu.fill(sampler, rng, start, &mut got).expect("fill");
    if let Some(d) = first_difference(&got, &want) {
        panic!("Cpu::fill {}, {ctx}: {d}", T::DTYPE);
    }
}

#[test]
fn every_level_matches_the_reference_for_random_ranges() {
    let (mut r, seed) = {
        let r = TestRng::new("simd");
        let seed = r.seed();
        (r, seed)
    };
    for level in SimdLevel::supported() {
        let cpu = Cpu::new()
            .with_level(level)
            .and_then(|c| c.with_threads(2))
            .expect("supported level");
        for (name, sampler) in samplers() {
            let p = params(&sampler);
            for _ in 0..12 {
                let rng = Philox::new(r.next_u64(), r.next_u64());
                let len = r.below(5000) as usize;
                let start = start(&mut r, len as u64);
                // A random offset into a larger buffer varies the address alignment.
                let offset = r.below(16) as usize;
                let want = reference(&p, &rng, start, len);
                let ctx = format!("seed {seed}, {level}, {name}, start {start}, len {len}");

                let mut buf = vec![0f32; len + offset];
                fill_serial_f32(level, &p, rng, start, &mut buf[offset..]).expect("serial fill");
                if let Some(d) = first_difference(&buf[offset..], &want) {
                    panic!("fill_serial_f32, {ctx}, offset {offset}: {d}");
                }

                let ctx = (&cpu, &sampler, rng, start, ctx.as_str());
                check_dtype(ctx, &want, |v| v);
                check_dtype(ctx, &want, f16::from_f32);
                check_dtype(ctx, &want, bf16::from_f32);
            }
        }
    }
}

#[test]
fn large_outputs_take_streaming_stores_and_match_the_reference() {
    // Above the 16 MiB at which `Cpu::fill` switches to non-temporal stores.
    let (mut r, seed) = {
        let r = TestRng::new("simd");
        let seed = r.seed();
        (r, seed)
    };
    let len = (4 << 20) + 1 + r.below(100) as usize;
    let levels = SimdLevel::supported();
    // One sampler per transform (the tail-branch truncation for the truncated normal).
    let kinds = ["constant", "uniform-asym", "normal", "truncated-mixed-tail"];
    for (name, sampler) in samplers().into_iter().filter(|(n, _)| kinds.contains(n)) {
        let p = params(&sampler);
        let rng = Philox::new(r.next_u64(), r.next_u64());
        let start = start(&mut r, len as u64);
        let want = reference(&p, &rng, start, len);
        for &level in &levels {
            let cpu = Cpu::new().with_level(level).expect("supported level");
            // Both a 64-byte-aligned-able slice and one whose address disagrees with its
            // start modulo 16 bytes (which must fall back to ordinary stores).
            for offset in [0, 1 + r.below(3) as usize] {
                let mut buf = vec![0f32; len + offset];
                cpu.fill(&sampler, rng, start, &mut buf[offset..])
                    .expect("fill");
                if let Some(d) = first_difference(&buf[offset..], &want) {
                    panic!(
                        "seed {seed}, {level}, {name}, start {start}, len {len}, offset {offset}: {d}"
                    );
                }
            }
        }
    }
}

#[test]
fn large_half_outputs_take_streaming_stores_and_match_the_reference() {
    // Above the 16 MiB at which `Cpu::fill` streams halves too, through a second buffer.
    let (mut r, seed) = {
        let r = TestRng::new("simd");
        let seed = r.seed();
        (r, seed)
    };
    let len = (8 << 20) + 1 + r.below(100) as usize;
    let kinds = ["uniform-asym", "truncated-mixed-tail"];
    for (name, sampler) in samplers().into_iter().filter(|(n, _)| kinds.contains(n)) {
        let p = params(&sampler);
        let rng = Philox::new(r.next_u64(), r.next_u64());
        let start = start(&mut r, len as u64);
        let want = reference(&p, &rng, start, len);
        let want_f16: Vec<f16> = want.iter().map(|&v| f16::from_f32(v)).collect();
        let want_bf16: Vec<bf16> = want.iter().map(|&v| bf16::from_f32(v)).collect();
        for level in SimdLevel::supported() {
            let cpu = Cpu::new().with_level(level).expect("supported level");
            // Offsets of 0 to 15 halves put the first 16-byte boundary anywhere in the slice's
            // first 8 elements.
            for offset in [0, 1 + r.below(15) as usize] {
                let ctx = format!("seed {seed}, {level}, {name}, start {start}, offset {offset}");
                let mut buf = vec![f16::NAN; len + offset];
                cpu.fill(&sampler, rng, start, &mut buf[offset..])
                    .expect("fill");
                if let Some(d) = first_difference(&buf[offset..], &want_f16) {
                    panic!("f16, {ctx}: {d}");
                }
                let mut buf = vec![bf16::NAN; len + offset];
                cpu.fill(&sampler, rng, start, &mut buf[offset..])
                    .expect("fill");
                if let Some(d) = first_difference(&buf[offset..], &want_bf16) {
                    panic!("bf16, {ctx}: {d}");
                }
            }
        }
    }
}

#[test]
fn unsupported_levels_are_refused_by_name() {
    let p = params(&Sampler::normal(0.0, 1.0).expect("valid"));
    for level in SimdLevel::ALL {
        if level.is_supported() {
            continue;
        }
        let expected = Error::UnsupportedSimd(level.to_string());
        assert_eq!(Cpu::new().with_level(level).err(), Some(expected.clone()));
        let mut out = [0f32; 8];
        assert_eq!(
            fill_serial_f32(level, &p, Philox::new(1, 2), 0, &mut out).err(),
            Some(expected)
        );
    }
    assert!(SimdLevel::Scalar.is_supported());
    assert!(SimdLevel::supported().contains(&SimdLevel::detect()));
}

#[test]
fn raw_words_at_every_level_are_philox_of_the_element_index() {
    let (mut r, seed) = {
        let r = TestRng::new("simd");
        let seed = r.seed();
        (r, seed)
    };
    for level in SimdLevel::supported() {
        let cpu = Cpu::new()
            .with_level(level)
            .and_then(|c| c.with_threads(2))
            .expect("supported level");
        for round in 0..40 {
            let rng = Philox::new(r.next_u64(), r.next_u64());
            // Mostly short ranges; one past the 16 MiB at which streaming stores begin.
            let len = if round == 0 {
                (4 << 20) + r.below(100) as usize
            } else {
                r.below(5000) as usize
            };
            let start = start(&mut r, len as u64);
            let offset = r.below(16) as usize;
            let mut buf = vec![0u32; len + offset];
            cpu.fill_bits(rng, start, &mut buf[offset..])
                .expect("range inside 2⁶⁴");
            for (k, &got) in buf[offset..].iter().enumerate() {
                let i = start + k as u64;
                // The counter is the block index (low word, high word), then the stream.
                let [_, _, s0, s1] = rng.counter(0);
                let block = i / 4;
                let words = varscale::philox4x32_10(
                    [block as u32, (block >> 32) as u32, s0, s1],
                    rng.key(),
                );
                assert_eq!(
                    got,
                    words[(i % 4) as usize],
                    "seed {seed}, {level}, element {i} (start {start}, len {len}, offset {offset})"
                );
            }
        }
    }
    let err = Cpu::new()
        .fill_bits(Philox::new(0, 0), u64::MAX - 2, &mut [0u32; 8])
        .expect_err("a range past 2⁶⁴ is refused");
    assert!(matches!(err, Error::OutOfRange { .. }), "{err}");
}
