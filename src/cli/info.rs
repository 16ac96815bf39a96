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
        println!("GPU: none found");
    }
    for (line, _) in &gpus {
        println!("GPU: {line}");
    }
    // Mirrors `output::filler`: `auto` takes the first hardware adapter, never a software one.
    match gpus.iter().find(|(_, software)| !software) {
        Some((line, _)) => println!("--device auto picks: gpu ({line})"),
        None => println!("--device auto picks: cpu"),
    }
    Ok(())
}

/// One line per adapter (name, backend, device type, limits), with whether it is software.
#[cfg(feature = "gpu")]
fn gpu_adapters() -> Vec<(String, bool)> {
    varscale::gpu::list_adapters()
        .iter()
        .map(|a| (a.to_string(), a.is_software()))
        .collect()
}

/// Built without the `gpu` feature: no adapters.
#[cfg(not(feature = "gpu"))]
fn gpu_adapters() -> Vec<(String, bool)> {
    Vec::new()
}
