// One persistent kernel per decode step against a chain of dependent launches (docs/performance.md,
// runs 9-13): the 65 batch-1 projections of a Llama-3.2-1B-shaped step (and a step-like sequence with
// an RMS norm stand-in for each of the ~65 small kernels) run (a) as linear.cu's linear_gemv_bf16 /
// norm.cu's norm_rms_bf16_bf16 launched with programmatic dependent launch in a captured graph, and
// (b, c) as stages of one cooperative kernel of SMs x 2 blocks, a grid-wide barrier on a device
// counter between stages: (b) waits at the barrier before the stage's first weight loads, (c) issues
// them before it waits (as the PDL kernel does before pdl_wait). The GEMV's arithmetic is linear.cu's
// gemv1::gemv_over, the kernel's body for a virtual block index and grid with the stage's wait in place
// of its pdl_begin(); outputs are checked bit for bit against (a). Every variant
// is timed by graph replay; every projection of a step has its own weights (2077 MB, past the L2).
// Also: five grid-barrier implementations (FLAVOR, see GridBar; 4: per-block flags), the views' dtype
// fixed at compile time (SLIM), the same stages with no barrier at all (MODE 2: wrong outputs, the
// floor under any barrier), the norms folded into the next GEMV's staging of x, and empty boundaries
// (an empty PDL kernel or an empty stage after each GEMV; 130 empty kernels against 130 barriers with
// no work).
// A development tool; no Java needed:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/pb/persistent_bench tools/gpu/bench/persistent_bench.cu     # here
//   .gpu/pb/persistent_bench [rounds] [reps]                                  # on the GPU machine (carry .gpu/pb)
// Variants aU, a+U and dU launch the same chains with every op in one kernel function (one_function);
// cS1pN and dM1pN prefetch N further batches of each warp's weights into L2 before a barrier (PF).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "linear.cu"
#include "norm.cu"
#include "bench_common.cuh"

// The GEMV stages run linear.cu's own body, gemv1::gemv_over (a virtual block of a virtual grid, the
// wait a parameter), staging x with gemv1::stage_x<true> (past L1: other blocks wrote it), so the
// arithmetic is the kernel's.

