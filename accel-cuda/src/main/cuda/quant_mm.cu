// The fast paths of the quantized linear op (QuantLinearKernels.java; quant_linear.cu keeps the
// activation pre-pass, the g_idx check and the any-shape fallback kernels):
//
//  - qmm_gemv_t*: decodes (few tokens). Memory-bound: every weight byte is read once, 16 bytes per
//    lane per load (4 loads in flight a thread), dequantized in registers exactly as LinearWeight
//    defines W[n, k] (one f32 multiply by the scale), then multiplied into every token's f32
//    accumulator; the activations of a k-chunk are staged once per block in shared memory as f32.
//    4 lanes share a weight row (64 contiguous bytes a warp instruction touches per row), 64 rows a
//    block; split-K over grid.y when N alone cannot fill the device.
//  - qmm_mma_*: prefills. bf16/f16 tensor cores (mma.sync m16n8k16, f32 accumulation). The B operand
//    is the weight's exact integer/e4m3 value (q - zero, int8, e4m3: all exact in bf16 and f16), the
//    A operand x exactly (bf16 or f16 x as is; an f32 x as the sum of three bf16 pieces, three MMAs,
//    which loses nothing an f32 product keeps). The scale, constant over a group of k (int4 group,
//    fp8 block, or all of K), multiplies each group's partial sum in f32: Σ_g s(n, g)·Σ_{k∈g} x·q,
//    the same sum as Σ_k x·(q·s) up to f32 rounding. Needs groups that are multiples of 32 columns
//    and no g_idx (the host routes act-order and odd groups to the other kernels).
//
// Both write out[t, n] = round(acc + bias[n]) when they cover all of K, or f32 partial sums
// partial[split, t, n] that qmm_splitk_reduce adds in split order.
#include "common.cuh"
#include <cuda_fp8.h>

namespace qmm {

enum Format { FP8 = 0, INT8 = 1, INT4 = 2 };
enum Fp8Scale { PER_TENSOR = 0, PER_CHANNEL = 1, BLOCK = 2 };

// "all of K is one scale group"
constexpr int WHOLE_K = 1 << 30;

struct Quant {
    View w, scale, zeros;
    const int* gIdx;
    int format, scaleMode, blockN, blockK, groupSize;

    // Columns k along which the scale stays constant (groups start at multiples of it).
    __device__ __forceinline__ int groupK() const {
        return format == INT4 ? groupSize : format == FP8 && scaleMode == BLOCK ? blockK : WHOLE_K;
    }

    // Scale of row n in group g (g = k / groupK(), or gIdx[k] for act-order int4).
    __device__ __forceinline__ float scaleAt(int n, int g) const {
        if (format == FP8) {
            return scaleMode == PER_TENSOR ? ld(scale, 0, 0) : scaleMode == PER_CHANNEL ? ld(scale, 0, n)
                    : ld(scale, n / blockN, g);
        }
        return format == INT8 ? ld(scale, 0, n) : ld(scale, n, g);
    }

    // int4 zero point of row n in group g (8 without zero points).
    __device__ __forceinline__ int zeroAt(int n, int g) const {
        return zeros.p != nullptr ? *(const unsigned char*) at(zeros, n, g) : 8;
    }

    // Elements of W in 16 bytes of a row.
    __device__ __forceinline__ int perVector() const { return format == INT4 ? 32 : 16; }
};


// Two e4m3 bytes (low half of a 16-bit word first) as exact f32 values; NaN stays NaN.
__device__ __forceinline__ float2 e4m3x2(unsigned short two) {
    __half2_raw h = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t) two, __NV_E4M3);
    return __half22float2(*reinterpret_cast<__half2*>(&h));
}

// Byte i of word as a signed int8, exactly, as f32: 2^23 + (byte ^ 0x80) built in the mantissa.
__device__ __forceinline__ float int8_at(unsigned word, int i) {
    return __int_as_float(__byte_perm(word ^ 0x80808080u, 0x4B000000u, 0x7440u | (unsigned) i)) - 8388736.0f;
}

