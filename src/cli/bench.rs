//! `varscale bench`: fill throughput against the usual baselines and the memory-write ceiling.

use std::fmt::Write as _;

use clap::ValueEnum;
use serde::Serialize;
use varscale::bench::{CpuBench, Stores, Timing, all_threads, time_repeated};
use varscale::{DType, Element, Initializer, Layout, Sampler, SimdLevel};

use super::CliError;

/// Arguments of `varscale bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Where to run: cpu, gpu, or all (with all, the GPU rows are skipped with a warning
    /// when no adapter is found; software adapters such as llvmpipe are measured).
    #[arg(long, value_enum, default_value_t = Device::All)]
    device: Device,
    /// Threads for the multi-threaded rows [default: all cores]; single-thread rows are
    /// always added.
    #[arg(long)]
    threads: Option<usize>,
    /// Elements per fill.
    #[arg(long, default_value_t = 1 << 26)]
    elements: u64,
    /// The initializer, in varscale's text syntax (e.g. `he_normal`, `normal(0, 0.02)`).
    #[arg(long, default_value = "he_normal")]
    init: String,
    /// Output element type: f32, f64, f16 or bf16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Untimed runs before the timed ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Timed runs per row; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// The seed every generator starts from.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object per row instead of a table.
    #[arg(long)]
    json: bool,
}

/// The devices `--device` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Device {
    Cpu,
    Gpu,
    All,
}

/// One measured method: what the table and the JSON lines show.
#[derive(Debug, Serialize)]
struct Row {
    method: String,
    device: &'static str,
    /// The GPU adapter's name; absent for CPU rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    adapter: Option<String>,
    /// CPU threads; null for GPU rows.
    threads: Option<usize>,
    dtype: String,
    init: String,
    elements: u64,
    seconds_median: f64,
    seconds_min: f64,
    seconds_max: f64,
    repeats: usize,
    elements_per_second: f64,
    bytes_per_second: f64,
    /// Whether this row is a memory-write ceiling.
    ceiling: bool,
    /// Throughput over the fastest ceiling of the same device and thread count.
    ratio_to_ceiling: Option<f64>,
}

/// Runs `varscale bench`.
pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    let dtype: DType = args.dtype.parse()?;
    let init: Initializer = args.init.parse()?;
    if args.elements == 0 {
        return Err(CliError::usage("--elements must be >= 1, got 0"));
    }
    if args.repeats == 0 {
        return Err(CliError::usage("--repeats must be >= 1, got 0"));
    }
    let threads = args.threads.unwrap_or_else(all_threads);
    if threads == 0 {
        return Err(CliError::usage("--threads must be >= 1, got 0"));
    }
    // A 1-D shape gives fan_in = fan_out = elements; the fans only scale the values, the
    // throughput does not depend on them.
    let sampler = init.sampler_for_shape(&[args.elements], Layout::Keras)?;

    let mut rows = Vec::new();
    if matches!(args.device, Device::Cpu | Device::All) {
        rows.extend(match dtype {
            DType::F32 => cpu_rows::<f32>(args, &sampler, threads)?,
            DType::F64 => cpu_rows::<f64>(args, &sampler, threads)?,
            DType::F16 => cpu_rows::<half::f16>(args, &sampler, threads)?,
            DType::BF16 => cpu_rows::<half::bf16>(args, &sampler, threads)?,
        });
    }
    if matches!(args.device, Device::Gpu | Device::All) {
        match gpu_rows(args, dtype, &sampler) {
            Ok(gpu) => rows.extend(gpu),
            // With `all`, a machine without a usable GPU still gets its CPU rows.
            Err(e) if args.device == Device::All => {
                eprintln!("varscale: skipping the GPU rows: {e}");
            }
            Err(e) => return Err(e),
        }
    }

    let mut rows: Vec<Row> = rows
        .into_iter()
        .map(|(row_method, timing)| row(args, dtype, row_method, &timing))
        .collect();
    set_ratios(&mut rows);
    let text = if args.json {
        rows.iter()
            .map(|r| serde_json::to_string(r).map_err(CliError::runtime))
            .collect::<Result<Vec<_>, _>>()?
            .join("\n")
    } else {
        table(&rows)
    };
    println!("{text}");
    Ok(())
}

/// What was measured: the method's name, device and thread count, and whether it is a
/// ceiling.
struct Measured {
    method: String,
    device: &'static str,
    adapter: Option<String>,
    threads: Option<usize>,
    ceiling: bool,
}

/// Measures every CPU method on one reused buffer of `T`.
fn cpu_rows<T: Element>(
    args: &BenchArgs,
    sampler: &Sampler,
    threads: usize,
) -> Result<Vec<(Measured, Timing)>, CliError> {
    let level = SimdLevel::detect();
    let mut methods = vec![CpuBench::varscale(level, threads)?];
    if threads > 1 {
        methods.push(CpuBench::varscale(level, 1)?);
    }
    if level != SimdLevel::Scalar {
        methods.push(CpuBench::varscale(SimdLevel::Scalar, threads)?);
    }
    methods.push(CpuBench::pcg(1)?);
    if threads > 1 {
        methods.push(CpuBench::pcg(threads)?);
    }
    for stores in [Stores::Ordinary, Stores::NonTemporal] {
        methods.push(CpuBench::ceiling(stores, threads)?);
        if threads > 1 {
            methods.push(CpuBench::ceiling(stores, 1)?);
        }
    }

    let mut out = buffer::<T>(args.elements)?;
    let mut rows = Vec::with_capacity(methods.len());
    for m in &methods {
        log::info!("bench: {} on {} threads", m.name(), m.threads());
        let timing = time_repeated(args.warmup, args.repeats, || {
            m.run(sampler, args.seed, &mut out)
        })?;
        let measured = Measured {
            method: m.name(),
            device: "cpu",
            adapter: None,
            threads: Some(m.threads()),
            ceiling: m.is_ceiling(),
        };
        rows.push((measured, timing));
    }
    Ok(rows)
}

