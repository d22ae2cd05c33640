// A batch-1 GEMV whose multiply-adds run on the tensor cores, measured against linear.cu's
// linear_gemv_bf16 before building it (docs/performance.md, run 19: the GEMV's arithmetic is 29 µs
// of a decode step's 65 projections, half of it on each launch's tail). Plain CUDA C++, no Java:
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -I accel-cuda/src/main/cuda \
//        -o .gpu/mb/mma_gemv_bench tools/gpu/bench/mma_gemv_bench.cu      # here
//   .gpu/mb/mma_gemv_bench [rounds]                                     # there (carry .gpu/mb)
//
// The form: a warp takes 8 rows at a time (an item) and a K slice of them; lane (g, t) = (lane / 4,
// lane % 4) loads 16-byte words of row g at K = 256 b + 32 j + 8 t (j = 0..7 in batch b), and each word
// is the B fragment of two mma.m16n8k16 (bf16 in, f32 accumulators): its first two element pairs are
// the fragment's k = 2t, 2t + 1 and 2t + 8, 2t + 9 of one, its last two of the other. x is the A
// fragment's row 0 in the same K order (lanes 0..3, from shared memory), rows 1..15 zeros. The mma
// sums the K terms across the lanes, so no butterfly is left at the end: lanes 0..3 hold rows 2t and
// 2t + 1 of the item. K slices (splits) meet in shared memory as in linear.cu. Bits differ from
// linear_gemv_bf16's (another summation order): outputs are compared within bf16 rounding.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "linear.cu"
#include "bench_common.cuh"


namespace mma1 {

constexpr int WARPS = 8;       // per block
constexpr int NB = 8;          // 16-byte words per lane and batch: a batch is 8 rows x 256 K
constexpr int BATCH_K = 256;

__device__ __forceinline__ void mma(float (&c)[4], unsigned a0, unsigned a2, unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(0u), "r"(a2), "r"(0u), "r"(b0), "r"(b1));
}

__global__ void __launch_bounds__(WARPS * 32, 2) gemv_mma(View x, View w, View out, int n, int k, int splits) {
    extern __shared__ uint4 msx[];
    __shared__ float part[2][WARPS][8];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int items = (n + 7) / 8, units = items * splits;
    const int words = k / 8, batches = (k + BATCH_K - 1) / BATCH_K;
    const int stride = gridDim.x * WARPS;
    auto first = [&](int u) { return (u % splits) * batches / splits; };
    auto last = [&](int u) { return ((u % splits) + 1) * batches / splits - 1; };
    auto issue = [&](uint4 (&buf)[NB], int u, int b) {
        const char* wr = at(w, min((u / splits) * 8 + g, n - 1), 0);
#pragma unroll
        for (int j = 0; j < NB; j++) {
            const int c = 32 * b + 4 * j + t;  // word index: K = 256 b + 32 j + 8 t
            buf[j] = c < words ? load_stream(wr + 16LL * c) : make_uint4(0, 0, 0, 0);
        }
    };
    float acc[4] = {};
    int rounds = 0;
    auto consume = [&](const uint4 (&buf)[NB], int u, int b) {
#pragma unroll
        for (int j = 0; j < NB; j++) {
            const int c = 32 * b + 4 * j + t;
            const uint4 xv = g == 0 && c < words ? msx[c] : make_uint4(0, 0, 0, 0);
            mma(acc, xv.x, xv.y, buf[j].x, buf[j].y);
            mma(acc, xv.z, xv.w, buf[j].z, buf[j].w);
        }
        if (b < last(u)) {
            return;
        }
        float v0 = acc[0], v1 = acc[1];  // lanes 0..3: rows 2t, 2t + 1 of the item
#pragma unroll
        for (int i = 0; i < 4; i++) {
            acc[i] = 0.0f;
        }
        if (splits > 1) {
            const int parity = rounds++ & 1;
            if (lane < 4) {
                part[parity][warp][2 * t] = v0;
                part[parity][warp][2 * t + 1] = v1;
            }
            asm volatile("bar.sync %0, %1;" ::"r"(1 + warp / splits), "r"(32 * splits) : "memory");
            if (u % splits != 0) {
                return;
            }
            if (lane < 4) {
                v0 = part[parity][warp][2 * t];
                v1 = part[parity][warp][2 * t + 1];
                for (int s = 1; s < splits; s++) {
                    v0 = __fadd_rn(v0, part[parity][warp + s][2 * t]);
                    v1 = __fadd_rn(v1, part[parity][warp + s][2 * t + 1]);
                }
            }
        }
        const int r0 = (u / splits) * 8 + 2 * t;
        if (lane < 4 && r0 < n) {
            st(out, 0, r0, v0);
        }
        if (lane < 4 && r0 + 1 < n) {
            st(out, 0, r0 + 1, v1);
        }
    };
    // the warp's batches in linear.cu gemv_over's order and two-buffer walk (written out here: gemv_over's
    // issue and consume are its own)
    auto next = [&](int& u, int& b) {
        if (b++ == last(u)) {
            u += stride;
            b = first(u);
        }
    };
    uint4 bufA[NB], bufB[NB];
    int u = blockIdx.x * WARPS + warp, b = first(u);
    if (u < units) {
        issue(bufA, u, b);
    }
    pdl_begin();
    gemv1::stage_x(x, k, msx);
    while (u < units) {
        int u2 = u, b2 = b;
        next(u2, b2);
        if (u2 < units) {
            issue(bufB, u2, b2);
        }
        consume(bufA, u, b);
        if (u2 >= units) {
            break;
        }
        u = u2, b = b2;
        next(u2, b2);
        if (u2 < units) {
            issue(bufA, u2, b2);
        }
        consume(bufB, u, b);
        u = u2, b = b2;
    }
}

}  // namespace mma1


