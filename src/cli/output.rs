//! What `fill` and `model` share: device choice, write options, progress bar and summary.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use varscale::io::{Filler, Progress, TensorPlan, WriteOptions, WriteSummary, write_tensors};
use varscale::{Cpu, DType, Layout};

use super::CliError;

/// Where values are generated.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Device {
    /// The GPU if one is wired in and found, else the CPU.
    #[default]
    Auto,
    /// The SIMD CPU backend.
    Cpu,
    /// The wgpu backend.
    Gpu,
}

/// Flags shared by every command that writes a file.
#[derive(clap::Args, Debug)]
pub struct WriteArgs {
    /// Output file: .npy or .safetensors, chosen by the extension.
    #[arg(long, short)]
    pub out: std::path::PathBuf,
    /// Device that generates the values.
    #[arg(long, value_enum, default_value_t = Device::Auto)]
    pub device: Device,
    /// CPU threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Bytes generated per chunk; two chunks are in memory at once. Any value gives the
    /// same file.
    #[arg(long, hide = true, default_value_t = varscale::io::DEFAULT_CHUNK_BYTES)]
    pub chunk_bytes: usize,
}

/// The backend for `device`: the one place a device is chosen.
pub fn filler(device: Device, threads: Option<usize>) -> Result<Box<dyn Filler>, CliError> {
    match device {
        Device::Gpu => gpu_filler(),
        // LIMIT: `auto` picks the CPU until a GPU filler is wired into `gpu_filler`; it
        // should then try the GPU first and fall back to the CPU with a log line.
        Device::Auto | Device::Cpu => {
            let cpu = match threads {
                Some(n) => Cpu::new().with_threads(n)?,
                None => Cpu::new(),
            };
            log::info!("device: cpu, {} threads, {}", cpu.threads(), cpu.level());
            Ok(Box::new(cpu))
        }
    }
}

/// GPU PLUG POINT: return the wgpu backend (an implementation of
/// [`varscale::io::Filler`]) here once it is built into the library.
fn gpu_filler() -> Result<Box<dyn Filler>, CliError> {
    Err(CliError::usage(
        "--device gpu: the GPU backend is not wired into this build (use --device cpu)",
    ))
}

/// Writes `tensors` to the output of `args`, with a progress bar on a terminal, and prints
/// the summary.
pub fn write(args: &WriteArgs, tensors: &[TensorPlan]) -> Result<WriteSummary, CliError> {
    let filler = filler(args.device, args.threads)?;
    let options = WriteOptions {
        chunk_bytes: args.chunk_bytes,
        overwrite: args.force,
        cancel: Some(cancel_flag()),
        metadata: vec![("generator".into(), "varscale".into())],
        ..WriteOptions::default()
    };
    let total: u64 = tensors.iter().map(TensorPlan::bytes).sum();
    let bar = progress_bar(total);
    let result = write_tensors(&args.out, tensors, filler.as_ref(), &options, &mut |p| {
        report(&bar, p)
    });
    bar.finish_and_clear();
    let summary = result?;
    println!("{}", summary_line(&args.out, &summary));
    Ok(summary)
}

/// Set by Ctrl-C (or SIGTERM); the write then stops between chunks and removes its
/// temporary file.
fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let handler_flag = Arc::clone(&flag);
        if let Err(e) = ctrlc::set_handler(move || handler_flag.store(true, Ordering::Relaxed)) {
            // LIMIT: without a handler, Ctrl-C kills the process and leaves the hidden
            // temporary file (never the target) behind.
            log::warn!("no Ctrl-C handler ({e}): an interrupted write leaves its temp file");
        }
        flag
    })
    .clone()
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style)
}

fn report(bar: &ProgressBar, p: Progress) {
    bar.set_position(p.bytes_done);
    if bar.is_hidden() && p.bytes_done == p.bytes_total {
        log::info!("wrote {} bytes of {} tensors", p.bytes_done, p.tensors_done);
    }
}

/// `wrote PATH: T tensors, P parameters, B bytes in S s (R GB/s) on DEVICE`.
fn summary_line(path: &Path, s: &WriteSummary) -> String {
    let rate = s.file_bytes as f64 / s.seconds.max(1e-9) / 1e9;
    format!(
        "wrote {}: {} tensor{}, {} parameters, {} bytes ({:.2} GB) in {:.2} s ({rate:.2} GB/s) \
         on {}",
        path.display(),
        s.tensors,
        if s.tensors == 1 { "" } else { "s" },
        s.parameters,
        s.file_bytes,
        s.file_bytes as f64 / 1e9,
        s.seconds,
        s.device
    )
}

/// A tensor shape given on the command line (one value, so clap does not treat it as a list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape(pub Vec<u64>);

/// Parses `--shape 64,3,3,3`: positive integers whose product fits in 64 bits.
pub fn parse_shape(text: &str) -> Result<Shape, String> {
    let shape = text
        .split(',')
        .map(|d| {
            let d = d.trim();
            match d.parse::<u64>() {
                Ok(0) => Err(format!("shape '{text}': dimension 0 makes an empty tensor")),
                Ok(n) => Ok(n),
                Err(_) => Err(format!(
                    "shape '{text}': dimension '{d}' is not a positive integer"
                )),
            }
        })
        .collect::<Result<Vec<u64>, String>>()?;
    varscale::numel(&shape)
        .map_err(|_| format!("shape '{text}': element count overflows 64 bits"))?;
    Ok(Shape(shape))
}

/// Clap value parsers for the library's text types, so their messages name the bad value.
pub fn parse_dtype(text: &str) -> Result<DType, String> {
    text.parse().map_err(|e: varscale::Error| e.to_string())
}

/// See [`parse_dtype`].
pub fn parse_layout(text: &str) -> Result<Layout, String> {
    text.parse().map_err(|e: varscale::Error| e.to_string())
}
