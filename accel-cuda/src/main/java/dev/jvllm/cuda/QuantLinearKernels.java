package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.OpKind;

/**
 * The linear op for the quantized {@link LinearWeight} formats ({@code quant_linear.cu}): fp8 e4m3
 * with per-tensor, per-channel or block scales (weight-only, static input scale, or dynamic
 * activation quantization per token or per token group), int4 in the internal layout (symmetric
 * or zero points, optionally act-order g_idx), int8 per-channel. Dense weights are {@link LinearKernels}' (cuBLAS);
 * that family hands every other format to this one, so the op has one owner in
 * {@link KernelFamilies#ALL}.
 *
 * <p>Weights stay quantized in device memory: each element is dequantized in f32 exactly as the
 * format's Javadoc defines it (the reference's {@code LinearDequant.at}) at the moment it is
 * multiplied, and products accumulate in f32, bias added in f32, one rounding to out's dtype.
 * Activation quantization (fp8) first writes x' = f32(e4m3(x / a)) · a as an f32 scratch [T, K],
 * with the reference's f32 divisions and roundings.
 *
 * <p>Kernels ({@link #route}): up to {@value #GEMV_TOKENS_PREFERRED} tokens (decode),
 * {@code quant_mm.cu}'s memory-bound GEMV, which reads each weight byte once in 16-byte vectors,
 * dequantizes in registers and carries every token's accumulator (split over K when N alone cannot
 * fill the device); more tokens, {@code quant_mm.cu}'s tensor-core GEMM (bf16/f16 mma.sync on the
 * exact unscaled weight values, each scale group's partial sum scaled in f32). Calls neither can
 * take (weight rows not 16-byte aligned, K not whole vectors, act-order or narrow groups with more
 * than {@value #GEMV_MAX_TOKENS} tokens) run {@code quant_linear.cu}'s scalar GEMV / tiled
 * {@code gemm_tile.cuh} GEMM. An act-order g_idx is checked first; an index outside [0, G) is
 * reported and the GEMM writes nothing.
 */
final class QuantLinearKernels {
    /** Tokens the GEMV carries per warp (quant_linear.cu GEMV_ROWS). */
    static final int GEMV_TOKENS = 8;
    private static final int FP8 = 0, INT8 = 1, INT4 = 2;
    private static final int PER_TENSOR = 0, PER_CHANNEL = 1, BLOCK = 2;
    private static final int GIDX_DETAIL = 1;

    private final Gpu gpu;

    QuantLinearKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    /**
     * Every quantized format with F32/BF16/F16 x, bias and out; a static fp8 input scale must be F32
     * with one element (as the reference requires).
     */
    boolean supports(Linear a) {
        if (a.weight() instanceof LinearWeight.Dense || !plainFloat(a.x()) || !plainFloat(a.out())
                || (a.bias() != null && !plainFloat(a.bias()))) {
            return false;
        }
        return !(a.weight() instanceof LinearWeight.Fp8 f) || f.inputScale() == null
                || (f.inputScale().dtype() == DType.F32 && f.inputScale().numel() == 1);
    }

    private static boolean plainFloat(Tensor t) {
        return t.dtype() == DType.F32 || t.dtype() == DType.BF16 || t.dtype() == DType.F16;
    }

    void run(Linear a) {
        run(a, Path.AUTO);
    }

    /** The kernels of the product; {@link #route} picks one, a benchmark may force one it {@link #can}. */
    enum Path {
        AUTO,
        /** qmm_gemv_t*: memory-bound decode kernel, up to {@value #GEMV_MAX_TOKENS} tokens. */
        GEMV,
        /** qmm_mma_*: bf16/f16 tensor cores with the scale applied per group. */
        MMA,
        /** ql_gemv / ql_gemm: any shape, any alignment, any group. */
        FALLBACK
    }

    /** Tokens up to which a decode uses the GEMV (beyond it, tensor cores when they can). */
    static final int GEMV_TOKENS_PREFERRED = 8;
    /** Most tokens qmm_gemv_t* carries (its largest instantiation). */
    static final int GEMV_MAX_TOKENS = 16;

