// Depthwise causal conv1d with per-sequence conv state over varlen batches: CausalConv1d (+ SiLU),
// its one-token decode form CausalConv1dUpdate, and LFM2's ShortConv (B*x in, *C out). See
// ConvKernels.java; the CPU reference is ConvCore.java (same fma chain, tap order, roundings).
#include "common.cuh"

namespace conv {

constexpr int MAX_K = 8;  // widest kernel held in registers (ConvKernels.MAX_KERNEL)
constexpr int TILE = 8;   // rows whose inputs a thread loads at once
enum Mode { PLAIN = 0, SILU = 1, SHORT = 2 };

// The conv input of token row t, channel c: x[t, c], or for ShortConv round(B[t, c] * x[t, c]) with
// bcx = [B | C | x] (3 * channels columns). DT: x's dtype (DT_ANY: read it from the view).
template <int MODE, int DT>
__device__ __forceinline__ float input(const View& x, long long t, int c, int channels) {
    if (MODE == SHORT) {
        return round_act(DT == DT_ANY ? x.dt : DT, __fmul_rn(ldt<DT>(x, t, c), ldt<DT>(x, t, 2LL * channels + c)));
    }
    return ldt<DT>(x, t, c);
}

// One launch's arguments (conv_causal's and conv_state's parameters).
struct Args {
    View x, weight, bias, states, out;
    const int *qsl, *idx, *hasInit;
    int numSeqs;
    long long tokens;
    int channels, k, chunk;
};

// Row of state slot s, tap row j (0 = oldest) in the [S * (K-1), C] view of convStates.
__device__ __forceinline__ long long state_row(int slot, int j, int k) {
    return (long long) slot * (k - 1) + j;
}

// e[p] for p < K-1 of a sequence: its initial state row p, or 0 without initial state.
__device__ __forceinline__ float initial(const View& states, const StateSeq& s, int p, int c, int k) {
    return s.init ? ld_act(states, state_row(s.slot, p, k), c) : 0.0f;
}

// Rows [t, stop) of running sequence s for channel c, each out[t, c] = bias + taps (+ activation or
// gate). The register window win[MAX_K-1] = the current row's input, win[j] the one MAX_K-1-j rows
// earlier; taps are aligned to its end (w[MAX_K-K+i] = weight[c, i]) so every index is a constant.
// Inputs are loaded TILE rows at a time, all in flight together. writeState: s lies wholly in
// [t, stop), so this thread also writes its final state (e's last K-1 rows, read before written).
template <int MODE, int DT>
__device__ __forceinline__ void segment(const Args& a, const StateSeq& s, long long t, long long stop, int c,
        const float (&w)[MAX_K], float b0, bool writeState) {
    const View &x = a.x, &states = a.states, &out = a.out;
    int channels = a.channels, k = a.k;
    float win[MAX_K];
#pragma unroll
    for (int m = 1; m < MAX_K; m++) {  // e at rows t-1 .. t-(K-1): inputs, or state rows before the start
        long long p = t - m;
        win[MAX_K - 1 - m] = m >= k ? 0.0f
                : p >= s.start ? input<MODE, DT>(x, p, c, channels)
                               : initial(states, s, (int) (p - s.start) + k - 1, c, k);
    }
    for (long long r0 = t; r0 < stop; r0 += TILE) {
        float in[TILE], gate[TILE];
#pragma unroll
        for (int r = 0; r < TILE; r++) {
            if (r0 + r < stop) {
                in[r] = input<MODE, DT>(x, r0 + r, c, channels);
                gate[r] = MODE == SHORT ? ldt<DT>(x, r0 + r, (long long) channels + c) : 0.0f;
            }
        }
#pragma unroll
        for (int r = 0; r < TILE; r++) {
            if (r0 + r < stop) {
                win[MAX_K - 1] = in[r];
                float acc = b0;
#pragma unroll
                for (int j = 0; j < MAX_K; j++) {
                    if (j >= MAX_K - k) {
                        acc = fmaf(w[j], win[j], acc);  // tap order, one fma each (ConvCore)
                    }
                }
                if (MODE == SILU) {
                    acc = silu_f32(acc);
                } else if (MODE == SHORT) {
                    acc = __fmul_rn(gate[r], round_act(DT == DT_ANY ? x.dt : DT, acc));
                }
                st_act(out, r0 + r, c, acc);
#pragma unroll
                for (int j = 0; j < MAX_K - 1; j++) {
                    win[j] = win[j + 1];
                }
            }
        }
    }
    if (writeState) {  // e's last K-1 rows: win[MAX_K-K .. MAX_K-2] after the last shift
#pragma unroll
        for (int j = 0; j < MAX_K - 1; j++) {
            if (j >= MAX_K - k) {
                st_act(states, state_row(s.slot, j - (MAX_K - k), k), c, win[j]);
            }
        }
    }
}

// One thread per (chunk of `chunk` token rows, channel), so long sequences spread over many blocks
// and a block's rows may hold several (short) sequences: the thread finds the sequence of its first
// row, then walks the following ones. A sequence that lies wholly inside the chunk gets its final
// state here; the others (and empty sequences) get theirs from conv_state, launched after this
// kernel because other chunks still read their initial state.
template <int MODE, int DT>
__device__ void causal(const Args& a, const int* ok) {
    int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (!*ok || c >= a.channels) {
        return;
    }
    long long t0 = (long long) blockIdx.x * a.chunk, t1 = min(t0 + a.chunk, a.tokens), t = t0;
    int b = state_seq_of(a.qsl, a.numSeqs, t0);
    if (b < 0) {  // rows before the first sequence (or after the last) belong to none
        if (a.qsl == nullptr || a.numSeqs == 0 || t0 >= a.qsl[a.numSeqs]) {
            return;
        }
        b = 0;
        t = a.qsl[0];
    }
    float w[MAX_K];
#pragma unroll
    for (int j = 0; j < MAX_K; j++) {
        w[j] = j >= MAX_K - a.k ? ld_act(a.weight, c, j - (MAX_K - a.k)) : 0.0f;
    }
    float b0 = a.bias.p != nullptr ? ld_act(a.bias, 0, c) : 0.0f;
    for (; t < t1 && b < a.numSeqs; b++) {
        StateSeq s = state_seq(a.qsl, a.idx, a.hasInit, b);
        if (s.end <= t) {
            continue;  // empty
        }
        long long stop = min((long long) s.end, t1);
        if (s.slot >= 0) {  // padding rows stay untouched
            segment<MODE, DT>(a, s, t, stop, c, w, b0, s.start >= t0 && s.end <= t1);
        }
        t = stop;
    }
}

template <int DT>
__device__ __forceinline__ void causal_mode(const Args& a, int mode, const int* ok) {
    switch (mode) {
        case SILU: causal<SILU, DT>(a, ok); break;
        case SHORT: causal<SHORT, DT>(a, ok); break;
        default: causal<PLAIN, DT>(a, ok); break;
    }
}

// One thread per (sequence, channel): the final state of every running sequence that spans more
// than one chunk of `causal`, or has no tokens: e's last K-1 rows, e = [state (or zeros); inputs].
// Reads every row it needs before writing, so the in-place update is safe.
template <int MODE>
__device__ void state(const Args& a, const int* ok) {
    int c = blockIdx.y * blockDim.x + threadIdx.x, k = a.k;
    StateSeq s = state_seq(a.qsl, a.idx, a.hasInit, blockIdx.x);
    if (!*ok || c >= a.channels || s.slot < 0) {
        return;
    }
    int len = s.end - s.start;
    if (len > 0 && s.start / a.chunk == (s.end - 1) / a.chunk) {
        return;  // written by causal
    }
    float e[MAX_K - 1];
#pragma unroll
    for (int j = 0; j < MAX_K - 1; j++) {
        if (j < k - 1) {
            long long p = (long long) len + j;  // e index of new state row j
            e[j] = p < k - 1 ? initial(a.states, s, (int) p, c, k)
                             : input<MODE, DT_ANY>(a.x, s.start + p - (k - 1), c, a.channels);
        }
    }
#pragma unroll
    for (int j = 0; j < MAX_K - 1; j++) {
        if (j < k - 1) {
            st_act(a.states, state_row(s.slot, j, k), c, e[j]);
        }
    }
}

}  // namespace conv

