package dev.jvllm.conformance.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.OpSpec;
import java.util.List;

/**
 * Shared by the KV-cache, attention and MoE spec tests: the two CPU forms, a backend wrapper that
 * replaces one op, host implementations of attention and MoE in f64 with knobs for deliberate
 * bugs, and the assertions.
 */
final class AttentionMoeSpecSupport extends SpecTestSupport {
    private AttentionMoeSpecSupport() {
    }

    /** Pinned + 30 generated cases: no FAIL, at least {@code minPass} PASS, unique names. */
    static <C> List<Conformance.CaseResult> assertPasses(OpSpec<C> spec, Backend candidate, Backend reference,
            int minPass) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, candidate, reference, 30, 42L, null);
        assertEquals(0, rs.stream().filter(r -> r.status() == Conformance.Status.FAIL).count(), failures(rs));
        long pass = rs.stream().filter(r -> r.status() == Conformance.Status.PASS).count();
        assertTrue(pass >= minPass, "only " + pass + " passing cases: " + rs);
        assertEquals(rs.size(), rs.stream().map(Conformance.CaseResult::name).distinct().count(), "names are unique");
        return rs;
    }

    /** A broken candidate must be reported as FAIL. */
    static <C> List<Conformance.CaseResult> assertFails(OpSpec<C> spec, Backend broken, Backend reference) {
        List<Conformance.CaseResult> rs = Conformance.check(spec, broken, reference, 30, 42L, null);
        assertTrue(rs.stream().anyMatch(r -> r.status() == Conformance.Status.FAIL),
                "a broken " + spec.op().id() + " passed: " + rs);
        return rs;
    }

    /** Deliberate attention bugs for {@link #hostAttention}. */
    enum AttentionBug { NONE, WINDOW_OFF_BY_ONE, GQA_MODULO, READ_WHOLE_LAST_BLOCK, NO_SOFTCAP }

    /** {@link PagedAttention} on the host in f64 (the contract, or it with one bug), rounded once into out. */
    static void hostAttention(PagedAttention a, AttentionBug bug) {
        int heads = a.numHeads(), hk = a.numKvHeads(), d = a.headSize(), bs = a.blockSize();
        int group = heads / hk, n = a.numSeqs();
        float[] q = Tensors.toFloats(a.q()), k = Tensors.toFloats(a.kCache()), v = Tensors.toFloats(a.vCache());
        int[] qs = Tensors.toInts(a.queryStartLoc()), lens = Tensors.toInts(a.seqLens()), bt = Tensors.toInts(a.blockTables());
        int maxBlocks = a.blockTables().cols();
        float[] out = new float[a.q().dim(0) * heads * d];
        for (int b = 0; b < n; b++) {
            int qLen = qs[b + 1] - qs[b], len = lens[b];
            for (int i = 0; i < qLen; i++) {
                int t = qs[b] + i, p = len - qLen + i;
                int w = a.slidingWindow() + (bug == AttentionBug.WINDOW_OFF_BY_ONE && a.slidingWindow() > 0 ? 1 : 0);
                int lo = w > 0 ? Math.max(0, p - w + 1) : 0;
                int hi = bug == AttentionBug.READ_WHOLE_LAST_BLOCK ? Math.max(p, (len + bs - 1) / bs * bs - 1) : p;
                for (int h = 0; h < heads; h++) {
                    int g = bug == AttentionBug.GQA_MODULO ? h % hk : h / group;
                    double[] s = new double[hi + 1];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = lo; j <= hi; j++) {
                        int base = ((bt[b * maxBlocks + j / bs] * bs + j % bs) * hk + g) * d;
                        double dot = 0;
                        for (int c = 0; c < d; c++) {
                            dot += (double) q[t * heads * d + h * d + c] * k[base + c];
                        }
                        s[j] = a.scale() * dot;
                        if (a.softCap() > 0 && bug != AttentionBug.NO_SOFTCAP) {
                            s[j] = a.softCap() * Math.tanh(s[j] / a.softCap());
                        }
                        max = Math.max(max, s[j]);
                    }
                    for (int j = lo; j <= hi; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int c = 0; c < d; c++) {
                        double o = 0;
                        for (int j = lo; j <= hi; j++) {
                            o += s[j] / sum * v[((bt[b * maxBlocks + j / bs] * bs + j % bs) * hk + g) * d + c];
                        }
                        out[t * heads * d + h * d + c] = (float) o;
                    }
                }
            }
        }
        Tensors.writeFloats(a.out(), out);
    }

    /** {@link MoeExperts} on the host in f64; {@code roundActivation} false skips the rounding to x's dtype. */
    static void hostMoe(MoeExperts a, boolean roundActivation) {
        int t = a.x().dim(0), h = a.x().cols(), e = a.w13().dim(0), inter = a.w13().dim(1) / 2, k = a.topkIds().cols();
        float[] x = Tensors.toFloats(a.x()), w13 = Tensors.toFloats(a.w13()), w2 = Tensors.toFloats(a.w2());
        float[] wt = Tensors.toFloats(a.topkWeights());
        int[] ids = Tensors.toInts(a.topkIds());
        float[] out = new float[t * h];
        for (int ti = 0; ti < t; ti++) {
            double[] acc = new double[h];
            for (int j = 0; j < k; j++) {
                int ex = ids[ti * k + j];
                if (ex < 0 || ex >= e) {
                    continue;
                }
                double[] act = new double[inter];
                for (int i = 0; i < inter; i++) {
                    double g = 0, u = 0;
                    for (int c = 0; c < h; c++) {
                        g += (double) w13[(ex * 2 * inter + i) * h + c] * x[ti * h + c];
                        u += (double) w13[(ex * 2 * inter + inter + i) * h + c] * x[ti * h + c];
                    }
                    double ag = switch (a.act()) {
                        case SILU -> g / (1 + Math.exp(-g));
                        case GELU_TANH -> 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));
                        default -> 0.5 * g * (1 + erf(g / Math.sqrt(2)));
                    };
                    act[i] = roundActivation ? Numerics.roundTo(a.x().dtype(), (float) (ag * u)) : ag * u;
                }
                for (int c = 0; c < h; c++) {
                    double y = 0;
                    for (int i = 0; i < inter; i++) {
                        y += w2[(ex * h + c) * inter + i] * act[i];
                    }
                    acc[c] += wt[ti * k + j] * y;
                }
            }
            for (int c = 0; c < h; c++) {
                out[ti * h + c] = (float) acc[c];
            }
        }
        Tensors.writeFloats(a.out(), out);
    }

    /** erf from its positive-term series (accurate to f64 rounding; ±1 beyond |x| = 6). */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax >= 6) {
            return Math.signum(x);
        }
        double term = ax, sum = ax;
        for (int n = 1; n < 400 && term > 1e-17 * sum; n++) {
            term *= 2 * ax * ax / (2 * n + 1);
            sum += term;
        }
        return Math.copySign(2 / Math.sqrt(Math.PI) * Math.exp(-ax * ax) * sum, x);
    }
}
