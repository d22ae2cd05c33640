package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Depthwise causal conv1d over a varlen flat batch, with per-sequence conv state (Mamba-1/2).
 *
 * <p>For sequence b (tokens x_0..x_{L−1} of {@link StateBatch}), let {@code s} be its K−1 previous
 * inputs ({@code convStates[slot]}, oldest first; zeros when it has no initial state) and
 * {@code e = [s; x]}. Then {@code out_t[c] = bias[c] + Σ_{i<K} weight[c, i] · e[t + i][c]} (weight
 * column K−1 multiplies the current token), optionally {@code silu}, in f32, rounded once. The
 * last K−1 rows of e are written back to {@code convStates[slot]} (converted to its dtype).
 *
 * <p>x, out: [T, C]; weight: [C, K]; bias: [C] or null; convStates: [S, K−1, C].
 */
public record CausalConv1d(Tensor x, Tensor weight, Tensor bias, Tensor convStates, StateBatch batch, boolean silu,
        Tensor out) implements OpArgs {
    public CausalConv1d {
        String op = "causal_conv1d";
        Check.rank(op, "x", Check.nonNull(op, "x", x), 2);
        Check.rank(op, "weight", Check.nonNull(op, "weight", weight), 2);
        int c = x.cols(), k = weight.dim(1);
        Check.shape(op, "weight", weight, c, -1);
        Check.that(k >= 2, op, "kernel width must be >= 2, got " + k);
        Check.shape(op, "bias", bias, c);
        Check.shape(op, "convStates", Check.nonNull(op, "convStates", convStates), -1, k - 1, c);
        Check.contiguous(op, "convStates", convStates);
        Check.that(batch != null, op, "batch must not be null");
        Check.sameShape(op, "x", x, "out", Check.nonNull(op, "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.CAUSAL_CONV1D;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, convStates);
    }
}
