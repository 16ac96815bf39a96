//! Output element types: `f32`, `f64`, `f16` and `bf16`.

use std::fmt;
use std::str::FromStr;

use half::{bf16, f16};

use crate::error::{Error, Result};

/// An output element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DType {
    /// IEEE binary32.
    #[default]
    F32,
    /// IEEE binary64, generated with 53-bit uniforms and f64 math.
    F64,
    /// IEEE binary16: the f32 value rounded to nearest, ties to even.
    F16,
    /// bfloat16: the f32 value rounded to nearest, ties to even.
    BF16,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
            DType::F16 | DType::BF16 => 2,
        }
    }

    /// The lower-case name used in text (`f32`, `f64`, `f16`, `bf16`).
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(DType::F32),
            "f64" | "float64" => Ok(DType::F64),
            "f16" | "float16" | "half" => Ok(DType::F16),
            "bf16" | "bfloat16" => Ok(DType::BF16),
            _ => Err(Error::Unknown {
                what: "dtype",
                value: s.to_string(),
                expected: "f32, f64, f16, bf16",
            }),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

/// A type that tensors can be filled with. Implemented for `f32`, `f64`, [`struct@f16`] and [`struct@bf16`].
pub trait Element:
    sealed::Sealed + Copy + Send + Sync + Default + bytemuck::Pod + fmt::Debug + 'static
{
    /// The matching [`DType`].
    const DTYPE: DType;
    /// Rounds an f32 value to this type (nearest, ties to even). Unused for `f64`.
    fn from_f32(v: f32) -> Self;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
}

impl Element for f16 {
    const DTYPE: DType = DType::F16;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
}

impl Element for bf16 {
    const DTYPE: DType = DType::BF16;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        bf16::from_f32(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in [DType::F32, DType::F64, DType::F16, DType::BF16] {
            assert_eq!(d.name().parse::<DType>().unwrap(), d);
        }
        let err = "f8".parse::<DType>().unwrap_err().to_string();
        assert!(err.contains("'f8'"), "{err}");
    }
}
