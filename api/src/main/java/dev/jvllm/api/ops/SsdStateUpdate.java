package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * One decode step of {@link SsdChunkScan}: row b is sequence b's one token; it always continues
 * from {@code ssmStates[stateIndices[b]]} (−1 = padding, skipped). Same math and layouts with T = B.
 */
public record SsdStateUpdate(Tensor x, Tensor dt, Tensor A, Tensor B, Tensor C, Tensor D, Tensor dtBias,
        boolean dtSoftplus, float dtMin, float dtMax, int nGroups, Tensor ssmStates, Tensor stateIndices,
        Tensor out) implements OpArgs {
    public SsdStateUpdate {
        String op = "ssd_state_update";
        Check.rank(op, "dt", Check.nonNull(op, "dt", dt), 2);
        int b = dt.dim(0), h = dt.cols();
        Check.shape(op, "A", Check.nonNull(op, "A", A), h);
        Check.dtype(op, "A", A, DType.F32);
        Check.rank(op, "ssmStates", Check.nonNull(op, "ssmStates", ssmStates), 4);
        Check.dtype(op, "ssmStates", ssmStates, DType.F32);
        Check.contiguous(op, "ssmStates", ssmStates);
        int p = ssmStates.dim(2), n = ssmStates.dim(3);
        Check.shape(op, "ssmStates", ssmStates, -1, h, p, n);
        Check.shape(op, "x", Check.nonNull(op, "x", x), b, h * p);
        Check.positive(op, "nGroups", nGroups);
        Check.that(h % nGroups == 0, op, "heads=" + h + " not divisible by nGroups=" + nGroups);
        Check.shape(op, "B", Check.nonNull(op, "B", B), b, nGroups * n);
        Check.shape(op, "C", Check.nonNull(op, "C", C), b, nGroups * n);
        Check.shape(op, "D", D, h);
        Check.shape(op, "dtBias", dtBias, h);
        Check.dtype(op, "D", D, DType.F32);
        Check.dtype(op, "dtBias", dtBias, DType.F32);
        Check.that(dtMin <= dtMax, op, "dtMin " + dtMin + " > dtMax " + dtMax);
        Check.shape(op, "stateIndices", Check.nonNull(op, "stateIndices", stateIndices), b);
        Check.dtype(op, "stateIndices", stateIndices, DType.I32);
        Check.sameShape(op, "x", x, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.SSD_STATE_UPDATE;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, ssmStates);
    }
}
