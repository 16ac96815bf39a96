//! GPU methods to measure: varscale's WGSL fill kept on the device or read back to the host,
//! and the GPU's write ceilings (`clear_buffer`, and the fill shader writing a constant).

use std::cell::RefCell;

use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::gpu::{AdapterSummary, FillTarget, Gpu, GpuOptions, scoped};
use crate::philox::Philox;
use crate::sampler::Sampler;

/// What a GPU measurement does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GpuMethod {
    /// varscale's fill into a device buffer, waited for: nothing crosses to the host.
    Resident,
    /// varscale's fill read back into a host slice, as [`Gpu::fill`] does it.
    Readback,
    /// `clear_buffer` on the device buffer: the driver's own fastest write.
    Clear,
    /// varscale's fill shader with a constant sampler: the same dispatches with no Philox and
    /// no transform, so only the writes are left.
    ConstantShader,
}

impl GpuMethod {
    /// Every method, generators first.
    pub const ALL: [GpuMethod; 4] = [
        GpuMethod::Resident,
        GpuMethod::Readback,
        GpuMethod::Clear,
        GpuMethod::ConstantShader,
    ];

    /// The name used in bench ids and tables.
    pub fn name(self) -> &'static str {
        match self {
            GpuMethod::Resident => "varscale-resident",
            GpuMethod::Readback => "varscale-readback",
            GpuMethod::Clear => "ceiling-clear",
            GpuMethod::ConstantShader => "ceiling-constant-shader",
        }
    }

    /// Whether this is a write ceiling rather than a generator.
    pub fn is_ceiling(self) -> bool {
        matches!(self, GpuMethod::Clear | GpuMethod::ConstantShader)
    }
}

/// A GPU context for measurements, with one device buffer reused across runs.
///
/// It accepts software adapters (lavapipe), unlike [`GpuOptions::default`]: measuring one is
/// the point when it is the only GPU.
#[derive(Debug)]
pub struct GpuBench {
    gpu: Gpu,
    scratch: RefCell<Option<wgpu::Buffer>>,
}

impl GpuBench {
    /// The best adapter, software ones included.
    ///
    /// # Errors
    /// [`Error::Gpu`] when there is no adapter or its device cannot be created.
    pub fn new() -> Result<Self> {
        Ok(Self {
            gpu: Gpu::new(&GpuOptions::allow_software())?,
            scratch: RefCell::new(None),
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        self.gpu.adapter()
    }

    /// A short device label for ids and tables: `gpu-` and the adapter name's first word in
    /// lower case (`gpu-llvmpipe`, `gpu-nvidia`).
    pub fn device_label(&self) -> String {
        let word: String = self
            .adapter()
            .name
            .split_whitespace()
            .next()
            .unwrap_or("unknown")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        format!("gpu-{}", word.to_ascii_lowercase())
    }

    /// Whether a tensor of `bytes` bytes fits in one buffer of this device.
    pub fn fits(&self, bytes: u64) -> bool {
        bytes <= self.adapter().max_buffer_size
    }

    /// Runs `method` once on a tensor of `out.len()` elements of `T` and waits for the GPU.
    /// Only [`GpuMethod::Readback`] writes `out`; the others fill a device buffer of the
    /// same size.
    ///
    /// # Errors
    /// [`Error::Gpu`] for f64, a tensor larger than the device's buffers, or a device error.
    pub fn run<T: Element>(
        &self,
        method: GpuMethod,
        sampler: &Sampler,
        seed: u64,
        out: &mut [T],
    ) -> Result<()> {
        let rng = Philox::new(seed, 0);
        if method == GpuMethod::Readback {
            return self.gpu.fill(sampler, rng, 0, out);
        }
        let bytes = size_of_val(out) as u64;
        let buffer = self.scratch(bytes)?;
        let device = self.gpu.device();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("varscale bench"),
        });
        let target = FillTarget::new(&buffer, 0..out.len() as u64).dtype(T::DTYPE);
        match method {
            GpuMethod::Resident => self
                .gpu
                .filler()
                .record(&mut encoder, sampler, rng, &target)?,
            GpuMethod::ConstantShader => {
                let constant = Sampler::constant(0.5)?;
                self.gpu
                    .filler()
                    .record(&mut encoder, &constant, rng, &target)?
            }
            GpuMethod::Clear => {
                scoped(device, "recording clear_buffer", || {
                    // Buffers are sized in whole words, and clears work in whole words.
                    encoder.clear_buffer(&buffer, 0, Some(bytes.next_multiple_of(4)));
                })?
            }
            GpuMethod::Readback => unreachable!("returned above"),
        }
        scoped(device, "submitting a bench dispatch", || {
            self.gpu.queue().submit([encoder.finish()]);
        })?;
        // The submission is done only when polling says the queue is empty.
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU: {e}")))?;
        Ok(())
    }

    /// The reused device buffer, grown to at least `bytes`.
    fn scratch(&self, bytes: u64) -> Result<wgpu::Buffer> {
        let mut slot = self.scratch.borrow_mut();
        if let Some(b) = slot.as_ref().filter(|b| b.size() >= bytes.max(4)) {
            return Ok(b.clone());
        }
        // Drop the old buffer first, so that the two never need memory at once.
        *slot = None;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let buffer = self.gpu.create_buffer(bytes.max(4), usage)?;
        *slot = Some(buffer.clone());
        Ok(buffer)
    }
}
