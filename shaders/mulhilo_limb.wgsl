// The 32×32→64-bit multiply of Philox from 16-bit limbs, for adapters without SHADER_INT64.

// (high word, low word) of the full product a·b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    // a = a1·2¹⁶ + a0, b = b1·2¹⁶ + b0; each limb product fits in 32 bits.
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Bits 16..48 of the product: at most 3·(2¹⁶ − 1), so no overflow before the carry out.
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    // The low word is the wrapping product.
    return vec2<u32>(hi, a * b);
}
