// Sampling: seeded top-k/top-p/min-p sampling, penalties, log-softmax top-n. See SamplingKernels.java.
#include "common.cuh"

namespace sampling {

using u64 = unsigned long long;

constexpr int THREADS = 1024;  // one block per row: V up to ~256k in a few passes

// Whether (va, ia) ranks before (vb, ib) in SamplingMath.argmax: the first NaN wins, else the larger
// value, ties to the lower index.
__device__ __forceinline__ bool beats(float va, int ia, float vb, int ib) {
    bool na = isnan(va), nb = isnan(vb);
    if (na || nb) {
        return na && (!nb || ia < ib);
    }
    return va > vb || (va == vb && ia < ib);
}

// The block's shared scratch for reductions and selections.
struct Shared {
    u64 hist[256];
    unsigned cnt[256];
    u64 u[32];
    double d[32];
    float f[32];
    int i[32];
    u64 chosen;  // radix select: the digit picked by thread 0 (or ~0 when none), and the weight above it
    u64 above;
    int result;
    int count;
    int done;
};

__device__ __forceinline__ float block_max(float v, Shared& s) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        v = java_max(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    }
    __syncthreads();
    if (lane == 0) {
        s.f[warp] = v;
    }
    __syncthreads();
    v = lane < (int) (blockDim.x >> 5) ? s.f[lane] : __int_as_float(0xFF800000);
    for (int o = 16; o > 0; o >>= 1) {
        v = java_max(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    }
    return v;
}

// Σ over the block in a fixed tree order (deterministic).
__device__ __forceinline__ double block_sum(double v, Shared& s) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    }
    __syncthreads();
    if (lane == 0) {
        s.d[warp] = v;
    }
    __syncthreads();
    v = lane < (int) (blockDim.x >> 5) ? s.d[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    }
    return v;
}

// Exclusive prefix sum over the threads of the block (integers: exact); total gets the block's sum.
__device__ __forceinline__ u64 block_scan(u64 v, u64& total, Shared& s) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    u64 inc = v;
    for (int o = 1; o < 32; o <<= 1) {
        u64 n = __shfl_up_sync(0xFFFFFFFFu, inc, o);
        if (lane >= o) {
            inc += n;
        }
    }
    __syncthreads();
    if (lane == 31) {
        s.u[warp] = inc;
    }
    __syncthreads();
    u64 before = 0;
    total = 0;
    for (int w = 0; w < warps; w++) {
        before += w < warp ? s.u[w] : 0;
        total += s.u[w];
    }
    return before + inc - v;
}

__device__ __forceinline__ u64 block_total(u64 v, Shared& s) {
    u64 total;
    block_scan(v, total, s);
    return total;
}

// SamplingMath.argmax of f(v) over v < n.
template <class F>
__device__ int block_argmax(int n, const F& f, Shared& s) {
    float best = 0.0f;
    int bi = -1;
    for (int v = threadIdx.x; v < n; v += blockDim.x) {
        float x = f(v);
        if (bi < 0 || beats(x, v, best, bi)) {
            best = x;
            bi = v;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xFFFFFFFFu, best, o);
        int oi = __shfl_xor_sync(0xFFFFFFFFu, bi, o);
        if (oi >= 0 && (bi < 0 || beats(ov, oi, best, bi))) {
            best = ov;
            bi = oi;
        }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) {
        s.f[warp] = best;
        s.i[warp] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int) (blockDim.x >> 5); w++) {
            if (s.i[w] >= 0 && (bi < 0 || beats(s.f[w], s.i[w], best, bi))) {
                best = s.f[w];
                bi = s.i[w];
            }
        }
        s.result = bi;
    }
    __syncthreads();
    return s.result;
}

