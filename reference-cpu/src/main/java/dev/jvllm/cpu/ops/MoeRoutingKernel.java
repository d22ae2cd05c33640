package dev.jvllm.cpu.ops;

import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.Rows;

/**
 * CPU reference for {@link MoeRouting}: per token, {@code p = softmax(logits)} in f32
 * ({@code m = max}, {@code e_i = exp(x_i − m)}, sum in expert order, {@code p_i = e_i / sum}),
 * then topK picks of the largest p, scanning experts in ascending order and taking a strictly
 * larger value only, so ties go to the lower expert id. With renormalize the chosen weights are
 * divided by their sum (in pick order).
 *
 * <p>The op is small (T × E with E ≤ a few hundred), so the SIMD form runs this same scalar code,
 * split over tokens; both forms therefore give identical bits.
 */
public final class MoeRoutingKernel {
    private MoeRoutingKernel() {
    }

    public static boolean supports(MoeRouting a) {
        return Rows.isFloat(a.routerLogits());
    }

    public static void run(MoeRouting a, CpuContext ctx) {
        int tokens = a.routerLogits().dim(0);
        if (ctx.scalar()) {
            route(a, 0, tokens);
        } else {
            ctx.pool().forRange(tokens, 16, (s, e) -> route(a, s, e));
        }
    }

    /** Routes tokens [from, to). */
    private static void route(MoeRouting a, int from, int to) {
        int experts = a.routerLogits().cols(), k = a.topK();
        float[] p = new float[experts];
        boolean[] taken = new boolean[experts];
        float[] w = new float[k];
        int[] id = new int[k];
        for (int t = from; t < to; t++) {
            Rows.load(a.routerLogits(), t, p, 0);
            softmax(p);
            java.util.Arrays.fill(taken, false);
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (!taken[e] && (best < 0 || p[e] > p[best])) {
                        best = e;
                    }
                }
                taken[best] = true;
                id[j] = best;
                w[j] = p[best];
            }
            if (a.renormalize()) {
                float sum = 0f;
                for (int j = 0; j < k; j++) {
                    sum += w[j];
                }
                for (int j = 0; j < k; j++) {
                    w[j] /= sum;
                }
            }
            for (int j = 0; j < k; j++) {
                Rows.setFloat(a.topkWeights(), (long) t * k + j, w[j]);
                Rows.setInt(a.topkIds(), (long) t * k + j, id[j]);
            }
        }
    }

    /** In-place softmax in f32 with max subtraction. */
    static void softmax(float[] x) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        float sum = 0f;
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            x[i] /= sum;
        }
    }
}
