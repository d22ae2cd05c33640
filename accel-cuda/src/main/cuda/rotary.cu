// Rotary position embedding, in place on q or k. See RotaryKernels.java.
#include "common.cuh"

// q: [T, qHeads * headSize], k: [T, kHeads * headSize] (kHeads 0: no k); one block per (token, head)
// of q, then of k (one launch for both), threads over the rotaryDim/2 pairs. Neox pairs channel i
// with i + rd/2, GPT-J pairs 2i with 2i+1. A position outside cosSin is reported and its token left
// alone.
extern "C" __global__ void rot_apply(const int* positions, View q, View k, View cosSin, int tokens, int qHeads,
        int kHeads, int headSize, int rotaryDim, int neox, int maxPositions, int* err, int errCode) {
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
