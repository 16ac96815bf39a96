//! `varscale diagnose`: per-layer signal and gradient spread of a deep net, as a table, JSON
//! lines or a plot.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use plotters::prelude::*;
use plotters::style::FontStyle;
use varscale::Initializer;
use varscale::diagnose::{Activation, Diagnosis, LayerStats, diagnose};

use super::CliError;

/// The font every plot label is drawn with, embedded so that no system font library is needed.
/// DejaVu Sans, under the Bitstream Vera license in `assets/DejaVuSans-LICENSE`.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Arguments of `varscale diagnose`.
#[derive(clap::Args, Debug)]
pub struct DiagnoseArgs {
    /// Number of dense layers.
    #[arg(long, default_value_t = 50)]
    depth: usize,
    /// Units per layer (every weight matrix is width × width).
    #[arg(long, default_value_t = 512)]
    width: usize,
    /// Inputs per batch, drawn from N(0, 1).
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Activation after every layer: linear, sigmoid, tanh, relu, leaky_relu(a), elu, selu,
    /// gelu (exact erf form) or swish. Repeat to compare several.
    #[arg(long = "activation", value_name = "ACT", default_value = "tanh")]
    activations: Vec<Activation>,
    /// Weight initializer, e.g. glorot_normal or 'normal(mean=0, std=1)'. Repeat to compare.
    #[arg(
        long = "init",
        value_name = "INIT",
        default_values = ["glorot_normal", "normal(mean=0, std=1)"]
    )]
    inits: Vec<Initializer>,
    /// Seed of every random number (weights, inputs, top gradient).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write a PNG with a forward and a backward panel per activation.
    #[arg(long, value_name = "PATH.png")]
    plot: Option<PathBuf>,
    /// Print one JSON object per layer and initializer instead of the table.
    #[arg(long)]
    json: bool,
    /// Show every K-th layer in the table (the last layer always shows); default about 20
    /// rows.
    #[arg(long, value_name = "K")]
    every: Option<usize>,
}

/// One finished run: its activation, initializer and per-layer numbers.
struct Run {
    activation: Activation,
    init: Initializer,
    layers: Vec<LayerStats>,
}

/// Runs `varscale diagnose`.
pub fn run(args: &DiagnoseArgs) -> Result<(), CliError> {
    let every = match args.every {
        Some(0) => return Err(CliError::usage("--every must be > 0, got 0")),
        Some(k) => k,
        None => args.depth.div_ceil(20).max(1),
    };
    // Checked before the run, which can take seconds, rather than after it.
    if let Some(path) = &args.plot {
        check_plot_path(path)?;
    }

    let runs = all_runs(args).inspect_err(|_| {
        // Do not leave the empty file that the check created.
        if let Some(path) = &args.plot {
            let _ = std::fs::remove_file(path);
        }
    })?;

    let text = if args.json {
        json_lines(args, &runs)
    } else {
        table(args, &runs, every)
    };
    // A reader that stops early (`| head`) closes the pipe: not an error of this command.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(CliError::runtime(format!("cannot write to stdout: {e}")));
        }
        _ => {}
    }
    if let Some(path) = &args.plot {
        plot(path, args, &runs).map_err(|e| {
            CliError::runtime(format!("cannot draw plot '{}': {e}", path.display()))
        })?;
    }
    Ok(())
}

/// Every (activation, initializer) pair, in command-line order.
fn all_runs(args: &DiagnoseArgs) -> Result<Vec<Run>, CliError> {
    let mut runs = Vec::new();
    for &activation in &args.activations {
        let net = Diagnosis::new(args.depth, args.width, args.batch, activation, args.seed)?;
        for init in &args.inits {
            let start = Instant::now();
            let layers = diagnose(&net, init)?;
            let seconds = start.elapsed().as_secs_f64();
            log::info!("{activation}, {init}: {seconds:.2} s");
            runs.push(Run {
                activation,
                init: *init,
                layers,
            });
        }
    }
    Ok(runs)
}

/// A usage error unless `path` ends in `.png` and can be created.
fn check_plot_path(path: &Path) -> Result<(), CliError> {
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        return Err(CliError::usage(format!(
            "--plot must name a .png file, got '{}'",
            path.display()
        )));
    }
    File::create(path)
        .map(drop)
        .map_err(|e| CliError::usage(format!("cannot write plot to '{}': {e}", path.display())))
}

/// `1.234e-5`-style. Inputs and weights are finite, so a non-finite value means that f32
/// overflowed on the way.
fn sci(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3e}")
    } else {
        "overflow".to_string()
    }
}

/// One table row; the fraction column (saturated or dead) only where the activation has one.
fn row(cells: [&str; 6]) -> String {
    let [layer, z, x, frac, g, gw] = cells;
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(" {frac:>9}")
    };
    format!("{layer:>5} {z:>10} {x:>10}{frac} {g:>10} {gw:>10}\n")
}

fn table(args: &DiagnoseArgs, runs: &[Run], every: usize) -> String {
    let mut out = String::new();
    for run in runs {
        let frac_name = if run.activation.saturates() {
            "saturated"
        } else if run.activation.can_die() {
            "dead"
        } else {
            ""
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{}, {} (depth {}, width {}, batch {}, seed {})",
            run.activation, run.init, args.depth, args.width, args.batch, args.seed
        );
        out += &row([
            "layer",
            "std z",
            "std act",
            frac_name,
            "std dL/dx",
            "std dL/dW",
        ]);
        let last = run.layers.len().saturating_sub(1);
        for s in run
            .layers
            .iter()
            .filter(|s| s.layer % every == 0 || s.layer == last)
        {
            let frac = s
                .saturated
                .or(s.dead)
                .map_or(String::new(), |f| format!("{f:.3}"));
            out += &row([
                &s.layer.to_string(),
                &sci(s.z_std),
                &sci(s.x_std),
                &frac,
                &sci(s.grad_std),
                &sci(s.weight_grad_std),
            ]);
        }
        out.push('\n');
    }
    out
}

