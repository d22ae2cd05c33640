package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * One decode step of {@link SelectiveScan}: sequence b has one token (row b) and always continues
 * from {@code ssmStates[stateIndices[b]]} (−1 = padding, skipped). Same math.
 *
 * <p>u, delta, z, out: [B, D]; A: F32 [D, N]; Bm, Cm: [B, N]; Dskip, deltaBias: F32 [D] or null;
 * ssmStates: F32 [S, D, N]; stateIndices: I32 [B].
 */
public record SelectiveStateUpdate(Tensor u, Tensor delta, Tensor A, Tensor Bm, Tensor Cm, Tensor Dskip, Tensor z,
        Tensor deltaBias, boolean deltaSoftplus, Tensor ssmStates, Tensor stateIndices, Tensor out)
        implements OpArgs {
    public SelectiveStateUpdate {
        String op = "selective_state_update";
        Check.rank(op, "u", Check.nonNull(op, "u", u), 2);
        int b = u.dim(0), d = u.cols();
        Check.sameShape(op, "u", u, "delta", Check.nonNull(op, "delta", delta));
        Check.shape(op, "A", Check.nonNull(op, "A", A), d, -1);
        Check.dtype(op, "A", A, DType.F32);
        int n = A.dim(1);
        Check.shape(op, "Bm", Check.nonNull(op, "Bm", Bm), b, n);
        Check.shape(op, "Cm", Check.nonNull(op, "Cm", Cm), b, n);
        Check.shape(op, "Dskip", Dskip, d);
        Check.dtype(op, "Dskip", Dskip, DType.F32);
        Check.sameShape(op, "u", u, "z", z);
        Check.shape(op, "deltaBias", deltaBias, d);
        Check.dtype(op, "deltaBias", deltaBias, DType.F32);
        Check.shape(op, "ssmStates", Check.nonNull(op, "ssmStates", ssmStates), -1, d, n);
        Check.dtype(op, "ssmStates", ssmStates, DType.F32);
        Check.contiguous(op, "ssmStates", ssmStates);
        Check.shape(op, "stateIndices", Check.nonNull(op, "stateIndices", stateIndices), b);
        Check.dtype(op, "stateIndices", stateIndices, DType.I32);
        Check.sameShape(op, "u", u, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.SELECTIVE_STATE_UPDATE;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, ssmStates);
    }
}
