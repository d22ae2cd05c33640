package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;
import java.util.List;

/**
 * CPU reference for {@link Linear}: {@code out[t, n] = round(Σ_k x'[t, k] · W[n, k] + bias[n])}
 * for every {@link LinearWeight} format.
 *
 * <p>x: [T, K] (F32, BF16 or F16, rows may be strided views); W: N×K, reconstructed element by
 * element by {@link LinearDequant} exactly as the format defines it; bias: [N] or null (F32, BF16
 * or F16); out: [T, N] (F32, BF16 or F16, strided rows allowed). x' is x converted to f32, and for
 * fp8 weights with activation quantization, quantized to e4m3 and back (see
 * {@link #activationRow}). The result is rounded once, from f32, to out's dtype.
 *
 * <p>Two forms, the same weights and activations, different summation order:
 * <ul>
 *   <li>scalar (the specification, {@code -Djvllm.cpu.scalar=true}): for every (t, n),
 *       {@code acc += x'[t, k] · W[n, k]} in f32 for k = 0, 1, ..., K−1 (separate multiply and add),
 *       then {@code acc + bias[n]}, rounded to out's dtype;</li>
 *   <li>SIMD ({@link LinearSimd}): a lane-split dot product with fused multiply-adds and a fixed
 *       horizontal reduction, the same for every output element whatever T, the thread count or the
 *       tiling. Results are bit-identical for any thread count, and a row's result does not depend
 *       on the other rows of the batch (a decode step gives the same bits alone or inside a
 *       prefill batch).</li>
 * </ul>
 */
public final class LinearKernel {
    private LinearKernel() {
    }

    /**
     * True for float x/out/bias (F32, BF16, F16) with every weight format, except an fp8 static
     * input scale that is not F32 with one element, and shapes whose f32 working buffers
     * (T·K activations, T·N outputs of the scalar form) would not fit in a Java array.
     */
    public static boolean supports(Linear a) {
        if (!isFloat(a.x()) || !isFloat(a.out()) || (a.bias() != null && !isFloat(a.bias()))) {
            return false;
        }
        long t = a.x().dim(0);
        long k = a.weight().inFeatures();
        long n = a.weight().outFeatures();
        if (t * k > Integer.MAX_VALUE - 64 || t * n > Integer.MAX_VALUE - 64 || 4 * k > Integer.MAX_VALUE - 64) {
            return false;
        }
        if (a.weight() instanceof LinearWeight.Fp8 f && f.inputScale() != null) {
            return f.inputScale().dtype() == DType.F32 && f.inputScale().numel() == 1;
        }
        return true;
    }

    public static void run(Linear a, CpuContext ctx) {
        if (!supports(a)) {
            throw new IllegalArgumentException("linear: unsupported arguments on the cpu backend: x " + a.x().describe()
                    + ", weight " + a.weight().formatName() + ", bias " + (a.bias() == null ? "none" : a.bias().describe())
                    + ", out " + a.out().describe() + "; x, bias and out must be F32, BF16 or F16 and an fp8 input "
                    + "scale F32 [1]");
        }
        if (ctx.scalar()) {
            runScalar(a);
        } else {
            LinearSimd.run(a, ctx);
        }
    }

    /**
     * {@link #run} for each op, as {@code Backend.linears} specifies: decodes (every op at most
     * {@link LinearSimd#DIRECT_MAX_ROWS} rows) in one parallel region, with each op's own bits;
     * anything else (prefill, the scalar form, an op writing what another reads) one op at a time.
     */
    public static void runAll(List<Linear> ops, CpuContext ctx) {
        for (Linear a : ops) {
            if (!supports(a)) {
                run(a, ctx); // throws the unsupported-arguments message
            }
        }
        boolean together = !ctx.scalar() && ops.size() > 1 && !writesWhatAnotherReads(ops);
        for (Linear a : ops) {
            together &= a.x().dim(0) <= LinearSimd.DIRECT_MAX_ROWS;
        }
        if (together) {
            LinearSimd.runDecode(ops, ctx);
        } else {
            for (Linear a : ops) {
                run(a, ctx);
            }
        }
    }

