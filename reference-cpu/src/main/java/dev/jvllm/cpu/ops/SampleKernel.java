package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.api.ops.SamplingRandom;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.Rows;
import java.util.Arrays;

/**
 * CPU reference for {@link Sample}: the record's steps, literally, per row of F32 logits [B, V]
 * ({@link #sampleRow}). Sums of p are f64 in ascending id unless the step orders tokens otherwise
 * (top-p's prefix runs in p-descending order); {@code p_v = f32(e_v / S)} with
 * {@code e_v = f32(exp(f32(l_v − max l)))} and {@code S = Σ e_v} (f64).
 *
 * <p>Where the record leaves a case open the kernel returns the argmax of the scaled logits l:
 * when l holds NaN or ±∞ (p is undefined), when min-p &gt; 1 removes every token, or when the kept
 * mass is not positive. When rounding makes the draw pass the kept mass, the last kept token is
 * drawn.
 *
 * <p>One form only: the SIMD form runs this scalar code (sampling is a few passes over V per row
 * and must reproduce the same token for the same (seed, offset); keeping one code path keeps the
 * scalar and SIMD backends in exact agreement). Rows run in parallel, one task each.
 */
public final class SampleKernel {
    private SampleKernel() {
    }

    /** Every shape the record allows with at least one token per row (or no rows). */
    public static boolean supports(Sample a) {
        return a.logits().cols() > 0 || a.logits().dim(0) == 0;
    }

    public static void run(Sample a, CpuContext ctx) {
        if (!supports(a)) {
            throw new IllegalArgumentException("sample: logits " + a.logits().describe()
                    + " has no tokens to sample; V must be >= 1");
        }
        Tensor logits = a.logits();
        int rows = logits.dim(0);
        int v = logits.cols();
        ctx.pool().forEach(rows, b -> {
            float[] x = new float[v];
            Rows.load(logits, b, x, 0);
            double u = SamplingRandom.uniform(Rows.getLong(a.seeds(), b), Rows.getLong(a.offsets(), b));
            int id = sampleRow(x, v, Rows.getFloat(a.temperature(), b), Rows.getInt(a.topK(), b),
                    Rows.getFloat(a.topP(), b), Rows.getFloat(a.minP(), b), u);
            Rows.setInt(a.out(), b, id);
        });
    }

    /**
     * One row of {@link Sample}. {@code x} (the row's logits, length ≥ v) is overwritten with
     * {@code l = x / temperature}; {@code u} is the row's uniform draw in [0, 1).
     */
    static int sampleRow(float[] x, int v, float temperature, int topK, float topP, float minP, double u) {
        if (temperature <= 0f) {
            return SamplingMath.argmax(x, v);
        }
        float[] l = x;
        for (int i = 0; i < v; i++) {
            l[i] = l[i] / temperature;
        }
        float m = SamplingMath.max(l, v);
        if (!Float.isFinite(m)) {
            return SamplingMath.argmax(l, v); // NaN or +∞ present (or all −∞): p is undefined
        }
        float[] p = new float[v];
        double s = 0;
        for (int i = 0; i < v; i++) {
            p[i] = (float) Math.exp(l[i] - m);
            s += p[i];
        }
        for (int i = 0; i < v; i++) {
            p[i] = (float) (p[i] / s);
        }
        // kept[0..k): kept ids, ascending
        int[] kept = new int[v];
        for (int i = 0; i < v; i++) {
            kept[i] = i;
        }
        int k = v;
        if (minP > 0f) {
            float threshold = minP * SamplingMath.max(p, v);
            int w = 0;
            for (int j = 0; j < k; j++) {
                if (p[kept[j]] >= threshold) {
                    kept[w++] = kept[j];
                }
            }
            k = w;
        }
        if (topK > 0 && topK < v && topK < k) {
            float[] keptL = new float[k];
            for (int j = 0; j < k; j++) {
                keptL[j] = l[kept[j]];
            }
            float threshold = keptL[SamplingMath.topN(keptL, k, topK)[topK - 1]];
            int w = 0;
            for (int j = 0; j < k; j++) {
                if (l[kept[j]] >= threshold) {
                    kept[w++] = kept[j];
                }
            }
            k = w;
        }
        if (topP < 1f && k > 0) {
            double target = topP * keptMass(p, kept, k);
            long[] order = new long[k]; // p descending, then id ascending (p ≥ +0, so bits order = value order)
            for (int j = 0; j < k; j++) {
                order[j] = ((long) (0x7fffffff - Float.floatToRawIntBits(p[kept[j]])) << 32) | kept[j];
            }
            Arrays.sort(order);
            double cum = 0;
            int prefix = 0;
            while (prefix < k) {
                cum += p[(int) order[prefix]];
                prefix++;
                if (cum >= target) {
                    break;
                }
            }
            for (int j = 0; j < prefix; j++) {
                kept[j] = (int) order[j];
            }
            Arrays.sort(kept, 0, prefix);
            k = prefix;
        }
        double mass = keptMass(p, kept, k);
        if (k == 0 || !(mass > 0)) {
            return SamplingMath.argmax(l, v);
        }
        double target = u * mass;
        double cum = 0;
        for (int j = 0; j < k; j++) {
            cum += p[kept[j]];
            if (cum > target) {
                return kept[j];
            }
        }
        return kept[k - 1];
    }

    /** Σ p over the kept ids in ascending id, f64. */
    private static double keptMass(float[] p, int[] kept, int k) {
        double s = 0;
        for (int j = 0; j < k; j++) {
            s += p[kept[j]];
        }
        return s;
    }
}
