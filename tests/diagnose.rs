//! `varscale diagnose` seen from outside: activations against known values, the measured
//! spread of signals and gradients against mean-field theory, and the command's output and
//! errors.
//!
//! The theory: in a wide network with i.i.d. zero-mean weights of variance σ², the
//! pre-activations of layer `l` are close to N(0, q_l) with
//! `q_{l+1} = fan_in·σ²·E[act(√q_l·Z)²]`, and a gradient's variance is multiplied by
//! `χ_l = fan_out·σ²·E[act'(√q_l·Z)²]` on its way down through layer `l` (Glorot & Bengio
//! 2010; Poole et al. 2016; Schoenholz et al. 2017). The expectations over Z ~ N(0, 1) are
//! computed here by quadrature, independently of the code under test.

use assert_cmd::Command;
use predicates::prelude::*;
use rand::RngExt;
use varscale::diagnose::{
    Activation, Diagnosis, LayerStats, SATURATION_SLOPE, SELU_ALPHA, SELU_LAMBDA, diagnose,
};

/// Depth of the networks under test: deep enough for 2^-25 effects, as in the example.
const DEPTH: usize = 50;
/// Width and batch kept small for test time; the mean-field theory needs only width ≫ 1.
const WIDTH: usize = 256;
const BATCH: usize = 256;

fn seed() -> u64 {
    let seed = rand::rng().random::<u64>();
    eprintln!("seed {seed}");
    seed
}

fn run(activation: &str, init: &str, seed: u64) -> Vec<LayerStats> {
    let net = Diagnosis::new(DEPTH, WIDTH, BATCH, activation.parse().unwrap(), seed).unwrap();
    diagnose(&net, &init.parse().unwrap()).unwrap()
}

/// E[f(Z)] for Z ~ N(0, 1), by Simpson's rule on [-12, 12] (the tail beyond holds < 1e-32
/// of the mass). 24 000 intervals resolve tanh(√q·z) even at √q = 25.
fn gauss_mean(f: impl Fn(f64) -> f64) -> f64 {
    let (a, b, n) = (-12.0f64, 12.0f64, 24_000usize);
    let h = (b - a) / n as f64;
    let sum: f64 = (0..=n)
        .map(|i| {
            let z = a + i as f64 * h;
            let w = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            w * f(z) * (-0.5 * z * z).exp()
        })
        .sum();
    sum * h / 3.0 / (2.0 * std::f64::consts::PI).sqrt()
}

fn sech2(z: f64) -> f64 {
    1.0 / z.cosh().powi(2)
}

/// Mean-field prediction per layer: (q_l = Var z_l, E[act(z_l)²], χ_l), for weights of
/// variance `gain2 / WIDTH` on a square net fed N(0, 1) inputs.
fn mean_field(
    act: impl Fn(f64) -> f64,
    slope: impl Fn(f64) -> f64,
    gain2: f64,
) -> Vec<(f64, f64, f64)> {
    let mut q = gain2;
    let mut out = Vec::new();
    for _ in 0..DEPTH {
        let s = q.sqrt();
        let second = gauss_mean(|z| act(s * z).powi(2));
        let chi = gain2 * gauss_mean(|z| slope(s * z).powi(2));
        out.push((q, second, chi));
        q = gain2 * second;
    }
    out
}

/// Predicted std of ∂L/∂x at the input of each layer: the product of χ from there to the top.
fn predicted_grad_std(theory: &[(f64, f64, f64)]) -> Vec<f64> {
    let mut var = 1.0;
    let mut out = vec![0.0; theory.len()];
    for l in (0..theory.len()).rev() {
        var *= theory[l].2;
        out[l] = var.sqrt();
    }
    out
}

