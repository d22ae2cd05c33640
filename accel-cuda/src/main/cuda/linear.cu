// The epilogue of the cuBLAS linear: out = round(acc + bias). See LinearKernels.java.
#include "activation.cuh"
#include "rms.cuh"

// acc: F32 [T, N] (cuBLAS output); bias: [N] or absent (hasBias = 0); out: [T, N] any float dtype.
extern "C" __global__ void linear_bias_round(View acc, View bias, View out, long long rows, int cols, int hasBias) {
    ROWS_COLS(r, c, rows, cols) {
        float v = ld(acc, r, c);
        if (hasBias) {
            v = __fadd_rn(v, ld(bias, 0, c));
        }
        st(out, r, c, v);
    }
}

// ---- batch-1 GEMV: bf16 x and W ----
//
// out[0, n] = round(Σ_k x[0, k] · W[n, k] (+ bias[n])) for one token, x and W bf16 (W rows 16-byte
// aligned, K a multiple of 8, at most 16384). A decode's projections are 8-67 MB streamed once per
// token; cuBLAS ran the small ones at 1.2-2.1 TB/s on an H200 (o_proj 2048 x 2048 in 6.7 µs). Here a
// warp takes GV_R rows at a time: each lane loads 16-byte words of every row (streamed past L1) and
// meets each with the matching word of x, which the block holds in shared memory; the warp sums its
// lanes (see gemv). f32 products of exact widenings, f32 accumulation.
namespace gemv1 {

constexpr int GV_WARPS = 8;          // warps per block
constexpr int GV_R = 2;              // weight rows per warp and item
// GV_B: 16-byte words per row and lane in a batch (32 x 4 words = 1024 elements), two batches in flight
// per warp; GV_BLOCKS_PER_SM: resident blocks per SM the registers allow (LinearKernels.GEMV_BLOCKS_PER_SM).
// (8 words in flight per batch at one block per SM measured the same on an H200: the kernel's fixed
// cost, not its loads in flight, is what a decode's small projections pay; docs/performance.md run 9.)
constexpr int GV_B = 4, GV_BLOCKS_PER_SM = 2;

// acc += Σ_i x_i w_i over the 8 bf16 pairs of two 16-byte words, in element order.
__device__ __forceinline__ float dot8(const uint4& w, const uint4& x, float acc) {
    const unsigned wa[4] = {w.x, w.y, w.z, w.w}, xa[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        acc = fmaf(__uint_as_float(xa[i] << 16), __uint_as_float(wa[i] << 16), acc);
        acc = fmaf(__uint_as_float(xa[i] & 0xFFFF0000u), __uint_as_float(wa[i] & 0xFFFF0000u), acc);
    }
    return acc;
}

// The GEMV against x, which stage(sx) writes into each block's shared memory (K / 8 words) and ends
// with a barrier. Work items are the warps' row pairs: item i is rows 2i and 2i + 1 (act.p == nullptr)
// or, for the gated epilogue, rows i and i + n / 2 (gate and up of output i: out gets both rows as
// usual and act[i] = f(gate) · up from the stored (rounded) values, as ew_gated computes it).
//
// Each item's K / (32 GV_B) batches of GV_B words per lane and row are cut into `splits` (1, 2 or 4,
// at most the batches) consecutive slices, split s taking batches [s B / S, (s + 1) B / S): a unit is
// (item, split), unit u = item · S + s. Splitting gives a projection with few rows (o_proj, down_proj:
// 1024 row pairs) enough warps to keep HBM busy. The grid is persistent (at most GV_BLOCKS_PER_SM
// blocks per SM; LinearKernels sizes it): warp g of the grid takes units g, g + G, g + 2G, ... (G = its
// warps, a multiple of 8), so the S warps of one item are consecutive warps of one block, meeting in
// the same round. Each warp issues the loads of its next batch before it consumes the current one, so
// it keeps two batches in flight from start to end instead of stopping at every unit's end; the first
// batch is issued before the staging (weights: no kernel writes them).
//
// Sums: per lane and row, the words of a slice in order lane, lane + 32, ... (fmaf from +0), then the
// warp's butterfly sum; with S > 1 the S partial sums meet in shared memory (a named barrier per item's
// warps) and split 0's warp adds them in split order. The bits depend on S (LinearKernels.splits picks
// it from the shape alone), never on GV_B or the grid.
//
// How a warp walks a GEMV of n rows and K / 8 words on a grid of `warpsInGrid` warps (both forms):
// its units g, g + G, ... and each unit's batches, an item's rows. G is a multiple of 8 and S (1, 2 or 4)
// divides it, so every unit of a warp has the warp's split, g mod S: its slice's batches are computed
// once, and no unit needs a division (units' items and splits by shifts). Code size: a decode step's
// kernels each start with their code cold, and its time followed their size (docs/performance.md run
// 25): a division by a run-time value is about 20 instructions, and with one per batch the ring GEMV
// was 11 KB larger and a Llama-1B step 20 µs longer.
struct GemvWalk {
    int n, splits, units, words, batches, stride, shift, bFirst, bLast;
    bool gated;
    __device__ GemvWalk(int n, int k, bool gated, int splits, int warpsInGrid, int firstUnit)
        : n(n), splits(splits), units((gated ? n / 2 : (n + GV_R - 1) / GV_R) * splits), words(k / 8),
          batches((k / 8 + 32 * GV_B - 1) / (32 * GV_B)), stride(warpsInGrid), shift(splits == 4 ? 2 : splits - 1),
          bFirst(((firstUnit & (splits - 1)) * batches) >> shift),
          bLast((((firstUnit & (splits - 1)) + 1) * batches >> shift) - 1), gated(gated) {}
    __device__ int row(int item, int r) const { return gated ? item + r * (n / 2) : item * GV_R + r; }
    __device__ int item(int u) const { return u >> shift; }
    __device__ int split(int u) const { return u & (splits - 1); }
    // the warp's batches in order: (u, b) for b in its slice, then (u + stride, its first), ...
    __device__ void next(int& u, int& b) const {
        if (b++ == bLast) {
            u += stride;
            b = bFirst;
        }
    }
};

// acc[r] += row r's words of batch b met with x's: the lane's words lane, lane + 32, ... of the batch
// (c = 32 GV_B b + lane + 32 j, those below `words`), word(r, j) giving row r's word j.
template <typename Word>
__device__ __forceinline__ void batch_dot(float (&acc)[GV_R], const uint4* sx, int b, int words, int lane, Word word) {
#pragma unroll
    for (int j = 0; j < GV_B; j++) {
        const int c = 32 * GV_B * b + lane + 32 * j;
        if (c < words) {
            const uint4 xv = sx[c];
#pragma unroll
            for (int r = 0; r < GV_R; r++) {
                acc[r] = dot8(word(r, j), xv, acc[r]);
            }
        }
    }
}

// The gated epilogue's f(gate), out of line: its f64 transcendentals are most of the GEMV's code, run
// once or twice per warp, and inlined they sat inside the hot loop's code (see GemvWalk on code size).
__device__ __noinline__ float gated_activation(int fn, float gate) {
    return act::activate(fn, gate, 0.0f);
}

// What a warp does at the end of each of its units (both forms): the lanes' sums, the splits' meeting
// in shared memory, the bias and the stores (out, bias and act are F32, F16 or BF16: LinearKernels
// admits no other dtype, so the activation dtypes' accessors, without fp8's and integers' code), and the gated epilogue, f(gate) · up, for up to 32 items
// at once, one per lane: its f64 exp is a chain of dependent instructions that the warp would
// otherwise wait on once per item (1.4 µs of each Llama-1B gate/up launch on an H200, with about 4
// items per warp). flush() evaluates the items kept.
struct UnitEnd {
    int rounds = 0, pending = 0, actItem = -1;  // split rounds met; items kept; the lane's item, or -1
    float actGate = 0.0f, actUp = 0.0f;

