package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code out = x · Wᵀ + bias} for dense F32/F16/BF16 weights through {@code cublasGemmEx} with f32
 * compute (row-major via the TN trick, see {@link Cublas}), plus {@code linear.cu}'s epilogue.
 *
 * <p>Numerics as the record states: products of exact conversions, f32 accumulation, bias added in
 * f32, one rounding to out's dtype. cuBLAS takes A and B of one dtype, so when x and W differ, both
 * are widened to F32 first (exact) and multiplied in f32. When there is no bias and out's dtype is a
 * cuBLAS output type for the inputs (the inputs' own dtype or F32), cuBLAS writes out directly
 * (its f32 accumulator rounded once); otherwise it writes an F32 scratch that the epilogue adds the
 * bias to and rounds. One token with bf16 x and W goes to {@code linear.cu}'s GEMV instead
 * ({@link #gemv}).
 */
final class LinearKernels implements KernelFamily {
    private final Gpu gpu;
    // ---- quantized weights (fp8, int4, int8) are QuantLinearKernels': supports, run and
    // describeError hand them over here, so the linear op keeps one owner in KernelFamilies.ALL ----
    private final QuantLinearKernels quantized;

    LinearKernels(Gpu gpu) {
        this.gpu = gpu;
        this.quantized = new QuantLinearKernels(gpu);
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.LINEAR);
    }

    @Override
    public boolean supports(OpArgs args) {
        if (args instanceof Linear a && !(a.weight() instanceof LinearWeight.Dense)) {
            return quantized.supports(a);
        }
        return args instanceof Linear a && a.weight() instanceof LinearWeight.Dense
                && ElementwiseKernels.floats(a.x(), a.out(), a.bias()) && gpu.cublas() != null;
    }

    @Override
    public void run(OpArgs args) {
        Linear a = (Linear) args;
        if (!(a.weight() instanceof LinearWeight.Dense dense)) {
            quantized.run(a);
            return;
        }
        int t = a.x().dim(0), n = dense.outFeatures(), k = dense.inFeatures();
        if (t == 0 || n == 0) {
            return;
        }
        if (gpu.cublas() == null) {
            throw new IllegalStateException("cuda linear needs cuBLAS: " + gpu.cublasProblem());
        }
        if (t == 1 && gemv(a, dense.w(), n, k)) {
            return;
        }
        List<CudaTensor> temps = new ArrayList<>();
        try {
            Tensor x = a.x(), w = dense.w();
            if (x.dtype() != w.dtype()) {
                x = widened(x, temps);
                w = widened(w, temps);
            }
            DType in = x.dtype();
            DType outType = a.out().dtype();
            boolean direct = a.bias() == null && k > 0 && (outType == in || outType == DType.F32);
            Tensor acc = direct ? a.out() : track(gpu.temp(DType.F32, t, n), temps);
            if (k == 0) {
                gpu.kernel("data_fill").rowsCols(t, n).view(acc).i64(t).i32(n).i64(0).launch();
            } else {
                CudaTensor cx = gpu.tensor(x), cw = gpu.tensor(w), cc = gpu.tensor(acc);
                Cublas.gemmEx(gpu.cublas(), Cublas.OP_T, Cublas.OP_N, n, t, k, gpu.one(),
                        cw.address(), Cublas.dataType(in), ld(cw), cx.address(), Cublas.dataType(in), ld(cx),
                        gpu.zero(), cc.address(), Cublas.dataType(acc.dtype()), ld(cc));
            }
            if (!direct) {
                gpu.kernel("linear_bias_round").rowsCols(t, n).view(acc).view(a.bias()).view(a.out())
                        .i64(t).i32(n).i32(a.bias() != null ? 1 : 0).launch();
            }
        } finally {
            temps.forEach(CudaTensor::close);
        }
    }

    /** linear.cu GV_WARPS x GV_R: weight rows per block of the batch-1 GEMV. */
    private static final int GEMV_ROWS_PER_BLOCK = 16;
    /*
     * Per shape, ncu on an H200 (base clocks, kernels run one at a time) put the GEMV ahead of cuBLAS
     * for q/k/v 3072 x 2048 (8.4 against 8.9 µs), o 2048 x 2048 (6.7 / 8.1) and down 2048 x 8192 (16.6
     * against 14.1 + 3.6 for split-K and its reduce) and behind for gate/up 16384 x 2048 (22.2 / 19.6)
     * and the LM head (36.0 / 35.1); but a whole decode step's graph replayed faster with the GEMV
     * taking gate/up too (1.134 against 1.152 ms), so it takes every shape.
     */
    /** Largest K the GEMV stages in shared memory (32 KiB of bf16). */
    private static final int GEMV_MAX_K = 16384;
    /** {@code -Djvllm.cuda.gemv=false}: batch-1 dense linears go to cuBLAS too (comparisons). */
    private static final boolean GEMV = !"false".equals(System.getProperty("jvllm.cuda.gemv"));

    /**
     * The batch-1 GEMV ({@code linear_gemv_bf16}) where it applies: one token, bf16 x and W, K a
     * multiple of 8 up to {@link #GEMV_MAX_K}, W rows and x 16-byte aligned. Returns whether it ran.
     * A decode step's small projections are latency-bound in cuBLAS (docs/performance.md run 7).
     */
    private boolean gemv(Linear a, Tensor w, int n, int k) {
        Tensor x = a.x();
        if (!GEMV || x.dtype() != DType.BF16 || w.dtype() != DType.BF16 || k % 8 != 0 || k > GEMV_MAX_K) {
            return false;
        }
        CudaTensor cx = gpu.tensor(x), cw = gpu.tensor(w);
        if (cx.address() % 16 != 0 || cw.address() % 16 != 0 || (cw.layout().rowStride() * 2) % 16 != 0
                || cx.layout().cols() != k) {
            return false;
        }
        gpu.kernel("linear_gemv_bf16").grid((n + GEMV_ROWS_PER_BLOCK - 1) / GEMV_ROWS_PER_BLOCK).block(256)
                .sharedBytes(k * 2).view(x).view(w).view(a.bias()).view(a.out()).i32(n).i32(k)
                .i32(a.bias() != null ? 1 : 0).launch();
        return true;
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return quantized.describeError(detail, a, b, c); // only the quantized kernels report bad input
    }

    /** Leading dimension of a row-major matrix seen column-major: its row stride (at least 1). */
    private static int ld(CudaTensor m) {
        return Math.toIntExact(Math.max(1, m.layout().rowStride()));
    }

    /** An F32 copy of a narrower float tensor (exact), or the tensor itself when it is F32. */
    private Tensor widened(Tensor m, List<CudaTensor> temps) {
        if (m.dtype() == DType.F32) {
            return m;
        }
        CudaTensor f = track(gpu.temp(DType.F32, m.shape()), temps);
        gpu.kernel("data_cast").rowsCols(m.rows(), m.cols()).view(m).view(f).i64(m.rows()).i32(m.cols()).launch();
        return f;
    }

    private static CudaTensor track(CudaTensor t, List<CudaTensor> temps) {
        temps.add(t);
        return t;
    }
}
