//! Writing initialised tensors to `.npy` and `.safetensors` files in bounded memory.
//!
//! A write streams each tensor in chunks of [`WriteOptions::chunk_bytes`]: a producer thread
//! fills chunk `k + 1` while the calling thread writes chunk `k`, so generation and disk
//! writing overlap and memory stays at two chunks whatever the file size. Each chunk is filled
//! with [`Filler::fill_chunk`] at its element offset, which by the contract in
//! [`crate::philox`] gives the same bits as filling the whole tensor at once.
//!
//! The bytes go to a temporary file in the target's directory, which is renamed over the
//! target only once complete (and, by default, synced to disk). On any error or a cancel
//! request, the temporary file is removed and the target is left as it was.
//!
//! # Example
//! ```
//! use varscale::io::{TensorPlan, WriteOptions, write_tensors};
//! use varscale::{Cpu, DType, Initializer, Layout};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("w.safetensors");
//! let w = TensorPlan::new("w", &[256, 64], DType::F32, Initializer::he_normal(), Layout::Keras, 7)?;
//! let summary = write_tensors(&path, &[w], &Cpu::new(), &WriteOptions::default(), &mut |_| {})?;
//! assert_eq!(summary.parameters, 256 * 64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod npy;
mod pipeline;
mod safetensors_file;

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use half::{bf16, f16};

use crate::cpu::Cpu;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::fans::{Layout, numel};
use crate::init::Initializer;
use crate::philox::{Philox, stream_for_name};
use crate::sampler::Sampler;

pub use safetensors_file::{TensorHeader, read_safetensors_header};

/// Default chunk size: large enough that per-chunk costs vanish, small enough that the two
/// buffers in flight stay far below any machine's memory.
pub const DEFAULT_CHUNK_BYTES: usize = 64 << 20;

/// An output file format, chosen from the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NumPy's `.npy`, version 1.0 (2.0 for headers over 64 KiB): one tensor per file.
    Npy,
    /// Hugging Face's `.safetensors`: any number of named tensors.
    Safetensors,
}

impl Format {
    /// The format for `path`'s extension (`.npy` or `.safetensors`, any case).
    ///
    /// # Errors
    /// [`Error::Unknown`] naming the extension otherwise.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "npy" => Ok(Format::Npy),
            "safetensors" => Ok(Format::Safetensors),
            _ => Err(Error::Unknown {
                what: "output extension",
                value: if ext.is_empty() {
                    format!("{} (none)", path.display())
                } else {
                    format!(".{ext}")
                },
                expected: ".npy, .safetensors",
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
        })
    }
}

/// One tensor to generate: its name, shape, element type, initializer and Philox stream.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorPlan {
    name: String,
    shape: Vec<u64>,
    dtype: DType,
    init: Initializer,
    sampler: Sampler,
    rng: Philox,
}

impl TensorPlan {
    /// A tensor whose stream is [`stream_for_name`]`(name)`, so that its values depend on its
    /// name and `seed` only, never on the other tensors of a model.
    ///
    /// # Errors
    /// [`Error::BadShape`] for a dimension of 0, an element or byte count that overflows 64
    /// bits, or a shape the layout cannot take for a fan-based initializer.
    pub fn new(
        name: &str,
        shape: &[u64],
        dtype: DType,
        init: Initializer,
        layout: Layout,
        seed: u64,
    ) -> Result<Self> {
        Self::with_stream(
            name,
            shape,
            dtype,
            init,
            layout,
            seed,
            stream_for_name(name),
        )
    }

    /// A tensor with an explicit stream id.
    ///
    /// # Errors
    /// As [`TensorPlan::new`].
    pub fn with_stream(
        name: &str,
        shape: &[u64],
        dtype: DType,
        init: Initializer,
        layout: Layout,
        seed: u64,
        stream: u64,
    ) -> Result<Self> {
        let bad = |reason: String| Error::BadShape {
            shape: shape.to_vec(),
            reason,
        };
        if let Some(axis) = shape.iter().position(|&d| d == 0) {
            return Err(bad(format!("dimension {axis} is 0 (an empty tensor)")));
        }
        let n = numel(shape)?;
        n.checked_mul(dtype.size() as u64).ok_or_else(|| {
            bad(format!(
                "{n} elements of {dtype} overflow a 64-bit byte count"
            ))
        })?;
        let sampler = init.sampler_for_shape(shape, layout)?;
        Ok(Self {
            name: name.to_string(),
            shape: shape.to_vec(),
            dtype,
            init,
            sampler,
            rng: Philox::new(seed, stream),
        })
    }

