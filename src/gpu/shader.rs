//! WGSL source assembly: the constants prelude generated from the Rust reference, then the
//! shader files from `shaders/`.

use std::fmt::Write;

use crate::philox::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};
use crate::transform::{
    ANGLE_STEP, COS_POLY, ERF_LIMIT, ERFINV_CENTRAL, ERFINV_TAIL, LN_POLY, LN2_HI, LN2_LO,
    SIN_POLY, SQRT_HALF_BITS, SQRT2,
};

const COMMON: &str = include_str!("../../shaders/common.wgsl");
const MULHILO_INT64: &str = include_str!("../../shaders/mulhilo_int64.wgsl");
const MULHILO_LIMB: &str = include_str!("../../shaders/mulhilo_limb.wgsl");
const FILL_F32: &str = include_str!("../../shaders/fill_f32.wgsl");
const FILL_F32_TAIL: &str = include_str!("../../shaders/fill_f32_tail.wgsl");
const FILL_HALF: &str = include_str!("../../shaders/fill_half.wgsl");
const FILL_HALF_SLOTS: &str = include_str!("../../shaders/fill_half_slots.wgsl");
const HALF_BITS: &str = include_str!("../../shaders/half_bits.wgsl");

/// Which output module to assemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// `fill_f32` over `array<vec4<f32>>`: whole 16-byte slots.
    F32,
    /// `fill_f32_tail` over `array<f32>`: the elements past a binding's last whole slot.
    F32Tail,
    /// `fill_f16`, `fill_bf16`, `philox_words` and `fma_probe` over `array<u32>`.
    Half,
    /// `fill_f16_slots` and `fill_bf16_slots` over `array<vec4<u32>>`: whole 16-byte slots.
    HalfSlots,
}

/// An f32 as an exact WGSL hexadecimal float literal (`0x1.8p-1f`), so that the shader's
/// constant has the very bits of the Rust one: a decimal literal would be parsed to f64 and
/// rounded again.
pub(crate) fn hex_f32(v: f32) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0f"
        } else {
            "0.0f"
        }
        .to_string();
    }
    let bits = v.to_bits();
    let sign = if bits >> 31 == 1 { "-" } else { "" };
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0 {
        // Subnormal: 0.m · 2⁻¹²⁶.
        format!("{sign}0x0.{:06x}p-126f", man << 1)
    } else {
        format!("{sign}0x1.{:06x}p{}f", man << 1, exp - 127)
    }
}

/// The constants every shader reads, written from the Rust constants of the reference.
fn prelude() -> String {
    let mut s = String::from("// Generated from src/transform.rs and src/philox.rs.\n");
    let mut f = |name: &str, v: f32| {
        // Writing to a String cannot fail.
        let _ = writeln!(s, "const {name}: f32 = {};", hex_f32(v));
    };
    for (name, poly) in [
        ("LN_POLY", &LN_POLY[..]),
        ("SIN_POLY", &SIN_POLY[..]),
        ("COS_POLY", &COS_POLY[..]),
        ("ERFINV_CENTRAL", &ERFINV_CENTRAL[..]),
        ("ERFINV_TAIL", &ERFINV_TAIL[..]),
    ] {
        for (k, &c) in poly.iter().enumerate() {
            f(&format!("{name}_{k}"), c);
        }
    }
    f("LN2_HI", LN2_HI);
    f("LN2_LO", LN2_LO);
    f("ANGLE_STEP", ANGLE_STEP);
    f("ERF_LIMIT", ERF_LIMIT);
    f("SQRT2", SQRT2);
    f("TWO_M24", 1.0 / 16_777_216.0);
    f("TWO_M32", 1.0 / 4_294_967_296.0);
    for (name, v) in [
        ("SQRT_HALF_BITS", SQRT_HALF_BITS),
        ("PHILOX_M0", PHILOX_M0),
        ("PHILOX_M1", PHILOX_M1),
        ("PHILOX_W0", PHILOX_W0),
        ("PHILOX_W1", PHILOX_W1),
    ] {
        let _ = writeln!(s, "const {name}: u32 = 0x{v:08x}u;");
    }
    s
}

/// The full WGSL source of one module.
pub(crate) fn source(output: Output, int64: bool) -> String {
    let mulhilo = if int64 { MULHILO_INT64 } else { MULHILO_LIMB };
    let (rounding, entry) = match output {
        Output::F32 => ("", FILL_F32),
        Output::F32Tail => ("", FILL_F32_TAIL),
        Output::Half => (HALF_BITS, FILL_HALF),
        Output::HalfSlots => (HALF_BITS, FILL_HALF_SLOTS),
    };
    [prelude().as_str(), mulhilo, COMMON, rounding, entry].join("\n")
}

/// The shared functions with a caller's entry point appended, for tests of single functions.
#[cfg(test)]
pub(crate) fn source_with_entry(entry: &str) -> String {
    [prelude().as_str(), MULHILO_LIMB, COMMON, entry].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a literal made by `hex_f32` back with an independent route: f64 arithmetic on
    /// the digits (exact for 24-bit mantissas).
    fn parse_hex(s: &str) -> f32 {
        let s = s.trim_end_matches('f');
        let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
        let (mant, exp) = s.split_once('p').expect("exponent");
        let (int, frac) = mant
            .trim_start_matches("0x")
            .split_once('.')
            .expect("point");
        let m = f64::from(u32::from_str_radix(int, 16).expect("int"))
            + f64::from(u32::from_str_radix(frac, 16).expect("frac")) / 16f64.powi(6);
        let v = m * 2f64.powi(exp.parse().expect("exp"));
        (if neg { -v } else { v }) as f32
    }

    #[test]
    fn hex_literals_round_trip() {
        for v in LN_POLY.iter().chain(&ERFINV_TAIL).chain(&[
            ANGLE_STEP,
            -LN2_LO,
            f32::MIN_POSITIVE / 8.0,
            f32::MAX,
            1.0,
        ]) {
            for v in [*v, -*v] {
                assert_eq!(parse_hex(&hex_f32(v)).to_bits(), v.to_bits(), "{v:e}");
            }
        }
    }
}
