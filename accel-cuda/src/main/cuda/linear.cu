// The epilogue of the cuBLAS linear: out = round(acc + bias). See LinearKernels.java.
#include "common.cuh"

// acc: F32 [T, N] (cuBLAS output); bias: [N] or absent (hasBias = 0); out: [T, N] any float dtype.
extern "C" __global__ void linear_bias_round(View acc, View bias, View out, long long rows, int cols, int hasBias) {
    ROWS_COLS(r, c, rows, cols) {
        float v = ld(acc, r, c);
        if (hasBias) {
            v = __fadd_rn(v, ld(bias, 0, c));
        }
        st(out, r, c, v);
    }
}
