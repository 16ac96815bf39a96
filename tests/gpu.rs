//! GPU fills seen from outside: agreement with the CPU reference, the sizes that break toy
//! versions, and the errors. Run on any adapter, software included (lavapipe in CI).

#![cfg(feature = "gpu")]

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

mod common;

use common::TestRng;
use half::{bf16, f16};
use varscale::gpu::{FillTarget, Gpu, GpuFiller, GpuOptions, Multiply, NORMAL_TOLERANCE_ULPS};
use varscale::transform::{F32Params, f32_fill_reference};
use varscale::{Cpu, DType, Initializer, Layout, Philox, Sampler};

/// One device for the whole test binary: creating one costs more than most tests.
fn gpu() -> Option<&'static Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    let gpu = GPU.get_or_init(|| match Gpu::new(&GpuOptions::allow_software()) {
        Ok(g) => {
            eprintln!(
                "gpu tests on {}; fma fused: {}",
                g.adapter(),
                g.filler().has_fused_fma()
            );
            Some(g)
        }
        Err(e) => {
            eprintln!("no GPU adapter: {e}");
            None
        }
    });
    if gpu.is_none() {
        assert!(
            std::env::var("VARSCALE_REQUIRE_GPU").as_deref() != Ok("1"),
            "VARSCALE_REQUIRE_GPU=1 but no GPU adapter was found"
        );
        eprintln!("SKIPPED: no GPU adapter (set VARSCALE_REQUIRE_GPU=1 to fail instead)");
    }
    gpu.as_ref()
}

/// Both multiply paths on the shared device: limbs, and int64 where the device has it.
fn fillers(gpu: &'static Gpu) -> Vec<&'static GpuFiller> {
    static LIMBS: OnceLock<GpuFiller> = OnceLock::new();
    let limbs = LIMBS.get_or_init(|| {
        GpuFiller::new(gpu.device(), gpu.queue(), Multiply::Limbs).expect("limb pipelines compile")
    });
    let mut out = vec![limbs];
    if gpu.filler().uses_int64() {
        out.push(gpu.filler());
    } else {
        eprintln!("adapter lacks SHADER_INT64: only the limb path is tested");
    }
    out
}

/// A fresh seed per run, printed so that a failure can be replayed.
fn fresh_seed(what: &str) -> u64 {
    let seed = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    eprintln!("{what}: seed {seed:#x}");
    seed
}

fn samplers() -> Vec<(&'static str, Sampler)> {
    let preset = |init: Initializer, shape: &[u64]| {
        init.sampler_for_shape(shape, Layout::Keras)
            .expect("valid preset")
    };
    vec![
        ("uniform", Sampler::uniform(-0.3, 1.9).expect("valid")),
        ("constant", Sampler::constant(0.125).expect("valid")),
        ("normal", Sampler::normal(0.0, 0.02).expect("valid")),
        ("normal mean 1", Sampler::normal(1.0, 0.5).expect("valid")),
        (
            "truncated",
            Sampler::truncated_normal(0.0, 1.0, -2.0, 2.0).expect("valid"),
        ),
        (
            "truncated skew",
            Sampler::truncated_normal(0.5, 2.0, -1.0, 3.0).expect("valid"),
        ),
        (
            "he_normal",
            preset(Initializer::he_normal(), &[3, 3, 64, 128]),
        ),
        (
            "glorot_uniform",
            preset(Initializer::glorot_uniform(), &[784, 256]),
        ),
        (
            "lecun_normal",
            preset(Initializer::lecun_normal(), &[512, 512]),
        ),
    ]
}

/// Whether the kind must match bit for bit (uniform, constant) or within the tolerance.
fn exact_kind(name: &str) -> bool {
    name.contains("uniform") || name.contains("constant")
}

/// The error of `got` in ulps of the distribution's scale at that value:
/// `ulp(max(|want|, |mean|, std))`. A driver that computes `fma` as a multiply and an add
/// rounds the product term once more; that error is relative to the term (`std·z`, a
/// polynomial term), not to a result that cancels (`mean + std·z` near 0), so it is measured
/// against the scale.
fn scaled_ulps(got: f32, want: f32, params: &F32Params) -> u32 {
    if got == want {
        return 0;
    }
    let scale = want.abs().max(params.mean.abs()).max(params.std);
    let ulp = f32::from_bits(scale.to_bits() + 1) - scale;
    ((f64::from(got) - f64::from(want)).abs() / f64::from(ulp)).ceil() as u32
}

/// Compares GPU values with the CPU reference: uniform and constant kinds bit for bit, the
/// normal kinds within [`NORMAL_TOLERANCE_ULPS`]. Returns (values not bit-identical, worst
/// scaled ulps).
fn compare(name: &str, params: &F32Params, got: &[f32], want: &[f32]) -> (usize, u32) {
    assert_eq!(got.len(), want.len());
    let mut differ = 0;
    let mut worst = 0;
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        if g.to_bits() != w.to_bits() {
            differ += 1;
            let u = scaled_ulps(g, w, params);
            worst = worst.max(u);
            assert!(
                !exact_kind(name) && u <= NORMAL_TOLERANCE_ULPS,
                "{name}: element {k}: gpu {g:e} cpu {w:e} ({u} ulps)"
            );
        }
    }
    (differ, worst)
}