    void run(Linear a, Path path) {
        if (!can(a, path)) {
            throw new IllegalArgumentException("linear: the " + path + " kernels cannot run " + a.weight().formatName()
                    + " with x " + a.x().describe());
        }
        int tokens = a.x().dim(0), n = a.weight().outFeatures(), k = a.weight().inFeatures();
        if (tokens == 0 || n == 0) {
            return;
        }
        CudaTensor xq = null;
        try {
            Tensor x = a.x();
            if (a.weight() instanceof LinearWeight.Fp8 f && (f.dynamicPerToken() || f.inputScale() != null) && k > 0) {
                xq = gpu.temp(DType.F32, tokens, k);
                int group = f.activationGroupSize(); // 0: the whole row
                long groups = group > 0 ? (k + group - 1) / group : 1;
                gpu.kernel("ql_act_quant").grid(tokens * groups).block(group > 0 && group <= 128 ? 128 : 256)
                        .view(a.x()).ptr(xq).i32(k).i32(f.dynamicPerToken() ? 1 : 0).i32(group).view(f.inputScale())
                        .launch();
                x = xq;
            }
            if (a.weight() instanceof LinearWeight.Int4 q && q.gIdx() != null) {
                gpu.kernel("ql_check_gidx").elements(k, 256).ptr(q.gIdx()).i32(k).i32(q.scales().cols())
                        .ptr(gpu.errorWord()).i32(DeviceErrors.code(OpKind.LINEAR, GIDX_DETAIL)).launch();
            }
            multiply(a, x, path == Path.AUTO ? route(a) : path);
        } finally {
            if (xq != null) {
                xq.close();
            }
        }
    }

    /**
     * The fastest kernel for this call: the GEMV for decodes, tensor cores for more tokens, the
     * fallback where neither applies (misaligned rows, act-order or narrow groups with many tokens).
     */
    Path route(Linear a) {
        int tokens = a.x().dim(0);
        if (tokens <= GEMV_TOKENS_PREFERRED && can(a, Path.GEMV)) {
            return Path.GEMV;
        }
        if (can(a, Path.MMA)) {
            return Path.MMA;
        }
        return can(a, Path.GEMV) ? Path.GEMV : Path.FALLBACK;
    }

    /**
     * Whether a path runs this call. Both fast paths read whole 16-byte vectors of a weight row, so
     * the rows must start 16-byte aligned and K fill whole vectors (16 fp8/int8 or 32 int4 values);
     * the GEMV carries at most {@value #GEMV_MAX_TOKENS} tokens; tensor cores also need K a multiple
     * of 32 with the scale constant over aligned runs of 32 columns (int4 groups, fp8 blocks) and
     * no act-order g_idx.
     */
    boolean can(Linear a, Path path) {
        LinearWeight w = a.weight();
        int k = w.inFeatures();
        CudaTensor packed = gpu.tensor(switch (w) {
            case LinearWeight.Fp8 f -> f.w();
            case LinearWeight.Int8 q -> q.w();
            case LinearWeight.Int4 q -> q.qweight();
            case LinearWeight.Dense d -> d.w();
        });
        long pitch = packed.layout().rowStride() * packed.dtype().byteSize();
        boolean vectors = w.outFeatures() > 0 && k > 0 && packed.address() % 16 == 0 && (pitch % 16 == 0 || w.outFeatures() == 1)
                && k % (w instanceof LinearWeight.Int4 ? 32 : 16) == 0;
        return switch (path) {
            case AUTO, FALLBACK -> true;
            case GEMV -> vectors && a.x().dim(0) <= GEMV_MAX_TOKENS;
            case MMA -> vectors && k % 32 == 0 && switch (w) {
                case LinearWeight.Int4 q -> q.gIdx() == null && q.groupSize() % 32 == 0;
                case LinearWeight.Fp8 f -> f.blockN() <= 0 || f.blockK() % 32 == 0;
                default -> true;
            };
        };
    }

