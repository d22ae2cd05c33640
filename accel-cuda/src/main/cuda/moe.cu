// Mixture-of-experts: top-k softmax routing, and the routed expert MLPs as grouped GEMMs over
// tokens sorted by expert. See MoeKernels.java for the pipeline.
#include "gemm_tile.cuh"

namespace moe {

// The expert MLP activations in f64, rounded once to f32 (MoeActivation.java). ActivationKind ordinals.
enum Act { SILU = 0, GELU_ERF = 1, GELU_TANH = 2 };

__device__ __forceinline__ float activate(int act, float xf) {
    double x = xf;
    switch (act) {
        case SILU: return (float) (x / (1.0 + exp(-x)));
        case GELU_ERF: return (float) (0.5 * x * (1.0 + erf(x * 0.70710678118654752440)));
        default: return (float) (0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x))));
    }
}

// The expert of pair (t, j) if it is in [0, E), else -1 (another expert-parallel rank's).
__device__ __forceinline__ int expert_of(const View& ids, int t, int j, int experts) {
    int e = *(const int*) at(ids, t, j);
    return e >= 0 && e < experts ? e : -1;
}

// Which expert owns grouped tile `tile` (tileStart: [E + 1], ascending): the last e with tileStart[e] <= tile.
__device__ __forceinline__ int expert_of_tile(const int* tileStart, int experts, int tile) {
    int lo = 0, hi = experts - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (tileStart[mid] <= tile) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

}  // namespace moe

// ---- routing ----

