//! Fan-in and fan-out of a weight tensor, from its shape and layout or given explicitly.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How a weight tensor's dimensions are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// Keras/TensorFlow/JAX: `(..., in, out)`; the leading dims form the receptive field.
    /// A 1-D shape `(n,)` has `fan_in = fan_out = n`; a 0-D shape has fans of 1.
    #[default]
    Keras,
    /// PyTorch: `(out, in, *kernel)`; the trailing dims form the receptive field. Needs at
    /// least two dims, as `torch.nn.init` does.
    Torch,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Keras => "keras",
            Layout::Torch => "torch",
        })
    }
}

impl FromStr for Layout {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keras" | "tf" | "jax" => Ok(Layout::Keras),
            "torch" | "pytorch" => Ok(Layout::Torch),
            _ => Err(Error::Unknown {
                what: "layout",
                value: s.to_string(),
                expected: "keras, torch",
            }),
        }
    }
}

/// The number of inputs and outputs that feed one weight, as VarianceScaling needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fans {
    /// Inputs per output unit (times the receptive field).
    pub fan_in: u64,
    /// Outputs per input unit (times the receptive field).
    pub fan_out: u64,
}

/// The number of elements of `shape`, or an error if the product overflows `u64`.
///
/// # Errors
/// [`Error::BadShape`] on overflow.
pub fn numel(shape: &[u64]) -> Result<u64> {
    shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .ok_or_else(|| Error::BadShape {
            shape: shape.to_vec(),
            reason: "element count overflows 64 bits".into(),
        })
}

impl Fans {
    /// Fans given directly, for callers who know them.
    pub const fn new(fan_in: u64, fan_out: u64) -> Self {
        Self { fan_in, fan_out }
    }

    /// Fans of `shape` in `layout`.
    ///
    /// # Errors
    /// [`Error::BadShape`] for a Torch shape of fewer than two dims, or a product that
    /// overflows.
    ///
    /// # Example
    /// ```
    /// use varscale::{Fans, Layout};
    /// // A 3×3 conv from 64 to 128 channels.
    /// let keras = Fans::from_shape(&[3, 3, 64, 128], Layout::Keras)?;
    /// let torch = Fans::from_shape(&[128, 64, 3, 3], Layout::Torch)?;
    /// assert_eq!(keras, Fans::new(576, 1152));
    /// assert_eq!(keras, torch);
    /// # Ok::<(), varscale::Error>(())
    /// ```
    pub fn from_shape(shape: &[u64], layout: Layout) -> Result<Self> {
        numel(shape)?;
        match (layout, shape.len()) {
            (Layout::Keras, 0) => Ok(Self::new(1, 1)),
            (Layout::Keras, 1) => Ok(Self::new(shape[0], shape[0])),
            (Layout::Keras, n) => {
                let field: u64 = shape[..n - 2].iter().product();
                Ok(Self::new(shape[n - 2] * field, shape[n - 1] * field))
            }
            (Layout::Torch, n) if n < 2 => Err(Error::BadShape {
                shape: shape.to_vec(),
                reason: "the torch layout (out, in, *kernel) needs at least 2 dims".into(),
            }),
            (Layout::Torch, _) => {
                let field: u64 = shape[2..].iter().product();
                Ok(Self::new(shape[1] * field, shape[0] * field))
            }
        }
    }

