//! Words to values: uniform, Box–Muller normal and inverse-CDF truncated normal.
//!
//! # The f32 transform, operation by operation
//!
//! The functions here are the **reference** for f32 output. The SIMD kernels and the WGSL
//! shaders follow the same sequence of IEEE operations, and every multiply-add is an explicit
//! fused `fma`, so that no compiler is free to contract or split one. With correctly rounded
//! `+ − × fma sqrt` and integer-to-float conversion, every implementation gives the same bits.
//!
//! - **Symmetric uniform** from a word `w`: `k = w >> 8` (24 bits), then
//!   `s = (2k + 1 − 2²⁴) · 2⁻²⁴`, computed exactly as an integer and scaled. `s` lies in
//!   `[−1 + 2⁻²⁴, 1 − 2⁻²⁴]`, symmetric, never 0 and never ±1.
//! - **Uniform(low, high):** `v = clamp(fma(half, s, mid), low, high)` with
//!   `mid = (low + high) / 2` and `half = (high − low) / 2` rounded to f32 once, on the host.
//! - **Normal (Box–Muller)** from `(w0, w1)`: `u = (f32(w0) + 0.5) · 2⁻³²` in `[2⁻³³, 1]`,
//!   `r = sqrt(−2 ln u)`, angle `θ = 2π · (w1 >> 8) · 2⁻²⁴`; the pair is `(r cos θ, r sin θ)`.
//!   `ln` is [`ln_f32`]; `cos θ, sin θ` come from [`sincos_turns`], which reduces the angle
//!   exactly in integers. Then `v = fma(std, z, mean)`.
//! - **Truncated normal** on `[a, b]` (standard units) from `w`: `x = fma(hw, s, c)` where
//!   `c ± hw` are `erf(a/√2), erf(b/√2)`, clamped to `|x| ≤ 1 − 2⁻²⁴`; `z = √2 · erfinv(x)`
//!   with [`erfinv_f32`]; `v = clamp(fma(std, z, mean), lo, hi)` with `lo, hi` the bounds in
//!   output units rounded to f32. There is no rejection loop: one word, one value.
//!
//! # Range
//! No transform produces NaN or infinity. The largest Box–Muller |z| is
//! `sqrt(−2 ln 2⁻³³) ≈ 6.763`; the truncated normal never leaves its bounds.
//!
//! # Accuracy
//! The f32 transcendental functions here are polynomial (Cephes-style `ln`, `sin`, `cos`;
//! M. Giles' single-precision `erfinv`, "Approximating the erfinv function", GPU Computing
//! Gems, 2011). Their error against f64 math is tested in this module.
//!
//! # f64
//! f64 output uses 53-bit uniforms and the standard library's f64 functions (see
//! [`f64_value`]); it has no SIMD kernel.

use crate::philox::Philox;

/// 2⁻²⁴.
const TWO_M24: f32 = 1.0 / 16_777_216.0;
/// 2⁻³².
const TWO_M32: f32 = 1.0 / 4_294_967_296.0;
/// 2⁻¹⁰²: the least `|b|` of a centred uniform whose products `b · s` are never subnormal.
const TWO_M102: f32 = 1.0 / (1u128 << 102) as f32;
/// One step of the 24-bit angle grid, in radians: 2π / 2²⁴ (rounded to f32).
pub const ANGLE_STEP: f32 = (2.0 * std::f64::consts::PI / 16_777_216.0) as f32;
/// The largest |x| fed to `erfinv`: 1 − 2⁻²⁴, the f32 just below 1.
pub const ERF_LIMIT: f32 = 1.0 - TWO_M24;

/// Resolved f32 parameters of one sampler: what every f32 backend reads.
///
/// Its layout is shared with the WGSL shaders' uniform block (eight `f32`s, then the kind).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct F32Params {
    /// Uniform: midpoint. Truncated normal: centre of the erf interval. Constant: the value.
    pub a: f32,
    /// Uniform: half-width. Truncated normal: half-width of the erf interval.
    pub b: f32,
    /// Normal and truncated normal: the mean.
    pub mean: f32,
    /// Normal and truncated normal: the standard deviation.
    pub std: f32,
    /// Lower clamp of the output (`low`, or the truncation bound), or `-inf` for none.
    pub lo: f32,
    /// Upper clamp of the output, or `+inf` for none.
    pub hi: f32,
    /// Padding, zero.
    pub _pad: [f32; 2],
    /// Which transform: see [`Kind`].
    pub kind: u32,
    /// Padding, zero.
    pub _pad2: [u32; 3],
}