// One warp per token. logits: [T, E] float; p: F32 scratch [T, E]; taken: U8 scratch [T, E];
// weights: F32 [T, k]; ids: I32 [T, k]. As MoeRoutingKernel: f32 softmax (sum in expert order),
// picks by strictly larger p scanning experts upward (ties to the lower id; a NaN at the first free
// expert wins, NaNs elsewhere never do), then optional renormalization in pick order.
extern "C" __global__ void moe_route(View logits, float* p, unsigned char* taken, View weights, View ids, int tokens,
        int experts, int topK, int renormalize) {
    int warps = blockDim.x >> 5, lane = threadIdx.x & 31;
    int t = blockIdx.x * warps + (threadIdx.x >> 5);
    if (t >= tokens) {
        return;
    }
    float* pt = p + (long long) t * experts;
    unsigned char* tk = taken + (long long) t * experts;
    float m = __int_as_float(0xFF800000);  // -inf
    for (int e = lane; e < experts; e += 32) {
        m = java_max(m, ld(logits, t, e));
        tk[e] = 0;
    }
    for (int o = 16; o > 0; o >>= 1) {
        m = java_max(m, __shfl_xor_sync(0xFFFFFFFFu, m, o));
    }
    for (int e = lane; e < experts; e += 32) {
        pt[e] = (float) exp((double) __fsub_rn(ld(logits, t, e), m));
    }
    __syncwarp();
    float sum = 0.0f;
    if (lane == 0) {
        for (int e = 0; e < experts; e++) {  // f32, in expert order: the reference's bits
            sum = __fadd_rn(sum, pt[e]);
        }
    }
    sum = __shfl_sync(0xFFFFFFFFu, sum, 0);
    for (int e = lane; e < experts; e += 32) {
        pt[e] = __fdiv_rn(pt[e], sum);
    }
    __syncwarp();
    float total = 0.0f;  // lane 0: Σ of the picked weights in pick order (f32)
    for (int j = 0; j < topK; j++) {
        int first = 0x7FFFFFFF, best = -1;
        float bv = 0.0f;
        for (int e = lane; e < experts; e += 32) {
            if (tk[e]) {
                continue;
            }
            first = min(first, e);
            float v = pt[e];
            if (!isnan(v) && (best < 0 || v > bv)) {
                best = e;
                bv = v;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            first = min(first, __shfl_xor_sync(0xFFFFFFFFu, first, o));
            float ov = __shfl_xor_sync(0xFFFFFFFFu, bv, o);
            int oi = __shfl_xor_sync(0xFFFFFFFFu, best, o);
            if (oi >= 0 && (best < 0 || ov > bv || (ov == bv && oi < best))) {
                best = oi;
                bv = ov;
            }
        }
        if (best < 0 || isnan(pt[first])) {
            best = first;
        }
        if (lane == 0) {
            float w = pt[best];
            tk[best] = 1;
            *(int*) at(ids, t, j) = best;
            *(float*) at(weights, t, j) = w;
            total = __fadd_rn(total, w);
        }
        __syncwarp();
    }
    if (renormalize) {
        total = __shfl_sync(0xFFFFFFFFu, total, 0);
        for (int j = lane; j < topK; j += 32) {
            float* w = (float*) at(weights, t, j);
            *w = __fdiv_rn(*w, total);
        }
    }
}

// ---- expert MLPs: grouping ----

// counts[e] += 1 for every pair routed to a local expert (counts zeroed before).
extern "C" __global__ void moe_count(View ids, int* counts, int tokens, int topK, int experts) {
    GRID_STRIDE(i, (long long) tokens * topK) {
        int e = moe::expert_of(ids, (int) (i / topK), (int) (i % topK), experts);
        if (e >= 0) {
            atomicAdd(&counts[e], 1);
        }
    }
}

// One block: start[e] = Σ counts before e (start[E] = pairs), tileStart[e] = Σ ceil(counts / BM)
// before e, cursor[e] = start[e] for the scatter.
extern "C" __global__ void moe_offsets(const int* counts, int* start, int* tileStart, int* cursor, int experts, int bm) {
    if (threadIdx.x == 0) {
        int rows = 0, tiles = 0;
        for (int e = 0; e < experts; e++) {
            start[e] = rows;
            cursor[e] = rows;
            tileStart[e] = tiles;
            rows += counts[e];
            tiles += (counts[e] + bm - 1) / bm;
        }
        start[experts] = rows;
        tileStart[experts] = tiles;
    }
}

// Sorts pairs by expert: order[pos] = t·k + j, slot[t·k + j] = pos (-1 for another rank's expert).
// The order within an expert is whatever the atomics give: every row of the grouped GEMMs is
// computed the same way wherever it sits, so the result does not depend on it.
extern "C" __global__ void moe_scatter(View ids, int* cursor, int* order, int* slot, int tokens, int topK, int experts) {
    GRID_STRIDE(i, (long long) tokens * topK) {
        int e = moe::expert_of(ids, (int) (i / topK), (int) (i % topK), experts);
        int pos = -1;
        if (e >= 0) {
            pos = atomicAdd(&cursor[e], 1);
            order[pos] = (int) i;
        }
        slot[i] = pos;
    }
}

// ---- expert MLPs: grouped GEMMs ----

namespace moe {

// The grouped tile of this block: expert e, sorted rows [row0, row0 + rows). False when the grid's
// upper bound of tiles exceeds the real count.
template <int BM>
__device__ __forceinline__ bool tile_of(const int* start, const int* tileStart, int experts, int& e, int& row0, int& rows) {
    int tile = blockIdx.x;
    if (tile >= tileStart[experts]) {
        return false;
    }
    e = expert_of_tile(tileStart, experts, tile);
    row0 = start[e] + (tile - tileStart[e]) * BM;
    rows = min(BM, start[e + 1] - row0);
    return true;
}

// act[pos, i] = round_x(act(g_i) · u_i) with g, u = W1_e x, W3_e x of the pair's token. A block
// covers 32 intermediate columns i0..i0+31: its 64 B rows are gate rows i0.. and up rows I + i0..,
// so thread column tx + 16 j (j < 2) holds g and column tx + 16 (j + 2) the matching u.
template <int BM>
__device__ void gate_up(View x, View w13, const int* order, const int* start, const int* tileStart, View act, int topK,
        int experts, int hidden, int inter, int fn) {
    __shared__ gemm_tile::Smem<BM> s;
    int e, row0, rows;
    if (!tile_of<BM>(start, tileStart, experts, e, row0, rows)) {
        return;
    }
    int i0 = blockIdx.y * 32;
    long long wBase = (long long) e * 2 * inter;
    auto la = [&](int r, int k) { return ld(x, order[row0 + r] / topK, k); };
    auto lb = [&](int c, int k) {
        int i = i0 + (c & 31);
        return i < inter ? ld(w13, wBase + (c < 32 ? i : inter + i), k) : 0.0f;
    };
    float acc[BM / 16][4];
    gemm_tile::multiply<BM>(acc, rows, 64, hidden, la, lb, s);
    int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    for (int i = 0; i < BM / 16; i++) {
        int r = ty + 16 * i;
        for (int j = 0; j < 2; j++) {
            int col = i0 + tx + 16 * j;
            if (r < rows && col < inter) {
                st(act, row0 + r, col, __fmul_rn(activate(fn, acc[i][j]), acc[i][j + 2]));
            }
        }
    }
}

// y[pos, n] = W2_e · act[pos] (f32), for the 64 hidden outputs of block column blockIdx.y.
template <int BM>
__device__ void down(View act, View w2, const int* start, const int* tileStart, float* y, int experts, int hidden,
        int inter) {
    __shared__ gemm_tile::Smem<BM> s;
    int e, row0, rows;
    if (!tile_of<BM>(start, tileStart, experts, e, row0, rows)) {
        return;
    }
    int n0 = blockIdx.y * gemm_tile::BN;
    int cols = min(gemm_tile::BN, hidden - n0);
    long long wBase = (long long) e * hidden + n0;
    auto la = [&](int r, int k) { return ld(act, row0 + r, k); };
    auto lb = [&](int c, int k) { return ld(w2, wBase + c, k); };
    float acc[BM / 16][4];
    gemm_tile::multiply<BM>(acc, rows, cols, inter, la, lb, s);
    int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    for (int i = 0; i < BM / 16; i++) {
        int r = ty + 16 * i;
        for (int j = 0; j < 4; j++) {
            int c = tx + 16 * j;
            if (r < rows && c < cols) {
                y[(long long) (row0 + r) * hidden + n0 + c] = acc[i][j];
            }
        }
    }
}

}  // namespace moe

// x: [T, H]; w13: [E, 2I, H] seen as rows [E·2I, H]; act: [P, I] in x's dtype (P = T·k); grid
// (tile bound, ceil(I / 32)).
extern "C" __global__ void __launch_bounds__(gemm_tile::THREADS) moe_gate_up_m16(View x, View w13, const int* order,
        const int* start, const int* tileStart, View act, int topK, int experts, int hidden, int inter, int fn) {
    moe::gate_up<16>(x, w13, order, start, tileStart, act, topK, experts, hidden, inter, fn);
}

extern "C" __global__ void __launch_bounds__(gemm_tile::THREADS) moe_gate_up_m64(View x, View w13, const int* order,
        const int* start, const int* tileStart, View act, int topK, int experts, int hidden, int inter, int fn) {
    moe::gate_up<64>(x, w13, order, start, tileStart, act, topK, experts, hidden, inter, fn);
}

// act: [P, I]; w2: [E, H, I] seen as rows [E·H, I]; y: F32 [P, H]; grid (tile bound, ceil(H / 64)).
extern "C" __global__ void __launch_bounds__(gemm_tile::THREADS) moe_down_m16(View act, View w2, const int* start,
        const int* tileStart, float* y, int experts, int hidden, int inter) {
    moe::down<16>(act, w2, start, tileStart, y, experts, hidden, inter);
}

extern "C" __global__ void __launch_bounds__(gemm_tile::THREADS) moe_down_m64(View act, View w2, const int* start,
        const int* tileStart, float* y, int experts, int hidden, int inter) {
    moe::down<64>(act, w2, start, tileStart, y, experts, hidden, inter);
}

// out[t, r] = round(Σ_j w_tj · y[slot(t, j), r]) in f32, j ascending; other ranks' experts add nothing.
extern "C" __global__ void moe_combine(const float* y, const int* slot, View weights, View out, int tokens, int topK,
        int hidden) {
    GRID_STRIDE(i, (long long) tokens * hidden) {
        int t = (int) (i / hidden), r = (int) (i % hidden);
        float acc = 0.0f;
        for (int j = 0; j < topK; j++) {
            int pos = slot[(long long) t * topK + j];
            if (pos >= 0) {
                acc = __fadd_rn(acc, __fmul_rn(*(const float*) at(weights, t, j), y[(long long) pos * hidden + r]));
            }
        }
        st(out, t, r, acc);
    }
}
