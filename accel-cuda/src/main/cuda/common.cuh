// Shared by every kernel file: the tensor-view argument, dtype codes and exact conversions, the
// device error word, reductions. The build compiles each *.cu file of this folder into its own module
// (see build-fatbin.sh) and KernelModule looks kernel names up in all of them, so kernels are
// extern "C" with the file's prefix (norm_rms, attn_paged, ...) and unique across files; file-local
// helpers live in a namespace named after their file.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

// dev.jvllm.api.DType ordinals (CudaKernelsLayoutTest checks they agree).
enum DTypeCode { DT_F32 = 0, DT_F16 = 1, DT_BF16 = 2, DT_F8_E4M3 = 3, DT_I8 = 4, DT_U8 = 5, DT_I32 = 6, DT_I64 = 7 };

// A tensor as a kernel sees it (Launch.view writes it): element (r, c) is at
// p + (r * stride + c) * size(dt). p already includes the view's offset.
struct View {
    char* p;
    long long stride;  // elements between rows
    int dt;            // DTypeCode
    int pad;
};
static_assert(sizeof(View) == 24, "View must match Launch.VIEW (24 bytes)");

__device__ __forceinline__ int dt_size(int dt) {
    switch (dt) {
        case DT_F32: case DT_I32: return 4;
        case DT_F16: case DT_BF16: return 2;
        case DT_I64: return 8;
        default: return 1;
    }
}

__device__ __forceinline__ char* at(const View& v, long long row, long long col) {
    return v.p + (row * v.stride + col) * dt_size(v.dt);
}

// ---- exact conversions, bit for bit as dev.jvllm.api.Numerics ----

__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __uint_as_float(((unsigned) b) << 16); }

