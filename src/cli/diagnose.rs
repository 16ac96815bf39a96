//! `varscale diagnose` (being written).

use super::CliError;

/// Arguments of `varscale diagnose`.
#[derive(clap::Args, Debug)]
pub struct DiagnoseArgs {}

/// Runs `varscale diagnose`.
pub fn run(_args: &DiagnoseArgs) -> Result<(), CliError> {
    Err(CliError::usage(
        "'diagnose' is not available in this build yet",
    ))
}
