use super::*;

const SPEC: &str = r#"
seed = 5
dtype = "f16"
layout = "torch"

[rules]
"*.bias" = "zeros"
"*norm*" = { init = "ones", priority = 1 }
"*.weight" = "normal(std=0.02)"

[[tensor]]
name = "emb.weight"
shape = [10, 4]
init = "uniform(low=-1, high=1)"
dtype = "f32"

[[repeat]]
count = 2
[[repeat.tensor]]
name = "h.{i}.fc.weight"
shape = [8, 4]
[[repeat.tensor]]
name = "h.{i}.fc.bias"
shape = [8]
[[repeat.tensor]]
name = "h.{i}.norm.weight"
shape = [4]
"#;

fn plan(text: &str) -> Result<Vec<TensorPlan>> {
    ModelSpec::parse(text, "spec.toml")?.plan(None, &Overrides::default())
}

fn init_of(plans: &[TensorPlan], name: &str) -> String {
    plans
        .iter()
        .find(|p| p.name() == name)
        .map(|p| p.init().to_string())
        .unwrap_or_default()
}

#[test]
fn precedence_explicit_then_priority_then_default() {
    let plans = plan(SPEC).unwrap();
    let names: Vec<&str> = plans.iter().map(TensorPlan::name).collect();
    assert_eq!(
        names,
        [
            "emb.weight",
            "h.0.fc.weight",
            "h.0.fc.bias",
            "h.0.norm.weight",
            "h.1.fc.weight",
            "h.1.fc.bias",
            "h.1.norm.weight"
        ]
    );
    // The explicit init beats the matching `*.weight` rule.
    assert_eq!(init_of(&plans, "emb.weight"), "uniform(low=-1, high=1)");
    assert_eq!(init_of(&plans, "h.1.fc.weight"), "normal(mean=0, std=0.02)");
    assert_eq!(init_of(&plans, "h.0.fc.bias"), "zeros");
    // `*norm*` (priority 1) beats `*.weight` (priority 0).
    assert_eq!(init_of(&plans, "h.1.norm.weight"), "ones");
    assert_eq!(plans[0].dtype(), DType::F32);
    assert_eq!(plans[1].dtype(), DType::F16);
    for p in &plans {
        assert_eq!(
            p.rng(),
            crate::Philox::new(5, crate::stream_for_name(p.name()))
        );
    }
}

#[test]
fn overrides_replace_seed_and_every_dtype() {
    let spec = ModelSpec::parse(SPEC, "spec.toml").unwrap();
    let o = Overrides {
        seed: Some(9),
        dtype: Some(DType::BF16),
    };
    for p in spec.plan(None, &o).unwrap() {
        assert_eq!((p.rng().seed, p.dtype()), (9, DType::BF16));
    }
}

#[test]
fn like_takes_names_shapes_and_dtypes_from_the_header() {
    let spec = ModelSpec::parse(SPEC, "spec.toml").unwrap();
    let header = |name: &str, shape: &[u64], dtype| TensorHeader {
        name: name.into(),
        shape: shape.to_vec(),
        dtype,
    };
    let like = [
        header("h.7.norm.weight", &[6], DType::F64),
        header("x.weight", &[3, 3], DType::BF16),
        header("x.bias", &[3], DType::F32),
        header("emb.weight", &[2, 2], DType::F16),
    ];
    let plans = spec.plan(Some(&like), &Overrides::default()).unwrap();
    let got: Vec<(&str, &[u64], DType, String)> = plans
        .iter()
        .map(|p| (p.name(), p.shape(), p.dtype(), p.init().to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("h.7.norm.weight", &[6][..], DType::F64, "ones".to_string()),
            (
                "x.weight",
                &[3, 3],
                DType::BF16,
                "normal(mean=0, std=0.02)".into()
            ),
            ("x.bias", &[3], DType::F32, "zeros".into()),
            (
                "emb.weight",
                &[2, 2],
                DType::F16,
                "uniform(low=-1, high=1)".into()
            ),
        ]
    );
}

fn spec_error(text: &str) -> String {
    plan(text).unwrap_err().to_string()
}

#[test]
fn errors_name_the_line_and_the_value() {
    let cases: &[(&str, &[&str])] = &[
        ("seed = 1\ndtype = \n", &["line 2"]),
        ("dtype = \"f8\"\n", &["line 1", "'f8'"]),
        ("\n\nlayout = \"nchw\"\n", &["line 3", "'nchw'"]),
        (
            "init = \"zeros\"\n[[tensor]]\nname = \"a\"\nshape = [2, -1]\n",
            &["line 4", "-1"],
        ),
        (
            "[[tensor]]\nname = \"a\"\nshape = [2]\ninit = \"bogus\"\n",
            &["line 4", "'bogus'"],
        ),
        (
            "init = \"zeros\"\n[[tensor]]\nname = \"a\"\nshape = [2, 0]\n",
            &["line 2", "'a'", "dimension 1 is 0"],
        ),
        (
            "init = \"zeros\"\n[[tensor]]\nname = \"a\"\nshape = [2]\n[[tensor]]\nname = \"a\"\nshape = [3]\n",
            &["line 5", "'a' is listed twice", "line 2"],
        ),
        (
            "[rules]\n\"*.b\" = \"zeros\"\n\"*.w\" = \"ones\"\n[[tensor]]\nname = \"a.w\"\nshape = [2]\n",
            &["line 2", "rule '*.b' matches no tensor"],
        ),
        (
            "[rules]\n\"*.w\" = \"zeros\"\n\"a*\" = \"ones\"\n[[tensor]]\nname = \"a.w\"\nshape = [2]\n",
            &["'*.w'", "'a*'", "'a.w'", "priority"],
        ),
        ("[rules]\n\"a[\" = \"zeros\"\n", &["line 2", "'a['"]),
        (
            "[[tensor]]\nname = \"a\"\nshape = [2]\n",
            &["'a' has no initializer"],
        ),
        (
            "[[repeat]]\ncount = 2\n[[repeat.tensor]]\nname = \"x\"\nshape = [1]\n",
            &["line 3", "'x' has no '{i}'"],
        ),
        ("colour = 1\n", &["line 1", "colour"]),
        (
            "init = \"zeros\"\n[[repeat]]\ncount = 4000000000\n[[repeat.tensor]]\nname = \"x{i}\"\nshape = [1]\n",
            &["line 2", "4000000000"],
        ),
    ];
    for (text, needles) in cases {
        let e = spec_error(text);
        assert!(!e.contains('\n'), "one line: {e}");
        for n in *needles {
            assert!(e.contains(n), "{text:?}: '{e}' lacks {n}");
        }
    }
}

#[test]
fn tied_rules_that_agree_are_fine() {
    let text = "[rules]\n\"*.w\" = \"zeros\"\n\"a*\" = \"zeros\"\n[[tensor]]\nname = \"a.w\"\nshape = [2]\n";
    assert_eq!(init_of(&plan(text).unwrap(), "a.w"), "zeros");
}
