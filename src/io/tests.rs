use std::path::PathBuf;

use ::safetensors::SafeTensors;

use super::*;
use crate::cpu::SimdLevel;

/// The scalar reference for a tensor, as bytes: the values every backend must match.
fn reference_bytes(t: &TensorPlan) -> Vec<u8> {
    let cpu = Cpu::new().with_level(SimdLevel::Scalar).unwrap();
    let n = t.numel() as usize;
    fn fill<T: crate::Element>(cpu: &Cpu, t: &TensorPlan, n: usize) -> Vec<u8> {
        let mut v = vec![T::default(); n];
        cpu.fill(t.sampler(), t.rng(), 0, &mut v).unwrap();
        bytemuck::cast_slice(&v).to_vec()
    }
    match t.dtype() {
        DType::F32 => fill::<f32>(&cpu, t, n),
        DType::F64 => fill::<f64>(&cpu, t, n),
        DType::F16 => fill::<f16>(&cpu, t, n),
        DType::BF16 => fill::<bf16>(&cpu, t, n),
    }
}

/// A few tensors of every dtype with shapes and a seed drawn afresh.
fn random_tensors() -> Vec<TensorPlan> {
    let seed: u64 = rand::random();
    let inits = [
        "he_normal",
        "glorot_uniform",
        "truncated_normal(std=0.5)",
        "zeros",
    ];
    [DType::F32, DType::F16, DType::F64, DType::BF16, DType::F32]
        .iter()
        .enumerate()
        .map(|(k, &dtype)| {
            let r: u64 = rand::random();
            let shape = [1 + r % 37, 1 + (r >> 8) % 29];
            let init: Initializer = inits[k % inits.len()].parse().unwrap();
            TensorPlan::new(&format!("t{k}"), &shape, dtype, init, Layout::Keras, seed).unwrap()
        })
        .collect()
}

fn write(path: &Path, tensors: &[TensorPlan], chunk_bytes: usize) -> Result<WriteSummary> {
    let options = WriteOptions {
        chunk_bytes,
        ..WriteOptions::default()
    };
    write_tensors(path, tensors, &Cpu::new(), &options, &mut |_| {})
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tmp"))
        .collect()
}

#[test]
fn chunked_safetensors_equal_the_one_shot_reference() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = random_tensors();
    // 8 bytes splits every tensor into many chunks, 40 leaves ragged ends; the large size
    // writes each tensor in one chunk.
    for chunk in [8, 40, 1 << 20] {
        let path = dir.path().join(format!("c{chunk}.safetensors"));
        let summary = write(&path, &tensors, chunk).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(summary.file_bytes, bytes.len() as u64);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.len(), tensors.len());
        for t in &tensors {
            let view = st.tensor(t.name()).unwrap();
            let shape: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
            assert_eq!(shape, t.shape());
            assert_eq!(
                view.data(),
                reference_bytes(t),
                "{} chunk {chunk}",
                t.name()
            );
            // Every tensor is aligned to its element size within the file.
            let offset = view.data().as_ptr() as usize - bytes.as_ptr() as usize;
            assert_eq!(offset % t.dtype().size(), 0, "{}", t.name());
        }
    }
}

#[test]
fn npy_header_is_64_aligned_and_data_follows() {
    let dir = tempfile::tempdir().unwrap();
    for (k, dtype) in [DType::F32, DType::F64, DType::F16].into_iter().enumerate() {
        let t = &random_tensors()[0];
        let t = TensorPlan::new("x", t.shape(), dtype, *t.init(), Layout::Keras, k as u64).unwrap();
        let path = dir.path().join(format!("{dtype}.npy"));
        write(&path, std::slice::from_ref(&t), 24).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        let dims: Vec<String> = t.shape().iter().map(u64::to_string).collect();
        assert!(
            header.contains(&format!("'shape': ({})", dims.join(", "))),
            "{header}"
        );
        assert!(header.ends_with('\n'));
        assert_eq!(&bytes[10 + header_len..], reference_bytes(&t));
    }
}

/// Overwrites a file holding `old` through `filler` with `options` (8-byte chunks, overwrite
/// allowed); returns the result after checking that the old file and no temp file remain.
fn failed_overwrite(filler: &dyn Filler, cancel: Option<Arc<AtomicBool>>) -> Result<WriteSummary> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    std::fs::write(&path, b"old").unwrap();
    let options = WriteOptions {
        chunk_bytes: 8,
        overwrite: true,
        cancel,
        ..WriteOptions::default()
    };
    let result = write_tensors(&path, &random_tensors(), filler, &options, &mut |_| {});
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert!(leftovers(dir.path()).is_empty());
    result
}

#[test]
fn cancel_leaves_nothing_and_keeps_the_old_file() {
    let err = failed_overwrite(&Cpu::new(), Some(Arc::new(AtomicBool::new(true))));
    assert!(matches!(err, Err(Error::Interrupted { .. })), "{err:?}");
}

/// A filler that fails after a few chunks, as a device might midway.
struct Failing(std::sync::atomic::AtomicUsize);

impl Filler for Failing {
    fn device(&self) -> String {
        "failing".into()
    }

