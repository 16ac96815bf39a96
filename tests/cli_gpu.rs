//! `--device gpu` and `--device auto` through the binary.
#![cfg(feature = "gpu")]

use assert_cmd::Command;

fn fill(dir: &std::path::Path, device: &str, init: &str) -> (std::process::Output, Vec<u8>) {
    let out = dir.join(format!("{device}.safetensors"));
    let result = Command::cargo_bin("varscale")
        .unwrap()
        .args([
            "fill", "--shape", "333,77", "--seed", "5", "--name", "w", "--dtype", "bf16",
        ])
        .args(["--init", init, "--device", device, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    (result, std::fs::read(&out).unwrap_or_default())
}

#[test]
fn gpu_uniform_file_equals_cpu_file() {
    let dir = tempfile::tempdir().unwrap();
    let init = "uniform(low=-0.5, high=1.5)";
    let (gpu, gpu_bytes) = fill(dir.path(), "gpu", init);
    if !gpu.status.success() {
        let err = String::from_utf8_lossy(&gpu.stderr);
        let required = std::env::var("VARSCALE_REQUIRE_GPU").is_ok_and(|v| v == "1");
        assert!(
            !required && err.contains("adapter"),
            "--device gpu failed: {err}"
        );
        eprintln!("SKIPPED: no GPU adapter for --device gpu (set VARSCALE_REQUIRE_GPU=1 to fail)");
        return;
    }
    let (cpu, cpu_bytes) = fill(dir.path(), "cpu", init);
    assert!(cpu.status.success());
    assert!(String::from_utf8_lossy(&gpu.stdout).contains("on gpu"));
    assert_eq!(
        gpu_bytes, cpu_bytes,
        "uniform values must be bit-identical on GPU and CPU"
    );
}

#[test]
fn auto_never_takes_a_software_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let (auto, _) = fill(dir.path(), "auto", "he_normal");
    assert!(auto.status.success());
    let adapters = varscale::gpu::list_adapters();
    let stdout = String::from_utf8_lossy(&auto.stdout);
    if adapters.iter().all(|a| a.is_software()) {
        assert!(stdout.contains("on cpu"), "{stdout}");
    } else {
        assert!(stdout.contains("on gpu"), "{stdout}");
    }
}
