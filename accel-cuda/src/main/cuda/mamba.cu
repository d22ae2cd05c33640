// Mamba-1 selective scan over varlen batches (SelectiveScan) and its one-token decode form
// (SelectiveStateUpdate), state in registers. See MambaKernels.java; the CPU reference is
// ScanSelective.java (same per-element operations and roundings).
#include "common.cuh"

namespace mamba {

constexpr int THREADS = 128;
constexpr int PER_LANE = 4;  // states a lane holds: N <= 32 lanes * 4 (MambaKernels.MAX_STATE)
constexpr int MAX_N = 32 * PER_LANE;

// softplus(v) = log(1 + e^v), v itself above 20 (ScanIo.softplus, PyTorch's threshold); f32 as
// silu_f32 (common.cuh says why).
__device__ __forceinline__ float softplus(float v) {
    return v > 20.0f ? v : log1pf(expf(v));
}

// One launch's arguments (mamba_scan_*'s parameters).
struct Args {
    View u, delta, A, B, C, dSkip, z, deltaBias;
    int softplus;
    View states, out;
    const int *qsl, *idx, *hasInit;
    int d, n, lanes;
};

// The inputs of TILE tokens, loaded while the previous TILE are computed: u, delta, z of this
// thread's channel (the lanes of a group load the same addresses), and this thread's share of the
// block's B and C rows, which go to shared memory: thread i loads state i (THREADS == MAX_N) of
// every row of the tile, element e = which (0 = B, 1 = C) * TILE + row.
static_assert(THREADS == MAX_N, "one thread per state index of a B/C row");

template <int TILE>
struct Tile {
    static constexpr int BC = 2 * TILE;
    float u[TILE], delta[TILE], z[TILE], bc[BC];
};

// DT: the dtype of u, delta, z, B and C (DT_ANY: each read from its view).
template <int DT, int TILE>
__device__ __forceinline__ void fetch(Tile<TILE>& f, const Args& a, long long t0, int cnt, int dd, bool live) {
#pragma unroll
    for (int r = 0; r < TILE; r++) {
        if (live && r < cnt) {
            f.u[r] = ldt<DT>(a.u, t0 + r, dd);
            f.delta[r] = ldt<DT>(a.delta, t0 + r, dd);
            f.z[r] = a.z.p != nullptr ? ldt<DT>(a.z, t0 + r, dd) : 0.0f;
        }
    }
#pragma unroll
    for (int e = 0; e < Tile<TILE>::BC; e++) {
        int r = e % TILE;
        if ((int) threadIdx.x < a.n && r < cnt) {
            f.bc[e] = ldt<DT>(e < TILE ? a.B : a.C, t0 + r, threadIdx.x);
        }
    }
}

// Block (sequence b, channel block): `lanes` (a power of two <= 32) consecutive threads share channel
// d, lane l holding states n = l, l + lanes, ... in registers for the whole sequence; y's sum over n
// is a shuffle within the group. Tokens run in order (the recurrence is sequential in t), TILE at a
// time: the next tile's inputs are in flight while this one is computed, B and C rows go through
// shared memory (every channel of the block uses them), and δ and the decays of a tile do not depend
// on h, so only the update of h is a serial chain. Per token (ScanSelective):
//   δ = delta + deltaBias, softplus(δ) if asked;  h = exp(δ·A)·h + (δ·B)·u  (separately rounded f32 ops)
//   y = Σ_n h·C + Dskip·u;  y·silu(z) if z;  out = y rounded once.
// exp, softplus and SiLU are f32 (within a few ulp of the CPU scalar form's f64, as its SIMD form;
// silu_f32 in common.cuh says why). A, Dskip, Δ bias and the state are F32 (the records require it).
// smem: [2][TILE][MAX_N] floats (the kernel's, shared by its instantiations).
template <int DT, int TILE>
__device__ __forceinline__ void scan(const Args& a, const int* ok, float* smem) {
    float(*sB)[MAX_N] = reinterpret_cast<float(*)[MAX_N]>(smem);
    float(*sC)[MAX_N] = reinterpret_cast<float(*)[MAX_N]>(smem + TILE * MAX_N);
    if (!*ok) {
        return;
    }
    StateSeq s = state_seq(a.qsl, a.idx, a.hasInit, blockIdx.x);
    if (s.slot < 0) {
        return;  // padding
    }
    int lanes = a.lanes, n = a.n;
    int lane = threadIdx.x & (lanes - 1);
    int dd = blockIdx.y * (blockDim.x / lanes) + threadIdx.x / lanes;
    bool live = dd < a.d;  // dead threads still join the shuffles, barriers and B/C loads
    float h[PER_LANE], A[PER_LANE];
    long long stateRow = (long long) s.slot * a.d + dd;
#pragma unroll
    for (int i = 0; i < PER_LANE; i++) {
        int ni = lane + i * lanes;
        bool on = live && ni < n;
        A[i] = on ? ldt<DT_F32>(a.A, dd, ni) : 0.0f;
        h[i] = on && s.init ? ldt<DT_F32>(a.states, stateRow, ni) : 0.0f;
    }
    float bias = live && a.deltaBias.p != nullptr ? ldt<DT_F32>(a.deltaBias, 0, dd) : 0.0f;
    float skip = live && a.dSkip.p != nullptr ? ldt<DT_F32>(a.dSkip, 0, dd) : 0.0f;
    Tile<TILE> next{};
    if (s.start < s.end) {
        fetch<DT, TILE>(next, a, s.start, min(TILE, s.end - s.start), dd, live);
    }
    for (long long t0 = s.start; t0 < s.end; t0 += TILE) {
        int cnt = (int) min((long long) TILE, s.end - t0);
        Tile<TILE> cur = next;
        __syncthreads();  // the previous tile's sB/sC reads are done
#pragma unroll
        for (int e = 0; e < Tile<TILE>::BC; e++) {
            int r = e % TILE;
            if ((int) threadIdx.x < n && r < cnt) {
                (e < TILE ? sB : sC)[r][threadIdx.x] = cur.bc[e];
            }
        }
        __syncthreads();
        if (t0 + TILE < s.end) {
            fetch<DT, TILE>(next, a, t0 + TILE, (int) min((long long) TILE, s.end - t0 - TILE), dd, live);
        }
        float dt[TILE], acc[TILE];
#pragma unroll
        for (int r = 0; r < TILE; r++) {
            dt[r] = __fadd_rn(cur.delta[r], bias);
            if (a.softplus && r < cnt) {
                dt[r] = softplus(dt[r]);
            }
            acc[r] = 0.0f;
        }
#pragma unroll
        for (int r = 0; r < TILE; r++) {
#pragma unroll
            for (int i = 0; i < PER_LANE; i++) {
                int ni = lane + i * lanes;
                if (r < cnt && live && ni < n) {
                    float decay = expf(__fmul_rn(dt[r], A[i]));
                    h[i] = __fadd_rn(__fmul_rn(decay, h[i]), __fmul_rn(__fmul_rn(dt[r], sB[r][ni]), cur.u[r]));
                    acc[r] = fmaf(h[i], sC[r][ni], acc[r]);
                }
            }
        }
#pragma unroll
        for (int r = 0; r < TILE; r++) {
            if (r < cnt) {
                float y = acc[r];
                for (int o = lanes >> 1; o > 0; o >>= 1) {
                    y += __shfl_xor_sync(0xFFFFFFFFu, y, o);
                }
                if (live && lane == 0) {
                    if (a.dSkip.p != nullptr) {
                        y = __fadd_rn(y, __fmul_rn(skip, cur.u[r]));
                    }
                    if (a.z.p != nullptr) {
                        y = __fmul_rn(y, silu_f32(cur.z[r]));
                    }
                    st_act(a.out, t0 + r, dd, y);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < PER_LANE; i++) {
        int ni = lane + i * lanes;
        if (live && ni < n) {
            st_act(a.states, stateRow, ni, h[i]);
        }
    }
}

// The instantiation for dtCode (MambaKernels: the common dtype of u, delta, z, B and C, else DT_ANY).
template <int TILE>
__device__ __forceinline__ void scan_dtype(const Args& a, int dtCode, const int* ok) {
    __shared__ float smem[2 * TILE * MAX_N];
    switch (dtCode) {
        case DT_F32: scan<DT_F32, TILE>(a, ok, smem); break;
        case DT_BF16: scan<DT_BF16, TILE>(a, ok, smem); break;
        case DT_F16: scan<DT_F16, TILE>(a, ok, smem); break;
        default: scan<DT_ANY, TILE>(a, ok, smem); break;
    }
}

}  // namespace mamba

// ok[0] = whether the batch is valid (state_batch_check); one block.
extern "C" __global__ void mamba_check_batch(const int* qsl, const int* idx, int numSeqs, int tokens, int slots,
        int* ok, int* err, int errCode) {
    state_batch_check(qsl, idx, numSeqs, tokens, slots, ok, err, errCode);
}

// u, delta, z, out: [T, D]; A: f32 [D, N]; B, C: [T, N]; dSkip, deltaBias: f32 [D] or empty; z may be
// empty; states: f32 [S*D, N]. grid (numSeqs, ceil(D / (128 / lanes))), 128 threads; qsl = nullptr
// for a decode batch (row b = sequence b). dtCode: the dtype of u, delta, z, B, C when they agree,
// else -1. Two kernels so each gets its own registers: _long stages 8 tokens at a time (long
// sequences), _short one (decode-like batches: fewer registers, more blocks resident per SM).
extern "C" __global__ void __launch_bounds__(mamba::THREADS) mamba_scan_long(View u, View delta, View A, View B,
        View C, View dSkip, View z, View deltaBias, int softplusOn, View states, View out, const int* qsl,
        const int* idx, const int* hasInit, int d, int n, int lanes, int dtCode, const int* ok) {
    mamba::scan_dtype<8>({u, delta, A, B, C, dSkip, z, deltaBias, softplusOn, states, out, qsl, idx, hasInit, d, n,
            lanes}, dtCode, ok);
}

extern "C" __global__ void __launch_bounds__(mamba::THREADS) mamba_scan_short(View u, View delta, View A, View B,
        View C, View dSkip, View z, View deltaBias, int softplusOn, View states, View out, const int* qsl,
        const int* idx, const int* hasInit, int d, int n, int lanes, int dtCode, const int* ok) {
    mamba::scan_dtype<1>({u, delta, A, B, C, dSkip, z, deltaBias, softplusOn, states, out, qsl, idx, hasInit, d, n,
            lanes}, dtCode, ok);
}
