package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * LFM2's short convolution block between in_proj and out_proj, over a varlen flat batch.
 *
 * <p>bcx: [T, 3C] holds B, C and x in that order (the chunks of in_proj's output). Per token:
 * {@code Bx = B ⊙ x} (f32, rounded to bcx's dtype), then the depthwise causal conv of Bx with
 * state, exactly as {@link CausalConv1d} without activation, then {@code out = C ⊙ conv}. The conv
 * state holds the last K−1 values of Bx. out: [T, C]; weight: [C, K]; bias: [C] or null;
 * convStates: [S, K−1, C].
 */
public record ShortConv(Tensor bcx, Tensor weight, Tensor bias, Tensor convStates, StateBatch batch, Tensor out)
        implements OpArgs {
    public ShortConv {
        String op = "short_conv";
        Check.rank(op, "bcx", Check.nonNull(op, "bcx", bcx), 2);
        Check.that(bcx.cols() % 3 == 0, op, "bcx " + bcx.describe() + " must have 3*C columns");
        int c = bcx.cols() / 3;
        Check.rank(op, "weight", Check.nonNull(op, "weight", weight), 2);
        Check.shape(op, "weight", weight, c, -1);
        int k = weight.dim(1);
        Check.that(k >= 2, op, "kernel width must be >= 2, got " + k);
        Check.shape(op, "bias", bias, c);
        Check.shape(op, "convStates", Check.nonNull(op, "convStates", convStates), -1, k - 1, c);
        Check.contiguous(op, "convStates", convStates);
        Check.that(batch != null, op, "batch must not be null");
        Check.shape(op, "out", Check.nonNull(op, "out", out), bcx.dim(0), c);
    }

    @Override
    public OpKind kind() {
        return OpKind.SHORT_CONV;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out, convStates);
    }
}