    __device__ void flush(const View& act, int fn) {
        if (actItem >= 0) {
            st_act(act, 0, actItem, __fmul_rn(gated_activation(fn, actGate), actUp));
        }
        actItem = -1;
        pending = 0;
    }

    __device__ __forceinline__ void operator()(const GemvWalk& g, float (&acc)[GV_R], int u, int lane, int warp,
            const View& bias, int hasBias, const View& out, const View& act, int fn) {
        __shared__ float part[2][GV_WARPS][GV_R];  // the splits' partial sums, by round parity
        float v[GV_R];
#pragma unroll
        for (int r = 0; r < GV_R; r++) {
            v[r] = warp_sum(acc[r]);
            acc[r] = 0.0f;
        }
        const int splits = g.splits;
        if (splits > 1) {
            const int parity = rounds++ & 1;  // a warp is at most one round ahead of its item's others
            if (lane == 0) {
#pragma unroll
                for (int r = 0; r < GV_R; r++) {
                    part[parity][warp][r] = v[r];
                }
            }
            asm volatile("bar.sync %0, %1;" ::"r"(1 + (warp >> g.shift)), "r"(32 * splits) : "memory");
            if (g.split(u) != 0) {
                return;
            }
#pragma unroll
            for (int r = 0; r < GV_R; r++) {
                v[r] = part[parity][warp][r];
#pragma unroll 1
                for (int t = 1; t < splits; t++) {
                    v[r] = __fadd_rn(v[r], part[parity][warp + t][r]);
                }
            }
        }
        const int item = g.item(u);
#pragma unroll
        for (int r = 0; r < GV_R; r++) {
            if (hasBias) {
                v[r] = __fadd_rn(v[r], ld_act(bias, 0, min(g.row(item, r), g.n - 1)));
            }
            if (lane == 0 && (g.gated || g.row(item, r) < g.n)) {
                st_act(out, 0, g.row(item, r), v[r]);
            }
        }
        if (g.gated) {  // lane `pending` keeps the item for flush (every lane holds v)
            if (lane == pending) {
                actItem = item;
                actGate = round_act(out.dt, v[0]);
                actUp = round_act(out.dt, v[1]);
            }
            if (++pending == 32) {
                flush(act, fn);
            }
        }
    }
};

// gemv_over is the body for block vb of a grid of vg blocks, with wait() where the kernel calls
// pdl_begin(): the form tools/gpu/bench/persistent_bench.cu runs as a stage of one persistent kernel.
template <typename Stage, typename Wait>
__device__ __forceinline__ void gemv_over(View w, View bias, View out, int n, int k, int hasBias, View act, int fn,
        int splits, uint4* sx, int vb, int vg, Wait wait, Stage stage) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const GemvWalk g(n, k, act.p != nullptr, splits, vg * GV_WARPS, vb * GV_WARPS + warp);
    auto issue = [&](uint4 (&buf)[GV_R][GV_B], int u, int b) {  // all of the batch's loads in flight
        const int item = g.item(u);
#pragma unroll
        for (int r = 0; r < GV_R; r++) {
            const char* wr = at(w, min(g.row(item, r), n - 1), 0);  // rows past n repeat the last one, not stored
#pragma unroll
            for (int j = 0; j < GV_B; j++) {
                int c = 32 * GV_B * b + lane + 32 * j;
                buf[r][j] = c < g.words ? load_stream(wr + 16LL * c) : make_uint4(0, 0, 0, 0);
            }
        }
    };
    float acc[GV_R] = {};
    UnitEnd end;
    auto consume = [&](const uint4 (&buf)[GV_R][GV_B], int u, int b) {
        batch_dot(acc, sx, b, g.words, lane, [&](int r, int j) { return buf[r][j]; });
        if (b == g.bLast) {
            end(g, acc, u, lane, warp, bias, hasBias, out, act, fn);
        }
    };
    uint4 bufA[GV_R][GV_B], bufB[GV_R][GV_B];
    int u = vb * GV_WARPS + warp, b = g.bFirst;
    if (u < g.units) {
        issue(bufA, u, b);
    }
    wait();
    stage(sx);
    while (u < g.units) {  // two batches per pass, so that the buffers are named statically
        int u2 = u, b2 = b;
        g.next(u2, b2);
        if (u2 < g.units) {
            issue(bufB, u2, b2);
        }
        consume(bufA, u, b);
        if (u2 >= g.units) {
            break;
        }
        u = u2, b = b2;
        g.next(u2, b2);
        if (u2 < g.units) {
            issue(bufA, u2, b2);
        }
        consume(bufB, u, b);
        u = u2, b = b2;
    }
    end.flush(act, fn);
}

