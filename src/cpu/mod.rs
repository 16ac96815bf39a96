//! The CPU backend: SIMD kernels chosen at run time, spread over a rayon thread pool.
//!
//! Work is cut into chunks, and each chunk computes its elements from their global indices,
//! so the result never depends on the thread count, the chunk size or the range asked for.

mod kernels;
#[cfg(target_arch = "aarch64")]
mod neon;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use half::{bf16, f16};
use rayon::prelude::*;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::philox::Philox;
use crate::sampler::Sampler;
use crate::transform::{F32Params, f64_value};

/// Elements per unit of parallel work. Any value gives the same result; this one is large
/// enough to amortise scheduling and small enough to balance two to a hundred threads.
const CHUNK: usize = 1 << 16;

/// Outputs at least this many bytes use non-temporal stores where the kernel has them: such a
/// buffer cannot stay in cache, and ordinary stores would read each line before writing it.
const NONTEMPORAL_BYTES: usize = 16 << 20;

/// An instruction-set level for the CPU kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimdLevel {
    /// Portable scalar code: the reference every other level is tested against.
    Scalar,
    /// AArch64 Advanced SIMD (NEON), 4 lanes.
    Neon,
    /// x86-64 AVX2 with FMA, 8 lanes.
    Avx2Fma,
    /// x86-64 AVX-512 (F, BW, DQ, VL), 16 lanes, with IFMA where present.
    Avx512,
}

impl SimdLevel {
    /// Every level, slowest first.
    pub const ALL: [SimdLevel; 4] = [
        SimdLevel::Scalar,
        SimdLevel::Neon,
        SimdLevel::Avx2Fma,
        SimdLevel::Avx512,
    ];

    /// Whether this CPU can run the level.
    pub fn is_supported(self) -> bool {
        kernels::is_supported(self)
    }

    /// The best level this CPU supports, detected once.
    pub fn detect() -> SimdLevel {
        static BEST: OnceLock<SimdLevel> = OnceLock::new();
        *BEST.get_or_init(|| {
            let best = Self::ALL
                .into_iter()
                .rev()
                .find(|l| l.is_supported())
                .unwrap_or(SimdLevel::Scalar);
            log::info!("cpu: SIMD level {best}");
            best
        })
    }

    /// Every level this CPU supports.
    pub fn supported() -> Vec<SimdLevel> {
        Self::ALL.into_iter().filter(|l| l.is_supported()).collect()
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Neon => "neon",
            SimdLevel::Avx2Fma => "avx2",
            SimdLevel::Avx512 => "avx512",
        })
    }
}

impl FromStr for SimdLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.to_string() == s.trim())
            .ok_or_else(|| Error::Unknown {
                what: "SIMD level",
                value: s.to_string(),
                expected: "scalar, neon, avx2, avx512",
            })
    }
}

