package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code out[t, j] = f(x[t, j]) · x[t, N + j]} for j &lt; N: vLLM's {@code silu_and_mul} /
 * {@code gelu_and_mul} over a fused [gate | up] projection. x: [T, 2N]; out: [T, N]. The product is
 * formed in f32 and rounded once. fn is SILU, GELU_ERF, GELU_TANH or RELU.
 */
public record GatedActivation(ActivationKind fn, Tensor x, Tensor out) implements OpArgs {
    public GatedActivation {
        Check.that(fn != null, "gated_activation", "fn must not be null");
        Check.rank("gated_activation", "x", Check.nonNull("gated_activation", "x", x), 2);
        Check.that(x.cols() % 2 == 0, "gated_activation", "x " + x.describe() + " must have an even last dimension");
        Check.shape("gated_activation", "out", Check.nonNull("gated_activation", "out", out), x.dim(0), x.cols() / 2);
    }

    @Override
    public OpKind kind() {
        return OpKind.GATED_ACTIVATION;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