template <typename Stage>
__device__ __forceinline__ void gemv(View w, View bias, View out, int n, int k, int hasBias, View act, int fn,
        int splits, uint4* sx, Stage stage) {
    gemv_over(w, bias, out, n, k, hasBias, act, fn, splits, sx, blockIdx.x, gridDim.x, [] { pdl_begin(); }, stage);
}

// Stages RMSNorm(x (+ residual)) of the one bf16 row (K = hidden, a multiple of 256, at most 8192)
// as the GEMV's x, with norm.cu's row form's bits: word c's sum of squares in element order, the
// words summed as block_sum does over hidden / 8 threads (warp v of that block = words 32v .. 32v+31,
// here taken by warp v mod GV_WARPS, so thread t takes words t, t + 256, ... in both loops). Every
// block computes the norm itself; w0 is the norm weight of word threadIdx.x, read before the wait (no
// kernel writes weights). The norm's outputs (residualOut: the rounded sum; normOut: the normalized
// row) may alias x and residual, so only the last block to finish reading them writes them
// (rms_outputs, at the kernel's end): thread 0 takes a ticket on the device word `ticket` (0 between
// launches) once the block has read them and returns it; nothing waits for the ticket until then.
template <int WT>
__device__ __forceinline__ unsigned stage_rms(View x, View nw, View residual, int k, float eps, int hasResidual,
        int gemma, const float* w0, unsigned* ticket, uint4* sx) {
    __shared__ float vsum[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, words = k / 8, vwarps = words / 32;
    uint4* sr = sx + words;  // the rounded sums (or x), for residualOut
    for (int v = warp; v < vwarps; v += GV_WARPS) {
        const int c = 32 * v + lane;
        const uint4 xw = *(const uint4*) at(x, 0, 8 * c);
        const uint4 rw = hasResidual ? *(const uint4*) at(residual, 0, 8 * c) : xw;
        float r[8];
        const float ss = warp_sum(rms_load8<DT_BF16>(xw, rw, hasResidual, r));
        sr[c] = hasResidual ? pack8<DT_BF16>(r) : xw;
        if (lane == 0) {
            vsum[v] = ss;
        }
    }
    __syncthreads();
    const float inv = rms_inv(warp_sum(lane < vwarps ? vsum[lane] : 0.0f), k, eps);
    for (int c = threadIdx.x; c < words; c += blockDim.x) {
        float r[8], w[8];
        unpack8<DT_BF16>(sr[c], r);
        if (c == threadIdx.x) {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                w[i] = w0[i];
            }
        } else {
            rms_weight8<WT>(nw, 8 * c, w);
        }
        sx[c] = rms_scale8<DT_BF16>(r, w, inv, gemma);
    }
    __syncthreads();
    return threadIdx.x == 0 ? atomicAdd(ticket, 1u) : 0u;
}