// Nibble i of word minus the zero point, exactly, as f32 (2^23 + q built in the mantissa).
__device__ __forceinline__ float int4_at(unsigned word, int i, float twoPow23PlusZero) {
    return __int_as_float(0x4B000000u | ((word >> (4 * i)) & 0xFu)) - twoPow23PlusZero;
}

// The exact unscaled values of 16 bytes of a row: e4m3 or int8 (16 values) or q − zero (32 values).
template <int E>
__device__ __forceinline__ void unscaled(const Quant& q, uint4 raw, float zero, float (&v)[E]) {
    unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
    if (E == 32) {
        float z = 8388608.0f + zero;
#pragma unroll
        for (int i = 0; i < 32; i++) {
            v[i] = int4_at(words[i / 8], i % 8, z);
        }
    } else if (q.format == FP8) {
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float2 f = e4m3x2((unsigned short) (words[i / 2] >> (16 * (i % 2))));
            v[2 * i] = f.x;
            v[2 * i + 1] = f.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < E; i++) {
            v[i] = int8_at(words[i / 4], i % 4);
        }
    }
}

// ==== decode: qmm_gemv_t* ====

constexpr int GEMV_THREADS = 256;
constexpr int GEMV_LANES = 4;                              // lanes sharing one weight row
constexpr int GEMV_ROWS = GEMV_THREADS / GEMV_LANES;       // weight rows (features) per block
constexpr int GEMV_UNROLL = 4;                             // 16-byte loads in flight per thread per chunk
constexpr int GEMV_CHUNK_BYTES = GEMV_LANES * 16 * GEMV_UNROLL;  // bytes of a row per chunk (256)
constexpr int GEMV_MAX_CHUNK = 2 * GEMV_CHUNK_BYTES;       // elements of a chunk, at most (int4: 512)
// x in shared memory: every run of one vector's elements (16 or 32) is followed by 4 pad floats, so
// the 4 lanes of a row (whose runs are adjacent) read 16-byte words in distinct banks.
constexpr int GEMV_XS = GEMV_MAX_CHUNK + 4 * (GEMV_MAX_CHUNK / 16);

__device__ __forceinline__ int gemv_pad(int e, int perVector) { return e + 4 * (e / perVector); }

// One 16-byte vector of row n, columns kk.. kk + E: W dequantized (the unscaled value times its
// scale, one f32 multiply, as LinearWeight defines it), then acc[t] += x[t, k] · W[n, k] for every
// token. gs: the chunk's g_idx from this vector's first column (act-order int4); xr: x of that
// column in shared memory, rows GEMV_XS apart.
template <int T, int E>
__device__ __forceinline__ void gemv_vector(const Quant& q, uint4 raw, int n, int kk, int groupK, const int* gs,
        const float* xr, float (&acc)[T]) {
    float v[E];
    bool uniform = q.gIdx == nullptr && (groupK == WHOLE_K || kk / groupK == (kk + E - 1) / groupK);
    if (uniform) {
        int g = groupK == WHOLE_K ? 0 : kk / groupK;
        unscaled<E>(q, raw, E == 32 ? (float) q.zeroAt(n, g) : 0.0f, v);
        float s = q.scaleAt(n, g);
#pragma unroll
        for (int j = 0; j < E; j++) {
            v[j] = __fmul_rn(v[j], s);
        }
    } else if (E == 32) {  // int4 groups narrower than 32 columns, or act-order: a group per column
        unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int j = 0; j < E; j++) {
            int g = q.gIdx != nullptr ? gs[j] : (kk + j) / groupK;
            v[j] = __fmul_rn(int4_at(words[j / 8], j % 8, 8388608.0f + (float) q.zeroAt(n, g)), q.scaleAt(n, g));
        }
    } else {  // fp8 blocks narrower than 16 columns
        unscaled<E>(q, raw, 0.0f, v);
#pragma unroll
        for (int j = 0; j < E; j++) {
            v[j] = __fmul_rn(v[j], q.scaleAt(n, (kk + j) / groupK));
        }
    }
