package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.MoeExperts;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link MoeExperts}: routed expert MLPs with SiLU / GELU, hidden and intermediate
 * sizes around vector widths, routing skewed so some experts get many tokens and some none, and
 * "sharded" cases where a third of the ids fall outside [0, E) (another expert-parallel rank's).
 *
 * <p>Tolerance (NMSE, by x's dtype): both sides accumulate in f32 from identical inputs. With f32
 * activations only the summation order differs: NMSE ≈ 1e-13, up to 6e-12 where outputs nearly
 * cancel (cases have at least 8 outputs so that one cancelling sum cannot dominate); limit 1e-8.
 * With bf16/f16 x the intermediate activation is rounded to x's dtype, and where the two f32
 * values straddle a rounding boundary it flips by one ulp; one flip reaches every output of its
 * token through W2, so the distribution has a long tail: over 4500 generated cases the worst was
 * 4e-7 (bf16) and 6e-8 (f16), against the CPU scalar form and an f64 implementation alike.
 * Limits 3e-6 and 3e-7. Skipping the intermediate rounding gives a median of 6e-6 with bf16 and
 * fails most bf16 cases (with f16, 1e-7: within the tail, so not reliably detected).
 */
public final class MoeExpertsSpec extends OpSpec<MoeExpertsSpec.Case> {

    /**
     * @param sharded a third of the ids are outside [0, E) (−1 or ≥ E)
     */
    public record Case(int tokens, int hidden, int inter, int experts, int topK, ActivationKind act, DType xType,
            DType wType, DType outType, boolean sharded) {
    }

    @Override
    public OpKind op() {
        return OpKind.MOE_EXPERTS;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> tokens = Gens.size(1, 24, 1, 2, 3, 4, 5, 8, 9, 17);
        Gen<Integer> hidden = Gens.size(1, 160, 1, 7, 15, 16, 17, 31, 32, 33, 64, 65, 128, 129);
        Gen<Integer> inter = Gens.size(1, 96, 1, 8, 15, 16, 17, 32, 33, 64);
        Gen<Integer> experts = Gens.oneOf(4, 1, 2, 8, 3);
        Gen<Integer> flags = SourceDSL.integers().between(0, (1 << 11) - 1);
        // bits: 0-1 act, 2-3 x dtype, 4 weights as x, 5-6 weight dtype, 7 out as x else f32, 8 sharded, 9-10 topK
        return tokens.zip(hidden, inter, experts, flags, (t, h, i, e, f) -> {
            DType[] dts = {DType.F32, DType.BF16, DType.F16};
            ActivationKind act = new ActivationKind[] {ActivationKind.SILU, ActivationKind.GELU_ERF,
                ActivationKind.GELU_TANH, ActivationKind.SILU}[f & 3];
            DType x = dts[((f >> 2) & 3) % 3];
            DType w = (f & 16) == 0 ? x : dts[((f >> 5) & 3) % 3];
            DType out = (f & 128) == 0 ? x : DType.F32;
            int k = Math.min(e, 1 + ((f >> 9) & 3));
            // at least 8 outputs: one output that is a near-cancelling sum of expert terms would make
            // the NMSE a measure of that cancellation, not of the kernel
            int atLeast8 = Math.max(t, (8 + h - 1) / h);
            return new Case(atLeast8, h, i, e, k, act, x, w, out, (f & 256) != 0);
        });
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(0, 16, 8, 4, 2, ActivationKind.SILU, DType.F32, DType.F32, DType.F32, false), // empty batch
                new Case(1, 64, 32, 8, 2, ActivationKind.SILU, DType.BF16, DType.BF16, DType.BF16, false), // decode
                new Case(17, 33, 17, 4, 4, ActivationKind.GELU_TANH, DType.F32, DType.BF16, DType.F32, true),
                new Case(9, 65, 15, 2, 2, ActivationKind.GELU_ERF, DType.F16, DType.F16, DType.F32, false),
                new Case(5, 1, 1, 1, 1, ActivationKind.SILU, DType.F32, DType.F32, DType.F32, true));
    }

    @Override
    public String name(Case c) {
        return "moe_experts[T=" + c.tokens() + ",H=" + c.hidden() + ",I=" + c.inter() + ",E=" + c.experts() + ",k="
                + c.topK() + "," + c.act().name().toLowerCase(java.util.Locale.ROOT) + "," + dt(c.xType())
                + (c.wType() != c.xType() ? ",w=" + dt(c.wType()) : "") + (c.outType() != c.xType() ? ",out="
                + dt(c.outType()) : "") + (c.sharded() ? ",ep" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.xType()) + (c.wType() != c.xType() ? "/w=" + dt(c.wType()) : "");
    }

    static String dt(DType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), h = c.hidden(), i = c.inter(), e = c.experts(), k = c.topK();
        var r = b.random();
        int[] ids = new int[t * k];
        for (int ti = 0; ti < t; ti++) {
            for (int j = 0; j < k; j++) {
                int id;
                if (c.sharded() && r.nextInt(3) == 0) {
                    id = r.nextBoolean() ? -1 : e + r.nextInt(e + 1); // another rank's expert
                } else {
                    id = r.nextInt(2) == 0 ? 0 : r.nextInt(e); // skewed: expert 0 gets many tokens
                    for (int prev = 0; prev < j; prev++) {
                        if (ids[ti * k + prev] == id) {
                            id = (id + 1) % e; // distinct per token, as top-k gives (k <= E)
                            prev = -1;
                        }
                    }
                }
                ids[ti * k + j] = id;
            }
        }
        Tensor x = b.input(c.xType(), -1, 1, t, h);
        double sh = 1 / Math.sqrt(h), si = 1 / Math.sqrt(i);
        Tensor w13 = b.input(c.wType(), -2 * sh, 2 * sh, e, 2 * i, h);
        Tensor w2 = b.input(c.wType(), -2 * si, 2 * si, e, h, i);
        Tensor weights = b.input(DType.F32, 0.05, 1, t, k);
        Tensor out = b.output(c.outType(), t, h);
        return b.build(new MoeExperts(x, w13, w2, weights, b.ints(ids, t, k), c.act(), out),
                new Checked("out", out, tolerance(c.xType()), null));
    }

    /** See the class comment. */
    static Tolerance tolerance(DType x) {
        return Tolerance.nmse(switch (x) {
            case BF16 -> 3e-6;
            case F16 -> 3e-7;
            default -> 1e-8;
        });
    }

    @Override
    public double flops(Case c) {
        return 2.0 * c.tokens() * c.topK() * 3.0 * c.inter() * c.hidden();
    }

    @Override
    public double bytes(Case c) {
        return 3.0 * c.experts() * c.inter() * c.hidden() * c.wType().byteSize()
                + 2.0 * c.tokens() * c.hidden() * c.xType().byteSize();
    }
}
