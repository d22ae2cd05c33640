package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code out = (x - mean) / sqrt(var + eps) · w + b} per row (biased variance), mean and variance
 * accumulated in f32, the affine step in f32, rounded once. x, out: [T, H]; weight: [H]; bias: [H]
 * or null.
 */
public record LayerNorm(Tensor x, Tensor weight, Tensor bias, Tensor out, float eps) implements OpArgs {
    public LayerNorm {
        Check.rank("layer_norm", "x", Check.nonNull("layer_norm", "x", x), 2);
        Check.shape("layer_norm", "weight", Check.nonNull("layer_norm", "weight", weight), x.cols());
        Check.shape("layer_norm", "bias", bias, x.cols());
        Check.sameShape("layer_norm", "x", x, "out", Check.nonNull("layer_norm", "out", out));
    }

    @Override
    public OpKind kind() {
        return OpKind.LAYER_NORM;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
