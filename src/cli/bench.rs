//! `varscale bench` (being written).

use super::CliError;

/// Arguments of `varscale bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {}

/// Runs `varscale bench`.
pub fn run(_args: &BenchArgs) -> Result<(), CliError> {
    Err(CliError::usage(
        "'bench' is not available in this build yet",
    ))
}
