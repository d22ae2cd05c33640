// Rotary position embedding, in place on q or k. See RotaryKernels.java.
#include "common.cuh"

// q: [T, qHeads * headSize], k: [T, kHeads * headSize] (kHeads 0: no k); one block per (token, head)
// of q, then of k (one launch for both), threads over the rotaryDim/2 pairs. Neox pairs channel i
// with i + rd/2, GPT-J pairs 2i with 2i+1. A position outside cosSin is reported and its token left
// alone.
extern "C" __global__ void rot_apply(const int* positions, View q, View k, View cosSin, int tokens, int qHeads,
        int kHeads, int headSize, int rotaryDim, int neox, int maxPositions, int* err, int errCode) {
    pdl_begin();
    long long blk = blockIdx.x, qBlocks = (long long) tokens * qHeads;
    bool isQ = blk < qBlocks;
    View x = isQ ? q : k;
    int heads = isQ ? qHeads : kHeads;
    long long i0 = isQ ? blk : blk - qBlocks;
    long long t = i0 / heads;
    int h = i0 % heads;
    int p = positions[t];
    if (p < 0 || p >= maxPositions) {
        if (threadIdx.x == 0 && h == 0 && isQ) {
            report_error(err, errCode, (int) t, p, maxPositions);
        }
        return;
    }
    int half = rotaryDim / 2;
    const float* cs = (const float*) at(cosSin, p, 0);
    int base = h * headSize;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        int ia = neox ? base + i : base + 2 * i;
        int ib = neox ? base + i + half : base + 2 * i + 1;
        float c = cs[i], s = cs[half + i];
        float a = ld(x, t, ia), b = ld(x, t, ib);
        st(x, t, ia, fmaf(a, c, -(b * s)));
        st(x, t, ib, fmaf(b, c, a * s));
    }
}

// rot_apply, then attn_kv_write of the rotated k and of v, in one launch (RotaryKernels.runWithCacheWrite;
// CudaBackend holds a rotary back for the cache write of its k). Blocks [0, T·Hq): q heads, as
// rot_apply; [T·Hq, T·(Hq + Hk)): k heads, rotated in place as rot_apply and the head's headSize
// channels stored into kCache at the token's slot as attn_kv_write would store the rotated k;
// [T·(Hq + Hk), T·(Hq + 2 Hk)): v heads into vCache. Slots follow attn_kv_write: -1 = skip, outside
// [-1, capacity) = reported (kvErrCode) and skipped, a slot a later token also maps to = skipped.
// A position outside cosSin is reported (errCode) and its token left unrotated, and that k is
// stored as it is. caches: [capacity, Hk · headSize] rows (contiguous).
extern "C" __global__ void rot_apply_kv(const int* positions, View q, View k, View cosSin, int tokens, int qHeads,
        int kHeads, int headSize, int rotaryDim, int neox, int maxPositions, int* err, int errCode, View v,
        View kCache, View vCache, const int* slots, long long capacity, int kvErrCode) {
    pdl_begin();
    const long long blk = blockIdx.x, qBlocks = (long long) tokens * qHeads, kBlocks = (long long) tokens * kHeads;
    const int part = blk < qBlocks ? 0 : blk < qBlocks + kBlocks ? 1 : 2;  // q, k, v
    const int heads = part == 0 ? qHeads : kHeads;
    const long long i0 = blk - (part == 0 ? 0 : part == 1 ? qBlocks : qBlocks + kBlocks);
    const long long t = i0 / heads;
    const int h = i0 % heads, base = h * headSize;
    int slot = -1;
    if (part > 0) {
        slot = slots[t];
        if (slot < -1 || slot >= capacity) {
            if (threadIdx.x == 0 && h == 0 && part == 1) {
                report_error(err, kvErrCode, (int) t, slot, (int) capacity);
            }
            slot = -1;
        }
        int later = 0;
        for (int u = (int) t + 1 + threadIdx.x; u < tokens && slot != -1; u += blockDim.x) {
            later |= slots[u] == slot;
        }
        if (__syncthreads_or(later)) {
            slot = -1;
        }
    }
    if (part == 2) {
        if (slot != -1) {
            const bool same = v.dt == vCache.dt;
            const int vs = dt_size(v.dt);
            for (int j = base + threadIdx.x; j < base + headSize; j += blockDim.x) {
                if (same) {
                    copy_elem(at(vCache, slot, j), at(v, t, j), vs);
                } else {
                    st(vCache, slot, j, ld(v, t, j));
                }
            }
        }
        return;
    }
    const View x = part == 0 ? q : k;
    const int p = positions[t];
    const bool rotate = p >= 0 && p < maxPositions;
    if (!rotate && threadIdx.x == 0 && h == 0 && part == 0) {
        report_error(err, errCode, (int) t, p, maxPositions);
    }
    const int half = rotaryDim / 2;
    if (rotate) {
        const float* cs = (const float*) at(cosSin, p, 0);
        for (int i = threadIdx.x; i < half; i += blockDim.x) {
            int ia = neox ? base + i : base + 2 * i;
            int ib = neox ? base + i + half : base + 2 * i + 1;
            float c = cs[i], s = cs[half + i];
            float a = ld(x, t, ia), b = ld(x, t, ib);
            float ra = round_to(x.dt, fmaf(a, c, -(b * s))), rb = round_to(x.dt, fmaf(b, c, a * s));
            st(x, t, ia, ra);
            st(x, t, ib, rb);
            if (slot != -1) {
                st(kCache, slot, ia, ra);
                st(kCache, slot, ib, rb);
            }
        }
    }
    if (slot != -1) {  // the channels not rotated: past rotaryDim, or all of them at a bad position
        const bool same = k.dt == kCache.dt;
        const int ks = dt_size(k.dt);
        for (int j = base + (rotate ? rotaryDim : 0) + threadIdx.x; j < base + headSize; j += blockDim.x) {
            if (same) {
                copy_elem(at(kCache, slot, j), at(k, t, j), ks);
            } else {
                st(kCache, slot, j, ld(k, t, j));
            }
        }
    }
}