    fn fill_chunk(&self, s: &Sampler, rng: Philox, start: u64, chunk: ChunkMut<'_>) -> Result<()> {
        if self.0.fetch_add(1, Ordering::Relaxed) == 3 {
            return Err(Error::Gpu("device lost".into()));
        }
        Cpu::new().fill_chunk(s, rng, start, chunk)
    }
}

#[test]
fn a_failure_midway_leaves_the_old_file() {
    let err = failed_overwrite(&Failing(0.into()), None);
    assert_eq!(err, Err(Error::Gpu("device lost".into())));
}

#[test]
fn existing_target_needs_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    std::fs::write(&path, b"old").unwrap();
    let err = write(&path, &random_tensors(), 64).unwrap_err();
    assert!(matches!(err, Error::FileExists { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
}

#[test]
fn progress_counts_every_byte_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = random_tensors();
    let mut last = None;
    let options = WriteOptions {
        chunk_bytes: 16,
        ..WriteOptions::default()
    };
    let path = dir.path().join("p.safetensors");
    write_tensors(&path, &tensors, &Cpu::new(), &options, &mut |p| {
        last = Some(p)
    })
    .unwrap();
    let total: u64 = tensors.iter().map(TensorPlan::bytes).sum();
    let expected = Progress {
        bytes_done: total,
        bytes_total: total,
        tensors_done: tensors.len(),
    };
    assert_eq!(last, Some(expected));
}

#[test]
fn header_round_trip_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = random_tensors();
    let path = dir.path().join("h.safetensors");
    write(&path, &tensors, 1 << 20).unwrap();
    let mut read = read_safetensors_header(&path).unwrap();
    read.sort_by(|a, b| a.name.cmp(&b.name));
    let mut expected: Vec<TensorHeader> = tensors
        .iter()
        .map(|t| TensorHeader {
            name: t.name().into(),
            shape: t.shape().to_vec(),
            dtype: t.dtype(),
        })
        .collect();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(read, expected);

    for (name, bytes) in [
        ("short", b"abc".to_vec()),
        ("huge-length", u64::MAX.to_le_bytes().to_vec()),
        (
            "not-json",
            [8u64.to_le_bytes().to_vec(), b"notjson!".to_vec()].concat(),
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = read_safetensors_header(&p).unwrap_err().to_string();
        assert!(e.contains("not a safetensors file"), "{name}: {e}");
    }
    // A truncated file: the header promises more data than there is.
    let bytes = std::fs::read(&path).unwrap();
    let p = dir.path().join("truncated.safetensors");
    std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
    let e = read_safetensors_header(&p).unwrap_err().to_string();
    assert!(e.contains("describes"), "{e}");
}

#[test]
fn bad_inputs_name_the_value() {
    let e = Format::from_path(Path::new("w.pt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains(".pt"), "{e}");
    let e = TensorPlan::new(
        "w",
        &[4, 0],
        DType::F32,
        Initializer::zeros(),
        Layout::Keras,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("dimension 1 is 0"), "{e}");
    let e = TensorPlan::new(
        "w",
        &[1 << 62, 4],
        DType::F32,
        Initializer::ones(),
        Layout::Keras,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("overflow"), "{e}");
    let twice = [random_tensors()[0].clone(), random_tensors()[0].clone()];
    let dir = tempfile::tempdir().unwrap();
    let e = write(&dir.path().join("d.safetensors"), &twice, 64)
        .unwrap_err()
        .to_string();
    assert!(e.contains("'t0' appears twice"), "{e}");
    let e = write(&dir.path().join("two.npy"), &twice, 64)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exactly one tensor"), "{e}");
}

/// A writer that takes `delay` per write, as a slow disk does.
struct SlowDisk(std::time::Duration);

impl Write for SlowDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.0);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A filler that takes `delay` per chunk, as a slow generator does.
struct SlowFiller(std::time::Duration);

impl Filler for SlowFiller {
    fn device(&self) -> String {
        "slow".into()
    }

    fn fill_chunk(&self, s: &Sampler, rng: Philox, start: u64, chunk: ChunkMut<'_>) -> Result<()> {
        std::thread::sleep(self.0);
        Cpu::new().fill_chunk(s, rng, start, chunk)
    }
}

#[test]
fn generation_overlaps_writing() {
    // 12 chunks, each 30 ms to generate and 30 ms to write: 720 ms one after the other,
    // about 390 ms overlapped. Sleeping needs no CPU, so a busy machine barely moves this;
    // the bound sits halfway between.
    let delay = std::time::Duration::from_millis(30);
    let t = TensorPlan::new(
        "w",
        &[12, 16],
        DType::F32,
        Initializer::ones(),
        Layout::Keras,
        0,
    )
    .unwrap();
    let options = WriteOptions {
        chunk_bytes: 16 * 4,
        ..WriteOptions::default()
    };
    let started = Instant::now();
    let mut disk = SlowDisk(delay);
    pipeline::stream(
        &mut disk,
        &[&t],
        &SlowFiller(delay),
        &options,
        Path::new("x"),
        &mut |_| {},
    )
    .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(
        took < 0.555,
        "took {took:.3} s: generation and writing did not overlap"
    );
}
