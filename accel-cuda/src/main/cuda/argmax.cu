// Argmax over each row of logits. See ArgmaxKernels.java.
#include "common.cuh"

namespace argmax {

// Whether (va, ia) beats (vb, ib): NaN above every number, the first NaN wins, ties to the lower index.
__device__ __forceinline__ bool beats(float va, int ia, float vb, int ib) {
    bool na = isnan(va), nb = isnan(vb);
    if (na || nb) {
        return na && (!nb || ia < ib);
    }
    return va > vb || (va == vb && ia < ib);
}

// The (value, index) that beats the other (either may be empty: index < 0).
__device__ __forceinline__ void take(float& best, int& bi, float v, int i) {
    if (i >= 0 && (bi < 0 || beats(v, i, best, bi))) {
        best = v;
        bi = i;
    }
}

// The block's best (value, index) of what its threads hold, in thread 0 (sv, si: 32 entries of scratch).
__device__ void block_best(float& best, int& bi, float* sv, int* si) {
    for (int o = 16; o > 0; o >>= 1) {
        take(best, bi, __shfl_xor_sync(0xFFFFFFFFu, best, o), __shfl_xor_sync(0xFFFFFFFFu, bi, o));
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sv[warp] = best;
        si[warp] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int) (blockDim.x >> 5); w++) {
            take(best, bi, sv[w], si[w]);
        }
    }
}

// The best (value, index) of logits[row, lo..hi) over the block's threads, per thread (not yet reduced).
__device__ void scan(View logits, long long row, int lo, int hi, float& best, int& bi) {
    const float* p = (const float*) at(logits, row, 0);
    if (logits.dt == DT_F32 && ((unsigned long long) p & 15) == 0 && lo % 4 == 0 && hi % 4 == 0) {
        // f32 rows (the model's logits) as 16-byte words, several loads in flight per thread
#pragma unroll 4
        for (int c = lo / 4 + threadIdx.x; c < hi / 4; c += blockDim.x) {
            const float4 f = ((const float4*) p)[c];
            take(best, bi, f.x, 4 * c);
            take(best, bi, f.y, 4 * c + 1);
            take(best, bi, f.z, 4 * c + 2);
            take(best, bi, f.w, 4 * c + 3);
        }
    } else {
        for (int v = lo + threadIdx.x; v < hi; v += blockDim.x) {
            take(best, bi, ld(logits, row, v), v);
        }
    }
}

}  // namespace argmax

// out[b] = argmax_v logits[b, v]; one block (a multiple of 32 threads) per row.
extern "C" __global__ void argmax_rows(View logits, int* out, int vocab) {
    pdl_begin();
    __shared__ float sv[32];
    __shared__ int si[32];
    float best = 0.0f;
    int bi = -1;
    argmax::scan(logits, blockIdx.x, 0, vocab, best, bi);
    argmax::block_best(best, bi, sv, si);
    if (threadIdx.x == 0) {
        out[blockIdx.x] = bi;
    }
}

// The same for a few rows, each split over gridDim.x blocks of `slice` entries (a multiple of 4): block
// (s, b) writes its slice's best to part*[b * gridDim.x + s]; the last block of the grid to finish (a
// ticket on the device word `ticket`, 0 between launches) reduces each row's parts, one warp per row,
// and writes out[b]. A batch-1 decode step's 32000-entry row: ~2.5 µs of GPU time less per step than
// one block reading it (H200; ArgmaxKernels).
extern "C" __global__ void argmax_split(View logits, int* out, int vocab, int slice, float* partV, int* partI,
        unsigned* ticket) {
    pdl_begin();
    __shared__ float sv[32];
    __shared__ int si[32];
    __shared__ bool last;
    const int splits = gridDim.x, row = blockIdx.y;
    const int lo = blockIdx.x * slice;
    float best = 0.0f;
    int bi = -1;
    argmax::scan(logits, row, lo, min(vocab, lo + slice), best, bi);
    argmax::block_best(best, bi, sv, si);
    if (threadIdx.x == 0) {
        partV[row * splits + blockIdx.x] = best;
        partI[row * splits + blockIdx.x] = bi;
        __threadfence();
        last = atomicAdd(ticket, 1u) == gridDim.x * gridDim.y - 1;
    }
    __syncthreads();
    if (!last) {
        return;
    }
    __threadfence();
    const int lane = threadIdx.x & 31;
    for (int b = threadIdx.x >> 5; b < (int) gridDim.y; b += blockDim.x >> 5) {
        float v = 0.0f;
        int i = -1;
        // four parts per lane at a time, all loads in flight before the first comparison: a loop of one
        // part per lane waited a round trip per 32 parts (a 151,936-entry row has 75)
        for (int s0 = lane; s0 < splits; s0 += 128) {
            float pv[4];
            int pi[4];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int s = s0 + 32 * j;
                pv[j] = s < splits ? __ldcg(partV + b * splits + s) : 0.0f;
                pi[j] = s < splits ? __ldcg(partI + b * splits + s) : -1;
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                argmax::take(v, i, pv[j], pi[j]);
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            argmax::take(v, i, __shfl_xor_sync(0xFFFFFFFFu, v, o), __shfl_xor_sync(0xFFFFFFFFu, i, o));
        }
        if (lane == 0) {
            out[b] = i;
        }
    }
    if (threadIdx.x == 0) {
        *ticket = 0u;
    }
}
