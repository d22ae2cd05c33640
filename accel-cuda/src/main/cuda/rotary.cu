// Rotary position embedding, in place on q or k. See RotaryKernels.java.
#include "common.cuh"

namespace rotary {

// The rotary pairs of one head (channels base .. base + rotaryDim) of row t of x, the block's threads
// over the pairs: each calls pair(ia, a', ib, b') with a' = a·cos − b·sin and b' = b·cos + a·sin in
// f32 (not yet rounded). Neox pairs channel i with i + rd/2, GPT-J pairs 2i with 2i+1.
template <typename Pair>
__device__ __forceinline__ void rotate_head(const View& x, long long t, int base, const float* cs, int rotaryDim,
        int neox, Pair pair) {
    const int half = rotaryDim / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        int ia = neox ? base + i : base + 2 * i;
        int ib = neox ? base + i + half : base + 2 * i + 1;
        float c = cs[i], s = cs[half + i];
        float a = ld_act(x, t, ia), b = ld_act(x, t, ib);
        pair(ia, fmaf(a, c, -(b * s)), ib, fmaf(b, c, a * s));
    }
}

}  // namespace rotary

// q: [T, qHeads * headSize], k: [T, kHeads * headSize] (kHeads 0: no k); one block per (token, head)
// of q, then of k (one launch for both), threads over the rotaryDim/2 pairs (rotary::rotate_head). A
// position outside cosSin is reported and its token left alone.
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
    rotary::rotate_head(x, t, h * headSize, (const float*) at(cosSin, p, 0), rotaryDim, neox,
            [&](int ia, float a, int ib, float b) {
                st_act(x, t, ia, a);
                st_act(x, t, ib, b);
            });
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
    const long long blk = blockIdx.x, qBlocks = (long long) tokens * qHeads, kBlocks = (long long) tokens * kHeads;
    const int part = blk < qBlocks ? 0 : blk < qBlocks + kBlocks ? 1 : 2;  // q, k, v
    const int heads = part == 0 ? qHeads : kHeads;
    const long long i0 = blk - (part == 0 ? 0 : part == 1 ? qBlocks : qBlocks + kBlocks);
    const long long t = i0 / heads;
    const int h = i0 % heads, base = h * headSize;
    // The position's cos/sin row into L2 (a hint), by the token's first block only: the other blocks of
    // the token read it after the wait. Every block doing it delayed the later waves of a large batch's
    // grid (batch 64: +3 µs per launch on an H200).
    if (part == 0 && h == 0 && 32 * (int) threadIdx.x < rotaryDim) {
        const int p = positions[t];
        if (p >= 0 && p < maxPositions) {
            prefetch_l2(at(cosSin, p, 32 * threadIdx.x));
        }
    }
    pdl_begin();
    // the position with the slot, one round trip for both (read after the slots' barrier below, it was a
    // second one on the k blocks' path, and the k blocks end the launch)
    const int p = positions[t];
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
            copy_cols(vCache, slot, v, t, base, base + headSize);
        }
        return;
    }
    const View x = part == 0 ? q : k;
    const bool rotate = p >= 0 && p < maxPositions;
    if (!rotate && threadIdx.x == 0 && h == 0 && part == 0) {
        report_error(err, errCode, (int) t, p, maxPositions);
    }
    if (rotate) {
        rotary::rotate_head(x, t, base, (const float*) at(cosSin, p, 0), rotaryDim, neox,
                [&](int ia, float a, int ib, float b) {
                    const float ra = round_act(x.dt, a), rb = round_act(x.dt, b);  // as stored in x
                    st_act(x, t, ia, ra);
                    st_act(x, t, ib, rb);
                    if (slot != -1) {
                        st_act(kCache, slot, ia, ra);
                        st_act(kCache, slot, ib, rb);
                    }
                });
    }
    if (slot != -1) {  // the channels not rotated: past rotaryDim, or all of them at a bad position
        copy_cols(kCache, slot, k, t, base + (rotate ? rotaryDim : 0), base + headSize);
    }
}