#[test]
fn activations_match_their_definitions() {
    let e = std::f64::consts::E;
    // (activation, z, value) from closed forms and tabulated constants:
    // tanh(1) = 0.7615941559557649, Φ(1) = 0.8413447460685429, 1/(1+e^{-1}) = 0.7310585786300049.
    let cases: &[(&str, f64, f64)] = &[
        ("linear", -3.5, -3.5),
        ("sigmoid", 0.0, 0.5),
        ("sigmoid", 1.0, 0.731_058_578_630_004_9),
        ("sigmoid", -30.0, 1.0 / (1.0 + 30f64.exp())),
        ("tanh", 1.0, 0.761_594_155_955_764_9),
        ("tanh", -2.0, -(1.0 - e.powi(-4)) / (1.0 + e.powi(-4))),
        ("relu", -1.5, 0.0),
        ("relu", 2.5, 2.5),
        ("leaky_relu", -2.0, -0.02),
        ("leaky_relu(0.2)", -2.0, -0.4),
        ("leaky_relu(a=0.3)", 3.0, 3.0),
        ("elu", -1.0, 1.0 / e - 1.0),
        ("elu", 2.0, 2.0),
        ("selu", 1.0, 1.050_700_987_355_480_5),
        (
            "selu",
            -1.0,
            1.050_700_987_355_480_5 * 1.673_263_242_354_377_3 * (1.0 / e - 1.0),
        ),
        ("gelu", 1.0, 0.841_344_746_068_542_9),
        ("gelu", -1.0, -(1.0 - 0.841_344_746_068_542_9)),
        ("gelu", 0.0, 0.0),
        ("swish", 1.0, 0.731_058_578_630_004_9),
        ("swish", -1.0, -(1.0 - 0.731_058_578_630_004_9)),
    ];
    for &(name, z, want) in cases {
        let act: Activation = name.parse().unwrap();
        let got = f64::from(act.apply(z as f32));
        // f32 evaluation: a few ulps of relative error.
        assert!(
            (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
            "{name}({z}) = {got}, want {want}"
        );
    }

    // Klambauer et al. (2017) chose α and λ so that N(0, 1) in gives mean 0, variance 1 out.
    let selu = |z: f64| SELU_LAMBDA * if z > 0.0 { z } else { SELU_ALPHA * z.exp_m1() };
    assert!(gauss_mean(selu).abs() < 1e-9);
    assert!((gauss_mean(|z| selu(z).powi(2)) - 1.0).abs() < 1e-9);
}

#[test]
fn derivatives_match_finite_differences() {
    let names = [
        "linear",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu(0.1)",
        "elu",
        "selu",
        "gelu",
        "swish",
    ];
    // Kinks at 0 are avoided; h = 1e-3 in f64 around an f32 function: truncation ~h² and f32
    // rounding ~6e-8/h, both far below the 1e-3 tolerance.
    let points = [-4.0, -1.7, -0.3, 0.25, 0.9, 2.2, 5.0];
    for name in names {
        let act: Activation = name.parse().unwrap();
        for &z in &points {
            let h = 1e-3f64;
            let f = |z: f64| f64::from(act.apply(z as f32));
            let numeric = (f(z + h) - f(z - h)) / (2.0 * h);
            let got = f64::from(act.derivative(z as f32));
            assert!(
                (got - numeric).abs() < 1e-3 * (1.0 + numeric.abs()),
                "{name}'({z}) = {got}, finite difference {numeric}"
            );
        }
    }
    // The saturation threshold: tanh' = sech² < 0.01 exactly beyond atanh(√0.99).
    let edge = 0.99f64.sqrt().atanh();
    let tanh = Activation::Tanh;
    assert!(tanh.derivative((edge * 0.999) as f32) >= SATURATION_SLOPE);
    assert!(tanh.derivative((edge * 1.001) as f32) < SATURATION_SLOPE);
    assert!((sech2(edge) - 0.01).abs() < 1e-12);
}

#[test]
fn unknown_or_malformed_activations_are_rejected() {
    for bad in [
        "softmax",
        "leaky_relu(x)",
        "tanh(2)",
        "relu(",
        "leaky_relu(inf)",
        "",
    ] {
        assert!(bad.parse::<Activation>().is_err(), "{bad} parsed");
    }
}

#[test]
fn tanh_glorot_is_stable_and_normal_1_saturates() {
    let seed = seed();

    // Glorot on a square layer is σ² = 1/width: q shrinks only like 1/(2l), so the activation
    // std falls from 0.63 to about 0.1 over 50 layers — a modest factor, not orders of
    // magnitude.
    let glorot = run("tanh", "glorot_normal", seed);
    let theory = mean_field(f64::tanh, sech2, 1.0);
    // Tolerance: finite width makes each layer's gain a random factor, up to √(2/width) ≈ 9%
    // in variance once the batch's inputs have grown correlated, and near q = 0 the map
    // q' ≈ q − 2q² barely contracts, so these errors random-walk instead of dying out. Over 40
    // seeds the worst layer was 14.7% off in std; 30% leaves room, while a wrong variance
    // (he's 2/width, or half of glorot's) is off by a factor of several or by decades.
    for (s, t) in glorot.iter().zip(&theory) {
        let want = t.1.sqrt();
        assert!(
            (s.x_std / want - 1.0).abs() < 0.3,
            "layer {}: {} vs {want}",
            s.layer,
            s.x_std
        );
        assert!(s.saturated.unwrap() < 0.01, "layer {}", s.layer);
    }
    let ratio = glorot[DEPTH - 1].x_std / glorot[0].x_std;
    let worst = glorot
        .iter()
        .zip(&theory)
        .map(|(s, t)| (s.x_std / t.1.sqrt() - 1.0).abs())
        .fold(0.0, f64::max);
    eprintln!("tanh glorot: last/first std {ratio:.3}, worst relative error {worst:.4}");
    assert!(
        ratio > 0.1 && ratio < 1.0,
        "glorot tanh last/first std {ratio}"
    );

    // N(0, 1) weights: Var z ≈ width·E[tanh²] ≈ 240, so |z| > 2.99 (tanh' < 0.01) for ~85% of
    // units at every layer. The fraction is an average over 65 536 entries of nearly
    // independent units: its spread is well under the 0.03 tolerance.
    let normal = run("tanh", "normal(mean=0, std=1)", seed);
    let theory1 = mean_field(f64::tanh, sech2, WIDTH as f64);
    let edge = 0.99f64.sqrt().atanh();
    for (s, t) in normal.iter().zip(&theory1) {
        let want = gauss_mean(|z| f64::from(u8::from((t.0.sqrt() * z).abs() > edge)));
        let got = s.saturated.unwrap();
        if s.layer % 10 == 0 {
            eprintln!(
                "tanh N(0,1) layer {}: saturated {got:.4}, theory {want:.4}",
                s.layer
            );
        }
        assert!(
            got > 0.5 && (got - want).abs() < 0.03,
            "layer {}: {got} vs {want}",
            s.layer
        );
    }

    // Gradients. Glorot: tanh' ≈ 1 in the deep, small-signal layers, so the gradient keeps its
    // size there and shrinks by χ < 1 only near the input. N(0, 1): χ ≈ 256·E[sech⁴(15.6·Z)] ≈
    // 8.7 per layer, an explosion of ~1e23 in std by layer 0. Per-layer noise of a few
    // percent in χ compounds over 50 layers into a log-normal drift (about 0.3 decades at one
    // standard deviation for N(0, 1), measured over 24 seeds), so the bounds are in log10:
    // ±0.15 for glorot and ±1.5 decades (5σ) out of 23 for N(0, 1).
    let want = predicted_grad_std(&theory);
    for s in &glorot {
        let err = (s.grad_std / want[s.layer]).log10().abs();
        if s.layer % 10 == 0 {
            eprintln!("tanh glorot grad layer {}: log10 error {err:.3}", s.layer);
        }
        assert!(
            err < 0.15,
            "glorot grad layer {}: {} vs {}",
            s.layer,
            s.grad_std,
            want[s.layer]
        );
    }
    let want1 = predicted_grad_std(&theory1);
    assert!(want1[0] > 1e20);
    let err = (normal[0].grad_std / want1[0]).log10().abs();
    eprintln!(
        "tanh N(0,1) grad at input {:.3e}, theory {:.3e}",
        normal[0].grad_std, want1[0]
    );
    assert!(
        err < 1.5,
        "N(0,1) grad at input {} vs {}",
        normal[0].grad_std,
        want1[0]
    );
}

#[test]
fn relu_he_is_flat_and_glorot_halves_the_variance_per_layer() {
    let seed = seed();
    // For relu, E[relu(z)²] = Var(z)/2 for any symmetric z, so Var z_{l+1} = width·σ²·Var z_l/2
    // holds exactly in expectation: He (σ² = 2/width) keeps Var z = 2 at every layer, Glorot
    // (σ² = 1/width on a square layer) halves it, leaving 2^-49 after 49 halvings. Gradients
    // follow the same factor (width·σ²·P(z > 0)) per layer on the way down.
    //
    // Tolerance: the weights make each layer's gain a random factor with relative spread about
    // √(2/(width/2)) ≈ 12% in variance; over 50 layers that is a log-normal drift of about
    // ±0.9 in ln(variance), ±0.45 in ln(std) at one standard deviation. A factor of 8 in std
    // (ln 8 = 2.08, over four standard deviations) bounds it, while Glorot's 2^-24.5 ≈ 4e-8
    // sits seven orders of magnitude below.
    let he = run("relu", "he_normal", seed);
    let (lo, hi) = he.iter().fold((f64::MAX, 0f64), |(lo, hi), s| {
        let r = s.z_std / 2f64.sqrt();
        (lo.min(r), hi.max(r))
    });
    eprintln!(
        "relu he: std z / √2 in [{lo:.3}, {hi:.3}], grad at input {:.3}",
        he[0].grad_std
    );
    for s in &he {
        let r = s.z_std / 2f64.sqrt();
        assert!(
            r > 0.125 && r < 8.0,
            "he relu layer {}: std z {}",
            s.layer,
            s.z_std
        );
    }
    assert!(
        he[0].grad_std > 0.125 && he[0].grad_std < 8.0,
        "he grad {}",
        he[0].grad_std
    );
    // Layer 0 sees independent N(0, 1) inputs: a unit is dead there with probability 2^-256.
    assert_eq!(he[0].dead, Some(0.0));

    let glorot = run("relu", "glorot_normal", seed);
    let want = 2f64.powf(-24.5);
    let r = glorot[DEPTH - 1].z_std / glorot[0].z_std;
    eprintln!(
        "relu glorot: ratio / 2^-24.5 = {:.3}, grad / 2^-25 = {:.3}, dead at top {:?}",
        r / want,
        glorot[0].grad_std / 2f64.powf(-25.0),
        glorot[DEPTH - 1].dead
    );
    assert!(
        r < 1e-6 && r / want > 0.125 && r / want < 8.0,
        "glorot relu ratio {r}"
    );
    // 50 halvings of the gradient variance on the way down: std 2^-25 at the input.
    let g = glorot[0].grad_std / 2f64.powf(-25.0);
    assert!(
        g > 0.125 && g < 8.0,
        "glorot relu grad {}",
        glorot[0].grad_std
    );
}

#[test]
fn selu_with_lecun_normal_self_normalises() {
    let seed = seed();
    // lecun_normal is σ² = 1/fan_in, and (mean 0, variance 1) is SELU's attracting fixed point
    // (Klambauer et al. 2017): the activation std stays at 1 at every depth. Attraction keeps
    // per-layer weight noise (a percent or two in variance) from accumulating into a drift:
    // the worst layer of 24 seeds was 4.7% off, and 15% still rejects a net that loses or
    // gains even 0.5% of variance per layer (22% over 50 layers).
    let selu = run("selu", "lecun_normal", seed);
    let worst = selu
        .iter()
        .map(|s| (s.x_std - 1.0).abs())
        .fold(0.0, f64::max);
    eprintln!("selu: worst |std - 1| {worst:.4}");
    for s in &selu {
        assert!(
            (s.x_std - 1.0).abs() < 0.15,
            "selu layer {}: {}",
            s.layer,
            s.x_std
        );
    }
    // Gradients: χ = E[selu'(Z)²] = λ²(1/2 + α²e²Φ(-2)) ≈ 1.07 at the fixed point, a mild
    // growth of 1.07^25 ≈ 5.6 in std over 50 layers. At width 256 the measured values sit
    // 2–13% above the mean-field value (a finite-width effect); ±0.2 in log10 (a factor 1.6)
    // still rejects both a flat gradient (std 1) and χ off by 2%.
    let slope = |z: f64| SELU_LAMBDA * if z > 0.0 { 1.0 } else { SELU_ALPHA * z.exp() };
    let act = |z: f64| SELU_LAMBDA * if z > 0.0 { z } else { SELU_ALPHA * z.exp_m1() };
    let want = predicted_grad_std(&mean_field(act, slope, 1.0));
    let err = (selu[0].grad_std / want[0]).log10().abs();
    eprintln!(
        "selu grad at input {:.3}, theory {:.3}",
        selu[0].grad_std, want[0]
    );
    assert!(err < 0.2, "selu grad {} vs {}", selu[0].grad_std, want[0]);
}

fn varscale() -> Command {
    Command::cargo_bin("varscale").unwrap()
}

#[test]
fn same_seed_same_table_and_another_seed_differs() {
    let args = [
        "diagnose", "--depth", "12", "--width", "64", "--batch", "32",
    ];
    let out = |seed: &str| {
        let o = varscale()
            .args(args)
            .args(["--seed", seed])
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stdout).unwrap()
    };
    let a = out("7");
    assert!(a.contains("tanh, glorot_normal") && a.lines().count() > 12);
    assert_eq!(a, out("7"));
    assert_ne!(a, out("8"));
}

