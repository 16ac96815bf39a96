// Philox4x32-10 and the f32 transforms, operation by operation as in src/transform.rs.
//
// The module is assembled on the host as: a constants prelude generated from the Rust
// constants (polynomial coefficients, Philox multipliers, as exact hexadecimal floats and
// integers, so the two sides cannot drift), then one `mulhilo` (mulhilo_int64.wgsl or
// mulhilo_limb.wgsl), then this file, then the entry points (fill_f32.wgsl or fill_half.wgsl).
//
// Every multiply-add of the reference is an explicit `fma` here, and no other multiply
// feeds an addition, so a driver that contracts `a * b + c` changes nothing. The built-in
// `log`, `sin`, `cos` are not used: Vulkan allows them a loose precision.

// One dispatch: the sampler's F32Params (48 bytes, same layout as the Rust struct), then where
// this dispatch writes. 96 bytes; the host writes one per window at a uniform-aligned offset.
struct Dispatch {
    // F32Params: see `transform::F32Params`.
    a: f32,
    b: f32,
    mean: f32,
    std_dev: f32,
    lo: f32,
    hi: f32,
    pad0: f32,
    pad1: f32,
    // The kind is also the pipeline constant KIND, which is what the shader reads.
    kind: u32,
    pad2: u32,
    pad3: u32,
    pad4: u32,
    // Philox key = seed as (low word, high word).
    key: vec2<u32>,
    // Stream id as (low word, high word): the high half of the counter.
    stream: vec2<u32>,
    // Tensor index of the first element written, as (low word, high word).
    index0: vec2<u32>,
    // Position of that element in the bound window, in output elements (f32 or halves).
    out_first: u32,
    // Elements written by this dispatch.
    count: u32,
    // Invocations that do work (fill_f32: 16-byte slots to write); the grid is rounded up to
    // whole workgroups.
    threads: u32,
    // fill_f32: invocations that take slots; invocation t writes slots t + j·stride.
    stride: u32,
    pad6: u32,
    pad7: u32,
}

@group(0) @binding(0) var<uniform> d: Dispatch;

// The transform, as `transform::Kind`, fixed per pipeline: with it a constant, the compiler
// drops the other transforms. (A run-time branch on `d.kind` costs every transform on
// software rasterizers, which execute both sides of a branch they cannot prove uniform.)
override KIND: u32 = 0u;
const KIND_CONSTANT: u32 = 0u;
const KIND_UNIFORM: u32 = 1u;
const KIND_NORMAL: u32 = 2u;
const KIND_TRUNCATED: u32 = 3u;

// Invocations per workgroup. 64 is a multiple of every common SIMD width (8 on llvmpipe,
// 32 on NVIDIA, 64 on AMD); the host uses the same number (`WORKGROUP_SIZE`).
const WG: u32 = 64u;

// The linear invocation index over a 2-D grid: the host splits more than 65,535 workgroups
// (the per-dimension limit) into rows of `num_workgroups.x`.
fn invocation(wg: vec3<u32>, nwg: vec3<u32>, local: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + local;
}

// a + b on a 64-bit integer held as (low word, high word).
fn add64(a: vec2<u32>, b: u32) -> vec2<u32> {
    let lo = a.x + b;
    return vec2<u32>(lo, a.y + select(0u, 1u, lo < b));
}

// a − b on a 64-bit integer held as (low word, high word), wrapping.
fn sub64(a: vec2<u32>, b: u32) -> vec2<u32> {
    return vec2<u32>(a.x - b, a.y - select(0u, 1u, a.x < b));
}

// a >> 2 on a 64-bit integer: the Philox block of an element index.
fn block_of(i: vec2<u32>) -> vec2<u32> {
    return vec2<u32>((i.x >> 2u) | (i.y << 30u), i.y >> 2u);
}

// One Philox round: two 32×32→64 products, then the words' permutation with the round key.
fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

// The key of round r (0-based): the Weyl schedule adds (W0, W1) between rounds, wrapping.
// After the rounds' loop is unrolled this is a constant plus the dispatch's key.
fn round_key(r: u32) -> vec2<u32> {
    return d.key + r * vec2<u32>(PHILOX_W0, PHILOX_W1);
}

// Philox4x32-10 (Salmon et al., SC'11) of block `b` under the dispatch's key and stream.
fn philox(b: vec2<u32>) -> vec4<u32> {
    var c = vec4<u32>(b.x, b.y, d.stream.x, d.stream.y);
    for (var r = 0u; r < 10u; r++) {
        c = philox_round(c, round_key(r));
    }
    return c;
}

