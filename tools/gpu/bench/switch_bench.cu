// What a change of kernel function costs between two batch-1 ring GEMVs (linear_gemv_ring_bf16, about
// 100 KiB of shared memory per block, two blocks per SM), as graph-replayed chains of dependent launches
// of a decode step's 65 projections. In a replayed step, the GEMVs after a norm run by the same code
// under a second name cost 167 µs more (docs/performance.md run 24); this separates that from the rest
// of the step and tries what might remove it:
//   - all projections by one function (today's step);
//   - q/k/v, gate/up and the LM head by ring_twin (the same code, another name), as run 24's `splitr`;
//   - every other projection by the twin;
//   - the same with both functions' preferred shared-memory carveout at its maximum (an SM whose
//     carveout changes between kernels must drain first; the driver picks a carveout per launch when
//     none is preferred);
//   - with an empty dependent kernel (small, no shared memory) after each projection.
// Run 25 (docs/performance.md): the change costs what the GEMV's code size makes it cost. The twin
// added 120 µs per chain with linear.cu as it was (ring GEMV 96.5 KB of sm_90a code), 42 µs once the
// walk lost its integer divisions (85.6 KB), 6 µs with the gated epilogue's f64 activation left out too
// (58 KB, timing only); the one-function chain got faster with each (621 -> 598 -> 580 µs); the
// carveout changed nothing.
// Plain CUDA C++, no Java:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/sw/switch_bench tools/gpu/bench/switch_bench.cu      # here
//   .gpu/sw/switch_bench [rounds]                                     # there (carry .gpu/sw)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"

// linear_gemv_ring_bf16's code under a second name
extern "C" __global__ void __launch_bounds__(gemv1::GV_WARPS * 32) ring_twin(View x, View w, View bias, View out,
        int n, int k, int hasBias, View act, int fn, int splits, int stages, int early) {
    extern __shared__ __align__(128) uint4 ring[];
    gemv1::gemv_ring(w, bias, out, n, k, hasBias, act, fn, splits, stages, early, ring,
            [&](uint4* sx) { gemv1::stage_x(x, k, sx); });
}

using RingKernel = void (*)(View, View, View, View, int, int, int, View, int, int, int, int);

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 3;
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    printf("%s, %d SMs, %zu KiB shared memory per SM\n", prop.name, sms, prop.sharedMemPerMultiprocessor >> 10);
    const int stages = 3, early = 2;  // LinearKernels' default ring
    const int maxShared = gemv1::GV_WARPS * stages * 4096 + 16384;
    for (RingKernel f : {(RingKernel) linear_gemv_ring_bf16, (RingKernel) ring_twin}) {
        CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, maxShared));
    }
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const long long pool = 2LL << 30;
    void* wpool = weight_pool(pool);
    GemvIo io;
    auto launch = [&](RingKernel f, const Shape& s, const void* w) {
        const size_t shared = (size_t) gemv1::GV_WARPS * stages * 4096 + s.k * 2;
        int fit = 0;  // as LinearKernels: no more blocks per SM than its shared memory holds
        CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, f, gemv1::GV_WARPS * 32, shared));
        int splits;
        const long long blocks = gemv_grid(s.gated ? s.n / 2 : (s.n + 1) / 2, s.k, sms, splits, std::max(1, std::min(2, fit)));
        DependentLaunch d(dim3((unsigned) blocks), dim3(gemv1::GV_WARPS * 32), shared, st);
        View vx = view(io.x, s.k), vw = view(w, s.k), vb = view(nullptr, 0, DT_F32), vo = view(io.out, s.n),
             va = view(s.gated ? io.act : nullptr, s.n / 2);
        CK(cudaLaunchKernelEx(&d.config, f, vx, vw, vb, vo, s.n, s.k, 0, va, 1, splits, stages, early));
    };
    auto empty = [&]() {
        DependentLaunch d(dim3(1), dim3(256), 0, st);
        CK(cudaLaunchKernelEx(&d.config, empty_dependent, io.sink));
    };
    Shape shapes[] = {{"q/k/v", 3072, 2048, false}, {"o", 2048, 2048, false}, {"gate/up", 16384, 2048, true},
                      {"down", 2048, 8192, false}, {"lm head", 32000, 2048, false}};
    Shape layer[] = {shapes[0], shapes[1], shapes[2], shapes[3]};
    long long total;
    const auto chain = decode_chain(layer, shapes[4], total);
    const int m = (int) chain.size();
    // which function runs projection i: 0 = linear_gemv_ring_bf16, 1 = ring_twin
    auto one = [&](int i) { return 0; };
    auto afterNorm = [&](int i) { return i % 4 == 0 || i % 4 == 2 || i == m - 1 ? 1 : 0; };
    auto alternate = [&](int i) { return i % 2; };
    auto time_chain = [&](auto pick, bool empties) {
        cudaGraphExec_t ge = capture_chain(st, empties ? 2 * m : m, [&](int j) {
            if (empties && j % 2 == 1) {
                empty();
                return;
            }
            const int i = empties ? j / 2 : j;
            launch(pick(i) == 0 ? (RingKernel) linear_gemv_ring_bf16 : (RingKernel) ring_twin, *chain[i].first,
                    (char*) wpool + chain[i].second);
        });
        double us = replay_us(ge, st, 3, 30);
        CK(cudaGraphExecDestroy(ge));
        return us;
    };
    auto carveout = [&](int percent) {
        for (RingKernel f : {(RingKernel) linear_gemv_ring_bf16, (RingKernel) ring_twin}) {
            CK(cudaFuncSetAttribute(f, cudaFuncAttributePreferredSharedMemoryCarveout, percent));
        }
    };
    for (int r = 0; r < rounds; r++) {
        printf("round %d: µs per replayed chain of 65 projections | with an empty dependent kernel after each\n", r);
        for (int c : {-1, 100}) {
            carveout(c);
            printf("  carveout %s:\n", c < 0 ? "default (none preferred)" : "100% shared");
            printf("    one function                 %8.1f | %8.1f\n", time_chain(one, false), time_chain(one, true));
            printf("    after-norm ones by the twin  %8.1f | %8.1f\n", time_chain(afterNorm, false), time_chain(afterNorm, true));
            printf("    every other by the twin      %8.1f | %8.1f\n", time_chain(alternate, false), time_chain(alternate, true));
        }
    }
    return 0;
}
