// Mamba-2's grouped gated RMSNorm (GatedRmsNorm). See GatedNormKernels.java; the CPU reference is
// GatedRmsNormKernel.java, whose SIMD form this follows: silu in f32 (silu_f32, common.cuh), the
// group's mean of squares summed in f32, its reciprocal square root in f64, the products in f32,
// rounded once.
#include "common.cuh"

namespace gnorm {

// Values a thread keeps between the passes (GatedNormKernels): a warp's lanes 8 each (groups up to 256),
// a block's threads 16 each (up to 512 threads: groups up to 8192 held whole).
constexpr int WARP_CACHED = 8, BLOCK_CACHED = 16;

// The value normalized: x * silu(z) (gate first), or x (normBeforeGate). DT: the dtype of x, z and
// the weight (DT_ANY: each read from its view).
template <int DT>
__device__ __forceinline__ float value(const View& x, const View& z, long long row, long long j, int normFirst) {
    float v = ldt<DT>(x, row, j);
    return normFirst ? v : __fmul_rn(v, silu_f32(ldt<DT>(z, row, j)));
}

// One group of one row, spread over `width` threads (a warp or the block) starting at `lane`;
// reduce(v) sums over those threads. A thread keeps its first CACHED values (and gates) in registers
// between the two passes, loading them all at once; groups wider than CACHED * width recompute the
// rest. Each element is read and written by the same thread, and only after the whole group's sum,
// so out may be x.
template <int DT, int CACHED, typename Reduce>
__device__ __forceinline__ void group(const View& x, const View& z, const View& w, const View& out, long long row,
        long long g0, int groupSize, float eps, int normFirst, int lane, int width, Reduce reduce) {
    float v[CACHED], g[CACHED], wv[CACHED];
#pragma unroll
    for (int i = 0; i < CACHED; i++) {  // all loads first, so they are in flight together
        int j = lane + i * width;
        if (j < groupSize) {
            v[i] = ldt<DT>(x, row, g0 + j);
            g[i] = ldt<DT>(z, row, g0 + j);
            wv[i] = ldt<DT>(w, 0, g0 + j);
        }
    }
    float ss = 0.0f;
#pragma unroll
    for (int i = 0; i < CACHED; i++) {
        if (lane + i * width < groupSize) {
            g[i] = silu_f32(g[i]);
            v[i] = normFirst ? v[i] : __fmul_rn(v[i], g[i]);
            ss = fmaf(v[i], v[i], ss);
        }
    }
    for (int j = lane + CACHED * width; j < groupSize; j += width) {
        float f = value<DT>(x, z, row, g0 + j, normFirst);
        ss = fmaf(f, f, ss);
    }
    ss = reduce(ss);
    float inv = (float) (1.0 / sqrt((double) (ss / groupSize) + eps));
#pragma unroll
    for (int i = 0; i < CACHED; i++) {
        int j = lane + i * width;
        if (j < groupSize) {
            float y = __fmul_rn(__fmul_rn(v[i], inv), wv[i]);
            st_act(out, row, g0 + j, normFirst ? __fmul_rn(y, g[i]) : y);
        }
    }
    for (int j = lane + CACHED * width; j < groupSize; j += width) {
        long long c = g0 + j;
        float y = __fmul_rn(__fmul_rn(value<DT>(x, z, row, c, normFirst), inv), ldt<DT>(w, 0, c));
        st_act(out, row, c, normFirst ? __fmul_rn(y, silu_f32(ldt<DT>(z, row, c))) : y);
    }
}

template <int DT>
__device__ void warp_unit(const View& x, const View& z, const View& w, const View& out, long long units, int groups,
        int groupSize, float eps, int normFirst) {
    long long unit = (long long) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (unit >= units) {
        return;  // a whole warp: the shuffles below never see it
    }
    long long row = unit / groups, g0 = (unit % groups) * groupSize;
    group<DT, WARP_CACHED>(x, z, w, out, row, g0, groupSize, eps, normFirst, threadIdx.x & 31, 32,
            [](float v) { return warp_sum(v); });
}

template <int DT>
__device__ void block_unit(const View& x, const View& z, const View& w, const View& out, int groups, int groupSize,
        float eps, int normFirst, float* scratch) {
    long long row = blockIdx.x / groups, g0 = (long long) (blockIdx.x % groups) * groupSize;
    group<DT, BLOCK_CACHED>(x, z, w, out, row, g0, groupSize, eps, normFirst, threadIdx.x, blockDim.x,
            [&](float v) { return block_sum(v, scratch); });
}

}  // namespace gnorm

// Small groups (groupSize <= 32 * WARP_CACHED): one warp per (row, group), units = rows * groups in order,
// blockDim.x / 32 units per block. dtCode: the dtype of x, z and weight when they agree, else -1.
extern "C" __global__ void gnorm_rms_warp(View x, View z, View w, View out, long long units, int groups, int groupSize,
        float eps, int normFirst, int dtCode) {
    switch (dtCode) {
        case DT_F32: gnorm::warp_unit<DT_F32>(x, z, w, out, units, groups, groupSize, eps, normFirst); break;
        case DT_BF16: gnorm::warp_unit<DT_BF16>(x, z, w, out, units, groups, groupSize, eps, normFirst); break;
        case DT_F16: gnorm::warp_unit<DT_F16>(x, z, w, out, units, groups, groupSize, eps, normFirst); break;
        default: gnorm::warp_unit<DT_ANY>(x, z, w, out, units, groups, groupSize, eps, normFirst); break;
    }
}

// Large groups: one block (up to 512 threads) per (row, group), blockIdx.x = row * groups + group.
extern "C" __global__ void __launch_bounds__(512) gnorm_rms_block(View x, View z, View w, View out, int groups,
        int groupSize, float eps, int normFirst, int dtCode) {
    __shared__ float scratch[32];
    switch (dtCode) {
        case DT_F32: gnorm::block_unit<DT_F32>(x, z, w, out, groups, groupSize, eps, normFirst, scratch); break;
        case DT_BF16: gnorm::block_unit<DT_BF16>(x, z, w, out, groups, groupSize, eps, normFirst, scratch); break;
        case DT_F16: gnorm::block_unit<DT_F16>(x, z, w, out, groups, groupSize, eps, normFirst, scratch); break;
        default: gnorm::block_unit<DT_ANY>(x, z, w, out, groups, groupSize, eps, normFirst, scratch); break;
    }
}
