//! A resolved distribution: what the backends draw from once fans and gains are applied.

use crate::error::{self, Error, Result};
use crate::transform::{F32Params, F64Params, Kind, erf_f64};

/// A fully resolved distribution, ready for any backend.
///
/// An [`Initializer`](crate::Initializer) becomes a `Sampler` once the tensor's fans are
/// known. The parameters are validated here, so every `Sampler` is valid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    params: F64Params,
}

impl Sampler {
    /// Every element equal to `value`.
    ///
    /// # Errors
    /// [`Error::NotFinite`] for NaN or infinity.
    pub fn constant(value: f64) -> Result<Self> {
        error::finite("value", value)?;
        Ok(Self {
            params: F64Params::Constant(value),
        })
    }

    /// `U(low, high)`.
    ///
    /// # Errors
    /// [`Error::BadBounds`] unless `low < high`, both finite.
    pub fn uniform(low: f64, high: f64) -> Result<Self> {
        error::ordered(("low", low), ("high", high))?;
        Ok(Self {
            params: F64Params::Uniform { low, high },
        })
    }

    /// `N(mean, std²)`.
    ///
    /// # Errors
    /// [`Error::NotFinite`] or [`Error::NotPositive`] for a bad `mean` or `std`.
    pub fn normal(mean: f64, std: f64) -> Result<Self> {
        error::finite("mean", mean)?;
        error::positive("std", std)?;
        Ok(Self {
            params: F64Params::Normal { mean, std },
        })
    }

    /// `N(mean, std²)` truncated to `[mean + a·std, mean + b·std]` (`a`, `b` in standard
    /// units).
    ///
    /// # Errors
    /// A bad `mean` or `std`, or `a >= b`.
    pub fn truncated_normal(mean: f64, std: f64, a: f64, b: f64) -> Result<Self> {
        error::finite("mean", mean)?;
        error::positive("std", std)?;
        error::ordered(("a", a), ("b", b))?;
        Ok(Self {
            params: F64Params::TruncatedNormal { mean, std, a, b },
        })
    }

    /// The f64 parameters.
    pub fn f64_params(&self) -> F64Params {
        self.params
    }

    /// The f32 parameters every f32, f16 and bf16 backend reads.
    ///
    /// # Errors
    /// [`Error::NotFinite`] when a parameter overflows f32.
    pub fn f32_params(&self) -> Result<F32Params> {
        let mut p = F32Params {
            a: 0.0,
            b: 0.0,
            mean: 0.0,
            std: 0.0,
            lo: f32::NEG_INFINITY,
            hi: f32::INFINITY,
            _pad: [0.0; 2],
            kind: Kind::Constant as u32,
            _pad2: [0; 3],
        };
        match self.params {
            F64Params::Constant(v) => p.a = v as f32,
            F64Params::Uniform { low, high } => {
                p.kind = Kind::Uniform as u32;
                p.a = (low / 2.0 + high / 2.0) as f32;
                p.b = (high / 2.0 - low / 2.0) as f32;
                (p.lo, p.hi) = (low as f32, high as f32);
            }
            F64Params::Normal { mean, std } => {
                p.kind = Kind::Normal as u32;
                (p.mean, p.std) = (mean as f32, std as f32);
            }
            F64Params::TruncatedNormal { mean, std, a, b } => {
                p.kind = Kind::TruncatedNormal as u32;
                let (ea, eb) = (
                    erf_f64(a / std::f64::consts::SQRT_2),
                    erf_f64(b / std::f64::consts::SQRT_2),
                );
                p.a = (ea / 2.0 + eb / 2.0) as f32;
                p.b = (eb / 2.0 - ea / 2.0) as f32;
                (p.mean, p.std) = (mean as f32, std as f32);
                (p.lo, p.hi) = ((mean + std * a) as f32, (mean + std * b) as f32);
            }
        }
        for (name, v) in [
            ("value", p.a),
            ("half-width", p.b),
            ("mean", p.mean),
            ("std", p.std),
        ] {
            if !v.is_finite() {
                return Err(Error::NotFinite {
                    name,
                    value: f64::from(v),
                });
            }
        }
        if p.kind == Kind::Normal as u32 && p.std == 0.0 {
            return Err(Error::NotPositive {
                name: "std (as f32)",
                value: 0.0,
            });
        }
        Ok(p)
    }

