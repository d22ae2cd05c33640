package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Cast;
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
 * Conformance of {@link Cast} between F32/F16/BF16 and to F8_E4M3, with value ranges that reach
 * fp8 saturation (±448) and f16 overflow (65504). Narrowing is round-to-nearest-even with fixed
 * overflow rules, so every bit is determined: bit-exact.
 */
public final class CastSpec extends OpSpec<CastSpec.Case> {
    /** Input magnitudes: ordinary, past fp8's 448, past f16's 65504. */
    static final double[] RANGES = {3, 600, 1e5};

    /** @param range index into {@link #RANGES} */
    public record Case(int rows, int cols, DType src, DType dst, int range, boolean strided) {
    }

    @Override
    public OpKind op() {
        return OpKind.CAST;
    }

    @Override
    public Gen<Case> cases() {
        Gen<DType> dsts = Gens.oneOf(DType.BF16, DType.F32, DType.F16, DType.F8_E4M3);
        return tokens(33).zip(widths(769), floats(), dsts, flags(3),
                (r, c, s, d, f) -> new Case(r, c, s, d, Math.min(2, f & 3), bit(f, 2)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(3, 17, DType.F32, DType.F8_E4M3, 1, false), new Case(2, 769, DType.F32, DType.F16, 2, true),
                new Case(5, 33, DType.BF16, DType.F16, 0, true), new Case(1, 8, DType.F16, DType.BF16, 0, false),
                new Case(0, 5, DType.F32, DType.BF16, 0, false));
    }

    @Override
    public String name(Case c) {
        return "cast[R=" + c.rows() + ",C=" + c.cols() + "," + pair(c.src(), c.dst()) + ",|x|<" + (int) RANGES[c.range()]
                + (c.strided() ? ",strided" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return pair(c.src(), c.dst());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        double r = RANGES[c.range()];
        Tensor src = input(b, c.src(), -r, r, c.rows(), c.cols(), c.strided());
        Tensor dst = b.output(c.dst(), c.rows(), c.cols());
        return b.build(new Cast(src, dst), new Checked("dst", dst, Tolerance.BIT_EXACT, null));
    }

    @Override
    public double bytes(Case c) {
        return (double) c.rows() * c.cols() * (c.src().byteSize() + c.dst().byteSize());
    }
}
