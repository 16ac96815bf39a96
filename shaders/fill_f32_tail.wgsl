// f32 output one element at a time: the last few elements of a binding whose size is not a
// multiple of 16 bytes, which fill_f32.wgsl's 16-byte slots cannot reach (at most three per
// window). Each invocation computes four consecutive Philox blocks in turn (the host's
// `F32_BLOCKS_PER_INVOCATION`), one store per element in range; this path also serves any
// dispatch the vector path cannot take.

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn fill_f32_tail(@builtin(workgroup_id) wg: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) local: u32) {
    let first = invocation(wg, nwg, local) * 4u;
    for (var j = 0u; j < 4u; j++) {
        fill_block(first + j);
    }
}

// Writes the elements of block (index0 >> 2) + t that lie in the range.
fn fill_block(t: u32) {
    if t >= d.threads {
        return;
    }
    // Invocation t computes block (index0 >> 2) + t; the first block may start before index0
    // (lane r = index0 & 3), so lane l is element offset 4t + l − r from index0.
    let r = d.index0.x & 3u;
    let values = block_values(add64(block_of(d.index0), t));
    let base = 4u * t;
    if r == 0u && base + 4u <= d.count {
        // PERF: the common case, a whole block inside the range, stores without lane tests.
        let p = d.out_first + base;
        out[p] = values.x;
        out[p + 1u] = values.y;
        out[p + 2u] = values.z;
        out[p + 3u] = values.w;
        return;
    }
    for (var l = 0u; l < 4u; l++) {
        let off = i32(4u * t + l) - i32(r);
        if off >= 0 && u32(off) < d.count {
            out[d.out_first + u32(off)] = values[l];
        }
    }
}