/// The transform a sampler uses, as stored in [`F32Params::kind`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Every element equals `a`.
    Constant = 0,
    /// `clamp(fma(b, s, a), lo, hi)`.
    Uniform = 1,
    /// Box–Muller, `fma(std, z, mean)`.
    Normal = 2,
    /// Inverse-CDF truncated normal.
    TruncatedNormal = 3,
}

impl F32Params {
    /// For a uniform: whether its range is centred (`a = 0`) with `|b| ≥ 2⁻¹⁰²`, so that
    /// `fma(b, s, a)` is the plain product `b · s` with the same bits. With a zero addend the
    /// fused operation rounds the exact product once, as a correctly rounded multiply does
    /// (the sign of a zero addend cannot show: `s` is odd over 2²⁴, never zero). With
    /// `|s| ≥ 2⁻²⁴` the product is at least 2⁻¹²⁶, never subnormal, so a device that flushes
    /// subnormals gives the same bits too. False for other kinds, and for NaN.
    pub fn centred_product(&self) -> bool {
        self.kind() == Kind::Uniform && self.a == 0.0 && self.b.abs() >= TWO_M102
    }

    /// For a truncated normal: whether no `x = fma(b, s, a)` can reach erfinv's tail branch
    /// (`w = −ln((1 − x)(1 + x)) ≥ 5`) or the clamp of `x` to `±ERF_LIMIT`, so that a backend
    /// may leave both out with the same bits. False for other kinds.
    ///
    /// `|x|` is at most its value at an extreme `s = ±(1 − 2⁻²⁴)`, as `fma` is monotone, and
    /// `w` grows with `|x|`. The test asks `w < 4.5` in f64 at that end, which keeps `|x|`
    /// below 0.995: far from the clamp, and with a margin of 0.5 in `w` against the few
    /// units in the last place by which the f32 `w` differs, whether the device's `fma` is
    /// fused or not.
    pub fn central_only(&self) -> bool {
        if self.kind() != Kind::TruncatedNormal {
            return false;
        }
        let s_max = 1.0 - TWO_M24;
        let x = self
            .b
            .mul_add(s_max, self.a)
            .abs()
            .max(self.b.mul_add(-s_max, self.a).abs());
        let x = f64::from(x);
        -((1.0 - x) * (1.0 + x)).ln() < 4.5
    }

    /// The transform kind.
    pub fn kind(&self) -> Kind {
        match self.kind {
            1 => Kind::Uniform,
            2 => Kind::Normal,
            3 => Kind::TruncatedNormal,
            _ => Kind::Constant,
        }
    }
}

/// The symmetric uniform `s ∈ [−1 + 2⁻²⁴, 1 − 2⁻²⁴]` of a word (exact).
#[inline(always)]
pub fn symmetric_uniform(w: u32) -> f32 {
    let k = (w >> 8) as i32;
    (2 * k + 1 - (1 << 24)) as f32 * TWO_M24
}

/// The Box–Muller radius uniform `u = (f32(w) + 0.5) · 2⁻³² ∈ [2⁻³³, 1]`.
#[inline(always)]
pub fn radius_uniform(w: u32) -> f32 {
    (w as f32 + 0.5) * TWO_M32
}

/// Cephes `logf` coefficients for `ln(1 + f)`, `f ∈ [√½ − 1, √2 − 1]`, highest degree first.
// The published coefficients, digit for digit, although f32 keeps fewer.
#[allow(clippy::excessive_precision)]
pub const LN_POLY: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461_03e-1,
    1.167_699_874e-1,
    -1.242_014_084_6e-1,
    1.424_932_278_7e-1,
    -1.666_805_766_5e-1,
    2.000_071_476_5e-1,
    -2.499_999_399_3e-1,
    3.333_333_117_4e-1,
];
/// High part of ln 2 (exact in 9 bits, so `e · LN2_HI` is exact).
pub const LN2_HI: f32 = 355.0 / 512.0;
/// Low part of ln 2: `ln 2 − LN2_HI`.
// The published coefficients, digit for digit, although f32 keeps fewer.
#[allow(clippy::excessive_precision)]
pub const LN2_LO: f32 = -2.121_944_4e-4;
/// Bits of √½ rounded to f32, the split point of the mantissa range.
pub const SQRT_HALF_BITS: u32 = 0x3f35_04f3;

