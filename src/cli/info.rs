//! `varscale info`: the CPU's SIMD level and threads, GPU adapters, and what `auto` picks.

use varscale::{Cpu, SimdLevel};

use super::CliError;

/// Arguments of `varscale info`.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {}

/// Runs `varscale info`.
pub fn info(_args: &InfoArgs) -> Result<(), CliError> {
    let supported: Vec<String> = SimdLevel::supported()
        .iter()
        .map(ToString::to_string)
        .collect();
    println!(
        "CPU: SIMD {} (supported: {})",
        SimdLevel::detect(),
        supported.join(", ")
    );
    println!("CPU threads: {}", Cpu::new().threads());
    let gpus = gpu_adapters();
    if gpus.is_empty() {
        println!("GPU: not built in");
    }
    for line in &gpus {
        println!("GPU: {line}");
    }
    // Mirrors `output::filler`: `auto` is the CPU until a GPU filler is wired in there.
    println!("--device auto picks: cpu");
    Ok(())
}

/// GPU PLUG POINT: one line per adapter (name, backend, device type, storage-buffer and
/// workgroup limits) once the wgpu backend is built into the library. Empty means none.
fn gpu_adapters() -> Vec<String> {
    Vec::new()
}
