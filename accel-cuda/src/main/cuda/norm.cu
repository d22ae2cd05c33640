// RMSNorm (fused residual add, Llama and Gemma forms) and LayerNorm: one block per row of H.
// See NormKernels.java. Sums in f32; the reciprocal square root in f64 as the CPU reference.
#include "rms.cuh"

// residual != null (hasResidual): r = round(x + residual) stored in residualOut, then r is normalized.
// Each element is read and written by the same thread, so out may alias x and residualOut may alias
// residual (the record allows exactly these). Thread i owns elements i, i + blockDim, ... and sums
// their squares in that order in both forms below (same bits).
//
// Rows of at most NORM_REGS * blockDim elements (the launcher's block size makes every hidden size up
// to 8192 one) keep them in registers, and with the dtypes fixed at compile time (XT: x, residual,
// residualOut and out; WT: weight) every load is a plain load: all of a thread's loads are in flight
// at once. The run-time dtype switch of ld()/st() put each load behind branches and grew the unrolled
// kernel past the instruction cache: a decode's one-row norm took 10-16 µs on an H200.
namespace normk {

constexpr int NORM_REGS = 8;

template <int DT>
__device__ __forceinline__ void stt(const View& v, long long row, long long col, float x) {
    if constexpr (DT == DT_ANY) {
        st_act(v, row, col, x);
    } else {
        long long i = row * v.stride + col;
        if constexpr (DT == DT_F32) {
            ((float*) v.p)[i] = x;
        } else {
            ((unsigned short*) v.p)[i] = DT == DT_BF16 ? f32_to_bf16(x) : f32_to_f16(x);
        }
    }
}

// The 16-bit row form (XT bf16 or f16, hidden == 8 * blockDim, 16-byte aligned rows): thread i owns
// elements 8i .. 8i+7, read and written as one 16-byte word each (weights: 16 or 32 bytes), summed in
// element order, then block_sum. A decode's one-row norm is a chain of dependent instructions on one
// SM, so fewer and wider accesses and no run-time dtype branches are what make it short (ncu on an
// H200 had the strided form at 660 instructions per warp for 4 elements per thread, 7.9 µs).
template <int XT, int WT>
__device__ void rms_row16(View x, View weight, View residual, View residualOut, View out, int hidden, float eps,
        int hasResidual, int gemma, float* scratch) {
    const long long row = blockIdx.x;
    const int c = 8 * threadIdx.x;
    float r[8], w[8];
    rms_weight8<WT>(weight, c, w);  // no kernel writes weights: read while the kernel before ends
    // The next kernel (a decode step's q/k/v or gate/up GEMV) may launch now, before this wait: its
    // blocks take the SMs the GEMV before frees and issue their first weights during its drain and
    // this norm, where after the wait they would start only once that GEMV had ended (an H200
    // replayed a batch-1 step in 0.8652 against 0.8772 ms; the rotary launching first was slower,
    // docs/performance.md run 18).
    pdl_launch_next();
    pdl_wait();
    const uint4 xw = *(const uint4*) at(x, row, c);
    const uint4 rw = hasResidual ? *(const uint4*) at(residual, row, c) : xw;
    float ss = rms_load8<XT>(xw, rw, hasResidual, r);
    if (hasResidual) {
        *(uint4*) at(residualOut, row, c) = pack8<XT>(r);
    }
    ss = block_sum(ss, scratch);
    *(uint4*) at(out, row, c) = rms_scale8<XT>(r, w, rms_inv(ss, hidden, eps), gemma);
}

// The forms for any row (register and strided): out of line, so that a decode's row form (rms) is all
// of the code near the kernel's entry (see linear.cu GemvWalk on code size).
template <int XT, int WT>
__device__ __noinline__ void rms_rows(View x, View weight, View residual, View residualOut, View out, int hidden,
        float eps, int hasResidual, int gemma, float* scratch) {
    const long long row = blockIdx.x;
    pdl_begin();
    float ss = 0.0f;
    if (hidden <= NORM_REGS * (int) blockDim.x) {
        float r[NORM_REGS], w[NORM_REGS];
#pragma unroll
        for (int i = 0; i < NORM_REGS; i++) {
            int j = threadIdx.x + i * blockDim.x;
            bool in = j < hidden;
            r[i] = in ? ldt<XT>(x, row, j) : 0.0f;
            w[i] = in ? ldt<WT>(weight, 0, j) : 0.0f;
            if (hasResidual) {
                float res = in ? ldt<XT>(residual, row, j) : 0.0f;
                r[i] = round_act(residualOut.dt, __fadd_rn(r[i], res));
            }
        }
#pragma unroll
        for (int i = 0; i < NORM_REGS; i++) {
            int j = threadIdx.x + i * blockDim.x;
            if (j < hidden) {
                if (hasResidual) {
                    stt<XT>(residualOut, row, j, r[i]);
                }
                ss = fmaf(r[i], r[i], ss);
            }
        }
        ss = block_sum(ss, scratch);
        float inv = rms_inv(ss, hidden, eps);
#pragma unroll
        for (int i = 0; i < NORM_REGS; i++) {
            int j = threadIdx.x + i * blockDim.x;
            if (j < hidden) {
                float n = __fmul_rn(r[i], inv);
                stt<XT>(out, row, j, gemma ? __fmul_rn(n, __fadd_rn(1.0f, w[i])) : __fmul_rn(round_act(x.dt, n), w[i]));
            }
        }
        return;
    }
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        float r = ldt<XT>(x, row, j);
        if (hasResidual) {
            r = round_act(residualOut.dt, __fadd_rn(r, ldt<XT>(residual, row, j)));
            stt<XT>(residualOut, row, j, r);
        }
        ss = fmaf(r, r, ss);
    }
    ss = block_sum(ss, scratch);
    float inv = rms_inv(ss, hidden, eps);
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
        // re-read the (rounded) r this thread stored: same thread, same element
        float r = hasResidual ? ldt<XT>(residualOut, row, j) : ldt<XT>(x, row, j);
        float n = __fmul_rn(r, inv);
        float w = ldt<WT>(weight, 0, j);
        stt<XT>(out, row, j, gemma ? __fmul_rn(n, __fadd_rn(1.0f, w)) : __fmul_rn(round_act(x.dt, n), w));
    }
}

