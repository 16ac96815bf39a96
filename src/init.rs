//! Initializers: the VarianceScaling family (Glorot, He, LeCun), PyTorch's Xavier and Kaiming
//! constructors, and plain distributions, with one text syntax for all of them.

use std::fmt;
use std::str::FromStr;

use crate::error::{self, Error, Result};
use crate::fans::{Fans, Layout};
use crate::sampler::Sampler;

/// The standard deviation of `N(0, 1)` truncated to `[−2, 2]`; Keras divides by it so that the
/// truncated normal keeps the variance it was asked for.
pub const TRUNCATED_STD_2SIGMA: f64 = 0.879_625_661_034_239_8;

/// Which fan VarianceScaling divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FanMode {
    /// `fan_in`: keeps the forward activations' variance.
    FanIn,
    /// `fan_out`: keeps the back-propagated gradients' variance.
    FanOut,
    /// `(fan_in + fan_out) / 2`: the Glorot compromise.
    FanAvg,
}

/// The distribution VarianceScaling draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// `N(0, σ²)` cut at ±2σ, with σ = √(scale/n) / 0.8796…, so the variance is scale/n.
    TruncatedNormal,
    /// `N(0, σ²)` with σ = √(scale/n).
    UntruncatedNormal,
    /// `U(−limit, limit)` with limit = √(3·scale/n).
    Uniform,
}

/// Activation functions that PyTorch's `calculate_gain` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Nonlinearity {
    /// Identity: gain 1.
    Linear,
    /// Any convolution (`conv1d` … `conv_transpose3d` in text): gain 1.
    Conv,
    /// Logistic sigmoid: gain 1.
    Sigmoid,
    /// tanh: gain 5/3.
    Tanh,
    /// ReLU: gain √2.
    Relu,
    /// Leaky ReLU with negative slope `a`: gain √(2 / (1 + a²)).
    LeakyRelu,
    /// SELU: gain 3/4.
    Selu,
}

macro_rules! keyword_enum {
    ($ty:ident, $what:literal, $expected:literal, { $($text:literal => $variant:expr),+ $(,)? }) => {
        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s.trim() {
                    $($text => Ok($variant),)+
                    _ => Err(Error::Unknown { what: $what, value: s.to_string(), expected: $expected }),
                }
            }
        }
    };
}

keyword_enum!(FanMode, "mode", "fan_in, fan_out, fan_avg", {
    "fan_in" => FanMode::FanIn, "fan_out" => FanMode::FanOut, "fan_avg" => FanMode::FanAvg,
});
keyword_enum!(Distribution, "distribution", "truncated_normal, untruncated_normal, normal, uniform", {
    "truncated_normal" => Distribution::TruncatedNormal,
    "normal" => Distribution::TruncatedNormal,
    "untruncated_normal" => Distribution::UntruncatedNormal,
    "uniform" => Distribution::Uniform,
});
keyword_enum!(Nonlinearity, "nonlinearity",
    "linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu", {
    "linear" => Nonlinearity::Linear, "identity" => Nonlinearity::Linear,
    "conv" => Nonlinearity::Conv, "conv1d" => Nonlinearity::Conv, "conv2d" => Nonlinearity::Conv,
    "conv3d" => Nonlinearity::Conv, "conv_transpose1d" => Nonlinearity::Conv,
    "conv_transpose2d" => Nonlinearity::Conv, "conv_transpose3d" => Nonlinearity::Conv,
    "sigmoid" => Nonlinearity::Sigmoid, "tanh" => Nonlinearity::Tanh, "relu" => Nonlinearity::Relu,
    "leaky_relu" => Nonlinearity::LeakyRelu, "selu" => Nonlinearity::Selu,
});

impl fmt::Display for FanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FanMode::FanIn => "fan_in",
            FanMode::FanOut => "fan_out",
            FanMode::FanAvg => "fan_avg",
        })
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Distribution::TruncatedNormal => "truncated_normal",
            Distribution::UntruncatedNormal => "untruncated_normal",
            Distribution::Uniform => "uniform",
        })
    }
}

impl fmt::Display for Nonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Nonlinearity::Linear => "linear",
            Nonlinearity::Conv => "conv2d",
            Nonlinearity::Sigmoid => "sigmoid",
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::LeakyRelu => "leaky_relu",
            Nonlinearity::Selu => "selu",
        })
    }
}