/// Measures every GPU method on the best adapter (software ones included).
#[cfg(feature = "gpu")]
fn gpu_rows(
    args: &BenchArgs,
    dtype: DType,
    sampler: &Sampler,
) -> Result<Vec<(Measured, Timing)>, CliError> {
    match dtype {
        DType::F32 => gpu_rows_of::<f32>(args, sampler),
        DType::F16 => gpu_rows_of::<half::f16>(args, sampler),
        DType::BF16 => gpu_rows_of::<half::bf16>(args, sampler),
        DType::F64 => Err(CliError::usage(
            "dtype f64 has no GPU kernel; use f32, f16 or bf16 with --device gpu",
        )),
    }
}

#[cfg(feature = "gpu")]
fn gpu_rows_of<T: Element>(
    args: &BenchArgs,
    sampler: &Sampler,
) -> Result<Vec<(Measured, Timing)>, CliError> {
    use varscale::bench::{GpuBench, GpuMethod};

    let gpu = GpuBench::new()?;
    let adapter = gpu.adapter().name.clone();
    log::info!("bench: GPU adapter {adapter}");
    // Only the readback writes it; the other methods fill a device buffer of the same size.
    let mut out = buffer::<T>(args.elements)?;
    let mut rows = Vec::new();
    for method in GpuMethod::ALL {
        // The warm-up also takes the pipeline's first-dispatch compilation out of the timings.
        let timing = time_repeated(args.warmup.max(1), args.repeats, || {
            gpu.run(method, sampler, args.seed, &mut out)
        })?;
        let measured = Measured {
            method: method.name().to_string(),
            device: "gpu",
            adapter: Some(adapter.clone()),
            threads: None,
            ceiling: method.is_ceiling(),
        };
        rows.push((measured, timing));
    }
    Ok(rows)
}

#[cfg(not(feature = "gpu"))]
fn gpu_rows(
    _args: &BenchArgs,
    _dtype: DType,
    _sampler: &Sampler,
) -> Result<Vec<(Measured, Timing)>, CliError> {
    Err(CliError::usage(
        "this varscale was built without the `gpu` feature",
    ))
}

/// A zeroed buffer of `n` elements, or an error naming the size if it cannot be had.
fn buffer<T: Element>(n: u64) -> Result<Vec<T>, CliError> {
    let too_big = || {
        CliError::runtime(format!(
            "cannot allocate {n} elements of {} ({} bytes) for the benchmark",
            T::DTYPE,
            u128::from(n) * T::DTYPE.size() as u128
        ))
    };
    let n = usize::try_from(n).map_err(|_| too_big())?;
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| too_big())?;
    out.resize(n, T::default());
    Ok(out)
}

fn row(args: &BenchArgs, dtype: DType, m: Measured, timing: &Timing) -> Row {
    let eps = args.elements as f64 / timing.median();
    Row {
        method: m.method,
        device: m.device,
        adapter: m.adapter,
        threads: m.threads,
        dtype: dtype.to_string(),
        init: args.init.clone(),
        elements: args.elements,
        seconds_median: timing.median(),
        seconds_min: timing.min(),
        seconds_max: timing.max(),
        repeats: timing.samples().len(),
        elements_per_second: eps,
        bytes_per_second: eps * dtype.size() as f64,
        ceiling: m.ceiling,
        ratio_to_ceiling: None,
    }
}

/// Sets each row's ratio to the fastest ceiling measured on its device with its thread count.
fn set_ratios(rows: &mut [Row]) {
    let best: Vec<Option<f64>> = rows
        .iter()
        .map(|r| {
            rows.iter()
                .filter(|c| c.ceiling && c.device == r.device && c.threads == r.threads)
                .map(|c| c.elements_per_second)
                .reduce(f64::max)
        })
        .collect();
    for (r, best) in rows.iter_mut().zip(best) {
        r.ratio_to_ceiling = best.map(|b| r.elements_per_second / b);
    }
}

fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<24} {:<6} {:>7} {:>10} {:>8} {:>11} {:>10}\n",
        "method", "device", "threads", "Gelem/s", "GB/s", "vs ceiling", "median ms"
    );
    for r in rows {
        let ratio = r
            .ratio_to_ceiling
            .map_or_else(|| "-".to_string(), |x| format!("{x:.2}"));
        let threads = r.threads.map_or_else(|| "-".to_string(), |t| t.to_string());
        // Writing to a String cannot fail.
        let _ = writeln!(
            s,
            "{:<24} {:<6} {:>7} {:>10.3} {:>8.2} {:>11} {:>10.2}",
            r.method,
            r.device,
            threads,
            r.elements_per_second / 1e9,
            r.bytes_per_second / 1e9,
            ratio,
            r.seconds_median * 1e3
        );
    }
    if let Some(r) = rows.first() {
        let _ = write!(
            s,
            "{} elements of {}, init {}, median of {} runs",
            r.elements, r.dtype, r.init, r.repeats
        );
    }
    if let Some(adapter) = rows.iter().find_map(|r| r.adapter.as_deref()) {
        let _ = write!(s, "; GPU adapter: {adapter}");
    }
    s
}
