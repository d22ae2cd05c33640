// What the GEMV benchmarks here share (gemv_bench, fold_bench, mma_gemv_bench, persistent_bench, l2_persist_bench,
// ring_gemv_bench): error checks, views, a dependent launch's configuration as CudaBackend launches a decode step's
// kernels, the weight pool, LinearKernels.gemvSplits and the GEMV's grid and launch, a projection's shape and a
// decode step's chain of them, an empty dependent kernel, graph capture and replay timing. Include after linear.cu.
#pragma once
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); exit(1); } } while (0)

static View view(const void* p, long long stride, int dt = DT_BF16) { return View{(char*) p, stride, dt, 0}; }

// A launch with programmatic stream serialization (the kernel may start while the one before it
// runs; its pdl_wait() orders it). Not copyable: config.attrs points into it.
struct DependentLaunch {
    cudaLaunchAttribute attr[1];
    cudaLaunchConfig_t config;
    DependentLaunch(dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream) {
        attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[0].val.programmaticStreamSerializationAllowed = 1;
        config = cudaLaunchConfig_t{};
        config.gridDim = grid, config.blockDim = block, config.dynamicSmemBytes = sharedBytes, config.stream = stream;
        config.attrs = attr, config.numAttrs = 1;
    }
    DependentLaunch(const DependentLaunch&) = delete;
    DependentLaunch& operator=(const DependentLaunch&) = delete;
};

// `bytes` of bf16 weights on the device, far past the L2 so that each launch streams its own: values
// of both signs in about ±[0.008, 2), the same on every run.
static void* weight_pool(long long bytes) {
    void* pool;
    CK(cudaMalloc(&pool, bytes));
    std::vector<unsigned short> h(1 << 24);
    unsigned long long r = 12345;
    for (size_t i = 0; i < h.size(); i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        h[i] = (unsigned short) (((r >> 33) & 0x8000) | (0x3C00 + ((r >> 40) % 0x3C0)));
    }
    for (long long off = 0; off < bytes; off += h.size() * 2) {
        CK(cudaMemcpy((char*) pool + off, h.data(), std::min<long long>(h.size() * 2, bytes - off), cudaMemcpyHostToDevice));
    }
    return pool;
}

// Device 0, made current: its properties (multiProcessorCount: the SMs the grids are sized for).
static cudaDeviceProp bench_device() {
    cudaDeviceProp prop;
    CK(cudaSetDevice(0));
    CK(cudaGetDeviceProperties(&prop, 0));
    return prop;
}

// LinearKernels.gemvSplits: K slices per row pair of the batch-1 GEMV (at GV_B = 4, 1024 K per batch)
static int gemv_splits(long long items, int k) {
    const int bk = 256 * gemv1::GV_B;
    int batches = (k + bk - 1) / bk, s = 1;
    while (s < 4 && 2 * s <= batches && items * 2 * s <= 2048) s *= 2;
    return s;
}

// LinearKernels' grid of the batch-1 GEMV over `items` row pairs (gated: output pairs) of K = k on `sms` SMs,
// at most `blocksPerSm` blocks per SM: blocks, and the K slices per item in `splits`.
static long long gemv_grid(long long items, int k, int sms, int& splits, int blocksPerSm = gemv1::GV_BLOCKS_PER_SM) {
    splits = gemv_splits(items, k);
    return std::max(1LL, std::min((items * splits + 7) / 8, (long long) blocksPerSm * sms));
}

// A batch-1 projection: n output rows of K = k (gated: gate and up rows, n / 2 outputs).
struct Shape { const char* name; int n, k; bool gated; };

// A decode step's projections in order, 16 layers of `layer` (4 shapes) then `head`, each at its own byte
// offset of a weight pool (distinct weights); `total` gets the step's bytes.
static std::vector<std::pair<const Shape*, long long>> decode_chain(const Shape (&layer)[4], const Shape& head,
        long long& total) {
    std::vector<std::pair<const Shape*, long long>> chain;
    total = 0;
    for (int l = 0; l <= 16; l++) {
        for (int i = 0; i < (l < 16 ? 4 : 1); i++) {
            const Shape& s = l < 16 ? layer[i] : head;
            chain.push_back({&s, total});
            total += (long long) s.n * s.k * 2;
        }
    }
    return chain;
}

// The `count` launches enqueue(0 .. count - 1) makes on `st`, captured and instantiated as one graph.
template <typename Enqueue>
static cudaGraphExec_t capture_chain(cudaStream_t st, int count, Enqueue enqueue) {
    cudaGraph_t g;
    cudaGraphExec_t ge;
    CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    for (int i = 0; i < count; i++) enqueue(i);
    CK(cudaStreamEndCapture(st, &g));
    CK(cudaGraphInstantiate(&ge, g, 0));
    CK(cudaGraphDestroy(g));
    return ge;
}

// µs per replay of `ge` on `st`: `warm` replays first, then the mean of `reps` timed ones.
static double replay_us(cudaGraphExec_t ge, cudaStream_t st, int warm, int reps) {
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int r = 0; r < warm; r++) CK(cudaGraphLaunch(ge, st));
    CK(cudaEventRecord(e0, st));
    for (int r = 0; r < reps; r++) CK(cudaGraphLaunch(ge, st));
    CK(cudaEventRecord(e1, st));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return 1000.0 * ms / reps;
}

// A dependent kernel that does nothing but wait: what a kernel between two others costs.
__global__ void empty_dependent(unsigned* sink) {
    pdl_begin();
    if (threadIdx.x >= blockDim.x) {  // never: only so that the kernel has a body
        *sink = 1;
    }
}

// A GEMV's x (32768 bf16 of one value), outputs (65536 words each) and a word for kernels' never-taken stores.
struct GemvIo {
    void *x, *out, *act;
    unsigned* sink;
    GemvIo() {
        CK(cudaMalloc(&x, 32768 * 2));
        CK(cudaMemset(x, 0x3c, 32768 * 2));
        CK(cudaMalloc(&out, 65536 * 4));
        CK(cudaMalloc(&act, 65536 * 4));
        CK(cudaMalloc(&sink, 4));
    }
};

using GemvKernel = void (*)(View, View, View, View, int, int, int, View, int, int);

// linear.cu's batch-1 GEMV (or `fn`, a kernel of its signature) of bf16 x [1, k] and w [n, k] into out (bf16;
// gated: act[i] = gelu_erf(row i) · row i + n/2, activation 1 as the benches have always run it), as
// LinearKernels launches it (gemv_grid, a dependent launch); `extra`: one more launch attribute, or null.
static void launch_gemv(cudaStream_t st, int sms, int n, int k, bool gated, const void* w, const void* x, void* out,
        void* act, const cudaLaunchAttribute* extra = nullptr, GemvKernel fn = linear_gemv_bf16) {
    int splits;
    long long blocks = gemv_grid(gated ? n / 2 : (n + 1) / 2, k, sms, splits);
    DependentLaunch d(dim3((unsigned) blocks), dim3(gemv1::GV_WARPS * 32), (size_t) k * 2, st);
    cudaLaunchAttribute attrs[2] = {d.attr[0]};
    if (extra != nullptr) {
        attrs[1] = *extra;
        d.config.attrs = attrs;
        d.config.numAttrs = 2;
    }
    View vx = view(x, k, DT_BF16), vw = view(w, k, DT_BF16), vb = view(nullptr, 0, DT_F32), vo = view(out, n, DT_BF16),
         va = view(gated ? act : nullptr, n / 2, DT_BF16);
    CK(cudaLaunchKernelEx(&d.config, fn, vx, vw, vb, vo, n, k, 0, va, 1, splits));
}