// The end of a norm-folded GEMV: the block whose ticket (thread 0's, from stage_rms) was the last
// writes the norm's outputs from its shared memory and sets the ticket back to 0.
__device__ __forceinline__ void rms_outputs(unsigned ticketTaken, View residualOut, View normOut, int k,
        int hasResidual, unsigned* ticket, const uint4* sx) {
    __shared__ int last;
    const int words = k / 8;
    __syncthreads();
    if (threadIdx.x == 0) {
        last = ticketTaken == gridDim.x - 1;
    }
    __syncthreads();
    if (last) {
        for (int c = threadIdx.x; c < words; c += blockDim.x) {
            if (hasResidual) {
                *(uint4*) at(residualOut, 0, 8 * c) = sx[words + c];
            }
            *(uint4*) at(normOut, 0, 8 * c) = sx[c];
        }
        if (threadIdx.x == 0) {
            atomicExch(ticket, 0u);
        }
    }
}

// x (one bf16 row of K) into shared memory as K / 8 words. PAST_L1: loaded past L1 (__ldcg), for an
// x that other blocks of the same kernel wrote (persistent_bench's stages).
template <bool PAST_L1 = false>
__device__ __forceinline__ void stage_x(const View& x, int k, uint4* sx) {
    const int words = k / 8;
    for (int c0 = threadIdx.x; c0 < words; c0 += 4 * blockDim.x) {
        uint4 v[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int c = c0 + j * blockDim.x;
            if (c < words) {
                const uint4* p = (const uint4*) at(x, 0, 8LL * c);
                v[j] = PAST_L1 ? __ldcg(p) : *p;
            }
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int c = c0 + j * blockDim.x;
            if (c < words) {
                sx[c] = v[j];
            }
        }
    }
    __syncthreads();
}