/// Natural logarithm of a positive normal f32 (not for 0, subnormals, inf or NaN).
///
/// The exponent is split off with integer arithmetic so that the mantissa `m` lies in
/// `[√½, √2)`; then `ln x = e·ln 2 + ln(1 + f)` with `f = m − 1` exact.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = (bits.wrapping_sub(SQRT_HALF_BITS) as i32) >> 23;
    let m = f32::from_bits(bits.wrapping_sub((e as u32) << 23));
    let f = m - 1.0;
    let ef = e as f32;

    let z = f * f;
    let mut p = LN_POLY[0];
    for &c in &LN_POLY[1..] {
        p = p.mul_add(f, c);
    }
    let y = (f * z) * p;
    let y = ef.mul_add(LN2_LO, y);
    let y = z.mul_add(-0.5, y);
    let r = f + y;
    ef.mul_add(LN2_HI, r)
}

/// Cephes `sinf` coefficients on `[−π/4, π/4]`, highest degree first.
// The published coefficients, digit for digit, although f32 keeps fewer.
#[allow(clippy::excessive_precision)]
pub const SIN_POLY: [f32; 3] = [-1.951_529_589_1e-4, 8.332_160_873_6e-3, -1.666_665_461_1e-1];
/// Cephes `cosf` coefficients on `[−π/4, π/4]`, highest degree first.
// The published coefficients, digit for digit, although f32 keeps fewer.
#[allow(clippy::excessive_precision)]
pub const COS_POLY: [f32; 3] = [
    2.443_315_711_809_948e-5,
    -1.388_731_625_493_765e-3,
    4.166_664_568_298_827e-2,
];

/// `(cos θ, sin θ)` for `θ = 2π · k / 2²⁴`, `k < 2²⁴`.
///
/// The octant comes from the top three bits of `k`; the angle inside it is folded into
/// `[0, π/4]` in integers, so the only rounding before the polynomials is one multiply.
#[inline(always)]
pub fn sincos_turns(k: u32) -> (f32, f32) {
    let octant = k >> 21;
    let j = k & 0x1f_ffff;
    let folded = if octant & 1 == 1 { 0x20_0000 - j } else { j };
    let x = folded as f32 * ANGLE_STEP;

    let z = x * x;
    let ps = SIN_POLY[0].mul_add(z, SIN_POLY[1]).mul_add(z, SIN_POLY[2]);
    let s = ps.mul_add(z * x, x);
    let pc = COS_POLY[0].mul_add(z, COS_POLY[1]).mul_add(z, COS_POLY[2]);
    let c = pc.mul_add(z * z, z.mul_add(-0.5, 1.0));

    // Within the quadrant, odd octants measure the angle from the far edge: swap.
    // Each quadrant turn is a further swap with a sign change.
    let quadrant = octant >> 1;
    let swap = (octant ^ quadrant) & 1 == 1;
    let (sin_q, cos_q) = if swap { (c, s) } else { (s, c) };
    let sin_neg = quadrant >= 2;
    let cos_neg = quadrant == 1 || quadrant == 2;
    (
        if cos_neg { -cos_q } else { cos_q },
        if sin_neg { -sin_q } else { sin_q },
    )
}