impl Nonlinearity {
    /// The recommended gain, as PyTorch's `torch.nn.init.calculate_gain`.
    ///
    /// `param` is the negative slope of `leaky_relu` (0.01 when `None`); other
    /// nonlinearities ignore it.
    ///
    /// # Errors
    /// A NaN or infinite slope.
    pub fn gain(self, param: Option<f64>) -> Result<f64> {
        Ok(match self {
            Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => std::f64::consts::SQRT_2,
            Nonlinearity::LeakyRelu => {
                let a = error::finite("negative_slope", param.unwrap_or(0.01))?;
                (2.0 / (1.0 + a * a)).sqrt()
            }
            Nonlinearity::Selu => 0.75,
        })
    }
}

/// PyTorch's `calculate_gain(nonlinearity, param)`; see [`Nonlinearity::gain`].
///
/// # Errors
/// A NaN or infinite slope.
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f64>) -> Result<f64> {
    nonlinearity.gain(param)
}

/// The VarianceScaling initializer (Keras): variance `scale / n`, `n = max(1, fan)`.
///
/// Glorot & Bengio (2010) derive `fan_avg` with scale 1, He et al. (2015) `fan_in` with scale 2
/// for ReLU, LeCun et al. (1998) `fan_in` with scale 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VarianceScaling {
    scale: f64,
    mode: FanMode,
    distribution: Distribution,
}

impl VarianceScaling {
    /// A VarianceScaling initializer.
    ///
    /// # Errors
    /// [`Error::NotPositive`] or [`Error::NotFinite`] for a bad `scale`.
    pub fn new(scale: f64, mode: FanMode, distribution: Distribution) -> Result<Self> {
        error::positive("scale", scale)?;
        Ok(Self {
            scale,
            mode,
            distribution,
        })
    }

    /// The scale factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The fan mode.
    pub fn mode(&self) -> FanMode {
        self.mode
    }

    /// The distribution.
    pub fn distribution(&self) -> Distribution {
        self.distribution
    }

    /// The sampler for a tensor with these fans.
    ///
    /// # Errors
    /// Only if the resulting σ is not representable (it always is for a valid scale).
    pub fn sampler(&self, fans: Fans) -> Result<Sampler> {
        let n = fans.select(self.mode).max(1.0);
        let var = self.scale / n;
        match self.distribution {
            Distribution::TruncatedNormal => {
                Sampler::truncated_normal(0.0, var.sqrt() / TRUNCATED_STD_2SIGMA, -2.0, 2.0)
            }
            Distribution::UntruncatedNormal => Sampler::normal(0.0, var.sqrt()),
            Distribution::Uniform => {
                let limit = (3.0 * var).sqrt();
                Sampler::uniform(-limit, limit)
            }
        }
    }
}

/// The named VarianceScaling presets of Keras. The `_normal` ones are truncated, as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// `U(±√(6/(fan_in+fan_out)))` — Glorot & Bengio (2010).
    GlorotUniform,
    /// Truncated normal, variance `2/(fan_in+fan_out)` — Glorot & Bengio (2010).
    GlorotNormal,
    /// `U(±√(6/fan_in))` — He et al. (2015).
    HeUniform,
    /// Truncated normal, variance `2/fan_in` — He et al. (2015).
    HeNormal,
    /// `U(±√(3/fan_in))` — LeCun et al. (1998).
    LecunUniform,
    /// Truncated normal, variance `1/fan_in` — LeCun et al. (1998); with SELU, Klambauer et
    /// al. (2017).
    LecunNormal,
}

