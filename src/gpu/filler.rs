//! The embeddable part of the GPU path: pipelines compiled once on a host's device, and fills
//! recorded into the host's command encoder.

use std::ops::Range;

use super::shader::{self, Output};
use super::{Multiply, map_read, scoped};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::philox::Philox;
use crate::sampler::Sampler;
use crate::transform::{F32Params, Kind};

/// Invocations per workgroup; the shaders declare the same (`WG` in common.wgsl).
pub(crate) const WORKGROUP_SIZE: u32 = 64;
/// Philox blocks each f32 invocation computes in turn (`fill_f32` loops over as many).
const F32_BLOCKS_PER_INVOCATION: u32 = 4;
/// 16-byte slots each invocation of `fill_f32` writes.
const F32_SLOTS_PER_INVOCATION: u32 = 16;
/// 16-byte slots (eight halves) each invocation of `fill_f16_slots` and `fill_bf16_slots`
/// writes.
const HALF_SLOTS_PER_INVOCATION: u32 = 8;
/// Fill pipeline sets: one per [`Kind`], then the central-only truncated normal, then (on a
/// device whose `fma` is unfused) the centred uniform.
const FILLS: usize = 6;
/// The set of the truncated normal whose erfinv never leaves its central branch.
const CENTRAL_TRUNCATED: usize = 4;
/// The set of the uniform over a centred range, a plain product (only where `fma` is unfused).
const CENTRED_UNIFORM: usize = 5;
/// The per-dimension workgroup limit every WebGPU device offers at least.
const MAX_GROUPS_PER_DIM: u32 = 65_535;
/// Bytes of one [`DispatchUniform`].
const UNIFORM_BYTES: u64 = std::mem::size_of::<DispatchUniform>() as u64;

/// The per-dispatch uniform block: `Dispatch` in shaders/common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct DispatchUniform {
    params: F32Params,
    key: [u32; 2],
    stream: [u32; 2],
    index0: [u32; 2],
    out_first: u32,
    count: u32,
    threads: u32,
    stride: u32,
    _pad: [u32; 2],
}

/// Where a fill writes: a range of a logical tensor, placed in a host's buffer.
///
/// Element `range.start` of the tensor lands at `byte_offset`, the next ones after it. Any
/// sub-range gives the same values as the same elements of the whole tensor, so shards of
/// one tensor in several buffers (or on several devices) fill independently.
#[derive(Clone, Debug)]
pub struct FillTarget<'a> {
    /// The buffer; it needs `STORAGE` usage.
    pub buffer: &'a wgpu::Buffer,
    /// Byte offset of the first element: a multiple of the element size.
    pub byte_offset: u64,
    /// Element type of the buffer's contents: f32, f16 or bf16.
    pub dtype: DType,
    /// Elements of the logical tensor to write, by index.
    pub range: Range<u64>,
}

impl<'a> FillTarget<'a> {
    /// A target for tensor elements `range`, written from the start of `buffer` as f32.
    pub fn new(buffer: &'a wgpu::Buffer, range: Range<u64>) -> Self {
        Self {
            buffer,
            byte_offset: 0,
            dtype: DType::F32,
            range,
        }
    }

    /// The same target with another element type.
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// The same target with the first element at `byte_offset`.
    pub fn at(mut self, byte_offset: u64) -> Self {
        self.byte_offset = byte_offset;
        self
    }
}

/// One storage binding window and what is written in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Byte offset of the binding: a multiple of the storage offset alignment.
    pub base: u64,
    /// Bytes bound: a multiple of 4.
    pub size: u64,
    /// Position of the first element written, in elements from `base`.
    pub out_first: u64,
    /// Tensor index of that element.
    pub index0: u64,
    /// Elements written.
    pub count: u64,
}

impl Window {
    /// The same binding, writing only positions `first..last` of this window's range.
    fn part(&self, first: u64, last: u64) -> Window {
        Window {
            out_first: first,
            index0: self.index0 + (first - self.out_first),
            count: last - first,
            ..*self
        }
    }
}

