//! Command-line front end: argument parsing and dispatch to the library.

mod bench;
mod diagnose;
mod fill;
mod info;
mod model;
mod output;

use std::fmt;

use clap::{Parser, Subcommand};

/// Initialise neural-network weights, reproducibly, on CPU or GPU.
#[derive(Parser, Debug)]
#[command(name = "varscale", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Initialise one tensor and write it to .npy or .safetensors.
    Fill(fill::FillArgs),
    /// Initialise every tensor of a model spec (TOML) into one .safetensors file.
    Model(model::ModelArgs),
    /// Show the CPU SIMD level, threads, GPU adapters, and what `--device auto` picks.
    Info(info::InfoArgs),
    /// Measure fill throughput against baselines and the memory-write ceiling.
    Bench(bench::BenchArgs),
    /// Show how activations and gradients vanish or explode through a deep network.
    Diagnose(diagnose::DiagnoseArgs),
}

/// A failure of the command: a message for `varscale: <message>` and an exit status.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// Bad input from the user: exit status 2.
    pub fn usage(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 2,
        }
    }

    /// A failure while running (I/O, device): exit status 1.
    pub fn runtime(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code: 1,
        }
    }

    /// The process exit status.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<varscale::Error> for CliError {
    /// Library errors come from bad parameters, except those from a device, a write, or a
    /// cancel (exit status 130, as a shell reports SIGINT).
    fn from(e: varscale::Error) -> Self {
        match e {
            varscale::Error::Gpu(_) | varscale::Error::Io { .. } => Self::runtime(e),
            varscale::Error::FileExists { path } => Self::usage(format!(
                "{path} already exists (pass --force to overwrite it)"
            )),
            varscale::Error::Interrupted { .. } => Self {
                message: e.to_string(),
                code: 130,
            },
            _ => Self::usage(e),
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Fill(a) => fill::fill(&a),
        Command::Model(a) => model::model(&a),
        Command::Info(a) => info::info(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Diagnose(a) => diagnose::run(&a),
    }
}