impl Preset {
    const ALL: [(Preset, &'static str); 6] = [
        (Preset::GlorotUniform, "glorot_uniform"),
        (Preset::GlorotNormal, "glorot_normal"),
        (Preset::HeUniform, "he_uniform"),
        (Preset::HeNormal, "he_normal"),
        (Preset::LecunUniform, "lecun_uniform"),
        (Preset::LecunNormal, "lecun_normal"),
    ];

    /// The equivalent VarianceScaling.
    pub fn variance_scaling(self) -> VarianceScaling {
        let (scale, mode, distribution) = match self {
            Preset::GlorotUniform => (1.0, FanMode::FanAvg, Distribution::Uniform),
            Preset::GlorotNormal => (1.0, FanMode::FanAvg, Distribution::TruncatedNormal),
            Preset::HeUniform => (2.0, FanMode::FanIn, Distribution::Uniform),
            Preset::HeNormal => (2.0, FanMode::FanIn, Distribution::TruncatedNormal),
            Preset::LecunUniform => (1.0, FanMode::FanIn, Distribution::Uniform),
            Preset::LecunNormal => (1.0, FanMode::FanIn, Distribution::TruncatedNormal),
        };
        VarianceScaling {
            scale,
            mode,
            distribution,
        }
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("", |(_, n)| n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Spec {
    Preset(Preset),
    VarianceScaling(VarianceScaling),
    Xavier {
        gain: f64,
        distribution: Distribution,
    },
    Kaiming {
        a: f64,
        mode: FanMode,
        nonlinearity: Nonlinearity,
        distribution: Distribution,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    TruncatedNormal {
        mean: f64,
        std: f64,
        a: f64,
        b: f64,
    },
    Constant(f64),
    Zeros,
    Ones,
}

/// A weight initializer: how to fill a tensor, given its fans.
///
/// Build one with a constructor, or parse its text form; [`Display`](fmt::Display) writes the
/// text back, and parsing that text gives an equal initializer.
///
/// # Example
/// ```
/// use varscale::{Fans, Initializer};
/// let he: Initializer = "he_normal".parse()?;
/// let torch_linear: Initializer = "kaiming_uniform(a=2.2360679, mode=fan_in, nonlinearity=leaky_relu)".parse()?;
/// let sampler = torch_linear.sampler(Fans::new(256, 64))?;
/// // nn.Linear's default is U(±1/√fan_in).
/// assert!((sampler.variance() - (1.0f64 / 16.0).powi(2) / 3.0).abs() < 1e-9);
/// assert_eq!(he.to_string().parse::<Initializer>()?, he);
/// # Ok::<(), varscale::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Initializer {
    spec: Spec,
}

impl Initializer {
    /// A Keras preset.
    pub const fn preset(preset: Preset) -> Self {
        Self {
            spec: Spec::Preset(preset),
        }
    }

    /// `glorot_uniform`: `U(±√(6/(fan_in+fan_out)))` (Glorot & Bengio, 2010). Keras' default.
    pub const fn glorot_uniform() -> Self {
        Self::preset(Preset::GlorotUniform)
    }

    /// `glorot_normal`: truncated normal, variance `2/(fan_in+fan_out)`.
    pub const fn glorot_normal() -> Self {
        Self::preset(Preset::GlorotNormal)
    }

    /// `he_uniform`: `U(±√(6/fan_in))` (He et al., 2015).
    pub const fn he_uniform() -> Self {
        Self::preset(Preset::HeUniform)
    }

    /// `he_normal`: truncated normal, variance `2/fan_in` (He et al., 2015).
    pub const fn he_normal() -> Self {
        Self::preset(Preset::HeNormal)
    }

    /// `lecun_uniform`: `U(±√(3/fan_in))` (LeCun et al., 1998).
    pub const fn lecun_uniform() -> Self {
        Self::preset(Preset::LecunUniform)
    }

    /// `lecun_normal`: truncated normal, variance `1/fan_in` (LeCun et al., 1998).
    pub const fn lecun_normal() -> Self {
        Self::preset(Preset::LecunNormal)
    }

    /// General VarianceScaling.
    pub const fn variance_scaling(vs: VarianceScaling) -> Self {
        Self {
            spec: Spec::VarianceScaling(vs),
        }
    }

    /// PyTorch `xavier_uniform_(gain)`: `U(±gain·√(6/(fan_in+fan_out)))`.
    ///
    /// # Errors
    /// A non-positive or non-finite gain.
    pub fn xavier_uniform(gain: f64) -> Result<Self> {
        error::positive("gain", gain)?;
        Ok(Self {
            spec: Spec::Xavier {
                gain,
                distribution: Distribution::Uniform,
            },
        })
    }

    /// PyTorch `xavier_normal_(gain)`: **untruncated** `N(0, gain²·2/(fan_in+fan_out))`.
    ///
    /// # Errors
    /// A non-positive or non-finite gain.
    pub fn xavier_normal(gain: f64) -> Result<Self> {
        error::positive("gain", gain)?;
        Ok(Self {
            spec: Spec::Xavier {
                gain,
                distribution: Distribution::UntruncatedNormal,
            },
        })
    }

    /// PyTorch `kaiming_uniform_(a, mode, nonlinearity)`: `U(±√3·gain/√fan)`, with
    /// `gain = calculate_gain(nonlinearity, a)`. PyTorch's defaults are `a = 0`, `fan_in`,
    /// `leaky_relu`.
    ///
    /// # Errors
    /// A non-finite `a`, or `mode = fan_avg` (PyTorch offers only `fan_in` and `fan_out`).
    pub fn kaiming_uniform(a: f64, mode: FanMode, nonlinearity: Nonlinearity) -> Result<Self> {
        Self::kaiming(a, mode, nonlinearity, Distribution::Uniform)
    }

    /// PyTorch `kaiming_normal_(a, mode, nonlinearity)`: **untruncated** `N(0, gain²/fan)`.
    ///
    /// # Errors
    /// As [`Initializer::kaiming_uniform`].
    pub fn kaiming_normal(a: f64, mode: FanMode, nonlinearity: Nonlinearity) -> Result<Self> {
        Self::kaiming(a, mode, nonlinearity, Distribution::UntruncatedNormal)
    }

    fn kaiming(
        a: f64,
        mode: FanMode,
        nonlinearity: Nonlinearity,
        distribution: Distribution,
    ) -> Result<Self> {
        error::finite("a", a)?;
        if mode == FanMode::FanAvg {
            return Err(Error::Unknown {
                what: "kaiming mode",
                value: mode.to_string(),
                expected: "fan_in, fan_out",
            });
        }
        Ok(Self {
            spec: Spec::Kaiming {
                a,
                mode,
                nonlinearity,
                distribution,
            },
        })
    }

    /// `N(mean, std²)`.
    ///
    /// # Errors
    /// A non-finite mean, or a std that is not > 0.
    pub fn normal(mean: f64, std: f64) -> Result<Self> {
        Sampler::normal(mean, std)?;
        Ok(Self {
            spec: Spec::Normal { mean, std },
        })
    }

    /// `U(low, high)`.
    ///
    /// # Errors
    /// Unless `low < high`, both finite.
    pub fn uniform(low: f64, high: f64) -> Result<Self> {
        Sampler::uniform(low, high)?;
        Ok(Self {
            spec: Spec::Uniform { low, high },
        })
    }

    /// `N(mean, std²)` truncated to `[a, b]`, with `a` and `b` in output units, as PyTorch's
    /// `trunc_normal_` (defaults `0, 1, −2, 2`).
    ///
    /// # Errors
    /// A bad mean or std, or `a >= b`.
    pub fn truncated_normal(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        error::finite("mean", mean)?;
        error::positive("std", std)?;
        error::ordered(("a", a), ("b", b))?;
        Ok(Self {
            spec: Spec::TruncatedNormal { mean, std, a, b },
        })
    }

    /// Every element equal to `value`.
    ///
    /// # Errors
    /// A NaN or infinite value.
    pub fn constant(value: f64) -> Result<Self> {
        error::finite("value", value)?;
        Ok(Self {
            spec: Spec::Constant(value),
        })
    }

    /// All zeros.
    pub const fn zeros() -> Self {
        Self { spec: Spec::Zeros }
    }

    /// All ones.
    pub const fn ones() -> Self {
        Self { spec: Spec::Ones }
    }

    /// The resolved sampler for a tensor with these fans.
    ///
    /// # Errors
    /// Only for parameters that overflow once combined with the fans.
    pub fn sampler(&self, fans: Fans) -> Result<Sampler> {
        match self.spec {
            Spec::Preset(p) => p.variance_scaling().sampler(fans),
            Spec::VarianceScaling(vs) => vs.sampler(fans),
            Spec::Xavier { gain, distribution } => {
                let std = gain * (2.0 / (fans.fan_in as f64 + fans.fan_out as f64).max(1.0)).sqrt();
                normal_or_uniform(std, distribution)
            }
            Spec::Kaiming {
                a,
                mode,
                nonlinearity,
                distribution,
            } => {
                let std = nonlinearity.gain(Some(a))? / fans.select(mode).max(1.0).sqrt();
                normal_or_uniform(std, distribution)
            }
            Spec::Normal { mean, std } => Sampler::normal(mean, std),
            Spec::Uniform { low, high } => Sampler::uniform(low, high),
            Spec::TruncatedNormal { mean, std, a, b } => {
                Sampler::truncated_normal(mean, std, (a - mean) / std, (b - mean) / std)
            }
            Spec::Constant(v) => Sampler::constant(v),
            Spec::Zeros => Sampler::constant(0.0),
            Spec::Ones => Sampler::constant(1.0),
        }
    }

    /// The sampler for a tensor of `shape` in `layout`.
    ///
    /// Initializers that do not use fans (plain distributions, constants) accept any shape.
    ///
    /// # Errors
    /// A shape the layout cannot take (fewer than 2 dims in the torch layout), if the
    /// initializer needs fans.
    pub fn sampler_for_shape(&self, shape: &[u64], layout: Layout) -> Result<Sampler> {
        let fans = if self.uses_fans() {
            Fans::from_shape(shape, layout)?
        } else {
            Fans::new(1, 1)
        };
        self.sampler(fans)
    }

    /// Whether this initializer's distribution depends on the tensor's fans.
    pub fn uses_fans(&self) -> bool {
        matches!(
            self.spec,
            Spec::Preset(_) | Spec::VarianceScaling(_) | Spec::Xavier { .. } | Spec::Kaiming { .. }
        )
    }
}

fn normal_or_uniform(std: f64, distribution: Distribution) -> Result<Sampler> {
    match distribution {
        Distribution::Uniform => {
            let bound = 3f64.sqrt() * std;
            Sampler::uniform(-bound, bound)
        }
        _ => Sampler::normal(0.0, std),
    }
}

impl fmt::Display for Initializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec {
            Spec::Preset(p) => f.write_str(p.name()),
            Spec::VarianceScaling(vs) => write!(
                f,
                "variance_scaling(scale={}, mode={}, distribution={})",
                vs.scale, vs.mode, vs.distribution
            ),
            Spec::Xavier { gain, distribution } => {
                let kind = if distribution == Distribution::Uniform {
                    "uniform"
                } else {
                    "normal"
                };
                write!(f, "xavier_{kind}(gain={gain})")
            }
            Spec::Kaiming {
                a,
                mode,
                nonlinearity,
                distribution,
            } => {
                let kind = if distribution == Distribution::Uniform {
                    "uniform"
                } else {
                    "normal"
                };
                write!(
                    f,
                    "kaiming_{kind}(a={a}, mode={mode}, nonlinearity={nonlinearity})"
                )
            }
            Spec::Normal { mean, std } => write!(f, "normal(mean={mean}, std={std})"),
            Spec::Uniform { low, high } => write!(f, "uniform(low={low}, high={high})"),
            Spec::TruncatedNormal { mean, std, a, b } => {
                write!(f, "truncated_normal(mean={mean}, std={std}, a={a}, b={b})")
            }
            Spec::Constant(v) => write!(f, "constant({v})"),
            Spec::Zeros => f.write_str("zeros"),
            Spec::Ones => f.write_str("ones"),
        }
    }
}

/// Parsed arguments of `name(k=v, ...)`: matched against a parameter list.
struct Args<'a> {
    text: &'a str,
    name: &'a str,
    values: Vec<Option<&'a str>>,
    params: &'static [&'static str],
}

