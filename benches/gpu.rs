//! GPU fill throughput against a plain write of the same buffer, in the same run.
//!
//! - resident: the values stay on the device (he_normal, normal(0, 0.02) and uniform f32, each
//!   multiply path);
//! - readback: the values are copied into an existing host `Vec`;
//! - baselines: `clear_buffer` and the constant-write shader on the same buffer, and the
//!   SIMD CPU backend filling a host `Vec` of the same size.
//!
//! GPU timings submit and then wait for the queue to drain (`Device::poll` with
//! `PollType::wait_indefinitely`), so each sample is one complete fill.
//!
//! Without an adapter (software included) the bench prints that it was skipped.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use varscale::gpu::{FillTarget, Gpu, GpuFiller, GpuOptions, Multiply};
use varscale::{Cpu, Initializer, Layout, Philox, Sampler};

/// 64 Mi f32 elements: 256 MiB, well past any cache.
const ELEMENTS: u64 = 64 << 20;

fn wait(gpu: &Gpu) {
    gpu.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("GPU wait");
}

fn bench(c: &mut Criterion) {
    let gpu = match Gpu::new(&GpuOptions::allow_software()) {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("SKIPPED: no GPU adapter ({e})");
            return;
        }
    };
    eprintln!("adapter: {}", gpu.adapter());
    let bytes = ELEMENTS * 4;
    let buffer = gpu
        .create_buffer(
            bytes,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        )
        .expect("buffer");
    let he_normal = Initializer::he_normal()
        .sampler_for_shape(&[4096, 4096], Layout::Keras)
        .expect("preset");
    let normal = Sampler::normal(0.0, 0.02).expect("valid");
    let uniform = Sampler::uniform(-0.05, 0.05).expect("valid");
    let constant = Sampler::constant(0.0).expect("valid");
    let rng = Philox::new(42, 7);
    let target = FillTarget::new(&buffer, 0..ELEMENTS);
    let limbs = GpuFiller::new(gpu.device(), gpu.queue(), Multiply::Limbs).expect("limb pipelines");
    let mut fillers = vec![("limbs", &limbs)];
    if gpu.filler().uses_int64() {
        fillers.push(("int64", gpu.filler()));
    }

    let mut group = c.benchmark_group("fill_64Mi_f32");
    group
        .throughput(Throughput::Bytes(bytes))
        // One fill is 10 to 500 ms on lavapipe: ten flat samples keep the run short.
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1));

    group.bench_function("clear_buffer", |b| {
        b.iter(|| {
            let mut encoder = gpu.device().create_command_encoder(&Default::default());
            encoder.clear_buffer(&buffer, 0, None);
            gpu.queue().submit([encoder.finish()]);
            wait(&gpu);
        })
    });
    group.bench_function("constant_shader", |b| {
        b.iter(|| {
            gpu.filler()
                .fill(gpu.queue(), &constant, rng, &target)
                .expect("fill");
            wait(&gpu);
        })
    });
    for (path, filler) in &fillers {
        for (name, sampler) in [
            ("he_normal", &he_normal),
            ("normal", &normal),
            ("uniform", &uniform),
        ] {
            group.bench_function(format!("{name}_{path}"), |b| {
                b.iter(|| {
                    filler
                        .fill(gpu.queue(), sampler, rng, &target)
                        .expect("fill");
                    wait(&gpu);
                })
            });
        }
    }

    // Readback into a Vec allocated once, so that page faults are not counted.
    let mut host = vec![0f32; ELEMENTS as usize];
    group.bench_function("he_normal_readback", |b| {
        b.iter(|| gpu.fill(&he_normal, rng, 0, &mut host).expect("fill"))
    });
    let cpu = Cpu::new();
    group.bench_function("he_normal_cpu_simd", |b| {
        b.iter(|| cpu.fill(&he_normal, rng, 0, &mut host).expect("fill"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
