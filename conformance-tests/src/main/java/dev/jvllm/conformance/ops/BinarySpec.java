package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Binary} add/mul over every dtype mix, b full or a broadcast row (bias,
 * per-channel scale), a strided, or out written in place into a. One f32 op rounded once:
 * {@link CoreOpsCases#EXACT_F32_OP}.
 */
public final class BinarySpec extends OpSpec<BinarySpec.Case> {

    /**
     * @param broadcast b is one [C] row
     * @param strided   a and (full) b are strided views
     * @param inPlace   out is a (then out's dtype is a's)
     */
    public record Case(Binary.Op op, int rows, int cols, DType a, DType b, DType out, boolean broadcast,
            boolean strided, boolean inPlace) {
        public Case {
            strided &= !inPlace; // in place works on a contiguous state tensor
            out = inPlace ? a : out;
        }
    }

    @Override
    public OpKind op() {
        return OpKind.BINARY;
    }

    @Override
    public Gen<Case> cases() {
        Gen<DType[]> dtypes = floats().zip(floats(), floats(), (a, b, o) -> new DType[] {a, b, o});
        return tokens(33).zip(widths(769), dtypes, flags(4), (r, c, d, f) -> new Case(
                bit(f, 0) ? Binary.Op.MUL : Binary.Op.ADD, r, c, d[0], d[1], bit(f, 3) ? d[0] : d[2], bit(f, 1),
                bit(f, 2), bit(f, 3)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(Binary.Op.ADD, 7, 769, DType.BF16, DType.BF16, DType.BF16, false, false, true), // residual add
                new Case(Binary.Op.ADD, 3, 17, DType.F32, DType.BF16, DType.F16, true, true, false), // bias, mixed
                new Case(Binary.Op.MUL, 1, 1, DType.F16, DType.F16, DType.F32, false, true, false),
                new Case(Binary.Op.MUL, 16, 65, DType.F32, DType.F32, DType.BF16, true, false, false));
    }

    @Override
    public String name(Case c) {
        return "binary[" + c.op().name().toLowerCase(java.util.Locale.ROOT) + ",R=" + c.rows() + ",C=" + c.cols() + ","
                + dtypeLabel(c) + (c.broadcast() ? ",bcast" : "") + (c.strided() ? ",strided" : "")
                + (c.inPlace() ? ",inplace" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return c.a() == c.b() ? pair(c.a(), c.out()) : dt(c.a()) + "," + dt(c.b()) + "→" + dt(c.out());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor a = c.inPlace() ? b.state(c.a(), -2, 2, c.rows(), c.cols()) : input(b, c.a(), -2, 2, c.rows(), c.cols(), c.strided());
        Tensor y = c.broadcast() ? b.input(c.b(), -2, 2, c.cols()) : input(b, c.b(), -2, 2, c.rows(), c.cols(), c.strided());
        Tensor out = c.inPlace() ? a : b.output(c.out(), c.rows(), c.cols());
        return b.build(new Binary(c.op(), a, y, out), new Checked("out", out, EXACT_F32_OP, null));
    }

    @Override
    public double flops(Case c) {
        return (double) c.rows() * c.cols();
    }

    @Override
    public double bytes(Case c) {
        return (double) c.rows() * c.cols() * (c.a().byteSize() + c.out().byteSize() + (c.broadcast() ? 0 : c.b().byteSize()));
    }
}
