// KV-cache write and paged attention over a mixed prefill + decode batch. See AttentionKernels.java.
#include "common.cuh"

// kCache/vCache[slot] = k/v[t] (converted to the cache dtype) for every token with slot != -1.
// One block per token; threads over Hk*D. When several tokens share a slot the last one is stored
// (the block defers to any later token with the same slot). A slot outside [-1, capacity) is reported
// and its token skipped. caches: [capacity, width] rows (contiguous).
extern "C" __global__ void attn_kv_write(View k, View v, View kCache, View vCache, const int* slots, int tokens,
        int width, long long capacity, int* err, int errCode) {
    pdl_begin();
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
    copy_cols(kCache, slot, k, t, 0, width);
    copy_cols(vCache, slot, v, t, 0, width);
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

// Checks the batch metadata once per launch (block 0); errors surface at the next synchronize. The
// block-table entries are checked as (sequence, entry) pairs spread over the threads, each pair's
// two loads independent of each other, so the block waits about one memory latency per pass instead
// of one per entry (a 192-token decode's 12 entries, read one after the other by one thread, held
// block 0 — and so the launch — for several µs).
__device__ void validate(const int* qStart, const int* seqLens, const int* blockTables, long long tableStride,
        int numSeqs, int tokens, int maxBlocks, int blockSize, int numBlocks, int* err, int errCode) {
    for (int b = threadIdx.x; b <= numSeqs; b += blockDim.x) {
        if (qStart[b] < 0 || qStart[b] > tokens || (b > 0 && qStart[b] < qStart[b - 1])) {
            report_error(err, errCode | 1, b, qStart[b], tokens);
        }
    }
    const long long pairs = (long long) numSeqs * max(maxBlocks, 1);
    for (long long e = threadIdx.x; e < pairs; e += blockDim.x) {
        const int b = (int) (e / max(maxBlocks, 1)), i = (int) (e % max(maxBlocks, 1));
        const int len = seqLens[b];
        const int blk = i < maxBlocks ? blockTables[b * tableStride + i] : 0;  // the table has maxBlocks columns
        if (len < 0) {
            if (i == 0) {
                report_error(err, errCode | 2, b, len, 0);
            }
            continue;
        }
        const int need = (len + blockSize - 1) / blockSize;
        if (need > maxBlocks) {
            if (i == 0) {
                report_error(err, errCode | 3, b, len, maxBlocks);
            }
            continue;
        }
        if (i < need && (blk < 0 || blk >= numBlocks)) {
            report_error(err, errCode | 4, b, i, blk);
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
            st_act(out, t, (long long) h * headSize + c, 0.0f);
        }
        return;
    }
    for (int c = threadIdx.x; c < headSize; c += blockDim.x) {
        sq[c] = ld_act(q, t, (long long) h * headSize + c);
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
        st_act(out, t, (long long) h * headSize + c, lAll > 0.0f ? o / lAll : 0.0f);
    }
}


// ---- flash-style form: K/V tiles in shared memory, shared by the query heads of a KV group ----

constexpr int FR = 16;               // query rows per block: (token, head) pairs of one KV group
constexpr int FK = 8;                // keys per tile
constexpr int FT = 128;              // threads
constexpr int FC = 256 / FK;         // accumulator channels per thread (head size <= 256)
constexpr int FL = 256 / 16;         // channels per thread of a K/V tile load (16 threads per key)

// One block per (sequence b, KV head g, tile of FR query rows, key split z): the rows are the
// sequence's query tokens x the G query heads of g (row rho = token * G + head-in-group); every K/V
// row is loaded once into shared memory (as f32) for all of them. Per tile of FK keys:
//   scores  - the FR x FK dot products, 4 threads each (warp w computes row w + 4 pass, the
//             passes whose rows are all past the tile's end are skipped: a decode's G rows fill
//             the 4 warps),
//   softmax - thread (r = tid % 16, sub = tid / 16) updates row r's online softmax (max m, sum l)
//             from the row's FK scores, identically in the 8 threads of the row,
//   values  - the same thread accumulates channels c = sub + 8i of row r.
// With splits == 1 the result goes to out; otherwise each split writes its (m, l, acc) to part*
// and attn_merge combines them.
template <int CT>
__device__ void flash(View q, View kCache, View vCache, View out, const int* qStart, const int* seqLens,
        const int* blockTables, long long tableStride, int numSeqs, int tokens, int numHeads, int numKvHeads,
        int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks, int numBlocks,
        int maxQueryLen, int maxSeqLen, int qTiles, int splits, int chunk, float* partAcc, float* partMl, int* err,
        int errCode) {
    extern __shared__ float smem[];
    // rows padded to 4 mod 32 floats: the 8 keys x 4 lanes of a warp's dot products hit 32 banks
    const int D = headSize, SD = headSize + (36 - headSize % 32) % 32;
    float* sQ = smem;                 // [FR][SD]
    float* sK = sQ + FR * SD;         // [FK][SD]
    float* sV = sK + FK * SD;         // [FK][SD]
    float* sS = sV + FK * SD;         // [FR][FK] scores
    if (blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0) {
        validate(qStart, seqLens, blockTables, tableStride, numSeqs, tokens, maxBlocks, blockSize, numBlocks, err,
                errCode);
        for (int b = threadIdx.x; b < numSeqs; b += blockDim.x) {
            int qLen = qStart[b + 1] - qStart[b];
            if (qLen > maxQueryLen || seqLens[b] > maxSeqLen) {
                report_error(err, errCode | 5, b, qLen, seqLens[b]);
            }
        }
    }
    const int b = blockIdx.x, g = blockIdx.y, qt = blockIdx.z % qTiles, z = blockIdx.z / qTiles;
    const int G = numHeads / numKvHeads;
    const int L = seqLens[b], qs = qStart[b], qLen = qStart[b + 1] - qs;
    if (L < 0 || qLen < 0 || qLen > maxQueryLen || (L + blockSize - 1) / blockSize > maxBlocks) {
        return;  // reported by validate
    }
    const int rows = qLen * G, rho0 = qt * FR;
    if (rho0 >= rows) {
        return;
    }
    const int tid = threadIdx.x;
    const int activeRows = min(FR, rows - rho0);
    // keys any row of the tile needs, inside this split: [lo, hi]
    const int pMin = L - qLen + rho0 / G, pMax = L - qLen + (rho0 + activeRows - 1) / G;
    const int k0 = z * chunk, k1 = min(L, k0 + chunk);
    const int lo = max(k0, window > 0 ? max(0, pMin - window + 1) : 0);
    const int hi = min(k1 - 1, pMax);

    for (int e = tid; e < FR * D; e += FT) {
        int rr = e / D, c = e % D, rh = rho0 + rr;
        float v = 0.0f;
        if (rr < activeRows) {
            v = ld_act(q, qs + rh / G, (long long) (g * G + rh % G) * D + c);
        }
        sQ[rr * SD + c] = v;
    }
    const int* table = blockTables + b * tableStride;

    // tile loads: thread (lj = tid / 16, part = tid % 16) fetches key lj's channels part + 16i into
    // registers; the next tile's fetch is issued before the current tile is computed, so its latency
    // overlaps the arithmetic
    const int lj = tid / 16, part = tid % 16;
    float kreg[FL], vreg[FL];
    auto fetch = [&](int kt) {
        int key = kt + lj;
        const char* kp = nullptr;
        const char* vp = nullptr;
        if (key <= hi) {
            int blk = table[key / blockSize];
            if (blk >= 0 && blk < numBlocks) {
                long long row = ((long long) blk * blockSize + key % blockSize) * numKvHeads + g;
                kp = at(kCache, row, 0);
                vp = at(vCache, row, 0);
            }
        }
#pragma unroll
        for (int i = 0; i < FL; i++) {
            int c = part + 16 * i;
            bool in = kp != nullptr && c < D;
            kreg[i] = in ? cache_at<CT>(kp, c) : 0.0f;
            vreg[i] = in ? cache_at<CT>(vp, c) : 0.0f;
        }
    };

    // this thread's row in the softmax and value stages
    const int r = tid % FR, sub = tid / FR;
    const int rho = rho0 + r;
    const bool valid = r < activeRows;
    const int t = qs + (valid ? rho / G : 0), h = g * G + (valid ? rho % G : 0);
    float m = -INFINITY, l = 0.0f;
    float acc[FC];
#pragma unroll
    for (int i = 0; i < FC; i++) {
        acc[i] = 0.0f;
    }
    // the dot-product stage: lane quad (4 threads) per (row, key)
    const int quad = tid % 4, dotId = tid / 4;  // dotId 0..31: row dotId / FK (+ 4 per pass), key dotId % FK
    const int passes = (activeRows + 3) / 4;

    if (lo <= hi) {
        fetch(lo);
    }
    for (int kt = lo; kt <= hi; kt += FK) {
        __syncthreads();  // the previous tile is consumed (and sQ is complete on the first pass)
#pragma unroll
        for (int i = 0; i < FL; i++) {
            int c = part + 16 * i;
            if (c < D) {
                sK[lj * SD + c] = kreg[i];
                sV[lj * SD + c] = vreg[i];
            }
        }
        __syncthreads();
        if (kt + FK <= hi) {
            fetch(kt + FK);
        }
        for (int pass = 0; pass < passes; pass++) {
            int dr = dotId / FK + 4 * pass, dj = dotId % FK, key = kt + dj;
            int dp = L - qLen + (rho0 + dr) / G;  // position of row dr's query
            int dfirst = window > 0 ? max(0, dp - window + 1) : 0;
            bool live = dr < activeRows && key <= hi && key <= dp && key >= dfirst;
            float d0 = 0.0f, d1 = 0.0f;
            if (live) {
                const float* qr = sQ + dr * SD;
                const float* kr = sK + dj * SD;
                int c = quad;
                for (; c + 4 < D; c += 8) {
                    d0 = fmaf(qr[c], kr[c], d0);
                    d1 = fmaf(qr[c + 4], kr[c + 4], d1);
                }
                for (; c < D; c += 4) {
                    d0 = fmaf(qr[c], kr[c], d0);
                }
            }
            float dot = d0 + d1;
            dot += __shfl_xor_sync(0xFFFFFFFFu, dot, 1);
            dot += __shfl_xor_sync(0xFFFFFFFFu, dot, 2);
            if (quad == 0) {
                float s = -INFINITY;
                if (live) {
                    s = scale * dot;
                    if (softCap > 0.0f) {
                        s = softCap * tanhf(s / softCap);
                    }
                }
                sS[dr * FK + dj] = s;
            }
        }
        __syncthreads();
        if (valid) {
            float sc[FK];
            float mt = -INFINITY;
#pragma unroll
            for (int j = 0; j < FK; j++) {
                sc[j] = sS[r * FK + j];
                mt = fmaxf(mt, sc[j]);
            }
            float mNew = fmaxf(m, mt);
            if (mNew != -INFINITY) {  // else no allowed key yet: nothing to add
                float corr = expf(m - mNew);  // m = -inf: 0
                float ps = 0.0f;
#pragma unroll
                for (int j = 0; j < FK; j++) {
                    sc[j] = expf(sc[j] - mNew);  // masked: exp(-inf) = 0
                    ps += sc[j];
                }
                l = l * corr + ps;
                m = mNew;
#pragma unroll
                for (int i = 0; i < FC; i++) {
                    acc[i] *= corr;
                }
#pragma unroll
                for (int j = 0; j < FK; j++) {
                    const float* vr = sV + j * SD;
#pragma unroll
                    for (int i = 0; i < FC; i++) {
                        int c = sub + FK * i;
                        if (c < D) {
                            acc[i] = fmaf(sc[j], vr[c], acc[i]);
                        }
                    }
                }
            }
        }
    }
    if (!valid) {
        return;
    }
    if (splits == 1) {
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
        for (int i = 0; i < FC; i++) {
            int c = sub + FK * i;
            if (c < D) {
                st_act(out, t, (long long) h * D + c, l > 0.0f ? acc[i] * inv : 0.0f);
            }
        }
    } else {
        long long prow = ((long long) z * tokens + t) * numHeads + h;
        if (sub == 0) {
            partMl[2 * prow] = m;
            partMl[2 * prow + 1] = l;
        }
#pragma unroll
        for (int i = 0; i < FC; i++) {
            int c = sub + FK * i;
            if (c < D) {
                partAcc[prow * D + c] = acc[i];
            }
        }
    }
}


// ---- decode form: one query per sequence ----

// Block 0 of a decode form: validate, report sequences with more than one query, and zero the rows
// of out ([tokens, width]) that belong to no sequence.
__device__ __noinline__ void decode_checks(View out, const int* qStart, const int* seqLens, const int* blockTables,
        long long tableStride, int numSeqs, int tokens, int width, int maxBlocks, int blockSize, int numBlocks,
        int* err, int errCode) {
    validate(qStart, seqLens, blockTables, tableStride, numSeqs, tokens, maxBlocks, blockSize, numBlocks, err, errCode);
    for (int b = threadIdx.x; b < numSeqs; b += blockDim.x) {
        if (qStart[b + 1] - qStart[b] > 1) {
            report_error(err, errCode | 5, b, qStart[b + 1] - qStart[b], seqLens[b]);
        }
    }
    for (int t = 0; t < tokens; t++) {
        if (numSeqs > 0 && t >= qStart[0] && t < qStart[numSeqs]) {
            continue;
        }
        for (int c = threadIdx.x; c < width; c += blockDim.x) {
            st_act(out, t, c, 0.0f);
        }
    }
}

// The end of a decode block: the warps' running (m, l, acc) in shared memory (sM, sL [warps][G],
// sAcc [warps][G][D]) combined per query head head0 + h, then stored to out's row t (splits == 1) or
// written as split z's partials for attn_merge.
__device__ void combine_warps(const float* sM, const float* sL, const float* sAcc, int warps, int G, int D, int head0,
        View out, int t, int z, int tokens, int numHeads, int splits, float* partAcc, float* partMl) {
    for (int e = threadIdx.x; e < G * D; e += blockDim.x) {
        int h = e / D, c = e % D;
        float mAll = -INFINITY;
        for (int w = 0; w < warps; w++) {
            mAll = fmaxf(mAll, sM[w * G + h]);
        }
        float lAll = 0.0f, o = 0.0f;
        for (int w = 0; w < warps; w++) {
            float mw = sM[w * G + h];
            if (mw != -INFINITY) {
                float f = expf(mw - mAll);
                lAll += sL[w * G + h] * f;
                o += sAcc[(w * G + h) * D + c] * f;
            }
        }
        int head = head0 + h;
        if (splits == 1) {
            st_act(out, t, (long long) head * D + c, lAll > 0.0f ? o / lAll : 0.0f);
        } else {
            long long prow = ((long long) z * tokens + t) * numHeads + head;
            if (c == 0) {
                partMl[2 * prow] = mAll;
                partMl[2 * prow + 1] = lAll;
            }
            partAcc[prow * D + c] = o;
        }
    }
}

// One tile's online-softmax step for G heads in a warp, one key per lane: the lane's raw scores
// s[h] (hasKey false: no key, score -inf) are scaled and soft-capped, each head's running max m and
// sum l take the tile in, the lane's N accumulators per head are rescaled, and pr[h] is the lane's
// key's unnormalized probability (0 without a key). The decode forms' common step.
template <int G, int N>
__device__ __forceinline__ void softmax_tile(const float* s, bool hasKey, float scale, float softCap, float* m,
        float* l, float (*acc)[N], float* pr) {
#pragma unroll
    for (int h = 0; h < G; h++) {
        float x = -INFINITY;
        if (hasKey) {
            x = scale * s[h];
            if (softCap > 0.0f) {
                x = softCap * tanhf(x / softCap);
            }
        }
        float mNew = fmaxf(m[h], warp_max(x));
        pr[h] = mNew == -INFINITY ? 0.0f : expf(x - mNew);
        float corr = mNew == -INFINITY ? 1.0f : expf(m[h] - mNew);  // m = -inf: 0
        l[h] = l[h] * corr + warp_sum(pr[h]);
        m[h] = mNew;
#pragma unroll
        for (int i = 0; i < N; i++) {
            acc[h][i] *= corr;
        }
    }
}

constexpr int DW = 4;  // warps per block of the decode form

// Cache elements c .. c+7 of the row at p as f32 (zeros from D on); vec: p + c is 16-byte aligned
// and c + 8 <= D.
template <int CT>
__device__ __forceinline__ void cache_load8(const char* p, int c, int D, bool vec, float* o) {
    if constexpr (CT != DT_F32) {
        if (vec) {
            unpack8<CT>(*(const uint4*) (p + 2 * (long long) c), o);
            return;
        }
    }
    if (vec) {
        float4 a = *(const float4*) (p + 4 * (long long) c), b = *(const float4*) (p + 4 * (long long) c + 16);
        o[0] = a.x, o[1] = a.y, o[2] = a.z, o[3] = a.w, o[4] = b.x, o[5] = b.y, o[6] = b.z, o[7] = b.w;
    } else {
#pragma unroll
        for (int i = 0; i < 8; i++) {
            o[i] = c + i < D ? cache_at<CT>(p, c + i) : 0.0f;
        }
    }
}

// Decode attention (every sequence has at most one query, maxQueryLen == 1): one block per
// (sequence b, KV head g, key split z) for all G query heads of g. Warp w takes tiles of 32 keys
// (tile i of the split: keys lo + 32 (DW i + w) + lane), one key per lane:
//   scores - the lane reads its key's row (16-byte loads when aligned) and dots it with the G query
//            rows in shared memory (broadcast reads);
//   softmax - per head, the warp's max and sum over the tile update the warp's running (m, l);
//   values - lane c accumulates channels c, c + 32, ... of every head over the tile's keys (each
//            key's row pointer and probabilities shuffled from the lane that owns it; the V rows
//            are read coalesced).
// The DW warps' (m, l, acc) are combined in shared memory at the end; with splits > 1 each split
// writes its combined (m, l, acc) for attn_merge, the flash form's layout. Block (numSeqs, 0, 0), one
// past the sequences' blocks, validates the metadata and writes the zeros of rows that belong to no
// sequence (the decode form replaces attn_zero_padding); the other blocks (numSeqs, y, z) do nothing.
// A whole tile of 32 keys is one memory latency per lane instead of the flash form's 8-key tiles
// walked by one block with two barriers each (decodes ran 21 µs per layer at 192 keys on an H200 with
// the flash form; docs/performance.md).
template <int CT, int G>
__device__ void decode(View q, View kCache, View vCache, View out, const int* qStart, const int* seqLens,
        const int* blockTables, long long tableStride, int numSeqs, int tokens, int numHeads, int numKvHeads,
        int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks, int numBlocks,
        int splits, int chunk, int vec, float* partAcc, float* partMl, int* err, int errCode) {
    extern __shared__ float smem[];
    const int D = headSize, DP = (headSize + 7) / 8 * 8;
    float* sQ = smem;                   // [G][DP], zeros past D
    float* sM = sQ + G * DP;            // [DW][G]
    float* sL = sM + DW * G;            // [DW][G]
    float* sAcc = sL + DW * G;          // [DW][G][D]
    if (blockIdx.x == numSeqs) {        // the checks' own blocks, as in decode_vec
        if (blockIdx.y == 0 && blockIdx.z == 0) {
            decode_checks(out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens, numHeads * D, maxBlocks,
                    blockSize, numBlocks, err, errCode);
        }
        return;
    }
    const int b = blockIdx.x, g = blockIdx.y, z = blockIdx.z;
    const int L = seqLens[b], t = qStart[b], qLen = qStart[b + 1] - t;
    if (qLen != 1 || L < 1 || (L + blockSize - 1) / blockSize > maxBlocks) {
        return;  // no query (or reported by validate)
    }
    const int p = L - 1;
    const int lo = max(z * chunk, window > 0 ? max(0, p - window + 1) : 0);
    const int hi = min(p, z * chunk + chunk - 1);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int e = threadIdx.x; e < G * DP; e += blockDim.x) {
        int h = e / DP, c = e % DP;
        sQ[e] = c < D ? ld_act(q, t, (long long) (g * G + h) * D + c) : 0.0f;
    }
    __syncthreads();
    const int* table = blockTables + b * tableStride;
    float m[G], l[G], acc[G][MAX_PER_LANE];
#pragma unroll
    for (int h = 0; h < G; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < MAX_PER_LANE; i++) {
            acc[h][i] = 0.0f;
        }
    }
    for (int base = lo + 32 * warp; base <= hi; base += 32 * DW) {
        int key = base + lane;
        long long row = -1;
        if (key <= hi) {
            int blk = table[key / blockSize];
            if (blk >= 0 && blk < numBlocks) {
                row = ((long long) blk * blockSize + key % blockSize) * numKvHeads + g;
            }
        }
        float s[G];
#pragma unroll
        for (int h = 0; h < G; h++) {
            s[h] = 0.0f;
        }
        if (row >= 0) {
            const char* kp = at(kCache, row, 0);
            for (int c0 = 0; c0 < D; c0 += 32) {  // 32 channels at a time: four loads in flight
                float kv[4][8];
#pragma unroll
                for (int u = 0; u < 4; u++) {
                    if (c0 + 8 * u < D) {
                        cache_load8<CT>(kp, c0 + 8 * u, D, vec, kv[u]);
                    }
                }
#pragma unroll
                for (int u = 0; u < 4; u++) {
                    int c = c0 + 8 * u;
                    if (c < D) {
#pragma unroll
                        for (int h = 0; h < G; h++) {
#pragma unroll
                            for (int i = 0; i < 8; i++) {
                                s[h] = fmaf(sQ[h * DP + c + i], kv[u][i], s[h]);
                            }
                        }
                    }
                }
            }
        }
        float pr[G];
        softmax_tile<G, MAX_PER_LANE>(s, row >= 0, scale, softCap, m, l, acc, pr);
        // values, 8 keys at a time: their rows' loads are all issued before the first multiply-add
        int n = min(32, hi - base + 1);
        for (int k0 = 0; k0 < n; k0 += 8) {
            long long rr[8];
            float vv[8][MAX_PER_LANE];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                rr[j] = __shfl_sync(0xFFFFFFFFu, row, k0 + j);
                if (k0 + j >= n) {
                    rr[j] = -1;
                }
            }
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const char* vp = at(vCache, rr[j] < 0 ? 0 : rr[j], 0);
#pragma unroll
                for (int i = 0; i < MAX_PER_LANE; i++) {
                    int c = lane + 32 * i;
                    vv[j][i] = rr[j] >= 0 && c < D ? cache_at<CT>(vp, c) : 0.0f;
                }
            }