// ---- the same GEMV, its weights in flight held by shared memory ----
//
// gemv_over's units, order and sums (so its bits), with each warp's batches landing in a ring of
// `stages` (2 or 3) stages of shared memory (GV_R rows x 1024 K, 4 KiB each) instead of registers:
// lane 0 issues a batch as one bulk copy per row (cp.async.bulk, the copy engine of sm_90, completing
// on the stage's mbarrier with the bytes it expects), the warp waits for the stage's phase, reads its
// words from the stage, and lane 0 refills the stage with the batch `stages` ahead. `early` (1 or 2)
// of the stages are issued before the dependent-launch wait (weights: no kernel writes them), the rest
// once x is staged. 48 registers against gemv_over's 116 (room for a small kernel's blocks beside its
// two per SM, which hold 2 x 8 x stages x 4 KiB of shared memory: LinearKernels.RING). A batch-1 decode
// step of Llama-3.2-1B's shape replayed 3.5% faster than with gemv_over (docs/performance.md run 21).
[[maybe_unused]] constexpr int RING_STAGE_WORDS = 32 * GV_B * GV_R;  // 16-byte words of one stage
[[maybe_unused]] constexpr int RING_MAX_STAGES = 3;

__device__ __forceinline__ unsigned smem_address(const void* p) {
    return (unsigned) __cvta_generic_to_shared(p);
}

__device__ __forceinline__ void ring_expect(unsigned long long* bar, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_address(bar)), "r"(bytes)
                 : "memory");
}

__device__ __forceinline__ void ring_copy(void* dst, const void* src, unsigned bytes, unsigned long long* bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                         smem_address(dst)),
                 "l"(src), "r"(bytes), "r"(smem_address(bar))
                 : "memory");
}

__device__ __forceinline__ void ring_wait(unsigned long long* bar, unsigned phase) {
    asm volatile(
            "{\n .reg .pred done;\n RING_WAIT_%=:\n mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
            " @!done bra RING_WAIT_%=;\n}" ::"r"(smem_address(bar)),
            "r"(phase)
            : "memory");
}

// ring: GV_WARPS x stages x RING_STAGE_WORDS words, then x (K / 8 words or more: what stage(sx) writes,
// ending with a barrier); the rest as gemv_over.
template <typename Stage>
__device__ __forceinline__ void gemv_ring(View w, View bias, View out, int n, int k, int hasBias, View act, int fn,
        int splits, int stages, int early, uint4* ring, Stage stage) {
    __shared__ __align__(8) unsigned long long bars[GV_WARPS][RING_MAX_STAGES];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, batchWords = 32 * GV_B;
    const GemvWalk g(n, k, act.p != nullptr, splits, gridDim.x * GV_WARPS, blockIdx.x * GV_WARPS + warp);
    uint4* mine = ring + warp * stages * RING_STAGE_WORDS;
    uint4* sx = ring + GV_WARPS * stages * RING_STAGE_WORDS;
    if (lane == 0) {
#pragma unroll 1
        for (int s = 0; s < stages; s++) {
            asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_address(&bars[warp][s])) : "memory");
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncwarp();
    int iu = blockIdx.x * GV_WARPS + warp, ib = g.bFirst, is = 0;  // the next batch to issue, its stage
    auto issue = [&]() {
        if (iu >= g.units) {
            return;
        }
        if (lane == 0) {
            const int item = g.item(iu), c0 = batchWords * ib;
            const unsigned bytes = 16u * (unsigned) min(batchWords, g.words - c0);
            ring_expect(&bars[warp][is], GV_R * bytes);
#pragma unroll
            for (int r = 0; r < GV_R; r++) {  // rows past n repeat the last one, not stored
                ring_copy(mine + is * RING_STAGE_WORDS + batchWords * r, at(w, min(g.row(item, r), n - 1), 8LL * c0),
                        bytes, &bars[warp][is]);
            }
        }
        is = is + 1 == stages ? 0 : is + 1;
        g.next(iu, ib);
    };
#pragma unroll 1
    for (int i = 0; i < early; i++) {
        issue();
    }
    pdl_begin();
    stage(sx);
#pragma unroll 1
    for (int i = early; i < stages; i++) {
        issue();
    }
    float acc[GV_R] = {};
    UnitEnd end;
    int cs = 0;  // the stage consumed next, and its phase
    unsigned phase = 0;
    for (int u = blockIdx.x * GV_WARPS + warp, b = g.bFirst; u < g.units; g.next(u, b)) {
        ring_wait(&bars[warp][cs], phase);
        const uint4* landed = mine + cs * RING_STAGE_WORDS;
        batch_dot(acc, sx, b, g.words, lane, [&](int r, int j) { return landed[batchWords * r + lane + 32 * j]; });
        // every lane has read the stage: refill it (the warp's barrier orders the reads before lane 0's
        // copy, as a consumer's arrival on an empty barrier does in a producer/consumer pipeline; every
        // batch issued is consumed, so no copy is in flight when the block ends)
        __syncwarp();
        if (++cs == stages) {
            cs = 0;
            phase ^= 1u;
        }
        issue();
        if (b == g.bLast) {
            end(g, acc, u, lane, warp, bias, hasBias, out, act, fn);
        }
    }
    end.flush(act, fn);
}

}  // namespace gemv1

