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

// ---- batch-1 GEMV: bf16 x and W ----
//
// out[0, n] = round(Σ_k x[0, k] · W[n, k] (+ bias[n])) for one token, x and W bf16 (W rows 16-byte
// aligned, K a multiple of 8, at most 16384). A decode's projections are 8-67 MB streamed once per
// token; cuBLAS ran the small ones at 1.2-2.1 TB/s on an H200 (o_proj 2048 x 2048 in 6.7 µs). Here a
// warp takes GV_R rows: each lane issues its GV_B 16-byte words of every row (GV_R x GV_B loads in
// flight, streamed past L1) before the block stages x in shared memory, then meets each word with
// the matching x word; the warp sums its lanes. f32 products of exact widenings, f32 accumulation.
namespace gemv1 {

constexpr int GV_WARPS = 8;  // warps per block
constexpr int GV_R = 2;      // weight rows per warp
constexpr int GV_B = 8;      // 16-byte words per row and lane in flight (one batch: 32 x 8 words = 2048 elements)

// acc += Σ_i x_i w_i over the 8 bf16 pairs of two 16-byte words, in element order.
__device__ __forceinline__ float dot8(const uint4& w, const uint4& x, float acc) {
    const unsigned wa[4] = {w.x, w.y, w.z, w.w}, xa[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        acc = fmaf(__uint_as_float(xa[i] << 16), __uint_as_float(wa[i] << 16), acc);
        acc = fmaf(__uint_as_float(xa[i] & 0xFFFF0000u), __uint_as_float(wa[i] & 0xFFFF0000u), acc);
    }
    return acc;
}

}  // namespace gemv1

extern "C" __global__ void __launch_bounds__(gemv1::GV_WARPS * 32) linear_gemv_bf16(View x, View w, View bias,
        View out, int n, int k, int hasBias) {
    using namespace gemv1;
    extern __shared__ uint4 sx[];  // x as K / 8 words
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int row0 = (blockIdx.x * GV_WARPS + warp) * GV_R;
    const int words = k / 8;
    const char* wr[GV_R];
#pragma unroll
    for (int r = 0; r < GV_R; r++) {
        wr[r] = at(w, min(row0 + r, n - 1), 0);  // rows past n repeat the last one and are not stored
    }
    float acc[GV_R] = {};
    uint4 cur[GV_R][GV_B];
    auto load = [&](int base) {  // the batch of words base + lane + 32 b of every row, all in flight
#pragma unroll
        for (int r = 0; r < GV_R; r++) {
#pragma unroll
            for (int b = 0; b < GV_B; b++) {
                int c = base + lane + 32 * b;
                cur[r][b] = c < words ? load_stream(wr[r] + 16LL * c) : make_uint4(0, 0, 0, 0);
            }
        }
    };
    load(0);
    for (int c = threadIdx.x; c < words; c += blockDim.x) {
        sx[c] = *(const uint4*) at(x, 0, 8LL * c);
    }
    __syncthreads();
    for (int base = 0; base < words; base += 32 * GV_B) {
        if (base > 0) {
            load(base);
        }
#pragma unroll
        for (int b = 0; b < GV_B; b++) {
            int c = base + lane + 32 * b;
            if (c < words) {
                uint4 xv = sx[c];
#pragma unroll
                for (int r = 0; r < GV_R; r++) {
                    acc[r] = dot8(cur[r][b], xv, acc[r]);
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GV_R; r++) {
        float v = warp_sum(acc[r]);
        if (lane == 0 && row0 + r < n) {
            st(out, 0, row0 + r, hasBias ? __fadd_rn(v, ld(bias, 0, row0 + r)) : v);
        }
    }
}
