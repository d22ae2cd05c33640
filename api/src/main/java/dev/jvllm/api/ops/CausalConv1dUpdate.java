package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * One decode step of {@link CausalConv1d}: sequence b has exactly one new token {@code x[b]} and
 * always continues from {@code convStates[stateIndices[b]]} (slot −1 = padding, skipped). Same math
 * and state layout as {@link CausalConv1d} with L = 1.
 *
 * <p>x, out: [B, C]; weight: [C, K]; bias: [C] or null; convStates: [S, K−1, C]; stateIndices: I32 [B].
 */
public record CausalConv1dUpdate(Tensor x, Tensor weight, Tensor bias, Tensor convStates, Tensor stateIndices,
        boolean silu, Tensor out) implements OpArgs {
    public CausalConv1dUpdate {
        String op = "causal_conv1d_update";
        Check.rank(op, "x", Check.nonNull(op, "x", x), 2);
        Check.rank(op, "weight", Check.nonNull(op, "weight", weight), 2);
        int c = x.cols(), k = weight.dim(1);
        Check.shape(op, "weight", weight, c, -1);
        Check.that(k >= 2, op, "kernel width must be >= 2, got " + k);
        Check.shape(op, "bias", bias, c);
        Check.shape(op, "convStates", Check.nonNull(op, "convStates", convStates), -1, k - 1, c);
        Check.contiguous(op, "convStates", convStates);
        Check.shape(op, "stateIndices", Check.nonNull(op, "stateIndices", stateIndices), x.dim(0));
        Check.dtype(op, "stateIndices", stateIndices, DType.I32);
        Check.sameShape(op, "x", x, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.CAUSAL_CONV1D_UPDATE;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, convStates);
    }
}