impl<'a> Args<'a> {
    fn parse(
        text: &'a str,
        name: &'a str,
        body: Option<&'a str>,
        params: &'static [&'static str],
    ) -> Result<Self> {
        let mut values = vec![None; params.len()];
        let err = |reason: String| Error::Parse {
            text: text.to_string(),
            reason,
        };
        let items = body.map(str::trim).filter(|b| !b.is_empty());
        for (position, item) in items.into_iter().flat_map(|b| b.split(',')).enumerate() {
            let item = item.trim();
            let (slot, value) = match item.split_once('=') {
                Some((key, value)) => {
                    let key = key.trim();
                    let slot = params.iter().position(|p| *p == key).ok_or_else(|| {
                        err(format!(
                            "{name} has no parameter '{key}' (it takes: {})",
                            params.join(", ")
                        ))
                    })?;
                    (slot, value.trim())
                }
                None if position < params.len() => (position, item),
                None => {
                    return Err(err(format!(
                        "{name} takes at most {} arguments",
                        params.len()
                    )));
                }
            };
            if value.is_empty() {
                return Err(err(format!("empty value in '{item}'")));
            }
            if values[slot].replace(value).is_some() {
                return Err(err(format!("parameter '{}' given twice", params[slot])));
            }
        }
        Ok(Self {
            text,
            name,
            values,
            params,
        })
    }

    fn raw(&self, param: &str) -> Option<&'a str> {
        self.params
            .iter()
            .position(|p| *p == param)
            .and_then(|i| self.values[i])
    }

    fn num(&self, param: &str, default: Option<f64>) -> Result<f64> {
        match (self.raw(param), default) {
            (Some(v), _) => v.parse::<f64>().map_err(|_| Error::Parse {
                text: self.text.to_string(),
                reason: format!("{} = '{v}' is not a number", param),
            }),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::Parse {
                text: self.text.to_string(),
                reason: format!("{} needs '{param}'", self.name),
            }),
        }
    }

    fn word<T: FromStr<Err = Error>>(&self, param: &str, default: T) -> Result<T> {
        self.raw(param).map_or(Ok(default), str::parse)
    }
}