// A float as an unsigned key in value order (-0 as +0, NaN canonical and above +inf).
__device__ __forceinline__ unsigned ordered(float f) {
    unsigned u = isnan(f) ? 0x7FC00000u : f == 0.0f ? 0u : __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// SamplingMath.rankKey as an unsigned 64-bit key: larger value first, then lower id.
__device__ __forceinline__ u64 rank_key(float f, int v) {
    return ((u64) ordered(f) << 32) | (unsigned) ~v;
}

// Radix select: among v < n with pred(v), the largest key K (of keyBits bits) such that the weights of
// the keys >= K sum to at least need (need >= 1); false when all of them together weigh less.
// With weight 1 (Unit) and need m this is the m-th largest key; with probabilities as weights it is
// where a descending cumulative sum first reaches need. 8-bit digits, one pass over the row per digit,
// ending early once the chosen digit's bin is needed whole (or holds one key): K then has zeros
// below it, which selects the same set of keys. Each warp reads 32 consecutive ids and adds one
// atomic per distinct bin: peaked rows put most keys in one or two bins.
template <bool Unit, class Key, class Weight, class Pred>
__device__ bool select_top(int n, int keyBits, u64 need, const Key& key, const Weight& weight, const Pred& pred,
        Shared& s, u64& found) {
    const int lane = threadIdx.x & 31;
    u64 prefix = 0, mask = 0, above = 0;
    for (int shift = keyBits - 8; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) {
            s.hist[b] = 0;
            s.cnt[b] = 0;
        }
        __syncthreads();
        for (int base = threadIdx.x - lane; base < n; base += blockDim.x) {  // warp-uniform trip count
            int v = base + lane, bin = -1;
            u64 w = 0;
            if (v < n && pred(v)) {
                u64 k = key(v);
                if ((k & mask) == prefix) {
                    bin = (int) ((k >> shift) & 255);
                    w = Unit ? 1 : weight(v);
                }
            }
            unsigned peers = __match_any_sync(0xFFFFFFFFu, bin);
            u64 sum = __popc(peers);
            if (!Unit) {
                sum = 0;
                for (int i = 0; i < 32; i++) {
                    u64 o = __shfl_sync(0xFFFFFFFFu, w, i);
                    sum += (peers >> i) & 1 ? o : 0;
                }
            }
            if (bin >= 0 && lane == __ffs(peers) - 1) {
                atomicAdd(&s.hist[bin], sum);
                atomicAdd(&s.cnt[bin], (unsigned) __popc(peers));
            }
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            u64 chosen = ~0ull;
            for (int b = 255; b >= 0; b--) {
                if (above + s.hist[b] >= need) {
                    chosen = b;
                    s.done = above + s.hist[b] == need || s.cnt[b] == 1;
                    break;
                }
                above += s.hist[b];
            }
            s.chosen = chosen;
            s.above = above;
        }
        __syncthreads();
        u64 chosen = s.chosen;
        above = s.above;
        if (chosen == ~0ull) {
            return false;
        }
        prefix |= chosen << shift;
        mask |= 255ull << shift;
        if (s.done) {
            break;
        }
    }
    found = prefix;
    return true;
}

// How many v < n satisfy pred.
template <class Pred>
__device__ int block_count(int n, const Pred& pred, Shared& s) {
    u64 c = 0;
    for (int v = threadIdx.x; v < n; v += blockDim.x) {
        c += pred(v) ? 1 : 0;
    }
    return (int) block_total(c, s);
}

// A probability in [0, 1] as a 2^-62 fixed-point integer: sums over the kept set are exact and
// independent of the order, so the reductions are deterministic.
__device__ __forceinline__ u64 fixed(float p) {
    return __double2ull_rn((double) p * 0x1.0p62);
}

// SamplingRandom.uniform: SplitMix64's finalizer over (seed, offset).
__device__ __forceinline__ u64 mix(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__device__ __forceinline__ double uniform(long long seed, long long offset) {
    u64 z = (u64) seed + ((u64) offset + 1ull) * 0x9E3779B97F4A7C15ull;
    z = mix(z);
    z = mix(z ^ (u64) seed);
    return (double) (z >> 11) * 0x1.0p-53;
}

// f32(exp(f32(l − m))), the reference's e_v.
__device__ __forceinline__ float exp_shifted(float l, float m) {
    return (float) exp((double) __fsub_rn(l, m));
}

}  // namespace sampling