/// A storage buffer that can also be written and read back.
fn storage(gpu: &Gpu, bytes: u64) -> wgpu::Buffer {
    gpu.create_buffer(
        bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    )
    .expect("buffer")
}

/// Random123's known answers for philox4x32_10, computed on the GPU by each multiply path.
#[test]
fn philox_known_answers_on_both_multiply_paths() {
    let Some(gpu) = gpu() else { return };
    let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0; 4],
            [0; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    let buffer = storage(gpu, 16);
    for filler in fillers(gpu) {
        for (counter, key, want) in cases {
            let rng = Philox::new(
                u64::from(key[0]) | (u64::from(key[1]) << 32),
                u64::from(counter[2]) | (u64::from(counter[3]) << 32),
            );
            let block = u64::from(counter[0]) | (u64::from(counter[1]) << 32);
            let mut encoder = gpu.device().create_command_encoder(&Default::default());
            filler
                .record_philox_words(&mut encoder, rng, block, &buffer)
                .expect("record");
            gpu.queue().submit([encoder.finish()]);
            let mut got = [0u32; 4];
            gpu.read_buffer(&buffer, 0, &mut got).expect("read");
            assert_eq!(got, want, "int64 path: {}", filler.uses_int64());
        }
    }
}

/// Every kind and preset, both multiply paths, random starts (some past 2³²), odd lengths and
/// offsets.
#[test]
fn f32_matches_the_cpu_reference() {
    let Some(gpu) = gpu() else { return };
    let mut p = TestRng::with_seed(fresh_seed("f32_matches_the_cpu_reference"));
    const MAX: usize = 40_000;
    let buffer = storage(gpu, 4 * MAX as u64 + 16);
    let mut got = vec![0f32; MAX];
    let mut want = vec![0f32; MAX];
    for filler in fillers(gpu) {
        for (name, sampler) in samplers() {
            let rng = Philox::new(p.next_u64(), p.next_u64());
            let start = match p.below(3) {
                0 => p.below(1000),
                1 => (1 << 32) - p.below(20_000),
                _ => p.next_u64() >> 2,
            };
            let len = 20_001 + p.below(19_999) as usize;
            let offset = p.below(4) * 4;
            let (got, want) = (&mut got[..len], &mut want[..len]);
            let target = FillTarget::new(&buffer, start..start + len as u64).at(offset);
            filler
                .fill(gpu.queue(), &sampler, rng, &target)
                .expect("fill");
            gpu.read_buffer(&buffer, offset, got).expect("read");
            let params = sampler.f32_params().expect("f32");
            f32_fill_reference(&params, &rng, start, want);
            let (differ, worst) = compare(name, &params, got, want);
            eprintln!(
                "{name} (int64 {}): start {start}, {len} values, {differ} not bit-identical, \
                 worst {worst} ulps",
                filler.uses_int64()
            );
        }
    }
}

