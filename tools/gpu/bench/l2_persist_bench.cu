// Does keeping some of a decode step's weights in L2 across steps pay? A batch-1 step streams ~2 GB
// of weights, 33x an H200's L2, so every projection reads HBM. Hopper can set part of the L2 aside for
// lines marked persisting (cudaLimitPersistingL2CacheSize) and mark a launch's accesses in one
// address window so (cudaLaunchAttributeAccessPolicyWindow); lines of the other launches stream
// through the rest. This times linear.cu's GEMV over a decode step's 65 projections (16 layers of
// q/k/v, o, gate/up gated, down, then the LM head; distinct weights, graph-replayed chain of dependent
// launches, as gemv_bench), with windows on some of the projections and the set-aside at its maximum.
// A development tool (docs/performance.md); no Java needed:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/lb/l2_persist_bench tools/gpu/bench/l2_persist_bench.cu && gzip -9 .gpu/lb/l2_persist_bench  # here
//   gunzip -c .gpu/lb/l2_persist_bench.gz >/tmp/l2b && chmod +x /tmp/l2b && /tmp/l2b [rounds]  # there (carry .gpu)
// (gzipped: with .gpu's jars the carried tree must stay under a device call's 64 MiB)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"

struct Proj { Shape s; long long off; int layer, kind; };  // kind: 0 q/k/v, 1 o, 2 gate/up, 3 down, 4 LM head

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    int maxPersist = 0, maxWindow = 0;
    CK(cudaDeviceGetAttribute(&maxPersist, cudaDevAttrMaxPersistingL2CacheSize, 0));
    CK(cudaDeviceGetAttribute(&maxWindow, cudaDevAttrMaxAccessPolicyWindowSize, 0));
    printf("%s, %d SMs, L2 %.1f MB, persisting set-aside at most %.1f MB, window at most %.1f MB\n", prop.name, sms,
           prop.l2CacheSize / 1e6, maxPersist / 1e6, maxWindow / 1e6);
    CK(cudaFuncSetAttribute(linear_gemv_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const Shape layer[] = {{"q/k/v", 3072, 2048, false}, {"o", 2048, 2048, false}, {"gate/up", 16384, 2048, true},
                           {"down", 2048, 8192, false}};
    const Shape head{"LM head", 32000, 2048, false};
    long long total;
    std::vector<Proj> chain;
    const auto projections = decode_chain(layer, head, total);
    for (size_t i = 0; i < projections.size(); i++) {
        chain.push_back({*projections[i].first, projections[i].second, (int) i / 4, i < 64 ? (int) i % 4 : 4});
    }
    char* wpool = (char*) weight_pool(total);
    GemvIo io;
    void *x = io.x, *out = io.out, *act = io.act;
    unsigned* sink = io.sink;
    // the GEMV of projection p, the first persistBytes of its weights marked persisting (0: none)
    auto gemv = [&](const Proj& p, long long persistBytes, double hitRatio) {
        cudaLaunchAttribute window{};
        window.id = cudaLaunchAttributeAccessPolicyWindow;
        window.val.accessPolicyWindow.base_ptr = wpool + p.off;
        window.val.accessPolicyWindow.num_bytes = (size_t) persistBytes;
        window.val.accessPolicyWindow.hitRatio = (float) hitRatio;
        window.val.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting;
        window.val.accessPolicyWindow.missProp = cudaAccessPropertyStreaming;
        launch_gemv(st, sms, p.s.n, p.s.k, p.s.gated, wpool + p.off, x, out, act, persistBytes > 0 ? &window : nullptr);
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
        double us = replay_us(ge, st, 5, 30);
        CK(cudaGraphExecDestroy(ge));
        return us;
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
    plans.push_back(fill("down of layer 0, 100%", [](const Proj& p) { return p.kind == 3; }, 1.0));
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
