// linear.cu's batch-1 GEMV with its weights through a shared-memory ring (linear_gemv_ring_bf16: bulk
// copies, the TMA engine, completing on an mbarrier per stage) against the register form
// (linear_gemv_bf16), as graph-replayed chains of dependent launches: bits compared on a decode step's
// shapes, then a decode step's 65 projections in order (alone, and with an empty dependent kernel after
// each, a small kernel's stand-in), then per shape. Variants: stages per warp, how many are issued before
// the dependent-launch wait, blocks per SM (docs/performance.md, run 21). Plain CUDA C++, no Java:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/rb/ring_gemv_bench tools/gpu/bench/ring_gemv_bench.cu      # here
//   .gpu/rb/ring_gemv_bench [rounds]                                      # there (carry .gpu/rb)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"

struct Variant {
    const char* name;
    int stages, early, blocksPerSm;
};

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 2;
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    printf("%s, %d SMs, %zu KiB shared memory per SM\n", prop.name, sms, prop.sharedMemPerMultiprocessor >> 10);
    CK(cudaFuncSetAttribute(linear_gemv_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    Variant variants[] = {{"ring 2 stages, 1 early", 2, 1, 2}, {"ring 3 stages, 1 early", 3, 1, 2},
                          {"ring 3 stages, 2 early", 3, 2, 2}, {"ring 3 stages, 3 early", 3, 3, 2},
                          {"ring 2 stages, 2 early, 3/SM", 2, 2, 3}};
    CK(cudaFuncSetAttribute(linear_gemv_ring_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize,
            gemv1::GV_WARPS * gemv1::RING_MAX_STAGES * 4096 + 16384));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const long long pool = 2LL << 30;
    void* wpool = weight_pool(pool);
    GemvIo io;
    void *out2, *act2;
    CK(cudaMalloc(&out2, 65536 * 4));
    CK(cudaMalloc(&act2, 65536 * 4));
    // x: varied values (GemvIo's x is one value), so that a wrong word order changes the bits
    {
        std::vector<unsigned short> hx(32768);
        for (int i = 0; i < 32768; i++) hx[i] = (unsigned short) (0x3c00 + ((i * 2654435761u) >> 22) % 0x300 + ((i & 1) << 15));
        CK(cudaMemcpy(io.x, hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
    }
    auto ring_launch = [&](const Variant& v, const Shape& s, const void* w, void* out, void* act) {
        const size_t shared = (size_t) gemv1::GV_WARPS * v.stages * 4096 + s.k * 2;
        int fit = 0;  // as LinearKernels: no more blocks per SM than its shared memory holds
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, linear_gemv_ring_bf16, gemv1::GV_WARPS * 32, shared));
        int splits;
        const long long blocks = gemv_grid(s.gated ? s.n / 2 : (s.n + 1) / 2, s.k, sms, splits,
                std::max(1, std::min(v.blocksPerSm, fit)));
        DependentLaunch d(dim3((unsigned) blocks), dim3(gemv1::GV_WARPS * 32), shared, st);
        View vx = view(io.x, s.k), vw = view(w, s.k), vb = view(nullptr, 0, DT_F32), vo = view(out, s.n),
             va = view(s.gated ? act : nullptr, s.n / 2);
        CK(cudaLaunchKernelEx(&d.config, linear_gemv_ring_bf16, vx, vw, vb, vo, s.n, s.k, 0, va, 1, splits, v.stages, v.early));
    };
    auto ref_launch = [&](const Shape& s, const void* w, void* out, void* act) {
        launch_gemv(st, sms, s.n, s.k, s.gated, w, io.x, out, act);
    };
    Shape shapes[] = {{"q/k/v 3072x2048", 3072, 2048, false}, {"o 2048x2048", 2048, 2048, false},
                      {"gate/up 16384x2048 gated", 16384, 2048, true}, {"down 2048x8192", 2048, 8192, false},
                      {"lm head 32000x2048", 32000, 2048, false}};
    // bits: every variant against linear_gemv_bf16 on every shape
    for (const Shape& s : shapes) {
        CK(cudaMemset(io.out, 0, 65536 * 4));
        CK(cudaMemset(io.act, 0, 65536 * 4));
        ref_launch(s, wpool, io.out, io.act);
        std::vector<unsigned short> ro(s.n), ra(s.n / 2), vo(s.n), va(s.n / 2);
        CK(cudaStreamSynchronize(st));
        CK(cudaMemcpy(ro.data(), io.out, s.n * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(ra.data(), io.act, s.n, cudaMemcpyDeviceToHost));
        for (const Variant& v : variants) {
            CK(cudaMemset(out2, 0xff, 65536 * 4));
            CK(cudaMemset(act2, 0xff, 65536 * 4));
            ring_launch(v, s, wpool, out2, act2);
            CK(cudaStreamSynchronize(st));
            CK(cudaMemcpy(vo.data(), out2, s.n * 2, cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(va.data(), act2, s.n, cudaMemcpyDeviceToHost));
            bool same = memcmp(ro.data(), vo.data(), s.n * 2) == 0 && (!s.gated || memcmp(ra.data(), va.data(), s.n) == 0);
            if (!same) {
                printf("BITS DIFFER: %s on %s\n", v.name, s.name);
            }
        }
    }
    printf("bits checked: %zu variants x %zu shapes (a difference is printed above)\n",
           sizeof(variants) / sizeof(variants[0]), sizeof(shapes) / sizeof(shapes[0]));
    auto time_graph = [&](auto enqueue, int count) {
        cudaGraphExec_t ge = capture_chain(st, count, enqueue);
        double us = replay_us(ge, st, 3, 20);
        CK(cudaGraphExecDestroy(ge));
        return us;
    };
    // a decode step's 65 projections in order (16 layers + LM head), distinct weights
    Shape layer[] = {shapes[0], shapes[1], shapes[2], shapes[3]};
    long long total;
    const auto chain = decode_chain(layer, shapes[4], total);
    const int m = (int) chain.size();
    auto empty = [&]() {
        DependentLaunch d(dim3(sms), dim3(256), 0, st);
        CK(cudaLaunchKernelEx(&d.config, empty_dependent, io.sink));
    };
    for (int r = 0; r < rounds; r++) {
        printf("round %d: µs per replayed chain (65 projections; then with an empty dependent kernel after each)\n", r);
        auto row = [&](const char* name, auto one) {
            double a = time_graph([&](int i) { one(*chain[i].first, (char*) wpool + chain[i].second); }, m);
            double e = time_graph([&](int i) {
                if (i % 2 == 1) {
                    empty();
                } else {
                    one(*chain[i / 2].first, (char*) wpool + chain[i / 2].second);
                }
            }, 2 * m);
            printf("  %-24s %8.1f %8.1f  (%.2f TB/s)\n", name, a, e, total / a / 1e6);
        };
        row("linear_gemv_bf16", [&](const Shape& s, char* w) { ref_launch(s, w, io.out, io.act); });
        for (const Variant& v : variants) {
            row(v.name, [&](const Shape& s, char* w) { ring_launch(v, s, w, io.out, io.act); });
        }
        // per shape, chains of one shape (distinct copies)
        for (const Shape& s : shapes) {
            long long bytes = (long long) s.n * s.k * 2;
            int copies = (int) std::max(1LL, pool / bytes), count = std::min(64, std::max(8, copies));
            auto addr = [&](int i) { return (char*) wpool + (long long) (i % copies) * bytes; };
            printf("  %-26s linear_gemv %6.2f", s.name, time_graph([&](int i) { ref_launch(s, addr(i), io.out, io.act); }, count) / count);
            for (const Variant& v : variants) {
                printf(" | %6.2f", time_graph([&](int i) { ring_launch(v, s, addr(i), io.out, io.act); }, count) / count);
            }
            printf("  µs per launch\n");
        }
    }
    return 0;
}