/// Checks halves against the CPU's rounding of the reference (the `half` crate). Uniform and
/// constant kinds must match bit for bit. For the normal kinds, where the f32 values may
/// differ by up to [`NORMAL_TOLERANCE_ULPS`] ulps of the distribution's scale (see
/// [`scaled_ulps`]), the half must be one that some f32 within that tolerance of the CPU's
/// value rounds to: rounding is monotone, so it lies between the roundings of the two ends.
/// Away from zero that is the CPU's half or its neighbour (two f32 values a few ulps apart
/// straddling a rounding point); near zero, where `mean + std·z` cancels, a few ulps of the
/// scale span several halves.
fn check_halves(name: &str, params: &F32Params, dtype: DType, got: &[u16], want_f32: &[f32]) {
    let round = |v: f32| match dtype {
        DType::F16 => f16::from_f32(v).to_f32(),
        _ => bf16::from_f32(v).to_f32(),
    };
    let bits = |v: f32| match dtype {
        DType::F16 => f16::from_f32(v).to_bits(),
        _ => bf16::from_f32(v).to_bits(),
    };
    let value = |h: u16| match dtype {
        DType::F16 => f16::from_bits(h).to_f32(),
        _ => bf16::from_bits(h).to_f32(),
    };
    for (k, (&g, &w)) in got.iter().zip(want_f32).enumerate() {
        let want = bits(w);
        if g == want {
            continue;
        }
        let scale = w.abs().max(params.mean.abs()).max(params.std);
        let slack = (f32::from_bits(scale.to_bits() + 1) - scale) * NORMAL_TOLERANCE_ULPS as f32;
        let (lo, hi) = (round(w - slack), round(w + slack));
        let v = value(g);
        assert!(
            !exact_kind(name) && lo <= v && v <= hi,
            "{name} {dtype}: element {k}: gpu {g:#06x} cpu {want:#06x} (from {w:e}; halves \
             within the tolerance: {lo:e} ..= {hi:e})"
        );
    }
}

/// Halves at odd positions and odd lengths, with neighbours that must survive.
#[test]
fn halves_at_odd_offsets_keep_their_neighbours() {
    let Some(gpu) = gpu() else { return };
    let mut p = TestRng::with_seed(fresh_seed("halves_at_odd_offsets"));
    const WORDS: usize = 4096;
    let buffer = storage(gpu, 4 * WORDS as u64);
    let sentinel = vec![0xa5a5u16; 2 * WORDS];
    for filler in fillers(gpu) {
        for dtype in [DType::F16, DType::BF16] {
            for (name, sampler) in samplers() {
                // Random position and start: their difference mod 4 takes every value.
                let first = 1 + p.below(64) as usize;
                // Start 0 often: the first block before it is the one at 2⁶⁴ − 1.
                let start = if p.below(3) == 0 { 0 } else { p.below(1 << 34) };
                let len = 1 + p.below(7000) as usize;
                let rng = Philox::new(p.next_u64(), p.next_u64());
                gpu.queue()
                    .write_buffer(&buffer, 0, bytemuck::cast_slice(&sentinel));
                let target = FillTarget::new(&buffer, start..start + len as u64)
                    .dtype(dtype)
                    .at(2 * first as u64);
                filler
                    .fill(gpu.queue(), &sampler, rng, &target)
                    .expect("fill");
                let mut all = vec![0u16; 2 * WORDS];
                gpu.read_buffer(&buffer, 0, &mut all).expect("read");
                let mut want = vec![0f32; len];
                f32_fill_reference(&sampler.f32_params().expect("f32"), &rng, start, &mut want);
                let params = sampler.f32_params().expect("f32");
                check_halves(name, &params, dtype, &all[first..first + len], &want);
                assert!(all[..first].iter().all(|&h| h == 0xa5a5), "{name}: before");
                assert!(
                    all[first + len..].iter().all(|&h| h == 0xa5a5),
                    "{name}: after"
                );
            }
        }
    }
}

