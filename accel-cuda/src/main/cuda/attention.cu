// KV-cache write and paged attention over a mixed prefill + decode batch. See AttentionKernels.java.
#include "common.cuh"

// kCache/vCache[slot] = k/v[t] (converted to the cache dtype) for every token with slot != -1.
// One block per token; threads over Hk*D. When several tokens share a slot the last one is stored
// (the block defers to any later token with the same slot). A slot outside [-1, capacity) is reported
// and its token skipped. caches: [capacity, width] rows (contiguous).
extern "C" __global__ void attn_kv_write(View k, View v, View kCache, View vCache, const int* slots, int tokens,
        int width, long long capacity, int* err, int errCode) {
    int t = blockIdx.x;
    int slot = slots[t];
    if (slot == -1) {
        return;
    }
    if (slot < -1 || slot >= capacity) {
        if (threadIdx.x == 0) {
            report_error(err, errCode, t, slot, (int) capacity);
        }
        return;
    }
    int later = 0;
    for (int u = t + 1 + threadIdx.x; u < tokens; u += blockDim.x) {
        later |= slots[u] == slot;
    }
    if (__syncthreads_or(later)) {
        return;
    }
    bool sameK = k.dt == kCache.dt, sameV = v.dt == vCache.dt;
    int ks = dt_size(k.dt), vs = dt_size(v.dt);
    for (int j = threadIdx.x; j < width; j += blockDim.x) {
        if (sameK) {
            copy_elem(at(kCache, slot, j), at(k, t, j), ks);
        } else {
            st(kCache, slot, j, ld(k, t, j));
        }
        if (sameV) {
            copy_elem(at(vCache, slot, j), at(v, t, j), vs);
        } else {
            st(vCache, slot, j, ld(v, t, j));
        }
    }
}

