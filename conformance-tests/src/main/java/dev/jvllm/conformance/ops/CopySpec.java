package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Copy;
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
 * Conformance of {@link Copy}: any dtype, rank 2 or 3, the source optionally a strided view, the
 * destination a guarded strided view. Pure data movement: bit-exact.
 */
public final class CopySpec extends OpSpec<CopySpec.Case> {

    /**
     * @param rows    rows (0 = empty)
     * @param strided the source is a column range of a wider tensor
     * @param rank3   shape [2, rows, cols] instead of [rows, cols]
     */
    public record Case(int rows, int cols, DType dtype, boolean strided, boolean rank3) {
    }

    @Override
    public OpKind op() {
        return OpKind.COPY;
    }

    @Override
    public Gen<Case> cases() {
        Gen<DType> dtypes = Gens.oneOf(DType.F32, DType.BF16, DType.F16, DType.I32, DType.F8_E4M3, DType.I8, DType.I64);
        return tokens(40).zip(widths(769), dtypes, flags(2),
                (r, c, d, f) -> new Case(r, c, d, bit(f, 0), bit(f, 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(0, 8, DType.F32, false, false), new Case(1, 1, DType.BF16, true, false),
                new Case(7, 769, DType.F16, true, true), new Case(3, 33, DType.I64, true, false));
    }

    @Override
    public String name(Case c) {
        return "copy[" + (c.rank3() ? "2x" : "") + "R=" + c.rows() + ",C=" + c.cols() + "," + dt(c.dtype())
                + (c.strided() ? ",strided" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dtype());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int rows = c.rank3() ? 2 * c.rows() : c.rows();
        Tensor src = input(b, c.dtype(), -100, 100, rows, c.cols(), c.strided());
        int[] shape = c.rank3() ? new int[] {2, c.rows(), c.cols()} : new int[] {c.rows(), c.cols()};
        src = src.reshape(shape);
        Tensor dst = b.output(c.dtype(), shape);
        return b.build(new Copy(src, dst), new Checked("dst", dst, Tolerance.BIT_EXACT, null));
    }

    @Override
    public double bytes(Case c) {
        return 2.0 * (c.rank3() ? 2 : 1) * c.rows() * c.cols() * c.dtype().byteSize();
    }
}
