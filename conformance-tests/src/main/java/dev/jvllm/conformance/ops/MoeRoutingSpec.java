package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.MoeRouting;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link MoeRouting}: softmax top-k over 1..257 experts, with and without
 * renormalization; "tied" cases draw logits from a grid of nine values, some of them moved up by
 * 1..3 ulps, so exact ties and near-ties are both common.
 *
 * <p>Comparison, against p = the f64 softmax of the stored logits (what both sides approximate in
 * f32): the picks must be a valid top-k in descending p, where two experts whose p are within
 * {@value #NEAR_TIE} may come in either order (f32 implementations legitimately differ by a few
 * ulps there) but exact ties (equal logits, hence equal p in any implementation) go to the lower
 * id. Without near-ties this admits exactly the reference's ids. Weights must be Close(1e-6, 1e-5)
 * to p of the candidate's own picks (renormalized over them when asked): an f32 softmax over at
 * most 257 experts is within a few ulps, 1e-5 relative covering the f32 sum's rounding.
 */
public final class MoeRoutingSpec extends OpSpec<MoeRoutingSpec.Case> {
    static final double NEAR_TIE = 1e-6;
    static final double ATOL = 1e-6, RTOL = 1e-5;
    /** Declared for the report; {@link #compare} applies it against the f64 softmax (see the class comment). */
    private static final Tolerance WEIGHTS = Tolerance.close(ATOL, RTOL);

    public record Case(int tokens, int experts, int topK, boolean renormalize, boolean tied, DType dtype) {
    }