/// Giles' single-precision `erfinv`, central branch (`w < 5`), highest degree first.
// The published coefficients, digit for digit, although f32 keeps fewer.
#[allow(clippy::excessive_precision)]
pub const ERFINV_CENTRAL: [f32; 9] = [
    2.810_226_36e-8,
    3.432_739_39e-7,
    -3.523_387_7e-6,
    -4.391_506_54e-6,
    2.185_808_7e-4,
    -1.253_725_03e-3,
    -4.177_681_64e-3,
    2.466_407_27e-1,
    1.501_409_41,
];
/// Giles' single-precision `erfinv`, tail branch (`w ≥ 5`), highest degree first.
// The published coefficients, digit for digit, although f32 keeps fewer.
#[allow(clippy::excessive_precision)]
pub const ERFINV_TAIL: [f32; 9] = [
    -2.002_142_57e-4,
    1.009_505_58e-4,
    1.349_343_22e-3,
    -3.673_428_44e-3,
    5.739_507_73e-3,
    -7.622_461_3e-3,
    9.438_870_47e-3,
    1.001_674_06,
    2.832_976_82,
];

/// `erfinv(x)` for `|x| ≤ 1 − 2⁻²⁴` (M. Giles, 2011), with [`ln_f32`] for the logarithm.
#[inline(always)]
pub fn erfinv_f32(x: f32) -> f32 {
    let w = -ln_f32((1.0 - x) * (1.0 + x));
    let p = if w < 5.0 {
        let t = w - 2.5;
        ERFINV_CENTRAL[1..]
            .iter()
            .fold(ERFINV_CENTRAL[0], |p, &c| p.mul_add(t, c))
    } else {
        let t = w.sqrt() - 3.0;
        ERFINV_TAIL[1..]
            .iter()
            .fold(ERFINV_TAIL[0], |p, &c| p.mul_add(t, c))
    };
    p * x
}

/// The standard normal pair of Box–Muller from two words: `(r cos θ, r sin θ)`.
#[inline(always)]
pub fn box_muller(w0: u32, w1: u32) -> (f32, f32) {
    let r = (ln_f32(radius_uniform(w0)) * -2.0).sqrt();
    let (c, s) = sincos_turns(w1 >> 8);
    (r * c, r * s)
}

/// `√2`, rounded to f32.
pub const SQRT2: f32 = std::f32::consts::SQRT_2;

/// The four f32 values of Philox block `block` under `params`: the scalar reference.
#[inline(always)]
pub fn f32_block(params: &F32Params, rng: &Philox, block: u64) -> [f32; 4] {
    match params.kind() {
        Kind::Constant => [params.a; 4],
        Kind::Uniform => rng.block(block).map(|w| {
            params
                .b
                .mul_add(symmetric_uniform(w), params.a)
                .max(params.lo)
                .min(params.hi)
        }),
        Kind::Normal => {
            let w = rng.block(block);
            let (z0, z1) = box_muller(w[0], w[1]);
            let (z2, z3) = box_muller(w[2], w[3]);
            [z0, z1, z2, z3].map(|z| params.std.mul_add(z, params.mean))
        }
        Kind::TruncatedNormal => rng.block(block).map(|w| {
            let x = params.b.mul_add(symmetric_uniform(w), params.a);
            let x = x.clamp(-ERF_LIMIT, ERF_LIMIT);
            let z = erfinv_f32(x) * SQRT2;
            params
                .std
                .mul_add(z, params.mean)
                .max(params.lo)
                .min(params.hi)
        }),
    }
}

/// Fills `out` with elements `start..start + out.len()` of the f32 tensor, one element at a
/// time from the reference transform.
pub fn f32_fill_reference(params: &F32Params, rng: &Philox, start: u64, out: &mut [f32]) {
    let mut index = start;
    let mut rest = out;
    while !rest.is_empty() {
        let lane = (index % 4) as usize;
        let values = f32_block(params, rng, index / 4);
        let take = (4 - lane).min(rest.len());
        let (head, tail) = rest.split_at_mut(take);
        head.copy_from_slice(&values[lane..lane + take]);
        rest = tail;
        index += take as u64;
    }
}

/// Resolved f64 parameters of one sampler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum F64Params {
    /// Every element equals the value.
    Constant(f64),
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// `N(mean, std²)` truncated to `mean + std·[a, b]`.
    TruncatedNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
        /// Lower bound, standard units.
        a: f64,
        /// Upper bound, standard units.
        b: f64,
    },
}

