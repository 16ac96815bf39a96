//! Distribution tests on 2²⁰ (> 10⁶) samples: moments, Kolmogorov–Smirnov, exact bounds, and
//! each preset's variance against its formula on conv shapes in both layouts.
//!
//! Tolerances come from the sample size n:
//! - the sample mean is within `Z·σ/√n` of the true mean;
//! - the sample variance is within `Z·√((μ₄ − σ⁴)/n)` of the true variance, with the fourth
//!   central moment μ₄ estimated from the sample itself;
//! - the KS distance is below `√(ln(2/α)/2)/√n` (the asymptotic Kolmogorov bound,
//!   `P(√n·D > x) ≤ 2e^{−2x²}`), with α = 10⁻⁶.
//!
//! `Z = 5.5` makes a false failure of one check about 4·10⁻⁸ under the normal approximation.

mod common;

use common::TestRng;
use varscale::{Cpu, Element, Initializer, Layout, Philox, Sampler};

const N: usize = 1 << 20;
const Z: f64 = 5.5;
const ALPHA: f64 = 1e-6;

fn draw<T: Element + Into<f64>>(s: &Sampler, rng: Philox, n: usize) -> Vec<f64> {
    let mut out = vec![T::default(); n];
    Cpu::new().fill(s, rng, 0, &mut out).unwrap();
    out.into_iter().map(Into::into).collect()
}

fn moments(x: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    (mean, var, m4)
}

/// Checks mean, variance, KS distance and bounds of `x` against `s`.
fn check(label: &str, s: &Sampler, mut x: Vec<f64>) {
    let n = x.len() as f64;
    let (mean, var, m4) = moments(&x);
    let (true_mean, true_var) = (s.mean(), s.variance());
    let mean_tol = Z * (true_var / n).sqrt();
    assert!(
        (mean - true_mean).abs() <= mean_tol,
        "{label}: mean {mean} vs {true_mean} ± {mean_tol}"
    );
    let var_tol = Z * ((m4 - var * var).max(0.0) / n).sqrt();
    assert!(
        (var - true_var).abs() <= var_tol,
        "{label}: variance {var} vs {true_var} ± {var_tol}"
    );

    if let Some((lo, hi)) = s.bounds() {
        // The bounds as the output type rounds them are never crossed.
        let (lo32, hi32) = (f64::from(lo as f32), f64::from(hi as f32));
        assert!(
            x.iter().all(|&v| v >= lo.min(lo32) && v <= hi.max(hi32)),
            "{label}: value outside [{lo}, {hi}]"
        );
    }
    assert!(x.iter().all(|v| v.is_finite()), "{label}: non-finite value");

    x.sort_by(f64::total_cmp);
    let d = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = s.cdf(v);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max);
    let d_crit = ((2.0 / ALPHA).ln() / 2.0).sqrt() / n.sqrt();
    assert!(d <= d_crit, "{label}: KS distance {d} > {d_crit}");
}

fn distributions() -> Vec<(&'static str, Sampler)> {
    vec![
        ("uniform(-1,1)", Sampler::uniform(-1.0, 1.0).unwrap()),
        ("uniform(2,5)", Sampler::uniform(2.0, 5.0).unwrap()),
        ("normal(0,1)", Sampler::normal(0.0, 1.0).unwrap()),
        ("normal(3,0.02)", Sampler::normal(3.0, 0.02).unwrap()),
        (
            "truncated ±2",
            Sampler::truncated_normal(0.0, 1.0, -2.0, 2.0).unwrap(),
        ),
        (
            "truncated [-0.5,3]",
            Sampler::truncated_normal(1.0, 0.5, -0.5, 3.0).unwrap(),
        ),
        (
            "truncated [1,2]",
            Sampler::truncated_normal(0.0, 1.0, 1.0, 2.0).unwrap(),
        ),
    ]
}

#[test]
fn f32_distributions() {
    let mut t = TestRng::new("f32_distributions");
    for (label, s) in distributions() {
        check(
            label,
            &s,
            draw::<f32>(&s, Philox::new(t.next_u64(), t.next_u64()), N),
        );
    }
}

#[test]
fn f64_distributions() {
    let mut t = TestRng::new("f64_distributions");
    for (label, s) in distributions() {
        check(
            label,
            &s,
            draw::<f64>(&s, Philox::new(t.next_u64(), t.next_u64()), N),
        );
    }
}

#[test]
fn normal_lanes_are_each_normal() {
    // Box–Muller lanes come from cosines and sines of shared radii: each lane on its own must
    // still be N(0, 1), and lanes 0 and 1 of one block must be uncorrelated.
    let mut t = TestRng::new("normal_lanes_are_each_normal");
    let s = Sampler::normal(0.0, 1.0).unwrap();
    let x = draw::<f32>(&s, Philox::new(t.next_u64(), t.next_u64()), 4 * N);
    for lane in 0..4 {
        check(
            &format!("lane {lane}"),
            &s,
            x.iter().skip(lane).step_by(4).copied().collect(),
        );
    }
    let corr = x.chunks(4).map(|b| b[0] * b[1]).sum::<f64>() / N as f64;
    assert!(
        corr.abs() <= Z / (N as f64).sqrt(),
        "lane 0/1 correlation {corr}"
    );
}

#[test]
fn preset_variances_on_conv_shapes() {
    // A 3×3 conv from 384 to 256 channels: fan_in = 9·384, fan_out = 9·256, 884 736 elements.
    let (k, c_in, c_out) = (3u64, 384u64, 256u64);
    let (fan_in, fan_out) = ((k * k * c_in) as f64, (k * k * c_out) as f64);
    let fan_avg = (fan_in + fan_out) / 2.0;
    let cases = [
        ("glorot_uniform", 1.0 / fan_avg),
        ("glorot_normal", 1.0 / fan_avg),
        ("he_uniform", 2.0 / fan_in),
        ("he_normal", 2.0 / fan_in),
        ("lecun_uniform", 1.0 / fan_in),
        ("lecun_normal", 1.0 / fan_in),
        ("xavier_normal(gain=1)", 2.0 / (fan_in + fan_out)),
        (
            "kaiming_normal(a=0, mode=fan_out, nonlinearity=relu)",
            2.0 / fan_out,
        ),
    ];
    let mut t = TestRng::new("preset_variances_on_conv_shapes");
    for (text, expected) in cases {
        let init: Initializer = text.parse().unwrap();
        for (shape, layout) in [
            ([k, k, c_in, c_out], Layout::Keras),
            ([c_out, c_in, k, k], Layout::Torch),
        ] {
            let s = init.sampler_for_shape(&shape, layout).unwrap();
            let n = shape.iter().product::<u64>() as usize;
            let x = draw::<f32>(&s, Philox::new(t.next_u64(), t.next_u64()), n);
            let (mean, var, m4) = moments(&x);
            let tol = Z * ((m4 - var * var) / n as f64).sqrt();
            assert!(
                (var - expected).abs() <= tol,
                "{text} {layout}: variance {var} vs {expected} ± {tol}"
            );
            assert!(
                mean.abs() <= Z * (expected / n as f64).sqrt(),
                "{text} {layout}: mean {mean}"
            );
        }
    }
}