fn json_lines(args: &DiagnoseArgs, runs: &[Run]) -> String {
    let mut out = String::new();
    for run in runs {
        for s in &run.layers {
            // serde_json writes non-finite numbers (an f32 overflow) as null.
            let object = serde_json::json!({
                "activation": run.activation.to_string(),
                "init": run.init.to_string(),
                "layer": s.layer,
                "depth": args.depth,
                "width": args.width,
                "batch": args.batch,
                "seed": args.seed,
                "z_std": s.z_std,
                "act_std": s.x_std,
                "saturated": s.saturated,
                "dead": s.dead,
                "grad_std": s.grad_std,
                "weight_grad_std": s.weight_grad_std,
            });
            let _ = writeln!(out, "{object}");
        }
    }
    out
}

/// Splits a line into its runs of plottable points: a log axis can show neither 0 nor an
/// overflow, so the line breaks there instead.
fn finite_runs(values: impl Iterator<Item = (usize, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for (layer, v) in values {
        if v.is_finite() && v > 0.0 {
            if let Some(current) = runs.last_mut() {
                current.push((layer as f64, v));
            }
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// A log-axis range covering `values` with a little room, widened to whole decades.
fn decade_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.1, 10.0);
    }
    // The 20% keeps a line that sits on a decade off the frame.
    let lo = 10f64.powf((lo / 1.2).log10().floor());
    let hi = 10f64.powf((hi * 1.2).log10().ceil());
    (lo, hi)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Which number of a layer a panel shows.
type Metric = fn(&LayerStats) -> f64;

/// Line colours: the Okabe–Ito palette, told apart by colour-blind readers and on white.
const COLORS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn line_style(i: usize) -> ShapeStyle {
    ShapeStyle::from(COLORS[i % COLORS.len()]).stroke_width(3)
}

fn plot(path: &Path, args: &DiagnoseArgs, runs: &[Run]) -> DrawResult {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the embedded font is not a valid TrueType font")?;
    let rows = args.activations.len();
    const LEGEND: u32 = 56;
    let height = u32::try_from(rows * 500)
        .unwrap_or(u32::MAX)
        .saturating_add(LEGEND);
    let root = BitMapBackend::new(path, (1600, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (legend, grid) = root.split_vertically(LEGEND);
    draw_legend(&legend, &args.inits)?;
    let panels = grid.split_evenly((rows, 2));

    for (row, activation) in args.activations.iter().enumerate() {
        let row_runs: Vec<&Run> = runs
            .iter()
            .filter(|r| r.activation == *activation)
            .collect();
        let panels_of_row: [(&str, Metric); 2] = [
            ("forward: std of activations act(z)", |s| s.x_std),
            ("backward: std of gradient dL/dx", |s| s.grad_std),
        ];
        for (col, (what, value)) in panels_of_row.into_iter().enumerate() {
            let title = format!(
                "{activation}, {what}  (width {}, batch {})",
                args.width, args.batch
            );
            draw_panel(&panels[row * 2 + col], &title, &row_runs, value, args.depth)?;
        }
    }
    root.present()?;
    Ok(())
}

/// One legend for the whole figure, in a band on top: every panel uses the same colour for
/// the same initializer, and a legend inside a panel would hide lines.
fn draw_legend(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    inits: &[Initializer],
) -> DrawResult {
    let font = ("sans-serif", 19).into_font().color(&BLACK);
    let mut x = 90;
    let y = 30;
    for (i, init) in inits.iter().enumerate() {
        let label = init.to_string();
        area.draw(&PathElement::new(vec![(x, y), (x + 36, y)], line_style(i)))?;
        area.draw(&Text::new(label.clone(), (x + 44, y - 10), font.clone()))?;
        let (w, _) = area.estimate_text_size(&label, &font)?;
        x += 44 + i32::try_from(w).unwrap_or(400) + 40;
    }
    let note = "(a line that stops: f32 overflow)";
    area.draw(&Text::new(
        note,
        (x, y - 10),
        font.color(&RGBColor(90, 90, 90)),
    ))?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    runs: &[&Run],
    value: Metric,
    depth: usize,
) -> DrawResult {
    let (lo, hi) = decade_range(runs.iter().flat_map(|r| r.layers.iter().map(value)));
    let x_max = depth.saturating_sub(1).max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..x_max, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("layer")
        .y_desc("standard deviation (log scale)")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 17))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;

    for (i, run) in runs.iter().enumerate() {
        for segment in finite_runs(run.layers.iter().map(|s| (s.layer, value(s)))) {
            chart.draw_series(LineSeries::new(segment, line_style(i)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_where_a_log_axis_cannot_go() {
        let values = [1.0, 2.0, f64::NAN, 3.0, 0.0, f64::INFINITY, 4.0, 5.0];
        let runs = finite_runs(values.into_iter().enumerate());
        let want = vec![
            vec![(0.0, 1.0), (1.0, 2.0)],
            vec![(3.0, 3.0)],
            vec![(6.0, 4.0), (7.0, 5.0)],
        ];
        assert_eq!(runs, want);
    }

    #[test]
    fn log_range_covers_the_values_in_whole_decades() {
        let (lo, hi) = decade_range([0.03, 7.0, f64::NAN, 0.0].into_iter());
        assert_eq!((lo, hi), (0.01, 10.0));
        // A value on a decade still gets room above it.
        assert_eq!(decade_range([1.0].into_iter()), (0.1, 10.0));
        assert_eq!(decade_range([f64::NAN].into_iter()), (0.1, 10.0));
    }
}
