// The batch-1 RMSNorm folded into the GEMV after it, measured on its own: a decode step's 65
// projections (16 Llama-1B layers + LM head, distinct weights, 2 GiB pool past the L2) as
// graph-replayed chains of dependent launches, (a) the GEMVs alone, (b) with norm.cu's norm kernel
// before q/k/v, gate/up and the LM head, as a step runs them today, (c) with those norms folded into
// their GEMVs (linear_gemv_rms_bf16), and variants of the folded kernel's staging that take one part
// of the norm's work away at a time (timing only where marked), to see where a fold's time goes.
// A development tool (docs/performance.md, run 19); no Java needed:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/fb/fold_bench tools/gpu/bench/fold_bench.cu      # here
//   .gpu/fb/fold_bench [rounds]                                   # on the GPU machine (carry .gpu/fb)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"
#include "norm.cu"


// Variants of the folded kernel, same parameters as linear_gemv_rms_bf16. MODE:
//   0 stage x only, as linear_gemv_bf16 (the folded kernel's shape without the norm's work)
//   1 x + residual rounded and scaled by the weight, no sum of squares (timing only)
//   2 the whole norm staged, no ticket and no outputs written (timing only)
//   3 as linear_gemv_rms_bf16 (a second compile of the same code)
//   4 as 3 with the norm a run-time choice (nw.p == nullptr: stage x only), so that the GEMVs without a
//     norm can run the same kernel function as the folded ones
template <int MODE>
__global__ void __launch_bounds__(gemv1::GV_WARPS * 32, gemv1::GV_BLOCKS_PER_SM) fold_var(View x, View nw,
        View residual, View residualOut, View normOut, float eps, int hasResidual, int gemma, unsigned* ticket,
        View w, View bias, View out, int n, int k, int hasBias, View act, int fn, int splits) {
    extern __shared__ uint4 fsx[];
    const bool norm = MODE == 4 ? nw.p != nullptr : MODE != 0;
    float w0[8];
    if (norm && (int) threadIdx.x < k / 8) {
        rms_weight8<DT_BF16>(nw, 8 * threadIdx.x, w0);
    }
    unsigned taken = 0;
    gemv1::gemv(w, bias, out, n, k, hasBias, act, fn, splits, fsx, [&](uint4* s) {
        if (!norm) {
            gemv1::stage_x(x, k, s);
        } else if (MODE == 1) {
            for (int c = threadIdx.x; c < k / 8; c += blockDim.x) {
                float r[8];
                rms_load8<DT_BF16>(*(const uint4*) at(x, 0, 8 * c), *(const uint4*) at(residual, 0, 8 * c), 1, r);
                s[c] = rms_scale8<DT_BF16>(r, w0, 1.0f, 0);
            }
            __syncthreads();
        } else {
            taken = gemv1::stage_rms<DT_BF16>(x, nw, residual, k, eps, hasResidual, gemma, w0, ticket, s);
        }
    });
    if (norm && MODE >= 3) {
        gemv1::rms_outputs(taken, residualOut, normOut, k, hasResidual, ticket, fsx);
    } else if constexpr (MODE == 2) {
        if (threadIdx.x == 0 && blockIdx.x == 0) {
            atomicExch(ticket, 0u);
        }
    }
}


