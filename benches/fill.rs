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
#[cfg(feature = "gpu")]
use std::rc::Rc;

use varscale::bench::{CpuBench, Stores, all_threads};
#[cfg(feature = "gpu")]
use varscale::bench::{GpuBench, GpuMethod};
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

/// The same for the 2³⁰-element matrix, which is only measured on request.
const HUGE_BUDGET_S: f64 = 120.0;

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
    #[cfg(feature = "gpu")]
    Gpu(Rc<GpuBench>, GpuMethod),
}

impl Method {
    /// `<method>@cpu-t<threads>`, or `<method>@gpu-<adapter>` with `-t<threads>` for a
    /// software adapter, whose threads are the CPU's.
    fn id(&self) -> String {
        match self {
            Method::Cpu(m) => format!("{}@cpu-t{}", m.name(), m.threads()),
            #[cfg(feature = "gpu")]
            Method::Gpu(gpu, m) if gpu.adapter().is_software() => {
                // llvmpipe runs one thread per core unless LP_NUM_THREADS says otherwise.
                let threads = std::env::var("LP_NUM_THREADS")
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or_else(all_threads);
                format!("{}@{}-t{threads}", m.name(), gpu.device_label())
            }
            #[cfg(feature = "gpu")]
            Method::Gpu(gpu, m) => format!("{}@{}", m.name(), gpu.device_label()),
        }
    }

    fn run<T: Element>(&self, sampler: &Sampler, out: &mut [T]) {
        let result = match self {
            Method::Cpu(m) => m.run(sampler, SEED, out),
            #[cfg(feature = "gpu")]
            Method::Gpu(gpu, m) => gpu.run(*m, sampler, SEED, out),
        };
        if let Err(e) = result {
            panic!("{}: {e}", self.id());
        }
    }

    /// Whether a tensor of `bytes` bytes can be measured at all: the GPU methods other than
    /// the readback (which works in chunks) need one device buffer that large.
    #[cfg_attr(not(feature = "gpu"), expect(unused_variables))]
    fn fits(&self, bytes: usize) -> bool {
        match self {
            Method::Cpu(_) => true,
            #[cfg(feature = "gpu")]
            Method::Gpu(_, GpuMethod::Readback) => true,
            #[cfg(feature = "gpu")]
            Method::Gpu(gpu, _) => gpu.fits(bytes as u64),
        }
    }
}

/// The methods, split by cost: `fast` run on every size, `slow` on the smallest unless
/// `VARSCALE_BENCH_FULL=1`, `ceilings` everywhere (ceilings ignore the sampler). The GPU
/// methods join the initializer grid only on a hardware adapter (or with
/// `VARSCALE_BENCH_FULL=1`): on a software one each costs tens of seconds per grid cell.
struct Methods {
    fast: Vec<Method>,
    slow: Vec<Method>,
    ceilings: Vec<Method>,
    gpu: Vec<Method>,
    gpu_ceilings: Vec<Method>,
    gpu_in_grid: bool,
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
    #[cfg_attr(not(feature = "gpu"), expect(unused_mut))]
    let mut methods = Methods {
        fast,
        slow,
        ceilings,
        gpu: vec![],
        gpu_ceilings: vec![],
        gpu_in_grid: false,
    };
    #[cfg(feature = "gpu")]
    match GpuBench::new() {
        Ok(gpu) => {
            eprintln!("GPU benches on {}", gpu.adapter());
            methods.gpu_in_grid = !gpu.adapter().is_software() || env_flag("VARSCALE_BENCH_FULL");
            let gpu = Rc::new(gpu);
            for m in GpuMethod::ALL {
                let list = if m.is_ceiling() {
                    &mut methods.gpu_ceilings
                } else {
                    &mut methods.gpu
                };
                list.push(Method::Gpu(Rc::clone(&gpu), m));
            }
        }
        Err(e) => eprintln!("skipping the GPU benches: {e}"),
    }
    methods
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
/// projected bench time passes [`BUDGET_S`] ([`HUGE_BUDGET_S`] for the 2³⁰-element matrix) is
/// skipped with a note, unless `VARSCALE_BENCH_FULL=1`.
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
        let mut chosen: Vec<&Method> = (methods.fast.iter())
            .chain(&methods.ceilings)
            .chain(&methods.gpu)
            .chain(&methods.gpu_ceilings)
            .collect();
        if full || k == 0 {
            chosen.extend(&methods.slow);
        }
        if k == 0 {
            // LIMIT: criterion does not tell a bench whether its id passes the command line's
            // filter, so these probes (one fill per method, a few seconds in all) run even
            // for `--list` or a filter that selects none of this group.
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
                let budget = if shape == HUGE {
                    HUGE_BUDGET_S
                } else {
                    BUDGET_S
                };
                let keep = projected <= budget;
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

/// Every initializer × dtype on one matrix; the ceilings once per dtype. The slow methods
/// run on f32 only: for bf16 they add the same rounding to the same kernels.
fn init_grid(c: &mut Criterion, methods: &Methods, shape: [u64; 2]) {
    let n = (shape[0] * shape[1]) as usize;
    let (gpu, gpu_ceilings): (&[Method], &[Method]) = if methods.gpu_in_grid {
        (&methods.gpu, &methods.gpu_ceilings)
    } else {
        (&[], &[])
    };
    let ceilings: Vec<&Method> = methods.ceilings.iter().chain(gpu_ceilings).collect();
    let bf16_generators: Vec<&Method> = methods.fast.iter().chain(gpu).collect();
    let f32_generators: Vec<&Method> = bf16_generators
        .iter()
        .copied()
        .chain(&methods.slow)
        .collect();
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
        let f32_name = format!("{name}-f32");
        bench(&mut group, &f32_generators, &sampler, &mut f32s, &f32_name);
        let bf16_name = format!("{name}-bf16");
        bench(
            &mut group,
            &bf16_generators,
            &sampler,
            &mut bf16s,
            &bf16_name,
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
        // No HTML charts: the estimates criterion writes are all `scripts/plot-benches.py`
        // needs (criterion is built without its plotters backend; see Cargo.toml).
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = all
}
criterion_main!(benches);
