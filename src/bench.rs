//! Throughput measurement: timed repeats reduced to medians, the baselines a user would
//! otherwise reach for, and the memory-write ceilings every fill is compared with.
//!
//! Both `varscale bench` and the criterion benches (`benches/fill.rs`) build their methods
//! here, so the two measure exactly the same code: [`CpuBench`] for the CPU methods and, with
//! the `gpu` feature, `GpuBench` for the GPU ones; [`time_repeated`] times either.
//!
//! # Example
//! ```
//! use varscale::bench::{CpuBench, Stores, time_repeated};
//! use varscale::Sampler;
//! let sampler = Sampler::normal(0.0, 0.02)?;
//! let method = CpuBench::ceiling(Stores::NonTemporal, 1)?;
//! let mut out = vec![0f32; 1 << 16];
//! let timing = time_repeated(1, 3, || method.run(&sampler, 7, &mut out))?;
//! assert!(timing.median() > 0.0 && timing.min() <= timing.median());
//! # Ok::<(), varscale::Error>(())
//! ```

#[cfg(feature = "gpu")]
mod gpu;

use std::sync::Arc;
use std::time::Instant;

use rand_distr::num_traits::Float;
use rand_distr::uniform::SampleUniform;
use rand_distr::{Distribution, Normal, StandardNormal, Uniform};
use rand_pcg::Pcg64Mcg;
use rand_pcg::rand_core::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::cpu::{Cpu, SimdLevel};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::philox::Philox;
use crate::sampler::Sampler;
use crate::transform::F64Params;

#[cfg(feature = "gpu")]
pub use gpu::{GpuBench, GpuMethod};

/// The value the ceilings write: not zero, so that no zero-page or memset shortcut applies.
const CEILING_VALUE: f32 = 0.5;

/// Wall-clock times of repeated runs of one piece of work.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Sorted ascending; never empty.
    seconds: Vec<f64>,
}

impl Timing {
    /// The median run time in seconds (the mean of the two middle runs for an even count).
    pub fn median(&self) -> f64 {
        let n = self.seconds.len();
        if n % 2 == 1 {
            self.seconds[n / 2]
        } else {
            (self.seconds[n / 2 - 1] + self.seconds[n / 2]) / 2.0
        }
    }

    /// The fastest run in seconds.
    pub fn min(&self) -> f64 {
        self.seconds[0]
    }

    /// The slowest run in seconds.
    pub fn max(&self) -> f64 {
        self.seconds[self.seconds.len() - 1]
    }

    /// Every timed run in seconds, fastest first.
    pub fn samples(&self) -> &[f64] {
        &self.seconds
    }
}

/// Runs `work` `warmup` times untimed, then `repeats` times timed (at least once).
///
/// The warm-up runs take the page faults of a fresh buffer, the JIT of a GPU pipeline and
/// the thread pool's start-up out of the timed runs.
///
/// # Errors
/// The first error `work` returns.
pub fn time_repeated<E>(
    warmup: usize,
    repeats: usize,
    mut work: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<Timing, E> {
    for _ in 0..warmup {
        work()?;
    }
    let mut seconds = Vec::with_capacity(repeats.max(1));
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        work()?;
        seconds.push(t.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    Ok(Timing { seconds })
}

/// The number of threads "all threads" means on this machine.
pub fn all_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The kind of store instruction a constant fill uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stores {
    /// Ordinary (write-back) stores, as `slice.fill` compiles to: each cache line is read
    /// for ownership before it is written.
    Ordinary,
    /// Non-temporal (streaming) stores that bypass the cache and skip the read for ownership:
    /// the fastest way a core can write memory it will not read soon.
    NonTemporal,
}

impl Stores {
    /// The short name used in bench ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            Stores::Ordinary => "store",
            Stores::NonTemporal => "nt-store",
        }
    }
}

/// Fills `out` with `value` using `stores`, and returns the stores actually used:
/// [`Stores::Ordinary`] where this CPU has no non-temporal path.
pub fn fill_constant<T: Element>(out: &mut [T], value: T, stores: Stores) -> Stores {
    match stores {
        Stores::Ordinary => {
            out.fill(value);
            Stores::Ordinary
        }
        Stores::NonTemporal => stream::fill(out, value),
    }
}

#[cfg(target_arch = "x86_64")]
mod stream {
    //! Constant fills with x86-64 streaming stores, chosen at run time.

