// RMSNorm (fused residual add, Llama and Gemma forms) and LayerNorm: one block per row of H.
// See NormKernels.java. Sums in f32; the reciprocal square root in f64 as the CPU reference.
#include "common.cuh"

// residual != null (hasResidual): r = round(x + residual) stored in residualOut, then r is normalized.
// Each element is read and written by the same thread in both passes, so out may alias x and
// residualOut may alias residual (the record allows exactly these).
extern "C" __global__ void norm_rms(View x, View weight, View residual, View residualOut, View out, int hidden,
        float eps, int hasResidual, int gemma) {
    __shared__ float scratch[32];
    long long row = blockIdx.x;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        float r = ld(x, row, j);
        if (hasResidual) {
            r = round_to(residualOut.dt, __fadd_rn(r, ld(residual, row, j)));
            st(residualOut, row, j, r);
        }
        ss = fmaf(r, r, ss);
    }
    ss = block_sum(ss, scratch);
    float inv = (float) (1.0 / sqrt((double) (ss / hidden) + eps));
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        // re-read the (rounded) r this thread stored: same thread, same element
        float r = hasResidual ? ld(residualOut, row, j) : ld(x, row, j);
        float n = __fmul_rn(r, inv);
        float w = ld(weight, 0, j);
        st(out, row, j, gemma ? __fmul_rn(n, __fadd_rn(1.0f, w)) : __fmul_rn(round_to(x.dt, n), w));
    }
}

// out = (x - mean) / sqrt(var + eps) * w + b per row, biased variance (two passes); hasBias = 0: b = 0.
extern "C" __global__ void norm_layer(View x, View weight, View bias, View out, int hidden, float eps, int hasBias) {
    __shared__ float scratch[32];
    long long row = blockIdx.x;
    float s = 0.0f;
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        s += ld(x, row, j);
    }
    float mean = block_sum(s, scratch) / hidden;
    float sq = 0.0f;
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        float d = ld(x, row, j) - mean;
        sq = fmaf(d, d, sq);
    }
    float var = block_sum(sq, scratch) / hidden;
    float inv = (float) (1.0 / sqrt((double) var + eps));
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        float b = hasBias ? ld(bias, 0, j) : 0.0f;
        st(out, row, j, fmaf((ld(x, row, j) - mean) * inv, ld(weight, 0, j), b));
    }
}
