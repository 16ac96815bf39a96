//! The GPU backend: WGSL kernels through wgpu, standalone ([`Gpu`]) or inside a host's own
//! device and command encoders ([`GpuFiller`]).
//!
//! The shaders (in `shaders/`) follow the f32 reference of [`crate::transform`] operation by
//! operation, with the same Philox counter mapping, so element `i` of a tensor is the same on
//! the GPU as on the CPU:
//! - uniform and constant: bit-identical on every driver (where a probe finds the driver's
//!   `fma` unfused, the uniform's multiply-add is done exactly in integers, or for a centred
//!   range as the plain product it then equals);
//! - normal and truncated normal: bit-identical where the driver's `fma` is fused and its
//!   `sqrt` correctly rounded; elsewhere within [`NORMAL_TOLERANCE_ULPS`], because Vulkan lets
//!   `fma` be a multiply then an add (lavapipe does this) and `sqrt` be `1 / inversesqrt`;
//! - f16 and bf16: the f32 value rounded to nearest even by integer code in the shader, equal
//!   to the `half` crate's conversion whenever the f32 values are equal. Where the f32 values
//!   differ by a few ulps (normal kinds on an unfused driver) they can straddle a half rounding
//!   point, and the halves then differ by one half-ulp.
//!
//! Philox needs a 32×32→64-bit multiply that WGSL lacks: with `SHADER_INT64` the shader
//! multiplies `u64`s, otherwise it uses 16-bit limbs ([`Multiply`]).
//!
//! # Sizes
//! Targets larger than `max_storage_buffer_binding_size` are bound in successive windows at
//! offsets aligned to `min_storage_buffer_offset_alignment`; more than 65,535 workgroups are
//! laid out in a 2-D grid; element indices are 64-bit.
//!
//! # Adapter policy
//! [`GpuOptions::default`] never picks a software adapter (device type `Cpu`, such as Mesa's
//! llvmpipe): it runs on the same cores as the SIMD CPU path, which needs no JIT, no copies
//! and no readback. Tests and diagnostics opt in with [`GpuOptions::allow_software`].

mod filler;
mod shader;

use std::fmt;
use std::sync::{Arc, Mutex};

pub use filler::{FillTarget, GpuFiller};

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::philox::Philox;
use crate::sampler::Sampler;

/// The largest difference between a GPU normal or truncated-normal f32 value and the CPU's,
/// in ulps of the distribution's scale at that value, `ulp(max(|v|, |mean|, std))`.
///
/// Derivation: WGSL's `fma` may run as a multiply then an add (Vulkan allows it, and Mesa's
/// lavapipe does so). Each such `fma` rounds its product once more, an error of at most half
/// an ulp of that product. The products in the polynomials of `ln`, `sin`, `cos` and `erfinv`
/// are smaller than the result they feed, so each adds at most about half an ulp of the
/// result; the chain of roughly ten per value, partly cancelling, stays within a few ulps.
/// The last step `fma(std, z, mean)` adds half an ulp of `std·z`, which is why the unit is an
/// ulp of the scale and not of `v`: where `mean + std·z` cancels to near 0, the same absolute
/// error is many ulps of `v`. Where `sqrt` is `1/inversesqrt` (allowed by Vulkan, within
/// about 3 ulps), the radius adds that. Measured on lavapipe over 8 million values per
/// sampler: at most 3 (normal 2, truncated normal 3); this bound leaves room for the `sqrt`.
///
/// Uniform and constant fills are bit-identical everywhere: the uniform's one multiply-add is
/// computed as an exactly rounded fused operation in integer arithmetic in the shader (or, for
/// a centred range, as the product it then equals), so it does not depend on the driver's
/// `fma`.
// LIMIT: normal and truncated normal are not bit-identical on drivers whose `fma` is unfused
// (lavapipe: about 1% of normal and 35% of truncated-normal values differ, by at most 3 of
// these ulps). Using the shaders' exact integer `fma_exact` for every multiply-add on such
// drivers would fix it, at several times the cost per value; it is not wired.
pub const NORMAL_TOLERANCE_ULPS: u32 = 8;

/// How the shaders compute Philox's 32×32→64-bit multiply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Multiply {
    /// `SHADER_INT64` where the device has it, otherwise 16-bit limbs.
    #[default]
    Auto,
    /// Native `u64` multiply; needs `SHADER_INT64`.
    Int64,
    /// Four 16×16→32 products; runs everywhere.
    Limbs,
}

