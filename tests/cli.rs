//! The `varscale` binary seen from outside: files it writes, errors it gives, data safety.

use std::path::{Path, PathBuf};

mod common;

use assert_cmd::Command;
use common::reference;
use half::bf16;
use safetensors::SafeTensors;
use varscale::{DType, Layout, Philox, SimdLevel, stream_for_name};

fn varscale() -> Command {
    let mut cmd = Command::cargo_bin("varscale").unwrap();
    cmd.env_remove("RUST_LOG");
    cmd
}

/// The data of tensor `name` in a safetensors file, read by the `safetensors` crate.
fn tensor_bytes(path: &Path, name: &str) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensor(name).unwrap().data().to_vec()
}

fn npy_data(path: &Path) -> (String, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8(bytes[10..10 + len].to_vec()).unwrap();
    (header, bytes[10 + len..].to_vec())
}

/// Runs `args`, expects exit 2 and one line `varscale: ...` containing every needle.
fn bad_input(args: &[&str], needles: &[&str]) {
    let out = varscale().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(err.starts_with("varscale: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{err}' lacks '{n}'");
    }
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[test]
fn fill_writes_the_reference_values() {
    let dir = tempfile::tempdir().unwrap();
    let seed: u64 = rand::random();
    for (dtype, ext) in [
        ("f32", "npy"),
        ("f16", "npy"),
        ("f64", "safetensors"),
        ("bf16", "safetensors"),
    ] {
        let out = dir.path().join(format!("w-{dtype}.{ext}"));
        let seed_s = seed.to_string();
        varscale()
            .args([
                "fill",
                "--shape",
                "32,3,3,5",
                "--init",
                "he_normal",
                "--layout",
                "torch",
            ])
            .args([
                "--seed",
                &seed_s,
                "--name",
                "conv.weight",
                "--dtype",
                dtype,
                "--threads",
                "2",
            ])
            .arg("--out")
            .arg(&out)
            .assert()
            .success()
            .stdout(predicates::str::contains("1 tensor, 1440 parameters"));
        let dtype: DType = dtype.parse().unwrap();
        let rng = Philox::new(seed, stream_for_name("conv.weight"));
        let expected = reference("he_normal", &[32, 3, 3, 5], Layout::Torch, dtype, rng);
        let data = if ext == "npy" {
            let (header, data) = npy_data(&out);
            assert!(header.contains("'shape': (32, 3, 3, 5)"), "{header}");
            data
        } else {
            tensor_bytes(&out, "conv.weight")
        };
        assert_eq!(data, expected, "{dtype}");
    }
}

#[test]
fn explicit_stream_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("u.npy");
    varscale()
        .args([
            "fill",
            "--shape",
            "100",
            "--init",
            "uniform(low=-2, high=3)",
            "--stream",
            "77",
        ])
        .args(["--seed", "12", "--out"])
        .arg(&out)
        .assert()
        .success();
    let expected = reference(
        "uniform(low=-2, high=3)",
        &[100],
        Layout::Keras,
        DType::F32,
        Philox::new(12, 77),
    );
    assert_eq!(npy_data(&out).1, expected);
}

const SPEC_A: &str = r#"
[rules]
"*.bias" = "zeros"
"*.weight" = "glorot_uniform"
[[tensor]]
name = "a.weight"
shape = [64, 32]
[[tensor]]
name = "b.weight"
shape = [16, 16]
[[tensor]]
name = "b.bias"
shape = [16]
[[tensor]]
name = "c.weight"
shape = [3, 3, 8, 4]
"#;

/// SPEC_A with `b` removed, the rest reordered and a new tensor added.
const SPEC_B: &str = r#"
[rules]
"*.weight" = "glorot_uniform"
[[tensor]]
name = "new.weight"
shape = [5, 5]
[[tensor]]
name = "c.weight"
shape = [3, 3, 8, 4]
[[tensor]]
name = "a.weight"
shape = [64, 32]
"#;

#[test]
fn editing_a_spec_never_changes_the_other_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (k, spec) in [SPEC_A, SPEC_B].into_iter().enumerate() {
        let spec_path = dir.path().join(format!("{k}.toml"));
        std::fs::write(&spec_path, spec).unwrap();
        let out = dir.path().join(format!("{k}.safetensors"));
        varscale()
            .arg("model")
            .arg(&spec_path)
            .args(["--seed", "3", "--out"])
            .arg(&out)
            .assert()
            .success();
        files.push(out);
    }
    for (name, shape) in [("a.weight", &[64, 32][..]), ("c.weight", &[3, 3, 8, 4])] {
        let a = tensor_bytes(&files[0], name);
        assert_eq!(a, tensor_bytes(&files[1], name), "{name}");
        let rng = Philox::new(3, stream_for_name(name));
        assert_eq!(
            a,
            reference("glorot_uniform", shape, Layout::Keras, DType::F32, rng)
        );
    }
}