    @Override
    public OpKind op() {
        return OpKind.MOE_ROUTING;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> tokens = Gens.size(1, 40, 1, 2, 7, 16, 17, 33);
        Gen<Integer> experts = Gens.size(1, 257, 1, 2, 3, 8, 15, 16, 17, 60, 64, 128, 256, 257);
        Gen<Integer> k = SourceDSL.integers().between(1, 8);
        Gen<Integer> flags = SourceDSL.integers().between(0, 11);
        return tokens.zip(experts, k, flags, (t, e, kk, f) -> new Case(t, e, Math.min(e, kk), (f & 1) != 0,
                (f & 2) != 0, new DType[] {DType.F32, DType.BF16, DType.F16}[f >> 2]));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(0, 8, 2, true, false, DType.F32), // empty batch
                new Case(1, 1, 1, true, false, DType.F32), // one expert: weight 1
                new Case(5, 8, 2, true, true, DType.F32), // Mixtral-like, many exact ties
                new Case(7, 64, 6, false, true, DType.BF16), // DeepSeek-V2-Lite-like, bf16 logits
                new Case(3, 128, 8, true, false, DType.F16), // Qwen3-MoE-like
                new Case(2, 4, 4, false, true, DType.F32)); // k = E: a full sort
    }

    @Override
    public String name(Case c) {
        return "moe_routing[T=" + c.tokens() + ",E=" + c.experts() + ",k=" + c.topK() + (c.renormalize() ? ",renorm" : "")
                + (c.tied() ? ",ties" : "") + "," + dtypeLabel(c) + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return c.dtype().name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), e = c.experts();
        float[] logits = b.uniform(t * e, -4, 4);
        if (c.tied()) {
            for (int i = 0; i < logits.length; i++) { // nine values: exact ties, and near-ties 1..3 ulps apart
                float v = Math.round(logits[i]) / 2f;
                for (int u = b.random().nextInt(8) - 4; u > 0; u--) {
                    v = Math.nextUp(v);
                }
                logits[i] = v;
            }
        }
        Tensor x = b.input(c.dtype(), logits, t, e);
        Tensor w = b.output(DType.F32, t, c.topK());
        Tensor ids = b.output(DType.I32, t, c.topK());
        return b.build(new MoeRouting(x, c.topK(), c.renormalize(), w, ids), new Checked("topkWeights", w, WEIGHTS, null),
                new Checked("topkIds", ids, Tolerance.BIT_EXACT, null));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        String g = candidate.builder().guardViolation();
        if (g != null) {
            return g;
        }
        Check r = check(c, reference, candidate);
        return r.problem != null ? r.problem
                : r.worst > 1 ? String.format("topkWeights: element %d: expected %s (f64 softmax of the logits), "
                        + "candidate %s, beyond Close(%g, %g)", r.worstAt, r.expected, r.got, ATOL, RTOL) : null;
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        Check r = check(c, reference, candidate);
        return r.problem != null ? new Comparison.Measure("topkIds", "bit-exact", 1, Double.POSITIVE_INFINITY)
                : new Comparison.Measure("topkWeights", "close", r.maxDiff, r.worst);
    }

    /** The outcome of {@link #check}: the first problem with the ids, else the weights' worst error. */
    private static final class Check {
        String problem;
        double worst, maxDiff, expected;
        float got;
        int worstAt = -1;
    }

    /**
     * Checks the candidate's picks against the f64 softmax p of the stored logits: distinct ids in
     * [0, E); in descending p up to {@value #NEAR_TIE}; no unpicked expert above the smallest pick
     * by more than that; exact ties (equal logits) in ascending id, and at the cut the lower id
     * picked. Without near-ties only the reference's answer passes. Weights must be Close to
     * p (renormalized over the candidate's own picks when asked).
     */
    private static Check check(Case c, Instance reference, Instance candidate) {
        MoeRouting x = (MoeRouting) candidate.args();
        int t = c.tokens(), e = c.experts(), k = c.topK();
        float[] logits = Tensors.toFloats(((MoeRouting) reference.args()).routerLogits());
        int[] ids = Tensors.toInts(x.topkIds());
        float[] w = Tensors.toFloats(x.topkWeights());
        Check out = new Check();
        for (int ti = 0; ti < t; ti++) {
            double[] p = softmax(logits, ti * e, e);
            boolean[] picked = new boolean[e];
            String where = "topkIds: token " + ti + ": ";
            for (int j = 0; j < k; j++) {
                int a = ids[ti * k + j];
                if (a < 0 || a >= e || picked[a]) {
                    out.problem = where + "pick " + j + " is " + a + ", not a distinct expert in [0, " + e + ")";
                    return out;
                }
                picked[a] = true;
                for (int i = 0; i < j; i++) {
                    int b = ids[ti * k + i];
                    float la = logits[ti * e + a], lb = logits[ti * e + b];
                    if (la == lb && b > a) {
                        out.problem = where + "experts " + a + " and " + b + " tie exactly (logit " + la
                                + "); the lower id must come first, candidate has " + b + " at pick " + i + " and " + a
                                + " at pick " + j;
                        return out;
                    }
                    if (p[a] > p[b] + NEAR_TIE) {
                        out.problem = where + "expert " + a + " (p=" + p[a] + ") at pick " + j + " comes after expert "
                                + b + " (p=" + p[b] + ") at pick " + i;
                        return out;
                    }
                }
            }
            for (int u = 0; u < e; u++) {
                for (int j = 0; j < k && !picked[u]; j++) {
                    int a = ids[ti * k + j];
                    if (p[u] > p[a] + NEAR_TIE || logits[ti * e + u] == logits[ti * e + a] && u < a) {
                        out.problem = where + "expert " + u + " (p=" + p[u] + ", logit " + logits[ti * e + u]
                                + ") is not picked but expert " + a + " (p=" + p[a] + ", logit " + logits[ti * e + a]
                                + ") is" + (p[u] > p[a] + NEAR_TIE ? "" : "; exact ties go to the lower id");
                        return out;
                    }
                }
            }
            double chosen = 0;
            for (int j = 0; j < k; j++) {
                chosen += p[ids[ti * k + j]];
            }
            for (int j = 0; j < k; j++) {
                double want = p[ids[ti * k + j]] / (c.renormalize() ? chosen : 1);
                float got = w[ti * k + j];
                double diff = Math.abs(got - want);
                double ratio = Float.isNaN(got) ? Double.POSITIVE_INFINITY : diff / (ATOL + RTOL * Math.abs(want));
                out.maxDiff = Math.max(out.maxDiff, diff);
                if (ratio > out.worst || out.worstAt < 0) {
                    out.worst = ratio;
                    out.worstAt = ti * k + j;
                    out.expected = want;
                    out.got = got;
                }
            }
        }
        return out;
    }

    /** softmax in f64 of one token's logits (as stored). */
    static double[] softmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(x[off + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @Override
    public double flops(Case c) {
        return 4.0 * c.tokens() * c.experts();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.tokens() * (c.experts() * c.dtype().byteSize() + 8.0 * c.topK());
    }
}