// One block of 1024 threads per row b (Sample's steps as SampleKernel, see SamplingKernels.java).
// logits: F32 [B, V]; temperature, topP, minP: F32 [B]; topK: I32 [B]; seeds, offsets: I64 [B];
// out: I32 [B]; p: F32 scratch [B, V] (the row's probabilities, written once, read by later passes).
extern "C" __global__ void __launch_bounds__(sampling::THREADS) smp_sample(View logits, const float* temperature,
        const int* topK, const float* topP, const float* minP, const long long* seeds, const long long* offsets, int* out,
        float* probs, int vocab) {
    using namespace sampling;
    __shared__ Shared s;
    int b = blockIdx.x;
    float t = temperature[b];
    auto x = [&](int v) { return *(const float*) at(logits, b, v); };
    if (t <= 0.0f) {
        int id = block_argmax(vocab, x, s);
        if (threadIdx.x == 0) {
            out[b] = id;
        }
        return;
    }
    auto l = [&](int v) { return __fdiv_rn(x(v), t); };
    float m = __int_as_float(0xFF800000);
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        m = java_max(m, l(v));
    }
    m = block_max(m, s);
    if (!isfinite(m)) {  // NaN or +inf in l (or all -inf): p is undefined, the argmax of l
        int id = block_argmax(vocab, l, s);
        if (threadIdx.x == 0) {
            out[b] = id;
        }
        return;
    }
    double sum = 0.0;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        sum += exp_shifted(l(v), m);
    }
    sum = block_sum(sum, s);
    float* p = probs + (long long) b * vocab;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        p[v] = __double2float_rn((double) exp_shifted(l(v), m) / sum);
    }
    __syncthreads();

    // min-p: keep p_v >= minP · max p
    float mp = minP[b];
    bool useMinP = mp > 0.0f;
    float minThreshold = 0.0f;
    if (useMinP) {
        float pmax = 0.0f;
        for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
            pmax = java_max(pmax, p[v]);
        }
        minThreshold = __fmul_rn(mp, block_max(pmax, s));
    }
    auto keep1 = [&](int v) { return !useMinP || p[v] >= minThreshold; };
    int kept = useMinP ? block_count(vocab, keep1, s) : vocab;

    // top-k: keep l_v >= the k-th largest kept l (ties at the threshold all kept), compared as keys
    int k = topK[b];
    bool useTopK = k > 0 && k < vocab && k < kept;
    u64 topKKey = 0;
    if (useTopK) {
        select_top<true>(vocab, 32, (u64) k, [&](int v) { return (u64) ordered(l(v)); }, [](int) { return 1ull; },
                keep1, s, topKKey);
        kept = k;  // at least k remain: only positivity matters below
    }
    auto keep2 = [&](int v) { return keep1(v) && (!useTopK || (u64) ordered(l(v)) >= topKKey); };

    // top-p: the shortest prefix in (p descending, id ascending) order whose mass reaches topP · kept mass
    float tp = topP[b];
    bool useTopP = tp < 1.0f && kept > 0;
    auto pkey = [&](int v) { return ((u64) __float_as_uint(p[v]) << 32) | (unsigned) ~v; };
    u64 topPKey = 0;
    if (useTopP) {
        u64 mass = 0;
        for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
            mass += keep2(v) ? fixed(p[v]) : 0;
        }
        mass = block_total(mass, s);
        double target = (double) tp * (double) mass;  // integer cum >= target  <=>  cum >= ceil(target)
        u64 need = target <= 1.0 ? 1ull : __double2ull_ru(target);
        useTopP = select_top<false>(vocab, 64, need, pkey, [&](int v) { return fixed(p[v]); }, keep2, s, topPKey);
    }
    auto keep3 = [&](int v) { return keep2(v) && (!useTopP || pkey(v) >= topPKey); };

    // draw: walking kept ids upward, the first whose running mass exceeds u · mass. Each thread owns a
    // contiguous run of ids; an exclusive scan of the runs' masses finds the run where the walk ends.
    int run = (vocab + blockDim.x - 1) / blockDim.x;
    int lo = min(vocab, (int) threadIdx.x * run), hi = min(vocab, lo + run);
    u64 mine = 0;
    for (int v = lo; v < hi; v++) {
        mine += keep3(v) ? fixed(p[v]) : 0;
    }
    u64 total;
    u64 before = block_scan(mine, total, s);
    if (total == 0) {  // nothing kept (min-p above 1): the argmax of l
        int id = block_argmax(vocab, l, s);
        if (threadIdx.x == 0) {
            out[b] = id;
        }
        return;
    }
    u64 target = __double2ull_rd(uniform(seeds[b], offsets[b]) * (double) total);  // cum > u·mass <=> cum > floor(u·mass)
    if (threadIdx.x == 0) {
        s.result = -1;
    }
    __syncthreads();
    if (before <= target && target < before + mine) {
        u64 cum = before;
        for (int v = lo; v < hi; v++) {
            if (keep3(v)) {
                cum += fixed(p[v]);
                if (cum > target) {
                    s.result = v;
                    break;
                }
            }
        }
    }
    __syncthreads();
    int id = s.result;
    if (id < 0) {  // rounding carried the draw past the kept mass: the last kept id
        int last = -1;
        for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
            last = keep3(v) ? v : last;
        }
        for (int o = 16; o > 0; o >>= 1) {
            last = max(last, __shfl_xor_sync(0xFFFFFFFFu, last, o));
        }
        __syncthreads();
        if ((threadIdx.x & 31) == 0) {
            s.i[threadIdx.x >> 5] = last;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 0; w < (int) (blockDim.x >> 5); w++) {
                last = max(last, s.i[w]);
            }
            out[b] = last;
        }
        return;
    }
    if (threadIdx.x == 0) {
        out[b] = id;
    }
}

