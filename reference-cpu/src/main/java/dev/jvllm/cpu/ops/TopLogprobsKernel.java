package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.TopLogprobs;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.Rows;

/**
 * CPU reference for {@link TopLogprobs}. Per row b of logits l [B, V]:
 * <pre>
 *   m   = max_v l_v                                  (f32, exact)
 *   S   = Σ_v f32(exp(f32(l_v − m)))                 (f64)
 *   lp_v = f32( f64(f32(l_v − m)) − ln S )           (f64, rounded once)
 * </pre>
 * The n ids are ranked by the logit itself, largest first, ties → lower id, NaN first. lp is a
 * non-decreasing function of l, so this is the order of lp too, and it does not depend on how a
 * backend rounds ln S.
 *
 * <p>Scalar form: {@link SamplingMath#max} and {@link SamplingMath#expSum} in ascending index.
 * SIMD form: the same max (exact) and a vector exp with per-lane f64 sums in a fixed order
 * ({@link SamplingMath#expSumSimd}); it differs from the scalar form by rounding only. The top-n
 * selection (a heap of n keys) and the logprob of each selected id are shared scalar code. Rows
 * run in parallel, one task each.
 *
 * <p>A tokenIds entry outside [0, V) is a caller error and fails before anything is written.
 */
public final class TopLogprobsKernel {
    private TopLogprobsKernel() {
    }

    /** Every shape the record allows (logits are F32 by the record). */
    public static boolean supports(TopLogprobs a) {
        return true;
    }

    public static void run(TopLogprobs a, CpuContext ctx) {
        Tensor logits = a.logits();
        int rows = logits.dim(0);
        int v = logits.cols();
        int n = a.n();
        if (a.tokenIds() != null) {
            for (int b = 0; b < rows; b++) {
                int id = Rows.getInt(a.tokenIds(), b);
                if (id < 0 || id >= v) {
                    throw new IllegalArgumentException("top_logprobs: tokenIds[" + b + "] = " + id
                            + " is outside the vocabulary [0, " + v + "); pass real token ids (no padding)");
                }
            }
        }
        boolean scalar = ctx.scalar();
        ctx.pool().forEach(rows, b -> {
            float[] x = new float[v];
            Rows.load(logits, b, x, 0);
            float m = scalar ? SamplingMath.max(x, v) : SamplingMath.maxSimd(x, v);
            double lse = Math.log(scalar ? SamplingMath.expSum(x, v, m) : SamplingMath.expSumSimd(x, v, m));
            int[] ids = SamplingMath.topN(x, v, n);
            for (int j = 0; j < ids.length; j++) {
                Rows.setInt(a.outIds(), (long) b * n + j, ids[j]);
                Rows.setFloat(a.outLogprobs(), (long) b * n + j, logprob(x[ids[j]], m, lse));
            }
            if (a.tokenIds() != null) {
                Rows.setFloat(a.tokenLogprob(), b, logprob(x[Rows.getInt(a.tokenIds(), b)], m, lse));
            }
        });
    }

    /** {@code f32(f64(f32(l − m)) − lse)}. */
    static float logprob(float l, float m, double lse) {
        return (float) ((double) (l - m) - lse);
    }
}
