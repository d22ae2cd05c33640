package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.Rows;

/**
 * CPU reference for {@link MoeExperts}.
 *
 * <p>Scalar form (the specification, {@link #runScalar}): per token t and pick j with expert
 * {@code e = topkIds[t, j]} in [0, E): {@code g_i = Σ_h W1[e,i,h]·x_h} and {@code u_i} likewise
 * with W3 (f32, h ascending), {@code a_i = round_x(act(g_i) · u_i)} (x's dtype), {@code y_r =
 * Σ_i W2[e,r,i]·a_i} (f32), {@code acc_r += w_tj · y_r} for j ascending; out = round(acc).
 *
 * <p>SIMD form ({@link MoeSimd}): tokens grouped by expert so each expert's weights stream once
 * per token chunk; the same math with vector dot products and fma accumulation, experts
 * combined in ascending id order. Deterministic for any thread count.
 */
public final class MoeExpertsKernel {
    private MoeExpertsKernel() {
    }

    public static boolean supports(MoeExperts a) {
        return Rows.isFloat(a.x()) && Rows.isFloat(a.out()) && Rows.isFloat(a.w13()) && Rows.isFloat(a.w2())
                && MoeActivation.supported(a.act());
    }

    public static void run(MoeExperts a, CpuContext ctx) {
        if (ctx.scalar()) {
            runScalar(a);
        } else {
            MoeSimd.run(a, ctx);
        }
    }

    /** The specification: per token, per pick, the unfused expert MLP. */
    static void runScalar(MoeExperts a) {
        int tokens = a.x().dim(0), hidden = a.x().cols(), experts = a.w13().dim(0), inter = a.w13().dim(1) / 2;
        int k = a.topkIds().cols();
        DType xType = a.x().dtype();
        float[] x = new float[hidden], acc = new float[hidden], act = new float[inter];
        float[] gate = new float[hidden], up = new float[hidden], down = new float[inter];
        for (int t = 0; t < tokens; t++) {
            Rows.load(a.x(), t, x, 0);
            java.util.Arrays.fill(acc, 0f);
            for (int j = 0; j < k; j++) {
                int e = Rows.getInt(a.topkIds(), (long) t * k + j);
                if (e < 0 || e >= experts) {
                    continue; // another expert-parallel rank's expert
                }
                float w = Rows.getFloat(a.topkWeights(), (long) t * k + j);
                for (int i = 0; i < inter; i++) {
                    Rows.load(a.w13(), (long) e * 2 * inter + i, gate, 0);
                    Rows.load(a.w13(), (long) e * 2 * inter + inter + i, up, 0);
                    float g = 0f, u = 0f;
                    for (int h = 0; h < hidden; h++) {
                        g += gate[h] * x[h];
                        u += up[h] * x[h];
                    }
                    act[i] = Numerics.roundTo(xType, MoeActivation.apply(a.act(), g) * u);
                }
                for (int r = 0; r < hidden; r++) {
                    Rows.load(a.w2(), (long) e * hidden + r, down, 0);
                    float y = 0f;
                    for (int i = 0; i < inter; i++) {
                        y += down[i] * act[i];
                    }
                    acc[r] += w * y;
                }
            }
            Rows.store(a.out(), t, acc, 0);
        }
    }
}