/// The CPU backend: a SIMD level and a thread pool.
///
/// # Example
/// ```
/// use varscale::{Cpu, Initializer, Layout, Philox};
/// let sampler = Initializer::he_normal().sampler_for_shape(&[512, 256], Layout::Keras)?;
/// let mut w = vec![0f32; 512 * 256];
/// Cpu::new().fill(&sampler, Philox::new(42, 0), 0, &mut w)?;
/// assert!(w.iter().all(|v| v.abs() <= 2.0 * (2.0f32 / 512.0).sqrt() / 0.8796));
/// # Ok::<(), varscale::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Cpu {
    level: SimdLevel,
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    /// The best SIMD level on rayon's global pool (all cores).
    pub fn new() -> Self {
        Self {
            level: SimdLevel::detect(),
            pool: None,
        }
    }

    /// Forces a SIMD level.
    ///
    /// # Errors
    /// [`Error::UnsupportedSimd`] if this CPU cannot run it.
    pub fn with_level(mut self, level: SimdLevel) -> Result<Self> {
        if !level.is_supported() {
            return Err(Error::UnsupportedSimd(level.to_string()));
        }
        self.level = level;
        Ok(self)
    }

    /// Uses a pool of exactly `threads` threads.
    ///
    /// # Errors
    /// [`Error::Threads`] for zero threads or a pool that cannot be built.
    pub fn with_threads(mut self, threads: usize) -> Result<Self> {
        if threads == 0 {
            return Err(Error::Threads("thread count must be >= 1, got 0".into()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("varscale-{i}"))
            .build()
            .map_err(|e| Error::Threads(e.to_string()))?;
        self.pool = Some(Arc::new(pool));
        Ok(self)
    }

    /// The SIMD level in use.
    pub fn level(&self) -> SimdLevel {
        self.level
    }

    /// The number of threads fills run on.
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    /// Fills `out` with elements `start .. start + out.len()` of the tensor drawn from
    /// `sampler` under `rng`.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] if the range passes element 2⁶⁴, or a sampler parameter that
    /// overflows f32 for an f32, f16 or bf16 output.
    pub fn fill<T: Element>(
        &self,
        sampler: &Sampler,
        rng: Philox,
        start: u64,
        out: &mut [T],
    ) -> Result<()> {
        crate::error::range_end(start, out.len())?;
        if T::DTYPE == DType::F64 {
            let out: &mut [f64] = bytemuck::cast_slice_mut(out);
            let params = sampler.f64_params();
            self.par_chunks(out, start, |chunk, first| {
                for (v, i) in chunk.iter_mut().zip(first..) {
                    *v = f64_value(&params, &rng, i);
                }
            });
            return Ok(());
        }

        let params = sampler.f32_params()?;
        let level = self.level;
        let nontemporal = std::mem::size_of_val(out) >= NONTEMPORAL_BYTES;
        match T::DTYPE {
            DType::F32 => self.par_chunks(
                bytemuck::cast_slice_mut::<T, f32>(out),
                start,
                |c, first| {
                    kernels::fill_f32(level, &params, &rng, first, c, nontemporal);
                    // Non-temporal stores are weakly ordered: each worker fences its own, so
                    // that they are visible before rayon reports the chunk done.
                    if nontemporal {
                        kernels::store_fence();
                    }
                },
            ),
            DType::F16 => self.par_chunks(
                bytemuck::cast_slice_mut::<T, f16>(out),
                start,
                |c, first| {
                    kernels::fill_f16(level, &params, &rng, first, c, nontemporal);
                    if nontemporal {
                        kernels::store_fence();
                    }
                },
            ),
            DType::BF16 => self.par_chunks(
                bytemuck::cast_slice_mut::<T, bf16>(out),
                start,
                |c, first| {
                    kernels::fill_bf16(level, &params, &rng, first, c, nontemporal);
                    if nontemporal {
                        kernels::store_fence();
                    }
                },
            ),
            // Generated above, from f64 parameters.
            DType::F64 => {}
        }
        Ok(())
    }

    /// Fills `out` with the raw Philox words of elements `start .. start + out.len()`: element
    /// `i` is word `i % 4` of block `i / 4` under `rng`, the word every transform of element
    /// `i` starts from. Random bits for callers with their own transform, and the generator's
    /// own speed, without a transform, in the benchmarks.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] if the range passes element 2⁶⁴.
    pub fn fill_bits(&self, rng: Philox, start: u64, out: &mut [u32]) -> Result<()> {
        crate::error::range_end(start, out.len())?;
        let level = self.level;
        let nontemporal = std::mem::size_of_val(out) >= NONTEMPORAL_BYTES;
        self.par_chunks(out, start, |c, first| {
            kernels::fill_bits(level, &rng, first, c, nontemporal);
            if nontemporal {
                kernels::store_fence();
            }
        });
        Ok(())
    }

    /// Fills the shard `range` of a tensor of `numel` elements into `out`, equal to the same
    /// elements of the whole tensor.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a range outside the tensor, [`Error::LengthMismatch`] when
    /// `out` does not hold exactly the range.
    pub fn fill_range<T: Element>(
        &self,
        sampler: &Sampler,
        rng: Philox,
        numel: u64,
        range: Range<u64>,
        out: &mut [T],
    ) -> Result<()> {
        if range.start > range.end || range.end > numel {
            return Err(Error::OutOfRange {
                start: range.start,
                end: range.end,
                len: numel,
            });
        }
        if range.end - range.start != out.len() as u64 {
            return Err(Error::LengthMismatch {
                expected: range.end - range.start,
                actual: out.len() as u64,
            });
        }
        self.fill(sampler, rng, range.start, out)
    }

    /// Fills a whole tensor of `out.len()` elements.
    ///
    /// # Errors
    /// As [`Cpu::fill`].
    pub fn fill_all<T: Element>(
        &self,
        sampler: &Sampler,
        rng: Philox,
        out: &mut [T],
    ) -> Result<()> {
        self.fill(sampler, rng, 0, out)
    }

    /// Fills the block `rows × cols` of a row-major `[n_rows, n_cols]` matrix into `out`
    /// (row-major, `rows.len() × cols.len()`), equal to the same elements of the whole matrix.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a block outside the matrix, [`Error::LengthMismatch`] for an
    /// `out` of the wrong length.
    pub fn fill_block<T: Element>(
        &self,
        sampler: &Sampler,
        rng: Philox,
        [n_rows, n_cols]: [u64; 2],
        rows: Range<u64>,
        cols: Range<u64>,
        out: &mut [T],
    ) -> Result<()> {
        for (r, n) in [(&rows, n_rows), (&cols, n_cols)] {
            if r.start > r.end || r.end > n {
                return Err(Error::OutOfRange {
                    start: r.start,
                    end: r.end,
                    len: n,
                });
            }
        }
        let width = cols.end - cols.start;
        let expected = (rows.end - rows.start)
            .checked_mul(width)
            .ok_or(Error::LengthMismatch {
                expected: u64::MAX,
                actual: out.len() as u64,
            })?;
        if expected != out.len() as u64 {
            return Err(Error::LengthMismatch {
                expected,
                actual: out.len() as u64,
            });
        }
        if width == 0 {
            return Ok(());
        }
        for (row, dst) in rows.zip(out.chunks_mut(width as usize)) {
            self.fill(sampler, rng, row * n_cols + cols.start, dst)?;
        }
        Ok(())
    }

    fn par_chunks<E: Send>(&self, out: &mut [E], start: u64, work: impl Fn(&mut [E], u64) + Sync) {
        let work = &work;
        let mut run = move || {
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(k, chunk)| work(chunk, start + (k * CHUNK) as u64))
        };
        match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        }
    }
}

/// Fills a whole tensor with the default CPU backend.
///
/// # Errors
/// As [`Cpu::fill`].
pub fn fill<T: Element>(sampler: &Sampler, rng: Philox, out: &mut [T]) -> Result<()> {
    Cpu::new().fill(sampler, rng, 0, out)
}

/// Fills `out` on the calling thread at a given SIMD level, with no thread pool: the building
/// block for callers that schedule their own work.
///
/// # Errors
/// [`Error::UnsupportedSimd`] for a level this CPU lacks; otherwise as [`Cpu::fill`].
pub fn fill_serial_f32(
    level: SimdLevel,
    params: &F32Params,
    rng: Philox,
    start: u64,
    out: &mut [f32],
) -> Result<()> {
    if !level.is_supported() {
        return Err(Error::UnsupportedSimd(level.to_string()));
    }
    crate::error::range_end(start, out.len())?;
    kernels::fill_f32(level, params, &rng, start, out, false);
    Ok(())
}
