//! Signal propagation through a deep fully connected network, to see vanishing and exploding
//! activations and gradients per initializer before training.
//!
//! A stack of `depth` dense layers of `width` units, without biases, is run forward on a batch
//! of inputs drawn from N(0, 1): `z = x·W`, `x = act(z)`. A unit-variance random gradient is
//! then pushed back from the top. Per layer this records the spread of the pre-activations,
//! the activations, the back-propagated gradient and the weight gradient — the quantities
//! Glorot & Bengio (2010) tracked to explain why deep nets with badly scaled weights do not
//! train.
//!
//! Every random number comes from varscale's own generator, so a diagnosis is reproducible
//! from its seed: layer `l`'s weights use stream [`stream_for_name`]`("layer.{l}.weight")`,
//! the input batch `"input"` and the top gradient `"output.grad"`. Different initializers
//! under one seed therefore share the same underlying random numbers, which makes their lines
//! directly comparable.
//!
//! # Example
//! ```
//! use varscale::diagnose::{Activation, Diagnosis, diagnose};
//! let net = Diagnosis::new(10, 64, 32, "relu".parse()?, 0)?;
//! let layers = diagnose(&net, &"he_normal".parse()?)?;
//! assert_eq!(layers.len(), 10);
//! // He keeps Var(z) = 2·Var(input) = 2 for relu, layer after layer.
//! assert!((layers[9].z_std / 2f64.sqrt() - 1.0).abs() < 0.5);
//! # Ok::<(), varscale::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;

use crate::error::{self, Error, Result};
use crate::{Cpu, Initializer, Layout, Philox, Sampler, stream_for_name};

/// Below this |act'(z)| a unit counts as saturated: it passes on less than 1% of its gradient.
pub const SATURATION_SLOPE: f32 = 0.01;

/// SELU's α (Klambauer et al., 2017, "Self-Normalizing Neural Networks", eq. 2).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// SELU's λ, the output scale (Klambauer et al., 2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

/// An elementwise activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// The identity, `z`.
    Linear,
    /// The logistic sigmoid, `1/(1+e^{-z})`.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// `max(0, z)` (Nair & Hinton, 2010).
    Relu,
    /// `z` for `z > 0`, else `a·z` (Maas et al., 2013). Written `leaky_relu(a)`; `a` defaults to
    /// 0.01, PyTorch's default.
    LeakyRelu(f32),
    /// `z` for `z > 0`, else `e^z − 1`: ELU with α = 1 (Clevert et al., 2015).
    Elu,
    /// `λ·z` for `z > 0`, else `λ·α·(e^z − 1)`, with [`SELU_LAMBDA`] and [`SELU_ALPHA`]
    /// (Klambauer et al., 2017).
    Selu,
    /// The exact GELU `z·Φ(z) = z·(1 + erf(z/√2))/2` (Hendrycks & Gimpel, 2016), not the tanh
    /// approximation.
    Gelu,
    /// Swish with β = 1 (also called SiLU), `z·sigmoid(z)` (Ramachandran et al., 2017).
    Swish,
}

const ACTIVATION_NAMES: &str = "linear, sigmoid, tanh, relu, leaky_relu(a), elu, selu, gelu, swish";

/// PyTorch's default negative slope for `leaky_relu`.
const LEAKY_RELU_DEFAULT: f32 = 0.01;

