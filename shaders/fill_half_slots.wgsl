// f16 and bf16 output in whole 16-byte slots: eight halves, two Philox blocks, one store.
//
// The host dispatches this module for the slots lying wholly inside the range only, and only
// when the tensor index and the buffer position agree mod 4: out_first is a multiple of 8,
// index0 a multiple of 4, and slot s holds elements index0 + 8s .. index0 + 8s + 7, the
// d.threads slots from out_first / 8 on all written. Everything else goes to fill_half.wgsl.
// Invocation t writes slots t, t + stride, .., t + (SLOTS − 1)·stride (stride = d.stride, the
// invocations that take slots), so that neighbouring invocations write neighbouring slots.

@group(0) @binding(1) var<storage, read_write> out: array<vec4<u32>>;

// Slots per invocation: the host's `HALF_SLOTS_PER_INVOCATION`.
const SLOTS: u32 = 8u;

fn pack(a: f32, b: f32, is_bf16: bool) -> u32 {
    return half_bits(a, is_bf16) | (half_bits(b, is_bf16) << 16u);
}

fn fill_half_slots(t: u32, is_bf16: bool) {
    if t >= d.stride {
        return;
    }
    let q0 = d.out_first >> 3u;
    for (var j = 0u; j < SLOTS; j++) {
        let s = t + j * d.stride;
        if s < d.threads {
            let i = add64(d.index0, 8u * s);
            let v = pair_values(block_of(i), block_of(add64(i, 4u)));
            let a = v[0];
            let b = v[1];
            out[q0 + s] = vec4<u32>(pack(a.x, a.y, is_bf16), pack(a.z, a.w, is_bf16),
                                    pack(b.x, b.y, is_bf16), pack(b.z, b.w, is_bf16));
        }
    }
}

@compute @workgroup_size(64)
fn fill_f16_slots(@builtin(workgroup_id) wg: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) local: u32) {
    fill_half_slots(invocation(wg, nwg, local), false);
}

@compute @workgroup_size(64)
fn fill_bf16_slots(@builtin(workgroup_id) wg: vec3<u32>,
                   @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) local: u32) {
    fill_half_slots(invocation(wg, nwg, local), true);
}
