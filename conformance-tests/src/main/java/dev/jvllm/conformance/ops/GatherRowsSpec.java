package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.GatherRows;
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
 * Conformance of {@link GatherRows}: indices with repeats in any order (or the last row of each
 * of n "sequences", as before the LM head), a strided source, an empty gather. Bit-exact.
 */
public final class GatherRowsSpec extends OpSpec<GatherRowsSpec.Case> {

    /** @param n gathered rows (0 = empty); @param lastOfSeqs indices ascending like query_start_loc − 1 */
    public record Case(int srcRows, int cols, int n, DType dtype, boolean strided, boolean lastOfSeqs) {
    }

    @Override
    public OpKind op() {
        return OpKind.GATHER_ROWS;
    }

    @Override
    public Gen<Case> cases() {
        Gen<DType> dtypes = Gens.oneOf(DType.F32, DType.BF16, DType.F16, DType.I32);
        return tokens(40).zip(widths(769), Gens.size(0, 12, 1, 2, 3, 8), dtypes, flags(2),
                (r, c, n, d, f) -> new Case(r, c, n, d, bit(f, 0), bit(f, 1)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(new Case(5, 16, 0, DType.F32, false, false), new Case(1, 1, 3, DType.BF16, true, false),
                new Case(33, 769, 4, DType.BF16, true, true), new Case(7, 65, 9, DType.I32, false, false));
    }

    @Override
    public String name(Case c) {
        return "gather_rows[R=" + c.srcRows() + ",C=" + c.cols() + ",n=" + c.n() + "," + dt(c.dtype())
                + (c.strided() ? ",strided" : "") + (c.lastOfSeqs() ? ",last" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dtype());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        Tensor src = input(b, c.dtype(), -50, 50, c.srcRows(), c.cols(), c.strided());
        int[] idx = new int[c.n()];
        for (int i = 0; i < idx.length; i++) {
            // last token of n equal-length sequences, or any row (repeats, any order)
            idx[i] = c.lastOfSeqs() ? Math.max(0, (int) ((long) (i + 1) * c.srcRows() / c.n()) - 1)
                    : b.random().nextInt(c.srcRows());
        }
        Tensor dst = b.output(c.dtype(), c.n(), c.cols());
        return b.build(new GatherRows(src, b.ints(idx, idx.length), dst), new Checked("dst", dst, Tolerance.BIT_EXACT, null));
    }

    @Override
    public double bytes(Case c) {
        return 2.0 * c.n() * c.cols() * c.dtype().byteSize() + 4.0 * c.n();
    }
}