/// One dispatch to record: a pipeline, the window it binds and its uniform block.
struct Dispatch<'p> {
    pipeline: &'p wgpu::ComputePipeline,
    window: Window,
    uniform: DispatchUniform,
    /// Units of `uniform.threads` each invocation takes.
    per_invocation: u32,
}

/// Cuts `count` elements of `elem` bytes at `byte_offset` into windows of at most `max_bind`
/// bytes starting at multiples of `align`. Bindings are whole u32 words, so a half tensor
/// ending in the middle of a word binds that word.
pub(crate) fn windows(
    byte_offset: u64,
    elem: u64,
    range: Range<u64>,
    align: u64,
    max_bind: u64,
) -> Vec<Window> {
    // A window must reach past its own alignment slack, or it might never advance.
    let max_bind = (max_bind / 4 * 4).max(align + 4);
    let end = byte_offset + (range.end - range.start) * elem;
    let mut out = Vec::new();
    let (mut pos, mut index) = (byte_offset, range.start);
    while pos < end {
        let base = pos / align * align;
        let size = max_bind.min((end - base).div_ceil(4) * 4);
        let count = ((base + size).min(end) - pos) / elem;
        out.push(Window {
            base,
            size,
            out_first: (pos - base) / elem,
            index0: index,
            count,
        });
        pos += count * elem;
        index += count;
    }
    out
}

/// The workgroup grid for `threads` invocations: rows of at most 65,535 workgroups.
pub(crate) fn grid(threads: u32) -> (u32, u32) {
    let groups = threads.div_ceil(WORKGROUP_SIZE).max(1);
    let x = groups.min(MAX_GROUPS_PER_DIM);
    (x, groups.div_ceil(x))
}

/// Initializer pipelines compiled once for one device, recording fills into a host's command
/// encoders.
///
/// This is the way to use varscale inside an application that already owns a wgpu device:
/// it never submits unless asked ([`GpuFiller::fill`]), never creates the target buffers and
/// never changes the device's error handler.
///
/// # Example
/// ```no_run
/// # fn demo(device: &wgpu::Device, queue: &wgpu::Queue, weights: &wgpu::Buffer)
/// # -> varscale::Result<()> {
/// use varscale::gpu::{FillTarget, GpuFiller, Multiply};
/// use varscale::{Initializer, Layout, Philox};
/// let filler = GpuFiller::new(device, queue, Multiply::Auto)?;
/// let sampler = Initializer::he_normal().sampler_for_shape(&[4096, 4096], Layout::Keras)?;
/// let mut encoder = device.create_command_encoder(&Default::default());
/// filler.record(&mut encoder, &sampler, Philox::new(42, 7), &FillTarget::new(weights, 0..4096 * 4096))?;
/// queue.submit([encoder.finish()]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GpuFiller {
    device: wgpu::Device,
    layout: wgpu::BindGroupLayout,
    /// Fill pipelines by transform kind (index `Kind as usize`), then the truncated normal
    /// whose erfinv never leaves its central branch, then, where `fma` is unfused, the uniform
    /// over a centred range (a plain product); each as f32 slots, f32 elements, f16
    /// elements, bf16 elements, f16 slots, bf16 slots.
    fills: Vec<[wgpu::ComputePipeline; 6]>,
    philox_words: wgpu::ComputePipeline,
    int64: bool,
    fused_fma: bool,
}

impl GpuFiller {
    /// Compiles the fill pipelines for `device`.
    ///
    /// It first runs one tiny dispatch on `queue` and waits for it, to learn whether the
    /// device's `fma` is fused: where it is not, the uniform's multiply-add is computed
    /// exactly in integers so that it still matches the CPU bit for bit (over a centred range,
    /// the plain product it then equals).
    ///
    /// # Errors
    /// [`Error::Gpu`] when `Multiply::Int64` is asked of a device without `SHADER_INT64`, or
    /// when shader compilation or the probe fails.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, multiply: Multiply) -> Result<Self> {
        let has_int64 = device.features().contains(wgpu::Features::SHADER_INT64);
        let int64 = match multiply {
            Multiply::Auto => has_int64,
            Multiply::Limbs => false,
            Multiply::Int64 if has_int64 => true,
            Multiply::Int64 => {
                return Err(Error::Gpu(
                    "multiply int64 needs the SHADER_INT64 feature, which this device lacks".into(),
                ));
            }
        };
        log::info!(
            "gpu: Philox multiply via {}",
            if int64 {
                "SHADER_INT64"
            } else {
                "16-bit limbs"
            }
        );