    use std::arch::x86_64::*;

    use super::Stores;
    use crate::dtype::Element;

    /// The streaming stores write whole 64-byte lines.
    const LINE: usize = 64;

    pub(super) fn fill<T: Element>(out: &mut [T], value: T) -> Stores {
        let line = line_of(value);
        let (body, lines) = split_lines(out, value);
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was detected just above; `body` points to `lines` writable,
            // 64-byte aligned lines inside `out` (see `split_lines`).
            unsafe { fill_avx512(body, lines, &line) }
        } else if is_x86_feature_detected!("avx") {
            // SAFETY: AVX was detected just above; `body` as for the AVX-512 call.
            unsafe { fill_avx(body, lines, &line) }
        } else {
            // SAFETY: SSE is part of the x86-64 baseline; `body` as for the AVX-512 call.
            unsafe { fill_sse(body, lines, &line) }
        }
        Stores::NonTemporal
    }

    /// `value`'s bytes repeated over one line, carried in f32 lanes (the stores move bits,
    /// they do no arithmetic, so any bit pattern survives).
    fn line_of<T: Element>(value: T) -> [f32; LINE / 4] {
        let mut line = [0f32; LINE / 4];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut line);
        for lane in bytes.chunks_exact_mut(size_of::<T>()) {
            lane.copy_from_slice(bytemuck::bytes_of(&value));
        }
        line
    }

    /// Fills the unaligned head and the partial tail of `out` with ordinary stores, and
    /// returns the aligned middle as a pointer and a count of whole lines.
    fn split_lines<T: Element>(out: &mut [T], value: T) -> (*mut f32, usize) {
        // Every element size (2, 4, 8) divides the line, so a T-aligned pointer reaches
        // 64-byte alignment in whole elements; `align_offset` may still answer "never".
        let head = out.as_ptr().align_offset(LINE).min(out.len());
        let (head, rest) = out.split_at_mut(head);
        head.fill(value);
        let lines = size_of_val(rest) / LINE;
        let (body, tail) = rest.split_at_mut(lines * LINE / size_of::<T>());
        tail.fill(value);
        (body.as_mut_ptr().cast(), lines)
    }

    /// # Safety
    /// AVX-512F must be available; `body` must point to `lines` writable 64-byte aligned lines.
    #[target_feature(enable = "avx512f")]
    unsafe fn fill_avx512(body: *mut f32, lines: usize, line: &[f32; LINE / 4]) {
        // SAFETY: `line` holds 16 f32, one full unaligned load.
        let v = unsafe { _mm512_loadu_ps(line.as_ptr()) };
        for k in 0..lines {
            // SAFETY: line `k < lines` lies inside `body` and is 64-byte aligned, as the
            // caller promises.
            unsafe { _mm512_stream_ps(body.add(k * 16), v) };
        }
        _mm_sfence();
    }

    /// # Safety
    /// AVX must be available; `body` must point to `lines` writable 64-byte aligned lines.
    #[target_feature(enable = "avx")]
    unsafe fn fill_avx(body: *mut f32, lines: usize, line: &[f32; LINE / 4]) {
        // SAFETY: `line` holds 16 f32, so both unaligned loads are in bounds.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_ps(line.as_ptr()),
                _mm256_loadu_ps(line.as_ptr().add(8)),
            )
        };
        for k in 0..lines {
            // SAFETY: both halves of line `k < lines` are inside `body` and 32-byte aligned.
            unsafe {
                _mm256_stream_ps(body.add(k * 16), lo);
                _mm256_stream_ps(body.add(k * 16 + 8), hi);
            }
        }
        _mm_sfence();
    }

    /// # Safety
    /// `body` must point to `lines` writable 64-byte aligned lines.
    unsafe fn fill_sse(body: *mut f32, lines: usize, line: &[f32; LINE / 4]) {
        for k in 0..lines {
            for q in 0..4 {
                // SAFETY: quarter `q` of line `k < lines` is inside `body` and 16-byte
                // aligned; `line` holds 16 f32, so the load is in bounds.
                unsafe {
                    let v = _mm_loadu_ps(line.as_ptr().add(q * 4));
                    _mm_stream_ps(body.add(k * 16 + q * 4), v);
                }
            }
        }
        // SAFETY: `sfence` has no preconditions; SSE is part of the x86-64 baseline.
        unsafe { _mm_sfence() };
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod stream {
    //! No streaming-store path off x86-64.

    use super::Stores;
    use crate::dtype::Element;

    // LIMIT: AArch64 has `stnp`, but no stable intrinsic reaches it; the non-temporal
    // ceiling falls back to ordinary stores there and says so in its result.
    pub(super) fn fill<T: Element>(out: &mut [T], value: T) -> Stores {
        out.fill(value);
        Stores::Ordinary
    }
}

/// What a [`CpuBench`] runs.
#[derive(Clone, Debug)]
enum CpuMethod {
    /// varscale's own CPU backend.
    Varscale(Cpu),
    /// `rand_pcg::Pcg64Mcg` with `rand_distr`, one generator per thread.
    Pcg,
    /// A constant fill: the memory-write ceiling.
    Ceiling(Stores),
}

/// One CPU method to measure, with its thread pool built once.
///
/// Every method splits its output the way it would in real use: varscale by its own chunking;
/// the baseline and the ceilings into one contiguous part per thread.
#[derive(Clone, Debug)]
pub struct CpuBench {
    method: CpuMethod,
    pool: Option<Arc<rayon::ThreadPool>>,
    threads: usize,
}

impl CpuBench {
    /// varscale's CPU fill at `level` on `threads` threads.
    ///
    /// # Errors
    /// A level this CPU lacks, or a bad thread count.
    pub fn varscale(level: SimdLevel, threads: usize) -> Result<Self> {
        let cpu = Cpu::new().with_level(level)?.with_threads(threads)?;
        Ok(Self {
            method: CpuMethod::Varscale(cpu),
            pool: None,
            threads,
        })
    }

    /// The baseline most Rust users would write: `rand_pcg::Pcg64Mcg` feeding `rand_distr`,
    /// with rayon and one generator per thread when `threads > 1`.
    ///
    /// A truncated normal is drawn by rejection, redrawing values outside the bounds, as
    /// TensorFlow's and Keras' truncated normal do.
    ///
    /// # Errors
    /// A bad thread count.
    pub fn pcg(threads: usize) -> Result<Self> {
        Ok(Self {
            method: CpuMethod::Pcg,
            pool: Some(pool(threads)?),
            threads,
        })
    }

    /// The memory-write ceiling: a constant fill with `stores` on `threads` threads.
    ///
    /// # Errors
    /// A bad thread count.
    pub fn ceiling(stores: Stores, threads: usize) -> Result<Self> {
        Ok(Self {
            method: CpuMethod::Ceiling(stores),
            pool: Some(pool(threads)?),
            threads,
        })
    }

    /// The method's name for ids and tables: `varscale-<level>`, `pcg64mcg` or
    /// `ceiling-<stores>`.
    pub fn name(&self) -> String {
        match &self.method {
            CpuMethod::Varscale(cpu) => format!("varscale-{}", cpu.level()),
            CpuMethod::Pcg => "pcg64mcg".to_string(),
            CpuMethod::Ceiling(stores) => format!("ceiling-{}", stores.name()),
        }
    }

    /// Whether this is a memory-write ceiling rather than a generator.
    pub fn is_ceiling(&self) -> bool {
        matches!(self.method, CpuMethod::Ceiling(_))
    }

    /// The number of threads it runs on.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Fills `out` once: with `sampler` under `seed` (stream 0), or with a constant for a
    /// ceiling.
    ///
    /// # Errors
    /// A sampler whose parameters overflow the output type.
    pub fn run<T: Element>(&self, sampler: &Sampler, seed: u64, out: &mut [T]) -> Result<()> {
        match &self.method {
            CpuMethod::Varscale(cpu) => cpu.fill(sampler, Philox::new(seed, 0), 0, out),
            CpuMethod::Pcg => {
                let params = sampler.f64_params();
                if T::DTYPE == DType::F64 {
                    let draw = Draw::new(&params, |v| v)?;
                    let out: &mut [f64] = bytemuck::cast_slice_mut(out);
                    self.per_thread(out, |k, part| pcg_fill(&draw, seed, k, part, |v| v));
                } else {
                    // The narrow types are drawn as f32 and rounded, as a user would.
                    let draw = Draw::new(&params, |v| v as f32)?;
                    self.per_thread(out, |k, part| pcg_fill(&draw, seed, k, part, T::from_f32));
                }
                Ok(())
            }
            CpuMethod::Ceiling(stores) => {
                let value = T::from_f32(CEILING_VALUE);
                let stores = *stores;
                self.per_thread(out, |_, part| {
                    fill_constant(part, value, stores);
                });
                Ok(())
            }
        }
    }

    /// Runs `work(k, part)` on part `k` of `out` cut into one contiguous part per thread.
    fn per_thread<E: Send>(&self, out: &mut [E], work: impl Fn(usize, &mut [E]) + Sync) {
        let part = out.len().div_ceil(self.threads).max(1);
        let mut run = || {
            out.par_chunks_mut(part)
                .enumerate()
                .for_each(|(k, p)| work(k, p))
        };
        match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        }
    }
}