#[test]
fn fill_by_name_matches_the_model_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("a.toml");
    std::fs::write(&spec, SPEC_A).unwrap();
    let model = dir.path().join("m.safetensors");
    varscale()
        .arg("model")
        .arg(&spec)
        .arg("--out")
        .arg(&model)
        .assert()
        .success();
    let one = dir.path().join("c.npy");
    varscale()
        .args(["fill", "--shape", "3,3,8,4", "--name", "c.weight", "--out"])
        .arg(&one)
        .assert()
        .success();
    assert_eq!(npy_data(&one).1, tensor_bytes(&model, "c.weight"));
}

#[test]
fn small_chunks_give_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("a.toml");
    std::fs::write(&spec, SPEC_A).unwrap();
    let mut files = Vec::new();
    for chunk in ["24", "67108864"] {
        let out = dir.path().join(format!("{chunk}.safetensors"));
        varscale()
            .arg("model")
            .arg(&spec)
            .args(["--dtype", "f16", "--chunk-bytes", chunk, "--out"])
            .arg(&out)
            .assert()
            .success();
        files.push(std::fs::read(out).unwrap());
    }
    assert_eq!(files[0], files[1]);
}

#[test]
fn like_reuses_names_shapes_and_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("a.toml");
    std::fs::write(&spec, SPEC_A).unwrap();
    let first = dir.path().join("first.safetensors");
    varscale()
        .arg("model")
        .arg(&spec)
        .args(["--dtype", "bf16", "--out"])
        .arg(&first)
        .assert()
        .success();
    // Only the rules of this spec apply to the checkpoint's tensors.
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[rules]\n\"*.bias\" = \"ones\"\n\"*.weight\" = \"he_uniform\"\n",
    )
    .unwrap();
    let again = dir.path().join("again.safetensors");
    varscale()
        .arg("model")
        .arg(&rules)
        .args(["--seed", "4", "--like"])
        .arg(&first)
        .arg("--out")
        .arg(&again)
        .assert()
        .success()
        .stdout(predicates::str::contains("4 tensors"));
    let rng = Philox::new(4, stream_for_name("b.weight"));
    let expected = reference("he_uniform", &[16, 16], Layout::Keras, DType::BF16, rng);
    assert_eq!(tensor_bytes(&again, "b.weight"), expected);
    let ones = vec![bf16::ONE; 16];
    assert_eq!(
        tensor_bytes(&again, "b.bias"),
        bytemuck::cast_slice::<bf16, u8>(&ones)
    );
}

