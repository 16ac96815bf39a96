// f16 and bf16 output, packed two per u32 word (element at even position in the low half).
//
// The rounding to half is integer code, not WGSL's `f16()` or `pack2x16float`, even where the
// adapter has SHADER_F16: WGSL lets a float-to-half conversion round either way, and the
// contract is nearest-even, equal to the CPU. Integer code is exact on every adapter, so no
// SHADER_F16 variant is needed.
//
// Invocation t owns output words 2t, 2t+1 of the window counted from position
// out_first & ~3, i.e. four half positions. A word half inside the range and half outside
// (only at the ends of a dispatch) is read, merged and written back by its single owner, so
// neighbouring elements that belong to someone else are kept. Words are never shared between
// invocations, so there is no race inside a dispatch.

@group(0) @binding(1) var<storage, read_write> out: array<u32>;

// f32 → bf16 bits, nearest even: add 0x7fff plus the lowest kept bit, then truncate.
// Values here are finite, and an overflow correctly rounds up to infinity.
fn bf16_bits(v: f32) -> u32 {
    let x = bitcast<u32>(v);
    return (x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u;
}

// f32 → IEEE binary16 bits, nearest even, with subnormals, overflow to infinity and
// underflow to a signed zero (the conversion the `half` crate does).
fn f16_bits(v: f32) -> u32 {
    let x = bitcast<u32>(v);
    let sign = (x >> 16u) & 0x8000u;
    let man = x & 0x7fffffu;
    // Rebias the exponent from 127 to 15.
    let e = i32((x >> 23u) & 0xffu) - 112;
    if e >= 31 {
        // Too large for binary16 (our values are never inf or NaN).
        return sign | 0x7c00u;
    }
    if e <= 0 {
        // Subnormal binary16: shift the full significand (implicit bit included) right by
        // 14 − e; below 2⁻²⁵ even rounding up cannot reach the smallest subnormal.
        let shift = u32(14 - e);
        if shift > 24u {
            return sign;
        }
        let full = man | 0x800000u;
        let half_bit = 1u << (shift - 1u);
        // Round up when above half, or at half with an odd result (ties to even).
        let up = (full & half_bit) != 0u && (full & (3u * half_bit - 1u)) != 0u;
        return sign | ((full >> shift) + select(0u, 1u, up));
    }
    // Normal: drop 13 mantissa bits; a carry out of the mantissa bumps the exponent, as it
    // should (and reaches infinity from the largest finite value).
    let up = (man & 0x1000u) != 0u && (man & 0x2fffu) != 0u;
    return (sign | (u32(e) << 10u) | (man >> 13u)) + select(0u, 1u, up);
}

fn half_bits(v: f32, is_bf16: bool) -> u32 {
    return select(f16_bits(v), bf16_bits(v), is_bf16);
}

fn fill_half(t: u32, is_bf16: bool) {
    // Positions 4t + s' .. 4t + s' + 3 (s' = out_first & ~3) are element offsets
    // 4t − s .. 4t − s + 3 from index0, with s = out_first & 3.
    let s = d.out_first & 3u;
    let values = values_from(add64(sub64(d.index0, s), 4u * t), (d.index0.x - s) & 3u);
    let first_word = (d.out_first >> 1u) & ~1u;
    for (var h = 0u; h < 2u; h++) {
        let off_lo = i32(4u * t + 2u * h) - i32(s);
        let lo_in = off_lo >= 0 && u32(off_lo) < d.count;
        let hi_in = off_lo + 1 >= 0 && u32(off_lo + 1) < d.count;
        let lo = half_bits(values[2u * h], is_bf16);
        let hi = half_bits(values[2u * h + 1u], is_bf16);
        let word = first_word + 2u * t + h;
        if lo_in && hi_in {
            out[word] = lo | (hi << 16u);
        } else if lo_in {
            // Keep the neighbour in the high half.
            out[word] = (out[word] & 0xffff0000u) | lo;
        } else if hi_in {
            // Keep the neighbour in the low half.
            out[word] = (out[word] & 0xffffu) | (hi << 16u);
        }
    }
}

@compute @workgroup_size(64)
fn fill_f16(@builtin(workgroup_id) wg: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) local: u32) {
    let t = invocation(wg, nwg, local);
    if t < d.threads {
        fill_half(t, false);
    }
}

@compute @workgroup_size(64)
fn fill_bf16(@builtin(workgroup_id) wg: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) local: u32) {
    let t = invocation(wg, nwg, local);
    if t < d.threads {
        fill_half(t, true);
    }
}

// The raw Philox words of block `index0`, for the known-answer test of `mulhilo`.
@compute @workgroup_size(1)
fn philox_words() {
    let w = philox(d.index0);
    out[0] = w.x;
    out[1] = w.y;
    out[2] = w.z;
    out[3] = w.w;
}

// fma(a, b, mean) of the dispatch's parameters, as bits: the host passes a = b = 1 + 2⁻¹²
// and mean = −(1 + 2⁻¹¹). Fused, the result is 2⁻²⁴; as a multiply then an add, the product
// rounds (a tie, to even) to 1 + 2⁻¹¹ and the result is 0. The operands come from the uniform
// block so that no compiler can fold the expression.
@compute @workgroup_size(1)
fn fma_probe() {
    out[0] = bitcast<u32>(fma(d.a, d.b, d.mean));
}
