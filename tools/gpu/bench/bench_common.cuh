// What the GEMV benchmarks here share (gemv_bench, fold_bench, mma_gemv_bench, persistent_bench): error checks, views,
// a dependent launch's configuration as CudaBackend launches a decode step's kernels, the weight pool,
// and LinearKernels.gemvSplits. Include after linear.cu.
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

// LinearKernels.gemvSplits: K slices per row pair of the batch-1 GEMV (at GV_B = 4, 1024 K per batch)
static int gemv_splits(long long items, int k) {
    const int bk = 256 * gemv1::GV_B;
    int batches = (k + bk - 1) / bk, s = 1;
    while (s < 4 && 2 * s <= batches && items * 2 * s <= 2048) s *= 2;
    return s;
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