// ok[0] = whether the batch is valid (state_batch_check); one block.
extern "C" __global__ void conv_check_batch(const int* qsl, const int* idx, int numSeqs, int tokens, int slots, int* ok,
        int* err, int errCode) {
    state_batch_check(qsl, idx, numSeqs, tokens, slots, ok, err, errCode);
}

// x, out: [T, C] (ShortConv: x = bcx [T, 3C]); weight: [C, K]; bias: [C] or empty; states: [S*(K-1), C].
// grid (ceil(T / chunk), ceil(C / blockDim.x)); qsl = nullptr for a decode batch. mode: conv::Mode.
extern "C" __global__ void conv_causal(View x, View weight, View bias, View states, View out, const int* qsl,
        const int* idx, const int* hasInit, int numSeqs, long long tokens, int channels, int k, int chunk, int mode,
        const int* ok) {
    conv::Args a{x, weight, bias, states, out, qsl, idx, hasInit, numSeqs, tokens, channels, k, chunk};
    switch (x.dt) {  // x is F32, BF16 or F16 (ConvKernels.supports)
        case DT_F32: conv::causal_mode<DT_F32>(a, mode, ok); break;
        case DT_BF16: conv::causal_mode<DT_BF16>(a, mode, ok); break;
        default: conv::causal_mode<DT_F16>(a, mode, ok); break;
    }
}

// grid (numSeqs, ceil(C / blockDim.x)); the arguments of conv_causal that it needs.
extern "C" __global__ void conv_state(View x, View states, const int* qsl, const int* idx, const int* hasInit,
        int channels, int k, int chunk, int mode, const int* ok) {
    conv::Args a{x, View{}, View{}, states, View{}, qsl, idx, hasInit, (int) gridDim.x, 0, channels, k, chunk};
    if (mode == conv::SHORT) {
        conv::state<conv::SHORT>(a, ok);
    } else {
        conv::state<conv::PLAIN>(a, ok);
    }
}
