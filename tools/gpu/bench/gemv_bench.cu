// Batch-1 GEMV on its own: what linear.cu's kernel streams per shape, as graph-replayed chains of
// dependent launches (programmatic stream serialization, as CudaBackend launches it), each launch on
// its own copy of the weights (2 GiB of them, past the L2), against a plain read of the same bytes;
// then a decode step's 65 projections in order, and what a boundary costs: the same chain alternating
// two names of the GEMV's code, with a GEMV of no rows after each GEMV, and with an empty dependent
// kernel after each. A development tool (docs/performance.md, run 13); no Java needed:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/gb/gemv_bench tools/gpu/bench/gemv_bench.cu      # here
//   .gpu/gb/gemv_bench                                            # on the GPU machine (carry .gpu/gb)
//
// A variant of the kernel: copy accel-cuda/src/main/cuda to a scratch folder, edit it, and compile
// with -I pointing there instead (this file includes "linear.cu" by name).
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"


// The read ceiling: every 16-byte word of [p, p + words) loaded once, streamed past L1, folded so the
// loads cannot be dropped. Persistent grid, 4 words in flight per thread.
__global__ void read_words(const uint4* p, long long words, unsigned* sink) {
    unsigned acc = 0;
    const long long stride = (long long) gridDim.x * blockDim.x;
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    pdl_begin();
    for (; i + 3 * stride < words; i += 4 * stride) {
        uint4 v[4];
#pragma unroll
        for (int j = 0; j < 4; j++) v[j] = load_stream(p + i + j * stride);
#pragma unroll
        for (int j = 0; j < 4; j++) acc ^= v[j].x ^ v[j].y ^ v[j].z ^ v[j].w;
    }
    for (; i < words; i += stride) {
        uint4 v = load_stream(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x12345678u) *sink = acc;
}

// The GEMV's code under a second name: a chain alternating the two measures what a change of kernel
// function costs at a boundary, apart from what the kernels do.
extern "C" __global__ void __launch_bounds__(gemv1::GV_WARPS * 32, gemv1::GV_BLOCKS_PER_SM) gemv_twin(View x, View w,
        View bias, View out, int n, int k, int hasBias, View act, int fn, int splits) {
    extern __shared__ uint4 sx[];
    gemv1::gemv(w, bias, out, n, k, hasBias, act, fn, splits, sx, [&](uint4* s) { gemv1::stage_x(x, k, s); });
}

int main(int argc, char** argv) {
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    printf("%s, %d SMs, L2 %d MB; GV_WARPS %d GV_R %d GV_B %d GV_BLOCKS_PER_SM %d\n", prop.name, sms,
           prop.l2CacheSize >> 20, gemv1::GV_WARPS, gemv1::GV_R, gemv1::GV_B, gemv1::GV_BLOCKS_PER_SM);
    CK(cudaFuncSetAttribute(linear_gemv_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    CK(cudaFuncSetAttribute(gemv_twin, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const long long pool = 2LL << 30;  // 2 GiB of random-ish bf16 weights, far past L2
    void* wpool = weight_pool(pool);
    GemvIo io;
    void *x = io.x, *out = io.out, *act = io.act;
    unsigned* sink = io.sink;
    // replays a captured chain of `count` launches `reps` times; returns µs per launch
    auto time_graph = [&](auto enqueue, int count, int reps) {
        cudaGraphExec_t ge = capture_chain(st, count, enqueue);
        double us = replay_us(ge, st, 3, reps) / count;
        CK(cudaGraphExecDestroy(ge));
        return us;
    };
    auto gemv = [&](const Shape& s, char* w, bool twin = false) {
        launch_gemv(st, sms, s.n, s.k, s.gated, w, x, out, act, nullptr, twin ? gemv_twin : linear_gemv_bf16);
    };
    auto read = [&](long long bytes, char* w) {
        DependentLaunch d(dim3(sms * 4), dim3(256), 0, st);
        CK(cudaLaunchKernelEx(&d.config, read_words, (const uint4*) w, bytes / 16, sink));
    };

    Shape shapes[] = {{"q/k/v 3072x2048", 3072, 2048, false}, {"o 2048x2048", 2048, 2048, false},
                      {"gate/up 16384x2048 gated", 16384, 2048, true}, {"gate/up 16384x2048 plain", 16384, 2048, false},
                      {"down 2048x8192", 2048, 8192, false}, {"lm head 32000x2048", 32000, 2048, false},
                      {"big 65536x8192", 65536, 8192, false}};
    printf("%-28s %10s %10s %10s %12s %10s\n", "shape", "MB", "gemv us", "gemv TB/s", "read us", "read TB/s");
    for (const Shape& s : shapes) {
        long long bytes = (long long) s.n * s.k * 2;
        int copies = (int) std::max(1LL, pool / bytes);
        int count = std::min(64, std::max(8, copies));
        auto addr = [&](int i) { return (char*) wpool + (long long) (i % copies) * bytes; };
        double g = time_graph([&](int i) { gemv(s, addr(i)); }, count, 20);
        double r = time_graph([&](int i) { read(bytes, addr(i)); }, count, 20);
        printf("%-28s %10.1f %10.2f %10.2f %12.2f %10.2f\n", s.name, bytes / 1e6, g, bytes / g / 1e6, r, bytes / r / 1e6);
    }
    // a decode step's projections in order, 16 layers + LM head, distinct weights
    Shape layer[] = {shapes[0], shapes[1], shapes[2], shapes[4]};
    long long total;
    const auto chain = decode_chain(layer, shapes[5], total);
    double us = time_graph([&](int i) { gemv(*chain[i].first, (char*) wpool + chain[i].second); }, (int) chain.size(), 20);
    double rus = time_graph([&](int i) {
        read((long long) chain[i].first->n * chain[i].first->k * 2, (char*) wpool + chain[i].second);
    }, (int) chain.size(), 20);
    printf("decode chain: %zu launches, %.1f MB: gemv %.1f us per step (%.2f TB/s), read %.1f us (%.2f TB/s)\n",
           chain.size(), total / 1e6, us * chain.size(), total / (us * chain.size()) / 1e6, rus * chain.size(),
           total / (rus * chain.size()) / 1e6);
    const int m = (int) chain.size();
    auto step = [&](auto enqueue) { return m * time_graph(enqueue, m, 20); };
    double twin = step([&](int i) { gemv(*chain[i].first, (char*) wpool + chain[i].second, i % 2 == 1); });
    double empty = time_graph([&](int i) {
        if (i % 2 == 1) {
            DependentLaunch d(dim3(sms), dim3(256), 0, st);
            CK(cudaLaunchKernelEx(&d.config, empty_dependent, sink));
        } else {
            gemv(*chain[i / 2].first, (char*) wpool + chain[i / 2].second);
        }
    }, 2 * m, 20) * 2 * m;
    double empties = m * time_graph([&](int) {
        DependentLaunch d(dim3(sms), dim3(256), 0, st);
        CK(cudaLaunchKernelEx(&d.config, empty_dependent, sink));
    }, m, 20);
    // a GEMV of no rows (it stages x and ends) after each real one: the same function, or its twin
    auto idle = [&](bool twinName) {
        return 2 * m * time_graph([&](int i) {
            if (i % 2 == 1) {
                Shape none{"none", 0, 2048, false};
                gemv(none, (char*) wpool, twinName);
            } else {
                gemv(*chain[i / 2].first, (char*) wpool + chain[i / 2].second);
            }
        }, 2 * m, 20);
    };
    double idleSame = idle(false), idleTwin = idle(true);
    printf("the same chain alternating two names of the GEMV's code: %.1f us per step (%+.1f)\n", twin, twin - us * m);
    printf("a GEMV of no rows after each GEMV: %.1f us per step (%+.1f) as the same function, %.1f (%+.1f) as its twin\n",
           idleSame, idleSame - us * m, idleTwin, idleTwin - us * m);
    printf("an empty dependent kernel after each GEMV: %.1f us per step (%+.1f); %d empty kernels alone: %.1f us\n",
           empty, empty - us * m, m, empties);
    return 0;
}