// Bad-input check before an op that must not change anything on bad input: every ids[r, c] in
// [lo, hi), else report (r, c, value). ids: I32 [rows, cols].
extern "C" __global__ void smp_check_ids(View ids, long long rows, int cols, int lo, int hi, int* err, int errCode) {
    GRID_STRIDE(i, rows * cols) {
        int r = (int) (i / cols), c = (int) (i % cols);
        int id = *(const int*) at(ids, r, c);
        if (id < lo || id >= hi) {
            report_error(err, errCode, r, c, id);
        }
    }
}

// Penalties, pass 1 over the token lists of rows [0, rows): counts[r, v] = occurrences of v in the
// output, bit 31 set when v is in the prompt (counts zeroed before). Skipped after a reported error.
extern "C" __global__ void smp_pen_count(View prompt, View output, unsigned* counts, int rows, int promptLen,
        int outputLen, int vocab, const int* err) {
    if (*(const volatile int*) err != 0) {
        return;
    }
    int len = promptLen + outputLen;
    GRID_STRIDE(i, (long long) rows * len) {
        int r = (int) (i / len), j = (int) (i % len);
        int id = j < promptLen ? *(const int*) at(prompt, r, j) : *(const int*) at(output, r, j - promptLen);
        if (id >= 0) {
            unsigned* c = counts + (long long) r * vocab + id;
            if (j < promptLen) {
                atomicOr(c, 0x80000000u);
            } else {
                atomicAdd(c, 1u);
            }
        }
    }
}

