//! `varscale model`: initialise every tensor of a model spec into one `.safetensors` file.

use std::path::PathBuf;

use varscale::DType;
use varscale::io::{Format, read_safetensors_header};
use varscale::model::{ModelSpec, Overrides};

use super::CliError;
use super::output::{self, WriteArgs, parse_dtype};

/// Arguments of `varscale model`.
#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// The model spec (TOML): defaults, name rules and tensors.
    spec: PathBuf,
    /// Take names, shapes and dtypes from this checkpoint's header (its data is not read).
    #[arg(long)]
    like: Option<PathBuf>,
    /// Philox seed (default: the spec's `seed`, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Element type for every tensor (default: per tensor, from the spec or --like).
    #[arg(long, value_parser = parse_dtype)]
    dtype: Option<DType>,
    #[command(flatten)]
    write: WriteArgs,
}

/// Runs `varscale model`.
pub fn model(args: &ModelArgs) -> Result<(), CliError> {
    Format::from_path(&args.write.out)?;
    // A missing or unreadable input is bad input (exit 2), unlike a failing output.
    let spec = ModelSpec::from_file(&args.spec).map_err(CliError::usage)?;
    let like = match &args.like {
        Some(path) => Some(read_safetensors_header(path).map_err(CliError::usage)?),
        None => None,
    };
    let overrides = Overrides {
        seed: args.seed,
        dtype: args.dtype,
    };
    let tensors = spec.plan(like.as_deref(), &overrides)?;
    output::write(&args.write, &tensors)?;
    Ok(())
}