    /** out = x · Wᵀ + bias through the given path, split over K (partial sums, then qmm_splitk_reduce) when N is small. */
    private void multiply(Linear a, Tensor x, Path path) {
        int tokens = x.dim(0), n = a.weight().outFeatures(), k = a.weight().inFeatures();
        if (path == Path.FALLBACK) {
            Launch l;
            if (tokens <= GEMV_TOKENS) {
                l = gpu.kernel("ql_gemv").grid((n + 7) / 8).block(256);
            } else if (tokens >= 64) {
                l = gpu.kernel("ql_gemm_m64").grid((n + 63) / 64, (tokens + 63) / 64, 1).block(256);
            } else {
                l = gpu.kernel("ql_gemm_m16").grid((n + 63) / 64, (tokens + 15) / 16, 1).block(256);
            }
            weight(l.view(x), a.weight()).view(a.bias()).view(a.out()).i32(tokens).i32(n).i32(k).ptr(gpu.errorWord())
                    .launch();
            return;
        }
        int target = 4 * gpu.multiprocessors(); // blocks that keep every SM busy with a few in flight
        int splits, perSplit;
        Launch l;
        if (path == Path.GEMV) {
            int chunk = 16 * GEMV_LANES * GEMV_UNROLL * (a.weight() instanceof LinearWeight.Int4 ? 2 : 1);
            int chunks = (k + chunk - 1) / chunk, rowBlocks = (n + GEMV_ROWS - 1) / GEMV_ROWS;
            int want = Math.min(chunks, (target + rowBlocks - 1) / rowBlocks);
            perSplit = (chunks + want - 1) / want;
            splits = (chunks + perSplit - 1) / perSplit;
            l = gemvKernel(tokens).grid(rowBlocks, splits, 1).block(256);
        } else {
            boolean m16 = tokens <= 32;
            int bm = m16 ? 16 : 64, tiles = ((n + MMA_BN - 1) / MMA_BN) * ((tokens + bm - 1) / bm), kTiles = k / MMA_BK;
            int want = tiles >= target / 2 ? 1 : Math.min(Math.max(1, kTiles / 4), (target / 2 + tiles - 1) / tiles);
            perSplit = (kTiles + want - 1) / want * MMA_BK;
            splits = (k + perSplit - 1) / perSplit;
            l = mmaKernel(m16, x.dtype()).grid((n + MMA_BN - 1) / MMA_BN, (tokens + bm - 1) / bm, splits).block(256);
        }
        try (CudaTensor partial = splits > 1 ? gpu.temp(DType.F32, splits * tokens, n) : null) {
            weight(l.view(x), a.weight()).view(a.bias()).view(a.out()).ptr(partial == null ? 0 : partial.address())
                    .i32(tokens).i32(n).i32(k).i32(perSplit).ptr(gpu.errorWord()).launch();
            if (partial != null) {
                gpu.kernel("qmm_splitk_reduce").rowsCols(tokens, n).ptr(partial.address()).i32(splits).view(a.bias())
                        .view(a.out()).i32(tokens).i32(n).launch();
            }
        }
    }

    // quant_mm.cu's tile constants
    private static final int GEMV_LANES = 4, GEMV_ROWS = 64, GEMV_UNROLL = 4, MMA_BN = 128, MMA_BK = 32;

    /** The GEMV instantiation for this many tokens: the smallest of 1, 2, 4, 8, 16 that holds them. */
    private Launch gemvKernel(int tokens) {
        return tokens <= 1 ? gpu.kernel("qmm_gemv_t1") : tokens <= 2 ? gpu.kernel("qmm_gemv_t2")
                : tokens <= 4 ? gpu.kernel("qmm_gemv_t4") : tokens <= 8 ? gpu.kernel("qmm_gemv_t8")
                : gpu.kernel("qmm_gemv_t16");
    }

    /** The tensor-core kernel for x's dtype: 16 or 64 tokens a tile. */
    private Launch mmaKernel(boolean m16, DType x) {
        return switch (x) {
            case BF16 -> m16 ? gpu.kernel("qmm_mma_m16_bf16") : gpu.kernel("qmm_mma_m64_bf16");
            case F16 -> m16 ? gpu.kernel("qmm_mma_m16_f16") : gpu.kernel("qmm_mma_m64_f16");
            default -> m16 ? gpu.kernel("qmm_mma_m16_f32") : gpu.kernel("qmm_mma_m64_f32");
        };
    }

    /** The weight arguments of every GEMM kernel: w, scale, zeros, gIdx, format, scaleMode, blockN, blockK, groupSize. */
    private static Launch weight(Launch l, LinearWeight weight) {
        return switch (weight) {
            case LinearWeight.Fp8 f -> l.view(f.w()).view(f.scale()).view(null).ptr(0).i32(FP8)
                    .i32(f.blockN() > 0 ? BLOCK : f.scale().numel() == 1 ? PER_TENSOR : PER_CHANNEL)
                    .i32(f.blockN()).i32(f.blockK()).i32(0);
            case LinearWeight.Int8 q -> l.view(q.w()).view(q.scales()).view(null).ptr(0).i32(INT8).i32(0).i32(0).i32(0)
                    .i32(0);
            case LinearWeight.Int4 q -> (q.gIdx() == null ? l.view(q.qweight()).view(q.scales()).view(q.zeros()).ptr(0)
                    : l.view(q.qweight()).view(q.scales()).view(q.zeros()).ptr(q.gIdx()))
                    .i32(INT4).i32(0).i32(0).i32(0).i32(q.groupSize());
            case LinearWeight.Dense d -> throw new IllegalArgumentException("linear: dense weights are LinearKernels'");
        };
    }

    String describeError(int detail, int a, int b, int c) {
        if (detail == GIDX_DETAIL) {
            return "linear: int4 g_idx[" + a + "] = " + b + " is outside [0, " + c + "): scales has one column per group;"
                    + " fix the checkpoint's g_idx or its repacking";
        }
        return "linear: the kernel reported bad input (detail " + detail + ", values " + a + ", " + b + ", " + c + ")";
    }
}
