package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code out = f(x)} elementwise for one {@link ActivationKind}, computed in f32 and rounded once to
 * out's dtype; out may be x. {@code param} is the cap for {@link ActivationKind#TANH_SOFTCAP}
 * ({@code cap · tanh(x / cap)}) and ignored otherwise.
 */
public record Activation(ActivationKind fn, Tensor x, Tensor out, float param) implements OpArgs {
    public Activation {
        Check.that(fn != null, "activation", "fn must not be null");
        Check.nonNull("activation", "x", x);
        Check.nonNull("activation", "out", out);
        Check.sameShape("activation", "x", x, "out", out);
        Check.that(fn != ActivationKind.TANH_SOFTCAP || param > 0, "activation",
                "tanh_softcap needs a cap > 0, got " + param);
    }

    @Override
    public OpKind kind() {
        return OpKind.ACTIVATION;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
