//! The files `varscale` writes, read by the official Python readers: `numpy.load` for `.npy`,
//! and the `safetensors` package for `.safetensors`.
//!
//! Needs `python3` with `numpy` and `safetensors` (`python3 -m pip install numpy safetensors`).
//! Without them the tests fail when `CI` is set, and otherwise print a SKIPPED line and pass.

use std::path::Path;
use std::process::Command;

mod common;

use common::reference;
use varscale::{DType, Layout, Philox, stream_for_name};

/// Whether the readers are present; panics under CI if they are not.
fn python_ready(test: &str) -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import numpy, safetensors.numpy"])
        .output();
    let ok = probe.as_ref().is_ok_and(|o| o.status.success());
    if !ok {
        let why = match &probe {
            Ok(o) => String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: python3 with numpy and safetensors is required under CI: {why}"
        );
        eprintln!(
            "SKIPPED {test}: python3 with numpy and safetensors not found ({why}); \
             run `python3 -m pip install numpy safetensors`"
        );
    }
    ok
}

/// Runs a Python script with `args`; panics with its output if it fails.
fn python(script: &str, args: &[&Path]) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn varscale(args: &[&str], out: &Path) {
    let status = assert_cmd::Command::cargo_bin("varscale")
        .unwrap()
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// numpy and safetensors.numpy load `.npy` and `.safetensors` with the right dtype, shape and
/// values (byte for byte against the scalar reference).
const CHECK_NUMPY: &str = r#"
import sys, numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open
npy, st, expected, descr, shape = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
shape = tuple(int(d) for d in shape.split(","))
want = np.frombuffer(open(expected, "rb").read(), dtype=np.dtype(descr)).reshape(shape)
a = np.load(npy)
assert a.dtype == np.dtype(descr), (a.dtype, descr)
assert a.shape == shape, (a.shape, shape)
assert np.array_equal(a, want, equal_nan=False), "npy values differ"
t = load_file(st)
assert list(t) == ["w"], list(t)
assert t["w"].dtype == np.dtype(descr) and t["w"].shape == shape, (t["w"].dtype, t["w"].shape)
assert np.array_equal(t["w"], want), "safetensors values differ"
with safe_open(st, framework="numpy") as f:
    assert f.metadata()["format"] == "pt", f.metadata()
"#;

#[test]
fn numpy_and_safetensors_load_f32_f64_f16() {
    if !python_ready("numpy_and_safetensors_load_f32_f64_f16") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let seed: u64 = rand::random();
    let r: u64 = rand::random();
    let shape = [1 + r % 50, 1 + (r >> 8) % 40, 3];
    let shape_s = format!("{},{},{}", shape[0], shape[1], shape[2]);
    for (dtype, descr) in [
        (DType::F32, "<f4"),
        (DType::F64, "<f8"),
        (DType::F16, "<f2"),
    ] {
        let npy = dir.path().join(format!("{dtype}.npy"));
        let st = dir.path().join(format!("{dtype}.safetensors"));
        let args = [
            "fill",
            "--shape",
            &shape_s,
            "--init",
            "he_normal",
            "--name",
            "w",
            "--seed",
            &seed.to_string(),
            "--dtype",
            dtype.name(),
        ]
        .map(String::from);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        varscale(&args, &npy);
        varscale(&args, &st);
        let expected = dir.path().join(format!("{dtype}.bin"));
        let rng = Philox::new(seed, stream_for_name("w"));
        std::fs::write(
            &expected,
            reference("he_normal", &shape, Layout::Keras, dtype, rng),
        )
        .unwrap();
        let (d, s) = (Path::new(descr), Path::new(&shape_s));
        python(CHECK_NUMPY, &[&npy, &st, &expected, d, s]);
    }
}

/// Every tensor of a mixed-dtype model, bf16 included, through `safetensors.deserialize`
/// (NumPy has no bf16, so the raw bytes are compared), plus a check that bf16 words widen to
/// the f32 values NumPy computes from them within bf16's rounding.
const CHECK_MODEL: &str = r#"
import sys, json, numpy as np
from safetensors import deserialize
st, listing = sys.argv[1], sys.argv[2]
got = {name: t for name, t in deserialize(open(st, "rb").read())}
want = json.load(open(listing))
assert sorted(got) == sorted(want), (sorted(got), sorted(want))
for name, w in want.items():
    t = got[name]
    assert t["dtype"] == w["dtype"], (name, t["dtype"], w["dtype"])
    assert list(t["shape"]) == w["shape"], (name, t["shape"], w["shape"])
    assert bytes(t["data"]) == open(w["bytes"], "rb").read(), name + ": bytes differ"
    if t["dtype"] == "BF16":
        words = np.frombuffer(bytes(t["data"]), dtype="<u2").astype(np.uint32) << 16
        values = words.view(np.float32)
        assert np.all(np.isfinite(values)) and np.abs(values).max() < 10, name
"#;

#[test]
fn safetensors_loads_a_mixed_model_with_bf16() {
    if !python_ready("safetensors_loads_a_mixed_model_with_bf16") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("m.toml");
    std::fs::write(
        &spec,
        r#"
seed = 11
[rules]
"*.bias" = "zeros"
[[tensor]]
name = "emb.weight"
shape = [33, 8]
init = "normal(std=0.02)"
dtype = "bf16"
[[tensor]]
name = "fc.weight"
shape = [8, 5]
init = "glorot_uniform"
dtype = "f16"
[[tensor]]
name = "fc.bias"
shape = [5]
[[tensor]]
name = "head.weight"
shape = [5, 3]
init = "lecun_normal"
dtype = "f64"
"#,
    )
    .unwrap();
    let st = dir.path().join("m.safetensors");
    let spec_s = spec.to_string_lossy().into_owned();
    varscale(&["model", &spec_s], &st);

    let mut listing = serde_json::Map::new();
    for (name, shape, init, dtype, tag) in [
        (
            "emb.weight",
            &[33u64, 8][..],
            "normal(std=0.02)",
            DType::BF16,
            "BF16",
        ),
        ("fc.weight", &[8, 5], "glorot_uniform", DType::F16, "F16"),
        ("fc.bias", &[5], "zeros", DType::F32, "F32"),
        ("head.weight", &[5, 3], "lecun_normal", DType::F64, "F64"),
    ] {
        let bytes = dir.path().join(format!("{name}.bin"));
        let rng = Philox::new(11, stream_for_name(name));
        std::fs::write(&bytes, reference(init, shape, Layout::Keras, dtype, rng)).unwrap();
        listing.insert(
            name.into(),
            serde_json::json!({"dtype": tag, "shape": shape, "bytes": bytes}),
        );
    }
    let listing_path = dir.path().join("want.json");
    std::fs::write(
        &listing_path,
        serde_json::Value::Object(listing).to_string(),
    )
    .unwrap();
    python(CHECK_MODEL, &[&st, &listing_path]);
}
