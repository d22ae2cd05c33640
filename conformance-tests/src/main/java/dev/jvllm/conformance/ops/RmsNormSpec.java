package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import java.util.ArrayList;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link RmsNorm}: Llama and Gemma forms, with or without the fused residual add,
 * in place (out = x, residualOut = residual, as vLLM's fused_add_rms_norm) or into guarded
 * outputs, x optionally strided, any dtype mix. out: {@link CoreOpsCases#norm} at the coarsest
 * dtype a value is rounded to (the Llama form also rounds to x's dtype); residualOut is one f32
 * add rounded once: exact.
 */
public final class RmsNormSpec extends OpSpec<RmsNormSpec.Case> {

    public record Case(int tokens, int hidden, DType x, DType weight, DType out, boolean residual, boolean gemma,
            boolean inPlace, boolean strided) {
        public Case {
            strided &= !inPlace; // in place works on a contiguous state tensor
            out = inPlace ? x : out;
        }
    }

    @Override
    public OpKind op() {
        return OpKind.RMS_NORM;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> hidden = Gens.size(1, 1100, 1, 7, 8, 9, 15, 16, 17, 64, 127, 128, 129, 768, 769, 1024);
        Gen<DType[]> dtypes = floats().zip(floats(), floats(), (x, w, o) -> new DType[] {x, w, o});
        return tokens(40).zip(hidden, dtypes, flags(4), (t, h, d, f) -> new Case(t, h, d[0], d[1],
                bit(f, 2) ? d[0] : d[2], bit(f, 0), bit(f, 1), bit(f, 2), bit(f, 3)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(7, 769, DType.BF16, DType.BF16, DType.BF16, true, false, true, false), // fused add, in place
                new Case(1, 4096, DType.BF16, DType.BF16, DType.BF16, false, false, false, false), // a decode row
                new Case(3, 768, DType.F32, DType.BF16, DType.F32, true, true, false, true), // gemma, strided
                new Case(17, 1, DType.F16, DType.F32, DType.BF16, false, false, false, true),
                new Case(2, 127, DType.F32, DType.F32, DType.F16, true, false, false, false));
    }

    @Override
    public String name(Case c) {
        return "rms_norm[T=" + c.tokens() + ",H=" + c.hidden() + "," + dtypeLabel(c) + ",w=" + dt(c.weight())
                + (c.residual() ? ",residual" : "") + (c.gemma() ? ",gemma" : "") + (c.inPlace() ? ",inplace" : "")
                + (c.strided() ? ",strided" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.x(), c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), h = c.hidden();
        Tensor x = c.inPlace() ? b.state(c.x(), -3, 3, t, h) : input(b, c.x(), -3, 3, t, h, c.strided());
        Tensor w = b.input(c.weight(), c.gemma() ? -0.5 : 0.5, c.gemma() ? 0.5 : 1.5, h);
        Tensor residual = null, residualOut = null;
        if (c.residual()) {
            residual = c.inPlace() ? b.state(c.x(), -3, 3, t, h) : input(b, c.x(), -3, 3, t, h, c.strided());
            residualOut = c.inPlace() ? residual : b.output(c.x(), t, h);
        }
        Tensor out = c.inPlace() ? x : b.output(c.out(), t, h);
        List<Checked> checked = new ArrayList<>();
        checked.add(new Checked("out", out, norm(c.gemma() ? coarsest(c.out()) : coarsest(c.x(), c.out())), null));
        if (c.residual()) {
            checked.add(new Checked("residualOut", residualOut, EXACT_F32_OP, null));
        }
        return b.build(new RmsNorm(x, w, residual, out, residualOut, 1e-6f, c.gemma()), checked.toArray(Checked[]::new));
    }

    @Override
    public double flops(Case c) {
        return (c.residual() ? 5.0 : 4.0) * c.tokens() * c.hidden();
    }

    @Override
    public double bytes(Case c) {
        int es = c.x().byteSize();
        return (double) c.tokens() * c.hidden() * (es + c.out().byteSize() + (c.residual() ? 2 * es : 0))
                + (double) c.hidden() * c.weight().byteSize();
    }
}
