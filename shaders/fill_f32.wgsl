// f32 output: each invocation computes four consecutive Philox blocks in turn (the host's
// `F32_BLOCKS_PER_INVOCATION`), one store per element in range. Four blocks per invocation
// cut the workgroup count, whose fixed cost dominates a constant fill on lavapipe.
//
// LIMIT: on lavapipe the constant kind of this shader is still slower than the bare
// constant-write shader of the measured facts (about 150 ms against 51-58 ms for 64 Mi f32,
// on a shared, loaded machine); not measured apart from the machine's noise.

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn fill_f32(@builtin(workgroup_id) wg: vec3<u32>,
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
