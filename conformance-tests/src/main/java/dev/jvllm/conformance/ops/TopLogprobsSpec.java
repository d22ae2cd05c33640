package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.TopLogprobs;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.conformance.ops.SamplingLogits.Pattern;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link TopLogprobs}.
 *
 * <p>Ids: equal to the reference's, position by position; ties in the logits must go to the lower
 * id. The one allowance: two ids may swap where their logits differ but by less than 1e-6
 * (relative), because a backend that ranks by its rounded logprob may see them tie. Logprobs and the
 * token logprob: {@link #LOGPROB}.
 */
public final class TopLogprobsSpec extends OpSpec<TopLogprobsSpec.Case> {
    /**
     * |Δlp| ≤ 1e-5 + 1e-6·|lp|. Both sides compute lp = (l − m) − ln S with S summed in f64; they may
     * differ by the vector exp (1–2 ulp per term: ~1e-7 relative in S, so ~1e-7 in ln S), an f32 log
     * (~1e-6 absolute for ln S ≤ 20) and the final f32 rounding (half an ulp: 2e-6 at |lp| = 32).
     */
    static final Tolerance LOGPROB = Tolerance.close(1e-5, 1e-6);

    /** Two distinct logits closer than this (relative) may be ranked either way. */
    static final double NEAR_TIE = 1e-6;

    /** One case: rows, vocabulary, n, whether tokenIds/tokenLogprob are passed, value pattern. */
    public record Case(int rows, int vocab, int n, boolean withToken, Pattern pattern) {
    }

    @Override
    public OpKind op() {
        return OpKind.TOP_LOGPROBS;
    }

    @Override
    public Gen<Case> cases() {
        // n: 0 (token logprob only), 1, vLLM's usual 5 and 20, or up to V
        Gen<Integer> n = Gens.size(0, 32, 0, 1, 2, 5, 8, 20);
        return SamplingLogits.rows().zip(SamplingLogits.vocab(), n, Gens.bool(),
                Gens.oneOf(Pattern.RANDOM, Pattern.TIES, Pattern.PEAKED, Pattern.MASKED),
                (rows, v, k, tok, p) -> new Case(rows, v, Math.min(k, v), tok, p));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(1, 1, 1, true, Pattern.RANDOM),
                new Case(3, 8, 8, true, Pattern.TIES),       // n = V with ties: the whole order
                new Case(2, 17, 0, true, Pattern.MASKED),    // n = 0, token logprob may be −∞
                new Case(4, 769, 20, false, Pattern.TIES),
                new Case(1, 151_936, 20, true, Pattern.PEAKED),
                new Case(7, 33, 5, true, Pattern.MASKED));
    }

    @Override
    public String name(Case c) {
        return "top_logprobs[B=" + c.rows() + ",V=" + c.vocab() + ",n=" + c.n() + "," + c.pattern().label()
                + (c.withToken() ? ",token" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return "f32";
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor logits = SamplingLogits.logits(b, DType.F32, c.pattern(), c.rows(), c.vocab());
        Tensor ids = b.output(DType.I32, c.rows(), c.n());
        Tensor lps = b.output(DType.F32, c.rows(), c.n());
        Tensor tokenIds = null;
        Tensor tokenLp = null;
        if (c.withToken()) {
            int[] t = new int[c.rows()];
            for (int i = 0; i < t.length; i++) {
                t[i] = b.random().nextInt(c.vocab());
            }
            tokenIds = b.ints(t, c.rows());
            tokenLp = b.output(DType.F32, c.rows());
        }
        TopLogprobs args = new TopLogprobs(logits, c.n(), ids, lps, tokenIds, tokenLp);
        Checked outIds = new Checked("outIds", ids, Tolerance.BIT_EXACT, null);
        Checked outLps = new Checked("outLogprobs", lps, LOGPROB, null);
        return c.withToken() ? b.build(args, outIds, outLps, new Checked("tokenLogprob", tokenLp, LOGPROB, null))
                : b.build(args, outIds, outLps);
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        String g = candidate.builder().guardViolation();
        if (g != null) {
            return g;
        }
        String ids = compareIds(c, reference, candidate);
        if (ids != null) {
            return ids;
        }
        for (int i = 1; i < reference.outputs().size(); i++) {
            Checked r = reference.outputs().get(i);
            String m = Comparison.compare(r.name(), r.tensor(), candidate.outputs().get(i).tensor(), r.tolerance());
            if (m != null) {
                return m;
            }
        }
        return null;
    }

    /** Ids equal position by position, except swaps between distinct logits closer than {@link #NEAR_TIE}. */
    private static String compareIds(Case c, Instance reference, Instance candidate) {
        int[] r = Tensors.toInts(reference.output("outIds").tensor());
        int[] k = Tensors.toInts(candidate.output("outIds").tensor());
        float[] logits = Tensors.toFloats(((TopLogprobs) reference.args()).logits());
        int n = c.n();
        for (int row = 0; row < c.rows(); row++) {
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int j = 0; j < n; j++) {
                int ri = r[row * n + j];
                int ki = k[row * n + j];
                if (ki < 0 || ki >= c.vocab() || !seen.add(ki)) {
                    return "outIds: row " + row + " position " + j + " holds " + ki
                            + (ki < 0 || ki >= c.vocab() ? ", outside the vocabulary" : ", a repeated id");
                }
                if (ri == ki) {
                    continue;
                }
                float lr = logits[row * c.vocab() + ri];
                float lk = logits[row * c.vocab() + ki];
                boolean nearTie = lr != lk && Math.abs(lr - lk) <= NEAR_TIE * Math.max(Math.abs(lr), Math.abs(lk));
                if (!nearTie) {
                    return "outIds: row " + row + " position " + j + ": reference id " + ri + " (logit " + lr
                            + "), candidate id " + ki + " (logit " + lk + ")"
                            + (lr == lk ? "; equal logits must rank the lower id first" : "");
                }
            }
        }
        return null;
    }

    @Override
    public double flops(Case c) {
        return 4.0 * c.rows() * c.vocab(); // max, subtract, exp, add per logit
    }

    @Override
    public double bytes(Case c) {
        return 4.0 * c.rows() * c.vocab() + 8.0 * c.rows() * c.n();
    }
}