// Penalties, pass 2 over logits [rows, V], as PenaltiesKernel, each step rounded as the reference
// (no contraction into fma). rep, pres, freq: F32 [rows].
extern "C" __global__ void smp_pen_apply(View logits, const unsigned* counts, const float* rep, const float* pres,
        const float* freq, int rows, int vocab, const int* err) {
    if (*(const volatile int*) err != 0) {
        return;
    }
    GRID_STRIDE(i, (long long) rows * vocab) {
        int r = (int) (i / vocab), v = (int) (i % vocab);
        unsigned c = counts[i];
        int count = (int) (c & 0x7FFFFFFFu);
        float penalty = (c & 0x80000000u) || count > 0 ? rep[r] : 1.0f;
        float* p = (float*) at(logits, r, v);
        float x = *p;
        x = x > 0.0f ? __fdiv_rn(x, penalty) : __fmul_rn(x, penalty);
        x = __fsub_rn(x, __fmul_rn(freq[r], (float) count));
        x = __fsub_rn(x, __fmul_rn(pres[r], count > 0 ? 1.0f : 0.0f));
        *p = x;
    }
}

// One block of 1024 threads per row b: lp = f32(f64(f32(l − m)) − ln Σ f32(exp(f32(l − m)))) for the
// n top-ranked logits (sorted by rank key) and the row's token. logits: F32 [B, V]; outIds: I32 [B, n];
// outLogprobs: F32 [B, n]; tokenIds: I32 [B] or null; tokenLogprob: F32 [B]; sorted: the rank keys
// being sorted, capacity (a power of two >= n) per row: dynamic shared memory when global is null.
extern "C" __global__ void __launch_bounds__(sampling::THREADS) smp_top_logprobs(View logits, int n, View outIds,
        View outLogprobs, const int* tokenIds, float* tokenLogprob, unsigned long long* global, int capacity, int vocab,
        const int* err) {
    using namespace sampling;
    __shared__ Shared s;
    extern __shared__ u64 dynamic[];
    if (tokenIds != nullptr && *(const volatile int*) err != 0) {
        return;  // a token id was out of range: write nothing
    }
    int b = blockIdx.x;
    auto l = [&](int v) { return *(const float*) at(logits, b, v); };
    float m = __int_as_float(0xFF800000);
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        m = java_max(m, l(v));
    }
    m = block_max(m, s);
    double sum = 0.0;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        sum += exp_shifted(l(v), m);
    }
    double lse = log(block_sum(sum, s));
    auto logprob = [&](int v) { return (float) ((double) __fsub_rn(l(v), m) - lse); };
    if (n > 0) {
        auto key = [&](int v) { return rank_key(l(v), v); };
        u64 cut;
        select_top<true>(vocab, 64, (u64) n, key, [](int) { return 1ull; }, [](int) { return true; }, s, cut);
        u64* keys = global != nullptr ? global + (long long) b * capacity : dynamic;
        if (threadIdx.x == 0) {
            s.count = 0;
        }
        __syncthreads();
        for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
            u64 k = key(v);
            if (k >= cut) {  // keys are distinct: exactly n of them
                keys[atomicAdd(&s.count, 1)] = k;
            }
        }
        for (int i = n + threadIdx.x; i < capacity; i += blockDim.x) {
            keys[i] = 0;  // below every real key
        }
        __syncthreads();
        for (int size = 2; size <= capacity; size <<= 1) {  // bitonic sort, descending
            for (int stride = size >> 1; stride > 0; stride >>= 1) {
                for (int i = threadIdx.x; i < capacity; i += blockDim.x) {
                    int j = i ^ stride;
                    if (j > i) {
                        u64 a = keys[i], c = keys[j];
                        if ((i & size) == 0 ? a < c : a > c) {
                            keys[i] = c;
                            keys[j] = a;
                        }
                    }
                }
                __syncthreads();
            }
        }
        for (int j = threadIdx.x; j < n; j += blockDim.x) {
            int v = (int) ~(unsigned) keys[j];
            *(int*) at(outIds, b, j) = v;
            *(float*) at(outLogprobs, b, j) = logprob(v);
        }
    }
    if (tokenIds != nullptr && threadIdx.x == 0) {
        tokenLogprob[b] = logprob(tokenIds[b]);
    }
}