/// f32 at every position mod 4 and odd lengths, in buffers whose size is and is not a multiple
/// of 16 bytes: the whole 16-byte slots, the partly covered first and last slots (read, merged
/// and written back) and the tail past a binding's last whole slot all give the reference's
/// values, and every neighbour survives.
#[test]
fn f32_at_odd_positions_keeps_its_neighbours() {
    let Some(gpu) = gpu() else { return };
    let mut p = TestRng::with_seed(fresh_seed("f32_at_odd_positions"));
    const SENTINEL: u32 = 0x7fc0_a5a5;
    for filler in fillers(gpu) {
        for (name, sampler) in samplers() {
            let first = p.below(64) as usize;
            let start = if p.below(3) == 0 { 0 } else { p.below(1 << 34) };
            let len = 1 + p.below(7000) as usize;
            // Room after the range: none, or a few words, so the binding may end mid-slot.
            let words = first + len + p.below(4) as usize;
            let buffer = storage(gpu, 4 * words as u64);
            let rng = Philox::new(p.next_u64(), p.next_u64());
            gpu.queue()
                .write_buffer(&buffer, 0, bytemuck::cast_slice(&vec![SENTINEL; words]));
            let target = FillTarget::new(&buffer, start..start + len as u64).at(4 * first as u64);
            filler
                .fill(gpu.queue(), &sampler, rng, &target)
                .expect("fill");
            let mut all = vec![0f32; words];
            gpu.read_buffer(&buffer, 0, &mut all).expect("read");
            let params = sampler.f32_params().expect("f32");
            let mut want = vec![0f32; len];
            f32_fill_reference(&params, &rng, start, &mut want);
            let ctx = format!("{name}: position {first}, start {start}, {len} values in {words}");
            compare(&ctx, &params, &all[first..first + len], &want);
            let kept = |v: &[f32]| v.iter().all(|x| x.to_bits() == SENTINEL);
            assert!(
                kept(&all[..first]),
                "{ctx}: a value before the range changed"
            );
            assert!(
                kept(&all[first + len..]),
                "{ctx}: a value after the range changed"
            );
        }
    }
}

/// Standalone fills into slices of each type equal the CPU backend's.
#[test]
fn standalone_fill_matches_cpu_for_each_type() {
    let Some(gpu) = gpu() else { return };
    let mut p = TestRng::with_seed(fresh_seed("standalone_fill"));
    let sampler = Initializer::glorot_uniform()
        .sampler_for_shape(&[300, 200], Layout::Torch)
        .expect("valid");
    let rng = Philox::new(p.next_u64(), p.next_u64());
    let start = p.below(1 << 40);
    let n = 60_001;
    let got: Vec<f32> = gpu.fill_vec(&sampler, rng, start..start + n).expect("gpu");
    let mut want = vec![0f32; n as usize];
    Cpu::new()
        .fill(&sampler, rng, start, &mut want)
        .expect("cpu");
    assert!(
        got.iter()
            .zip(&want)
            .all(|(g, w)| g.to_bits() == w.to_bits())
    );

    let mut got = vec![f16::ZERO; n as usize];
    gpu.fill(&sampler, rng, start, &mut got).expect("gpu");
    let mut want = vec![f16::ZERO; n as usize];
    Cpu::new()
        .fill(&sampler, rng, start, &mut want)
        .expect("cpu");
    assert_eq!(got, want);

    let got: Vec<bf16> = gpu.fill_vec(&sampler, rng, start..start + n).expect("gpu");
    let mut want = vec![bf16::ZERO; n as usize];
    Cpu::new()
        .fill(&sampler, rng, start, &mut want)
        .expect("cpu");
    assert_eq!(got, want);
}

