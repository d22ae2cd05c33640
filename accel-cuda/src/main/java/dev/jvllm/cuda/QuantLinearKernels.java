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
 * <p>Kernels: up to {@value #GEMV_TOKENS} tokens (decode), a GEMV with one warp per output feature,
 * so every weight byte is read once and N/8 blocks fill the device; more tokens, the tiled
 * {@code gemm_tile.cuh} GEMM, 64 features × 16 or 64 tokens per block. An act-order g_idx is
 * checked first; an index outside [0, G) is reported and the GEMM writes nothing.
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
        } finally {
            if (xq != null) {
                xq.close();
            }
        }
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
