package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.CpuTensor;
import dev.jvllm.cpu.Rows;

/**
 * CPU reference for {@link Argmax}: {@code out[b] = argmax_v logits[b, v]}, ties → lowest index,
 * NaN larger than every number (the first NaN wins).
 *
 * <p>Scalar form: one pass per row ({@link SamplingMath#argmax}). SIMD form: a vector max pass and
 * a vector search for the first lane equal to the max (or the first NaN); F32 rows are read in
 * place, BF16/F16 rows are widened to f32 first. Both are exact, so they agree bit for bit. Rows
 * run in parallel; each row is one task, so any thread count gives the same ids.
 */
public final class ArgmaxKernel {
    private ArgmaxKernel() {
    }

    /** F32/BF16/F16 logits with at least one column (or no rows). */
    public static boolean supports(Argmax a) {
        return Rows.isFloat(a.logits()) && (a.logits().cols() > 0 || a.logits().dim(0) == 0);
    }

    public static void run(Argmax a, CpuContext ctx) {
        if (!supports(a)) {
            throw new IllegalArgumentException("argmax: unsupported logits " + a.logits().describe()
                    + "; the cpu backend needs F32/BF16/F16 logits with V >= 1");
        }
        Tensor logits = a.logits();
        int rows = logits.dim(0);
        int v = logits.cols();
        boolean inPlace = !ctx.scalar() && logits.dtype() == DType.F32;
        ctx.pool().forEach(rows, b -> {
            int id;
            if (inPlace) {
                CpuTensor c = CpuTensor.of(logits);
                id = SamplingMath.argmaxSimd(c.storage(), c.layout().rowByteOffset(b), v);
            } else {
                float[] x = new float[v];
                Rows.load(logits, b, x, 0);
                id = ctx.scalar() ? SamplingMath.argmax(x, v) : SamplingMath.argmaxSimd(x, v);
            }
            Rows.setInt(a.out(), b, id);
        });
    }
}
