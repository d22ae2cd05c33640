package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code out = a (+|×) b}, elementwise. a, out: [.., C]; b: the shape of a, or [C] broadcast over
 * every row (bias add, per-channel scaling). Computed in f32 from exact conversions of the inputs,
 * rounded once to out's dtype. {@code out} may be {@code a} itself (in place).
 */
public record Binary(Op op, Tensor a, Tensor b, Tensor out) implements OpArgs {
    /** The elementwise operation. */
    public enum Op { ADD, MUL }

    public Binary {
        Check.that(op != null, "binary", "op must not be null");
        Check.nonNull("binary", "a", a);
        Check.nonNull("binary", "b", b);
        Check.nonNull("binary", "out", out);
        Check.sameShape("binary", "a", a, "out", out);
        boolean rowBroadcast = b.rank() == 1 && b.dim(0) == a.cols();
        Check.that(rowBroadcast || java.util.Arrays.equals(a.shape(), b.shape()), "binary",
                "b " + b.describe() + " must have the shape of a " + a.describe() + " or be [" + a.cols() + "]");
    }

    /** True when b is one row broadcast over every row of a. */
    public boolean broadcastsB() {
        return b.rank() == 1 && a.rank() > 1;
    }

    @Override
    public OpKind kind() {
        return OpKind.BINARY;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