#pragma unroll
            for (int j = 0; j < 8; j++) {
#pragma unroll
                for (int h = 0; h < G; h++) {
                    float pk = __shfl_sync(0xFFFFFFFFu, pr[h], k0 + j);  // 0 for keys past the tile's end
#pragma unroll
                    for (int i = 0; i < MAX_PER_LANE; i++) {
                        acc[h][i] = fmaf(pk, vv[j][i], acc[h][i]);
                    }
                }
            }
        }
    }
    // combine the warps
#pragma unroll
    for (int h = 0; h < G; h++) {
        if (lane == 0) {
            sM[warp * G + h] = m[h];
            sL[warp * G + h] = l[h];
        }
#pragma unroll
        for (int i = 0; i < MAX_PER_LANE; i++) {
            int c = lane + 32 * i;
            if (c < D) {
                sAcc[(warp * G + h) * D + c] = acc[h][i];
            }
        }
    }
    __syncthreads();
    combine_warps(sM, sL, sAcc, DW, G, D, g * G, out, t, z, tokens, numHeads, splits, partAcc, partMl);
}

constexpr int VW = 8;  // warps per block of the vector decode form

// The vector decode form (f16/bf16 cache, head size D <= DM with D % 8 == 0 and 32 % (D / 8) == 0,
// 16-byte aligned rows): one block of VW warps per (sequence b, group of G query heads, key split z),
// the G heads sharing one KV head (all kvGroup of them, or a part when few blocks would run), every warp one tile of 32 keys at a time, and everything a tile needs in flight
// at once, since a decode over a short context is a chain of memory latencies, not a stream:
//   loads   - the lane's key row (DM / 8 16-byte words) and its share of the tile's value rows: with
//             LPR = D / 8 lanes per row, lane holds channels 8 (lane % LPR) .. + 7 of keys
//             lane / LPR, + RPI, + 2 RPI, ... (RPI = 32 / LPR rows per warp-wide load), all issued
//             before the first multiply-add;
//   scores  - the lane's key against the G query rows in shared memory (broadcast reads), then the
//             warp's softmax update per head (running m, l);
//   values  - acc[h][0..7] += p(key) V[key][channels], p shuffled from the lane that owns the key.
// At the end the RPI lanes of a channel group are summed (xor shuffles), the VW warps combined in
// shared memory, and the result stored (splits == 1) or written as split partials for attn_merge.
// Block (numSeqs, 0, 0), one past the sequences' blocks (AttentionKernels.decodeVec), validates the
// metadata and zeroes the rows of no sequence beside them: done after a sequence block's own work, the
// checks ended that block, and so the launch, about 1 µs later (docs/performance.md run 16). The other
// blocks (numSeqs, y, z) do nothing.
template <int CT, int G, int DM>
__device__ void decode_vec(View q, View kCache, View vCache, View out, const int* qStart, const int* seqLens,
        const int* blockTables, long long tableStride, int numSeqs, int tokens, int numHeads, int numKvHeads,
        int headSize, float scale, int window, float softCap, int blockSize, int maxBlocks, int numBlocks,
        int splits, int chunk, int kvGroup, float* partAcc, float* partMl, int* err, int errCode) {
    extern __shared__ float smem[];
    if (blockIdx.x == numSeqs) {
        pdl_begin();
        if (blockIdx.y == 0 && blockIdx.z == 0) {
            decode_checks(out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens, numHeads * headSize,
                    maxBlocks, blockSize, numBlocks, err, errCode);
        }
        return;
    }
    constexpr int KW = DM / 8;           // 16-byte words of a key row at most
    const int D = headSize, LPR = D / 8, RPI = 32 / LPR;
    float* sQ = smem;                    // [G][DM], zeros past D
    float* sM = sQ + G * DM;             // [VW][G]
    float* sL = sM + VW * G;             // [VW][G]
    float* sAcc = sL + VW * G;           // [VW][G][D]
    // block y: query heads gq·G .. gq·G + G - 1, all of KV head kv (G = kvGroup, or fewer when a small
    // batch spreads one KV head's query heads over several blocks)
    const int b = blockIdx.x, gq = blockIdx.y, z = blockIdx.z, kv = gq * G / kvGroup;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    // split z's keys [lo, hi] of a sequence whose last key is p
    auto first_key = [&](int p) { return max(z * chunk, window > 0 ? max(0, p - window + 1) : 0); };
    auto last_key = [&](int p) { return min(p, z * chunk + chunk - 1); };
    {  // a hint: the key and value rows of the warp's first tile into L2 while the kernel before ends (the
       // metadata is the host's step input; everything is read again after the wait)
        const int L = seqLens[b], key = first_key(L - 1) + 32 * warp + lane;
        if (qStart[b + 1] - qStart[b] == 1 && L >= 1 && (L + blockSize - 1) / blockSize <= maxBlocks
                && key <= last_key(L - 1)) {
            const int blk = blockTables[b * tableStride + key / blockSize];
            if (blk >= 0 && blk < numBlocks) {
                const long long row = ((long long) blk * blockSize + key % blockSize) * numKvHeads + kv;
                for (int c = 0; c < D; c += 64) {  // the 128-byte lines of a 16-bit row
                    prefetch_l2(at(kCache, row, c));
                    prefetch_l2(at(vCache, row, c));
                }
            }
        }
    }
    // The next kernel may launch only from the end (below): launched at the wait, the o projection's
    // blocks issued their first weights while this block read its tile of K and V rows, which are on
    // the step's critical path (docs/performance.md run 16: replay 0.883 -> 0.876 ms at 192 tokens).
    pdl_wait();
    const int L = seqLens[b], t = qStart[b], qLen = qStart[b + 1] - t;
    if (qLen == 1 && L >= 1 && (L + blockSize - 1) / blockSize <= maxBlocks) {
        const int p = L - 1;
        const int lo = first_key(p), hi = last_key(p);
        for (int e = threadIdx.x; e < G * DM; e += blockDim.x) {
            int h = e / DM, c = e % DM;
            sQ[e] = c < D ? ld_act(q, t, (long long) (gq * G + h) * D + c) : 0.0f;
        }
        __syncthreads();
        const int* table = blockTables + b * tableStride;
        const int cg = lane % LPR, kr0 = lane / LPR;
        const bool vLane = kr0 < RPI;
        float m[G], l[G], acc[G][8];
#pragma unroll
        for (int h = 0; h < G; h++) {
            m[h] = -INFINITY;
            l[h] = 0.0f;
#pragma unroll
            for (int i = 0; i < 8; i++) {
                acc[h][i] = 0.0f;
            }
        }
        for (int base = lo + 32 * warp; base <= hi; base += 32 * VW) {
            const int key = base + lane, n = min(32, hi - base + 1);
            long long row = -1;
            if (key <= hi) {
                int blk = table[key / blockSize];
                if (blk >= 0 && blk < numBlocks) {
                    row = ((long long) blk * blockSize + key % blockSize) * numKvHeads + kv;
                }
            }
            uint4 kw[KW], vw[KW];
            const uint4 zero = make_uint4(0, 0, 0, 0);
#pragma unroll
            for (int i = 0; i < KW; i++) {
                kw[i] = row >= 0 && 8 * i < D ? *(const uint4*) at(kCache, row, 8 * i) : zero;
            }
#pragma unroll
            for (int s = 0; s < KW; s++) {  // value rows of keys kr0 + RPI s (RPI s < 32 for s < 32 / RPI)
                int j = kr0 + RPI * s;
                long long rj = __shfl_sync(0xFFFFFFFFu, row, j & 31);
                vw[s] = vLane && j < n && rj >= 0 ? *(const uint4*) at(vCache, rj, 8 * cg) : zero;
            }
            float sc[G];
#pragma unroll
            for (int h = 0; h < G; h++) {
                sc[h] = 0.0f;
            }
#pragma unroll
            for (int i = 0; i < KW; i++) {
                if (8 * i < D) {
                    float kv[8];
                    unpack8<CT>(kw[i], kv);
#pragma unroll
                    for (int h = 0; h < G; h++) {
#pragma unroll
                        for (int u = 0; u < 8; u++) {
                            sc[h] = fmaf(sQ[h * DM + 8 * i + u], kv[u], sc[h]);
                        }
                    }
                }
            }
            float pr[G];
            softmax_tile<G, 8>(sc, row >= 0, scale, softCap, m, l, acc, pr);
#pragma unroll
            for (int s = 0; s < KW; s++) {
                int j = kr0 + RPI * s;
                float vv[8];
                unpack8<CT>(vw[s], vv);  // zeros where the key is out of the tile
#pragma unroll
                for (int h = 0; h < G; h++) {
                    float pk = __shfl_sync(0xFFFFFFFFu, pr[h], j & 31);
                    pk = vLane && j < n ? pk : 0.0f;
#pragma unroll
                    for (int i = 0; i < 8; i++) {
                        acc[h][i] = fmaf(pk, vv[i], acc[h][i]);
                    }
                }
            }
        }
        // the RPI lanes of each channel group, then the warps
#pragma unroll
        for (int h = 0; h < G; h++) {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                for (int off = LPR; off < 32; off <<= 1) {
                    acc[h][i] += __shfl_xor_sync(0xFFFFFFFFu, acc[h][i], off);
                }
            }
            if (lane == 0) {
                sM[warp * G + h] = m[h];
                sL[warp * G + h] = l[h];
            }
            if (lane < LPR) {
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    sAcc[(warp * G + h) * D + 8 * cg + i] = acc[h][i];
                }
            }
        }
        __syncthreads();
        combine_warps(sM, sL, sAcc, VW, G, D, gq * G, out, t, z, tokens, numHeads, splits, partAcc, partMl);
    }
    pdl_launch_next();
}

}  // namespace attn