// round to nearest even; NaN -> quiet NaN keeping the sign and high payload bits (Numerics.f32ToBf16)
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
    unsigned x = __float_as_uint(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
        return (unsigned short) ((x >> 16) | 0x0040u);
    }
    return (unsigned short) ((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ float f16_to_f32(unsigned short b) { return __half2float(__ushort_as_half(b)); }

// round to nearest even, overflow -> +-Inf; NaN keeps sign and payload bits as Java's Float.floatToFloat16
__device__ __forceinline__ unsigned short f32_to_f16(float f) {
    unsigned x = __float_as_uint(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
        return (unsigned short) (((x >> 16) & 0x8000u) | 0x7C00u | ((x & 0x007FE000u) >> 13)
                | ((x & 0x00001FF0u) >> 4) | (x & 0x0000000Fu));
    }
    return __half_as_ushort(__float2half_rn(f));
}

// fp8 e4m3fn: S.EEEE.MMM, bias 7, no infinities, S.1111.111 = NaN
__device__ __forceinline__ float e4m3_to_f32(unsigned char b) {
    int exp = (b >> 3) & 0xF, man = b & 7;
    float v;
    if (exp == 0xF && man == 7) {
        v = __int_as_float(0x7FC00000);
    } else if (exp == 0) {
        v = man * 0x1.0p-9f;
    } else {
        v = (1.0f + man * 0.125f) * ldexpf(1.0f, exp - 7);
    }
    return (b & 0x80) ? -v : v;
}

// round to nearest even, saturating at +-448; NaN -> 0x7F (Numerics.f32ToE4M3)
__device__ __forceinline__ unsigned char f32_to_e4m3(float f) {
    if (isnan(f)) {
        return 0x7F;
    }
    unsigned sign = signbit(f) ? 0x80u : 0u;
    float a = fabsf(f);
    if (a >= 448.0f) {
        return (unsigned char) (sign | 0x7Eu);
    }
    int e = a == 0.0f ? -7 : ilogbf(a);
    float quantum = e < -6 ? 0x1.0p-9f : ldexpf(1.0f, e - 3);
    float q = rintf(a / quantum) * quantum;  // a / quantum is exact: quantum is a power of two
    if (q >= 448.0f) {
        return (unsigned char) (sign | 0x7Eu);
    }
    if (q == 0.0f) {
        return (unsigned char) sign;
    }
    int qe = ilogbf(q);
    if (qe < -6) {
        return (unsigned char) (sign | (unsigned) rintf(q / 0x1.0p-9f));
    }
    unsigned man = (unsigned) rintf((ldexpf(q, -qe) - 1.0f) * 8.0f);
    return (unsigned char) (sign | ((unsigned) (qe + 7) << 3) | man);
}

// An element of a float dtype (F32/F16/BF16/F8_E4M3) as f32; integers converted.
__device__ __forceinline__ float load_f32(const char* p, int dt) {
    switch (dt) {
        case DT_F32: return *(const float*) p;
        case DT_F16: return f16_to_f32(*(const unsigned short*) p);
        case DT_BF16: return bf16_to_f32(*(const unsigned short*) p);
        case DT_F8_E4M3: return e4m3_to_f32(*(const unsigned char*) p);
        case DT_I8: return (float) *(const signed char*) p;
        case DT_U8: return (float) *(const unsigned char*) p;
        case DT_I32: return (float) *(const int*) p;
        default: return (float) *(const long long*) p;
    }
}

// Rounds v once to a float dtype and stores it.
__device__ __forceinline__ void store_f32(char* p, int dt, float v) {
    switch (dt) {
        case DT_F32: *(float*) p = v; break;
        case DT_F16: *(unsigned short*) p = f32_to_f16(v); break;
        case DT_BF16: *(unsigned short*) p = f32_to_bf16(v); break;
        case DT_F8_E4M3: *(unsigned char*) p = f32_to_e4m3(v); break;
        default: break;  // integer outputs are never written through this path
    }
}

// v rounded through a float dtype and back (identity for F32): Numerics.roundTo
__device__ __forceinline__ float round_to(int dt, float v) {
    switch (dt) {
        case DT_F16: return f16_to_f32(f32_to_f16(v));
        case DT_BF16: return bf16_to_f32(f32_to_bf16(v));
        case DT_F8_E4M3: return e4m3_to_f32(f32_to_e4m3(v));
        default: return v;
    }
}

// ---- 16-byte words of 8 elements of a 16-bit float dtype (DT: DT_BF16 or DT_F16, fixed at compile time) ----

// v rounded through DT and back
template <int DT>
__device__ __forceinline__ float round16(float v) {
    return DT == DT_BF16 ? bf16_to_f32(f32_to_bf16(v)) : f16_to_f32(f32_to_f16(v));
}

// the word's elements as f32, in memory order
template <int DT>
__device__ __forceinline__ void unpack8(const uint4& u, float* o) {
    const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        unsigned short lo = (unsigned short) (w[i] & 0xFFFFu), hi = (unsigned short) (w[i] >> 16);
        o[2 * i] = DT == DT_BF16 ? bf16_to_f32(lo) : f16_to_f32(lo);
        o[2 * i + 1] = DT == DT_BF16 ? bf16_to_f32(hi) : f16_to_f32(hi);
    }
}

// v[0..7] rounded to DT, as one word
template <int DT>
__device__ __forceinline__ uint4 pack8(const float* v) {
    unsigned w[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        unsigned short lo = DT == DT_BF16 ? f32_to_bf16(v[2 * i]) : f32_to_f16(v[2 * i]);
        unsigned short hi = DT == DT_BF16 ? f32_to_bf16(v[2 * i + 1]) : f32_to_f16(v[2 * i + 1]);
        w[i] = (unsigned) lo | ((unsigned) hi << 16);
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
}

__device__ __forceinline__ float ld(const View& v, long long row, long long col) { return load_f32(at(v, row, col), v.dt); }

__device__ __forceinline__ void st(const View& v, long long row, long long col, float x) { store_f32(at(v, row, col), v.dt, x); }

// Copies one element's bytes (dtypes equal).
__device__ __forceinline__ void copy_elem(char* dst, const char* src, int size) {
    switch (size) {
        case 8: *(long long*) dst = *(const long long*) src; break;
        case 4: *(int*) dst = *(const int*) src; break;
        case 2: *(short*) dst = *(const short*) src; break;
        default: *dst = *src; break;
    }
}

// ---- the device error word (DeviceErrors.java): int[4] in host-mapped pinned memory ----
// [0] = code ((OpKind ordinal + 1) << 8 | detail), [1], [2], [3] = the values it names. The first
// error of a batch wins; the host reads it at the next synchronize.
__device__ __forceinline__ void report_error(int* err, int code, int a, int b, int c) {
    if (atomicCAS(err, 0, code) == 0) {
        volatile int* e = err;
        e[1] = a;
        e[2] = b;
        e[3] = c;
        __threadfence_system();
    }
}

// ---- programmatic dependent launch (sm_90 and later; no-ops on older GPUs) ----
// A kernel launched with Launch.dependent() may begin while the kernel before it in the stream still
// runs. pdl_wait() returns once that kernel has completed and its writes are visible (at once when the
// launch was not dependent), so such a kernel calls it in every block, before it reads or writes
// anything earlier kernels write or read; work that touches only data no kernel writes (a GEMV's
// weights) may come before it. pdl_launch_next() lets the next dependent kernel begin launching (its
// blocks then wait in their pdl_wait()); called after pdl_wait(), at most two grids overlap. The
// batch-1 norm calls it first (norm.cu rms_row16), so there a third grid may be resident before the
// one two back has ended: the rule above (only data no kernel writes before the wait) is what keeps
// that safe. What a step saves is the gap between one kernel's end and the next one's start.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_launch_next() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// A hint that the 128-byte line at p will be read soon: fetched into L2 and no register written, so a
// kernel may issue it before pdl_wait() even for memory an earlier kernel may still write (L2 is where
// the writes land; the loads after the wait read what is there then). Used for data whose address
// comes from the host's step inputs, fetched from HBM while the kernel before ends.
__device__ __forceinline__ void prefetch_l2(const void* p) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}

// Both, at the top of a dependent kernel that has nothing to do before its inputs are ready.
__device__ __forceinline__ void pdl_begin() {
    pdl_wait();
    pdl_launch_next();
}

// 16 bytes of global memory read once (a weight row streamed by a GEMV): bypasses L1, so the
// activations and scales the kernel reuses stay there.
__device__ __forceinline__ uint4 load_stream(const void* p) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                 : "l"(p));
    return v;
}