#[test]
fn json_has_one_object_per_layer_and_initializer() {
    let o = varscale()
        .args([
            "diagnose", "--depth", "7", "--width", "32", "--batch", "16", "--json",
        ])
        .args(["--activation", "relu", "--activation", "tanh"])
        .args([
            "--init",
            "he_normal",
            "--init",
            "lecun_uniform",
            "--init",
            "glorot_normal",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7 * 2 * 3);
    let first = &lines[0];
    assert_eq!(first["activation"], "relu");
    assert_eq!(first["init"], "he_normal");
    assert_eq!(first["layer"], 0);
    assert!(first["dead"].is_number() && first["saturated"].is_null());
    // Var z of layer 0 is exactly width·(2/width)·1 = 2 in expectation, over 512 entries.
    let z = first["z_std"].as_f64().unwrap();
    assert!((z / 2f64.sqrt() - 1.0).abs() < 0.3, "{z}");
    assert!(lines[21]["saturated"].is_number());
}

#[test]
fn plot_is_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.png");
    varscale()
        .args(["diagnose", "--depth", "6", "--width", "16", "--batch", "8"])
        .args([
            "--activation",
            "relu",
            "--init",
            "he_normal",
            "--init",
            "normal(0, 1)",
        ])
        .arg("--plot")
        .arg(&path)
        .assert()
        .success();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // The IHDR chunk holds width and height: two panels side by side, one row.
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert!(w > h && h >= 300, "{w}x{h}");
}