/// A rayon pool of exactly `threads` threads.
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    if threads == 0 {
        return Err(Error::Threads("thread count must be >= 1, got 0".into()));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("varscale-bench-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Threads(e.to_string()))
}

/// The baseline's distribution, built from `rand_distr`'s own types as a user would.
enum Draw<F>
where
    F: Float + SampleUniform,
    StandardNormal: Distribution<F>,
{
    Constant(F),
    Uniform(Uniform<F>),
    Normal(Normal<F>),
    /// A normal redrawn until it falls in `[lo, hi]`, as Keras' and TensorFlow's truncated
    /// normal do.
    Truncated {
        normal: Normal<F>,
        lo: F,
        hi: F,
    },
}

impl<F> Draw<F>
where
    F: Float + SampleUniform,
    StandardNormal: Distribution<F>,
{
    /// The distribution of `params` in the float type `F`, each parameter converted by `cast`.
    fn new(params: &F64Params, cast: impl Fn(f64) -> F) -> Result<Self> {
        let normal = |mean: f64, std: f64| {
            Normal::new(cast(mean), cast(std)).map_err(|_| Error::NotFinite {
                name: "baseline std",
                value: std,
            })
        };
        Ok(match *params {
            F64Params::Constant(v) => Draw::Constant(cast(v)),
            F64Params::Uniform { low, high } => {
                Draw::Uniform(Uniform::new(cast(low), cast(high)).map_err(|_| {
                    Error::BadBounds {
                        low_name: "baseline low",
                        high_name: "baseline high",
                        low,
                        high,
                    }
                })?)
            }
            F64Params::Normal { mean, std } => Draw::Normal(normal(mean, std)?),
            F64Params::TruncatedNormal { mean, std, a, b } => Draw::Truncated {
                normal: normal(mean, std)?,
                lo: cast(mean + a * std),
                hi: cast(mean + b * std),
            },
        })
    }
}

impl<F> Distribution<F> for Draw<F>
where
    F: Float + SampleUniform,
    StandardNormal: Distribution<F>,
{
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> F {
        match self {
            Draw::Constant(v) => *v,
            Draw::Uniform(u) => u.sample(rng),
            Draw::Normal(n) => n.sample(rng),
            Draw::Truncated { normal, lo, hi } => loop {
                let v = normal.sample(rng);
                if *lo <= v && v <= *hi {
                    break v;
                }
            },
        }
    }
}

/// Fills part `part` of a tensor from `draw` with a `Pcg64Mcg` seeded for (`seed`, `part`),
/// storing each value through `store`.
fn pcg_fill<F, T>(draw: &Draw<F>, seed: u64, part: usize, out: &mut [T], store: impl Fn(F) -> T)
where
    F: Float + SampleUniform,
    StandardNormal: Distribution<F>,
{
    // `seed_from_u64` expands the seed through PCG32, so neighbouring parts get unrelated
    // generators: the usual way to give each thread its own stream.
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ (part as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for v in out {
        *v = store(draw.sample(&mut rng));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;

    #[test]
    fn median_of_odd_and_even_counts() {
        let odd = Timing {
            seconds: vec![1.0, 2.0, 7.0],
        };
        assert_eq!((odd.median(), odd.min(), odd.max()), (2.0, 1.0, 7.0));
        let even = Timing {
            seconds: vec![1.0, 2.0, 4.0, 9.0],
        };
        assert_eq!(even.median(), 3.0);
    }

    #[test]
    fn time_repeated_counts_runs_and_propagates_errors() {
        let mut calls = 0;
        let t = time_repeated(2, 3, || {
            calls += 1;
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!((calls, t.samples().len()), (5, 3));
        assert!(t.samples().windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(time_repeated(0, 4, || Err::<(), _>("boom")), Err("boom"));
    }

    /// Every offset and length around the 64-byte lines, for 2- and 4-byte elements: the
    /// streaming fill must write exactly the slice, no more and no less.
    #[test]
    fn nontemporal_fill_writes_exactly_the_slice() {
        let mut buf = vec![0f32; 300];
        for start in 0..20 {
            for len in [0, 1, 15, 16, 17, 33, 64, 100, 250] {
                buf.fill(-1.0);
                fill_constant(&mut buf[start..start + len], 0.25f32, Stores::NonTemporal);
                for (i, v) in buf.iter().enumerate() {
                    let inside = (start..start + len).contains(&i);
                    assert_eq!(
                        *v,
                        if inside { 0.25 } else { -1.0 },
                        "f32 {start}+{len} at {i}"
                    );
                }
            }
        }
        let mut half = vec![bf16::ZERO; 300];
        let value = bf16::from_f32(-3.5);
        for start in 0..40 {
            half.fill(bf16::ONE);
            fill_constant(&mut half[start..start + 200], value, Stores::NonTemporal);
            assert!(half[..start].iter().all(|v| *v == bf16::ONE));
            assert!(half[start..start + 200].iter().all(|v| *v == value));
            assert!(half[start + 200..].iter().all(|v| *v == bf16::ONE));
        }
    }

    /// The ceilings fill every element on any thread count; varscale's method gives the
    /// backend's own values.
    #[test]
    fn methods_fill_every_element() {
        let sampler = Sampler::normal(1.0, 0.5).unwrap();
        let n = 10_007;
        for threads in [1, 3] {
            for stores in [Stores::Ordinary, Stores::NonTemporal] {
                let mut out = vec![0f32; n];
                CpuBench::ceiling(stores, threads)
                    .unwrap()
                    .run(&sampler, 0, &mut out)
                    .unwrap();
                assert!(out.iter().all(|v| *v == CEILING_VALUE));
            }
            let mut ours = vec![0f32; n];
            let bench = CpuBench::varscale(SimdLevel::Scalar, threads).unwrap();
            bench.run(&sampler, 9, &mut ours).unwrap();
            let mut reference = vec![0f32; n];
            crate::transform::f32_fill_reference(
                &sampler.f32_params().unwrap(),
                &Philox::new(9, 0),
                0,
                &mut reference,
            );
            assert_eq!(ours, reference);
        }
    }

    /// The baseline draws from the right distribution: sample mean and variance within
    /// 5 standard errors (SE of the mean σ/√n; of the variance σ²·√(2/(n−1)) for a normal,
    /// which bounds the truncated and uniform cases too), and the bounds hold.
    #[test]
    fn pcg_baseline_draws_the_distribution() {
        let n = 200_000;
        let cases = [
            Sampler::normal(0.5, 2.0).unwrap(),
            Sampler::uniform(-3.0, 1.0).unwrap(),
            Sampler::truncated_normal(0.0, 1.5, -2.0, 2.0).unwrap(),
        ];
        for (threads, sampler) in [1, 2, 3].into_iter().zip(cases) {
            let bench = CpuBench::pcg(threads).unwrap();
            let mut out = vec![0f64; n];
            bench.run(&sampler, 11, &mut out).unwrap();
            let mean = out.iter().sum::<f64>() / n as f64;
            let var = out.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let sd = sampler.variance().sqrt();
            assert!(
                (mean - sampler.mean()).abs() < 5.0 * sd / (n as f64).sqrt(),
                "{sampler:?}"
            );
            let var_se = sampler.variance() * (2.0 / (n - 1) as f64).sqrt();
            assert!(
                (var - sampler.variance()).abs() < 5.0 * var_se,
                "{sampler:?}: {var}"
            );
            if let Some((lo, hi)) = sampler.bounds() {
                assert!(out.iter().all(|v| (lo..=hi).contains(v)), "{sampler:?}");
            }
            let mut narrow = vec![bf16::ZERO; 1000];
            bench.run(&sampler, 11, &mut narrow).unwrap();
            assert!(narrow.iter().any(|v| *v != narrow[0]));
        }
    }

    #[test]
    fn zero_threads_is_an_error() {
        assert!(matches!(CpuBench::pcg(0), Err(Error::Threads(_))));
        assert!(matches!(
            CpuBench::ceiling(Stores::Ordinary, 0),
            Err(Error::Threads(_))
        ));
    }
}