/// A tensor in shards over several buffers, recorded into one host encoder, equals the whole
/// tensor on the CPU.
#[test]
fn shards_over_several_buffers_equal_the_whole_tensor() {
    let Some(gpu) = gpu() else { return };
    let mut p = TestRng::with_seed(fresh_seed("shards"));
    let sampler = Sampler::uniform(-1.0, 1.0).expect("valid");
    let rng = Philox::new(p.next_u64(), p.next_u64());
    let n = 50_000u64;
    let cut1 = 1 + p.below(n - 2);
    let cut2 = cut1 + 1 + p.below(n - cut1 - 1);
    let mut whole = vec![0f32; n as usize];
    Cpu::new().fill(&sampler, rng, 0, &mut whole).expect("cpu");
    let mut encoder = gpu.device().create_command_encoder(&Default::default());
    let mut shards = Vec::new();
    for (k, range) in [0..cut1, cut1..cut2, cut2..n].into_iter().enumerate() {
        let offset = 12 * k as u64;
        let buffer = storage(gpu, offset + 4 * (range.end - range.start));
        let target = FillTarget::new(&buffer, range.clone()).at(offset);
        gpu.filler()
            .record(&mut encoder, &sampler, rng, &target)
            .expect("record");
        shards.push((buffer, offset, range));
    }
    // The host decides when to submit: nothing ran before this.
    gpu.queue().submit([encoder.finish()]);
    for (buffer, offset, range) in shards {
        let mut got = vec![0f32; (range.end - range.start) as usize];
        gpu.read_buffer(&buffer, offset, &mut got).expect("read");
        assert!(
            got.iter()
                .zip(&whole[range.start as usize..range.end as usize])
                .all(|(g, w)| g.to_bits() == w.to_bits()),
            "shard {range:?}"
        );
    }
}

/// Index of the first element that differs in bits, if any.
fn first_difference<T: bytemuck::Pod + PartialEq>(got: &[T], want: &[T]) -> Option<usize> {
    assert_eq!(got.len(), want.len());
    got.iter().zip(want).position(|(g, w)| g != w)
}

/// A tensor larger than the storage binding limit (windows), at an unaligned offset, across
/// index 2³².
#[test]
fn f32_tensor_larger_than_a_binding() {
    let Some(gpu) = gpu() else { return };
    let max_bind = gpu.device().limits().max_storage_buffer_binding_size;
    // 2.5 bindings on lavapipe (320 MiB); capped at 384 MiB so that a GPU with 2 GiB bindings
    // stays quick: there the windowing is covered by the unit tests and the 2-D grid here.
    let bytes = (max_bind * 5 / 2).min(384 << 20);
    let n = (bytes / 4 - 7) as usize;
    let offset = 28u64;
    let start = (1u64 << 32) - 1000;
    eprintln!(
        "{n} f32 ({} MiB), binding windows of {max_bind} bytes",
        bytes >> 20
    );
    let rng = Philox::new(fresh_seed("f32_tensor_larger_than_a_binding"), 11);
    let sampler = Sampler::uniform(-2.0, 2.0).expect("valid");
    let buffer = storage(gpu, offset + 4 * n as u64);
    let target = FillTarget::new(&buffer, start..start + n as u64).at(offset);
    gpu.filler()
        .fill(gpu.queue(), &sampler, rng, &target)
        .expect("fill");
    let mut got = vec![0f32; n];
    gpu.read_buffer(&buffer, offset, &mut got).expect("read");
    let mut want = vec![0f32; n];
    Cpu::new()
        .fill(&sampler, rng, start, &mut want)
        .expect("cpu");
    assert_eq!(first_difference(&got, &want), None);
}

/// A half tensor over several windows, at an odd position: windows never split a word. On
/// lavapipe a full 128 MiB window is 2²⁴ invocations in 262,144 workgroups, four times what
/// one dimension holds, so the 2-D grid is exercised.
#[test]
fn half_tensor_larger_than_a_binding() {
    let Some(gpu) = gpu() else { return };
    let max_bind = gpu.device().limits().max_storage_buffer_binding_size;
    let n = ((max_bind * 3 / 2).min(192 << 20) / 2 + 3) as usize;
    let first = 3u64;
    let rng = Philox::new(fresh_seed("half_tensor_larger_than_a_binding"), 3);
    let sampler = Sampler::uniform(-1.0, 1.0).expect("valid");
    let buffer = storage(gpu, (2 * (first + n as u64)).next_multiple_of(4));
    let target = FillTarget::new(&buffer, 0..n as u64)
        .dtype(DType::BF16)
        .at(2 * first);
    gpu.filler()
        .fill(gpu.queue(), &sampler, rng, &target)
        .expect("fill");
    let mut all = vec![bf16::ZERO; n + first as usize];
    gpu.read_buffer(&buffer, 0, &mut all).expect("read");
    let mut want = vec![bf16::ZERO; n];
    Cpu::new().fill(&sampler, rng, 0, &mut want).expect("cpu");
    assert_eq!(first_difference(&all[first as usize..], &want), None);
}