fn sigmoid(z: f32) -> f32 {
    // Written so that e^{-z} never overflows into inf/inf.
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The standard normal density φ(z).
fn normal_pdf(z: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    INV_SQRT_2PI * (-0.5 * z * z).exp()
}

/// The standard normal distribution function Φ(z).
fn normal_cdf(z: f32) -> f32 {
    0.5 * libm::erfcf(-z * std::f32::consts::FRAC_1_SQRT_2)
}

impl Activation {
    /// `act(z)`. NaN stays NaN, so that an overflow upstream shows instead of turning into 0.
    pub fn apply(self, z: f32) -> f32 {
        if z.is_nan() {
            return z;
        }
        let selu_lambda = SELU_LAMBDA as f32;
        let selu_alpha = SELU_ALPHA as f32;
        match self {
            Self::Linear => z,
            Self::Sigmoid => sigmoid(z),
            Self::Tanh => z.tanh(),
            Self::Relu => z.max(0.0),
            Self::LeakyRelu(a) => {
                if z > 0.0 {
                    z
                } else {
                    a * z
                }
            }
            Self::Elu => {
                if z > 0.0 {
                    z
                } else {
                    z.exp_m1()
                }
            }
            Self::Selu => {
                if z > 0.0 {
                    selu_lambda * z
                } else {
                    selu_lambda * selu_alpha * z.exp_m1()
                }
            }
            Self::Gelu => z * normal_cdf(z),
            Self::Swish => z * sigmoid(z),
        }
    }

    /// `act'(z)`, the derivative. At the kink of relu and leaky_relu (`z = 0`) it takes the left
    /// slope, as PyTorch does. NaN stays NaN.
    pub fn derivative(self, z: f32) -> f32 {
        if z.is_nan() {
            return z;
        }
        let selu_lambda = SELU_LAMBDA as f32;
        let selu_alpha = SELU_ALPHA as f32;
        match self {
            Self::Linear => 1.0,
            Self::Sigmoid => {
                let s = sigmoid(z);
                s * (1.0 - s)
            }
            Self::Tanh => {
                let t = z.tanh();
                1.0 - t * t
            }
            Self::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Self::LeakyRelu(a) => {
                if z > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Self::Elu => {
                if z > 0.0 {
                    1.0
                } else {
                    z.exp()
                }
            }
            Self::Selu => {
                if z > 0.0 {
                    selu_lambda
                } else {
                    selu_lambda * selu_alpha * z.exp()
                }
            }
            Self::Gelu => normal_cdf(z) + z * normal_pdf(z),
            Self::Swish => {
                let s = sigmoid(z);
                s + z * s * (1.0 - s)
            }
        }
    }

    /// Whether the activation flattens out on both sides, so that a saturated fraction means
    /// something (sigmoid and tanh).
    pub fn saturates(self) -> bool {
        matches!(self, Self::Sigmoid | Self::Tanh)
    }

    /// Whether units can die: output 0 with zero slope for every input (relu).
    pub fn can_die(self) -> bool {
        matches!(self, Self::Relu)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Linear => f.write_str("linear"),
            Self::Sigmoid => f.write_str("sigmoid"),
            Self::Tanh => f.write_str("tanh"),
            Self::Relu => f.write_str("relu"),
            Self::LeakyRelu(a) => write!(f, "leaky_relu({a})"),
            Self::Elu => f.write_str("elu"),
            Self::Selu => f.write_str("selu"),
            Self::Gelu => f.write_str("gelu"),
            Self::Swish => f.write_str("swish"),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;

    /// Parses `tanh`, `leaky_relu`, `leaky_relu(0.2)` or `leaky_relu(a=0.2)`, ...
    fn from_str(text: &str) -> Result<Self> {
        let text = text.trim();
        let unknown = || Error::Unknown {
            what: "activation",
            value: text.to_string(),
            expected: ACTIVATION_NAMES,
        };
        let (name, arg) = match text.split_once('(') {
            Some((name, rest)) => {
                let arg = rest.strip_suffix(')').ok_or_else(|| Error::Parse {
                    text: text.to_string(),
                    reason: "missing ')'".to_string(),
                })?;
                (name.trim(), Some(arg.trim()))
            }
            None => (text, None),
        };
        let activation = match name.to_ascii_lowercase().as_str() {
            "linear" | "identity" => Self::Linear,
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "leaky_relu" => {
                let a = match arg {
                    None | Some("") => LEAKY_RELU_DEFAULT,
                    Some(arg) => {
                        let value = arg.strip_prefix("a=").unwrap_or(arg).trim();
                        let a: f64 = value.parse().map_err(|_| Error::Parse {
                            text: text.to_string(),
                            reason: format!("'{value}' is not a number"),
                        })?;
                        error::finite("a", a)? as f32
                    }
                };
                return Ok(Self::LeakyRelu(a));
            }
            "elu" => Self::Elu,
            "selu" => Self::Selu,
            "gelu" => Self::Gelu,
            "swish" | "silu" => Self::Swish,
            _ => return Err(unknown()),
        };
        match arg {
            None => Ok(activation),
            Some(_) => Err(Error::Parse {
                text: text.to_string(),
                reason: format!("{activation} takes no parameter"),
            }),
        }
    }
}

/// The network to diagnose: `depth` square dense layers of `width` units, a batch of `batch`
/// inputs, an activation and a seed.
// LIMIT: every layer is width × width without bias, normalisation or residual connection, so a
// net whose width changes (a wide input, a bottleneck) is shown only through its square part.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diagnosis {
    depth: usize,
    width: usize,
    batch: usize,
    activation: Activation,
    seed: u64,
}

impl Diagnosis {
    /// Checks the sizes and builds the description.
    ///
    /// # Errors
    /// [`Error::NotPositive`] for a zero `depth`, `width` or `batch`; [`Error::BadShape`] if
    /// the stored activations and slopes (`2·depth·batch·width` f32) cannot be addressed.
    pub fn new(
        depth: usize,
        width: usize,
        batch: usize,
        activation: Activation,
        seed: u64,
    ) -> Result<Self> {
        for (name, value) in [("depth", depth), ("width", width), ("batch", batch)] {
            if value == 0 {
                return Err(Error::NotPositive { name, value: 0.0 });
            }
        }
        let too_big = || Error::BadShape {
            shape: vec![depth as u64, batch as u64, width as u64],
            reason: "the network's activations do not fit in memory on this machine".into(),
        };
        depth
            .checked_mul(batch)
            .and_then(|n| n.checked_mul(width))
            .and_then(|n| n.checked_mul(2 * std::mem::size_of::<f32>()))
            .filter(|&bytes| isize::try_from(bytes).is_ok())
            .ok_or_else(too_big)?;
        Ok(Self {
            depth,
            width,
            batch,
            activation,
            seed,
        })
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Units per layer.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Inputs per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The activation after every layer.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The seed of every random number drawn.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// What one layer did to the signal. Standard deviations are over all `batch·width` entries,
/// about their mean; a value that overflowed f32 shows as infinite or NaN.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerStats {
    /// The layer's index, 0 for the one that reads the input.
    pub layer: usize,
    /// Std of the pre-activations `z = x·W`.
    pub z_std: f64,
    /// Std of the activations `act(z)`, the layer's output.
    pub x_std: f64,
    /// For sigmoid and tanh: the fraction of entries with `|act'(z)| <` [`SATURATION_SLOPE`].
    /// Entries that overflowed to NaN count as neither saturated nor dead.
    pub saturated: Option<f64>,
    /// For relu: the fraction of units whose `z ≤ 0` for every input of the batch, so that they
    /// output 0 and pass no gradient.
    pub dead: Option<f64>,
    /// Std of the gradient back-propagated to the layer's input, `∂L/∂x_in`.
    pub grad_std: f64,
    /// Std of the weight gradient `x_inᵀ·∂L/∂z`.
    pub weight_grad_std: f64,
}

/// A dense row-major matrix view (`rows × cols`, element `(i, j)` at `i·row_stride +
/// j·col_stride`), the shape `gemm` wants.
#[derive(Clone, Copy)]
struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element the strides reach lies inside `data`.
    fn in_bounds(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.cols - 1).checked_mul(self.col_stride))
            .and_then(|(a, b)| a.checked_add(b));
        matches!(last, Some(last) if last < self.data.len())
    }
}

