package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link GatedActivation} ({@code silu_and_mul}, {@code gelu_and_mul},
 * {@code gelu_tanh_and_mul}, relu): x a fused [gate | up] projection, optionally a strided view of
 * a wider one; every dtype pair; intermediate sizes of real MLPs (e.g. 11008/2-style primes kept
 * small). Tolerance: {@link CoreOpsCases#elementwise} (RELU: one f32 product, exact).
 */
public final class GatedActivationSpec extends OpSpec<GatedActivationSpec.Case> {

    /** @param n the intermediate size (x has 2n columns); @param strided x is a column range of a wider input */
    public record Case(ActivationKind fn, int tokens, int n, DType x, DType out, boolean strided) {
    }

    @Override
    public OpKind op() {
        return OpKind.GATED_ACTIVATION;
    }

    @Override
    public Gen<Case> cases() {
        Gen<ActivationKind> fns = Gens.oneOf(ActivationKind.SILU, ActivationKind.GELU_TANH, ActivationKind.GELU_ERF,
                ActivationKind.RELU);
        return fns.zip(tokens(33), widths(769), floats().zip(floats(), (a, b) -> new DType[] {a, b}), Gens.bool(),
                (fn, t, n, d, s) -> new Case(fn, t, n, d[0], d[1], s));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(ActivationKind.SILU, 7, 688, DType.BF16, DType.BF16, true),
                new Case(ActivationKind.GELU_TANH, 1, 1, DType.F32, DType.F32, false),
                new Case(ActivationKind.GELU_ERF, 3, 769, DType.F16, DType.BF16, false),
                new Case(ActivationKind.RELU, 2, 17, DType.F32, DType.F16, true));
    }

    @Override
    public String name(Case c) {
        return "gated_activation[" + c.fn().name().toLowerCase(java.util.Locale.ROOT) + ",T=" + c.tokens() + ",N=" + c.n()
                + "," + pair(c.x(), c.out()) + (c.strided() ? ",strided" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.x(), c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor x = input(b, c.x(), -6, 6, c.tokens(), 2 * c.n(), c.strided());
        Tensor out = b.output(c.out(), c.tokens(), c.n());
        Tolerance tol = c.fn() == ActivationKind.RELU ? EXACT_F32_OP : elementwise(c.out());
        return b.build(new GatedActivation(c.fn(), x, out), new Checked("out", out, tol, null));
    }

    @Override
    public double flops(Case c) {
        return 11.0 * c.tokens() * c.n();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.tokens() * c.n() * (2 * c.x().byteSize() + c.out().byteSize());
    }
}
