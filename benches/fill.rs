//! Criterion benches of whole-tensor fills on layer-sized matrices: varscale's CPU backend
//! against `Pcg64Mcg` + `rand_distr` and the memory-write ceilings.
//!
//! Two kinds of group:
//! - `size-<init>-<dtype>`: throughput against matrix size, one series per method (the plot
//!   `scripts/plot-benches.py` draws);
//! - `init-<shape>`: every initializer × dtype on one matrix, ceilings once per dtype.
//!
//! Bench ids read `<method>@<device>-t<threads>/<parameter>`.
//!
//! Environment (unset means off):
//! - `VARSCALE_BENCH_HUGE=1` adds a 2³⁰-element matrix (32768×32768: 4 GiB of f32) to the sizes;
//! - `VARSCALE_BENCH_FULL=1` runs the slow methods (the scalar reference and single-threaded
//!   Pcg64Mcg) on every size instead of the smallest, adds a bf16 size sweep, and runs the
//!   initializer grid on every size.
//!
//! The default run takes a few minutes on 2 cores; see BENCHMARKS.md.

use std::time::Duration;

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use half::bf16;
use varscale::bench::{CpuBench, Stores, all_threads};
use varscale::{Element, Initializer, Layout, Sampler, SimdLevel};

const SEED: u64 = 0x5eed;

/// The matrices: square layers and a Llama-style MLP projection (hidden 8192, MLP 28672).
const SHAPES: [[u64; 2]; 4] = [[4096, 4096], [8192, 8192], [16384, 16384], [8192, 28672]];

/// 2³⁰ elements.
const HUGE: [u64; 2] = [32768, 32768];

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

fn shapes() -> Vec<[u64; 2]> {
    let mut shapes = SHAPES.to_vec();
    if env_flag("VARSCALE_BENCH_HUGE") {
        shapes.push(HUGE);
    }
    shapes
}

fn label([rows, cols]: [u64; 2]) -> String {
    format!("{rows}x{cols}")
}

fn initializers() -> Vec<(&'static str, Initializer)> {
    let normal = Initializer::normal(0.0, 0.02).expect("N(0, 0.02²) is valid");
    vec![
        ("he_normal", Initializer::he_normal()),
        ("glorot_uniform", Initializer::glorot_uniform()),
        ("normal", normal),
    ]
}

/// The CPU methods, split by cost: `fast` run on every size, `slow` on the smallest unless
/// `VARSCALE_BENCH_FULL=1`, `ceilings` everywhere.
struct CpuMethods {
    fast: Vec<CpuBench>,
    slow: Vec<CpuBench>,
    ceilings: Vec<CpuBench>,
}

fn cpu_methods() -> CpuMethods {
    let all = all_threads();
    let mut threads = vec![all];
    if all > 1 {
        threads.push(1);
    }
    let best = SimdLevel::detect();
    let varscale: Vec<CpuBench> = threads
        .iter()
        .map(|&t| CpuBench::varscale(best, t).expect("the detected level runs"))
        .collect();
    let mut fast = vec![CpuBench::pcg(all).expect("thread pool")];
    let mut slow = vec![];
    if best == SimdLevel::Scalar {
        // Without SIMD kernels the best level is the scalar reference: slow everywhere.
        slow.extend(varscale);
    } else {
        fast.extend(varscale);
        slow.push(CpuBench::varscale(SimdLevel::Scalar, all).expect("scalar runs"));
    }
    if all > 1 {
        slow.push(CpuBench::pcg(1).expect("thread pool"));
    }
    let ceilings = [Stores::Ordinary, Stores::NonTemporal]
        .into_iter()
        .flat_map(|s| threads.iter().map(move |&t| (s, t)))
        .map(|(s, t)| CpuBench::ceiling(s, t).expect("thread pool"))
        .collect();
    CpuMethods {
        fast,
        slow,
        ceilings,
    }
}

fn id(m: &CpuBench) -> String {
    format!("{}@cpu-t{}", m.name(), m.threads())
}

