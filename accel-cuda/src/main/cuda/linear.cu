// The epilogue of the cuBLAS linear (out = round(acc + bias)) and the decode GEMV. See LinearKernels.java.
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

// ---- decode GEMV for dense 16-bit weights ----
//
// out[t, n] = round(Σ_k x[t, k] · W[n, k] + bias[n]) for T <= 8 tokens, W BF16 or F16 ([N, K] rows
// 16-byte aligned, K a multiple of 8) and x of W's dtype. One warp per weight row: lane l reads the
// row's 16-byte vectors l, l + 32, ... (LIN_UNROLL of them in flight per lane, streamed past L1) and
// the matching 8 elements of every token's x (small, shared by all warps: cached), accumulates in f32,
// then the warp sums its lanes. cuBLAS reached 1.2-2.1 TB/s on a decode's 8-34 MB projections on an
// H200 (its kernels are tuned for larger M); this reads each weight byte once with every load in
// flight from the start.
namespace lin {

constexpr int WARPS = 8;
constexpr int UNROLL = 8;

__device__ __forceinline__ uint4 load_stream(const void* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}

// The 8 16-bit values of u as f32 (bf16 or f16).
template <bool BF16>
__device__ __forceinline__ void widen8(uint4 u, float (&o)[8]) {
    unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (BF16) {
            o[2 * i] = __uint_as_float(w[i] << 16);
            o[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
        } else {
            o[2 * i] = f16_to_f32((unsigned short) (w[i] & 0xFFFFu));
            o[2 * i + 1] = f16_to_f32((unsigned short) (w[i] >> 16));
        }
    }
}

template <int T, bool BF16>
__device__ void gemv(View x, View w, View bias, View out, int tokens, int n, int k) {
    const int lane = threadIdx.x & 31;
    const int row = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (row >= n) {
        return;
    }
    const char* wRow = at(w, row, 0);
    const int vectors = k / 8;
    float acc[T];
#pragma unroll
    for (int t = 0; t < T; t++) {
        acc[t] = 0.0f;
    }
    for (int v0 = lane; v0 < vectors; v0 += 32 * UNROLL) {
        uint4 raw[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            int v = v0 + 32 * u;
            raw[u] = v < vectors ? load_stream(wRow + 16LL * v) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            int v = v0 + 32 * u;
            if (v >= vectors) {
                break;
            }
            float wf[8];
            widen8<BF16>(raw[u], wf);
#pragma unroll
            for (int t = 0; t < T; t++) {
                if (t < tokens) {
                    float xf[8];
                    widen8<BF16>(__ldg((const uint4*) at(x, t, 8LL * v)), xf);
#pragma unroll
                    for (int i = 0; i < 8; i++) {
                        acc[t] = fmaf(xf[i], wf[i], acc[t]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < T; t++) {
        acc[t] = warp_sum(acc[t]);
    }
    if (lane < tokens) {
        float b = bias.p != nullptr ? ld(bias, 0, row) : 0.0f;
#pragma unroll
        for (int t = 0; t < T; t++) {
            if (t == lane) {
                st(out, t, row, __fadd_rn(acc[t], b));
            }
        }
    }
}

}  // namespace lin

#define LIN_GEMV(NAME, T, BF16)                                                                                  \
    extern "C" __global__ void __launch_bounds__(lin::WARPS * 32) NAME(View x, View w, View bias, View out,      \
            int tokens, int n, int k) {                                                                         \
        lin::gemv<T, BF16>(x, w, bias, out, tokens, n, k);                                                      \
    }

LIN_GEMV(lin_gemv_bf16_t1, 1, true)
LIN_GEMV(lin_gemv_bf16_t2, 2, true)
LIN_GEMV(lin_gemv_bf16_t4, 4, true)
LIN_GEMV(lin_gemv_bf16_t8, 8, true)
LIN_GEMV(lin_gemv_f16_t1, 1, false)
LIN_GEMV(lin_gemv_f16_t2, 2, false)
LIN_GEMV(lin_gemv_f16_t4, 4, false)
LIN_GEMV(lin_gemv_f16_t8, 8, false)