#pragma unroll
    for (int j = 0; j < E; j += 4) {
#pragma unroll
        for (int t = 0; t < T; t++) {
            float4 xv = *reinterpret_cast<const float4*>(xr + t * GEMV_XS + j);
            acc[t] = fmaf(xv.x, v[j], acc[t]);
            acc[t] = fmaf(xv.y, v[j + 1], acc[t]);
            acc[t] = fmaf(xv.z, v[j + 2], acc[t]);
            acc[t] = fmaf(xv.w, v[j + 3], acc[t]);
        }
    }
}

// T tokens (rows of x) at most; grid (ceil(N / 64), splits). Split s covers the chunks
// [s · chunksPerSplit, (s + 1) · chunksPerSplit) of K. Weight rows must be 16-byte aligned with K a
// multiple of the vector's element count (16, or 32 for int4): the host checks.
template <int T>
__device__ void gemv(View x, const Quant& q, View bias, View out, float* partial, int tokens, int n, int k,
        int chunksPerSplit) {
    __shared__ __align__(16) float xs[T][GEMV_XS];
    __shared__ int gs[GEMV_MAX_CHUNK];
    const int E = q.perVector();
    const int chunk = GEMV_UNROLL * GEMV_LANES * E;  // elements of k per chunk
    const int lane = threadIdx.x % GEMV_LANES;
    const int row = blockIdx.x * GEMV_ROWS + threadIdx.x / GEMV_LANES;
    const bool live = row < n;
    const char* wRow = at(q.w, live ? row : 0, 0);
    const int groupK = q.groupK();
    int kBegin = blockIdx.y * chunksPerSplit * chunk;
    int kEnd = min(k, kBegin + chunksPerSplit * chunk);
    float acc[T];
#pragma unroll
    for (int t = 0; t < T; t++) {
        acc[t] = 0.0f;
    }
    for (int c0 = kBegin; c0 < kEnd; c0 += chunk) {
        uint4 raw[GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int e0 = c0 + (u * GEMV_LANES + lane) * E;  // this vector's first column
            raw[u] = live && e0 < kEnd ? load_stream(wRow + (long long) e0 * 16 / E) : make_uint4(0, 0, 0, 0);
        }
        __syncthreads();  // the previous chunk's x is read by everyone
        int len = min(chunk, kEnd - c0);
        for (int t = 0; t < tokens; t++) {
            for (int e = threadIdx.x; e < chunk; e += GEMV_THREADS) {
                xs[t][gemv_pad(e, E)] = e < len ? ld(x, t, c0 + e) : 0.0f;
            }
        }
        if (q.gIdx != nullptr) {
            for (int e = threadIdx.x; e < len; e += GEMV_THREADS) {
                gs[e] = q.gIdx[c0 + e];
            }
        }
        __syncthreads();
        if (!live) {
            continue;
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            int e = (u * GEMV_LANES + lane) * E;  // within the chunk
            if (c0 + e >= kEnd) {
                break;
            }
            if (E == 32) {
                gemv_vector<T, 32>(q, raw[u], row, c0 + e, groupK, &gs[e], &xs[0][gemv_pad(e, E)], acc);
            } else {
                gemv_vector<T, 16>(q, raw[u], row, c0 + e, groupK, &gs[e], &xs[0][gemv_pad(e, E)], acc);
            }
        }
    }
    // the row's 4 lanes hold partial sums over their columns: add them, lane t % 4 stores token t
#pragma unroll
    for (int t = 0; t < T; t++) {
        acc[t] += __shfl_xor_sync(0xFFFFFFFFu, acc[t], 1);
        acc[t] += __shfl_xor_sync(0xFFFFFFFFu, acc[t], 2);
    }
    if (!live) {
        return;
    }
#pragma unroll
    for (int t = 0; t < T; t++) {
        if (t < tokens && t % GEMV_LANES == lane) {
            if (partial != nullptr) {
                partial[((long long) blockIdx.y * tokens + t) * n + row] = acc[t];
            } else {
                st(out, t, row, __fadd_rn(acc[t], bias.p != nullptr ? ld(bias, 0, row) : 0.0f));
            }
        }
    }
}

// ==== prefill: qmm_mma_* ====

constexpr int MMA_THREADS = 256;
constexpr int MMA_BK = 32;        // k per shared-memory stage (groups must be multiples of it)
constexpr int MMA_BKP = MMA_BK + 8;  // row pitch in halves: 80 bytes, so ldmatrix's 8 rows hit distinct banks

