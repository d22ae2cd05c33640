// A tiled C = A·Bᵀ on CUDA cores with f32 accumulation, shared by moe.cu (grouped expert GEMMs)
// and quant_linear.cu (dequantize-in-kernel GEMM). A and B are both K-contiguous ("TN") and read
// through loader functors returning element (local row, k) as f32, so any dtype or quantized weight
// format plugs in without a dequantized copy; the caller's epilogue gets the f32 accumulators.
//
// Every C element is one f32 fma chain over k = 0, 1, ..., K-1 whatever the tile size or the row's
// position in the tile, so a row's result does not depend on which other rows share its tile (a
// decode row gives the same bits alone or inside a prefill, an expert's rows in any order).
#pragma once

#include "common.cuh"

namespace gemm_tile {

constexpr int THREADS = 256;  // 16 x 16: thread (ty, tx) owns rows ty + 16 i and columns tx + 16 j
constexpr int BN = 64;        // C columns (B rows) per tile: j < 4
constexpr int BK = 32;        // k per shared-memory stage

// Shared memory of one tile, k-major; the +1 keeps the transposing stores free of bank conflicts.
template <int BM>
struct Smem {
    float a[BK][BM + 1];
    float b[BK][BN + 1];
};

// acc[i][j] = Σ_k A(ty + 16 i, k) · B(tx + 16 j, k) over the tile's mRows x nRows (elements outside
// are zero). la(r, k) / lb(c, k): f32 of A row r / B row c, called only for r < mRows, c < nRows,
// k < K. Registers hold the next stage while the current one is multiplied.
template <int BM, class LoadA, class LoadB>
__device__ __forceinline__ void multiply(float (&acc)[BM / 16][4], int mRows, int nRows, int K, const LoadA& la,
        const LoadB& lb, Smem<BM>& s) {
    constexpr int AR = BM * BK / THREADS, BR = BN * BK / THREADS;
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    for (int i = 0; i < BM / 16; i++) {
        for (int j = 0; j < 4; j++) {
            acc[i][j] = 0.0f;
        }
    }
    float ra[AR], rb[BR];
    auto fetch = [&](int k0) {
#pragma unroll
        for (int e = 0; e < AR; e++) {
            int idx = tid + e * THREADS, r = idx / BK, k = k0 + idx % BK;
            ra[e] = r < mRows && k < K ? la(r, k) : 0.0f;
        }
#pragma unroll
        for (int e = 0; e < BR; e++) {
            int idx = tid + e * THREADS, c = idx / BK, k = k0 + idx % BK;
            rb[e] = c < nRows && k < K ? lb(c, k) : 0.0f;
        }
    };
    auto stash = [&]() {
#pragma unroll
        for (int e = 0; e < AR; e++) {
            int idx = tid + e * THREADS;
            s.a[idx % BK][idx / BK] = ra[e];
        }
#pragma unroll
        for (int e = 0; e < BR; e++) {
            int idx = tid + e * THREADS;
            s.b[idx % BK][idx / BK] = rb[e];
        }
    };
    if (K <= 0) {
        return;
    }
    fetch(0);
    stash();
    __syncthreads();
    for (int k0 = 0; k0 < K; k0 += BK) {
        bool more = k0 + BK < K;
        if (more) {
            fetch(k0 + BK);
        }
        if (ty < mRows) {  // rows past the tile's end do no work (decode tiles hold one row)
#pragma unroll 8
            for (int kk = 0; kk < BK; kk++) {
                float b[4], a[BM / 16];
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    b[j] = s.b[kk][tx + 16 * j];
                }
#pragma unroll
                for (int i = 0; i < BM / 16; i++) {
                    a[i] = s.a[kk][ty + 16 * i];
                }
#pragma unroll
                for (int i = 0; i < BM / 16; i++) {
#pragma unroll
                    for (int j = 0; j < 4; j++) {
                        acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
                    }
                }
            }
        }
        __syncthreads();
        if (more) {
            stash();
            __syncthreads();
        }
    }
}

}  // namespace gemm_tile