#[test]
fn bad_inputs_exit_2_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let out = d("w.npy");
    let fill = |extra: &[&str], needles: &[&str]| {
        let mut args = vec!["fill", "--out", &out];
        args.extend_from_slice(extra);
        bad_input(&args, needles);
    };
    fill(&["--shape", "3", "--colour", "red"], &["--colour"]);
    fill(
        &["--shape", "3", "--init", "he_sideways"],
        &["'he_sideways'"],
    );
    fill(
        &["--shape", "3", "--init", "normal(std=-1)"],
        &["std", "-1"],
    );
    fill(&["--shape", "64,0,3"], &["'64,0,3'", "dimension 0"]);
    fill(&["--shape", "-4,3"], &["'-4'"]);
    fill(&["--shape", "4,three"], &["'three'"]);
    fill(&["--shape", "4294967296,4294967296"], &["overflows"]);
    fill(&["--shape", "3", "--dtype", "f8"], &["'f8'"]);
    fill(&["--shape", "3", "--layout", "nchw"], &["'nchw'"]);
    fill(&["--shape", "3", "--device", "tpu"], &["tpu"]);
    fill(&["--shape", "3", "--dtype", "bf16"], &["bf16"]);
    fill(&["--shape", "3", "--threads", "0"], &["0"]);
    fill(
        &["--shape", "5", "--init", "he_normal", "--layout", "torch"],
        &["[5]"],
    );
    bad_input(&["fill", "--shape", "3", "--out", &d("w.pt")], &["'.pt'"]);

    let spec = |name: &str, text: &str| {
        let p = d(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let st = d("m.safetensors");
    let model = |spec: &str, needles: &[&str]| bad_input(&["model", spec, "--out", &st], needles);
    model(&d("missing.toml"), &["missing.toml"]);
    model(
        &spec("syntax.toml", "seed = 1\n[[tensor]\nname = \"a\"\n"),
        &["syntax.toml line 2"],
    );
    model(
        &spec(
            "init.toml",
            "[[tensor]]\nname = \"a\"\nshape = [2]\ninit = \"he_sideways\"\n",
        ),
        &["init.toml line 4", "'he_sideways'"],
    );
    model(
        &spec(
            "nomatch.toml",
            "init = \"zeros\"\n[rules]\n\"*.bais\" = \"zeros\"\n[[tensor]]\nname = \"a.bias\"\nshape = [2]\n",
        ),
        &["line 3", "'*.bais' matches no tensor"],
    );
    model(
        &spec(
            "clash.toml",
            "[rules]\n\"*.w\" = \"zeros\"\n\"a.*\" = \"ones\"\n[[tensor]]\nname = \"a.w\"\nshape = [2]\n",
        ),
        &["'*.w'", "'a.*'", "'a.w'", "priority"],
    );
    let ok_spec = spec("ok.toml", "init = \"zeros\"\n");
    let not_st = spec("fake.safetensors", "this is not a checkpoint at all");
    bad_input(
        &["model", &ok_spec, "--like", &not_st, "--out", &st],
        &["fake.safetensors", "not a safetensors file"],
    );
}

#[test]
fn existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.npy");
    std::fs::write(&out, b"precious").unwrap();
    let path = out.to_string_lossy().into_owned();
    bad_input(
        &["fill", "--shape", "3", "--out", &path],
        &[&path, "--force"],
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    varscale()
        .args(["fill", "--shape", "3", "--force", "--out", &path])
        .assert()
        .success();
    assert_eq!(npy_data(&out).1.len(), 12);
}

#[test]
fn unwritable_targets_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist: the temporary file cannot even be created.
    let missing = dir.path().join("no/such/dir/w.npy");
    let out = varscale()
        .args(["fill", "--shape", "3", "--out"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/dir"));
    assert!(!missing.exists());

    // A directory in the way: everything is written, the final rename fails.
    let blocker = dir.path().join("taken.safetensors");
    std::fs::create_dir(&blocker).unwrap();
    let out = varscale()
        .args(["fill", "--shape", "3", "--force", "--out"])
        .arg(&blocker)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(blocker.is_dir());
    assert!(temp_files(dir.path()).is_empty());
}

/// A write that fails midway (the disk "fills up"): the file-size limit makes every write
/// past 64 KiB fail with EFBIG, as ENOSPC would on a full disk. SIGXFSZ is ignored, so the
/// write returns the error instead of killing the process.
#[test]
fn a_full_disk_keeps_the_old_file_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.safetensors");
    std::fs::write(&out, b"old model").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("varscale");
    let script = format!(
        "trap '' XFSZ; ulimit -f 64; exec '{}' fill --shape 1000,1000 --force --chunk-bytes 65536 --out '{}'",
        bin.display(),
        out.display()
    );
    let run = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("varscale: ") && err.contains("big.safetensors"),
        "{err}"
    );
    assert!(err.contains("File too large"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"old model");
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}

#[test]
fn info_reports_the_cpu() {
    let level = SimdLevel::detect().to_string();
    varscale()
        .arg("info")
        .assert()
        .success()
        .stdout(predicates::str::contains(format!("SIMD {level}")))
        .stdout(predicates::str::contains("GPU"));
}

#[test]
fn examples_have_the_published_parameter_counts() {
    // Counts from the architectures: GPT-2 small 124,439,808; Llama 3.2 1B 1,235,814,400.
    for (file, params) in [
        ("gpt2-small.toml", 124_439_808u64),
        ("llama-1b.toml", 1_235_814_400),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(file);
        let spec = varscale::model::ModelSpec::from_file(&path).unwrap();
        let plans = spec.plan(None, &Default::default()).unwrap();
        let total: u64 = plans.iter().map(|p| p.numel()).sum();
        assert_eq!(total, params, "{file}");
    }
}

/// Ctrl-C midway: the write stops at the next chunk, removes its temporary file, leaves the
/// old target alone, and exits with 130. The signal is sent once the temporary file exists,
/// so the handler is in place; a 256 MiB file-size limit bounds the disk used if it were not.
#[test]
fn ctrl_c_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("huge.safetensors");
    std::fs::write(&out, b"old model").unwrap();
    let bin = assert_cmd::cargo::cargo_bin("varscale");
    let script = format!(
        // 40 GB that never finish before the signal, however late it comes; the file-size
        // limit (8 GiB in dash's 512-byte blocks) only guards the disk.
        "trap '' XFSZ; ulimit -f 16777216; exec '{}' fill --shape 1000000,10000 --init normal \
         --force --chunk-bytes 4096 --out '{}'",
        bin.display(),
        out.display()
    );
    let mut child = std::process::Command::new("sh")
        .args(["-c", &script])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while temp_files(dir.path()).is_empty() {
        assert!(
            started.elapsed().as_secs() < 20,
            "no temporary file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: `kill` only sends a signal to the child we spawned and still own.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"old model");
    assert!(temp_files(dir.path()).is_empty());
}
