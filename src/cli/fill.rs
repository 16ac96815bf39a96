//! `varscale fill`, `model` and `info` (being written).

use super::CliError;

/// Arguments of `varscale fill`.
#[derive(clap::Args, Debug)]
pub struct FillArgs {}

/// Arguments of `varscale model`.
#[derive(clap::Args, Debug)]
pub struct ModelArgs {}

/// Arguments of `varscale info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {}

/// Runs `varscale fill`.
pub fn fill(_args: &FillArgs) -> Result<(), CliError> {
    Err(CliError::usage("'fill' is not available in this build yet"))
}

/// Runs `varscale model`.
pub fn model(_args: &ModelArgs) -> Result<(), CliError> {
    Err(CliError::usage(
        "'model' is not available in this build yet",
    ))
}

/// Runs `varscale info`.
pub fn info(_args: &InfoArgs) -> Result<(), CliError> {
    Err(CliError::usage("'info' is not available in this build yet"))
}
