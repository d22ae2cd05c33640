// Elementwise ops: binary, scale, activation, gated activation. See ElementwiseKernels.java.
// Transcendentals are evaluated in f64 and rounded to f32 (the CPU reference's scalar form), then
// rounded once to out's dtype.
#include "activation.cuh"

// out = a (+|*) b; b has a's shape or is one row broadcast (bcast = 1). op: 0 add, 1 mul.
extern "C" __global__ void ew_binary(View a, View b, View out, long long rows, int cols, int op, int bcast) {
    ROWS_COLS(r, c, rows, cols) {
        float x = ld(a, r, c), y = ld(b, bcast ? 0 : r, c);
        st(out, r, c, op == 0 ? __fadd_rn(x, y) : __fmul_rn(x, y));
    }
}

extern "C" __global__ void ew_scale(View x, View out, long long rows, int cols, float factor) {
    ROWS_COLS(r, c, rows, cols) {
        st(out, r, c, __fmul_rn(ld(x, r, c), factor));
    }
}

extern "C" __global__ void ew_activation(View x, View out, long long rows, int cols, int fn, float param) {
    ROWS_COLS(r, c, rows, cols) {
        st(out, r, c, act::activate(fn, ld(x, r, c), param));
    }
}

// out[t, j] = f(x[t, j]) * x[t, n + j]; x: [T, 2n], out: [T, n].
extern "C" __global__ void ew_gated(View x, View out, long long rows, int n, int fn) {
    pdl_begin();
    ROWS_COLS(t, j, rows, n) {
        float g = act::activate(fn, ld(x, t, j), 0.0f);
        st(out, t, j, __fmul_rn(g, ld(x, t, n + j)));
    }
}