// One kernel per cache dtype (the K/V loads are the inner loop); q and out dtypes are runtime codes.
#define ATTN_PAGED(NAME, CT)                                                                                       \
    extern "C" __global__ void __launch_bounds__(attn::WARPS * 32) NAME(View q, View kCache, View vCache,          \
            View out, const int* qStart, const int* seqLens, const int* blockTables, long long tableStride,        \
            int numSeqs, int tokens, int numHeads, int numKvHeads, int headSize, float scale, int window,          \
            float softCap, int blockSize, int maxBlocks, int numBlocks, int* err, int errCode) {                   \
        attn::paged<CT>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens,       \
                numHeads, numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks, err,     \
                errCode);                                                                                          \
    }

ATTN_PAGED(attn_paged_f32, DT_F32)
ATTN_PAGED(attn_paged_f16, DT_F16)
ATTN_PAGED(attn_paged_bf16, DT_BF16)

#define ATTN_FLASH(NAME, CT)                                                                                        \
    extern "C" __global__ void __launch_bounds__(attn::FT) NAME(View q, View kCache, View vCache, View out,         \
            const int* qStart, const int* seqLens, const int* blockTables, long long tableStride, int numSeqs,      \
            int tokens, int numHeads, int numKvHeads, int headSize, float scale, int window, float softCap,         \
            int blockSize, int maxBlocks, int numBlocks, int maxQueryLen, int maxSeqLen, int qTiles, int splits,    \
            int chunk, float* partAcc, float* partMl, int* err, int errCode) {                                      \
        attn::flash<CT>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens,        \
                numHeads, numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks,           \
                maxQueryLen, maxSeqLen, qTiles, splits, chunk, partAcc, partMl, err, errCode);                      \
    }