// linear_gemv_bf16 with its weights through a shared-memory ring (gemv1::gemv_ring): same arguments and
// bits, then stages (2 or 3) and early (1 or 2, at most stages); dynamic shared memory
// GV_WARPS x stages x 4 KiB + 2 K bytes.
extern "C" __global__ void __launch_bounds__(gemv1::GV_WARPS * 32) linear_gemv_ring_bf16(View x, View w, View bias,
        View out, int n, int k, int hasBias, View act, int fn, int splits, int stages, int early) {
    extern __shared__ __align__(128) uint4 ring[];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    __trap();  // bulk copies and mbarrier transactions are sm_90's: LinearKernels launches it there only
#else
    gemv1::gemv_ring(w, bias, out, n, k, hasBias, act, fn, splits, stages, early, ring,
            [&](uint4* sx) { gemv1::stage_x(x, k, sx); });
#endif
}

// act: absent (act.p == nullptr), or [1, n / 2] for the gated epilogue with ActivationKind fn (see gemv).
extern "C" __global__ void __launch_bounds__(gemv1::GV_WARPS * 32, gemv1::GV_BLOCKS_PER_SM) linear_gemv_bf16(View x,
        View w, View bias, View out, int n, int k, int hasBias, View act, int fn, int splits) {
    extern __shared__ uint4 sx[];  // x as K / 8 words
    gemv1::gemv(w, bias, out, n, k, hasBias, act, fn, splits, sx, [&](uint4* s) { gemv1::stage_x(x, k, s); });
}

// The batch-1 GEMV of a batch-1 RMSNorm's output, the norm folded in (CudaBackend holds a foldable
// norm back until the op after it; LinearKernels.runFused): out = round(normOut · Wᵀ (+ bias)),
// and the norm's outputs written as rms_norm would. x, residual, residualOut, normOut bf16 [1, K];
// nw: the norm weight [K] (bf16 or f32 by name); act, fn: as linear_gemv_bf16; shared memory 4 K bytes.
#define GEMV_RMS(NAME, WT)                                                                                      \
    extern "C" __global__ void __launch_bounds__(gemv1::GV_WARPS * 32, gemv1::GV_BLOCKS_PER_SM) NAME(View x,    \
            View nw, View residual, View residualOut, View normOut, float eps, int hasResidual, int gemma,      \
            unsigned* ticket, View w, View bias, View out, int n, int k, int hasBias, View act, int fn,         \
            int splits) {                                                                                       \
        extern __shared__ uint4 sx[];                                                                            \
        float w0[8];                                                                                             \
        if ((int) threadIdx.x < k / 8) {                                                                         \
            rms_weight8<WT>(nw, 8 * threadIdx.x, w0);                                                            \
        }                                                                                                        \
        unsigned taken = 0;                                                                                      \
        gemv1::gemv(w, bias, out, n, k, hasBias, act, fn, splits, sx, [&](uint4* s) {                            \
            taken = gemv1::stage_rms<WT>(x, nw, residual, k, eps, hasResidual, gemma, w0, ticket, s);            \
        });                                                                                                      \
        gemv1::rms_outputs(taken, residualOut, normOut, k, hasResidual, ticket, sx);                             \
    }

GEMV_RMS(linear_gemv_rms_bf16, DT_BF16)
GEMV_RMS(linear_gemv_rms_f32, DT_F32)
