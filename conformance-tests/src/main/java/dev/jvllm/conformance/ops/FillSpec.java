package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Fill;
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
 * Conformance of {@link Fill} on every dtype, into a guarded strided view whose elements start as
 * canaries, with values that round (0.1), saturate fp8 (1000), overflow f16 (1e5) and truncate for
 * integers (−2.7). The converted value is determined bit for bit: bit-exact.
 */
public final class FillSpec extends OpSpec<FillSpec.Case> {
    static final double[] VALUES = {0, 1, -2.7, 0.1, 1000, 1e5, -0.0, 3.14159265358979};

    /** @param value index into {@link #VALUES} */
    public record Case(int rows, int cols, DType dtype, int value) {
    }

    @Override
    public OpKind op() {
        return OpKind.FILL;
    }

    @Override
    public Gen<Case> cases() {
        Gen<DType> dtypes = Gens.oneOf(DType.F32, DType.BF16, DType.F16, DType.F8_E4M3, DType.I32, DType.I64, DType.I8,
                DType.U8);
        return tokens(40).zip(widths(769), dtypes, Gens.oneOf(0, 1, 2, 3, 4, 5, 6, 7), Case::new);
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(3, 7, DType.F8_E4M3, 4), new Case(2, 769, DType.F16, 5), new Case(1, 1, DType.I32, 2),
                new Case(5, 17, DType.BF16, 3), new Case(0, 4, DType.F32, 1));
    }

    @Override
    public String name(Case c) {
        return "fill[R=" + c.rows() + ",C=" + c.cols() + "," + dt(c.dtype()) + ",v=" + VALUES[c.value()] + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dtype());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor dst = b.output(c.dtype(), c.rows(), c.cols());
        return b.build(new Fill(dst, VALUES[c.value()]), new Checked("dst", dst, Tolerance.BIT_EXACT, null));
    }

    @Override
    public double bytes(Case c) {
        return (double) c.rows() * c.cols() * c.dtype().byteSize();
    }
}