// `philox` of blocks `b0` and `b1`, round by round in step. PERF: two independent chains of
// dependent multiplies let the compiler overlap their latencies; on lavapipe, which runs one
// group of invocations at a time, a single chain left the normal fill about 15% slower. (Four
// chains spilled registers and ran 1.6× slower.)
fn philox_pair(b0: vec2<u32>, b1: vec2<u32>) -> array<vec4<u32>, 2> {
    var c0 = vec4<u32>(b0.x, b0.y, d.stream.x, d.stream.y);
    var c1 = vec4<u32>(b1.x, b1.y, d.stream.x, d.stream.y);
    for (var r = 0u; r < 10u; r++) {
        let k = round_key(r);
        c0 = philox_round(c0, k);
        c1 = philox_round(c1, k);
    }
    return array<vec4<u32>, 2>(c0, c1);
}

// f32(w), rounded to nearest even in integer arithmetic. A float expression such as
// `f32(w >> 16) * 65536.0 + f32(w & 0xffff)` is not safe: the caller adds 0.5 next, and a
// compiler may reassociate the two additions (Mesa does), which moves ties.
fn u32_to_f32(w: u32) -> f32 {
    // Keep the top 24 significant bits; `shift` (0..8) bits are dropped. Written without a
    // branch: below 2²⁴ (shift 0) the integer is exact and `f32(w)` is taken.
    let shift = 8u - min(countLeadingZeros(w), 8u);
    let kept = w >> shift;
    let rest = w & ((1u << shift) - 1u);
    let half = (1u << shift) >> 1u;
    let up = shift != 0u && (rest > half || (rest == half && (kept & 1u) == 1u));
    // Biased exponent 127 + 23 + shift; `kept` carries the implicit bit, hence the − 1. A
    // carry out of 24 bits bumps the exponent, which is the correct rounding.
    let rounded = bitcast<f32>(((149u + shift) << 23u) + kept + select(0u, 1u, up));
    return select(rounded, f32(w), w < 0x1000000u);
}

// ---- An exactly rounded fused multiply-add in integer arithmetic ----
//
// Vulkan lets `fma` run as a multiply then an add (lavapipe does), which rounds twice. The
// uniform's one multiply-add must match the CPU's fused one bit for bit, so it is computed
// here from the operands' integer significands: the 48-bit product comes from `mulhilo`, the
// sum is exact in 64 bits plus a sticky bit, and the result is rounded once, to nearest even.
// 64-bit integers are vec2<u32>(low word, high word). Shift counts are masked to 5 bits in
// WGSL, so every shift by a count that may reach 32 is split.

fn shl64(a: vec2<u32>, n: u32) -> vec2<u32> {
    if n == 0u {
        return a;
    }
    if n < 32u {
        return vec2<u32>(a.x << n, (a.y << n) | (a.x >> (32u - n)));
    }
    if n < 64u {
        return vec2<u32>(0u, a.x << (n - 32u));
    }
    return vec2<u32>(0u);
}

fn shr64(a: vec2<u32>, n: u32) -> vec2<u32> {
    if n == 0u {
        return a;
    }
    if n < 32u {
        return vec2<u32>((a.x >> n) | (a.y << (32u - n)), a.y >> n);
    }
    if n < 64u {
        return vec2<u32>(a.y >> (n - 32u), 0u);
    }
    return vec2<u32>(0u);
}

// Whether any of the lowest n bits of a is set.
fn low_bits_set(a: vec2<u32>, n: u32) -> bool {
    if n < 32u {
        return (a.x & ((1u << n) - 1u)) != 0u;
    }
    if n < 64u {
        return a.x != 0u || (a.y & ((1u << (n - 32u)) - 1u)) != 0u;
    }
    return a.x != 0u || a.y != 0u;
}

fn clz64(a: vec2<u32>) -> u32 {
    return select(countLeadingZeros(a.y), 32u + countLeadingZeros(a.x), a.y == 0u);
}

fn less64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