#[test]
fn bad_input_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let unwritable = dir.path().join("no/such/dir/d.png");
    // Each case changes one flag of a small, valid command line.
    let base = |flag: &str, value: &str| {
        let mut args: Vec<String> = ["diagnose", "--depth", "3", "--width", "8", "--batch", "4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match args.iter().position(|a| a == flag) {
            Some(i) => args[i + 1] = value.to_string(),
            None => args.extend([flag.to_string(), value.to_string()]),
        }
        args
    };
    let cases = [
        base("--depth", "0"),
        base("--width", "0"),
        base("--batch", "0"),
        base("--activation", "softmax"),
        base("--init", "glorious"),
        base("--every", "0"),
        base("--plot", &unwritable.display().to_string()),
        base("--plot", &dir.path().join("d.svg").display().to_string()),
    ];
    for case in cases {
        varscale()
            .args(&case)
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with("varscale: "))
            .stdout(predicate::str::is_empty());
    }
}

#[test]
fn relu_normal_1_explodes_until_f32_overflows() {
    let seed = seed();
    // N(0, 1) weights with relu multiply Var z by width/2 = 128 per layer, the std by √128 ≈
    // 11.3, from std z = 16 at layer 0: f32's 3.4e38 is passed near layer
    // 1 + log(3.4e38/16)/log(11.3) ≈ 36. The reported numbers must grow by that factor while
    // finite (the per-layer gain's spread is ~12%, so [8, 16] is wide) and then show the
    // overflow as a non-finite number, not as a silent 0.
    let layers = run("relu", "normal(mean=0, std=1)", seed);
    let first_bad = layers.iter().position(|s| !s.z_std.is_finite()).unwrap();
    assert!(
        (33..=39).contains(&first_bad),
        "overflow at layer {first_bad}"
    );
    for w in layers[..first_bad].windows(2) {
        let growth = w[1].z_std / w[0].z_std;
        assert!(
            growth > 8.0 && growth < 16.0,
            "layer {}: growth {growth}",
            w[1].layer
        );
    }
    assert!(layers[first_bad..].iter().all(|s| !s.z_std.is_finite()));
    assert!(layers.iter().all(|s| !s.grad_std.is_finite()));
}

#[test]
fn json_is_the_same_on_one_thread_and_on_several() {
    // Weights come from the counter-based generator, gemm splits work by output blocks, and
    // the statistics sum fixed chunks in order: no number may depend on the thread count.
    let json = |threads: &str| {
        let o = varscale()
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "diagnose", "--depth", "8", "--width", "300", "--batch", "200", "--json",
            ])
            .args([
                "--activation",
                "relu",
                "--activation",
                "gelu",
                "--init",
                "he_uniform",
            ])
            .output()
            .unwrap();
        assert!(o.status.success());
        o.stdout
    };
    assert_eq!(json("1"), json("2"));
    assert_eq!(json("1"), json("3"));
}
