// Mamba-2 SSD: the varlen scan (SsdChunkScan) and its one-token decode form (SsdStateUpdate), one
// kernel for both, state in registers. See SsdKernels.java; the CPU reference is SsdCore.java (same
// per-element operations and roundings: no fused multiply-add on the state, exp in f64).
#include "common.cuh"

namespace ssd {

constexpr int WARPS = 4;                 // head channels (p) per block: one warp each
constexpr int THREADS = WARPS * 32;
constexpr int PER_LANE = 8;              // states a lane holds: N <= 32 * 8 (SsdKernels.MAX_STATE)

// One launch's arguments (ssd_scan's parameters).
struct Args {
    View x, dt, A, B, C, dSkip, dtBias;
    int softplus;
    float dtMin, dtMax;
    View states, out;
    const int *qsl, *idx, *hasInit;
    int heads, p, n, groups;
};

// Δ of head h from its raw dt value: bias, softplus (PyTorch's threshold 20, f64 as ScanIo.softplus),
// clamp to [dtMin, dtMax] (SsdCore.delta).
__device__ __forceinline__ float delta(const Args& a, float raw, int h) {
    float v = a.dtBias.p != nullptr ? __fadd_rn(raw, ld_act(a.dtBias, 0, h)) : raw;
    if (a.softplus) {
        v = v > 20.0f ? v : (float) log1p(exp((double) v));
    }
    return fminf(fmaxf(v, a.dtMin), a.dtMax);
}

// Block (sequence b, head h, channel block): warp w owns channel p = blockIdx.z * WARPS + w, lane l
// holds states n = l, l + 32, ... of row (h, p) in registers and walks the sequence's tokens in order:
//   s = dA·s + (Δ·B[n])·x;  y = Σ_n C[n]·s + D·x     (Σ_n as a warp reduction)
// DT: the dtype of x, dt, B, C (DT_ANY: each read from its view).
template <int DT>
__device__ void scan(const Args& a, const int* ok) {
    if (*ok == 0) {
        return;  // the batch failed state_batch_check: touch nothing
    }
    StateSeq sq = state_seq(a.qsl, a.idx, a.hasInit, blockIdx.x);
    int h = blockIdx.y;
    int pp = blockIdx.z * WARPS + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (sq.slot < 0 || pp >= a.p) {
        return;  // padding: outputs and states untouched
    }
    int g = h / (a.heads / a.groups);
    long long bc0 = (long long) g * a.n;
    long long col = (long long) h * a.p + pp;
    long long row = ((long long) sq.slot * a.heads + h) * a.p + pp;  // in the [S·H·P, N] view of the pool
    float s[PER_LANE];
#pragma unroll
    for (int i = 0; i < PER_LANE; i++) {
        int n = lane + 32 * i;
        s[i] = sq.init && n < a.n ? ((const float*) a.states.p)[row * a.states.stride + n] : 0.0f;
    }
    float aH = ld_act(a.A, 0, h);
    float dH = a.dSkip.p != nullptr ? ld_act(a.dSkip, 0, h) : 0.0f;
    for (int t = sq.start; t < sq.end; t++) {
        float d = delta(a, ldt<DT>(a.dt, t, h), h);
        float dA = (float) exp((double) __fmul_rn(d, aH));
        float xp = ldt<DT>(a.x, t, col);
        float acc = 0.0f;
#pragma unroll
        for (int i = 0; i < PER_LANE; i++) {
            int n = lane + 32 * i;
            if (n < a.n) {
                float db = __fmul_rn(d, ldt<DT>(a.B, t, bc0 + n));
                s[i] = __fadd_rn(__fmul_rn(dA, s[i]), __fmul_rn(db, xp));
                acc = __fadd_rn(acc, __fmul_rn(ldt<DT>(a.C, t, bc0 + n), s[i]));
            }
        }
        acc = warp_sum(acc);
        if (lane == 0) {
            if (a.dSkip.p != nullptr) {
                acc = __fadd_rn(acc, __fmul_rn(dH, xp));
            }
            st_act(a.out, t, col, acc);
        }
    }
#pragma unroll
    for (int i = 0; i < PER_LANE; i++) {
        int n = lane + 32 * i;
        if (n < a.n) {
            ((float*) a.states.p)[row * a.states.stride + n] = s[i];
        }
    }
}

}  // namespace ssd

// ok[0] = whether the batch is valid (state_batch_check); one block.
extern "C" __global__ void ssd_check_batch(const int* qsl, const int* idx, int numSeqs, int tokens, int slots, int* ok,
        int* err, int errCode) {
    state_batch_check(qsl, idx, numSeqs, tokens, slots, ok, err, errCode);
}

// x, out: [T, H·P]; dt: [T, H]; A: f32 [H]; B, C: [T, G·N]; dSkip, dtBias: f32 [H] or empty;
// states: f32 [S·H·P, N]. grid (numSeqs, H, ceil(P / 4)), 128 threads; qsl = nullptr for a decode
// batch (row b = sequence b). dtCode: the dtype of x, dt, B, C when they agree, else -1.
extern "C" __global__ void __launch_bounds__(ssd::THREADS) ssd_scan(View x, View dt, View A, View B, View C,
        View dSkip, View dtBias, int softplusOn, float dtMin, float dtMax, View states, View out, const int* qsl,
        const int* idx, const int* hasInit, int heads, int p, int n, int groups, int dtCode, const int* ok) {
    ssd::Args a{x, dt, A, B, C, dSkip, dtBias, softplusOn, dtMin, dtMax, states, out, qsl, idx, hasInit, heads, p, n,
            groups};
    switch (dtCode) {
        case DT_F32: ssd::scan<DT_F32>(a, ok); break;
        case DT_BF16: ssd::scan<DT_BF16>(a, ok); break;
        case DT_F16: ssd::scan<DT_F16>(a, ok); break;
        default: ssd::scan<DT_ANY>(a, ok); break;
    }
}