fn gpu_error(r: varscale::Result<()>) -> String {
    match r {
        Err(varscale::Error::Gpu(m)) => m,
        other => panic!("expected Error::Gpu, got {other:?}"),
    }
}

#[test]
fn bad_targets_are_errors_naming_the_value() {
    let Some(gpu) = gpu() else { return };
    let sampler = Sampler::normal(0.0, 1.0).expect("valid");
    let rng = Philox::new(1, 2);
    let f = gpu.filler();
    let q = gpu.queue();

    let no_storage = gpu
        .create_buffer(64, wgpu::BufferUsages::COPY_SRC)
        .expect("buffer");
    let m = gpu_error(f.fill(q, &sampler, rng, &FillTarget::new(&no_storage, 0..4)));
    assert!(m.contains("STORAGE"), "{m}");

    let buffer = storage(gpu, 64);
    let m = gpu_error(f.fill(q, &sampler, rng, &FillTarget::new(&buffer, 0..4).at(6)));
    assert!(m.contains("byte offset 6") && m.contains("f32"), "{m}");

    let m = gpu_error(f.fill(q, &sampler, rng, &FillTarget::new(&buffer, 0..15).at(8)));
    assert!(m.contains("15 f32") && m.contains("64 bytes"), "{m}");

    #[allow(clippy::reversed_empty_ranges)]
    let reversed = FillTarget::new(&buffer, 5..3);
    let m = gpu_error(f.fill(q, &sampler, rng, &reversed));
    assert!(m.contains("5..3"), "{m}");

    // Halves cannot start inside a byte pair, and are written as whole words.
    let half = FillTarget::new(&buffer, 0..4).dtype(DType::F16);
    let m = gpu_error(f.fill(q, &sampler, rng, &half.at(3)));
    assert!(m.contains("byte offset 3") && m.contains("f16"), "{m}");
    // Two halves at byte 2 of a 6-byte buffer fit, but the word holding the second does not.
    let six = gpu.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("six bytes"),
        size: 6,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let six_target = FillTarget::new(&six, 0..2).dtype(DType::F16).at(2);
    let m = gpu_error(f.fill(q, &sampler, rng, &six_target));
    assert!(
        m.contains("2 f16") && m.contains("whole 4-byte words"),
        "{m}"
    );

    let f64_target = FillTarget::new(&buffer, 0..2).dtype(DType::F64);
    let m = gpu_error(f.fill(q, &sampler, rng, &f64_target));
    assert!(m.contains("f64"), "{m}");
    let mut out = vec![0f64; 8];
    assert!(gpu_error(gpu.fill(&sampler, rng, 0, &mut out)).contains("f64"));

    // Reading back needs COPY_SRC.
    let storage_only = gpu
        .create_buffer(16, wgpu::BufferUsages::STORAGE)
        .expect("buffer");
    let m = gpu_error(gpu.read_buffer(&storage_only, 0, &mut [0u32; 4]));
    assert!(m.contains("COPY_SRC"), "{m}");
}

#[test]
fn oversized_buffer_is_an_error() {
    let Some(gpu) = gpu() else { return };
    let too_big = gpu.device().limits().max_buffer_size + 4;
    let m = gpu_error(
        gpu.create_buffer(too_big, wgpu::BufferUsages::STORAGE)
            .map(|_| ()),
    );
    assert!(m.contains(&too_big.to_string()), "{m}");
}

/// A destroyed device reports itself lost instead of panicking. Uses its own device.
#[test]
fn lost_device_is_an_error() {
    if gpu().is_none() {
        return;
    }
    let own = Gpu::new(&GpuOptions::allow_software()).expect("second device");
    own.device().destroy();
    let sampler = Sampler::uniform(0.0, 1.0).expect("valid");
    let mut out = vec![0f32; 1000];
    let m = gpu_error(own.fill(&sampler, Philox::new(0, 0), 0, &mut out));
    assert!(m.contains("lost"), "{m}");
}

