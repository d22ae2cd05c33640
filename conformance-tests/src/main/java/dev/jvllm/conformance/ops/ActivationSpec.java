package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
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
 * Conformance of {@link Activation} for every {@link ActivationKind} and dtype pair, strided or in
 * place. Inputs cover each function's interesting range: softplus crosses its x &gt; 20 cut,
 * tanh soft-capping sees logits up to 4× the cap (Gemma-2 caps 30 and 50). Tolerance:
 * {@link CoreOpsCases#elementwise}; RELU is exact.
 */
public final class ActivationSpec extends OpSpec<ActivationSpec.Case> {

    /** @param cap the soft-cap (TANH_SOFTCAP only) */
    public record Case(ActivationKind fn, int rows, int cols, DType x, DType out, float cap, boolean strided,
            boolean inPlace) {
        public Case {
            strided &= !inPlace; // in place works on a contiguous state tensor
            out = inPlace ? x : out;
        }
    }

    @Override
    public OpKind op() {
        return OpKind.ACTIVATION;
    }

    @Override
    public Gen<Case> cases() {
        Gen<ActivationKind> fns = Gens.oneOf(ActivationKind.values());
        Gen<Integer[]> shape = tokens(17).zip(widths(769), (r, c) -> new Integer[] {r, c});
        return fns.zip(shape, floats(), floats(), flags(3), (fn, s, x, o, f) -> new Case(fn, s[0], s[1], x,
                bit(f, 2) ? x : o, bit(f, 0) ? 50f : 30f, bit(f, 1), bit(f, 2)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(ActivationKind.GELU_ERF, 3, 769, DType.F32, DType.F32, 30f, false, false),
                new Case(ActivationKind.TANH_SOFTCAP, 1, 257, DType.F32, DType.BF16, 30f, true, false),
                new Case(ActivationKind.SOFTPLUS, 2, 33, DType.BF16, DType.BF16, 30f, false, true),
                new Case(ActivationKind.GELU_TANH, 7, 17, DType.F16, DType.F32, 30f, true, false),
                new Case(ActivationKind.SILU, 1, 1, DType.BF16, DType.F16, 30f, false, false));
    }

    @Override
    public String name(Case c) {
        return "activation[" + c.fn().name().toLowerCase(java.util.Locale.ROOT)
                + (c.fn() == ActivationKind.TANH_SOFTCAP ? "(" + (int) c.cap() + ")" : "") + ",R=" + c.rows() + ",C="
                + c.cols() + "," + pair(c.x(), c.out()) + (c.strided() ? ",strided" : "") + (c.inPlace() ? ",inplace" : "")
                + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.x(), c.out());
    }

    /** Input range per function: where it bends, plus its cut-offs. */
    static double range(ActivationKind fn, float cap) {
        return switch (fn) {
            case SOFTPLUS -> 30;
            case TANH_SOFTCAP -> 4 * cap;
            default -> 8;
        };
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        double r = range(c.fn(), c.cap());
        Tensor x = c.inPlace() ? b.state(c.x(), -r, r, c.rows(), c.cols()) : input(b, c.x(), -r, r, c.rows(), c.cols(), c.strided());
        Tensor out = c.inPlace() ? x : b.output(c.out(), c.rows(), c.cols());
        Tolerance tol = c.fn() == ActivationKind.RELU ? EXACT_F32_OP : elementwise(c.out());
        return b.build(new Activation(c.fn(), x, out, c.fn() == ActivationKind.TANH_SOFTCAP ? c.cap() : 0f),
                new Checked("out", out, tol, null));
    }

    @Override
    public double flops(Case c) {
        return 10.0 * c.rows() * c.cols();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.rows() * c.cols() * (c.x().byteSize() + c.out().byteSize());
    }
}