int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    printf("%s, %d SMs\n", prop.name, sms);
    void* kernels[] = {(void*) linear_gemv_bf16, (void*) linear_gemv_rms_bf16, (void*) fold_var<0>, (void*) fold_var<1>,
                       (void*) fold_var<2>, (void*) fold_var<3>, (void*) fold_var<4>};
    for (void* f : kernels) CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const long long pool = 2LL << 30;
    void* wpool = weight_pool(pool);
    void *xn, *outA, *act, *res, *nw;
    unsigned* ticket;
    CK(cudaMalloc(&xn, 32768 * 2));
    CK(cudaMemset(xn, 0x3c, 32768 * 2));
    CK(cudaMalloc(&outA, 65536 * 2));
    CK(cudaMemset(outA, 0x3c, 65536 * 2));
    CK(cudaMalloc(&act, 65536 * 2));
    CK(cudaMalloc(&res, 8192 * 2));
    CK(cudaMemset(res, 0x3c, 8192 * 2));
    CK(cudaMalloc(&nw, 8192 * 2));
    CK(cudaMemset(nw, 0x3c, 8192 * 2));
    CK(cudaMalloc(&ticket, 16));
    CK(cudaMemset(ticket, 0, 16));

    // one launch: the GEMV of shape s on weights w; fold: the kernel with the norm's parameters (norm
    // weight absent when !norm), else linear_gemv_bf16
    auto gemv = [&](const Shape& s, char* w, void* fold, bool norm) {
        int splits;
        long long blocks = gemv_grid(s.gated ? s.n / 2 : (s.n + 1) / 2, s.k, sms, splits);
        View vw = view(w, s.k, DT_BF16), vb = view(nullptr, 0, DT_F32), vo = view(outA, s.n, DT_BF16),
             va = view(s.gated ? act : nullptr, s.n / 2, DT_BF16);
        if (fold == nullptr) {
            DependentLaunch d(dim3((unsigned) blocks), dim3(gemv1::GV_WARPS * 32), (size_t) s.k * 2, st);
            CK(cudaLaunchKernelEx(&d.config, linear_gemv_bf16, view(xn, s.k, DT_BF16), vw, vb, vo, s.n, s.k, 0, va, 1, splits));
            return;
        }
        DependentLaunch d(dim3((unsigned) blocks), dim3(gemv1::GV_WARPS * 32), (size_t) s.k * (norm ? 4 : 2), st);
        View vx = view(norm ? outA : xn, s.k, DT_BF16), vn = view(norm ? nw : nullptr, s.k, DT_BF16),
             vr = view(res, s.k, DT_BF16), vno = view(xn, s.k, DT_BF16);
        void* args[] = {&vx, &vn, &vr, &vr, &vno, nullptr, nullptr, nullptr, &ticket, &vw, &vb, &vo, nullptr, nullptr,
                        nullptr, &va, nullptr, nullptr};
        float eps = 1e-5f;
        int one = 1, zero = 0, n = s.n, k = s.k, fn = 1;
        args[5] = &eps, args[6] = &one, args[7] = &zero, args[12] = &n, args[13] = &k, args[14] = &zero;
        args[16] = &fn, args[17] = &splits;
        CK(cudaLaunchKernelExC(&d.config, fold, args));
    };
    auto norm = [&](int hidden) {  // norm.cu's row form: x = outA, residual in place, out = xn
        DependentLaunch d(dim3(1), dim3(hidden / 8), 0, st);
        CK(cudaLaunchKernelEx(&d.config, norm_rms_bf16_bf16, view(outA, hidden, DT_BF16), view(nw, hidden, DT_BF16),
                              view(res, hidden, DT_BF16), view(res, hidden, DT_BF16), view(xn, hidden, DT_BF16), hidden,
                              1e-5f, 1, 0));
    };

    // a step's projections: q/k/v, o, gate/up (gated), down per layer, then the LM head
    const Shape layer[] = {{"q/k/v", 3072, 2048, false}, {"o", 2048, 2048, false}, {"gate/up", 16384, 2048, true},
                           {"down", 2048, 8192, false}};
    const Shape lm{"LM head", 32000, 2048, false};
    struct Op { const Shape* s; long long off; bool afterNorm; };  // afterNorm: q/k/v, gate/up and the LM head
    std::vector<Op> ops;
    long long total;
    for (const auto& [s, off] : decode_chain(layer, lm, total)) {
        ops.push_back({s, off, ops.size() % 2 == 0});
    }
    printf("%zu projections, %.1f MB of weights\n", ops.size(), total / 1e6);

    // chain kinds: what runs at a position after a norm (norm kernel + plain GEMV, or a folded kernel)
    // and what runs elsewhere (the plain GEMV, or the folded kernel without a norm)
    struct Chain { const char* name; bool normKernel; void* fold; void* plain; bool plainViaFold; };
    std::vector<Chain> chains = {
        {"65 GEMVs, no norms", false, nullptr, nullptr, false},
        {"norm kernels + GEMVs (today's step)", true, nullptr, nullptr, false},
        {"norms folded: linear_gemv_rms_bf16", false, (void*) linear_gemv_rms_bf16, nullptr, false},
        {"norms folded, fold var 4 (the norm a run-time choice)", false, (void*) fold_var<4>, nullptr, false},
        {"the same, o/down in that function too", false, (void*) fold_var<4>, (void*) fold_var<4>, true},
        {"65 GEMVs, all fold var 4 without a norm", false, nullptr, (void*) fold_var<4>, true},
        {"fold var 0: stage x only (no norm work)", false, (void*) fold_var<0>, nullptr, false},
        {"fold var 1: x+res, scaled, no reduction (timing)", false, (void*) fold_var<1>, nullptr, false},
        {"fold var 2: whole norm, no ticket/outputs (timing)", false, (void*) fold_var<2>, nullptr, false},
        {"fold var 3: linear_gemv_rms_bf16 recompiled", false, (void*) fold_var<3>, nullptr, false},
    };
    std::vector<cudaGraphExec_t> graphs;
    for (const Chain& ch : chains) {
        graphs.push_back(capture_chain(st, (int) ops.size(), [&](int i) {
            const Op& op = ops[i];
            char* w = (char*) wpool + op.off;
            if (op.afterNorm && ch.normKernel) {
                norm(op.s->k);
                gemv(*op.s, w, nullptr, false);
            } else if (op.afterNorm && ch.fold != nullptr) {
                gemv(*op.s, w, ch.fold, true);
            } else if (ch.plainViaFold) {
                gemv(*op.s, w, ch.plain, false);
            } else {
                gemv(*op.s, w, nullptr, false);
            }
        }));
    }
    std::vector<std::vector<double>> t(chains.size());
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < chains.size(); i++) {
            t[i].push_back(replay_us(graphs[i], st, 3, 30));
        }
    }
    for (size_t i = 0; i < chains.size(); i++) {
        std::sort(t[i].begin(), t[i].end());
        printf("%-55s median %7.1f us per step (min %7.1f, max %7.1f)\n", chains[i].name, t[i][t[i].size() / 2], t[i][0],
               t[i].back());
    }
    return 0;
}
