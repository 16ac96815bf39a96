// f32 → f16 and bf16 bits, rounded to nearest even, for fill_half.wgsl and
// fill_half_slots.wgsl.
//
// The rounding is integer code, not WGSL's `f16()` or `pack2x16float`, even where the adapter
// has SHADER_F16: WGSL lets a float-to-half conversion round either way, and the contract is
// nearest-even, equal to the CPU. Integer code is exact on every adapter, so no SHADER_F16
// variant is needed.

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
