// f32 output in whole 16-byte slots: the window is an array of vec4<f32>, and each slot is
// written by one invocation with one store. Four scalar stores per block cost about as much
// as the Box–Muller transform on lavapipe.
//
// The host dispatches this shader for the slots lying wholly inside the range only: out_first
// and index0 are multiples of 4, so slot s holds exactly Philox block index0 / 4 + s, and the
// d.threads slots from out_first / 4 on are all written. The partly covered slots at either
// end, positions past the binding's last whole slot, and ranges whose index and position
// differ mod 4 (a shard cut mid-block) go to fill_f32_tail.wgsl. (A branch on that alignment
// here, even one every invocation takes the same way, slowed the aligned normal fill by
// about a third on lavapipe.)
//
// Invocation t writes slots t, t + stride, .., t + (SLOTS − 1)·stride (stride = d.stride, the
// invocations that take slots), two at a time (`pair_values`). PERF: neighbouring invocations
// write neighbouring slots, so a hardware GPU's stores coalesce; on lavapipe this order and
// slots SLOTS·t .. SLOTS·t + SLOTS − 1 ran within 5% of each other. 16 slots per invocation
// ran the normal fill about 10% faster than 8 there (fewer invocations to set up).

@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

// Slots per invocation: the host's `F32_SLOTS_PER_INVOCATION`.
const SLOTS: u32 = 16u;

@compute @workgroup_size(64)
fn fill_f32(@builtin(workgroup_id) wg: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) local: u32) {
    let t = invocation(wg, nwg, local);
    if t >= d.stride {
        return;
    }
    let q0 = d.out_first >> 2u;
    for (var j = 0u; j < SLOTS; j += 2u) {
        let s0 = t + j * d.stride;
        let s1 = s0 + d.stride;
        let i = add64(d.index0, 4u * s0);
        let v = pair_values(block_of(i), block_of(add64(i, 4u * d.stride)));
        if s0 < d.threads {
            out[q0 + s0] = v[0];
        }
        if s1 < d.threads {
            out[q0 + s1] = v[1];
        }
    }
}