/// `out = a·b` with `out` row-major `a.rows × b.cols`, multi-threaded over rayon's pool.
fn matmul(out: &mut [f32], a: MatRef<'_>, b: MatRef<'_>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // The checks that make the raw-pointer call below sound; the callers build the shapes from
    // one `Diagnosis`, so a failure here is a bug in this module.
    assert!(b.rows == k && out.len() == m * n, "matmul shapes");
    assert!(a.in_bounds() && b.in_bounds(), "matmul strides");
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: `out` holds exactly m·n elements, written at i·n + j for i < m, j < n. Every
    // element read from `a` and `b` is inside its slice (checked by `in_bounds` above). The
    // output is a `&mut` borrow, so it aliases neither input. With `read_dst = false` gemm
    // computes out = beta·a·b (alpha is ignored), beta = 1.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Sum of `f` over `values` in f64, the same bits on any thread count: fixed chunks, whose
/// partial sums are added in order.
fn det_sum(values: &[f32], f: impl Fn(f64) -> f64 + Sync) -> f64 {
    const CHUNK: usize = 1 << 14;
    let partial: Vec<f64> = values
        .par_chunks(CHUNK)
        .map(|c| c.iter().map(|&v| f(f64::from(v))).sum())
        .collect();
    partial.iter().sum()
}

/// Population standard deviation about the mean, accumulated in f64 (two passes), the same
/// bits on any thread count.
pub fn std_dev(values: &[f32]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = det_sum(values, |v| v) / n;
    (det_sum(values, |v| (v - mean).powi(2)) / n).sqrt()
}

/// Draws `out` from `sampler` under `(seed, stream)`, on all cores.
fn draw(sampler: &Sampler, seed: u64, stream: &str, out: &mut [f32]) -> Result<()> {
    Cpu::new().fill(sampler, Philox::new(seed, stream_for_name(stream)), 0, out)
}

/// A zeroed buffer of `len` floats, or an error naming the shape if memory runs out (a plain
/// `vec!` would abort the process).
fn zeroed(len: usize, net: &Diagnosis) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| Error::BadShape {
        shape: vec![net.depth as u64, net.batch as u64, net.width as u64],
        reason: format!(
            "cannot allocate {} MiB for the network's activations",
            len >> 18
        ),
    })?;
    v.resize(len, 0.0);
    Ok(v)
}