__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const unsigned short* p) {
    unsigned a = (unsigned) __cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

template <bool HALF>
__device__ __forceinline__ void mma16816(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    if (HALF) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

// Element (r, c) of x, whose dtype the kernel is compiled for (no per-element dtype switch).
template <int XT>
__device__ __forceinline__ float x_at(const View& x, int r, int c) {
    const char* p = x.p + ((long long) r * x.stride + c) * (XT == DT_F32 ? 4 : 2);
    if (XT == DT_F32) {
        return *(const float*) p;
    }
    unsigned short h = *(const unsigned short*) p;
    return XT == DT_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
}

// Two exact values packed as the MMA's 16-bit type (low half first).
template <bool HALF>
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
    if (HALF) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
    __nv_bfloat162 b = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&b);
}

// XT: x's dtype code (DT_BF16, DT_F16 or DT_F32). PIECES: bf16 pieces of an f32 x (three) or one.
// Warps: WARPS_M x WARPS_N; each owns WM m16 tiles x WN n8 tiles. Grid (ceil(N / BN), ceil(T / BM),
// splits); split z covers columns [z · kPerSplit, (z + 1) · kPerSplit) (a multiple of MMA_BK).
template <int WARPS_M, int WM, int WARPS_N, int WN, int XT>
__device__ void mma(View x, const Quant& q, View bias, View out, float* partial, int tokens, int n, int k,
        int kPerSplit) {
    constexpr int BM = 16 * WM * WARPS_M, BN = 8 * WN * WARPS_N;
    constexpr bool HALF = XT == DT_F16;
    constexpr int PIECES = XT == DT_F32 ? 3 : 1;
    constexpr int A_PER = BM * MMA_BK / MMA_THREADS;  // x elements each thread stages per tile
    static_assert(WARPS_M * WARPS_N * 32 == MMA_THREADS && BN * 2 == MMA_THREADS && WN % 2 == 0, "tile shape");
    __shared__ __align__(16) unsigned short as[PIECES][BM][MMA_BKP];
    __shared__ __align__(16) unsigned short bs[BN][MMA_BKP];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kBegin = blockIdx.z * kPerSplit, kEnd = min(k, kBegin + kPerSplit);
    const int groupK = q.groupK();

    // this thread's share of a tile: x row aRow, columns aCol.. aCol + A_PER; W row bRow, 16 columns from bCol
    const int aRow = tid * A_PER / MMA_BK, aCol = tid * A_PER % MMA_BK;
    const int bRow = tid / 2, bCol = (tid % 2) * 16;
    const bool aLive = m0 + aRow < tokens, bLive = n0 + bRow < n;
    const char* wRow = at(q.w, bLive ? n0 + bRow : 0, 0);

    float aReg[A_PER];
    uint4 bReg;
    int bZero = 8;
    auto fetch = [&](int k0) {
#pragma unroll
        for (int i = 0; i < A_PER; i++) {
            aReg[i] = aLive ? x_at<XT>(x, m0 + aRow, k0 + aCol + i) : 0.0f;
        }
        if (!bLive) {
            bReg = make_uint4(0, 0, 0, 0);
        } else if (q.format == INT4) {
            uint2 h = *reinterpret_cast<const uint2*>(wRow + (k0 + bCol) / 2);
            bReg = make_uint4(h.x, h.y, 0, 0);
            bZero = q.zeroAt(n0 + bRow, k0 / q.groupSize);
        } else {
            bReg = *reinterpret_cast<const uint4*>(wRow + k0 + bCol);
        }
    };
    auto stage = [&]() {
#pragma unroll
        for (int i = 0; i < A_PER; i++) {
            float v = aReg[i];
            if (PIECES == 1) {
                as[0][aRow][aCol + i] = HALF ? __half_as_ushort(__float2half_rn(v)) : f32_to_bf16(v);
            } else {  // v = p0 + p1 + p2, each a bf16, exactly (for finite v)
#pragma unroll
                for (int p = 0; p < PIECES; p++) {
                    unsigned short h = f32_to_bf16(v);
                    as[p][aRow][aCol + i] = h;
                    v = v - bf16_to_f32(h);
                }
            }
        }
        float v[16];
        if (q.format == INT4) {
            unsigned words[2] = {bReg.x, bReg.y};
            float z = 8388608.0f + (float) bZero;
#pragma unroll
            for (int i = 0; i < 16; i++) {
                v[i] = int4_at(words[i / 8], i % 8, z);
            }
        } else {
            unscaled<16>(q, bReg, 0.0f, v);
        }
        uint4 lo = make_uint4(pack2<HALF>(v[0], v[1]), pack2<HALF>(v[2], v[3]), pack2<HALF>(v[4], v[5]),
                pack2<HALF>(v[6], v[7]));
        uint4 hi = make_uint4(pack2<HALF>(v[8], v[9]), pack2<HALF>(v[10], v[11]), pack2<HALF>(v[12], v[13]),
                pack2<HALF>(v[14], v[15]));
        *reinterpret_cast<uint4*>(&bs[bRow][bCol]) = lo;
        *reinterpret_cast<uint4*>(&bs[bRow][bCol + 8]) = hi;
    };

    float acc[WM][WN][4], res[WM][WN][4];
#pragma unroll
    for (int i = 0; i < WM; i++) {
#pragma unroll
        for (int j = 0; j < WN; j++) {
#pragma unroll
            for (int c = 0; c < 4; c++) {
                acc[i][j][c] = 0.0f;
                res[i][j][c] = 0.0f;
            }
        }
    }
    if (kBegin < kEnd) {
        fetch(kBegin);
        stage();
    }
    __syncthreads();
    for (int k0 = kBegin; k0 < kEnd; k0 += MMA_BK) {
        bool more = k0 + MMA_BK < kEnd;
        if (more) {
            fetch(k0 + MMA_BK);  // in flight while this tile multiplies
        }
#pragma unroll
        for (int kk = 0; kk < MMA_BK; kk += 16) {
            unsigned a[PIECES][WM][4], b[WN][2];
#pragma unroll
            for (int p = 0; p < PIECES; p++) {
#pragma unroll
                for (int i = 0; i < WM; i++) {
                    ldmatrix_x4(a[p][i], &as[p][wm * 16 * WM + i * 16 + (lane % 16)][kk + (lane / 16) * 8]);
                }
            }
#pragma unroll
            for (int j = 0; j < WN; j += 2) {
                unsigned r[4];
                ldmatrix_x4(r, &bs[wn * 8 * WN + j * 8 + (lane / 16) * 8 + (lane % 8)][kk + ((lane / 8) % 2) * 8]);
                b[j][0] = r[0];
                b[j][1] = r[1];
                b[j + 1][0] = r[2];
                b[j + 1][1] = r[3];
            }
#pragma unroll
            for (int p = 0; p < PIECES; p++) {
#pragma unroll
                for (int i = 0; i < WM; i++) {
#pragma unroll
                    for (int j = 0; j < WN; j++) {
                        mma16816<HALF>(acc[i][j], a[p][i], b[j][0], b[j][1]);
                    }
                }
            }
        }
        // the end of a scale group (or of this split): res += partial sum · scale of its column
        if ((k0 + MMA_BK) % groupK == 0 || !more) {
            int g = groupK == WHOLE_K ? 0 : k0 / groupK;
#pragma unroll
            for (int j = 0; j < WN; j++) {
#pragma unroll
                for (int c = 0; c < 2; c++) {
                    int col = n0 + wn * 8 * WN + j * 8 + 2 * (lane % 4) + c;
                    float s = col < n ? q.scaleAt(col, g) : 0.0f;
#pragma unroll
                    for (int i = 0; i < WM; i++) {
                        res[i][j][c] = fmaf(acc[i][j][c], s, res[i][j][c]);
                        res[i][j][c + 2] = fmaf(acc[i][j][c + 2], s, res[i][j][c + 2]);
                        acc[i][j][c] = 0.0f;
                        acc[i][j][c + 2] = 0.0f;
                    }
                }
            }
        }
        __syncthreads();  // everyone is done reading this tile
        if (more) {
            stage();
            __syncthreads();
        }
    }
#pragma unroll
    for (int i = 0; i < WM; i++) {
#pragma unroll
        for (int j = 0; j < WN; j++) {
#pragma unroll
            for (int c = 0; c < 4; c++) {
                int r = m0 + wm * 16 * WM + i * 16 + lane / 4 + (c >= 2 ? 8 : 0);
                int col = n0 + wn * 8 * WN + j * 8 + 2 * (lane % 4) + (c & 1);
                if (r < tokens && col < n) {
                    if (partial != nullptr) {
                        partial[((long long) blockIdx.z * tokens + r) * n + col] = res[i][j][c];
                    } else {
                        st(out, r, col, __fadd_rn(res[i][j][c], bias.p != nullptr ? ld(bias, 0, col) : 0.0f));
                    }
                }
            }
        }
    }
}

}  // namespace qmm

