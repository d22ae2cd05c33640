package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/** {@code out = x · factor}, computed in f32, rounded once to out's dtype; out may be x (in place). */
public record Scale(Tensor x, float factor, Tensor out) implements OpArgs {
    public Scale {
        Check.nonNull("scale", "x", x);
        Check.nonNull("scale", "out", out);
        Check.sameShape("scale", "x", x, "out", out);
    }

    @Override
    public OpKind kind() {
        return OpKind.SCALE;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