/// The 53-bit uniform in `(0, 1)` of a 64-bit word: `(k + 0.5) · 2⁻⁵³`.
#[inline(always)]
fn open_uniform_f64(w: u64) -> f64 {
    ((w >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
}

/// Element `index` of an f64 tensor (see the contract in [`crate::philox`]).
pub fn f64_value(params: &F64Params, rng: &Philox, index: u64) -> f64 {
    let w = rng.block(index / 2);
    let lane = (index % 2) as usize;
    let word = |l: usize| (u64::from(w[2 * l + 1]) << 32) | u64::from(w[2 * l]);
    match *params {
        F64Params::Constant(v) => v,
        F64Params::Uniform { low, high } => {
            let u = open_uniform_f64(word(lane));
            (low + (high - low) * u).clamp(low, high)
        }
        F64Params::Normal { mean, std } => {
            let r = (-2.0 * open_uniform_f64(word(0)).ln()).sqrt();
            let (s, c) = (std::f64::consts::TAU * open_uniform_f64(word(1))).sin_cos();
            mean + std * r * if lane == 0 { c } else { s }
        }
        F64Params::TruncatedNormal { mean, std, a, b } => {
            let u = open_uniform_f64(word(lane));
            let (lo, hi) = (
                erf_f64(a / std::f64::consts::SQRT_2),
                erf_f64(b / std::f64::consts::SQRT_2),
            );
            let z = std::f64::consts::SQRT_2 * erfinv_f64(lo + (hi - lo) * u);
            (mean + std * z).clamp(mean + std * a, mean + std * b)
        }
    }
}

/// `erf(x)` in f64 (the `libm` crate's port of musl, below 1 ulp).
pub fn erf_f64(x: f64) -> f64 {
    libm::erf(x)
}

/// `erfinv(y)` in f64 for `y ∈ (−1, 1)`: Giles' f32 estimate refined by three Newton steps on
/// [`erf_f64`]. Returns ±inf at ±1.
pub fn erfinv_f64(y: f64) -> f64 {
    if y <= -1.0 {
        return f64::NEG_INFINITY;
    }
    if y >= 1.0 {
        return f64::INFINITY;
    }
    let mut x = f64::from(erfinv_f32((y as f32).clamp(-ERF_LIMIT, ERF_LIMIT)));
    for _ in 0..3 {
        let err = erf_f64(x) - y;
        // d/dx erf(x) = 2/√π · exp(−x²)
        x -= err / (std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp());
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_centred_uniform_is_a_plain_product() {
        let uniform = |b: f32, a: f32| F32Params {
            a,
            b,
            kind: Kind::Uniform as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        assert!(uniform(0.5, 0.0).centred_product());
        assert!(uniform(-0.5, -0.0).centred_product());
        assert!(uniform(TWO_M102, 0.0).centred_product());
        assert!(!uniform(TWO_M102 / 2.0, 0.0).centred_product());
        assert!(!uniform(0.5, f32::MIN_POSITIVE).centred_product());
        assert!(!uniform(f32::NAN, 0.0).centred_product());
        let truncated = F32Params {
            kind: Kind::TruncatedNormal as u32,
            ..uniform(0.5, 0.0)
        };
        assert!(!truncated.centred_product());
        assert_eq!(TWO_M102, 2f32.powi(-102));
    }

    #[test]
    fn the_tail_branch_is_ruled_out_only_below_its_threshold() {
        let truncated = |b: f32, a: f32| F32Params {
            a,
            b,
            kind: Kind::TruncatedNormal as u32,
            ..bytemuck::Zeroable::zeroed()
        };
        // w = −ln(1 − x²) reaches 5 at |x| ≈ 0.99663; ±2σ ends at erf(√2) ≈ 0.9545.
        assert!(truncated(0.9545, 0.0).central_only());
        assert!(!truncated(0.997, 0.0).central_only());
        assert!(!truncated(0.5, 0.4995).central_only());
        assert!(!truncated(f32::NAN, 0.0).central_only());
        let uniform = F32Params {
            kind: Kind::Uniform as u32,
            ..truncated(0.5, 0.0)
        };
        assert!(!uniform.central_only());
        let w = |x: f32| -ln_f32((1.0 - x) * (1.0 + x));
        assert!(w(0.9545) < 5.0 && w(0.997) >= 5.0);
    }

    /// Distance in units in the last place of `exact` (rounded to f32) between two values.
    fn ulps(got: f32, exact: f64) -> f64 {
        let e = exact as f32;
        let ulp = f32::from_bits(e.abs().to_bits() + 1) - e.abs();
        ((f64::from(got) - exact) / f64::from(ulp)).abs()
    }

    /// Words spread over the whole u32 range, with both ends included.
    fn words() -> impl Iterator<Item = u32> {
        (0..=4096u32)
            .map(|k| k.wrapping_mul(1_048_573))
            .chain([0, 1, u32::MAX, u32::MAX - 255])
    }

    #[test]
    fn uniform_is_symmetric_and_open() {
        assert_eq!(symmetric_uniform(0), -1.0 + TWO_M24);
        assert_eq!(symmetric_uniform(u32::MAX), 1.0 - TWO_M24);
        for w in words() {
            assert_eq!(symmetric_uniform(w), -symmetric_uniform(!w));
        }
        assert_eq!(radius_uniform(0), TWO_M32 / 2.0);
        assert_eq!(radius_uniform(u32::MAX), 1.0);
    }

    #[test]
    fn ln_within_2_ulps() {
        let mut worst = 0.0f64;
        for w in words() {
            let x = radius_uniform(w);
            worst = worst.max(ulps(ln_f32(x), f64::from(x).ln()));
        }
        for k in 1..=100_000u32 {
            let x = k as f32 / 100_000.0;
            worst = worst.max(ulps(ln_f32(x), f64::from(x).ln()).min(if x == 1.0 {
                0.0
            } else {
                f64::MAX
            }));
        }
        assert!(worst <= 2.0, "ln: {worst} ulps");
    }

    #[test]
    fn sincos_within_2_ulps() {
        let mut worst = 0.0f64;
        for k in (0..1u32 << 24)
            .step_by(97)
            .chain([0, 1 << 21, 1 << 22, 3 << 22, (1 << 24) - 1])
        {
            let theta = std::f64::consts::TAU * f64::from(k) / 16_777_216.0;
            let (c, s) = sincos_turns(k);
            for (got, exact) in [(c, theta.cos()), (s, theta.sin())] {
                if exact.abs() < 1e-12 {
                    // A zero of sin or cos: the folded angle is exactly 0 here.
                    assert_eq!(got, 0.0, "k = {k}");
                } else {
                    worst = worst.max(ulps(got, exact));
                }
            }
        }
        // The angle step itself is rounded to f32, which moves θ by up to 2⁻²⁴ relative; the
        // zeros of sin and cos are hit exactly (folded angle 0).
        assert!(worst <= 2.0, "sincos: {worst} ulps");
    }

    #[test]
    fn erfinv_matches_f64() {
        let mut worst = 0.0f64;
        for w in words() {
            // The ±2σ truncation interval of the presets: |x| ≤ erf(√2) ≈ 0.9545.
            let x = symmetric_uniform(w) * 0.954_499_7;
            worst = worst.max(ulps(erfinv_f32(x), erfinv_f64(f64::from(x))));
        }
        assert!(worst <= 8.0, "erfinv central: {worst} ulps");
        // Far tails lose relative accuracy, but stay finite and monotone.
        let mut last = 0.0;
        for k in 0..=1000 {
            let x = 0.95 + 0.05 * k as f32 / 1000.0;
            let v = erfinv_f32(x.min(ERF_LIMIT));
            assert!(v.is_finite() && v >= last, "erfinv({x}) = {v}");
            last = v;
        }
    }

    #[test]
    fn box_muller_reaches_its_documented_maximum() {
        let (z0, z1) = box_muller(0, 0);
        let max = (-2.0 * (2f64).powi(-33).ln()).sqrt();
        assert!(
            (f64::from(z0) - max).abs() < 1e-5 && z1 == 0.0,
            "{z0} {z1} vs {max}"
        );
        for w0 in words() {
            for w1 in [0, 1 << 29, u32::MAX] {
                let (a, b) = box_muller(w0, w1);
                assert!(
                    a.is_finite()
                        && b.is_finite()
                        && a.abs() <= max as f32
                        && b.abs() <= max as f32
                );
            }
        }
    }
}