ATTN_FLASH(attn_flash_f32, DT_F32)
ATTN_FLASH(attn_flash_f16, DT_F16)
ATTN_FLASH(attn_flash_bf16, DT_BF16)

// Rows of out that belong to no sequence (before queryStartLoc[0] or from queryStartLoc[numSeqs] on)
// are zeros. One block per token.
extern "C" __global__ void attn_zero_padding(View out, const int* qStart, int numSeqs, int width) {
    int t = blockIdx.x;
    if (numSeqs > 0 && t >= qStart[0] && t < qStart[numSeqs]) {
        return;
    }
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        st_act(out, t, c, 0.0f);
    }
}

// Combines the key splits of attn_flash_*: out = sum_z acc_z e^(m_z - m) / sum_z l_z e^(m_z - m),
// m = max_z m_z. One block per (token, head); rows of no sequence are left to attn_zero_padding.
extern "C" __global__ void attn_merge(View out, const float* partAcc, const float* partMl, const int* qStart,
        int numSeqs, int tokens, int numHeads, int headSize, int splits) {
    pdl_begin();
    int t = blockIdx.x / numHeads, h = blockIdx.x % numHeads;
    if (numSeqs == 0 || t < qStart[0] || t >= qStart[numSeqs]) {
        return;
    }
    float mAll = -INFINITY;
    for (int z = 0; z < splits; z++) {
        mAll = fmaxf(mAll, partMl[2 * (((long long) z * tokens + t) * numHeads + h)]);
    }
    float lAll = 0.0f;
    for (int z = 0; z < splits; z++) {
        long long prow = ((long long) z * tokens + t) * numHeads + h;
        float mz = partMl[2 * prow];
        if (mz != -INFINITY) {
            lAll += partMl[2 * prow + 1] * expf(mz - mAll);
        }
    }
    for (int c = threadIdx.x; c < headSize; c += blockDim.x) {
        float o = 0.0f;
        for (int z = 0; z < splits; z++) {
            long long prow = ((long long) z * tokens + t) * numHeads + h;
            float mz = partMl[2 * prow];
            if (mz != -INFINITY) {
                o += partAcc[prow * headSize + c] * expf(mz - mAll);
            }
        }
        st_act(out, t, (long long) h * headSize + c, lAll > 0.0f ? o / lAll : 0.0f);
    }
}