// out[t, n] = round(Σ_s partial[s, t, n] + bias[n]), the splits added in order.
extern "C" __global__ void qmm_splitk_reduce(const float* partial, int splits, View bias, View out, int tokens, int n) {
    ROWS_COLS(t, c, tokens, n) {
        float acc = 0.0f;
        for (int s = 0; s < splits; s++) {
            acc += partial[((long long) s * tokens + t) * n + c];
        }
        st(out, t, c, __fadd_rn(acc, bias.p != nullptr ? ld(bias, 0, c) : 0.0f));
    }
}

// Every fast kernel takes the weight as these arguments, then the problem:
// x, w, scale, zeros, gIdx, format, scaleMode, blockN, blockK, groupSize, bias, out, partial (null: write
// out), tokens, n, k, perSplit (gemv: chunks of k, mma: columns), err (a bad g_idx was reported: write nothing).
#define QMM_ARGS                                                                                                 \
    View x, View w, View scale, View zeros, const int *gIdx, int format, int scaleMode, int blockN, int blockK, \
            int groupSize, View bias, View out, float *partial, int tokens, int n, int k, int perSplit,         \
            const int *err
#define QMM_QUANT qmm::Quant{w, scale, zeros, gIdx, format, scaleMode, blockN, blockK, groupSize}
#define QMM_SKIP (gIdx != nullptr && *(const volatile int*) err != 0)