/// Options of the standalone [`Gpu`] context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Accept software adapters (device type `Cpu`, such as llvmpipe) when no hardware GPU is
    /// present. Off by default: such an adapter is slower than the SIMD CPU backend.
    pub allow_software: bool,
    /// The multiply path.
    pub multiply: Multiply,
}

impl GpuOptions {
    /// The default options, but accepting software adapters.
    pub fn allow_software() -> Self {
        Self {
            allow_software: true,
            ..Self::default()
        }
    }
}

/// One adapter wgpu can see, with what matters to varscale.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// The graphics API behind it.
    pub backend: wgpu::Backend,
    /// Discrete, integrated, virtual, CPU (software) or other.
    pub device_type: wgpu::DeviceType,
    /// The largest buffer the adapter allows, in bytes.
    pub max_buffer_size: u64,
    /// The largest storage binding, in bytes: larger targets are bound in windows.
    pub max_storage_buffer_binding_size: u64,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Whether the native 64-bit multiply path is available.
    pub shader_int64: bool,
    /// Whether the adapter has `SHADER_F16`. (The half outputs do not need it: they are
    /// rounded by integer code, so they are exact everywhere.)
    pub shader_f16: bool,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        Self {
            name: info.name,
            backend: info.backend,
            device_type: info.device_type,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            shader_int64: features.contains(wgpu::Features::SHADER_INT64),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
        }
    }

    /// Whether this is a software rasterizer running on the CPU.
    pub fn is_software(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({:?}, {:?}): max buffer {} B, max storage binding {} B, {} workgroups/dim, \
             int64 {}, f16 {}",
            self.name,
            self.backend,
            self.device_type,
            self.max_buffer_size,
            self.max_storage_buffer_binding_size,
            self.max_compute_workgroups_per_dimension,
            if self.shader_int64 { "yes" } else { "no" },
            if self.shader_f16 { "yes" } else { "no" },
        )
    }
}

/// A wgpu instance honouring `WGPU_BACKEND` and the other wgpu environment variables.
fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    // The native APIs by default: GL lacks f16 and subgroups, and initialising EGL without a
    // display prints warnings. `WGPU_BACKEND` (e.g. `gl`) still selects any backend.
    desc.backends = wgpu::Backends::PRIMARY;
    wgpu::Instance::new(desc.with_env())
}

/// Every adapter wgpu finds, best first (for `varscale info`).
pub fn list_adapters() -> Vec<AdapterSummary> {
    let mut adapters: Vec<_> =
        pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(AdapterSummary::of)
            .collect();
    adapters.sort_by_key(rank);
    adapters
}

/// Lower is better: hardware before software, then native APIs before GL (which lacks
/// `SHADER_INT64`).
fn rank(a: &AdapterSummary) -> (u8, u8) {
    let kind = match a.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    (kind, u8::from(a.backend == wgpu::Backend::Gl))
}

/// Runs `f` inside validation and out-of-memory error scopes, so that wgpu reports what went
/// wrong as an error rather than through the device's uncaptured-error handler (which panics
/// by default).
pub(crate) fn scoped<R>(device: &wgpu::Device, what: &str, f: impl FnOnce() -> R) -> Result<R> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let r = f();
    // Scopes pop innermost first.
    let invalid = pollster::block_on(validation.pop());
    let oom = pollster::block_on(oom.pop());
    match invalid.or(oom) {
        Some(e) => Err(Error::Gpu(format!("{what}: {e}"))),
        None => Ok(r),
    }
}

/// Maps `buffer[..bytes]` for reading and waits for it.
fn map_read(device: &wgpu::Device, buffer: &wgpu::Buffer, bytes: u64) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    buffer.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
        // The receiver outlives the poll below; a failed send only means nobody listens.
        let _ = tx.send(r);
    });
    // Mapping completes only while the device is polled. Where other threads poll the same
    // device (a host application, or tests sharing one), one of their polls may run the
    // callback, a moment after ours has returned: so wait for the callback itself, polling
    // again now and then, rather than expect it by the time our poll returns.
    let deadline = std::time::Instant::now() + MAP_TIMEOUT;
    loop {
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        match rx.recv_timeout(std::time::Duration::from_millis(10)) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => {
                return Err(Error::Gpu(format!(
                    "mapping {bytes} bytes of the readback buffer failed: {e}"
                )));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                if std::time::Instant::now() < deadline => {}
            Err(_) => {
                return Err(Error::Gpu(format!(
                    "mapping {bytes} bytes of the readback buffer did not complete within {} s",
                    MAP_TIMEOUT.as_secs()
                )));
            }
        }
    }
}