    /// The exact mean of the distribution.
    pub fn mean(&self) -> f64 {
        match self.params {
            F64Params::Constant(v) => v,
            F64Params::Uniform { low, high } => (low + high) / 2.0,
            F64Params::Normal { mean, .. } => mean,
            F64Params::TruncatedNormal { mean, std, a, b } => {
                let (pa, pb, z) = truncation_terms(a, b);
                mean + std * (pa - pb) / z
            }
        }
    }

    /// The exact variance of the distribution.
    pub fn variance(&self) -> f64 {
        match self.params {
            F64Params::Constant(_) => 0.0,
            F64Params::Uniform { low, high } => (high - low).powi(2) / 12.0,
            F64Params::Normal { std, .. } => std * std,
            F64Params::TruncatedNormal { std, a, b, .. } => {
                let (pa, pb, z) = truncation_terms(a, b);
                std * std * (1.0 + (a * pa - b * pb) / z - ((pa - pb) / z).powi(2))
            }
        }
    }

    /// The exact cumulative distribution function at `x` (0 for a constant below its value).
    pub fn cdf(&self, x: f64) -> f64 {
        let phi = |t: f64| 0.5 * (1.0 + erf_f64(t / std::f64::consts::SQRT_2));
        match self.params {
            F64Params::Constant(v) => f64::from(u8::from(x >= v)),
            F64Params::Uniform { low, high } => ((x - low) / (high - low)).clamp(0.0, 1.0),
            F64Params::Normal { mean, std } => phi((x - mean) / std),
            F64Params::TruncatedNormal { mean, std, a, b } => {
                let t = ((x - mean) / std).clamp(a, b);
                (phi(t) - phi(a)) / (phi(b) - phi(a))
            }
        }
    }

    /// The interval that every value lies in, if bounded: `[low, high]` or the truncation.
    pub fn bounds(&self) -> Option<(f64, f64)> {
        match self.params {
            F64Params::Constant(v) => Some((v, v)),
            F64Params::Uniform { low, high } => Some((low, high)),
            F64Params::Normal { .. } => None,
            F64Params::TruncatedNormal { mean, std, a, b } => {
                Some((mean + std * a, mean + std * b))
            }
        }
    }
}

/// `(φ(a), φ(b), Φ(b) − Φ(a))` for the standard normal density φ and distribution Φ.
fn truncation_terms(a: f64, b: f64) -> (f64, f64, f64) {
    let pdf = |t: f64| (-t * t / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let z = (erf_f64(b / std::f64::consts::SQRT_2) - erf_f64(a / std::f64::consts::SQRT_2)) / 2.0;
    (pdf(a), pdf(b), z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_truncation_constant() {
        // The std of N(0,1) cut at ±2 is the constant Keras divides by.
        let s = Sampler::truncated_normal(0.0, 1.0, -2.0, 2.0).unwrap();
        assert!((s.variance().sqrt() - 0.879_625_661_034_239_8).abs() < 1e-12);
        assert_eq!(s.mean(), 0.0);
    }

    #[test]
    fn validation_names_values() {
        let e = Sampler::normal(0.0, -1.0).unwrap_err().to_string();
        assert!(e.contains("std") && e.contains("-1"), "{e}");
        let e = Sampler::uniform(2.0, 1.0).unwrap_err().to_string();
        assert!(e.contains("low=2") && e.contains("high=1"), "{e}");
        let e = Sampler::truncated_normal(0.0, 1.0, 1.0, 1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a=1"), "{e}");
        assert!(Sampler::constant(f64::NAN).is_err());
        let e = Sampler::normal(0.0, 1e300)
            .unwrap()
            .f32_params()
            .unwrap_err()
            .to_string();
        assert!(e.contains("std"), "{e}");
    }
}