namespace attn {

constexpr int WARPS = 4;
constexpr int MAX_PER_LANE = 8;  // head size <= 256 = 32 lanes x 8

template <int CT>
__device__ __forceinline__ float cache_at(const char* p, long long i) {
    if (CT == DT_F32) {
        return ((const float*) p)[i];
    } else if (CT == DT_BF16) {
        return bf16_to_f32(((const unsigned short*) p)[i]);
    } else {
        return f16_to_f32(((const unsigned short*) p)[i]);
    }
}

// Checks the batch metadata once per launch (block 0); errors surface at the next synchronize.
__device__ void validate(const int* qStart, const int* seqLens, const int* blockTables, long long tableStride,
        int numSeqs, int tokens, int maxBlocks, int blockSize, int numBlocks, int* err, int errCode) {
    for (int b = threadIdx.x; b <= numSeqs; b += blockDim.x) {
        if (qStart[b] < 0 || qStart[b] > tokens || (b > 0 && qStart[b] < qStart[b - 1])) {
            report_error(err, errCode | 1, b, qStart[b], tokens);
        }
    }
    for (int b = threadIdx.x; b < numSeqs; b += blockDim.x) {
        int len = seqLens[b];
        if (len < 0) {
            report_error(err, errCode | 2, b, len, 0);
            continue;
        }
        int need = (len + blockSize - 1) / blockSize;
        if (need > maxBlocks) {
            report_error(err, errCode | 3, b, len, maxBlocks);
            continue;
        }
        for (int i = 0; i < need; i++) {
            int blk = blockTables[b * tableStride + i];
            if (blk < 0 || blk >= numBlocks) {
                report_error(err, errCode | 4, b, i, blk);
            }
        }
    }
}

// One block per (query token, query head); each warp walks every WARPS-th allowed key with an
// online softmax (running max m, sum l, accumulator acc over the head's channels, lane c holding
// channels c, c+32, ...), then the warps' partial results are merged. All f32.
template <int CT>
__device__ void paged(View q, View kCache, View vCache, View out, const int* qStart, const int* seqLens,
        const int* blockTables, long long tableStride, int numSeqs, int tokens, int numHeads, int numKvHeads,
        int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks, int numBlocks, int* err,
        int errCode) {
    __shared__ float sq[32 * MAX_PER_LANE];
    __shared__ float wm[WARPS], wl[WARPS];
    __shared__ float wacc[WARPS][32 * MAX_PER_LANE];
    if (blockIdx.x == 0) {
        validate(qStart, seqLens, blockTables, tableStride, numSeqs, tokens, maxBlocks, blockSize, numBlocks, err, errCode);
    }
    int t = blockIdx.x / numHeads, h = blockIdx.x % numHeads;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    // the sequence that owns token t: the last b with qStart[b] <= t
    int b = -1;
    if (numSeqs > 0 && t >= qStart[0] && t < qStart[numSeqs]) {
        int lo = 0, hi = numSeqs - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (qStart[mid] <= t) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        b = lo;
    }
    int p = -1, first = 0, len = 0;
    if (b >= 0) {
        len = seqLens[b];
        int qLen = qStart[b + 1] - qStart[b];
        p = len - qLen + (t - qStart[b]);
        first = window > 0 ? max(0, p - window + 1) : 0;
        // a damaged batch (reported by validate) must not read outside the cache
        if (len < 0 || (len + blockSize - 1) / blockSize > maxBlocks) {
            p = -1;
        }
    }
    if (p < 0) {  // padding row or no allowed key: zeros
        for (int c = threadIdx.x; c < headSize; c += blockDim.x) {
            st(out, t, (long long) h * headSize + c, 0.0f);
        }
        return;
    }
    for (int c = threadIdx.x; c < headSize; c += blockDim.x) {
        sq[c] = ld(q, t, (long long) h * headSize + c);
    }
    __syncthreads();
    int g = h / (numHeads / numKvHeads);
    float m = -INFINITY, l = 0.0f;
    float acc[MAX_PER_LANE];
#pragma unroll
    for (int i = 0; i < MAX_PER_LANE; i++) {
        acc[i] = 0.0f;
    }
    const int* table = blockTables + b * tableStride;
    for (int j = first + warp; j <= p; j += WARPS) {
        int blk = table[j / blockSize];
        if (blk < 0 || blk >= numBlocks) {
            continue;  // reported by validate
        }
        long long row = ((long long) blk * blockSize + j % blockSize) * numKvHeads + g;
        const char* kp = at(kCache, row, 0);
        const char* vp = at(vCache, row, 0);
        float dot = 0.0f;
#pragma unroll
        for (int i = 0; i < MAX_PER_LANE; i++) {
            int c = lane + 32 * i;
            if (c < headSize) {
                dot = fmaf(sq[c], cache_at<CT>(kp, c), dot);
            }
        }
        float s = scale * warp_sum(dot);
        if (softCap > 0.0f) {
            s = softCap * tanhf(s / softCap);
        }
        float mNew = fmaxf(m, s);
        float corr = expf(m - mNew);  // m = -inf at the first key: corr = 0
        float pj = expf(s - mNew);
        l = l * corr + pj;
#pragma unroll
        for (int i = 0; i < MAX_PER_LANE; i++) {
            int c = lane + 32 * i;
            if (c < headSize) {
                acc[i] = fmaf(pj, cache_at<CT>(vp, c), acc[i] * corr);
            }
        }
        m = mNew;
    }
    if (lane == 0) {
        wm[warp] = m;
        wl[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < MAX_PER_LANE; i++) {
        wacc[warp][lane + 32 * i] = acc[i];
    }
    __syncthreads();
    float mAll = -INFINITY;
    for (int w = 0; w < WARPS; w++) {
        mAll = fmaxf(mAll, wm[w]);
    }
    float lAll = 0.0f;
    for (int w = 0; w < WARPS; w++) {
        if (wm[w] != -INFINITY) {
            lAll += wl[w] * expf(wm[w] - mAll);
        }
    }
    for (int c = threadIdx.x; c < headSize; c += blockDim.x) {
        float o = 0.0f;
        for (int w = 0; w < WARPS; w++) {
            if (wm[w] != -INFINITY) {
                o += wacc[w][c] * expf(wm[w] - mAll);
            }
        }
        st(out, t, (long long) h * headSize + c, lAll > 0.0f ? o / lAll : 0.0f);
    }
}

}  // namespace attn

extern "C" __global__ void __launch_bounds__(attn::WARPS * 32) attn_paged_f32(View q, View kCache, View vCache, View out,
        const int* qStart, const int* seqLens, const int* blockTables, long long tableStride, int numSeqs, int tokens,
        int numHeads, int numKvHeads, int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks,
        int numBlocks, int* err, int errCode) {
    attn::paged<DT_F32>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens, numHeads,
            numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks, err, errCode);
}

extern "C" __global__ void __launch_bounds__(attn::WARPS * 32) attn_paged_f16(View q, View kCache, View vCache, View out,
        const int* qStart, const int* seqLens, const int* blockTables, long long tableStride, int numSeqs, int tokens,
        int numHeads, int numKvHeads, int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks,
        int numBlocks, int* err, int errCode) {
    attn::paged<DT_F16>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens, numHeads,
            numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks, err, errCode);
}

extern "C" __global__ void __launch_bounds__(attn::WARPS * 32) attn_paged_bf16(View q, View kCache, View vCache, View out,
        const int* qStart, const int* seqLens, const int* blockTables, long long tableStride, int numSeqs, int tokens,
        int numHeads, int numKvHeads, int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks,
        int numBlocks, int* err, int errCode) {
    attn::paged<DT_BF16>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens, numHeads,
            numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks, err, errCode);
}