// ---- grid barrier on a monotonically increasing 64-bit counter ----
// Every block arrives once per barrier, and no block arrives at barrier j + 1 before all arrived at j,
// so an arrival's old value / grid is the barrier's generation and the target is (generation + 1) *
// grid: no reset between barriers, launches or graph replays (as long as every kernel on the counter
// has the same grid). FLAVOR 0: cooperative groups' pattern (__syncthreads; thread 0: __threadfence,
// atomicAdd, spin on ld.acquire.gpu, __threadfence; __syncthreads). FLAVOR 1: atom.add.release.gpu
// and the ld.acquire.gpu spin, no separate fences. FLAVOR 2: red.release.gpu (no value back; each block
// counts barriers itself from the counter's value at the kernel's start, a multiple of the grid then
// up to the arrivals at the first barrier). FLAVOR 3: atom.add.acq_rel.gpu; the last to arrive stores
// the generation with st.release.gpu in a word 128 bytes away, which the others poll (so the polls do
// not hit the line the arrivals add to). FLAVOR 4: no shared counter: each block has a word of its own
// (ctr[64 + block]) into which thread 0 stores its barrier count (st.release.gpu), and warp 0 polls
// every block's word, its grid / 32 relaxed loads per lane in flight at once, until all reached the
// count, then one fence.acq_rel.gpu (no read-modify-write that 264 blocks serialize on).
__device__ __forceinline__ unsigned long long ld_acquire_u64(const unsigned long long* p) {
    unsigned long long v;
    asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ unsigned long long atom_add_release_u64(unsigned long long* p, unsigned long long v) {
    unsigned long long old;
    asm volatile("atom.add.release.gpu.global.u64 %0, [%1], %2;" : "=l"(old) : "l"(p), "l"(v) : "memory");
    return old;
}

__device__ __forceinline__ unsigned long long atom_add_acq_rel_u64(unsigned long long* p, unsigned long long v) {
    unsigned long long old;
    asm volatile("atom.add.acq_rel.gpu.global.u64 %0, [%1], %2;" : "=l"(old) : "l"(p), "l"(v) : "memory");
    return old;
}

__device__ __forceinline__ void red_add_release_u64(unsigned long long* p, unsigned long long v) {
    asm volatile("red.release.gpu.global.add.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}

__device__ __forceinline__ void st_release_u64(unsigned long long* p, unsigned long long v) {
    asm volatile("st.release.gpu.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}

__device__ __forceinline__ unsigned long long ld_relaxed_u64(const unsigned long long* p) {
    unsigned long long v;
    asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
    return v;
}

constexpr int FLAG_MAX_PER_LANE = 16;  // FLAVOR 4: grids of up to 512 blocks

template <int FLAVOR>
struct GridBar {
    unsigned long long* ctr;    // FLAVOR 3: ctr[16] is the generation word
    unsigned long long target;  // thread 0's: the counter's (FLAVOR 3: the generation's) value to wait for
    __device__ __forceinline__ void init() {
        if (FLAVOR == 2 && threadIdx.x == 0) {
            const unsigned long long v = ld_acquire_u64(ctr);
            target = v - v % gridDim.x;
        }
        if (FLAVOR == 4) {  // every block's word is the same between launches
            target = ld_acquire_u64(ctr + 64 + blockIdx.x);
        }
    }
    __device__ __forceinline__ void arrive() {
        __syncthreads();
        if (threadIdx.x == 0) {
            const unsigned long long g = gridDim.x;
            if (FLAVOR == 0) {
                __threadfence();
                const unsigned long long old = atomicAdd(ctr, 1ULL);
                target = (old / g + 1) * g;
            } else if (FLAVOR == 1) {
                const unsigned long long old = atom_add_release_u64(ctr, 1ULL);
                target = (old / g + 1) * g;
            } else if (FLAVOR == 2) {
                red_add_release_u64(ctr, 1ULL);
                target += g;
            } else if (FLAVOR == 4) {
                st_release_u64(ctr + 64 + blockIdx.x, target + 1);
            } else {
                const unsigned long long old = atom_add_acq_rel_u64(ctr, 1ULL);
                target = old / g + 1;
                if (old % g == g - 1) {
                    st_release_u64(ctr + 16, target);
                }
            }
        }
    }
    __device__ __forceinline__ void wait() {
        if (FLAVOR == 4) {
            target += 1;  // every thread's copy
            if (threadIdx.x < 32) {
                const unsigned long long* flags = ctr + 64;
                bool done;
                do {
                    unsigned long long v[FLAG_MAX_PER_LANE];
#pragma unroll
                    for (int j = 0; j < FLAG_MAX_PER_LANE; j++) {
                        const int b = threadIdx.x + 32 * j;
                        v[j] = b < (int) gridDim.x ? ld_relaxed_u64(flags + b) : target;
                    }
                    done = true;
#pragma unroll
                    for (int j = 0; j < FLAG_MAX_PER_LANE; j++) {
                        done &= v[j] >= target;
                    }
                } while (!__all_sync(0xFFFFFFFFu, done));
                asm volatile("fence.acq_rel.gpu;" ::: "memory");
            }
            __syncthreads();
            return;
        }
        if (threadIdx.x == 0) {
            const unsigned long long* w = FLAVOR == 3 ? ctr + 16 : ctr;
            while (ld_acquire_u64(w) < target) {
            }
            if (FLAVOR == 0) {
                __threadfence();
            }
        }
        __syncthreads();
    }
};

// ---- the persistent step kernel ----
// One RMS norm of a bf16 row of 2048 (norm.cu's row form with 256 threads: thread t = word t, the
// same bits): x (+ residual) -> residualOut (if hasRes), out.
struct NormD {
    const uint4 *x, *res, *nw;
    uint4 *resOut, *out;
    int hasRes, pad;
};
enum { OP_GEMV = 0, OP_NORM = 1, OP_NOP = 2 };
struct PStage {
    int op, n, k, splits, vgrid, fn, nnorm, pad;  // nnorm: GEMV: norms folded into its staging of x
    View x, w, out, act;                          // GEMV (act.p null: plain)
    NormD nd[2];                                  // OP_NORM: nd[0] (nd[1] on its output if nnorm == 2); OP_GEMV: nd[0 .. nnorm)
};

constexpr float EPS = 1e-5f;
constexpr int PB_THREADS = 256, PB_SMEM = 8192 * 2;

__device__ __forceinline__ uint4 rms_word(const uint4& xw, const uint4& rw, int hasRes, const uint4& wv,
        float* scratch, uint4& rsum) {
    float r[8], w[8];
    unpack8<DT_BF16>(wv, w);  // rms_weight8<DT_BF16>
    float ss = rms_load8<DT_BF16>(xw, rw, hasRes, r);
    rsum = pack8<DT_BF16>(r);
    ss = block_sum(ss, scratch);
    return rms_scale8<DT_BF16>(r, w, rms_inv(ss, 2048, EPS), 0);
}

// Every op of the chains in one kernel function (op 0: linear.cu's GEMV, 1: norm.cu's RMS norm, 2:
// nothing), launched as separate dependent launches like the chains of two or three functions: what a
// change of kernel function between consecutive launches costs (variants aU, a+U, dU).
__global__ void __launch_bounds__(gemv1::GV_WARPS * 32, gemv1::GV_BLOCKS_PER_SM) one_function(int op, View x,
        View w, View bias, View out, int n, int k, int hasBias, View act, int fn, int splits, View nx, View nw,
        View nr, View nro, View no, int hasRes, unsigned* sink) {
    if (op == OP_GEMV) {
        extern __shared__ uint4 usx[];
        gemv1::gemv(w, bias, out, n, k, hasBias, act, fn, splits, usx, [&](uint4* s) { gemv1::stage_x(x, k, s); });
    } else if (op == OP_NORM) {
        normk::rms<DT_BF16, DT_BF16>(nx, nw, nr, nro, no, 2048, EPS, hasRes, 0);
    } else {
        pdl_begin();
        if (threadIdx.x >= blockDim.x) {  // never: only so that the op has a body
            *sink = 1;
        }
    }
}

// MODE 0 (variant b): a whole barrier before each stage. MODE 1 (variant c): arrive after a stage; the
// next stage issues its weight loads (GEMV: the first batch, as before pdl_begin(); norm: its weight)
// and then waits. MODE 2: no barrier at all (timing only, wrong outputs: the floor under any barrier). KIND 0: GEMV stages only; KIND 1: GEMV (with norms folded into the staging of x),
// norm (block 0 computes and writes it) and empty stages. SLIM 1: the views' dtype (bf16) and strides
// fixed at compile time instead of read from the table (fewer registers; the same arithmetic).
// PF (MODE 1, GEMV stages): before waiting at the barrier, each warp also prefetches into L2 the PF
// batches of weights after its first (which it has issued into registers), so that HBM keeps
// streaming while the grid synchronises.
template <int MODE, int KIND, int FLAVOR, int SLIM, int PF = 0>
__global__ void __launch_bounds__(PB_THREADS, 2) persist(const PStage* __restrict__ tab, int nst,
        unsigned long long* ctr) {
    extern __shared__ uint4 psx[];
    __shared__ float scratch[32];
    __shared__ uint4 snw[KIND ? 2 : 1][KIND ? PB_THREADS : 1];  // KIND 1: folded norms' weights and descriptors
    __shared__ NormD snd[2];
    GridBar<FLAVOR> bar{ctr, 0};
    bar.init();
    const int vb = blockIdx.x, t = threadIdx.x;
    for (int s = 0; s < nst; s++) {
        const PStage* S = tab + s;
        const int op = KIND ? S->op : (int) OP_GEMV;
        const int n = S->n, k = S->k, splits = S->splits, vgrid = S->vgrid, fn = S->fn;
        const int nnorm = KIND ? S->nnorm : 0;
        const View x = SLIM ? View{S->x.p, k, DT_BF16, 0} : S->x, w = SLIM ? View{S->w.p, k, DT_BF16, 0} : S->w,
                   out = SLIM ? View{S->out.p, n, DT_BF16, 0} : S->out,
                   act = SLIM ? View{S->act.p, n / 2, DT_BF16, 0} : S->act;
        if (MODE == 0 && s > 0) {
            bar.arrive();
            bar.wait();
        }
        auto wait = [&]() {
            if (MODE == 1 && s > 0) {
                bar.wait();
            }
        };
        auto prefetch_then_wait = [&]() {  // a GEMV stage's wait: gemv_over's batch order, PF batches ahead
            if (PF > 0 && MODE == 1 && s > 0) {
                const int lane = t & 31, warp = t >> 5, row = lane >> 4, line = lane & 15;
                const bool gated = act.p != nullptr;
                const int items = gated ? n / 2 : (n + 1) / 2, units = items * splits, words = k / 8;
                const int batches = (words + 32 * gemv1::GV_B - 1) / (32 * gemv1::GV_B), stride = vgrid * gemv1::GV_WARPS;
                int u = vb * gemv1::GV_WARPS + warp, b = (u % splits) * batches / splits;
                for (int i = 0; i < PF; i++) {
                    if (b++ == ((u % splits) + 1) * batches / splits - 1) {
                        u += stride;
                        b = (u % splits) * batches / splits;
                    }
                    if (u >= units) {
                        break;
                    }
                    const int item = u / splits, r = gated ? item + row * (n / 2) : min(item * 2 + row, n - 1);
                    const long long off = 16LL * 32 * gemv1::GV_B * b + 128 * line;  // a row's batch: 16 lines
                    if (off < 16LL * words) {
                        prefetch_l2(at(w, r, 0) + off);
                    }
                }
            }
            wait();
        };
        if (op == OP_GEMV) {
            if (vb < vgrid) {
                const View bias{nullptr, 0, DT_F32, 0};
                if (KIND && nnorm > 0) {
                    // the norms' descriptors and weights into shared memory before the wait (registers
                    // are what the GEMV's loads in flight need): weights by cp.async, each thread its word
                    if (t < 2) {
                        snd[t] = S->nd[t];
                    }
                    for (int i = 0; i < nnorm; i++) {
                        const unsigned dst = (unsigned) __cvta_generic_to_shared(&snw[i][t]);
                        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(S->nd[i].nw + t) : "memory");
                    }
                    asm volatile("cp.async.commit_group;" ::: "memory");
                }
                gemv1::gemv_over(w, bias, out, n, k, 0, act, fn, splits, psx, vb, vgrid, prefetch_then_wait, [&](uint4* sxp) {
                    if (!(KIND && nnorm > 0)) {
                        gemv1::stage_x<true>(x, k, sxp);
                        return;
                    }
                    asm volatile("cp.async.wait_all;" ::: "memory");
                    __syncthreads();  // snd (MODE 0 and the first stage have no barrier after it)
                    const NormD& n0 = snd[0];
                    const NormD& n1 = snd[1];
                    const uint4 w0 = snw[0][t], w1 = snw[1][t];
                    const uint4 xw = __ldcg(n0.x + t), rw = n0.hasRes ? __ldcg(n0.res + t) : xw;
                    uint4 rsum, o = rms_word(xw, rw, n0.hasRes, w0, scratch, rsum);
                    if (vb == 0) {
                        if (n0.hasRes) {
                            n0.resOut[t] = rsum;
                        }
                        n0.out[t] = o;
                    }
                    if (nnorm > 1) {
                        o = rms_word(o, o, 0, w1, scratch, rsum);
                        if (vb == 0) {
                            n1.out[t] = o;
                        }
                    }
                    sxp[t] = o;
                    __syncthreads();
                });
            } else {
                wait();
            }
        } else if (KIND && op == OP_NORM && vb == 0) {
            const NormD n0 = S->nd[0];
            const uint4 wv = n0.nw[t], wv1 = nnorm > 1 ? S->nd[1].nw[t] : make_uint4(0, 0, 0, 0);
            wait();
            const uint4 xw = __ldcg(n0.x + t), rw = n0.hasRes ? __ldcg(n0.res + t) : xw;
            uint4 rsum, o = rms_word(xw, rw, n0.hasRes, wv, scratch, rsum);
            if (n0.hasRes) {
                n0.resOut[t] = rsum;
            }
            n0.out[t] = o;
            if (nnorm > 1) {  // a second norm of the first's output (the "rotary" then "attention" stand-ins)
                o = rms_word(o, o, 0, wv1, scratch, rsum);
                S->nd[1].out[t] = o;
            }
        } else {
            wait();
        }
        if (MODE == 1 && s + 1 < nst) {
            bar.arrive();
        }
    }
}

// `count` barriers and nothing else, on the persistent grid
template <int FLAVOR>
__global__ void __launch_bounds__(PB_THREADS, 2) barriers_only(int count, unsigned long long* ctr) {
    GridBar<FLAVOR> bar{ctr, 0};
    bar.init();
    for (int i = 0; i < count; i++) {
        bar.arrive();
        bar.wait();
    }
}

__device__ __forceinline__ unsigned mix32(unsigned long long i, unsigned seed) {
    unsigned h = (unsigned) i * 0x9E3779B1u ^ (unsigned) (i >> 32) * 0x85EBCA77u ^ seed * 0xC2B2AE3Du;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return h;
}

// bf16 fills: kind 0 weights ±[2^-7, 2^-5); 1 activations ±[0.5, 2); 2 norm weights [1, 1.12)
__global__ void fill_bf16(unsigned short* p, long long n, unsigned seed, int kind) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        const unsigned h = mix32(i, seed);
        p[i] = kind == 0 ? (unsigned short) ((h & 0x8000u) | 0x3C00u | ((h >> 3) & 0xFFu))
             : kind == 1 ? (unsigned short) ((h & 0x8000u) | 0x3F00u | ((h >> 3) & 0xFFu))
                         : (unsigned short) (0x3F80u | (h & 0xFu));
    }
}

// ---- host ----

// one op of a sequence: a GEMV (x [k] -> out [n], gated: act [n/2]), an RMS norm of 2048, or nothing
struct HOp {
    int kind;  // OP_GEMV, OP_NORM, OP_NOP
    int n = 0, k = 0, fn = 0;
    const void* w = nullptr;
    const void* x = nullptr;
    void* out = nullptr;
    void* act = nullptr;
    NormD nd{};
};

struct Stat { std::string name; std::vector<double> us; };

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 9, reps = argc > 2 ? atoi(argv[2]) : 30;
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    int drv = 0, rtv = 0;
    CK(cudaDriverGetVersion(&drv));
    CK(cudaRuntimeGetVersion(&rtv));
    printf("device: %s, %d SMs, L2 %d MB, driver %d, runtime %d; GV_WARPS %d GV_R %d GV_B %d GV_BLOCKS_PER_SM %d\n",
           prop.name, sms, prop.l2CacheSize >> 20, drv, rtv, gemv1::GV_WARPS, gemv1::GV_R, gemv1::GV_B,
           gemv1::GV_BLOCKS_PER_SM);
    CK(cudaFuncSetAttribute(linear_gemv_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));

    // persistent grid: at most 2 blocks per SM, as many as are co-resident
    void* pkernels[] = {(void*) persist<0, 0, 0, 0>, (void*) persist<1, 0, 0, 0>, (void*) persist<0, 0, 0, 1>,
                        (void*) persist<1, 0, 0, 1>, (void*) persist<1, 0, 1, 1>, (void*) persist<1, 0, 2, 1>,
                        (void*) persist<1, 0, 3, 1>, (void*) persist<2, 0, 0, 1>, (void*) persist<0, 1, 0, 1>,
                        (void*) persist<1, 1, 0, 1>, (void*) persist<1, 1, 1, 1>, (void*) persist<1, 1, 2, 1>,
                        (void*) persist<1, 1, 3, 1>, (void*) persist<2, 1, 0, 1>, (void*) barriers_only<0>,
                        (void*) barriers_only<1>, (void*) barriers_only<2>, (void*) barriers_only<3>,
                        (void*) persist<1, 0, 4, 1>, (void*) persist<1, 1, 4, 1>, (void*) barriers_only<4>};
    const char* pnames[] = {"persist<0,0,0,0>", "persist<1,0,0,0>", "persist<0,0,0,1>", "persist<1,0,0,1>",
                            "persist<1,0,1,1>", "persist<1,0,2,1>", "persist<1,0,3,1>", "persist<2,0,0,1>",
                            "persist<0,1,0,1>", "persist<1,1,0,1>", "persist<1,1,1,1>", "persist<1,1,2,1>",
                            "persist<1,1,3,1>", "persist<2,1,0,1>", "barriers_only<0>", "barriers_only<1>",
                            "barriers_only<2>", "barriers_only<3>", "persist<1,0,4,1>", "persist<1,1,4,1>",
                            "barriers_only<4>"};
    int pi = 0;
    int perSm = 2;
    for (void* f : pkernels) {
        int nb = 0;
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, f, PB_THREADS, PB_SMEM));
        cudaFuncAttributes fa;
        CK(cudaFuncGetAttributes(&fa, f));
        printf("  %-20s (MODE, KIND, FLAVOR, SLIM): %d regs, %zu B local, %d blocks/SM co-resident\n", pnames[pi++],
               fa.numRegs, fa.localSizeBytes, nb);
        perSm = std::min(perSm, nb);
    }
    if (perSm < 1) { fprintf(stderr, "no co-resident block\n"); return 1; }
    const int grid = sms * perSm;
    printf("persistent grid: %d blocks of %d threads (%d per SM)\n", grid, PB_THREADS, perSm);

    // ---- weights: one copy per projection of a step, in step order ----
    struct Shape { int n, k; bool gated; };
    const Shape QKV{3072, 2048, false}, O{2048, 2048, false}, GU{16384, 2048, true}, DOWN{2048, 8192, false},
                LM{32000, 2048, false};
    const Shape layerShapes[4] = {QKV, O, GU, DOWN};
    const int L = 16;
    long long wtotal = 0;
    std::vector<long long> woff;
    for (int l = 0; l < L; l++)
        for (const Shape& s : layerShapes) { woff.push_back(wtotal); wtotal += (long long) s.n * s.k * 2; }
    woff.push_back(wtotal);
    wtotal += (long long) LM.n * LM.k * 2;
    char* wpool;
    CK(cudaMalloc(&wpool, wtotal));
    fill_bf16<<<sms * 8, 256, 0, st>>>((unsigned short*) wpool, wtotal / 2, 1234u, 0);
    CK(cudaGetLastError());
    printf("weights: %.1f MB in %zu projections\n", wtotal / 1e6, woff.size());
    auto W = [&](int l, int j) { return (const void*) (wpool + woff[l < L ? 4 * l + j : 4 * L]); };

    // ---- arena A: the GEMV-only chain (qkv: h[l] -> qkv[l]; o: qkv[l][0:2048] -> o[l]; gate/up: o[l] ->
    // gu[l], act[l]; down: act[l] -> h[l + 1]; LM head: h[16] -> logits) ----
    const long long E = 2048;
    const long long gPerLayer = 3072 + 2048 + 16384 + 8192 + 2048;
    const long long gElems = L * gPerLayer + 2048 + 32000;
    unsigned short* ga;
    CK(cudaMalloc(&ga, gElems * 2));
    // layout: h[0], then per layer qkv, o, gu, act, h[l+1]; then logits
    auto gH = [&](int l) { return ga + (l == 0 ? 0 : 2048 + (long long) (l - 1) * gPerLayer + 3072 + 2048 + 16384 + 8192); };
    auto gQKV = [&](int l) { return ga + 2048 + (long long) l * gPerLayer; };
    auto gO = [&](int l) { return gQKV(l) + 3072; };
    auto gGU = [&](int l) { return gO(l) + 2048; };
    auto gACT = [&](int l) { return gGU(l) + 16384; };
    unsigned short* gLOG = ga + 2048 + (long long) L * gPerLayer;
    auto gops = [&](int fn) {
        std::vector<HOp> ops;
        for (int l = 0; l < L; l++) {
            HOp q{OP_GEMV}; q.n = 3072; q.k = 2048; q.w = W(l, 0); q.x = gH(l); q.out = gQKV(l); ops.push_back(q);
            HOp o{OP_GEMV}; o.n = 2048; o.k = 2048; o.w = W(l, 1); o.x = gQKV(l); o.out = gO(l); ops.push_back(o);
            HOp g{OP_GEMV}; g.n = 16384; g.k = 2048; g.w = W(l, 2); g.x = gO(l); g.out = gGU(l); g.act = gACT(l); g.fn = fn; ops.push_back(g);
            HOp d{OP_GEMV}; d.n = 2048; d.k = 8192; d.w = W(l, 3); d.x = gACT(l); d.out = gH(l + 1); ops.push_back(d);
        }
        HOp h{OP_GEMV}; h.n = 32000; h.k = 2048; h.w = W(L, 0); h.x = gH(L); h.out = gLOG; ops.push_back(h);
        return ops;
    };

    // ---- arena D: a step-like sequence, an RMS norm of 2048 standing in for each small kernel:
    // N1 (d[l-1] + R''[l-1] -> R'[l], xn[l]), qkv, "rotary" = norm of qkv[l][0:2048] -> r[l], "attention"
    // = norm of r[l] -> a[l], o, N2 (o[l] + R'[l] -> R''[l], xn2[l]), gate/up, down (-> d[l]); final norm, LM head ----
    const long long dPerLayer = 2048 * 8 + 3072 + 16384 + 8192;
    const long long dElems = 2048 + L * dPerLayer + 2048 * 2 + 32000;
    unsigned short* da;
    CK(cudaMalloc(&da, dElems * 2));
    unsigned short* emb = da;
    auto dL = [&](int l) { return da + 2048 + (long long) l * dPerLayer; };
    auto dRp = [&](int l) { return dL(l); };
    auto dRpp = [&](int l) { return dL(l) + 2048; };
    auto dXN = [&](int l) { return dL(l) + 4096; };
    auto dR = [&](int l) { return dL(l) + 6144; };
    auto dA = [&](int l) { return dL(l) + 8192; };
    auto dO = [&](int l) { return dL(l) + 10240; };
    auto dXN2 = [&](int l) { return dL(l) + 12288; };
    auto dD = [&](int l) { return dL(l) + 14336; };
    auto dQKV = [&](int l) { return dL(l) + 16384; };
    auto dGU = [&](int l) { return dQKV(l) + 3072; };
    auto dACT = [&](int l) { return dGU(l) + 16384; };
    unsigned short* dRf = da + 2048 + (long long) L * dPerLayer;
    unsigned short* dXNF = dRf + 2048;
    unsigned short* dLOG = dXNF + 2048;
    unsigned short* nws;  // norm weights: 4 per layer + the final one
    CK(cudaMalloc(&nws, (4 * L + 1) * E * 2));
    fill_bf16<<<64, 256, 0, st>>>(nws, (4 * L + 1) * E, 77u, 2);
    CK(cudaGetLastError());
    auto NW = [&](int i) { return (const uint4*) (nws + (long long) i * E); };
    auto norm = [&](const void* x, const void* res, const uint4* nw, void* resOut, void* out) {
        HOp h{OP_NORM};
        h.nd = NormD{(const uint4*) x, (const uint4*) res, nw, (uint4*) resOut, (uint4*) out, res != nullptr, 0};
        return h;
    };
    std::vector<HOp> dops;
    for (int l = 0; l < L; l++) {
        dops.push_back(l == 0 ? norm(emb, nullptr, NW(4 * l), nullptr, dXN(l))
                              : norm(dD(l - 1), dRpp(l - 1), NW(4 * l), dRp(l), dXN(l)));
        HOp q{OP_GEMV}; q.n = 3072; q.k = 2048; q.w = W(l, 0); q.x = dXN(l); q.out = dQKV(l); dops.push_back(q);
        dops.push_back(norm(dQKV(l), nullptr, NW(4 * l + 1), nullptr, dR(l)));
        dops.push_back(norm(dR(l), nullptr, NW(4 * l + 2), nullptr, dA(l)));
        HOp o{OP_GEMV}; o.n = 2048; o.k = 2048; o.w = W(l, 1); o.x = dA(l); o.out = dO(l); dops.push_back(o);
        dops.push_back(norm(dO(l), l == 0 ? (const void*) emb : dRp(l), NW(4 * l + 3), dRpp(l), dXN2(l)));
        HOp g{OP_GEMV}; g.n = 16384; g.k = 2048; g.w = W(l, 2); g.x = dXN2(l); g.out = dGU(l); g.act = dACT(l); g.fn = 0; dops.push_back(g);
        HOp d{OP_GEMV}; d.n = 2048; d.k = 8192; d.w = W(l, 3); d.x = dACT(l); d.out = dD(l); dops.push_back(d);
    }
    dops.push_back(norm(dD(L - 1), dRpp(L - 1), NW(4 * L), dRf, dXNF));
    { HOp h{OP_GEMV}; h.n = 32000; h.k = 2048; h.w = W(L, 0); h.x = dXNF; h.out = dLOG; dops.push_back(h); }

    unsigned* sink;
    CK(cudaMalloc(&sink, 4));
    unsigned long long* ctrs;
    const int NCTR = 64;  // 4 KiB apart (FLAVOR 3 uses word 16 of its own, FLAVOR 4 words 64 + block)
    CK(cudaMalloc(&ctrs, NCTR * 4096));
    CK(cudaMemset(ctrs, 0, NCTR * 4096));
    int nextCtr = 0;
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));

    auto hop_grid = [&](const HOp& h, int& splits) {
        return (int) gemv_grid(h.act ? h.n / 2 : (h.n + 1) / 2, h.k, sms, splits);
    };
    // the chain of dependent launches of a sequence, as the decode step's graph launches it
    auto enqueue_pdl = [&](const HOp& h) {
        if (h.kind == OP_GEMV) {
            int splits;
            int blocks = hop_grid(h, splits);
            DependentLaunch d(dim3(blocks), dim3(gemv1::GV_WARPS * 32), (size_t) h.k * 2, st);
            View vx = view(h.x, h.k), vw = view(h.w, h.k), vb = view(nullptr, 0, DT_F32), vo = view(h.out, h.n),
                 va = view(h.act, h.n / 2);
            CK(cudaLaunchKernelEx(&d.config, linear_gemv_bf16, vx, vw, vb, vo, h.n, h.k, 0, va, h.fn, splits));
        } else if (h.kind == OP_NORM) {
            DependentLaunch d(dim3(1), dim3(256), 0, st);
            const NormD& n = h.nd;
            View vx = view(n.x, E), vw = view(n.nw, E), vr = view(n.hasRes ? n.res : n.x, E),
                 vro = view(n.hasRes ? (const void*) n.resOut : (const void*) n.x, E), vo = view(n.out, E);
            CK(cudaLaunchKernelEx(&d.config, norm_rms_bf16_bf16, vx, vw, vr, vro, vo, 2048, EPS, n.hasRes, 0));
        } else {
            DependentLaunch d(dim3(sms), dim3(256), 0, st);
            CK(cudaLaunchKernelEx(&d.config, empty_dependent, sink));
        }
    };
    // the same launches, every one of them the one_function kernel
    auto enqueue_one = [&](const HOp& h) {
        View none = view(nullptr, 0, DT_F32);
        if (h.kind == OP_GEMV) {
            int splits;
            int blocks = hop_grid(h, splits);
            DependentLaunch d(dim3(blocks), dim3(gemv1::GV_WARPS * 32), (size_t) h.k * 2, st);
            View vx = view(h.x, h.k), vw = view(h.w, h.k), vo = view(h.out, h.n), va = view(h.act, h.n / 2);
            CK(cudaLaunchKernelEx(&d.config, one_function, (int) OP_GEMV, vx, vw, none, vo, h.n, h.k, 0, va, h.fn, splits,
                                  none, none, none, none, none, 0, sink));
        } else if (h.kind == OP_NORM) {
            DependentLaunch d(dim3(1), dim3(256), 0, st);
            const NormD& n = h.nd;
            View vx = view(n.x, E), vw = view(n.nw, E), vr = view(n.hasRes ? n.res : n.x, E),
                 vro = view(n.hasRes ? (const void*) n.resOut : (const void*) n.x, E), vo = view(n.out, E);
            CK(cudaLaunchKernelEx(&d.config, one_function, (int) OP_NORM, none, none, none, none, 0, 0, 0, none, 0, 1,
                                  vx, vw, vr, vro, vo, n.hasRes, sink));
        } else {
            DependentLaunch d(dim3(sms), dim3(256), 0, st);
            CK(cudaLaunchKernelEx(&d.config, one_function, (int) OP_NOP, none, none, none, none, 0, 0, 0, none, 0, 1,
                                  none, none, none, none, none, 0, sink));
        }
    };
    auto pdl_graph = [&](const std::vector<HOp>& ops) {
        return capture_chain(st, (int) ops.size(), [&](int i) { enqueue_pdl(ops[i]); });
    };
    auto one_graph = [&](const std::vector<HOp>& ops) {
        return capture_chain(st, (int) ops.size(), [&](int i) { enqueue_one(ops[i]); });
    };
    // stage tables: as they are (fold 0), each run of norms folded into the next GEMV's staging (fold 1),
    // or (fold 2) a lone norm folded into the next GEMV and a pair of norms one norm stage of two
    auto make_tab = [&](const std::vector<HOp>& ops, int fold) {
        std::vector<PStage> tab;
        std::vector<NormD> held;
        for (const HOp& h : ops) {
            if (fold && h.kind == OP_NORM) { held.push_back(h.nd); continue; }
            if (fold == 2 && h.kind == OP_GEMV && held.size() == 2) {
                PStage ns{};
                ns.op = OP_NORM, ns.nnorm = 2, ns.nd[0] = held[0], ns.nd[1] = held[1];
                tab.push_back(ns);
                held.clear();
            }
            PStage s{};
            s.op = h.kind;
            if (h.kind == OP_GEMV) {
                int splits;
                s.vgrid = std::min(hop_grid(h, splits), grid);
                s.n = h.n, s.k = h.k, s.splits = splits, s.fn = h.fn;
                s.x = view(h.x, h.k), s.w = view(h.w, h.k), s.out = view(h.out, h.n), s.act = view(h.act, h.n / 2);
                if (held.size() > 2 || (!held.empty() && h.k != 2048)) { fprintf(stderr, "bad fold\n"); exit(1); }
                s.nnorm = (int) held.size();
                for (size_t i = 0; i < held.size(); i++) s.nd[i] = held[i];
                held.clear();
            } else if (h.kind == OP_NORM) {
                s.nd[0] = h.nd;
            }
            tab.push_back(s);
        }
        PStage* d;
        CK(cudaMalloc(&d, tab.size() * sizeof(PStage)));
        CK(cudaMemcpy(d, tab.data(), tab.size() * sizeof(PStage), cudaMemcpyHostToDevice));
        return std::make_pair(d, (int) tab.size());
    };
    bool coopGraph = true;
    // one cooperative launch, captured (if the runtime takes a cooperative node) or launched directly
    struct PLaunch { void* f; const PStage* tab; int nst; unsigned long long* ctr; int count; cudaGraphExec_t ge; };
    auto coop_launch = [&](PLaunch& p) {
        cudaLaunchConfig_t c = cudaLaunchConfig_t{};
        cudaLaunchAttribute a[1];
        a[0].id = cudaLaunchAttributeCooperative;
        a[0].val.cooperative = 1;
        c.gridDim = dim3(grid), c.blockDim = dim3(PB_THREADS), c.dynamicSmemBytes = PB_SMEM, c.stream = st;
        c.attrs = a, c.numAttrs = 1;
        if (p.tab) {
            void* args[] = {(void*) &p.tab, (void*) &p.nst, (void*) &p.ctr};
            return cudaLaunchKernelExC(&c, p.f, args);
        }
        void* args[] = {(void*) &p.count, (void*) &p.ctr};
        return cudaLaunchKernelExC(&c, p.f, args);
    };
    auto make_p = [&](void* f, std::pair<PStage*, int> tab, int count = 0) {
        PLaunch p{f, tab.first, tab.second, ctrs + 512 * nextCtr++, count, nullptr};
        if (coopGraph) {
            cudaGraph_t g;
            CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
            cudaError_t e = coop_launch(p);
            cudaError_t e2 = cudaStreamEndCapture(st, &g);
            cudaError_t e3 = e == cudaSuccess && e2 == cudaSuccess ? cudaGraphInstantiate(&p.ge, g, 0) : cudaErrorUnknown;
            if (e != cudaSuccess || e2 != cudaSuccess || e3 != cudaSuccess) {
                printf("a cooperative launch could not be captured (%s / %s / %s): persistent variants timed by direct launches\n",
                       cudaGetErrorString(e), cudaGetErrorString(e2), cudaGetErrorString(e3));
                cudaGetLastError();
                coopGraph = false;
                p.ge = nullptr;
            }
            if (e2 == cudaSuccess) cudaGraphDestroy(g);
        }
        return p;
    };
    // one step of a variant: a graph replay (PDL chains, captured persistent kernel) or a direct launch
    // group: 'R' the PDL GEMV chain, 'G' persistent on the GEMV chain's table, 'N' GEMV chain with empty
    // boundaries, 'Q' the PDL step-like chain, 'D' persistent step-like, 'T' timing only
    struct Variant { std::string name; cudaGraphExec_t ge; PLaunch p; char group; };
    auto run_once = [&](Variant& v) {
        if (v.ge) CK(cudaGraphLaunch(v.ge, st));
        else CK(coop_launch(v.p));
    };
    auto time_variant = [&](Variant& v, int n) {
        for (int r = 0; r < 2; r++) run_once(v);
        CK(cudaEventRecord(e0, st));
        for (int r = 0; r < n; r++) run_once(v);
        CK(cudaEventRecord(e1, st));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        return 1000.0 * ms / n;
    };
    auto pvariant = [&](const char* name, void* f, std::pair<PStage*, int> tab, char group, int count = 0) {
        PLaunch p = make_p(f, tab, count);
        return Variant{name, p.ge, p, group};
    };
    auto gvariant = [&](const char* name, cudaGraphExec_t ge, char group) { return Variant{name, ge, PLaunch{}, group}; };

    // ---- the variants ----
    // gemv_bench's own chain for reference: x and out fixed (no data flow), gated with fn = 1 (GELU_ERF) as it passes
    unsigned short *xa0, *outa0, *acta0;  // its own x (8192 elements of 0x3c3c, as gemv_bench's), out and act
    CK(cudaMalloc(&xa0, 8192 * 2));
    CK(cudaMemset(xa0, 0x3c, 8192 * 2));
    CK(cudaMalloc(&outa0, 32000 * 2));
    CK(cudaMalloc(&acta0, 8192 * 2));
    std::vector<HOp> benchOps = gops(1);
    for (HOp& h : benchOps) { h.x = xa0; h.out = outa0; if (h.act) h.act = acta0; }
    std::vector<HOp> g0 = gops(0), g4 = gops(4);  // SiLU (Llama; timed), sigmoid (for a bit check on non-vanishing values)
    std::vector<HOp> gEmpty;                      // a GEMV, then an empty dependent kernel, ...
    for (size_t i = 0; i < g0.size(); i++) { gEmpty.push_back(g0[i]); if (i + 1 < g0.size()) gEmpty.push_back(HOp{OP_NOP}); }
    auto tabG0 = make_tab(g0, 0), tabG4 = make_tab(g4, 0), tabGN = make_tab(gEmpty, 0);
    auto tabDS = make_tab(dops, 0), tabDF = make_tab(dops, 1), tabDM = make_tab(dops, 2);
    const int NB = 130;
    std::vector<HOp> empties(NB, HOp{OP_NOP});
    CK(cudaDeviceSynchronize());  // the tables' and memsets' copies (legacy stream) before anything on st

    std::vector<Variant> V;
    V.push_back(gvariant("a0 gemv_bench chain (x fixed, GELU_ERF)", pdl_graph(benchOps), 'T'));
    V.push_back(gvariant("a  65 GEMVs, PDL chain", pdl_graph(g0), 'R'));
    V.push_back(pvariant("b  65 GEMVs, persistent, wait then load", (void*) persist<0, 0, 0, 0>, tabG0, 'G'));
    V.push_back(pvariant("c  65 GEMVs, persistent, load then wait", (void*) persist<1, 0, 0, 0>, tabG0, 'G'));
    V.push_back(pvariant("bS as b, SLIM views", (void*) persist<0, 0, 0, 1>, tabG0, 'G'));
    V.push_back(pvariant("cS as c, SLIM views", (void*) persist<1, 0, 0, 1>, tabG0, 'G'));
    V.push_back(pvariant("cS1 as cS, barrier flavor 1", (void*) persist<1, 0, 1, 1>, tabG0, 'G'));
    V.push_back(pvariant("cS2 as cS, barrier flavor 2", (void*) persist<1, 0, 2, 1>, tabG0, 'G'));
    V.push_back(pvariant("cS3 as cS, barrier flavor 3", (void*) persist<1, 0, 3, 1>, tabG0, 'G'));
    V.push_back(pvariant("cS4 as cS, barrier flavor 4 (flags)", (void*) persist<1, 0, 4, 1>, tabG0, 'G'));
    V.push_back(pvariant("cS1p2 cS1, 2 batches prefetched to L2 before the wait", (void*) persist<1, 0, 1, 1, 2>, tabG0, 'G'));
    V.push_back(pvariant("cS1p4 cS1, 4 batches prefetched", (void*) persist<1, 0, 1, 1, 4>, tabG0, 'G'));
    V.push_back(pvariant("cS1p8 cS1, 8 batches prefetched", (void*) persist<1, 0, 1, 1, 8>, tabG0, 'G'));
    V.push_back(pvariant("cSN as cS, no barriers (timing only)", (void*) persist<2, 0, 0, 1>, tabG0, 'T'));
    V.push_back(pvariant("cK1 as cS, in the step kernel (KIND 1)", (void*) persist<1, 1, 0, 1>, tabG0, 'G'));
    V.push_back(gvariant("aU a, every launch the one_function kernel", one_graph(g0), 'N'));
    V.push_back(gvariant("a+ a, an empty PDL kernel after each GEMV", pdl_graph(gEmpty), 'N'));
    V.push_back(gvariant("a+U a+, every launch the one_function kernel", one_graph(gEmpty), 'N'));
    V.push_back(pvariant("c+ cK1, an empty stage after each GEMV", (void*) persist<1, 1, 0, 1>, tabGN, 'N'));
    V.push_back(pvariant("c+1 c+, barrier flavor 1", (void*) persist<1, 1, 1, 1>, tabGN, 'N'));
    V.push_back(pvariant("c+2 c+, barrier flavor 2", (void*) persist<1, 1, 2, 1>, tabGN, 'N'));
    V.push_back(pvariant("c+3 c+, barrier flavor 3", (void*) persist<1, 1, 3, 1>, tabGN, 'N'));
    V.push_back(pvariant("c+4 c+, barrier flavor 4 (flags)", (void*) persist<1, 1, 4, 1>, tabGN, 'N'));
    V.push_back(gvariant("dA step-like 65 GEMV + 65 norms, PDL chain", pdl_graph(dops), 'Q'));
    V.push_back(gvariant("dU dA, every launch the one_function kernel", one_graph(dops), 'D'));
    V.push_back(pvariant("dB same, persistent, 130 stages, wait then load", (void*) persist<0, 1, 0, 1>, tabDS, 'D'));
    V.push_back(pvariant("dC same, persistent, 130 stages, load then wait", (void*) persist<1, 1, 0, 1>, tabDS, 'D'));
    V.push_back(pvariant("dC1 dC, barrier flavor 1", (void*) persist<1, 1, 1, 1>, tabDS, 'D'));
    V.push_back(pvariant("dC2 dC, barrier flavor 2", (void*) persist<1, 1, 2, 1>, tabDS, 'D'));
    V.push_back(pvariant("dC3 dC, barrier flavor 3", (void*) persist<1, 1, 3, 1>, tabDS, 'D'));
    V.push_back(pvariant("dC4 dC, barrier flavor 4 (flags)", (void*) persist<1, 1, 4, 1>, tabDS, 'D'));
    V.push_back(pvariant("dCN dC, no barriers (timing only)", (void*) persist<2, 1, 0, 1>, tabDS, 'T'));
    V.push_back(pvariant("dF same, persistent, norms folded in 65 stages", (void*) persist<1, 1, 0, 1>, tabDF, 'D'));
    V.push_back(pvariant("dF1 dF, barrier flavor 1", (void*) persist<1, 1, 1, 1>, tabDF, 'D'));
    V.push_back(pvariant("dF2 dF, barrier flavor 2", (void*) persist<1, 1, 2, 1>, tabDF, 'D'));
    V.push_back(pvariant("dF3 dF, barrier flavor 3", (void*) persist<1, 1, 3, 1>, tabDF, 'D'));
    V.push_back(pvariant("dF4 dF, barrier flavor 4 (flags)", (void*) persist<1, 1, 4, 1>, tabDF, 'D'));
    V.push_back(pvariant("dFN dF, no barriers (timing only)", (void*) persist<2, 1, 0, 1>, tabDF, 'T'));
    V.push_back(pvariant("dM same, 81 stages: N1/N2 folded, rot+attn 1 stage", (void*) persist<1, 1, 0, 1>, tabDM, 'D'));
    V.push_back(pvariant("dM1 dM, barrier flavor 1", (void*) persist<1, 1, 1, 1>, tabDM, 'D'));
    V.push_back(pvariant("dM2 dM, barrier flavor 2", (void*) persist<1, 1, 2, 1>, tabDM, 'D'));
    V.push_back(pvariant("dM4 dM, barrier flavor 4 (flags)", (void*) persist<1, 1, 4, 1>, tabDM, 'D'));
    V.push_back(pvariant("dM1p2 dM1, 2 batches prefetched to L2 before the wait", (void*) persist<1, 1, 1, 1, 2>, tabDM, 'D'));
    V.push_back(pvariant("dM1p4 dM1, 4 batches prefetched", (void*) persist<1, 1, 1, 1, 4>, tabDM, 'D'));
    V.push_back(pvariant("dM1p8 dM1, 8 batches prefetched", (void*) persist<1, 1, 1, 1, 8>, tabDM, 'D'));
    V.push_back(pvariant("dMN dM, no barriers (timing only)", (void*) persist<2, 1, 0, 1>, tabDM, 'T'));
    const size_t nStep = V.size();
    V.push_back(gvariant("e  130 empty PDL kernels", pdl_graph(empties), 'T'));
    V.push_back(pvariant("eB persistent kernel, 0 barriers", (void*) barriers_only<0>, {nullptr, 0}, 'T', 0));
    V.push_back(pvariant("eB0 persistent kernel, 130 barriers, flavor 0", (void*) barriers_only<0>, {nullptr, 0}, 'T', NB));
    V.push_back(pvariant("eB1 persistent kernel, 130 barriers, flavor 1", (void*) barriers_only<1>, {nullptr, 0}, 'T', NB));
    V.push_back(pvariant("eB2 persistent kernel, 130 barriers, flavor 2", (void*) barriers_only<2>, {nullptr, 0}, 'T', NB));
    V.push_back(pvariant("eB3 persistent kernel, 130 barriers, flavor 3", (void*) barriers_only<3>, {nullptr, 0}, 'T', NB));
    V.push_back(pvariant("eB4 persistent kernel, 130 barriers, flavor 4 (flags)", (void*) barriers_only<4>, {nullptr, 0}, 'T', NB));
    CK(cudaStreamSynchronize(st));
    CK(cudaGetLastError());

    // ---- bit checks: poison the arena, one step, compare with the PDL chain's ----
    auto fill_inputs = [&]() {
        CK(cudaMemsetAsync(ga, 0xFF, gElems * 2, st));  // 0xFFFF: a NaN
        CK(cudaMemsetAsync(da, 0xFF, dElems * 2, st));
        fill_bf16<<<8, 256, 0, st>>>(ga, 2048, 5u, 1);  // h[0]
        fill_bf16<<<8, 256, 0, st>>>(emb, 2048, 5u, 1);
        CK(cudaGetLastError());
    };
    auto snap = [&](unsigned short* base, long long n) {
        std::vector<unsigned short> h(n);
        CK(cudaStreamSynchronize(st));
        CK(cudaMemcpy(h.data(), base, n * 2, cudaMemcpyDeviceToHost));
        return h;
    };
    auto bf = [](unsigned short b) { unsigned u = (unsigned) b << 16; float f; memcpy(&f, &u, 4); return f; };
    auto describe = [&](const std::vector<unsigned short>& h, long long off, long long n) {
        long long finite = 0, nonzero = 0;
        double ss = 0;
        for (long long i = off; i < off + n; i++) {
            float f = bf(h[i]);
            if (std::isfinite(f)) { finite++; if (f != 0) nonzero++; ss += (double) f * f; }
        }
        char buf[160];
        snprintf(buf, sizeof buf, "%lld/%lld finite, %lld nonzero, rms %.3g", finite, n, nonzero, finite ? sqrt(ss / finite) : 0.0);
        return std::string(buf);
    };
    auto diffs = [](const std::vector<unsigned short>& a, const std::vector<unsigned short>& b, long long off, long long n) {
        long long d = 0;
        for (long long i = off; i < off + n; i++) d += a[i] != b[i];
        return d;
    };
    const long long gLastDown = gH(L) - ga, gLog = gLOG - ga, dLastDown = dD(L - 1) - da, dLog = dLOG - da;
    auto check = [&](const char* what, int ref, std::vector<int> others, unsigned short* base, long long n,
                     long long offDown, long long offLog, bool poison) {
        std::vector<std::vector<unsigned short>> outs;
        std::vector<int> all = {ref};
        all.insert(all.end(), others.begin(), others.end());
        for (int i : all) {
            if (poison) fill_inputs();
            run_once(V[i]);
            outs.push_back(snap(base, n));
        }
        printf("bit check %s (reference: %s):\n", what, V[ref].name.c_str());
        printf("   reference last down: %s; logits: %s; whole arena: %s\n", describe(outs[0], offDown, 2048).c_str(),
               describe(outs[0], offLog, 32000).c_str(), describe(outs[0], 0, n).c_str());
        for (size_t j = 1; j < all.size(); j++)
            printf("   %-52s last down: %lld of 2048 differ, logits: %lld of 32000 differ, whole arena: %lld of %lld differ\n",
                   V[all[j]].name.c_str(), diffs(outs[0], outs[j], offDown, 2048), diffs(outs[0], outs[j], offLog, 32000),
                   diffs(outs[0], outs[j], 0, n), n);
    };
    auto ofGroup = [&](const char* groups) {
        std::vector<int> r;
        for (size_t i = 0; i < V.size(); i++)
            if (strchr(groups, V[i].group)) r.push_back((int) i);
        return r;
    };
    auto checks = [&](bool poison) {
        // the GEMV chain with sigmoid gating (values neither vanish nor blow up over 16 layers), then SiLU
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpyAsync(tabG0.first, tabG4.first, tabG4.second * sizeof(PStage), cudaMemcpyDeviceToDevice, st));
        Variant a4 = gvariant("a  with sigmoid gating", pdl_graph(g4), 'T');
        V.push_back(a4);
        check("GEMV chain, sigmoid gating", (int) V.size() - 1, ofGroup("G"), ga, gElems, gLastDown, gLog, poison);
        V.pop_back();
        CK(cudaGraphExecDestroy(a4.ge));
        auto t0 = make_tab(g0, 0);
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpyAsync(tabG0.first, t0.first, t0.second * sizeof(PStage), cudaMemcpyDeviceToDevice, st));
        CK(cudaStreamSynchronize(st));
        CK(cudaFree(t0.first));
        check("GEMV chain, SiLU gating", ofGroup("R")[0], ofGroup("GN"), ga, gElems, gLastDown, gLog, poison);
        check("step-like sequence (SiLU)", ofGroup("Q")[0], ofGroup("D"), da, dElems, dLastDown, dLog, poison);
    };
    checks(true);

    // ---- timing: rounds of every variant in turn ----
    std::vector<std::vector<double>> us(V.size());
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < V.size(); i++) us[i].push_back(time_variant(V[i], i < nStep ? reps : 10 * reps));
    printf("\n%s, %d rounds of %d replays (empty tests: %d), µs per replay; persistent variants by %s\n", prop.name,
           rounds, reps, 10 * reps, coopGraph ? "graph replay" : "direct launches");
    printf("%-52s %9s %9s %9s   %s\n", "variant", "min", "median", "max", "rounds");
    for (size_t i = 0; i < V.size(); i++) {
        std::vector<double> s = us[i];
        std::sort(s.begin(), s.end());
        printf("%-52s %9.1f %9.1f %9.1f  ", V[i].name.c_str(), s[0], s[s.size() / 2], s.back());
        for (double x : us[i]) printf(" %.1f", x);
        printf("\n");
    }
    printf("GEMV bytes per step: %.1f MB; stages: GEMV chain %d, with empties %d, step-like %d / folded %d / mixed %d\n",
           wtotal / 1e6, tabG0.second, tabGN.second, tabDS.second, tabDF.second, tabDM.second);
    checks(false);  // after all the replays: counters far from 0, no poison between (outputs of the last steps)
    CK(cudaDeviceSynchronize());
    return 0;
}