    /// The tensor's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tensor's shape, row-major.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// The element type written.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The initializer.
    pub fn init(&self) -> &Initializer {
        &self.init
    }

    /// The resolved distribution.
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }

    /// The `(seed, stream)` pair.
    pub fn rng(&self) -> Philox {
        self.rng
    }

    /// The number of elements.
    pub fn numel(&self) -> u64 {
        // Checked in the constructor.
        self.shape.iter().product()
    }

    /// The number of bytes of data.
    pub fn bytes(&self) -> u64 {
        self.numel() * self.dtype.size() as u64
    }
}

/// A chunk of output of one of the four element types, for [`Filler`]s.
#[derive(Debug)]
pub enum ChunkMut<'a> {
    /// An `f32` chunk.
    F32(&'a mut [f32]),
    /// An `f64` chunk.
    F64(&'a mut [f64]),
    /// An `f16` chunk.
    F16(&'a mut [f16]),
    /// A `bf16` chunk.
    BF16(&'a mut [bf16]),
}

/// A backend that fills a chunk of a tensor: elements `start .. start + chunk.len()`.
///
/// Every implementation must follow the contract of [`crate::philox`], so that the file's
/// bytes do not depend on the backend. [`Cpu`] implements it; a GPU backend is plugged in by
/// implementing it too.
pub trait Filler: Sync {
    /// The device, in words, for logs and summaries (e.g. `cpu (avx512, 2 threads)`).
    fn device(&self) -> String;

    /// Fills `chunk` with elements `start ..` of the tensor of `sampler` under `rng`.
    ///
    /// # Errors
    /// Whatever the backend reports; see [`Cpu::fill`].
    fn fill_chunk(
        &self,
        sampler: &Sampler,
        rng: Philox,
        start: u64,
        chunk: ChunkMut<'_>,
    ) -> Result<()>;
}

impl Filler for Cpu {
    fn device(&self) -> String {
        format!("cpu ({}, {} threads)", self.level(), self.threads())
    }

    fn fill_chunk(
        &self,
        sampler: &Sampler,
        rng: Philox,
        start: u64,
        chunk: ChunkMut<'_>,
    ) -> Result<()> {
        match chunk {
            ChunkMut::F32(c) => self.fill(sampler, rng, start, c),
            ChunkMut::F64(c) => self.fill(sampler, rng, start, c),
            ChunkMut::F16(c) => self.fill(sampler, rng, start, c),
            ChunkMut::BF16(c) => self.fill(sampler, rng, start, c),
        }
    }
}

/// How a write proceeds.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Bytes per chunk (rounded down to a multiple of 8, at least 8). Two chunks are in memory
    /// at once. Any value gives the same file.
    pub chunk_bytes: usize,
    /// Replace an existing target. Without it, an existing target is an
    /// [`Error::FileExists`], checked before any work and again at the final rename.
    pub overwrite: bool,
    /// `fsync` the temporary file before renaming it, so that a crash right after the
    /// rename cannot leave a file of the right name with missing data.
    pub sync: bool,
    /// Set it (e.g. from a Ctrl-C handler) to stop the write between chunks: the temporary
    /// file is removed and the write returns [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Extra `__metadata__` entries for `.safetensors` (ignored for `.npy`).
    pub metadata: Vec<(String, String)>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            overwrite: false,
            sync: true,
            cancel: None,
            metadata: Vec::new(),
        }
    }
}

impl WriteOptions {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// How far a write has got, reported after each chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Tensor data bytes written so far.
    pub bytes_done: u64,
    /// Tensor data bytes in all.
    pub bytes_total: u64,
    /// Tensors completely written so far.
    pub tensors_done: usize,
}

/// What a completed write did.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteSummary {
    /// Tensors written.
    pub tensors: usize,
    /// Elements written, over all tensors.
    pub parameters: u64,
    /// Bytes of the final file, header included.
    pub file_bytes: u64,
    /// Wall-clock seconds, from opening the temporary file to the rename.
    pub seconds: f64,
    /// The device that generated the values ([`Filler::device`]).
    pub device: String,
}

