// The linear op for quantized weights (fp8 e4m3, int8, int4): the weight stays quantized in device
// memory and each element is dequantized, exactly as LinearWeight defines it, where it is
// multiplied. See QuantLinearKernels.java.
#include "gemm_tile.cuh"

namespace qlin {

enum Format { FP8 = 0, INT8 = 1, INT4 = 2 };
enum Fp8Scale { PER_TENSOR = 0, PER_CHANNEL = 1, BLOCK = 2 };

// W[n, k] in f32 (LinearDequant.at):
//   fp8:  f32(e4m3 w[n, k]) · s, s = scale[0] | scale[n] | scale[n / blockN, k / blockK]
//   int8: w[n, k] · scales[n]
//   int4: (q(n, k) − zero(n, g)) · scale(n, g), q = nibble k % 8 of qweight[n, k / 8],
//         g = gIdx ? gIdx[k] : k / groupSize, zero 8 without zero points
struct Weight {
    View w, scale, zeros;
    const int* gIdx;
    int format, scaleMode, blockN, blockK, groupSize;

    __device__ __forceinline__ float operator()(int n, int k) const {
        if (format == FP8) {
            float s = scaleMode == PER_TENSOR ? ld(scale, 0, 0)
                    : scaleMode == PER_CHANNEL ? ld(scale, 0, n) : ld(scale, n / blockN, k / blockK);
            return __fmul_rn(e4m3_to_f32(*(const unsigned char*) at(w, n, k)), s);
        }
        if (format == INT8) {
            return __fmul_rn((float) *(const signed char*) at(w, n, k), ld(scale, 0, n));
        }
        int word = *(const int*) at(w, n, k >> 3);
        int q = (word >> (4 * (k & 7))) & 0xF;
        int g = gIdx != nullptr ? gIdx[k] : k / groupSize;  // checked by ql_check_gidx
        int zero = zeros.p != nullptr ? *(const unsigned char*) at(zeros, n, g) : 8;
        return __fmul_rn((float) (q - zero), ld(scale, n, g));
    }
};

// out[t, n] = round(acc + bias[n]): the bias (or +0, as the reference adds) in f32, one rounding.
__device__ __forceinline__ void store(const View& out, const View& bias, int t, int n, float acc) {
    st(out, t, n, __fadd_rn(acc, bias.p != nullptr ? ld(bias, 0, n) : 0.0f));
}

// A bad g_idx was reported before this op's GEMM: write nothing.
__device__ __forceinline__ bool skip(const int* gIdx, const int* err) {
    return gIdx != nullptr && *(const volatile int*) err != 0;
}

constexpr int GEMV_ROWS = 8;  // tokens one warp carries through its dot products

}  // namespace qlin

// fp8 activation quantization (LinearKernel.activationRow), one block per (row t of x [T, K], group j),
// blockIdx.x = t · groups + j:
// xq[t, k] = f32(e4m3(x / a)) · a over the group's columns [j·g, min((j+1)·g, K)), where g = group
// (> 0: per token group, a = max(amax, 1e-10) / 448, vLLM's eps) or K (group 0: per token,
// a = amax / 448, a row of zeros stays zero); static (dynamic 0): a = inputScale[0], g = K.
// xq: F32 [T, K]; grid T · ceil(K / g).
extern "C" __global__ void ql_act_quant(View x, float* xq, int k, int dynamic, int group, View inputScale) {
    __shared__ float part[32];
    int g = group > 0 ? group : k;
    int groups = (k + g - 1) / g;
    int t = blockIdx.x / groups;
    int c0 = (blockIdx.x % groups) * g, c1 = min(k, c0 + g);
    float scale;
    if (dynamic) {
        float amax = 0.0f;
        for (int c = c0 + threadIdx.x; c < c1; c += blockDim.x) {
            amax = java_max(amax, fabsf(ld(x, t, c)));
        }
        for (int o = 16; o > 0; o >>= 1) {
            amax = java_max(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, o));
        }
        if ((threadIdx.x & 31) == 0) {
            part[threadIdx.x >> 5] = amax;
        }
        __syncthreads();
        amax = 0.0f;
        for (int w = 0; w < (int) (blockDim.x >> 5); w++) {
            amax = java_max(amax, part[w]);
        }
        scale = __fdiv_rn(group > 0 ? java_max(amax, 1e-10f) : amax, 448.0f);
    } else {
        scale = ld(inputScale, 0, 0);
    }
    float* row = xq + (long long) t * k;
    for (int c = c0 + threadIdx.x; c < c1; c += blockDim.x) {
        row[c] = dynamic && scale == 0.0f ? 0.0f
                : __fmul_rn(e4m3_to_f32(f32_to_e4m3(__fdiv_rn(ld(x, t, c), scale))), scale);
    }
}