    /// Fans with explicit axes, as JAX's `variance_scaling(in_axis, out_axis, batch_axis)`:
    /// the receptive field is the product of every dim that is not the input, output or a
    /// batch axis. Negative axes count from the end.
    ///
    /// # Errors
    /// [`Error::BadShape`] for an axis outside the shape, or equal input and output axes.
    pub fn from_axes(
        shape: &[u64],
        in_axis: isize,
        out_axis: isize,
        batch_axes: &[isize],
    ) -> Result<Self> {
        numel(shape)?;
        let rank = shape.len() as isize;
        let resolve = |axis: isize| -> Result<usize> {
            let a = if axis < 0 { axis + rank } else { axis };
            if (0..rank).contains(&a) {
                Ok(a as usize)
            } else {
                Err(Error::BadShape {
                    shape: shape.to_vec(),
                    reason: format!("axis {axis} is outside a shape of {rank} dims"),
                })
            }
        };
        let (i, o) = (resolve(in_axis)?, resolve(out_axis)?);
        if i == o {
            return Err(Error::BadShape {
                shape: shape.to_vec(),
                reason: format!("in_axis {in_axis} and out_axis {out_axis} are the same dim"),
            });
        }
        let batch = batch_axes
            .iter()
            .map(|&a| resolve(a))
            .collect::<Result<Vec<_>>>()?;
        let field: u64 = (0..shape.len())
            .filter(|d| *d != i && *d != o && !batch.contains(d))
            .map(|d| shape[d])
            .product();
        Ok(Self::new(shape[i] * field, shape[o] * field))
    }

    /// The fan that `mode` selects, as a float (`fan_avg` may be a half-integer).
    pub fn select(&self, mode: crate::FanMode) -> f64 {
        match mode {
            crate::FanMode::FanIn => self.fan_in as f64,
            crate::FanMode::FanOut => self.fan_out as f64,
            crate::FanMode::FanAvg => (self.fan_in as f64 + self.fan_out as f64) / 2.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (shape, layout, fan_in, fan_out), worked out by hand from the definitions.
    const TABLE: &[(&[u64], Layout, u64, u64)] = &[
        (&[], Layout::Keras, 1, 1),
        (&[7], Layout::Keras, 7, 7),
        (&[256, 512], Layout::Keras, 256, 512),
        (&[512, 256], Layout::Torch, 256, 512),
        (&[5, 32, 64], Layout::Keras, 5 * 32, 5 * 64),
        (&[64, 32, 5], Layout::Torch, 5 * 32, 5 * 64),
        (&[3, 3, 16, 8], Layout::Keras, 9 * 16, 9 * 8),
        (&[8, 16, 3, 3], Layout::Torch, 9 * 16, 9 * 8),
        (&[2, 3, 4, 5, 6], Layout::Keras, 24 * 5, 24 * 6),
        (&[6, 5, 2, 3, 4], Layout::Torch, 24 * 5, 24 * 6),
    ];

    #[test]
    fn dense_and_conv_shapes() {
        for &(shape, layout, fan_in, fan_out) in TABLE {
            assert_eq!(
                Fans::from_shape(shape, layout).unwrap(),
                Fans::new(fan_in, fan_out),
                "{shape:?} {layout}"
            );
        }
    }

    #[test]
    fn explicit_axes_match_layouts() {
        let k = [3, 3, 16, 8];
        assert_eq!(
            Fans::from_axes(&k, -2, -1, &[]).unwrap(),
            Fans::from_shape(&k, Layout::Keras).unwrap()
        );
        let t = [8, 16, 3, 3];
        assert_eq!(
            Fans::from_axes(&t, 1, 0, &[]).unwrap(),
            Fans::from_shape(&t, Layout::Torch).unwrap()
        );
        // A batch axis is left out of the receptive field.
        assert_eq!(
            Fans::from_axes(&[4, 10, 20], 1, 2, &[0]).unwrap(),
            Fans::new(10, 20)
        );
    }

    #[test]
    fn bad_shapes_name_the_problem() {
        let e = Fans::from_shape(&[5], Layout::Torch)
            .unwrap_err()
            .to_string();
        assert!(e.contains("[5]") && e.contains("2 dims"), "{e}");
        let e = Fans::from_axes(&[4, 5], 0, 2, &[]).unwrap_err().to_string();
        assert!(e.contains("axis 2"), "{e}");
        let e = Fans::from_axes(&[4, 5], 1, -1, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("same dim"), "{e}");
        let e = numel(&[u64::MAX, 2]).unwrap_err().to_string();
        assert!(e.contains("overflows"), "{e}");
    }
}