template <int XT, int WT>
__device__ void rms(View x, View weight, View residual, View residualOut, View out, int hidden, float eps,
        int hasResidual, int gemma) {
    __shared__ float scratch[32];
    if constexpr (XT == DT_BF16 || XT == DT_F16) {
        const long long row = blockIdx.x;
        const unsigned long long bits = (unsigned long long) at(x, row, 0) | (unsigned long long) at(out, row, 0)
                | (unsigned long long) weight.p
                | (hasResidual ? (unsigned long long) at(residual, row, 0) | (unsigned long long) at(residualOut, row, 0)
                               : 0ULL);
        if (hidden == 8 * (int) blockDim.x && (bits & 15) == 0) {
            rms_row16<XT, WT>(x, weight, residual, residualOut, out, hidden, eps, hasResidual, gemma, scratch);
            return;
        }
    }
    rms_rows<XT, WT>(x, weight, residual, residualOut, out, hidden, eps, hasResidual, gemma, scratch);
}

}  // namespace normk

// norm_rms: any float dtypes (each tensor its own); norm_rms_<x>_<w>: x, residual, residualOut and out
// of one dtype, weight of another (NormKernels picks the instantiation).
#define NORM_RMS(NAME, XT, WT)                                                                                   \
    extern "C" __global__ void NAME(View x, View weight, View residual, View residualOut, View out, int hidden, \
            float eps, int hasResidual, int gemma) {                                                           \
        normk::rms<XT, WT>(x, weight, residual, residualOut, out, hidden, eps, hasResidual, gemma);            \
    }

NORM_RMS(norm_rms, DT_ANY, DT_ANY)
NORM_RMS(norm_rms_f32_f32, DT_F32, DT_F32)
NORM_RMS(norm_rms_f32_bf16, DT_F32, DT_BF16)
NORM_RMS(norm_rms_f32_f16, DT_F32, DT_F16)
NORM_RMS(norm_rms_bf16_f32, DT_BF16, DT_F32)
NORM_RMS(norm_rms_bf16_bf16, DT_BF16, DT_BF16)
NORM_RMS(norm_rms_bf16_f16, DT_BF16, DT_F16)
NORM_RMS(norm_rms_f16_f32, DT_F16, DT_F32)
NORM_RMS(norm_rms_f16_bf16, DT_F16, DT_BF16)
NORM_RMS(norm_rms_f16_f16, DT_F16, DT_F16)

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
