package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Scale;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Scale} (e.g. Gemma's √H embedding scale, 1/√d): every dtype pair, strided
 * or in place. One f32 multiply rounded once: {@link CoreOpsCases#EXACT_F32_OP}.
 */
public final class ScaleSpec extends OpSpec<ScaleSpec.Case> {
    static final float[] FACTORS = {0.08838834764f, 45.254833995939045f, -3f, 1e-3f};

    /** @param factor index into {@link #FACTORS} */
    public record Case(int rows, int cols, DType x, DType out, int factor, boolean strided, boolean inPlace) {
        public Case {
            strided &= !inPlace; // in place works on a contiguous state tensor
            out = inPlace ? x : out;
        }
    }

    @Override
    public OpKind op() {
        return OpKind.SCALE;
    }

    @Override
    public Gen<Case> cases() {
        return tokens(33).zip(widths(769), floats(), floats(), flags(4), (r, c, x, o, f) -> new Case(r, c, x,
                bit(f, 3) ? x : o, f & 3, bit(f, 2), bit(f, 3)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(7, 768, DType.BF16, DType.BF16, 1, false, true), new Case(1, 1, DType.F32, DType.F16, 2, true, false),
                new Case(3, 129, DType.F16, DType.BF16, 0, true, false));
    }

    @Override
    public String name(Case c) {
        return "scale[R=" + c.rows() + ",C=" + c.cols() + "," + pair(c.x(), c.out()) + ",f=" + FACTORS[c.factor()]
                + (c.strided() ? ",strided" : "") + (c.inPlace() ? ",inplace" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.x(), c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor x = c.inPlace() ? b.state(c.x(), -4, 4, c.rows(), c.cols()) : input(b, c.x(), -4, 4, c.rows(), c.cols(), c.strided());
        Tensor out = c.inPlace() ? x : b.output(c.out(), c.rows(), c.cols());
        return b.build(new Scale(x, FACTORS[c.factor()], out), new Checked("out", out, EXACT_F32_OP, null));
    }

    @Override
    public double flops(Case c) {
        return (double) c.rows() * c.cols();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.rows() * c.cols() * (c.x().byteSize() + c.out().byteSize());
    }
}