/// The default options never pick a software adapter; with none else, the error says so.
#[test]
fn default_options_refuse_software_adapters() {
    let adapters = varscale::gpu::list_adapters();
    for a in &adapters {
        eprintln!("adapter: {a}");
    }
    match Gpu::new(&GpuOptions::default()) {
        Ok(g) => assert!(!g.adapter().is_software(), "{}", g.adapter()),
        Err(e) => {
            assert!(adapters.iter().all(|a| a.is_software()), "{e}");
            let m = e.to_string();
            assert!(
                m.contains("no hardware GPU adapter") || m.contains("no GPU adapter"),
                "{m}"
            );
        }
    }
}

/// The uniform's multiply-add against the CPU's fused one over awkward parameters: midpoints
/// that nearly cancel the scaled term, ranges far from zero, tiny and huge scales, and centred
/// ranges. Where the device's `fma` is unfused this exercises the shader's integer `fma_exact`,
/// and its plain product for centred ranges.
#[test]
fn uniform_is_bit_identical_over_awkward_ranges() {
    let Some(gpu) = gpu() else { return };
    let mut p = TestRng::with_seed(fresh_seed("uniform_awkward_ranges"));
    const N: usize = 4099;
    let buffer = storage(gpu, 4 * N as u64);
    let mut got = vec![0f32; N];
    let mut want = vec![0f32; N];
    // A random f32 in ±[2^lo, 2^hi) with a random 24-bit significand.
    let mut value = |lo: i32, hi: i32| {
        let m = 1.0 + (p.next_u64() >> 40) as f64 / (1u64 << 24) as f64;
        let e = lo + (p.next_u64() % (hi - lo) as u64) as i32;
        let s = if p.next_u64() & 1 == 0 { 1.0 } else { -1.0 };
        s * m * 2f64.powi(e)
    };
    let mut ranges = Vec::new();
    for _ in 0..40 {
        let (a, b) = (value(-30, 30), value(-30, 30));
        ranges.push((
            a.min(b),
            a.max(b) + f64::from(f32::EPSILON) * a.abs().max(b.abs()),
        ));
        // Nearly symmetric: the midpoint is tiny next to the half-width.
        let h = value(-10, 10).abs();
        ranges.push((-h, h * (1.0 + value(-20, -12).abs())));
        // Narrow, far from zero: the scaled term is tiny next to the midpoint.
        let c = value(0, 20);
        ranges.push((c, c + c.abs() * value(-22, -10).abs()));
        // Centred, where an unfused device multiplies instead (for |b| ≥ 2⁻¹⁰²): any scale,
        // down to where the products are subnormal.
        let h = value(-130, 30).abs();
        ranges.push((-h, h));
    }
    // Each side of the 2⁻¹⁰² threshold of the plain product.
    for e in [-103, -102, -101] {
        for m in [
            1.0,
            1.0 + f64::from(f32::EPSILON),
            2.0 - f64::from(f32::EPSILON),
        ] {
            let h = m * 2f64.powi(e);
            ranges.push((-h, h));
        }
    }
    for filler in fillers(gpu) {
        for &(low, high) in &ranges {
            let Ok(sampler) = Sampler::uniform(low, high) else {
                continue;
            };
            let rng = Philox::new(p.next_u64(), p.next_u64());
            let target = FillTarget::new(&buffer, 0..N as u64);
            filler
                .fill(gpu.queue(), &sampler, rng, &target)
                .expect("fill");
            gpu.read_buffer(&buffer, 0, &mut got).expect("read");
            let params = sampler.f32_params().expect("f32");
            f32_fill_reference(&params, &rng, 0, &mut want);
            assert_eq!(
                first_difference(&got, &want),
                None,
                "uniform({low:e}, {high:e}), fused fma: {}",
                filler.has_fused_fma()
            );
        }
    }
}
