// The 32×32→64-bit multiply of Philox through native 64-bit integers.
// Used where the adapter offers SHADER_INT64 (naga accepts `u64` once the feature is on).

// (high word, low word) of the full product a·b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let p = u64(a) * u64(b);
    return vec2<u32>(u32(p >> 32u), u32(p));
}