fn add64v(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64v(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

// A finite f32 as (significand, exponent): |x| = m · 2^e, m < 2²⁴.
fn significand(x: f32) -> vec2<i32> {
    let bits = bitcast<u32>(x);
    let biased = i32((bits >> 23u) & 0xffu);
    let m = bits & 0x7fffffu;
    if biased == 0 {
        // Subnormal (or zero): no implicit bit.
        return vec2<i32>(i32(m), -149);
    }
    return vec2<i32>(i32(m | 0x800000u), biased - 150);
}

// A 64-bit significand moved so that its top bit is bit 62 (bit 63 takes a carry), with its
// exponent adjusted to keep the value.
fn normalized(m: vec2<u32>, e: i32) -> vec3<u32> {
    let n = clz64(m) - 1u;
    let v = shl64(m, n);
    return vec3<u32>(v, bitcast<u32>(e - i32(n)));
}

// x·y + z rounded once, to nearest even, for finite operands whose exact result is a finite
// f32 or rounds to a subnormal or zero.
// LIMIT: an exact result beyond the f32 range yields a wrong finite value instead of an
// infinity; the samplers' parameters keep |x·y + z| ≤ |low| + |high|, far from it.
fn fma_exact(x: f32, y: f32, z: f32) -> f32 {
    let sx = significand(x);
    let sy = significand(y);
    let sz = significand(z);
    let p_neg = (x < 0.0) != (y < 0.0);
    let z_neg = z < 0.0;
    // mulhilo returns (high, low); 64-bit values here are (low, high).
    let hl = mulhilo(u32(sx.x), u32(sy.x));
    let p = vec2<u32>(hl.y, hl.x);
    let q = vec2<u32>(u32(sz.x), 0u);
    if p.x == 0u && p.y == 0u {
        // A zero product adds nothing.
        return z;
    }
    let pn = normalized(p, sx.y + sy.y);
    let qn = normalized(q, sz.y);
    var a = pn;
    var a_neg = p_neg;
    var b = qn;
    let q_bigger = sz.x != 0 && (bitcast<i32>(qn.z) > bitcast<i32>(pn.z)
        || (qn.z == pn.z && less64(pn.xy, qn.xy)));
    if q_bigger {
        a = qn;
        a_neg = z_neg;
        b = pn;
    }
    var bm = b.xy;
    if sz.x == 0 {
        bm = vec2<u32>(0u);
    }
    // Align the smaller addend; bits shifted out become a sticky bit 0. There are 38 bits
    // below the 24 that are kept, so the sticky bit cannot reach the rounding position.
    let d = u32(bitcast<i32>(a.z) - bitcast<i32>(b.z));
    var aligned = shr64(bm, d);
    if low_bits_set(bm, d) {
        aligned.x = aligned.x | 1u;
    }
    var r: vec2<u32>;
    if p_neg == z_neg || sz.x == 0 {
        r = add64v(a.xy, aligned);
    } else {
        r = sub64v(a.xy, aligned);
    }
    if r.x == 0u && r.y == 0u {
        // Exact cancellation: +0 under round to nearest.
        return 0.0;
    }

    // Top bit position of r, and the exponent of that bit.
    let top = 63u - clz64(r);
    let q_exp = bitcast<i32>(a.z) + i32(top);
    // 24 significant bits for a normal result, fewer for a subnormal one.
    let keep = clamp(q_exp + 150, 0, 24);
    let drop = i32(top) + 1 - keep;
    var m: u32;
    if drop <= 0 {
        m = shl64(r, u32(-drop)).x;
    } else {
        let ud = u32(drop);
        m = shr64(r, ud).x;
        let half_set = (shr64(r, ud - 1u).x & 1u) == 1u;
        let rest = low_bits_set(r, ud - 1u);
        if half_set && (rest || (m & 1u) == 1u) {
            m = m + 1u;
        }
    }
    // Normal: the implicit bit of m adds one to the biased exponent q_exp + 126, and a carry
    // out of the significand bumps it once more. Subnormal: m is the whole encoding.
    var bits = m;
    if keep == 24 {
        bits = (u32(q_exp + 126) << 23u) + m;
    }
    return bitcast<f32>(bits | select(0u, 0x80000000u, a_neg));
}

// s = (2k + 1 − 2²⁴) · 2⁻²⁴ with k = w >> 8: exact, in [−1 + 2⁻²⁴, 1 − 2⁻²⁴].
fn symmetric_uniform(w: u32) -> f32 {
    let k = i32(w >> 8u);
    return f32(2 * k + 1 - (1 << 24u)) * TWO_M24;
}

// u = (f32(w) + 0.5) · 2⁻³² in [2⁻³³, 1], as one multiply-add: the product by 2⁻³² is exact,
// so fused or not, it rounds f32(w)·2⁻³² + 2⁻³³ once, as the reference rounds f32(w) + 0.5.
fn radius_uniform(w: u32) -> f32 {
    return fma(u32_to_f32(w), TWO_M32, TWO_M32 * 0.5);
}

// k · ln x for a positive normal f32 and k a power of two or its negative (Cephes logf):
// exponent split in integers so the mantissa lies in [√½, √2), then
// ln x = e·ln 2 + ln(1 + f), ln 2 in two parts. Every step of the reference's ln is scaled by
// k; the scaling is exact and commutes with rounding, so this is k · ln_f32(x) bit for bit,
// fused `fma` or not. The reference's `f + y` is `fma(f, k, k·y)`.
fn ln_scaled(x: f32, k: f32) -> f32 {
    let bits = bitcast<u32>(x);
    let e = bitcast<i32>(bits - SQRT_HALF_BITS) >> 23u;
    let m = bitcast<f32>(bits - (bitcast<u32>(e) << 23u));
    let f = m - 1.0;
    let ef = f32(e);

    let z = f * f;
    var p = k * LN_POLY_0;
    p = fma(p, f, k * LN_POLY_1);
    p = fma(p, f, k * LN_POLY_2);
    p = fma(p, f, k * LN_POLY_3);
    p = fma(p, f, k * LN_POLY_4);
    p = fma(p, f, k * LN_POLY_5);
    p = fma(p, f, k * LN_POLY_6);
    p = fma(p, f, k * LN_POLY_7);
    p = fma(p, f, k * LN_POLY_8);
    var y = (f * z) * p;
    y = fma(ef, k * LN2_LO, y);
    y = fma(z, -0.5 * k, y);
    let r = fma(f, k, y);
    return fma(ef, k * LN2_HI, r);
}

// (cos θ, sin θ) for θ = 2π·k/2²⁴ with k = w >> 8, read from the word: the octant bits o0, o1,
// o2 of k are bits 29-31 of w, and j·2⁸ is w masked. Odd octants measure the angle from the
// far edge (2²¹ − j, here 2²⁹ − j·2⁸), converted exactly and scaled by ANGLE_STEP·2⁻⁸ (exact).
// Cephes polynomials, then: swap where o0 ^ o1 (bit 30 of w + 2²⁹), sin < 0 where o2 (bit 31
// of w), cos < 0 where o1 ^ o2 (bit 31 of w + 2³⁰).
fn sincos_word(w: u32) -> vec2<f32> {
    let scaled = w & 0x1fffff00u;
    let folded = select(scaled, 0x20000000u - scaled, (w & 0x20000000u) != 0u);
    let x = f32(folded) * (ANGLE_STEP * 0.00390625);

    let z = x * x;
    let ps = fma(fma(SIN_POLY_0, z, SIN_POLY_1), z, SIN_POLY_2);
    let s = fma(ps, z * x, x);
    let pc = fma(fma(COS_POLY_0, z, COS_POLY_1), z, COS_POLY_2);
    let c = fma(pc, z * z, fma(z, -0.5, 1.0));

    let swap = ((w + 0x20000000u) & 0x40000000u) != 0u;
    let sin_q = select(s, c, swap);
    let cos_q = select(c, s, swap);
    let sin_sign = w & 0x80000000u;
    let cos_sign = (w + 0x40000000u) & 0x80000000u;
    return vec2<f32>(bitcast<f32>(bitcast<u32>(cos_q) ^ cos_sign),
                     bitcast<f32>(bitcast<u32>(sin_q) ^ sin_sign));
}

// Whether the truncated normal's x can never reach erfinv's tail branch or the clamp to
// ±ERF_LIMIT (`F32Params::central_only`, decided on the host per sampler): then both are
// left out, with the same bits.
override CENTRAL_ONLY: bool = false;

// erfinv(x) for |x| ≤ 1 − 2⁻²⁴ (M. Giles, "Approximating the erfinv function", 2011).
fn erfinv_f32(x: f32) -> f32 {
    let w = ln_scaled((1.0 - x) * (1.0 + x), -1.0);
    var p: f32;
    if CENTRAL_ONLY || w < 5.0 {
        let t = w - 2.5;
        p = ERFINV_CENTRAL_0;
        p = fma(p, t, ERFINV_CENTRAL_1);
        p = fma(p, t, ERFINV_CENTRAL_2);
        p = fma(p, t, ERFINV_CENTRAL_3);
        p = fma(p, t, ERFINV_CENTRAL_4);
        p = fma(p, t, ERFINV_CENTRAL_5);
        p = fma(p, t, ERFINV_CENTRAL_6);
        p = fma(p, t, ERFINV_CENTRAL_7);
        p = fma(p, t, ERFINV_CENTRAL_8);
    } else {
        let t = sqrt(w) - 3.0;
        p = ERFINV_TAIL_0;
        p = fma(p, t, ERFINV_TAIL_1);
        p = fma(p, t, ERFINV_TAIL_2);
        p = fma(p, t, ERFINV_TAIL_3);
        p = fma(p, t, ERFINV_TAIL_4);
        p = fma(p, t, ERFINV_TAIL_5);
        p = fma(p, t, ERFINV_TAIL_6);
        p = fma(p, t, ERFINV_TAIL_7);
        p = fma(p, t, ERFINV_TAIL_8);
    }
    return p * x;
}

// The Box–Muller pair (r cos θ, r sin θ) of two words.
fn box_muller(w0: u32, w1: u32) -> vec2<f32> {
    let r = sqrt(ln_scaled(radius_uniform(w0), -2.0));
    let cs = sincos_word(w1);
    return vec2<f32>(r * cs.x, r * cs.y);
}

// Whether this device's `fma` is fused (probed by the host with `fma_probe`). Where it is,
// the native `fma` already gives the reference's bits and the integer version is skipped.
override FUSED_FMA: bool = false;

// Whether the uniform's range is centred, so that its multiply-add is a plain product with
// the same bits (see `F32Params::centred_product`). Only set where `fma` is unfused.
override CENTRED_PRODUCT: bool = false;

fn uniform_value(w: u32) -> f32 {
    var v: f32;
    if FUSED_FMA {
        v = fma(d.b, symmetric_uniform(w), d.a);
    } else if CENTRED_PRODUCT {
        v = d.b * symmetric_uniform(w);
    } else {
        v = fma_exact(d.b, symmetric_uniform(w), d.a);
    }
    return min(max(v, d.lo), d.hi);
}

fn truncated_value(w: u32) -> f32 {
    // PERF: the native `fma` here, not `fma_exact`: erfinv's own multiply-adds are native
    // anyway, so this value is only within the tolerance on a driver with an unfused `fma`,
    // and the exact version would double the cost of the truncated normal.
    var x = fma(d.b, symmetric_uniform(w), d.a);
    if !CENTRAL_ONLY {
        x = clamp(x, -ERF_LIMIT, ERF_LIMIT);
    }
    let z = erfinv_f32(x) * SQRT2;
    return min(max(fma(d.std_dev, z, d.mean), d.lo), d.hi);
}

// The four f32 values of one Philox block's words `w`: lane l is tensor element 4b + l.
// (Not for the constant kind, which needs no words.)
fn words_values(w: vec4<u32>) -> vec4<f32> {
    if KIND == KIND_UNIFORM {
        return vec4<f32>(uniform_value(w.x), uniform_value(w.y), uniform_value(w.z),
                         uniform_value(w.w));
    }
    if KIND == KIND_NORMAL {
        let z01 = box_muller(w.x, w.y);
        let z23 = box_muller(w.z, w.w);
        let mean = vec4<f32>(d.mean);
        return fma(vec4<f32>(d.std_dev), vec4<f32>(z01, z23), mean);
    }
    return vec4<f32>(truncated_value(w.x), truncated_value(w.y), truncated_value(w.z),
                     truncated_value(w.w));
}

// The four f32 values of Philox block `b`.
fn block_values(b: vec2<u32>) -> vec4<f32> {
    if KIND == KIND_CONSTANT {
        // No random words needed.
        return vec4<f32>(d.a);
    }
    return words_values(philox(b));
}

// `block_values` of two blocks, their Philox computed in step (`philox_pair`).
fn pair_values(b0: vec2<u32>, b1: vec2<u32>) -> array<vec4<f32>, 2> {
    if KIND == KIND_CONSTANT {
        return array<vec4<f32>, 2>(vec4<f32>(d.a), vec4<f32>(d.a));
    }
    let w = philox_pair(b0, b1);
    return array<vec4<f32>, 2>(words_values(w[0]), words_values(w[1]));
}

// The four f32 values of tensor elements i..i+3 for any i (for fill_half.wgsl); `r` is
// i mod 4, which the caller computes from uniform data alone.
fn values_from(i: vec2<u32>, r: u32) -> vec4<f32> {
    if r == 0u {
        return block_values(block_of(i));
    }
    // The next block is that of i + 4, which wraps past 2⁶⁴ − 1 like the element index.
    // LIMIT: when a half tensor's index and its buffer position differ by a non-multiple of
    // 4 (a shard cut mid-block), every invocation computes two blocks for four values, about
    // twice the work.
    let pair = pair_values(block_of(i), block_of(add64(i, 4u)));
    let first = pair[0];
    let second = pair[1];
    if r == 1u {
        return vec4<f32>(first.yzw, second.x);
    }
    if r == 2u {
        return vec4<f32>(first.zw, second.xy);
    }
    return vec4<f32>(first.w, second.xyz);
}
