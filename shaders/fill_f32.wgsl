// f32 output: one invocation per Philox block, one store per element in range.

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn fill_f32(@builtin(workgroup_id) wg: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) local: u32) {
    let t = invocation(wg, nwg, local);
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