// ---- reductions ----

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
    }
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// scratch: 32 floats of shared memory; the block must not use it concurrently.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

// Grid-stride loop over a flat index space of n items (grid from Launch.elements). For a rows x cols
// tensor prefer ROWS_COLS: recovering (r, c) from a flat 64-bit index costs a division per element.
#define GRID_STRIDE(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long) gridDim.x * blockDim.x)

// Every element (r, c) of a rows x cols tensor, for a grid made by Launch.rowsCols: rows over
// blockIdx.y, columns over x. (No 64-bit division per element, which costs more than the element.)
#define ROWS_COLS(r, c, rows, cols)                                                   \
    for (long long r = blockIdx.y; r < (rows); r += gridDim.y)                        \
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < (cols); c += gridDim.x * blockDim.x)

// ==== state batches: the varlen metadata of the stateful ops (conv, scans; StateBatch.java) ====
// Sequence b owns tokens [qsl[b], qsl[b+1]) and state slot idx[b] (-1 = padding: no output row and
// no slot is touched) and continues from its slot when hasInit[b] != 0. A decode batch passes
// qsl = nullptr: row b is sequence b's one token, always continuing from its slot.

struct StateSeq {
    int start, end;  // token rows [start, end)
    int slot;        // -1 = padding
    bool init;       // continue from the slot (else zeros)
};

__device__ __forceinline__ StateSeq state_seq(const int* qsl, const int* idx, const int* hasInit, int b) {
    if (qsl == nullptr) {
        return {b, b + 1, idx[b], true};
    }
    return {qsl[b], qsl[b + 1], idx[b], hasInit[b] != 0};
}

