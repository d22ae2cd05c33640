// RMSNorm of one row held as 16-byte words of a 16-bit float dtype (XT: DT_BF16 or DT_F16): the
// pieces norm.cu's row form and linear.cu's norm-folded GEMV share, so that both give the same bits.
// The row's sum of squares is formed by the caller from rms_load8's per-word sums (each word's sum
// in element order, then the words as block_sum adds them over one thread per word).
#pragma once
#include "common.cuh"

// r = the word's elements (hasResidual == 0) or round(x + residual); returns Σ r_i² in element order.
template <int XT>
__device__ __forceinline__ float rms_load8(const uint4& xw, const uint4& resw, int hasResidual, float* r) {
    unpack8<XT>(xw, r);
    if (hasResidual) {
        float a[8];
        unpack8<XT>(resw, a);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            r[i] = round16<XT>(__fadd_rn(r[i], a[i]));
        }
    }
    float ss = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; i++) {
        ss = fmaf(r[i], r[i], ss);
    }
    return ss;
}

// 1 / sqrt(mean of squares + eps), the square root and division in f64 as the CPU reference
__device__ __forceinline__ float rms_inv(float ss, int hidden, float eps) {
    return (float) (1.0 / sqrt((double) (ss / hidden) + eps));
}

// weight elements c .. c + 7 (16-byte aligned) as f32
template <int WT>
__device__ __forceinline__ void rms_weight8(const View& weight, int c, float* w) {
    if constexpr (WT == DT_F32) {
        float4 a = *(const float4*) at(weight, 0, c), b = *(const float4*) at(weight, 0, c + 4);
        w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
    } else {
        unpack8<WT>(*(const uint4*) at(weight, 0, c), w);
    }
}

// the normalized word: Llama form round(r · inv) · w, Gemma form (r · inv) · (1 + w), rounded to XT
template <int XT>
__device__ __forceinline__ uint4 rms_scale8(const float* r, const float* w, float inv, int gemma) {
    float o[8];
#pragma unroll
    for (int i = 0; i < 8; i++) {
        float n = __fmul_rn(r[i], inv);
        o[i] = gemma ? __fmul_rn(n, __fadd_rn(1.0f, w[i])) : __fmul_rn(round16<XT>(n), w[i]);
    }
    return pack8<XT>(o);
}
