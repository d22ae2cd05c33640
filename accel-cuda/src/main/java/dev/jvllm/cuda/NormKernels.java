package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.ops.LayerNorm;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.RmsNorm;
import java.util.Set;

/**
 * RMSNorm with fused residual add (Llama and Gemma forms) and LayerNorm ({@code norm.cu}): one block
 * per row, F32/F16/BF16 in any mix, strided views, the in-place forms the records allow.
 */
final class NormKernels implements KernelFamily {
    private final Gpu gpu;

    NormKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.RMS_NORM, OpKind.LAYER_NORM);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case RmsNorm a -> ElementwiseKernels.floats(a.x(), a.weight(), a.out(), a.residual(), a.residualOut());
            case LayerNorm a -> ElementwiseKernels.floats(a.x(), a.weight(), a.bias(), a.out());
            default -> false;
        };
    }

    /**
     * {@code norm_rms_<x>_<w>} when x, residual, residualOut and out share one dtype (its loads and
     * stores compiled for it), else the any-dtype {@code norm_rms}.
     */
    private static String rmsKernel(RmsNorm a) {
        DType x = a.x().dtype();
        boolean same = a.out().dtype() == x && (a.residual() == null
                || (a.residual().dtype() == x && a.residualOut().dtype() == x));
        return same ? RMS_TYPED[x.ordinal()][a.weight().dtype().ordinal()] : "norm_rms";
    }

    /** norm.cu's instantiations, [x dtype][weight dtype] by DType ordinal (F32, F16, BF16). */
    private static final String[][] RMS_TYPED = {
        {"norm_rms_f32_f32", "norm_rms_f32_f16", "norm_rms_f32_bf16"},
        {"norm_rms_f16_f32", "norm_rms_f16_f16", "norm_rms_f16_bf16"},
        {"norm_rms_bf16_f32", "norm_rms_bf16_f16", "norm_rms_bf16_bf16"},
    };

    /**
     * Whether norm.cu's 16-bit row form can take this norm: a typed bf16/f16 kernel and a hidden size
     * that gives every thread of whole warps 8 elements (256 to 8192 in steps of 256). The kernel
     * itself checks the rows' 16-byte alignment (else it runs the strided form, which needs only
     * 8 × blockDim ≥ hidden).
     */
    private static boolean sixteenBitRow(RmsNorm a, String kernel) {
        if (!ROW16) {
            return false;
        }
        int h = a.x().cols();
        DType x = a.x().dtype();
        return !kernel.equals("norm_rms") && (x == DType.BF16 || x == DType.F16) && h % 256 == 0 && h / 8 <= 1024;
    }

    /** {@code -Djvllm.cuda.normRow16=false}: the strided form only (comparisons). */
    private static final boolean ROW16 = !"false".equals(System.getProperty("jvllm.cuda.normRow16"));

    /** Threads per row: about four elements each, a multiple of 32, at most 1024. */
    static int threads(int hidden) {
        return Math.min(1024, Math.max(32, (hidden / 4 + 31) / 32 * 32));
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case RmsNorm a -> {
                int rows = a.x().dim(0), h = a.x().cols();
                if (rows > 0 && h > 0) {
                    String kernel = rmsKernel(a);
                    gpu.kernel(kernel).dependent().grid(rows).block(sixteenBitRow(a, kernel) ? h / 8 : threads(h))
                            .view(a.x()).view(a.weight()).view(a.residual()).view(a.residualOut()).view(a.out())
                            .i32(h).f32(a.eps()).i32(a.residual() != null ? 1 : 0).i32(a.gemma() ? 1 : 0).launch();
                }
            }
            case LayerNorm a -> {
                int rows = a.x().dim(0), h = a.x().cols();
                if (rows > 0 && h > 0) {
                    gpu.kernel("norm_layer").grid(rows).block(threads(h))
                            .view(a.x()).view(a.weight()).view(a.bias()).view(a.out())
                            .i32(h).f32(a.eps()).i32(a.bias() != null ? 1 : 0).launch();
                }
            }
            default -> throw new IllegalArgumentException("norm: " + args.kind().id());
        }
    }
}
