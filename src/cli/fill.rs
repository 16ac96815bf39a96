//! `varscale fill`: initialise one tensor and write it to `.npy` or `.safetensors`.

use varscale::io::{Format, TensorPlan};
use varscale::{DType, Initializer, Layout, stream_for_name};

use super::CliError;
use super::output::{self, Shape, WriteArgs, parse_dtype, parse_layout, parse_shape};

/// Arguments of `varscale fill`.
#[derive(clap::Args, Debug)]
pub struct FillArgs {
    /// Shape, comma-separated, e.g. 64,3,3,3.
    #[arg(long, value_parser = parse_shape, allow_hyphen_values = true)]
    shape: Shape,
    /// Initializer, e.g. he_normal, normal(std=0.02), kaiming_uniform(a=2.236).
    #[arg(long, default_value = "glorot_uniform")]
    init: Initializer,
    /// How the shape's dims map to fans: keras (..., in, out) or torch (out, in, ...).
    #[arg(long, value_parser = parse_layout, default_value = "keras")]
    layout: Layout,
    /// Philox seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Philox stream id (default: derived from --name).
    #[arg(long, conflicts_with = "name")]
    stream: Option<u64>,
    /// Tensor name: names it in a .safetensors file and, without --stream, gives its stream
    /// (FNV-1a 64 of the name), so it matches the same tensor of `varscale model`.
    #[arg(long, default_value = "weight")]
    name: String,
    /// Element type: f32, f64, f16 or bf16.
    #[arg(long, value_parser = parse_dtype, default_value = "f32")]
    dtype: DType,
    #[command(flatten)]
    write: WriteArgs,
}

/// Runs `varscale fill`.
pub fn fill(args: &FillArgs) -> Result<(), CliError> {
    Format::from_path(&args.write.out)?;
    let stream = args.stream.unwrap_or_else(|| stream_for_name(&args.name));
    let tensor = TensorPlan::with_stream(
        &args.name,
        &args.shape.0,
        args.dtype,
        args.init,
        args.layout,
        args.seed,
        stream,
    )?;
    output::write(&args.write, &[tensor])?;
    Ok(())
}
