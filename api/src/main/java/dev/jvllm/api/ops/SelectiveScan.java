package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Mamba-1 selective scan over a varlen flat batch, with per-sequence SSM state.
 *
 * <p>Per sequence (state h from {@code ssmStates[slot]}, or zeros without initial state), per
 * token t, channel d, state n (all f32):
 * <pre>
 *   δ = delta[t,d] + deltaBias[d];  if deltaSoftplus: δ = softplus(δ)
 *   h[d,n] = exp(δ · A[d,n]) · h[d,n] + δ · B[t,n] · u[t,d]
 *   y = Σ_n h[d,n] · C[t,n] + Dskip[d] · u[t,d];   if z: y = y · silu(z[t,d])
 * </pre>
 * out[t,d] = y rounded once; the final h is written back to {@code ssmStates[slot]}. A is
 * {@code −exp(A_log)}, computed at load time.
 *
 * <p>u, delta, z, out: [T, D]; A: F32 [D, N]; B, C: [T, N]; Dskip, deltaBias: F32 [D] or null;
 * ssmStates: F32 [S, D, N].
 */
public record SelectiveScan(Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor Dskip, Tensor z,
        Tensor deltaBias, boolean deltaSoftplus, Tensor ssmStates, StateBatch batch, Tensor out) implements OpArgs {
    public SelectiveScan {
        String op = "selective_scan";
        Check.rank(op, "u", Check.nonNull(op, "u", u), 2);
        int t = u.dim(0), d = u.cols();
        Check.sameShape(op, "u", u, "delta", Check.nonNull(op, "delta", delta));
        Check.shape(op, "A", Check.nonNull(op, "A", A), d, -1);
        Check.dtype(op, "A", A, DType.F32);
        int n = A.dim(1);
        Check.shape(op, "B", Check.nonNull(op, "B", B), t, n);
        Check.shape(op, "C", Check.nonNull(op, "C", C), t, n);
        Check.shape(op, "Dskip", Dskip, d);
        Check.dtype(op, "Dskip", Dskip, DType.F32);
        Check.sameShape(op, "u", u, "z", z);
        Check.shape(op, "deltaBias", deltaBias, d);
        Check.dtype(op, "deltaBias", deltaBias, DType.F32);
        Check.shape(op, "ssmStates", Check.nonNull(op, "ssmStates", ssmStates), -1, d, n);
        Check.dtype(op, "ssmStates", ssmStates, DType.F32);
        Check.contiguous(op, "ssmStates", ssmStates);
        Check.that(batch != null, op, "batch must not be null");
        Check.sameShape(op, "u", u, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.SELECTIVE_SCAN;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, ssmStates);
    }
}
