//! CPU fill throughput, f32, 64 Mi elements (256 MiB): each SIMD level on one thread, the best
//! level on every thread, the scalar reference (on a 4 Mi prefix), `Pcg64Mcg` + `rand_distr`, and the ceilings of
//! writing memory at all (`slice::fill`, and a constant fill with streaming stores), and the
//! generator alone (raw Philox words, `Cpu::fill_bits`).
//!
//! Run with `cargo bench --bench cpu`; ids read `<method>/<threads>t`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};
use rand_pcg::Pcg64Mcg;
use varscale::{Cpu, Initializer, Layout, Philox, Sampler, SimdLevel};

/// 64 Mi elements: 256 MiB of f32, far larger than any cache.
const LEN: usize = 64 << 20;
/// Elements for the (compute-bound) scalar reference.
const SCALAR_LEN: usize = 4 << 20;
/// A Keras `[fan_in, fan_out]` kernel of `LEN` elements.
const SHAPE: [u64; 2] = [8192, 8192];

/// The `Pcg64Mcg` + `rand_distr` way to draw the same distribution, one element at a time.
enum Baseline {
    Uniform(Uniform<f32>),
    Normal(Normal<f32>),
    /// Normal resampled until it falls within `±limit`, as Keras' truncated normal does.
    Truncated(Normal<f32>, f32),
}

impl Baseline {
    fn fill(&self, rng: &mut Pcg64Mcg, out: &mut [f32]) {
        match self {
            Baseline::Uniform(d) => out.iter_mut().for_each(|v| *v = d.sample(rng)),
            Baseline::Normal(d) => out.iter_mut().for_each(|v| *v = d.sample(rng)),
            Baseline::Truncated(d, limit) => out.iter_mut().for_each(|v| {
                *v = loop {
                    let z = d.sample(rng);
                    if z.abs() <= *limit {
                        break z;
                    }
                }
            }),
        }
    }
}

/// One distribution to measure: its name, sampler and baseline.
fn cases() -> Vec<(&'static str, Sampler, Baseline)> {
    let sampler = |name: &str| {
        let init: Initializer = name.parse().expect("preset name");
        init.sampler_for_shape(&SHAPE, Layout::Keras)
            .expect("valid shape")
    };
    let glorot = sampler("glorot_uniform");
    let limit = glorot.bounds().map_or(1.0, |(_, hi)| hi as f32);
    let he = sampler("he_normal");
    let he_std = he.variance().sqrt() as f32;
    let he_limit = he.bounds().map_or(1.0, |(_, hi)| hi as f32);
    // The unit normal's variance truncated to ±2σ is 0.7737…; undo it for the baseline's σ.
    let he_sigma = he_std / 0.773_741_f32.sqrt();
    vec![
        (
            "glorot_uniform",
            glorot,
            Baseline::Uniform(Uniform::new_inclusive(-limit, limit).expect("bounds")),
        ),
        (
            "normal",
            Sampler::normal(0.0, 0.02).expect("valid"),
            Baseline::Normal(Normal::new(0.0, 0.02).expect("valid")),
        ),
        (
            "he_normal",
            he,
            Baseline::Truncated(Normal::new(0.0, he_sigma).expect("valid"), he_limit),
        ),
    ]
}

fn cpu(level: SimdLevel, threads: usize) -> Cpu {
    Cpu::new()
        .with_level(level)
        .and_then(|c| c.with_threads(threads))
        .expect("supported level")
}

fn fills(c: &mut Criterion) {
    let mut out = vec![0f32; LEN];
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let best = SimdLevel::detect();
    let rng = Philox::new(42, 7);

    for (name, sampler, baseline) in cases() {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(LEN as u64))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for level in SimdLevel::supported() {
            // The scalar reference is 100× below any memory ceiling: a 4 Mi prefix measures it
            // as well, in a sixteenth of the time.
            let len = if level == SimdLevel::Scalar {
                SCALAR_LEN
            } else {
                LEN
            };
            g.throughput(Throughput::Elements(len as u64));
            let one = cpu(level, 1);
            g.bench_function(format!("{level}/1t"), |b| {
                b.iter(|| one.fill(&sampler, rng, 0, black_box(&mut out[..len])))
            });
        }
        g.throughput(Throughput::Elements(LEN as u64));
        let many = cpu(best, all);
        g.bench_function(format!("{best}/{all}t"), |b| {
            b.iter(|| many.fill(&sampler, rng, 0, black_box(&mut out[..])))
        });
        let mut pcg = Pcg64Mcg::seed_from_u64(42);
        g.bench_function("pcg64mcg+rand_distr/1t", |b| {
            b.iter(|| baseline.fill(&mut pcg, black_box(&mut out[..])))
        });
        g.finish();
    }

    // The generator alone: Philox words stored as they come, with no transform. No transform
    // can beat this; it is the ceiling the per-core goals are measured against.
    let mut g = c.benchmark_group("philox_words");
    g.throughput(Throughput::Elements(LEN as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let mut words = vec![0u32; LEN];
    for threads in [1, all] {
        let cpu = cpu(best, threads);
        g.bench_function(format!("{best}/{threads}t"), |b| {
            b.iter(|| cpu.fill_bits(rng, 0, black_box(&mut words[..])))
        });
    }
    g.finish();
    drop(words);

    let mut g = c.benchmark_group("write_ceiling");
    g.throughput(Throughput::Elements(LEN as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    g.bench_function("slice_fill/1t", |b| {
        b.iter(|| black_box(&mut out[..]).fill(black_box(0.5)))
    });
    let constant = Sampler::constant(0.5).expect("valid");
    for threads in [1, all] {
        let cpu = cpu(best, threads);
        // A constant `Cpu::fill` of 256 MiB: streaming stores and nothing else.
        g.bench_function(format!("nontemporal_fill/{threads}t"), |b| {
            b.iter(|| cpu.fill(&constant, rng, 0, black_box(&mut out[..])))
        });
    }
    g.finish();
}

criterion_group!(benches, fills);
criterion_main!(benches);
