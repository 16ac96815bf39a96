// f32 output one element at a time: the last few elements of a binding whose size is not a
// multiple of 16 bytes, which fill_f32.wgsl's 16-byte slots cannot reach (at most three per
// window). Each invocation computes four consecutive Philox blocks, two at a time
// (`pair_values`; four is the host's `F32_BLOCKS_PER_INVOCATION`), one store per element in
// range; this path also serves any dispatch the vector path cannot take.

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn fill_f32_tail(@builtin(workgroup_id) wg: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) local: u32) {
    let first = invocation(wg, nwg, local) * 4u;
    for (var j = 0u; j < 4u; j += 2u) {
        let t = first + j;
        if t < d.threads {
            let b = add64(block_of(d.index0), t);
            let v = pair_values(b, add64(b, 1u));
            store_block(t, v[0]);
            if t + 1u < d.threads {
                store_block(t + 1u, v[1]);
            }
        }
    }
}

// Writes the elements of block (index0 >> 2) + t, its `values`, that lie in the range.
fn store_block(t: u32, values: vec4<f32>) {
    // The first block may start before index0 (lane r = index0 & 3), so lane l is element
    // offset 4t + l − r from index0.
    let r = d.index0.x & 3u;
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