/// A buffer of `n` elements with its pages already faulted in, so no iteration pays for them.
fn buffer<T: Element>(n: usize) -> Vec<T> {
    vec![T::from_f32(1.0); n]
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, elements: usize, bytes: usize) {
    // Flat sampling: every sample runs the same number of iterations, so a 1-second fill
    // needs 10 iterations, not the 55 of linear sampling.
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::ElementsAndBytes {
        elements: elements as u64,
        bytes: bytes as u64,
    });
}

fn bench_cpu<T: Element>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    methods: &[&CpuBench],
    sampler: &Sampler,
    out: &mut [T],
    parameter: &str,
) {
    configure(group, out.len(), size_of_val(out));
    for m in methods {
        group.bench_function(BenchmarkId::new(id(m), parameter), |b| {
            b.iter(|| m.run(sampler, SEED, out).expect("bench fill"))
        });
    }
}

/// Throughput against matrix size for one initializer and dtype.
fn size_sweep<T: Element>(c: &mut Criterion, methods: &CpuMethods, name: &str, init: Initializer) {
    let full = env_flag("VARSCALE_BENCH_FULL");
    let shapes = shapes();
    let largest = shapes.iter().map(|[r, c]| r * c).max().unwrap_or(0) as usize;
    let mut storage = buffer::<T>(largest);
    let mut group = c.benchmark_group(format!("size-{name}-{}", T::DTYPE));
    for (k, shape) in shapes.into_iter().enumerate() {
        let sampler = init
            .sampler_for_shape(&shape, Layout::Keras)
            .expect("sampler");
        let out = &mut storage[..(shape[0] * shape[1]) as usize];
        let mut chosen: Vec<&CpuBench> = methods.fast.iter().chain(&methods.ceilings).collect();
        if full || k == 0 {
            chosen.extend(&methods.slow);
        }
        bench_cpu(&mut group, &chosen, &sampler, out, &label(shape));
    }
    group.finish();
}

/// Every initializer × dtype on one matrix.
fn init_grid(c: &mut Criterion, methods: &CpuMethods, shape: [u64; 2]) {
    let n = (shape[0] * shape[1]) as usize;
    let generators: Vec<&CpuBench> = methods.fast.iter().chain(&methods.slow).collect();
    let ceilings: Vec<&CpuBench> = methods.ceilings.iter().collect();
    let mut group = c.benchmark_group(format!("init-{}", label(shape)));
    let (mut f32s, mut bf16s) = (buffer::<f32>(n), buffer::<bf16>(n));
    let any = Sampler::constant(0.0).expect("constant");
    bench_cpu(&mut group, &ceilings, &any, &mut f32s, "constant-f32");
    bench_cpu(&mut group, &ceilings, &any, &mut bf16s, "constant-bf16");
    for (name, init) in initializers() {
        let sampler = init
            .sampler_for_shape(&shape, Layout::Keras)
            .expect("sampler");
        bench_cpu(
            &mut group,
            &generators,
            &sampler,
            &mut f32s,
            &format!("{name}-f32"),
        );
        bench_cpu(
            &mut group,
            &generators,
            &sampler,
            &mut bf16s,
            &format!("{name}-bf16"),
        );
    }
    group.finish();
}

fn cpu(c: &mut Criterion) {
    let methods = cpu_methods();
    size_sweep::<f32>(c, &methods, "he_normal", Initializer::he_normal());
    if env_flag("VARSCALE_BENCH_FULL") {
        size_sweep::<bf16>(c, &methods, "he_normal", Initializer::he_normal());
        for shape in shapes() {
            init_grid(c, &methods, shape);
        }
    } else {
        init_grid(c, &methods, SHAPES[0]);
    }
}

fn config() -> Criterion {
    // Ten samples of memory-bound fills of 64 MiB to 4 GiB are already tight (a few percent);
    // the short times keep the default run within minutes on 2 cores.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .nresamples(20_000)
}

criterion_group! {
    name = benches;
    config = config();
    targets = cpu
}
criterion_main!(benches);
