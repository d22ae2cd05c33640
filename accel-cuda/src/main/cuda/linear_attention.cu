// MiniMax-Text-01 lightning attention (LinearAttention) over varlen batches, prefill and decode, as
// its decode recurrence with the [D, D] state in registers. See LinearAttentionKernels.java; the CPU
// reference is LinearAttentionKernel.java (same per-element operations: no fused multiply-add, λ in
// f64; only o's sum over i is split into ROW_GROUPS partial sums).
#include "common.cuh"

namespace linear_attention {

constexpr int COLS = 32;        // state columns j per block: one per lane
constexpr int ROW_GROUPS = 8;   // warps; warp w holds rows i = w, w + 8, ...
constexpr int THREADS = COLS * ROW_GROUPS;
constexpr int MAX_D = 256;      // LinearAttentionKernels.MAX_HEAD_SIZE
constexpr int PER_THREAD = MAX_D / ROW_GROUPS;

struct Args {
    View q, k, v, slopes, states, out;
    const int *qsl, *idx, *hasInit;
    int heads, d;
};

// Block (sequence b, head h, 32 columns): thread (w, lane) holds S[i, j] for j = blockIdx.z·32 + lane
// and i = w + 8r. Per token: S = λ·S + k[i]·v[j]; o[j] = Σ_i q[i]·S[i, j] (each warp's partial sum in
// shared memory, added in warp order by warp 0). q and k rows go through shared memory.
// DT: the dtype of q, k, v (DT_ANY: each read from its view).
template <int DT>
__device__ void scan(const Args& a, const int* ok) {
    __shared__ float qs[MAX_D], ks[MAX_D], part[ROW_GROUPS][COLS];
    if (*ok == 0) {
        return;  // the batch failed state_batch_check: touch nothing
    }
    StateSeq sq = state_seq(a.qsl, a.idx, a.hasInit, blockIdx.x);
    if (sq.slot < 0) {
        return;  // padding: outputs and states untouched
    }
    int h = blockIdx.y, w = threadIdx.x / COLS, lane = threadIdx.x % COLS;
    int j = blockIdx.z * COLS + lane;
    bool live = j < a.d;
    long long col0 = (long long) h * a.d;
    long long row0 = ((long long) sq.slot * a.heads + h) * a.d;  // in the [S·H·D, D] view of the pool
    float s[PER_THREAD];
#pragma unroll
    for (int r = 0; r < PER_THREAD; r++) {
        int i = w + ROW_GROUPS * r;
        s[r] = sq.init && live && i < a.d ? ((const float*) a.states.p)[(row0 + i) * a.states.stride + j] : 0.0f;
    }
    float lambda = (float) exp(-(double) ld_act(a.slopes, 0, h));
    for (int t = sq.start; t < sq.end; t++) {
        for (int i = threadIdx.x; i < a.d; i += THREADS) {
            qs[i] = ldt<DT>(a.q, t, col0 + i);
            ks[i] = ldt<DT>(a.k, t, col0 + i);
        }
        float vj = live ? ldt<DT>(a.v, t, col0 + j) : 0.0f;
        __syncthreads();
        float acc = 0.0f;
#pragma unroll
        for (int r = 0; r < PER_THREAD; r++) {
            int i = w + ROW_GROUPS * r;
            if (i < a.d) {
                s[r] = __fadd_rn(__fmul_rn(lambda, s[r]), __fmul_rn(ks[i], vj));
                acc = __fadd_rn(acc, __fmul_rn(qs[i], s[r]));
            }
        }
        part[w][lane] = acc;
        __syncthreads();
        if (w == 0 && live) {
            float o = part[0][lane];
#pragma unroll
            for (int g = 1; g < ROW_GROUPS; g++) {
                o = __fadd_rn(o, part[g][lane]);
            }
            st_act(a.out, t, col0 + j, o);
        }
        // no third barrier: every thread is past its reads of qs/ks (second barrier) when the next
        // token overwrites them, and warp 0 reads part before it reaches the next token's first one
    }
    if (live) {
#pragma unroll
        for (int r = 0; r < PER_THREAD; r++) {
            int i = w + ROW_GROUPS * r;
            if (i < a.d) {
                ((float*) a.states.p)[(row0 + i) * a.states.stride + j] = s[r];
            }
        }
    }
}

}  // namespace linear_attention

// ok[0] = whether the batch is valid (state_batch_check); one block.
extern "C" __global__ void linear_attention_check_batch(const int* qsl, const int* idx, int numSeqs, int tokens,
        int slots, int* ok, int* err, int errCode) {
    state_batch_check(qsl, idx, numSeqs, tokens, slots, ok, err, errCode);
}

// q, k, v, out: [T, H·D]; slopes: f32 [H]; states: f32 [S·H·D, D]. grid (numSeqs, H, ceil(D / 32)),
// 256 threads. dtCode: the dtype of q, k, v when they agree, else -1.
extern "C" __global__ void __launch_bounds__(linear_attention::THREADS) linear_attention_scan(View q, View k, View v,
        View slopes, View states, View out, const int* qsl, const int* idx, const int* hasInit, int heads, int d,
        int dtCode, const int* ok) {
    linear_attention::Args a{q, k, v, slopes, states, out, qsl, idx, hasInit, heads, d};
    switch (dtCode) {
        case DT_F32: linear_attention::scan<DT_F32>(a, ok); break;
        case DT_BF16: linear_attention::scan<DT_BF16>(a, ok); break;
        case DT_F16: linear_attention::scan<DT_F16>(a, ok); break;
        default: linear_attention::scan<DT_ANY>(a, ok); break;
    }
}