// Every gIdx[k] in [0, groups), else the error (k, value, groups): the GEMMs then write nothing.
extern "C" __global__ void ql_check_gidx(const int* gIdx, int k, int groups, int* err, int errCode) {
    GRID_STRIDE(i, k) {
        int g = gIdx[i];
        if (g < 0 || g >= groups) {
            report_error(err, errCode, (int) i, g, groups);
        }
    }
}

// Few tokens (T <= 8, decodes): one warp per output feature n streams its weight row once, lanes
// across k, and carries every token's dot product. x: [T, K] (or the quantized xq); out: [T, N].
extern "C" __global__ void __launch_bounds__(256) ql_gemv(View x, View w, View scale, View zeros, const int* gIdx,
        int format, int scaleMode, int blockN, int blockK, int groupSize, View bias, View out, int tokens, int n, int k,
        const int* err) {
    if (qlin::skip(gIdx, err)) {
        return;
    }
    int lane = threadIdx.x & 31;
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= n) {
        return;
    }
    qlin::Weight wt{w, scale, zeros, gIdx, format, scaleMode, blockN, blockK, groupSize};
    float acc[qlin::GEMV_ROWS];
#pragma unroll
    for (int t = 0; t < qlin::GEMV_ROWS; t++) {
        acc[t] = 0.0f;
    }
    for (int c0 = 4 * lane; c0 < k; c0 += 128) {  // 4 neighbouring columns a lane: 128 bytes of fp8/int8 a warp
#pragma unroll
        for (int c = c0; c < c0 + 4; c++) {
            if (c < k) {
                float wv = wt(row, c);
#pragma unroll
                for (int t = 0; t < qlin::GEMV_ROWS; t++) {
                    if (t < tokens) {
                        acc[t] = fmaf(ld(x, t, c), wv, acc[t]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int t = 0; t < qlin::GEMV_ROWS; t++) {
        float v = warp_sum(acc[t]);
        if (lane == 0 && t < tokens) {
            qlin::store(out, bias, t, row, v);
        }
    }
}

namespace qlin {

// More tokens: 64 features x BM tokens per block through gemm_tile, the weight dequantized as it
// is staged into shared memory. Grid (ceil(N / 64), ceil(T / BM)).
template <int BM>
__device__ void gemm(View x, const Weight& wt, View bias, View out, int tokens, int n, int k) {
    __shared__ gemm_tile::Smem<BM> s;
    int n0 = blockIdx.x * gemm_tile::BN, m0 = blockIdx.y * BM;
    auto la = [&](int r, int c) { return ld(x, m0 + r, c); };
    auto lb = [&](int r, int c) { return wt(n0 + r, c); };
    float acc[BM / 16][4];
    int rows = min(BM, tokens - m0), cols = min(gemm_tile::BN, n - n0);
    gemm_tile::multiply<BM>(acc, rows, cols, k, la, lb, s);
    int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    for (int i = 0; i < BM / 16; i++) {
        for (int j = 0; j < 4; j++) {
            int r = ty + 16 * i, c = tx + 16 * j;
            if (r < rows && c < cols) {
                store(out, bias, m0 + r, n0 + c, acc[i][j]);
            }
        }
    }
}

}  // namespace qlin

extern "C" __global__ void __launch_bounds__(gemm_tile::THREADS) ql_gemm_m16(View x, View w, View scale, View zeros,
        const int* gIdx, int format, int scaleMode, int blockN, int blockK, int groupSize, View bias, View out, int tokens,
        int n, int k, const int* err) {
    if (!qlin::skip(gIdx, err)) {
        qlin::gemm<16>(x, qlin::Weight{w, scale, zeros, gIdx, format, scaleMode, blockN, blockK, groupSize}, bias, out,
                tokens, n, k);
    }
}

extern "C" __global__ void __launch_bounds__(gemm_tile::THREADS) ql_gemm_m64(View x, View w, View scale, View zeros,
        const int* gIdx, int format, int scaleMode, int blockN, int blockK, int groupSize, View bias, View out, int tokens,
        int n, int k, const int* err) {
    if (!qlin::skip(gIdx, err)) {
        qlin::gemm<64>(x, qlin::Weight{w, scale, zeros, gIdx, format, scaleMode, blockN, blockK, groupSize}, bias, out,
                tokens, n, k);
    }
}
