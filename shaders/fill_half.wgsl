// f16 and bf16 output, packed two per u32 word (element at even position in the low half).
//
// The rounding is half_bits.wgsl's. The host sends the whole 16-byte slots of a range to
// fill_half_slots.wgsl where it can, and the rest here: the ends of a range, positions past a
// binding's last whole slot, and shards whose index and position differ mod 4.
//
// Invocation t owns output words 2t, 2t+1 of the window counted from position
// out_first & ~3, i.e. four half positions. A word half inside the range and half outside
// (only at the ends of a dispatch) is read, merged and written back by its single owner, so
// neighbouring elements that belong to someone else are kept. Words are never shared between
// invocations, so there is no race inside a dispatch.

@group(0) @binding(1) var<storage, read_write> out: array<u32>;

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
