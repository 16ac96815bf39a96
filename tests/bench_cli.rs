//! `varscale bench` seen from outside: its JSON rows, its table, and its errors.

mod common;

use std::process::{Command, Output};

use common::TestRng;
use serde_json::Value;

fn varscale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_varscale"))
        .args(args)
        .output()
        .expect("the varscale binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The largest `ratio_to_ceiling` among the ceiling rows: 1 when ratios are taken against
/// the fastest ceiling.
fn best_ceiling_ratio<'a>(rows: impl Iterator<Item = &'a Value>) -> Option<f64> {
    rows.filter(|r| r["ceiling"] == true)
        .filter_map(|r| r["ratio_to_ceiling"].as_f64())
        .reduce(f64::max)
}

/// Every line is one JSON object with the documented fields, consistent with each other:
/// throughput is elements over the median time, the median lies between min and max, and
/// each thread count's fastest ceiling has ratio 1.
#[test]
fn json_rows_have_the_documented_fields() {
    let mut rng = TestRng::new("json_rows_have_the_documented_fields");
    let elements = rng.range(50_000, 150_000);
    let dtypes = ["f32", "bf16", "f16", "f64"];
    let dtype = dtypes[rng.range(0, 4) as usize];
    let out = varscale(&[
        "bench",
        "--json",
        "--device",
        "cpu",
        "--threads",
        "2",
        "--repeats",
        "3",
        "--elements",
        &elements.to_string(),
        "--dtype",
        dtype,
        "--init",
        "glorot_uniform",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(rows.len() >= 6, "{text}");

    for r in &rows {
        assert_eq!(r["device"], "cpu", "{r}");
        assert_eq!(r["dtype"], dtype, "{r}");
        assert_eq!(r["init"], "glorot_uniform", "{r}");
        assert_eq!(r["elements"].as_u64(), Some(elements), "{r}");
        assert_eq!(r["repeats"].as_u64(), Some(3), "{r}");
        let threads = r["threads"].as_u64().expect("threads");
        assert!(threads == 1 || threads == 2, "{r}");
        let median = r["seconds_median"].as_f64().expect("seconds_median");
        let (min, max) = (r["seconds_min"].as_f64(), r["seconds_max"].as_f64());
        assert!(min <= Some(median) && Some(median) <= max, "{r}");
        let eps = r["elements_per_second"]
            .as_f64()
            .expect("elements_per_second");
        assert!(
            median > 0.0 && (eps * median / elements as f64 - 1.0).abs() < 1e-9,
            "{r}"
        );
        let size = match dtype {
            "f64" => 8.0,
            "f32" => 4.0,
            _ => 2.0,
        };
        let bps = r["bytes_per_second"].as_f64().expect("bytes_per_second");
        assert!((bps / (eps * size) - 1.0).abs() < 1e-9, "{r}");
        assert!(
            r["ratio_to_ceiling"].as_f64().is_some_and(|x| x > 0.0),
            "{r}"
        );
    }

    let method = |r: &Value| r["method"].as_str().unwrap_or_default().to_string();
    for prefix in ["varscale-", "pcg64mcg", "ceiling-store", "ceiling-nt-store"] {
        assert!(
            rows.iter().any(|r| method(r).starts_with(prefix)),
            "no {prefix} row: {text}"
        );
    }
    for threads in [1, 2] {
        let best = best_ceiling_ratio(rows.iter().filter(|r| r["threads"] == threads));
        assert_eq!(best, Some(1.0), "threads {threads}: {text}");
    }
}

#[test]
fn table_names_every_column() {
    let out = varscale(&[
        "bench",
        "--elements",
        "20000",
        "--repeats",
        "1",
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for column in [
        "method",
        "device",
        "threads",
        "Gelem/s",
        "GB/s",
        "vs ceiling",
    ] {
        assert!(
            text.lines().next().unwrap_or_default().contains(column),
            "{text}"
        );
    }
    assert!(
        text.contains("pcg64mcg") && text.contains("ceiling-nt-store"),
        "{text}"
    );
}

/// Bad input exits 2 with one `varscale: ...` line naming the bad value.
#[test]
fn bad_flags_exit_2_naming_the_value() {
    let cases: [(&[&str], &str); 7] = [
        (&["--dtype", "f8"], "f8"),
        (&["--init", "he_sideways"], "he_sideways"),
        (&["--threads", "0"], "--threads"),
        (&["--elements", "0"], "--elements"),
        (&["--repeats", "0"], "--repeats"),
        (&["--device", "tpu"], "tpu"),
        (&["--elements", "many"], "many"),
    ];
    for (flags, named) in cases {
        let out = varscale(&[&["bench"], flags].concat());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(
            err.starts_with("varscale: ") && err.contains(named),
            "{flags:?}: {err}"
        );
    }
}

/// A size no machine can hold is a run-time failure (exit 1) that names the size, not a crash.
#[test]
fn impossible_size_is_a_clean_error() {
    let out = varscale(&["bench", "--elements", &u64::MAX.to_string()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("varscale: ") && err.contains(&u64::MAX.to_string()),
        "{err}"
    );
}

/// The GPU rows: one per GPU method, with the adapter named and no CPU thread count, each
/// ratio taken against the fastest GPU ceiling. Without an adapter the command fails with
/// exit 1, which fails the test only under `VARSCALE_REQUIRE_GPU=1`.
#[test]
fn gpu_rows_name_the_adapter() {
    let out = varscale(&[
        "bench",
        "--json",
        "--device",
        "gpu",
        "--elements",
        "65536",
        "--repeats",
        "2",
    ]);
    if !out.status.success() {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            std::env::var("VARSCALE_REQUIRE_GPU").as_deref() != Ok("1"),
            "VARSCALE_REQUIRE_GPU=1 but: {err}"
        );
        eprintln!("SKIPPED: no GPU adapter: {err}");
        return;
    }
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    let methods: Vec<&str> = rows.iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(
        methods,
        [
            "varscale-resident",
            "varscale-readback",
            "ceiling-clear",
            "ceiling-constant-shader"
        ]
    );
    for r in &rows {
        assert_eq!(r["device"], "gpu", "{r}");
        assert!(r["adapter"].as_str().is_some_and(|a| !a.is_empty()), "{r}");
        assert!(r["threads"].is_null(), "{r}");
    }
    assert_eq!(best_ceiling_ratio(rows.iter()), Some(1.0), "{text}");
}

/// f64 has no GPU kernel: asking for it is a usage error, before any device is touched.
#[test]
fn gpu_f64_is_a_usage_error() {
    let out = varscale(&[
        "bench",
        "--device",
        "gpu",
        "--dtype",
        "f64",
        "--elements",
        "16",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("varscale: ") && err.contains("f64"),
        "{err}"
    );
}