// The sequence whose token range holds row t: the last b with qsl[b] <= t, if t < qsl[b+1]; else -1.
// qsl must be non-decreasing (state_batch_check); decode batches: b = t.
__device__ __forceinline__ int state_seq_of(const int* qsl, int numSeqs, long long t) {
    if (qsl == nullptr) {
        return t < numSeqs ? (int) t : -1;
    }
    if (numSeqs == 0 || t < qsl[0] || t >= qsl[numSeqs]) {
        return -1;
    }
    int lo = 0, hi = numSeqs - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (qsl[mid] <= t) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

// Checks a whole batch in one block before an op touches anything, as the CPU reference does:
// every sequence's range inside [0, tokens] and not decreasing (padding's too, stricter than the
// CPU: the kernels find a row's sequence by binary search over qsl), a running one's slot inside
// [0, slots), no slot used twice (two final states would race). *ok = 1 when all hold; otherwise
// *ok = 0, the op's kernels return at once (outputs and states untouched) and the first problem is
// reported: detail 1 (b, qsl[b], qsl[b+1]), 2 (b, slot, slots), 3 (slot, first b, second b).
// Decode batches (qsl = nullptr) have no ranges to check. For callers' wrapper kernels (one block).
__device__ void state_batch_check(const int* qsl, const int* idx, int numSeqs, int tokens, int slots, int* ok,
        int* err, int errCode) {
    constexpr int BITMAP_SLOTS = 8192 * 32;  // a bit per slot in 32 KiB of shared memory
    __shared__ unsigned seen[BITMAP_SLOTS / 32];
    __shared__ int bad;
    bool bitmap = slots <= BITMAP_SLOTS;
    if (threadIdx.x == 0) {
        bad = 0;
    }
    if (bitmap) {
        for (int i = threadIdx.x; i < (slots + 31) / 32; i += blockDim.x) {
            seen[i] = 0u;
        }
    }
    __syncthreads();
    for (int b = threadIdx.x; b < numSeqs; b += blockDim.x) {
        if (qsl != nullptr && (qsl[b] < 0 || qsl[b] > qsl[b + 1] || qsl[b + 1] > tokens)) {
            report_error(err, errCode | 1, b, qsl[b], qsl[b + 1]);
            bad = 1;
        }
        int s = idx[b];
        if (s == -1) {
            continue;
        }
        if (s < 0 || s >= slots) {
            report_error(err, errCode | 2, b, s, slots);
            bad = 1;
            continue;
        }
        bool twice = false;
        if (bitmap) {
            twice = (atomicOr(&seen[s >> 5], 1u << (s & 31)) >> (s & 31)) & 1u;
        }
        if (twice || !bitmap) {  // find the other user (only when there is one, or without the bitmap)
            for (int j = 0; j < numSeqs; j++) {
                if (j != b && idx[j] == s) {
                    report_error(err, errCode | 3, s, min(j, b), max(j, b));
                    bad = 1;
                    break;
                }
            }
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        *ok = bad ? 0 : 1;
    }
}

// silu(v) = v / (1 + e^-v) in f32 for the conv, scan and gated-norm kernels: expf is within 2 ulp of
// the CPU scalar form's f64 exp (its SIMD forms use an f32 vector exp too), far inside those ops'
// NMSE tolerances, while f64 transcendentals took most of these kernels' time on an H200
// (StateOpsBench, f64 -> f32: gated norm of 4096x5120 530 -> 218 us, selective scan of 4096 tokens
// x 5120 channels 7.4 -> 4.9 ms).
__device__ __forceinline__ float silu_f32(float v) {
    return __fdiv_rn(v, __fadd_rn(1.0f, expf(-v)));
}

// ==== activation-dtype loads and stores (the conv / scan / gated-norm kernels) ====
// Those kernels read and write only F32, BF16 and F16 (their supports() says so), and their loops are
// unrolled: ld()/st()/round_to() would inline their fp8 and integer paths into every copy. These
// handle just the three activation dtypes.

__device__ __forceinline__ float ld_act(const View& v, long long row, long long col) {
    long long i = row * v.stride + col;
    if (v.dt == DT_F32) {
        return ((const float*) v.p)[i];
    }
    unsigned short b = ((const unsigned short*) v.p)[i];
    return v.dt == DT_BF16 ? bf16_to_f32(b) : f16_to_f32(b);
}

__device__ __forceinline__ void st_act(const View& v, long long row, long long col, float x) {
    long long i = row * v.stride + col;
    if (v.dt == DT_F32) {
        ((float*) v.p)[i] = x;
    } else {
        ((unsigned short*) v.p)[i] = v.dt == DT_BF16 ? f32_to_bf16(x) : f32_to_f16(x);
    }
}

// v rounded through an activation dtype and back (round_to for F32/BF16/F16)
__device__ __forceinline__ float round_act(int dt, float v) {
    return dt == DT_BF16 ? bf16_to_f32(f32_to_bf16(v)) : dt == DT_F16 ? f16_to_f32(f32_to_f16(v)) : v;
}

// dst[drow, j] = src[srow, j] for from <= j < to, the block's threads over j: the bytes when the dtypes
// agree, else converted (Cast's rule). What a KV-cache write does with a token's row of a head. Both
// are F32, F16 or BF16 (the KV-cache writes' callers admit no other dtype), so the conversion has only
// those three dtypes' code.
__device__ __forceinline__ void copy_cols(const View& dst, long long drow, const View& src, long long srow, int from,
        int to) {
    const bool same = src.dt == dst.dt;
    const int size = dt_size(src.dt);
    for (int j = from + threadIdx.x; j < to; j += blockDim.x) {
        if (same) {
            copy_elem(at(dst, drow, j), at(src, srow, j), size);
        } else {
            st_act(dst, drow, j, ld_act(src, srow, j));
        }
    }
}

// ld_act() decides the dtype at run time, so each load sits behind a branch and a thread's loads are
// issued one after another, each waiting for the last. ldt<DT>() is a plain load and conversion, so
// the loads of an unrolled loop are all in flight at once; DT_ANY falls back to ld_act() (for dtype
// mixes a kernel has no instantiation for).
constexpr int DT_ANY = -1;

template <int DT>
__device__ __forceinline__ float ldt(const View& v, long long row, long long col) {
    long long i = row * v.stride + col;
    if constexpr (DT == DT_F32) {
        return ((const float*) v.p)[i];
    } else if constexpr (DT == DT_BF16) {
        return bf16_to_f32(((const unsigned short*) v.p)[i]);
    } else if constexpr (DT == DT_F16) {
        return f16_to_f32(((const unsigned short*) v.p)[i]);
    } else {
        return ld_act(v, row, col);
    }
}

// ---- shared by moe.cu, sampling.cu and quant_linear.cu ----

// Java's Math.max for floats: NaN if either is NaN (fmaxf would drop it).
__device__ __forceinline__ float java_max(float a, float b) {
    return isnan(a) || isnan(b) ? __int_as_float(0x7FC00000) : fmaxf(a, b);
}