// Decode form: one kernel per cache dtype and group size G (queries per KV head) it holds in registers.
#define ATTN_DECODE(NAME, CT, G)                                                                                   \
    extern "C" __global__ void __launch_bounds__(attn::DW * 32) NAME(View q, View kCache, View vCache, View out,    \
            const int* qStart, const int* seqLens, const int* blockTables, long long tableStride, int numSeqs,      \
            int tokens, int numHeads, int numKvHeads, int headSize, float scale, int window, float softCap,         \
            int blockSize, int maxBlocks, int numBlocks, int splits, int chunk, int vec, float* partAcc,            \
            float* partMl, int* err, int errCode) {                                                                 \
        pdl_begin();                                                                                                \
        attn::decode<CT, G>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs, tokens,    \
                numHeads, numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks, splits,   \
                chunk, vec, partAcc, partMl, err, errCode);                                                          \
    }
ATTN_DECODE(attn_decode_f32_g1, DT_F32, 1)
ATTN_DECODE(attn_decode_f32_g2, DT_F32, 2)
ATTN_DECODE(attn_decode_f32_g4, DT_F32, 4)
ATTN_DECODE(attn_decode_f32_g8, DT_F32, 8)
ATTN_DECODE(attn_decode_f16_g1, DT_F16, 1)
ATTN_DECODE(attn_decode_f16_g2, DT_F16, 2)
ATTN_DECODE(attn_decode_f16_g4, DT_F16, 4)
ATTN_DECODE(attn_decode_f16_g8, DT_F16, 8)
ATTN_DECODE(attn_decode_bf16_g1, DT_BF16, 1)
ATTN_DECODE(attn_decode_bf16_g2, DT_BF16, 2)
ATTN_DECODE(attn_decode_bf16_g4, DT_BF16, 4)
ATTN_DECODE(attn_decode_bf16_g8, DT_BF16, 8)