const INITIALIZER_NAMES: &str = "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, \
    lecun_normal, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, variance_scaling, \
    normal, uniform, truncated_normal, constant, zeros, ones";

impl FromStr for Initializer {
    type Err = Error;

    /// Parses `name` or `name(arg, key=value, ...)`; see the crate docs for every name.
    fn from_str(s: &str) -> Result<Self> {
        let text = s.trim();
        let err = |reason: &str| Error::Parse {
            text: s.to_string(),
            reason: reason.to_string(),
        };
        let (name, body) = match text.find('(') {
            Some(open) => {
                let body = text[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| err("missing closing ')'"))?;
                if body.contains(['(', ')']) {
                    return Err(err("nested parentheses"));
                }
                (text[..open].trim(), Some(body))
            }
            None => (text, None),
        };
        if name.is_empty() {
            return Err(err("no initializer name"));
        }
        let args = |params: &'static [&'static str]| Args::parse(s, name, body, params);
        let spec = match name {
            "zeros" | "ones" | "glorot_uniform" | "glorot_normal" | "he_uniform" | "he_normal"
            | "lecun_uniform" | "lecun_normal" => {
                args(&[])?;
                match Preset::ALL.iter().find(|(_, n)| *n == name) {
                    Some((preset, _)) => Spec::Preset(*preset),
                    None if name == "zeros" => Spec::Zeros,
                    None => Spec::Ones,
                }
            }
            "variance_scaling" => {
                let a = args(&["scale", "mode", "distribution"])?;
                Spec::VarianceScaling(VarianceScaling::new(
                    a.num("scale", Some(1.0))?,
                    a.word("mode", FanMode::FanIn)?,
                    a.word("distribution", Distribution::TruncatedNormal)?,
                )?)
            }
            "xavier_uniform" => {
                Initializer::xavier_uniform(args(&["gain"])?.num("gain", Some(1.0))?)?.spec
            }
            "xavier_normal" => {
                Initializer::xavier_normal(args(&["gain"])?.num("gain", Some(1.0))?)?.spec
            }
            "kaiming_uniform" | "kaiming_normal" => {
                let a = args(&["a", "mode", "nonlinearity"])?;
                let (slope, mode, nl) = (
                    a.num("a", Some(0.0))?,
                    a.word("mode", FanMode::FanIn)?,
                    a.word("nonlinearity", Nonlinearity::LeakyRelu)?,
                );
                if name == "kaiming_uniform" {
                    Initializer::kaiming_uniform(slope, mode, nl)?.spec
                } else {
                    Initializer::kaiming_normal(slope, mode, nl)?.spec
                }
            }
            "normal" => {
                let a = args(&["mean", "std"])?;
                Initializer::normal(a.num("mean", Some(0.0))?, a.num("std", Some(1.0))?)?.spec
            }
            "uniform" => {
                let a = args(&["low", "high"])?;
                Initializer::uniform(a.num("low", Some(0.0))?, a.num("high", Some(1.0))?)?.spec
            }
            "truncated_normal" => {
                let a = args(&["mean", "std", "a", "b"])?;
                Initializer::truncated_normal(
                    a.num("mean", Some(0.0))?,
                    a.num("std", Some(1.0))?,
                    a.num("a", Some(-2.0))?,
                    a.num("b", Some(2.0))?,
                )?
                .spec
            }
            "constant" => Initializer::constant(args(&["value"])?.num("value", None)?)?.spec,
            _ => {
                return Err(Error::Unknown {
                    what: "initializer",
                    value: name.to_string(),
                    expected: INITIALIZER_NAMES,
                });
            }
        };
        Ok(Self { spec })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for text in [
            "he_normal",
            "glorot_uniform",
            "lecun_normal",
            "zeros",
            "ones",
            "variance_scaling(scale=2, mode=fan_avg, distribution=uniform)",
            "normal(mean=0, std=0.02)",
            "kaiming_uniform(a=2.2360679, mode=fan_in, nonlinearity=leaky_relu)",
            "kaiming_normal(a=0, mode=fan_out, nonlinearity=relu)",
            "xavier_normal(gain=1.6666666666666667)",
            "truncated_normal(mean=0.5, std=0.1, a=0.3, b=0.9)",
            "uniform(low=-0.1, high=0.2)",
            "constant(0.1)",
        ] {
            let init: Initializer = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            let again: Initializer = init.to_string().parse().unwrap();
            assert_eq!(again, init, "{text} -> {init}");
        }
    }

    #[test]
    fn positional_and_default_arguments() {
        assert_eq!(
            "normal(0, 0.02)".parse::<Initializer>().unwrap(),
            Initializer::normal(0.0, 0.02).unwrap()
        );
        assert_eq!(
            "normal(std=2)".parse::<Initializer>().unwrap(),
            Initializer::normal(0.0, 2.0).unwrap()
        );
        assert_eq!(
            "constant(value=3)".parse::<Initializer>().unwrap(),
            Initializer::constant(3.0).unwrap()
        );
        assert_eq!(
            "kaiming_uniform".parse::<Initializer>().unwrap(),
            Initializer::kaiming_uniform(0.0, FanMode::FanIn, Nonlinearity::LeakyRelu).unwrap()
        );
    }

    #[test]
    fn bad_text_names_the_problem() {
        let cases = [
            ("he_nromal", "he_nromal"),
            ("normal(mean=0, sd=1)", "'sd'"),
            ("normal(std=-1)", "-1"),
            ("normal(std=abc)", "'abc'"),
            ("normal(std=1", "')'"),
            ("uniform(low=1, high=1)", "low=1"),
            ("variance_scaling(scale=0)", "scale"),
            ("variance_scaling(mode=fan_sum)", "fan_sum"),
            ("variance_scaling(distribution=gamma)", "gamma"),
            ("kaiming_normal(nonlinearity=swish)", "swish"),
            ("kaiming_normal(mode=fan_avg)", "fan_avg"),
            ("constant()", "value"),
            ("normal(1, 2, 3)", "at most 2"),
            ("normal(std=1, std=2)", "twice"),
            ("he_normal(2)", "at most 0"),
            ("", "no initializer name"),
        ];
        for (text, needle) in cases {
            let e = text.parse::<Initializer>().unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn pytorch_gains() {
        let g = |n, p| calculate_gain(n, p).unwrap();
        assert_eq!(g(Nonlinearity::Linear, None), 1.0);
        assert_eq!(g(Nonlinearity::Sigmoid, None), 1.0);
        assert_eq!(g(Nonlinearity::Tanh, None), 5.0 / 3.0);
        assert_eq!(g(Nonlinearity::Relu, None), 2f64.sqrt());
        assert_eq!(g(Nonlinearity::Selu, None), 0.75);
        assert_eq!(
            g(Nonlinearity::LeakyRelu, None),
            (2.0 / (1.0 + 0.01f64 * 0.01)).sqrt()
        );
        assert_eq!(
            g(Nonlinearity::LeakyRelu, Some(5f64.sqrt())),
            (1.0f64 / 3.0).sqrt()
        );
    }

    /// Variance of each constructor against its formula written out independently.
    #[test]
    fn variances_follow_the_formulas() {
        let fans = Fans::new(300, 500);
        let var = |i: Initializer| i.sampler(fans).unwrap().variance();
        let close = |a: f64, b: f64| assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
        close(var(Initializer::glorot_uniform()), 2.0 / 800.0);
        close(var(Initializer::glorot_normal()), 2.0 / 800.0);
        close(var(Initializer::he_uniform()), 2.0 / 300.0);
        close(var(Initializer::he_normal()), 2.0 / 300.0);
        close(var(Initializer::lecun_uniform()), 1.0 / 300.0);
        close(var(Initializer::lecun_normal()), 1.0 / 300.0);
        close(
            var(Initializer::xavier_normal(2.0).unwrap()),
            4.0 * 2.0 / 800.0,
        );
        close(var(Initializer::xavier_uniform(1.0).unwrap()), 2.0 / 800.0);
        let kn = Initializer::kaiming_normal(0.0, FanMode::FanOut, Nonlinearity::Relu).unwrap();
        close(var(kn), 2.0 / 500.0);
    }
}
