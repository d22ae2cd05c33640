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

}  // namespace argmax

// out[b] = argmax_v logits[b, v]; one block (a multiple of 32 threads) per row.
extern "C" __global__ void argmax_rows(View logits, int* out, int vocab) {
    pdl_begin();
    __shared__ float sv[32];
    __shared__ int si[32];
    long long row = blockIdx.x;
    float best = 0.0f;
    int bi = -1;
    const float* p = (const float*) at(logits, row, 0);
    if (logits.dt == DT_F32 && ((unsigned long long) p & 15) == 0 && vocab % 4 == 0) {
        // f32 rows (the model's logits) as 16-byte words, several loads in flight per thread: a batch-1
        // step's 32000-entry row took 12-14 µs one strided element at a time
#pragma unroll 4
        for (int c = threadIdx.x; c < vocab / 4; c += blockDim.x) {
            const float4 f = ((const float4*) p)[c];
            const float x[4] = {f.x, f.y, f.z, f.w};
#pragma unroll
            for (int i = 0; i < 4; i++) {
                if (bi < 0 || argmax::beats(x[i], 4 * c + i, best, bi)) {
                    best = x[i];
                    bi = 4 * c + i;
                }
            }
        }
    } else {
        for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
            float x = ld(logits, row, v);
            if (bi < 0 || argmax::beats(x, v, best, bi)) {
                best = x;
                bi = v;
            }
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xFFFFFFFFu, best, o);
        int oi = __shfl_xor_sync(0xFFFFFFFFu, bi, o);
        if (oi >= 0 && (bi < 0 || argmax::beats(ov, oi, best, bi))) {
            best = ov;
            bi = oi;
        }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sv[warp] = best;
        si[warp] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int) (blockDim.x >> 5); w++) {
            if (si[w] >= 0 && (bi < 0 || argmax::beats(sv[w], si[w], best, bi))) {
                best = sv[w];
                bi = si[w];
            }
        }
        out[row] = bi;
    }
}