// Vector decode form: cache f16/bf16 x G x largest head size DM (AttentionKernels.decodeVec). MINB: blocks
// per SM the registers must allow (2 where G * DM <= 256 fits in 128 registers without notable spills;
// larger groups keep their accumulators in up to 255 registers, one block per SM).
#define ATTN_DECODE_VEC(NAME, CT, G, DM, MINB)                                                                           \
    extern "C" __global__ void __launch_bounds__(attn::VW * 32, MINB) NAME(View q, View kCache, View vCache, View out,    \
            const int* qStart, const int* seqLens, const int* blockTables, long long tableStride, int numSeqs,      \
            int tokens, int numHeads, int numKvHeads, int headSize, float scale, int window, float softCap,         \
            int blockSize, int maxBlocks, int numBlocks, int splits, int chunk, int kvGroup, float* partAcc,        \
            float* partMl, int* err, int errCode) {                                                                 \
        attn::decode_vec<CT, G, DM>(q, kCache, vCache, out, qStart, seqLens, blockTables, tableStride, numSeqs,   \
                tokens, numHeads, numKvHeads, headSize, scale, window, softCap, blockSize, maxBlocks, numBlocks,   \
                splits, chunk, kvGroup, partAcc, partMl, err, errCode);                                             \
    }
ATTN_DECODE_VEC(attn_decode_bf16_g1_d64, DT_BF16, 1, 64, 2)
ATTN_DECODE_VEC(attn_decode_bf16_g2_d64, DT_BF16, 2, 64, 2)
ATTN_DECODE_VEC(attn_decode_bf16_g4_d64, DT_BF16, 4, 64, 2)
ATTN_DECODE_VEC(attn_decode_bf16_g8_d64, DT_BF16, 8, 64, 1)
ATTN_DECODE_VEC(attn_decode_bf16_g1_d128, DT_BF16, 1, 128, 2)
ATTN_DECODE_VEC(attn_decode_bf16_g2_d128, DT_BF16, 2, 128, 2)
ATTN_DECODE_VEC(attn_decode_bf16_g4_d128, DT_BF16, 4, 128, 1)
ATTN_DECODE_VEC(attn_decode_bf16_g8_d128, DT_BF16, 8, 128, 1)
ATTN_DECODE_VEC(attn_decode_f16_g1_d64, DT_F16, 1, 64, 2)
ATTN_DECODE_VEC(attn_decode_f16_g2_d64, DT_F16, 2, 64, 2)
ATTN_DECODE_VEC(attn_decode_f16_g4_d64, DT_F16, 4, 64, 2)
ATTN_DECODE_VEC(attn_decode_f16_g8_d64, DT_F16, 8, 64, 1)
ATTN_DECODE_VEC(attn_decode_f16_g1_d128, DT_F16, 1, 128, 2)
ATTN_DECODE_VEC(attn_decode_f16_g2_d128, DT_F16, 2, 128, 2)
ATTN_DECODE_VEC(attn_decode_f16_g4_d128, DT_F16, 4, 128, 1)
ATTN_DECODE_VEC(attn_decode_f16_g8_d128, DT_F16, 8, 128, 1)