    /** Whether an op's output overlaps the x, weight or bias of another op of the list (then they run in order). */
    private static boolean writesWhatAnotherReads(List<Linear> ops) {
        for (int i = 0; i < ops.size(); i++) {
            for (int j = 0; j < ops.size(); j++) {
                if (i == j) {
                    continue;
                }
                Linear w = ops.get(i), r = ops.get(j);
                if (overlap(w.out(), r.x()) || (r.bias() != null && overlap(w.out(), r.bias()))) {
                    return true;
                }
                for (Tensor t : r.weight().tensors()) {
                    if (overlap(w.out(), t)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Whether the storage byte ranges of a and b intersect (a conservative test: the span from first to last row). */
    private static boolean overlap(Tensor a, Tensor b) {
        long as = CpuTensor.of(a).storage().address(), bs = CpuTensor.of(b).storage().address();
        long a0 = as + a.layout().byteOffset(), a1 = as + a.layout().endElement() * a.dtype().byteSize();
        long b0 = bs + b.layout().byteOffset(), b1 = bs + b.layout().endElement() * b.dtype().byteSize();
        return a0 < b1 && b0 < a1;
    }

    private static boolean isFloat(Tensor t) {
        DType d = t.dtype();
        return d == DType.F32 || d == DType.BF16 || d == DType.F16;
    }

    /** The scalar form: the specification, one dot product per output in natural k order. */
    static void runScalar(Linear a) {
        int tRows = a.x().dim(0);
        int k = a.weight().inFeatures();
        int n = a.weight().outFeatures();
        LinearDequant w = LinearDequant.of(a.weight());
        float[] x = new float[tRows * k]; // x': [T, K]
        for (int t = 0; t < tRows; t++) {
            activationRow(a, t, x, t * k);
        }
        float[] bias = biasF32(a);
        float[] out = new float[tRows * n]; // [T, N] in f32, rounded when stored
        float[] wRow = new float[k];
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < k; c++) {
                wRow[c] = w.at(j, c);
            }
            for (int t = 0; t < tRows; t++) {
                float acc = 0f;
                for (int c = 0; c < k; c++) {
                    acc += x[t * k + c] * wRow[c];
                }
                out[t * n + j] = acc + bias[j];
            }
        }
        for (int t = 0; t < tRows; t++) {
            Rows.store(a.out(), t, out, t * n);
        }
    }

    /** bias in f32 (zeros when absent): [N]. */
    static float[] biasF32(Linear a) {
        int n = a.weight().outFeatures();
        float[] b = new float[n];
        if (a.bias() != null) {
            Rows.load(a.bias(), 0, b, 0);
        }
        return b;
    }

    /**
     * dst[off + k] = x'[t, k]: row t of x converted to f32, then for fp8 weights with activation
     * quantization quantized and dequantized, {@code x' = f32(e4m3(x / a)) · a} (all in f32, e4m3
     * rounding to nearest even and saturating at ±448), with a as {@link LinearWeight.Fp8} defines
     * it: the static inputScale; per token {@code max_k |x[t, k]| / 448} (a row of zeros has a = 0
     * and stays zero); or per token group of g columns {@code max(max_group |x|, 1e-10) / 448}.
     * Shared by both forms: it is O(T·K).
     */
    static void activationRow(Linear a, int t, float[] dst, int off) {
        Rows.load(a.x(), t, dst, off);
        if (!(a.weight() instanceof LinearWeight.Fp8 f)) {
            return;
        }
        int k = a.x().cols();
        if (f.dynamicPerToken()) {
            int g = f.activationGroupSize() > 0 ? f.activationGroupSize() : k;
            for (int c0 = 0; c0 < k; c0 += g) {
                int c1 = Math.min(k, c0 + g);
                float amax = 0f;
                for (int c = c0; c < c1; c++) {
                    amax = Math.max(amax, Math.abs(dst[off + c]));
                }
                float scale = f.activationGroupSize() > 0 ? Math.max(amax, GROUP_EPS) / Numerics.E4M3_MAX
                        : amax / Numerics.E4M3_MAX;
                if (scale == 0f) { // per token only: a zero row, or amax so small that amax/448 underflows
                    java.util.Arrays.fill(dst, off + c0, off + c1, 0f);
                } else {
                    quantize(dst, off + c0, off + c1, scale);
                }
            }
        } else if (f.inputScale() != null) {
            quantize(dst, off, off + k, LinearDequant.floatAt(f.inputScale(), 0));
        }
    }

    /** vLLM's eps of per_token_group_quant_fp8: a group's amax is at least this (f32), so its scale is never 0. */
    static final float GROUP_EPS = 1e-10f;

    /** v[from, to) = f32(e4m3(v / scale)) · scale. */
    private static void quantize(float[] v, int from, int to, float scale) {
        for (int c = from; c < to; c++) {
            v[c] = Numerics.e4m3ToF32(Numerics.f32ToE4M3(v[c] / scale)) * scale;
        }
    }
}