/// How long [`map_read`] waits for a mapping after the GPU has finished its work.
const MAP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Bytes per readback round trip: large enough to amortise a submission, small enough that
/// the device and staging buffers stay modest next to the output.
const READBACK_CHUNK: u64 = 64 << 20;

/// A standalone GPU context: an adapter, its device and queue, and compiled fill pipelines.
///
/// # Example
/// ```no_run
/// use varscale::gpu::{Gpu, GpuOptions};
/// use varscale::{Initializer, Layout, Philox};
/// let gpu = Gpu::new(&GpuOptions::default())?;
/// let sampler = Initializer::he_normal().sampler_for_shape(&[1024, 1024], Layout::Keras)?;
/// let mut w = vec![0f32; 1024 * 1024];
/// gpu.fill(&sampler, Philox::new(42, 0), 0, &mut w)?;
/// # Ok::<(), varscale::Error>(())
/// ```
#[derive(Debug)]
pub struct Gpu {
    adapter: AdapterSummary,
    device: wgpu::Device,
    queue: wgpu::Queue,
    filler: GpuFiller,
    lost: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Picks the best adapter under `options`, creates its device and queue (with the
    /// adapter's full limits and `SHADER_INT64` where offered) and compiles the pipelines.
    ///
    /// # Errors
    /// [`Error::Gpu`] when no acceptable adapter is found (the message lists those seen),
    /// when the device cannot be created, or from [`GpuFiller::new`].
    pub fn new(options: &GpuOptions) -> Result<Self> {
        let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
        let mut candidates: Vec<(AdapterSummary, wgpu::Adapter)> = adapters
            .into_iter()
            .map(|a| (AdapterSummary::of(&a), a))
            .collect();
        candidates.sort_by_key(|(s, _)| rank(s));
        let seen: Vec<String> = candidates.iter().map(|(s, _)| s.name.clone()).collect();
        let (summary, adapter) = candidates
            .into_iter()
            .find(|(s, _)| options.allow_software || !s.is_software())
            .ok_or_else(|| {
                Error::Gpu(if seen.is_empty() {
                    "no GPU adapter found".to_string()
                } else {
                    format!(
                        "no hardware GPU adapter found (software adapters are not used unless \
                         allowed; seen: {})",
                        seen.join(", ")
                    )
                })
            })?;
        log::info!("gpu: adapter {summary}");

        let features = adapter.features() & wgpu::Features::SHADER_INT64;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("varscale"),
            required_features: features,
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("creating a device on {}: {e}", summary.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = flag.lock() {
                *slot = Some(format!("{reason:?}: {message}"));
            }
        });
        let filler = GpuFiller::new(&device, &queue, options.multiply)?;
        Ok(Self {
            adapter: summary,
            device,
            queue,
            filler,
            lost,
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The device, for creating buffers to fill with [`Gpu::filler`].
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The compiled pipelines, for recording fills into buffers of this device.
    pub fn filler(&self) -> &GpuFiller {
        &self.filler
    }

    /// An error if the device was lost (destroyed, driver reset, out of memory).
    fn check_alive(&self) -> Result<()> {
        match self.lost.lock().map(|l| l.clone()) {
            Ok(None) => Ok(()),
            Ok(Some(why)) => Err(Error::Gpu(format!("device lost ({why})"))),
            Err(_) => Err(Error::Gpu("device lost (state unreadable)".into())),
        }
    }

    /// Creates a buffer of `bytes` bytes with `usage`, checked against the device's limits.
    ///
    /// # Errors
    /// [`Error::Gpu`] when `bytes` exceeds `max_buffer_size`, or when the device is lost or
    /// out of memory.
    pub fn create_buffer(&self, bytes: u64, usage: wgpu::BufferUsages) -> Result<wgpu::Buffer> {
        self.check_alive()?;
        let max = self.device.limits().max_buffer_size;
        if bytes > max {
            return Err(Error::Gpu(format!(
                "a buffer of {bytes} bytes exceeds this device's max_buffer_size of {max} bytes"
            )));
        }
        scoped(&self.device, &format!("allocating {bytes} bytes"), || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("varscale tensor"),
                size: bytes.div_ceil(4) * 4,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// A new device buffer (`STORAGE | COPY_SRC | COPY_DST`) holding tensor elements
    /// `range` as `dtype`, filled and submitted (not waited for).
    ///
    /// # Errors
    /// As [`Gpu::create_buffer`] and [`GpuFiller::fill`].
    pub fn fill_new_buffer(
        &self,
        sampler: &Sampler,
        rng: Philox,
        dtype: DType,
        range: std::ops::Range<u64>,
    ) -> Result<wgpu::Buffer> {
        let elems = range.end.saturating_sub(range.start);
        let bytes = elems
            .checked_mul(dtype.size() as u64)
            .ok_or_else(|| Error::Gpu(format!("{elems} {dtype} elements overflow a byte count")))?;
        let buffer = self.create_buffer(
            bytes.max(4),
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        )?;
        let target = FillTarget::new(&buffer, range).dtype(dtype);
        self.filler.fill(&self.queue, sampler, rng, &target)?;
        Ok(buffer)
    }

    /// Fills `out` with tensor elements `start..start + out.len()`, computed on the GPU and
    /// read back in chunks through one device buffer and one staging buffer.
    ///
    /// # Errors
    /// [`Error::Gpu`] for f64, a lost device, an allocation, validation or map failure;
    /// [`Error::OutOfRange`] when the range overflows u64.
    pub fn fill<T: Element>(
        &self,
        sampler: &Sampler,
        rng: Philox,
        start: u64,
        out: &mut [T],
    ) -> Result<()> {
        if T::DTYPE == DType::F64 {
            return Err(Error::Gpu(
                "dtype f64 has no GPU kernel; use f32, f16 or bf16, or the CPU".into(),
            ));
        }
        crate::error::range_end(start, out.len())?;
        if out.is_empty() {
            return Ok(());
        }
        let elem = std::mem::size_of::<T>();
        let max = self.device.limits().max_buffer_size.min(READBACK_CHUNK) / 4 * 4;
        let chunk_elems = (max as usize / elem).min(out.len());
        let chunk_bytes = (chunk_elems * elem).next_multiple_of(4) as u64;
        let storage = self.create_buffer(
            chunk_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )?;
        let staging = self.create_buffer(
            chunk_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;

        let mut index = start;
        for piece in out.chunks_mut(chunk_elems) {
            let bytes = std::mem::size_of_val(piece) as u64;
            let words = bytes.next_multiple_of(4);
            let target =
                FillTarget::new(&storage, index..index + piece.len() as u64).dtype(T::DTYPE);
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("varscale fill + readback"),
                });
            self.filler.record(&mut encoder, sampler, rng, &target)?;
            encoder.copy_buffer_to_buffer(&storage, 0, &staging, 0, words);
            scoped(&self.device, "submitting a fill", || {
                self.queue.submit([encoder.finish()]);
            })?;
            self.read_mapped(&staging, words, bytemuck::cast_slice_mut(piece))?;
            index += piece.len() as u64;
        }
        Ok(())
    }

    /// Maps `staging[..words]`, copies its first `out.len()` bytes into `out`, unmaps.
    fn read_mapped(&self, staging: &wgpu::Buffer, words: u64, out: &mut [u8]) -> Result<()> {
        map_read(&self.device, staging, words)?;
        self.check_alive()?;
        let copied = staging
            .get_mapped_range(0..words)
            .map(|view| out.copy_from_slice(&view[..out.len()]))
            .map_err(|e| Error::Gpu(format!("reading the mapped readback buffer: {e}")));
        staging.unmap();
        copied
    }

    /// A new `Vec` holding tensor elements `range`, computed on the GPU.
    ///
    /// # Errors
    /// As [`Gpu::fill`]; [`Error::OutOfRange`] for a reversed range.
    pub fn fill_vec<T: Element>(
        &self,
        sampler: &Sampler,
        rng: Philox,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<T>> {
        if range.start > range.end {
            return Err(Error::OutOfRange {
                start: range.start,
                end: range.end,
                len: range.end,
            });
        }
        let n = usize::try_from(range.end - range.start).map_err(|_| Error::LengthMismatch {
            expected: range.end - range.start,
            actual: usize::MAX as u64,
        })?;
        let mut out = vec![T::default(); n];
        self.fill(sampler, rng, range.start, &mut out)?;
        Ok(out)
    }

    /// Copies `out.len()` elements of `buffer` from `byte_offset` (a multiple of 4) back to
    /// the host. `buffer` needs `COPY_SRC`.
    ///
    /// # Errors
    /// [`Error::Gpu`] for a missing usage, a bad offset or range, a lost device or a failed
    /// map.
    pub fn read_buffer<T: bytemuck::Pod>(
        &self,
        buffer: &wgpu::Buffer,
        byte_offset: u64,
        out: &mut [T],
    ) -> Result<()> {
        if !buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(Error::Gpu(format!(
                "buffer has usage {:?}, which lacks COPY_SRC",
                buffer.usage()
            )));
        }
        let bytes = std::mem::size_of_val(out) as u64;
        let words = bytes.next_multiple_of(4);
        if !byte_offset.is_multiple_of(4) || byte_offset.saturating_add(words) > buffer.size() {
            return Err(Error::Gpu(format!(
                "reading {bytes} bytes at offset {byte_offset} of a {}-byte buffer: offset \
                 must be a multiple of 4 and the words must lie inside",
                buffer.size()
            )));
        }
        if bytes == 0 {
            return Ok(());
        }
        let staging = self.create_buffer(
            words,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("varscale readback"),
            });
        encoder.copy_buffer_to_buffer(buffer, byte_offset, &staging, 0, words);
        scoped(&self.device, "submitting a readback", || {
            self.queue.submit([encoder.finish()]);
        })?;
        self.read_mapped(&staging, words, bytemuck::cast_slice_mut(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Any adapter, software ones included; `None` (after a loud SKIPPED line) where there is
    /// none and `VARSCALE_REQUIRE_GPU=1` is not set.
    fn test_gpu() -> Option<Gpu> {
        match Gpu::new(&GpuOptions::allow_software()) {
            Ok(gpu) => Some(gpu),
            Err(e) => {
                assert!(
                    std::env::var("VARSCALE_REQUIRE_GPU").as_deref() != Ok("1"),
                    "VARSCALE_REQUIRE_GPU=1 but {e}"
                );
                eprintln!("SKIPPED: no GPU adapter (set VARSCALE_REQUIRE_GPU=1 to fail instead)");
                None
            }
        }
    }

    /// A buffer that is already mapped cannot be mapped again: the error comes back as
    /// `Error::Gpu`, not a panic.
    #[test]
    fn failed_map_is_an_error() {
        let Some(gpu) = test_gpu() else { return };
        let staging = gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("pre-mapped"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: true,
        });
        let err = gpu.read_mapped(&staging, 16, &mut [0u8; 16]).unwrap_err();
        assert!(err.to_string().contains("mapping 16 bytes"), "{err}");
    }

    /// The shader's `u32_to_f32` (integer rounding, since WGSL leaves the rounding of
    /// `f32(u32)` to the driver) equals Rust's `as f32`, which rounds to nearest even: on every
    /// tie and its neighbours at each of the 8 possible shifts, at the ends of the range, and
    /// on fresh random words.
    #[test]
    fn shader_u32_to_f32_rounds_to_nearest_even() {
        use wgpu::util::DeviceExt;

        let Some(gpu) = test_gpu() else { return };
        let mut words: Vec<u32> = vec![0, 1, 0xff_ffff, 0x100_0000, 0x100_0001, u32::MAX];
        for shift in 1..=8u32 {
            for kept in [0x80_0000u32, 0x80_0001, 0xff_fffe, 0xff_ffff, 0xab_cdef] {
                let base = kept << shift;
                let half = 1u32 << (shift - 1);
                for rest in [0, half - 1, half, half + 1, (1 << shift) - 1] {
                    words.push(base | (rest & ((1 << shift) - 1)));
                }
            }
        }
        let mut state = crate::philox::philox4x32_10([0, 0, 0, 0], [std::process::id(), 7]);
        for k in 0..1u32 << 16 {
            state = crate::philox::philox4x32_10([k, 0, 0, 0], [state[0], state[1]]);
            words.extend(state);
        }

        let entry = "@group(0) @binding(1) var<storage, read_write> io: array<u32>;\n\
            @compute @workgroup_size(64)\n\
            fn convert(@builtin(global_invocation_id) g: vec3<u32>) {\n\
                if g.x < arrayLength(&io) { io[g.x] = bitcast<u32>(u32_to_f32(io[g.x])); }\n\
            }\n";
        let device = gpu.device();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("u32_to_f32 test"),
            source: wgpu::ShaderSource::Wgsl(shader::source_with_entry(entry).into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("u32_to_f32 test"),
            layout: None,
            module: &module,
            entry_point: Some("convert"),
            compilation_options: Default::default(),
            cache: None,
        });
        let io = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("u32_to_f32 test words"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        });
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("u32_to_f32 test"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[wgpu::BindGroupEntry {
                binding: 1,
                resource: io.as_entire_binding(),
            }],
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            // One invocation per word: fewer than 65,535 workgroups.
            pass.dispatch_workgroups(words.len().div_ceil(64) as u32, 1, 1);
        }
        gpu.queue().submit([encoder.finish()]);

        let mut got = vec![0u32; words.len()];
        gpu.read_buffer(&io, 0, &mut got).unwrap();
        for (w, g) in words.iter().zip(&got) {
            assert_eq!(*g, (*w as f32).to_bits(), "u32_to_f32({w:#x})");
        }
    }
}
