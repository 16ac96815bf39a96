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

use std::collections::HashMap;
use std::time::{Duration, Instant};

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

/// Seconds one bench may be expected to take (ten samples and a warm-up) before the size
/// sweep skips it, unless `VARSCALE_BENCH_FULL=1`: a guard that keeps the default run short
/// even when a kernel is far slower than expected.
const BUDGET_S: f64 = 20.0;

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

/// One thing a group measures.
enum Method {
    Cpu(CpuBench),
}

impl Method {
    /// `<method>@<device>-t<threads>`.
    fn id(&self) -> String {
        match self {
            Method::Cpu(m) => format!("{}@cpu-t{}", m.name(), m.threads()),
        }
    }

    fn run<T: Element>(&self, sampler: &Sampler, out: &mut [T]) {
        let result = match self {
            Method::Cpu(m) => m.run(sampler, SEED, out),
        };
        if let Err(e) = result {
            panic!("{}: {e}", self.id());
        }
    }

    /// Whether a tensor of `bytes` bytes can be measured at all (a GPU has a largest buffer).
    fn fits(&self, _bytes: usize) -> bool {
        match self {
            Method::Cpu(_) => true,
        }
    }
}

/// The methods, split by cost: `fast` run on every size, `slow` on the smallest unless
/// `VARSCALE_BENCH_FULL=1`, `ceilings` everywhere (ceilings ignore the sampler).
struct Methods {
    fast: Vec<Method>,
    slow: Vec<Method>,
    ceilings: Vec<Method>,
}

fn methods() -> Methods {
    let all = all_threads();
    let mut threads = vec![all];
    if all > 1 {
        threads.push(1);
    }
    let cpu = |m: varscale::Result<CpuBench>| Method::Cpu(m.expect("CPU method"));
    let best = SimdLevel::detect();
    let varscale: Vec<Method> = threads
        .iter()
        .map(|&t| cpu(CpuBench::varscale(best, t)))
        .collect();
    let mut fast = vec![cpu(CpuBench::pcg(all))];
    let mut slow = vec![];
    if best == SimdLevel::Scalar {
        // Without SIMD kernels the best level is the scalar reference: slow everywhere.
        slow.extend(varscale);
    } else {
        fast.extend(varscale);
        slow.push(cpu(CpuBench::varscale(SimdLevel::Scalar, all)));
    }
    if all > 1 {
        slow.push(cpu(CpuBench::pcg(1)));
    }
    let ceilings = [Stores::Ordinary, Stores::NonTemporal]
        .into_iter()
        .flat_map(|s| threads.iter().map(move |&t| cpu(CpuBench::ceiling(s, t))))
        .collect();
    Methods {
        fast,
        slow,
        ceilings,
    }
}

/// A buffer of `n` elements with its pages already faulted in, so no iteration pays for them.
fn buffer<T: Element>(n: usize) -> Vec<T> {
    vec![T::from_f32(1.0); n]
}

/// Measures each of `methods` filling `out` with `sampler`, under `<group>/<id>/<parameter>`.
fn bench<T: Element>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    methods: &[&Method],
    sampler: &Sampler,
    out: &mut [T],
    parameter: &str,
) {
    // Flat sampling: every sample runs the same number of iterations, so a 1-second fill
    // needs 10 iterations, not the 55 of linear sampling.
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::ElementsAndBytes {
        elements: out.len() as u64,
        bytes: size_of_val(out) as u64,
    });
    for m in methods {
        if !m.fits(size_of_val(out)) {
            eprintln!("skipping {}/{parameter}: too large for the device", m.id());
            continue;
        }
        group.bench_function(BenchmarkId::new(m.id(), parameter), |b| {
            b.iter(|| m.run(sampler, out))
        });
    }
}

/// Throughput against matrix size for one initializer and dtype.
///
/// Each method is timed once on the smallest matrix first; on a larger matrix, a method whose
/// projected bench time passes [`BUDGET_S`] is skipped with a note, unless
/// `VARSCALE_BENCH_FULL=1`.
fn size_sweep<T: Element>(c: &mut Criterion, methods: &Methods, name: &str, init: Initializer) {
    let full = env_flag("VARSCALE_BENCH_FULL");
    let shapes = shapes();
    let largest = shapes.iter().map(|[r, c]| r * c).max().unwrap_or(0) as usize;
    let mut storage = buffer::<T>(largest);
    let mut seconds_per_element: HashMap<String, f64> = HashMap::new();
    let mut group = c.benchmark_group(format!("size-{name}-{}", T::DTYPE));
    for (k, shape) in shapes.into_iter().enumerate() {
        let sampler = init
            .sampler_for_shape(&shape, Layout::Keras)
            .expect("sampler");
        let out = &mut storage[..(shape[0] * shape[1]) as usize];
        let mut chosen: Vec<&Method> = methods.fast.iter().chain(&methods.ceilings).collect();
        if full || k == 0 {
            chosen.extend(&methods.slow);
        }
        if k == 0 {
            for m in &chosen {
                let t = Instant::now();
                m.run(&sampler, out);
                let per_element = t.elapsed().as_secs_f64() / out.len() as f64;
                seconds_per_element.insert(m.id(), per_element);
            }
        } else if !full {
            chosen.retain(|m| {
                let per_element = seconds_per_element.get(&m.id()).copied().unwrap_or(0.0);
                // Ten samples of at least one run each, the warm-up and some slack.
                let projected = 12.0 * per_element * out.len() as f64;
                let keep = projected <= BUDGET_S;
                if !keep {
                    eprintln!(
                        "skipping {}/{}: about {projected:.0} s projected \
                         (VARSCALE_BENCH_FULL=1 runs it)",
                        m.id(),
                        label(shape)
                    );
                }
                keep
            });
        }
        bench(&mut group, &chosen, &sampler, out, &label(shape));
    }
    group.finish();
}

/// Every initializer × dtype on one matrix; the ceilings once per dtype.
fn init_grid(c: &mut Criterion, methods: &Methods, shape: [u64; 2]) {
    let n = (shape[0] * shape[1]) as usize;
    let generators: Vec<&Method> = methods.fast.iter().chain(&methods.slow).collect();
    let ceilings: Vec<&Method> = methods.ceilings.iter().collect();
    let mut group = c.benchmark_group(format!("init-{}", label(shape)));
    let (mut f32s, mut bf16s) = (buffer::<f32>(n), buffer::<bf16>(n));
    let constant = Sampler::constant(0.5).expect("constant");
    bench(&mut group, &ceilings, &constant, &mut f32s, "constant-f32");
    bench(
        &mut group,
        &ceilings,
        &constant,
        &mut bf16s,
        "constant-bf16",
    );
    for (name, init) in initializers() {
        let sampler = init
            .sampler_for_shape(&shape, Layout::Keras)
            .expect("sampler");
        bench(
            &mut group,
            &generators,
            &sampler,
            &mut f32s,
            &format!("{name}-f32"),
        );
        bench(
            &mut group,
            &generators,
            &sampler,
            &mut bf16s,
            &format!("{name}-bf16"),
        );
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    let methods = methods();
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
    targets = all
}
criterion_main!(benches);
