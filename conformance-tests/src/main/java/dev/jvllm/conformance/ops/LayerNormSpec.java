package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.LayerNorm;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link LayerNorm}: with or without bias, inputs centred or offset by 3 (where a
 * one-pass variance would cancel), x strided or out written in place, any dtype mix. Rounded once
 * to out: {@link CoreOpsCases#norm} at out's dtype.
 */
public final class LayerNormSpec extends OpSpec<LayerNormSpec.Case> {

    public record Case(int tokens, int hidden, DType x, DType params, DType out, boolean bias, boolean offset,
            boolean strided, boolean inPlace) {
        public Case {
            strided &= !inPlace; // in place works on a contiguous state tensor
            out = inPlace ? x : out;
        }
    }

    @Override
    public OpKind op() {
        return OpKind.LAYER_NORM;
    }

    @Override
    public Gen<Case> cases() {
        Gen<Integer> hidden = Gens.size(1, 1100, 1, 2, 7, 8, 9, 16, 17, 64, 128, 129, 768, 769, 1024);
        Gen<DType[]> dtypes = floats().zip(floats(), floats(), (x, p, o) -> new DType[] {x, p, o});
        return tokens(40).zip(hidden, dtypes, flags(4), (t, h, d, f) -> new Case(t, h, d[0], d[1],
                bit(f, 3) ? d[0] : d[2], bit(f, 0), bit(f, 1), bit(f, 2), bit(f, 3)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(7, 768, DType.F32, DType.F32, DType.F32, true, true, false, false),
                new Case(1, 769, DType.BF16, DType.BF16, DType.BF16, true, false, false, true),
                new Case(3, 2, DType.F16, DType.F32, DType.BF16, false, true, true, false));
    }

    @Override
    public String name(Case c) {
        return "layer_norm[T=" + c.tokens() + ",H=" + c.hidden() + "," + pair(c.x(), c.out()) + ",w=" + dt(c.params())
                + (c.bias() ? ",bias" : "") + (c.offset() ? ",offset" : "") + (c.strided() ? ",strided" : "")
                + (c.inPlace() ? ",inplace" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.x(), c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), h = c.hidden();
        double lo = c.offset() ? 1 : -2, hi = c.offset() ? 5 : 2;
        Tensor x = c.inPlace() ? b.state(c.x(), lo, hi, t, h) : input(b, c.x(), lo, hi, t, h, c.strided());
        Tensor w = b.input(c.params(), 0.5, 1.5, h);
        Tensor bias = c.bias() ? b.input(c.params(), -0.5, 0.5, h) : null;
        Tensor out = c.inPlace() ? x : b.output(c.out(), t, h);
        return b.build(new LayerNorm(x, w, bias, out, 1e-5f), new Checked("out", out, norm(coarsest(c.out())), null));
    }

    @Override
    public double flops(Case c) {
        return 7.0 * c.tokens() * c.hidden();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.tokens() * c.hidden() * (c.x().byteSize() + c.out().byteSize());
    }
}