        let (layout, pipeline_layout, [f32_module, tail_module, half_module, half_slots_module]) =
            scoped(device, "shader compilation", || {
                let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some("varscale fill"),
                    entries: &[
                        wgpu::BindGroupLayoutEntry {
                            binding: 0,
                            visibility: wgpu::ShaderStages::COMPUTE,
                            ty: wgpu::BindingType::Buffer {
                                ty: wgpu::BufferBindingType::Uniform,
                                has_dynamic_offset: false,
                                min_binding_size: wgpu::BufferSize::new(UNIFORM_BYTES),
                            },
                            count: None,
                        },
                        wgpu::BindGroupLayoutEntry {
                            binding: 1,
                            visibility: wgpu::ShaderStages::COMPUTE,
                            ty: wgpu::BindingType::Buffer {
                                ty: wgpu::BufferBindingType::Storage { read_only: false },
                                has_dynamic_offset: false,
                                // None: the f32 module reads 16-byte slots and the others
                                // 4-byte words, so each pipeline checks its own minimum
                                // when it runs; the f32 one only runs on 16 bytes or more.
                                min_binding_size: None,
                            },
                            count: None,
                        },
                    ],
                });
                let pipeline_layout =
                    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some("varscale fill"),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
                let module = |output| {
                    device.create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(match output {
                            Output::F32 => "varscale fill_f32",
                            Output::F32Tail => "varscale fill_f32_tail",
                            Output::Half => "varscale fill_half",
                            Output::HalfSlots => "varscale fill_half_slots",
                        }),
                        source: wgpu::ShaderSource::Wgsl(shader::source(output, int64).into()),
                    })
                };
                (
                    layout,
                    pipeline_layout,
                    [
                        module(Output::F32),
                        module(Output::F32Tail),
                        module(Output::Half),
                        module(Output::HalfSlots),
                    ],
                )
            })?;
        let pipeline =
            |module: &wgpu::ShaderModule, entry: &str, kind: u32, flags: (bool, bool, bool)| {
                let (fused, central, centred) = flags;
                scoped(device, "pipeline creation", || {
                    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(entry),
                        layout: Some(&pipeline_layout),
                        module,
                        entry_point: Some(entry),
                        compilation_options: wgpu::PipelineCompilationOptions {
                            constants: &[
                                ("KIND", f64::from(kind)),
                                ("FUSED_FMA", f64::from(u8::from(fused))),
                                ("CENTRAL_ONLY", f64::from(u8::from(central))),
                                ("CENTRED_PRODUCT", f64::from(u8::from(centred))),
                            ],
                            ..Default::default()
                        },
                        cache: None,
                    })
                })
            };

        let mut filler = Self {
            device: device.clone(),
            fills: Default::default(),
            philox_words: pipeline(&half_module, "philox_words", 0, Default::default())?,
            layout,
            int64,
            fused_fma: false,
        };
        let probe = pipeline(&half_module, "fma_probe", 0, Default::default())?;
        filler.fused_fma = filler.probe_fma(queue, &probe)?;
        log::info!(
            "gpu: fma is {}",
            if filler.fused_fma {
                "fused"
            } else {
                "unfused: exact integer fma for uniform"
            }
        );
        // One set per kind, then the truncated normal without erfinv's tail branch (see
        // `F32Params::central_only`): what every Keras `_normal` preset takes. Where `fma` is
        // unfused, last, the uniform over a centred range, a plain product instead of the
        // integer `fma_exact` (see `F32Params::centred_product`): every Glorot, He and LeCun
        // uniform.
        let mut fills = Vec::with_capacity(FILLS);
        let variants = (0..4)
            .map(|kind| (kind, false, false))
            .chain([(Kind::TruncatedNormal as u32, true, false)])
            .chain((!filler.fused_fma).then_some((Kind::Uniform as u32, false, true)));
        for (kind, central, centred) in variants {
            let flags = (filler.fused_fma, central, centred);
            fills.push([
                pipeline(&f32_module, "fill_f32", kind, flags)?,
                pipeline(&tail_module, "fill_f32_tail", kind, flags)?,
                pipeline(&half_module, "fill_f16", kind, flags)?,
                pipeline(&half_module, "fill_bf16", kind, flags)?,
                pipeline(&half_slots_module, "fill_f16_slots", kind, flags)?,
                pipeline(&half_slots_module, "fill_bf16_slots", kind, flags)?,
            ]);
        }
        debug_assert_eq!(
            fills.len(),
            if filler.fused_fma {
                CENTRED_UNIFORM
            } else {
                FILLS
            },
            "the sets' order is what CENTRAL_TRUNCATED and CENTRED_UNIFORM name"
        );
        filler.fills = fills;
        Ok(filler)
    }

    /// Runs `fma_probe` and reads back whether `fma` rounded once.
    fn probe_fma(&self, queue: &wgpu::Queue, probe: &wgpu::ComputePipeline) -> Result<bool> {
        let x = 1.0 + 1.0 / 4096.0;
        let params = F32Params {
            a: x,
            b: x,
            mean: -(1.0 + 1.0 / 2048.0),
            ..bytemuck::Zeroable::zeroed()
        };
        let (out, staging) = scoped(&self.device, "fma probe buffers", || {
            let buffer = |usage| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("varscale fma probe"),
                    size: 16,
                    usage,
                    mapped_at_creation: false,
                })
            };
            (
                buffer(wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC),
                buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
            )
        })?;
        let uniform = DispatchUniform {
            params,
            ..bytemuck::Zeroable::zeroed()
        };
        let window = Window {
            base: 0,
            size: 16,
            out_first: 0,
            index0: 0,
            count: 1,
        };
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("varscale fma probe"),
            });
        let dispatch = Dispatch {
            pipeline: probe,
            window,
            uniform,
            per_invocation: 1,
        };
        self.encode(&mut encoder, &out, &[dispatch])?;
        encoder.copy_buffer_to_buffer(&out, 0, &staging, 0, 16);
        scoped(&self.device, "submitting the fma probe", || {
            queue.submit([encoder.finish()]);
        })?;
        map_read(&self.device, &staging, 16)?;
        let bits = staging
            .get_mapped_range(0..4)
            .map(|view| u32::from_le_bytes([view[0], view[1], view[2], view[3]]))
            .map_err(|e| Error::Gpu(format!("reading the fma probe: {e}")));
        staging.unmap();
        // Fused: exactly 2⁻²⁴. Unfused: 0.
        Ok(f32::from_bits(bits?) == 1.0 / 16_777_216.0)
    }

    /// Whether the device's `fma` is fused. Where it is not, the uniform kind computes its
    /// multiply-add exactly in integer arithmetic (slower, same bits), or, over a centred range,
    /// as the plain product it then equals.
    pub fn has_fused_fma(&self) -> bool {
        self.fused_fma
    }

    /// Whether the pipelines multiply through `SHADER_INT64` (else through 16-bit limbs).
    pub fn uses_int64(&self) -> bool {
        self.int64
    }

    /// The device the pipelines belong to.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// Checks a target against the device's limits and returns its windows.
    fn plan(&self, target: &FillTarget<'_>) -> Result<Vec<Window>> {
        let FillTarget {
            buffer,
            byte_offset,
            dtype,
            range,
        } = target;
        let (byte_offset, dtype) = (*byte_offset, *dtype);
        if !buffer.usage().contains(wgpu::BufferUsages::STORAGE) {
            return Err(Error::Gpu(format!(
                "target buffer has usage {:?}, which lacks STORAGE",
                buffer.usage()
            )));
        }
        if dtype == DType::F64 {
            return Err(Error::Gpu(
                "dtype f64 has no GPU kernel; use f32, f16 or bf16, or the CPU".into(),
            ));
        }
        let elem = dtype.size() as u64;
        if byte_offset % elem != 0 {
            return Err(Error::Gpu(format!(
                "byte offset {byte_offset} is not a multiple of the {dtype} size ({elem} bytes)"
            )));
        }
        if range.start > range.end {
            return Err(Error::Gpu(format!(
                "element range {}..{} is reversed",
                range.start, range.end
            )));
        }
        let bytes = (range.end - range.start)
            .checked_mul(elem)
            .and_then(|b| b.checked_add(byte_offset));
        // Halves are written as whole u32 words, so the word holding the last one must exist.
        let needed = bytes.map(|b| b.div_ceil(4) * 4);
        match needed {
            Some(n) if n <= buffer.size() => {}
            _ => {
                return Err(Error::Gpu(format!(
                    "{} {dtype} elements at byte offset {byte_offset} end past the buffer's {} bytes{}",
                    range.end - range.start,
                    buffer.size(),
                    if bytes.is_some_and(|b| b <= buffer.size()) {
                        " (half types write whole 4-byte words)"
                    } else {
                        ""
                    }
                )));
            }
        }
        let limits = self.device.limits();
        let windows = windows(
            byte_offset,
            elem,
            range.clone(),
            u64::from(limits.min_storage_buffer_offset_alignment),
            limits.max_storage_buffer_binding_size,
        );
        if windows.len() > 1 {
            log::debug!(
                "gpu: {} bytes at {byte_offset} bound in {} windows of at most {} bytes",
                bytes.unwrap_or(0) - byte_offset,
                windows.len(),
                limits.max_storage_buffer_binding_size
            );
        }
        Ok(windows)
    }

    /// Records the fill of `target` with `sampler`'s values under `rng` into `encoder`.
    ///
    /// Nothing is submitted: the host submits `encoder` when it likes. The target is checked
    /// before anything is recorded, so a recorded fill cannot fail validation later.
    ///
    /// # Errors
    /// [`Error::Gpu`] naming the bad value for: a buffer without `STORAGE` usage, an offset
    /// that is not a multiple of the element size, a range past the end of the buffer, f64,
    /// or a parameter that overflows f32.
    pub fn record(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        sampler: &Sampler,
        rng: Philox,
        target: &FillTarget<'_>,
    ) -> Result<()> {
        let windows = self.plan(target)?;
        if windows.is_empty() {
            return Ok(());
        }
        let params = sampler.f32_params()?;
        let slot = if params.central_only() {
            CENTRAL_TRUNCATED
        } else if params.centred_product() && !self.fused_fma {
            CENTRED_UNIFORM
        } else {
            params.kind() as usize
        };
        let Some(by_dtype) = self.fills.get(slot) else {
            return Err(Error::Gpu(format!("no pipeline for kind {}", params.kind)));
        };
        let uniform = |w: &Window, threads: u64, stride: u64| DispatchUniform {
            params,
            key: rng.key(),
            stream: [rng.stream as u32, (rng.stream >> 32) as u32],
            index0: [w.index0 as u32, (w.index0 >> 32) as u32],
            // A window is at most 2³¹ bytes, so positions, counts and invocations fit.
            out_first: w.out_first as u32,
            count: w.count as u32,
            threads: threads as u32,
            stride: stride as u32,
            _pad: [0; 2],
        };
        // Each window: the 16-byte slots wholly inside both the range and the binding, one
        // store each; then the positions before and after them, element by element (f32) or
        // word by word (halves): at most a slot's worth before, and a slot's worth plus the
        // binding's last partial slot after. A shard whose index and position differ mod 4
        // has no slot holding whole Philox blocks, and goes element by element throughout.
        let (slot_fill, single_fill, per_slot, slots_per_invocation, singles_per_invocation) =
            match target.dtype {
                DType::F16 => (&by_dtype[4], &by_dtype[2], 8, HALF_SLOTS_PER_INVOCATION, 1),
                DType::BF16 => (&by_dtype[5], &by_dtype[3], 8, HALF_SLOTS_PER_INVOCATION, 1),
                _ => (
                    &by_dtype[0],
                    &by_dtype[1],
                    4,
                    F32_SLOTS_PER_INVOCATION,
                    F32_BLOCKS_PER_INVOCATION,
                ),
            };
        let mut dispatches = Vec::with_capacity(3 * windows.len());
        for w in &windows {
            let end = w.out_first + w.count;
            let slots_from = w.out_first.next_multiple_of(per_slot);
            // Positions the binding holds, cut to whole slots.
            let bound = w.size / (16 / per_slot);
            let slots_to = end.min(bound) / per_slot * per_slot;
            let aligned = w.index0 % 4 == w.out_first % 4;
            let mut singles = vec![(w.out_first, end)];
            if aligned && slots_from < slots_to {
                let part = w.part(slots_from, slots_to);
                let slots = (slots_to - slots_from) / per_slot;
                let stride = slots.div_ceil(u64::from(slots_per_invocation));
                dispatches.push(Dispatch {
                    pipeline: slot_fill,
                    window: part,
                    uniform: uniform(&part, slots, stride),
                    per_invocation: slots_per_invocation,
                });
                singles = vec![(w.out_first, slots_from), (slots_to, end)];
            }
            for (first, last) in singles.into_iter().filter(|(a, b)| a < b) {
                let part = w.part(first, last);
                // fill_f32_tail counts blocks from the index, fill_half words from the position.
                let lead = if per_slot == 4 {
                    part.index0 & 3
                } else {
                    part.out_first & 3
                };
                dispatches.push(Dispatch {
                    pipeline: single_fill,
                    window: part,
                    uniform: uniform(&part, (part.count + lead).div_ceil(4), 0),
                    per_invocation: singles_per_invocation,
                });
            }
        }
        self.encode(encoder, target.buffer, &dispatches)
    }

    /// Records the dispatches in order, each with its own slice of one uniform buffer.
    fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        dispatches: &[Dispatch<'_>],
    ) -> Result<()> {
        let stride = UNIFORM_BYTES.next_multiple_of(u64::from(
            self.device.limits().min_uniform_buffer_offset_alignment,
        ));
        let mut bytes = vec![0u8; stride as usize * dispatches.len()];
        for (chunk, d) in bytes.chunks_mut(stride as usize).zip(dispatches) {
            chunk[..UNIFORM_BYTES as usize].copy_from_slice(bytemuck::bytes_of(&d.uniform));
        }
        // Written through a mapping rather than `DeviceExt::create_buffer_init`, which panics
        // when the device is lost.
        let uniform = scoped(&self.device, "allocating dispatch parameters", || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("varscale dispatch params"),
                size: bytes.len() as u64,
                usage: wgpu::BufferUsages::UNIFORM,
                mapped_at_creation: true,
            })
        })?;
        uniform
            .get_mapped_range_mut(..)
            .map(|mut view| view.copy_from_slice(&bytes))
            .map_err(|e| {
                Error::Gpu(format!(
                    "writing {} bytes of dispatch parameters (is the device lost?): {e}",
                    bytes.len()
                ))
            })?;
        uniform.unmap();
        scoped(&self.device, "recording a fill", || {
            let groups: Vec<wgpu::BindGroup> = dispatches
                .iter()
                .enumerate()
                .map(|(k, Dispatch { window: w, .. })| {
                    self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("varscale fill window"),
                        layout: &self.layout,
                        entries: &[
                            wgpu::BindGroupEntry {
                                binding: 0,
                                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer: &uniform,
                                    offset: k as u64 * stride,
                                    size: wgpu::BufferSize::new(UNIFORM_BYTES),
                                }),
                            },
                            wgpu::BindGroupEntry {
                                binding: 1,
                                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer,
                                    offset: w.base,
                                    size: wgpu::BufferSize::new(w.size),
                                }),
                            },
                        ],
                    })
                })
                .collect();
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("varscale fill"),
                timestamp_writes: None,
            });
            for (group, d) in groups.iter().zip(dispatches) {
                let (x, y) = grid(d.uniform.threads.div_ceil(d.per_invocation));
                pass.set_pipeline(d.pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })
    }

    /// Records the fill and submits it on `queue` at once; it does not wait for the GPU.
    ///
    /// # Errors
    /// As [`GpuFiller::record`], and any validation or out-of-memory error wgpu reports
    /// while finishing and submitting.
    pub fn fill(
        &self,
        queue: &wgpu::Queue,
        sampler: &Sampler,
        rng: Philox,
        target: &FillTarget<'_>,
    ) -> Result<()> {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("varscale fill"),
            });
        self.record(&mut encoder, sampler, rng, target)?;
        scoped(&self.device, "submitting a fill", || {
            queue.submit([encoder.finish()]);
        })
    }

    /// Records a dispatch that writes the four raw Philox words of `block` of `rng` into the
    /// first 16 bytes of `buffer` (as u32). It exists to check the multiply path against the
    /// Philox known answers.
    ///
    /// # Errors
    /// As [`GpuFiller::record`] for a buffer without `STORAGE` usage or under 16 bytes.
    pub fn record_philox_words(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        rng: Philox,
        block: u64,
        buffer: &wgpu::Buffer,
    ) -> Result<()> {
        self.plan(&FillTarget::new(buffer, 0..4))?;
        let uniform = DispatchUniform {
            params: bytemuck::Zeroable::zeroed(),
            key: rng.key(),
            stream: [rng.stream as u32, (rng.stream >> 32) as u32],
            index0: [block as u32, (block >> 32) as u32],
            out_first: 0,
            count: 4,
            threads: 1,
            stride: 0,
            _pad: [0; 2],
        };
        let window = Window {
            base: 0,
            size: 16,
            out_first: 0,
            index0: block,
            count: 4,
        };
        let dispatch = Dispatch {
            pipeline: &self.philox_words,
            window,
            uniform,
            per_invocation: 1,
        };
        self.encode(encoder, buffer, &[dispatch])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_block_matches_the_shader_struct() {
        // common.wgsl's `Dispatch`: 12 words of F32Params, 3 vec2<u32>, 6 u32.
        assert_eq!(UNIFORM_BYTES, 96);
    }

    /// Every element lands exactly once, in order, inside windows that respect the limits.
    #[test]
    fn windows_cover_each_element_once() {
        for (offset, elem, start, len, align, max) in [
            (0, 4, 0, 1000, 256, 1024),
            (6, 2, 5, 3001, 256, 1000),
            (1024, 4, 1 << 40, 777, 64, 512),
            (2, 2, 0, 1, 256, 4096),
            (512, 2, 3, 70_000, 256, 8192),
            (0, 4, 0, 0, 256, 1024),
        ] {
            let ws = windows(offset, elem, start..start + len, align, max);
            let (mut pos, mut index) = (offset, start);
            for w in &ws {
                assert_eq!(w.base % align, 0);
                assert_eq!(w.size % 4, 0);
                assert!(w.size <= max.max(align + 4));
                assert_eq!(w.base + w.out_first * elem, pos, "{w:?}");
                assert_eq!(w.index0, index);
                assert!(w.count > 0);
                assert!(w.base + (w.out_first + w.count) * elem <= w.base + w.size);
                pos += w.count * elem;
                index += w.count;
            }
            assert_eq!(index, start + len);
        }
    }

    #[test]
    fn grid_covers_threads_within_the_dimension_limit() {
        for threads in [1, 64, 65, 65_535 * 64, 65_535 * 64 + 1, 1 << 28] {
            let (x, y) = grid(threads);
            assert!(x <= MAX_GROUPS_PER_DIM && y <= MAX_GROUPS_PER_DIM);
            assert!(u64::from(x) * u64::from(y) * 64 >= u64::from(threads));
            assert!(u64::from(x) * (u64::from(y) - 1) * 64 < u64::from(threads));
        }
    }
}