/// Writes `tensors` to `path`, in the format its extension names.
///
/// `.safetensors` files hold the tensors in order of decreasing element size (stable within a
/// size, so in the given order otherwise), which keeps every tensor aligned to its element
/// size, and record `format = pt` (which Hugging Face `transformers` requires) plus
/// `options.metadata` in `__metadata__`. A `.npy` file takes exactly one tensor, and not
/// `bf16`, which NumPy has no type for.
///
/// `progress` is called on the calling thread after each chunk.
///
/// # Errors
/// - [`Error::Unknown`] for an unknown extension; [`Error::Spec`] for duplicate names, or
///   a tensor list a `.npy` file cannot hold;
/// - [`Error::FileExists`] if `path` exists and `options.overwrite` is false;
/// - [`Error::Io`] for a failure to create, write, sync or rename the file (full disk,
///   missing directory, ...);
/// - [`Error::Interrupted`] if `options.cancel` was set;
/// - any error of the filler.
///
/// In every error case the target is left as it was and no temporary file remains.
pub fn write_tensors(
    path: &Path,
    tensors: &[TensorPlan],
    filler: &dyn Filler,
    options: &WriteOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<WriteSummary> {
    let format = Format::from_path(path)?;
    let (header, order) = match format {
        Format::Npy => (npy::header(path, tensors)?, vec![0]),
        Format::Safetensors => safetensors_file::header(tensors, &options.metadata)?,
    };
    let ordered: Vec<&TensorPlan> = order.iter().map(|&i| &tensors[i]).collect();
    if cfg!(target_endian = "big") {
        // LIMIT: both formats are written little-endian from native memory; a big-endian host
        // would need a byte swap per chunk, which is not written.
        return Err(io_error(path, "big-endian hosts are not supported"));
    }
    if !options.overwrite && path.exists() {
        return Err(Error::FileExists {
            path: path.display().to_string(),
        });
    }

    let started = Instant::now();
    let mut temp = create_temp(path)?;
    log::info!(
        "io: writing {} tensor(s) to {} via {} ({} byte chunks)",
        ordered.len(),
        path.display(),
        temp.path().display(),
        options.chunk_bytes
    );
    let mut out = BufWriter::with_capacity(1 << 20, temp.as_file_mut());
    out.write_all(&header)
        .map_err(|e| io_error(path, &format!("writing: {e}")))?;
    pipeline::stream(&mut out, &ordered, filler, options, path, progress)?;
    out.flush()
        .map_err(|e| io_error(path, &format!("writing: {e}")))?;
    drop(out);
    if options.sync {
        temp.as_file()
            .sync_all()
            .map_err(|e| io_error(path, &format!("syncing to disk: {e}")))?;
    }
    let file_bytes = temp
        .as_file()
        .metadata()
        .map_err(|e| io_error(path, &e.to_string()))?
        .len();
    persist(temp, path, options.overwrite)?;

    Ok(WriteSummary {
        tensors: ordered.len(),
        parameters: ordered.iter().map(|t| t.numel()).sum(),
        file_bytes,
        seconds: started.elapsed().as_secs_f64(),
        device: filler.device(),
    })
}

fn io_error(path: &Path, reason: &str) -> Error {
    Error::Io {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// A hidden temporary file next to `path`, removed when dropped unless persisted.
fn create_temp(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let stem = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{stem}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // A temporary file is private (0600) by default; the finished file should get the usual
    // permissions, 0666 less the umask, as any newly created file does.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(dir).map_err(|e| {
        io_error(
            path,
            &format!("cannot create a temporary file in {}: {e}", dir.display()),
        )
    })
}

fn persist(temp: tempfile::NamedTempFile, path: &Path, overwrite: bool) -> Result<File> {
    let persisted = if overwrite {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    // On failure `e.file` is dropped here, which removes the temporary file.
    persisted.map_err(|e| {
        if !overwrite && e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::FileExists {
                path: path.display().to_string(),
            }
        } else {
            io_error(
                path,
                &format!("renaming the finished file into place: {}", e.error),
            )
        }
    })
}

#[cfg(test)]
mod tests;