#define QMM_GEMV(NAME, T)                                                                                  \
    extern "C" __global__ void __launch_bounds__(qmm::GEMV_THREADS) NAME(QMM_ARGS) {                      \
        if (!QMM_SKIP) {                                                                                   \
            qmm::gemv<T>(x, QMM_QUANT, bias, out, partial, tokens, n, k, perSplit);                        \
        }                                                                                                  \
    }
QMM_GEMV(qmm_gemv_t1, 1)
QMM_GEMV(qmm_gemv_t2, 2)
QMM_GEMV(qmm_gemv_t4, 4)
QMM_GEMV(qmm_gemv_t8, 8)
QMM_GEMV(qmm_gemv_t16, 16)

// m64: 2 x 4 warps of 32 x 32 (64 tokens x 128 features a block); m16: 1 x 8 warps of 16 x 16.
#define QMM_MMA(NAME, WARPS_M, WM, WARPS_N, WN, XT)                                                        \
    extern "C" __global__ void __launch_bounds__(qmm::MMA_THREADS) NAME(QMM_ARGS) {                       \
        if (!QMM_SKIP) {                                                                                   \
            qmm::mma<WARPS_M, WM, WARPS_N, WN, XT>(x, QMM_QUANT, bias, out, partial, tokens, n, k, perSplit); \
        }                                                                                                  \
    }
QMM_MMA(qmm_mma_m64_bf16, 2, 2, 4, 4, DT_BF16)
QMM_MMA(qmm_mma_m64_f16, 2, 2, 4, 4, DT_F16)
QMM_MMA(qmm_mma_m64_f32, 2, 2, 4, 4, DT_F32)
QMM_MMA(qmm_mma_m16_bf16, 1, 1, 8, 2, DT_BF16)
QMM_MMA(qmm_mma_m16_f16, 1, 1, 8, 2, DT_F16)
QMM_MMA(qmm_mma_m16_f32, 1, 1, 8, 2, DT_F32)