static int splits_mma(long long items, int k) {  // the same rule over 8-row items and 256-K batches, up to 8
    int batches = (k + mma1::BATCH_K - 1) / mma1::BATCH_K, s = 1;
    while (s < 8 && 2 * s <= batches && items * 2 * s <= 2048) s *= 2;
    return s;
}

static float bf16f(unsigned short h) {
    unsigned u = (unsigned) h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 5;
    const cudaDeviceProp prop = bench_device();
    const int sms = prop.multiProcessorCount;
    cudaFuncAttributes fa;
    CK(cudaFuncGetAttributes(&fa, mma1::gemv_mma));
    printf("%s, %d SMs; gemv_mma %d registers, %zu B local\n", prop.name, sms, fa.numRegs, fa.localSizeBytes);
    CK(cudaFuncSetAttribute(linear_gemv_bf16, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    CK(cudaFuncSetAttribute(mma1::gemv_mma, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const long long pool = 2LL << 30;
    void* wpool = weight_pool(pool);
    void *x, *outA, *outB;
    CK(cudaMalloc(&x, 32768 * 2));
    {
        std::vector<unsigned short> hx(32768);
        for (size_t i = 0; i < hx.size(); i++) hx[i] = (unsigned short) (((i * 2654435761u) & 0x8000) | (0x3C00 + (i * 40503u) % 0x200));
        CK(cudaMemcpy(x, hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
    }
    CK(cudaMalloc(&outA, 65536 * 2));
    CK(cudaMalloc(&outB, 65536 * 2));
    auto gemv = [&](const Shape& s, char* w, void* out) {
        launch_gemv(st, sms, s.n, s.k, false, w, x, out, nullptr);
    };
    auto gemm = [&](const Shape& s, char* w, void* out) {
        long long items = (s.n + 7) / 8;
        int splits = splits_mma(items, s.k);
        long long blocks = std::max(1LL, std::min((items * splits + 7) / 8, 2LL * sms));
        DependentLaunch d(dim3((unsigned) blocks), dim3(256), (size_t) s.k * 2, st);
        CK(cudaLaunchKernelEx(&d.config, mma1::gemv_mma, view(x, s.k, DT_BF16), view(w, s.k, DT_BF16), view(out, s.n, DT_BF16),
                              s.n, s.k, splits));
    };
    auto time_graph = [&](auto enqueue, int count) {
        cudaGraphExec_t ge = capture_chain(st, count, enqueue);
        std::vector<double> t;
        for (int r = 0; r < rounds; r++) {
            t.push_back(replay_us(ge, st, 3, 20));
        }
        CK(cudaGraphExecDestroy(ge));
        std::sort(t.begin(), t.end());
        return t[t.size() / 2];
    };

    // correctness against linear_gemv_bf16 (and the exact dot product) on odd shapes and the step's
    Shape checks[] = {{"37x2056", 37, 2056}, {"10x5000", 10, 5000}, {"64x4096", 64, 4096}, {"q/k/v", 3072, 2048},
                      {"o", 2048, 2048}, {"gate/up", 16384, 2048}, {"down", 2048, 8192}, {"lm head", 32000, 2048}};
    bool ok = true;
    for (const Shape& s : checks) {
        gemv(s, (char*) wpool, outA);
        gemm(s, (char*) wpool, outB);
        CK(cudaStreamSynchronize(st));
        std::vector<unsigned short> a(s.n), m(s.n), hw((size_t) s.n * s.k), hx(s.k);
        CK(cudaMemcpy(a.data(), outA, s.n * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(m.data(), outB, s.n * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(hw.data(), wpool, hw.size() * 2, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(hx.data(), x, hx.size() * 2, cudaMemcpyDeviceToHost));
        double worstA = 0, worstM = 0;
        int same = 0;
        for (int r = 0; r < s.n; r++) {
            double e = 0, mag = 0;
            for (int i = 0; i < s.k; i++) {
                double p = (double) bf16f(hw[(size_t) r * s.k + i]) * bf16f(hx[i]);
                e += p;
                mag += fabs(p);
            }
            double tol = fabs(e) / 256 + 2e-5 * mag + 1e-6;  // bf16 rounding of the output + f32 sums
            worstA = std::max(worstA, fabs(bf16f(a[r]) - e) / tol);
            worstM = std::max(worstM, fabs(bf16f(m[r]) - e) / tol);
            same += a[r] == m[r];
        }
        printf("check %-8s: worst |err| / tol gemv %.3f, mma %.3f; %d of %d outputs bit-equal\n", s.name, worstA, worstM,
               same, s.n);
        ok = ok && worstM <= 1.0;
    }
    printf("mma outputs %s\n", ok ? "within tolerance" : "OUT OF TOLERANCE");

    Shape qkv{"q/k/v 3072x2048", 3072, 2048}, o{"o 2048x2048", 2048, 2048}, gu{"gate/up 16384x2048 (plain)", 16384, 2048},
          down{"down 2048x8192", 2048, 8192}, lm{"lm head 32000x2048", 32000, 2048};
    const Shape* shapes[] = {&qkv, &o, &gu, &down, &lm};
    printf("%-28s %12s %12s\n", "per launch, chain of one shape", "gemv us", "mma us");
    for (const Shape* s : shapes) {
        long long bytes = (long long) s->n * s->k * 2;
        int copies = (int) std::max(1LL, pool / bytes), count = std::min(64, std::max(8, copies));
        auto addr = [&](int i) { return (char*) wpool + (long long) (i % copies) * bytes; };
        double a = time_graph([&](int i) { gemv(*s, addr(i), outA); }, count) / count;
        double m = time_graph([&](int i) { gemm(*s, addr(i), outA); }, count) / count;
        printf("%-28s %12.2f %12.2f\n", s->name, a, m);
    }
    const Shape layer[] = {qkv, o, gu, down};
    long long total;
    const auto chain = decode_chain(layer, lm, total);
    const int m = (int) chain.size();
    double ca = time_graph([&](int i) { gemv(*chain[i].first, (char*) wpool + chain[i].second, outA); }, m);
    double cm = time_graph([&](int i) { gemm(*chain[i].first, (char*) wpool + chain[i].second, outA); }, m);
    printf("a step's %d projections (%.1f MB, gate/up plain): gemv %.1f us, mma %.1f us\n", m, total / 1e6, ca, cm);
    return 0;
}
