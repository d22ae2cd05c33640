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
 * bias to and rounds. Decodes (at most {@link #GEMV_MAX_TOKENS} tokens) of BF16/F16 x against
 * weights of the same dtype take linear.cu's GEMV instead (same numerics: f32 accumulation, bias in
 * f32, one rounding), which streams the weights at a higher fraction of the bandwidth than cuBLAS's
 * kernels do at M ≤ 8.
 */
final class LinearKernels implements KernelFamily {
    private final Gpu gpu;
    // ---- quantized weights (fp8, int4, int8) are QuantLinearKernels': supports, run and
    // describeError hand them over here, so the linear op keeps one owner in KernelFamilies.ALL ----
    private final QuantLinearKernels quantized;
    /** Tokens up to which 16-bit dense linears take the GEMV instead of cuBLAS. */
    static final int GEMV_MAX_TOKENS = 8;
    /** linear.cu lin::WARPS: weight rows per block of the GEMV. */
    private static final int GEMV_WARPS = 8;
    /** {@code -Djvllm.cuda.gemv=false}: every dense linear through cuBLAS (comparisons). */
    private static final boolean GEMV = !"false".equals(System.getProperty("jvllm.cuda.gemv"));

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
        if (gemv(a, dense, t, n, k)) {
            return;
        }
        if (gpu.cublas() == null) {
            throw new IllegalStateException("cuda linear needs cuBLAS: " + gpu.cublasProblem());
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

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        return quantized.describeError(detail, a, b, c); // only the quantized kernels report bad input
    }

    /**
     * The decode GEMV ({@code lin_gemv_*}, linear.cu) for up to {@link #GEMV_MAX_TOKENS} tokens of
     * BF16/F16 x against weights of the same dtype with 16-byte aligned rows: one warp per weight row,
     * every load in flight. False when the call does not qualify (cuBLAS runs it).
     */
    private boolean gemv(Linear a, LinearWeight.Dense dense, int t, int n, int k) {
        Tensor x = a.x(), w = dense.w();
        DType dt = w.dtype();
        if (!GEMV || t > GEMV_MAX_TOKENS || k == 0 || k % 8 != 0 || (dt != DType.BF16 && dt != DType.F16)
                || x.dtype() != dt || !aligned16(gpu.tensor(w)) || !aligned16(gpu.tensor(x))) {
            return false;
        }
        int bucket = t <= 1 ? 0 : t <= 2 ? 1 : t <= 4 ? 2 : 3;
        gpu.kernel(GEMV_KERNELS[dt == DType.BF16 ? 0 : 1][bucket])
                .grid((n + GEMV_WARPS - 1) / GEMV_WARPS).block(GEMV_WARPS * 32)
                .view(x).view(w).view(a.bias()).view(a.out()).i32(t).i32(n).i32(k).launch();
        return true;
    }

    /** linear.cu's GEMV instantiations: [BF16, F16][up to 1, 2, 4, 8 tokens]. */
    private static final String[][] GEMV_KERNELS = {
        {"lin_gemv_bf16_t1", "lin_gemv_bf16_t2", "lin_gemv_bf16_t4", "lin_gemv_bf16_t8"},
        {"lin_gemv_f16_t1", "lin_gemv_f16_t2", "lin_gemv_f16_t4", "lin_gemv_f16_t8"},
    };

    /** Rows start at 16-byte boundaries: the base address and the row pitch in bytes. */
    private static boolean aligned16(CudaTensor m) {
        return m.address() % 16 == 0 && (m.layout().rowStride() * m.dtype().byteSize()) % 16 == 0;
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
