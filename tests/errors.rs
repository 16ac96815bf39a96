//! Bad input through the public API: each case is an error that names the bad value.

use varscale::{
    Cpu, Error, FanMode, Initializer, Layout, Nonlinearity, Philox, Sampler, SimdLevel,
    VarianceScaling,
};

fn message<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn bad_parameters_name_their_values() {
    let cases: Vec<(String, &str)> = vec![
        (
            message(VarianceScaling::new(
                0.0,
                FanMode::FanIn,
                varscale::Distribution::Uniform,
            )),
            "scale must be > 0, got 0",
        ),
        (
            message(VarianceScaling::new(
                f64::NAN,
                FanMode::FanIn,
                varscale::Distribution::Uniform,
            )),
            "scale must be finite, got NaN",
        ),
        (
            message(Initializer::normal(0.0, f64::INFINITY)),
            "std must be finite, got inf",
        ),
        (
            message(Initializer::normal(0.0, -0.5)),
            "std must be > 0, got -0.5",
        ),
        (
            message(Initializer::uniform(1.0, -1.0)),
            "low=1 and high=-1",
        ),
        (
            message(Initializer::truncated_normal(0.0, 1.0, 2.0, -2.0)),
            "a=2 and b=-2",
        ),
        (
            message(Initializer::xavier_uniform(-1.0)),
            "gain must be > 0, got -1",
        ),
        (
            message(Initializer::kaiming_normal(
                0.0,
                FanMode::FanAvg,
                Nonlinearity::Relu,
            )),
            "'fan_avg'",
        ),
        (
            message("variance_scaling(mode=fan_mid)".parse::<Initializer>()),
            "'fan_mid'",
        ),
        (
            message("variance_scaling(distribution=cauchy)".parse::<Initializer>()),
            "'cauchy'",
        ),
        (
            message("kaiming_uniform(nonlinearity=mish)".parse::<Initializer>()),
            "'mish'",
        ),
        (
            message("glorot_unifrom".parse::<Initializer>()),
            "'glorot_unifrom'",
        ),
        (
            message("normal(std=0.02".parse::<Initializer>()),
            "missing closing ')'",
        ),
        (
            message("normal(std=)".parse::<Initializer>()),
            "empty value",
        ),
        (
            message(Initializer::he_normal().sampler_for_shape(&[], Layout::Torch)),
            "shape []",
        ),
        (
            message(Sampler::uniform(-1e300, 1e300).unwrap().f32_params()),
            "must be finite",
        ),
    ];
    for (got, needle) in cases {
        assert!(got.contains(needle), "{got:?} does not contain {needle:?}");
    }
}

#[test]
fn bad_buffers_and_ranges() {
    let s = Sampler::normal(0.0, 1.0).unwrap();
    let rng = Philox::new(1, 2);
    let cpu = Cpu::new();
    let mut out = vec![0f32; 10];
    let e = message(cpu.fill_range(&s, rng, 100, 95..105, &mut out));
    assert!(e.contains("95..105") && e.contains("100 elements"), "{e}");
    let e = message(cpu.fill_range(&s, rng, 100, 0..11, &mut out));
    assert!(e.contains("holds 10") && e.contains("11 are needed"), "{e}");
    let e = message(cpu.fill_block(&s, rng, [4, 4], 0..2, 3..6, &mut out));
    assert!(e.contains("3..6"), "{e}");
    let e = message(cpu.fill_block(&s, rng, [4, 4], 0..2, 0..4, &mut out));
    assert!(e.contains("8 are needed"), "{e}");
    let e = message(cpu.fill(&s, rng, u64::MAX - 3, &mut out));
    assert!(e.contains("past the end"), "{e}");
    let e = message(Cpu::new().with_threads(0));
    assert!(e.contains("got 0"), "{e}");
}

#[test]
fn unsupported_simd_levels_are_refused() {
    for level in SimdLevel::ALL {
        let r = Cpu::new().with_level(level);
        if level.is_supported() {
            assert_eq!(r.unwrap().level(), level);
        } else {
            assert!(message(r).contains(&level.to_string()));
        }
    }
    assert!(message("sse9".parse::<SimdLevel>()).contains("'sse9'"));
}