/// Draws layer `layer`'s weights: the same stream in the forward and the backward pass.
fn draw_weights(sampler: &Sampler, seed: u64, layer: usize, out: &mut [f32]) -> Result<()> {
    draw(sampler, seed, &format!("layer.{layer}.weight"), out)
}

/// Runs the network forward and backward with weights from `init` and returns one
/// [`LayerStats`] per layer, input layer first.
///
/// Weights have the Keras shape `[width, width]`, so fans come from it as in
/// [`Initializer::sampler_for_shape`]. The matrix products use the multi-threaded `gemm`
/// crate, in f32, as a training step would.
///
/// # Errors
/// An initializer whose parameters do not fit f32; [`Error::BadShape`] if the activations do
/// not fit in memory.
pub fn diagnose(net: &Diagnosis, init: &Initializer) -> Result<Vec<LayerStats>> {
    let Diagnosis {
        depth,
        width,
        batch,
        activation: act,
        seed,
    } = *net;
    let n = batch * width;
    let sampler = init.sampler_for_shape(&[width as u64, width as u64], Layout::Keras)?;
    let unit_normal = Sampler::normal(0.0, 1.0)?;
    log::info!(
        "diagnose: {depth} layers of {batch}x{width} · {width}x{width}, {act}, {init}, \
         {} threads",
        rayon::current_num_threads()
    );

    // xs[l] is layer l's input and ds[l] is act'(z) of layer l: all the backward pass needs.
    // LIMIT: both are kept for every layer (2·depth·batch·width f32, 200 MiB for 50 layers of
    // 1024×512); recomputing them in segments would trade time for memory.
    let mut xs = zeroed(depth * n, net)?;
    let mut ds = zeroed(depth * n, net)?;
    draw(&unit_normal, seed, "input", &mut xs[..n])?;
    let mut weights = vec![0f32; width * width];
    let mut z = vec![0f32; n];
    let mut top = vec![0f32; n];
    let mut stats = Vec::with_capacity(depth);
    for layer in 0..depth {
        draw_weights(&sampler, seed, layer, &mut weights)?;
        let (before, after) = xs.split_at_mut((layer + 1) * n);
        let x_in = &before[layer * n..];
        let x_out = if layer + 1 < depth {
            &mut after[..n]
        } else {
            &mut top[..]
        };
        let d = &mut ds[layer * n..(layer + 1) * n];
        matmul(
            &mut z,
            MatRef::row_major(x_in, batch, width),
            MatRef::row_major(&weights, width, width),
        );
        x_out
            .par_iter_mut()
            .zip(d.par_iter_mut())
            .zip(z.par_iter())
            .for_each(|((x, d), &z)| {
                *x = act.apply(z);
                *d = act.derivative(z);
            });
        let saturated = act.saturates().then(|| {
            let count = d.par_iter().filter(|d| d.abs() < SATURATION_SLOPE).count();
            count as f64 / n as f64
        });
        let dead = act.can_die().then(|| {
            let z = &z;
            let count = (0..width)
                .into_par_iter()
                .filter(|&j| (0..batch).all(|i| z[i * width + j] <= 0.0))
                .count();
            count as f64 / width as f64
        });
        stats.push(LayerStats {
            layer,
            z_std: std_dev(&z),
            x_std: std_dev(x_out),
            saturated,
            dead,
            grad_std: f64::NAN,
            weight_grad_std: f64::NAN,
        });
    }

    // Backward: g holds ∂L/∂x of the current layer's output, then of its input.
    let mut g = vec![0f32; n];
    draw(&unit_normal, seed, "output.grad", &mut g)?;
    let mut g_z = z;
    let mut weight_grad = vec![0f32; width * width];
    for layer in (0..depth).rev() {
        let d = &ds[layer * n..(layer + 1) * n];
        g_z.par_iter_mut()
            .zip(g.par_iter().zip(d.par_iter()))
            .for_each(|(gz, (&g, &d))| *gz = g * d);
        matmul(
            &mut weight_grad,
            MatRef::row_major(&xs[layer * n..(layer + 1) * n], batch, width).t(),
            MatRef::row_major(&g_z, batch, width),
        );
        // Regenerating the weights costs a fill (well under a millisecond) and saves keeping
        // depth·width² floats.
        draw_weights(&sampler, seed, layer, &mut weights)?;
        matmul(
            &mut g,
            MatRef::row_major(&g_z, batch, width),
            MatRef::row_major(&weights, width, width).t(),
        );
        stats[layer].grad_std = std_dev(&g);
        stats[layer].weight_grad_std = std_dev(&weight_grad);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A naive triple loop, the reference for the gemm wrapper's strides.
    fn naive(a: MatRef<'_>, b: MatRef<'_>) -> Vec<f32> {
        let mut out = vec![0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                let mut s = 0f64;
                for k in 0..a.cols {
                    s += f64::from(a.data[i * a.row_stride + k * a.col_stride])
                        * f64::from(b.data[k * b.row_stride + j * b.col_stride]);
                }
                out[i * b.cols + j] = s as f32;
            }
        }
        out
    }

    #[test]
    fn matmul_matches_naive_for_every_transpose() {
        let (m, k, n) = (37, 53, 29);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7919) % 113) as f32 / 50.0 - 1.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 104_729) % 97) as f32 / 40.0 - 1.2)
            .collect();
        let cases = [
            (MatRef::row_major(&a, m, k), MatRef::row_major(&b, k, n)),
            (MatRef::row_major(&a, k, m).t(), MatRef::row_major(&b, k, n)),
            (MatRef::row_major(&a, m, k), MatRef::row_major(&b, n, k).t()),
        ];
        for (a, b) in cases {
            let mut out = vec![0f32; m * n];
            matmul(&mut out, a, b);
            for (got, want) in out.iter().zip(naive(a, b)) {
                // k = 53 products of |·| ≤ 1.2: f32 rounding stays far below 1e-4.
                assert!((got - want).abs() < 1e-4, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn std_dev_of_known_values() {
        // 1..=4: mean 2.5, population variance 1.25.
        assert!((std_dev(&[1.0, 2.0, 3.0, 4.0]) - 1.25f64.sqrt()).abs() < 1e-12);
        assert!(std_dev(&[]).is_nan());
    }

    #[test]
    fn sizes_are_validated() {
        for (d, w, b) in [(0, 4, 4), (4, 0, 4), (4, 4, 0)] {
            assert!(matches!(
                Diagnosis::new(d, w, b, Activation::Tanh, 0),
                Err(Error::NotPositive { .. })
            ));
        }
        assert!(matches!(
            Diagnosis::new(usize::MAX, 2, 2, Activation::Tanh, 0),
            Err(Error::BadShape { .. })
        ));
    }
}
