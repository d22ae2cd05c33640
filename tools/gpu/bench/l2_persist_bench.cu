// Does keeping some of a decode step's weights in L2 across steps pay? A batch-1 step streams ~2 GB
// of weights, 40x the L2, so every projection reads HBM. Hopper can set part of the L2 aside for
// lines marked persisting (cudaLimitPersistingL2CacheSize) and mark a launch's accesses in one
// address window so (cudaLaunchAttributeAccessPolicyWindow); lines of the other launches stream
// through the rest. This times linear.cu's GEMV over a decode step's 65 projections (16 layers of
// q/k/v, o, gate/up gated, down, then the LM head; distinct weights, graph-replayed chain of dependent
// launches, as gemv_bench), with windows on some of the projections and the set-aside at its maximum.
// A development tool (docs/performance.md); no Java needed:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/lb/l2_persist_bench tools/gpu/bench/l2_persist_bench.cu      # here
//   .gpu/lb/l2_persist_bench [rounds]                                        # there (carry .gpu/lb)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"

__global__ void empty_dependent(unsigned* sink) {
    pdl_begin();
    if (threadIdx.x >= blockDim.x) {
        *sink = 1;
    }
}

struct Shape { int n, k; bool gated; };
struct Proj { Shape s; long long off; int layer, kind; };  // kind: 0 q/k/v, 1 o, 2 gate/up, 3 down, 4 LM head

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    int dev = 0, sms = 0, maxPersist = 0, maxWindow = 0;
    CK(cudaSetDevice(dev));
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    CK(cudaDeviceGetAttribute(&maxPersist, cudaDevAttrMaxPersistingL2CacheSize, dev));
    CK(cudaDeviceGetAttribute(&maxWindow, cudaDevAttrMaxAccessPolicyWindowSize, dev));
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, dev));
    printf("%s, %d SMs, L2 %.1f MB, persisting set-aside at most %.1f MB, window at most %.1f MB\n", prop.name, sms,
           prop.l2CacheSize / 1e6, maxPersist / 1e6, maxWindow / 1e6);
    CK(cudaFuncSetAttribute(linear_gemv_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    Shape qkv{3072, 2048, false}, o{2048, 2048, false}, gu{16384, 2048, true}, down{2048, 8192, false},
          head{32000, 2048, false};
    std::vector<Proj> chain;
    long long total = 0;
    for (int l = 0; l < 16; l++) {
        Shape ls[] = {qkv, o, gu, down};
        for (int k = 0; k < 4; k++) {
            chain.push_back({ls[k], total, l, k});
            total += (long long) ls[k].n * ls[k].k * 2;
        }
    }
    chain.push_back({head, total, 16, 4});
    total += (long long) head.n * head.k * 2;
    char* wpool = (char*) weight_pool(total);
    void *x, *out, *act;
    unsigned* sink;
    CK(cudaMalloc(&x, 32768 * 2));
    CK(cudaMemset(x, 0x3c, 32768 * 2));
    CK(cudaMalloc(&out, 65536 * 4));
    CK(cudaMalloc(&act, 65536 * 4));
    CK(cudaMalloc(&sink, 4));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));

    // persist(i): bytes of projection i's weights to mark persisting (from its start), 0 for none
    auto gemv = [&](const Proj& p, long long persistBytes, double hitRatio) {
        const Shape& s = p.s;
        long long items = s.gated ? s.n / 2 : (s.n + 1) / 2;
        int splits = gemv_splits(items, s.k);
        long long blocks = std::max(1LL, std::min((items * splits + 7) / 8, (long long) gemv1::GV_BLOCKS_PER_SM * sms));
        DependentLaunch d(dim3((unsigned) blocks), dim3(gemv1::GV_WARPS * 32), (size_t) s.k * 2, st);
        cudaLaunchAttribute attrs[2];
        attrs[0] = d.attr[0];
        if (persistBytes > 0) {
            attrs[1].id = cudaLaunchAttributeAccessPolicyWindow;
            attrs[1].val.accessPolicyWindow.base_ptr = wpool + p.off;
            attrs[1].val.accessPolicyWindow.num_bytes = (size_t) persistBytes;
            attrs[1].val.accessPolicyWindow.hitRatio = (float) hitRatio;
            attrs[1].val.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting;
            attrs[1].val.accessPolicyWindow.missProp = cudaAccessPropertyStreaming;
            d.config.attrs = attrs;
            d.config.numAttrs = 2;
        }
        View vx = view(x, s.k, DT_BF16), vw = view(wpool + p.off, s.k, DT_BF16), vb = view(nullptr, 0, DT_F32),
             vo = view(out, s.n, DT_BF16), va = view(s.gated ? act : nullptr, s.n / 2, DT_BF16);
        CK(cudaLaunchKernelEx(&d.config, linear_gemv_bf16, vx, vw, vb, vo, s.n, s.k, 0, va, 1, splits));
    };
    // a plan: per projection, bytes persisting and the hit ratio
    struct Plan { std::string name; std::vector<long long> bytes; double hit; long long setAside; };
    auto time_plan = [&](const Plan& plan, bool empties) {
        CK(cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, (size_t) plan.setAside));
        CK(cudaCtxResetPersistingL2Cache());
        const int m = (int) chain.size(), count = empties ? 2 * m : m;
        cudaGraphExec_t ge = capture_chain(st, count, [&](int i) {
            if (empties && i % 2 == 1) {
                DependentLaunch d(dim3(1), dim3(256), 0, st);
                CK(cudaLaunchKernelEx(&d.config, empty_dependent, sink));
                return;
            }
            int j = empties ? i / 2 : i;
            gemv(chain[j], plan.bytes[j], plan.hit);
        });
        for (int r = 0; r < 5; r++) CK(cudaGraphLaunch(ge, st));
        const int reps = 30;
        CK(cudaEventRecord(e0, st));
        for (int r = 0; r < reps; r++) CK(cudaGraphLaunch(ge, st));
        CK(cudaEventRecord(e1, st));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        CK(cudaGraphExecDestroy(ge));
        return 1000.0 * ms / reps;
    };
    const int m = (int) chain.size();
    std::vector<Plan> plans;
    plans.push_back({"none", std::vector<long long>(m, 0), 1.0, 0});
    // whole small projections (q/k/v and o) from layer 0 on, while they fit the set-aside
    auto fill = [&](const char* name, auto want, double frac) {
        Plan p{name, std::vector<long long>(m, 0), 1.0, (long long) maxPersist};
        long long used = 0, budget = (long long) (maxPersist * frac);
        for (int i = 0; i < m; i++) {
            long long b = (long long) chain[i].s.n * chain[i].s.k * 2;
            if (want(chain[i]) && used + b <= budget) {
                p.bytes[i] = b;
                used += b;
            }
        }
        p.name += " (" + std::to_string(used >> 20) + " MiB)";
        return p;
    };
    plans.push_back(fill("q/k/v and o, 100% of set-aside", [](const Proj& p) { return p.kind <= 1; }, 1.0));
    plans.push_back(fill("q/k/v and o, 75% of set-aside", [](const Proj& p) { return p.kind <= 1; }, 0.75));
    plans.push_back(fill("o only, 100%", [](const Proj& p) { return p.kind == 1; }, 1.0));
    plans.push_back(fill("q/k/v only, 100%", [](const Proj& p) { return p.kind == 0; }, 1.0));
    plans.push_back(fill("down (first part), 100%", [](const Proj& p) { return p.kind == 3; }, 1.0));
    {  // the first part of every layer's o projection: 16 windows of set-aside / 16
        Plan p{"first bytes of every o", std::vector<long long>(m, 0), 1.0, (long long) maxPersist};
        long long each = (long long) maxPersist / 16 / 4096 * 4096;
        for (int i = 0; i < m; i++) if (chain[i].kind == 1) p.bytes[i] = std::min<long long>(each, 2048LL * 2048 * 2);
        p.name += " (" + std::to_string(each >> 10) + " KiB each)";
        plans.push_back(p);
    }
    printf("%-48s %12s %16s\n", "persisting", "65 GEMVs us", "+ empty kernels");
    for (int r = 0; r < rounds; r++) {
        for (const Plan& p : plans) {
            double a = time_plan(p, false), b = time_plan(p, true);
            printf("%-48s %12.1f %16.1f\n", p.name.c_str(), a, b);
        }
        printf("\n");
    }
    return 0;
}
