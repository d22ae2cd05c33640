package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code dst = src}, element by element; same dtype and shape, either may be a strided view.
 * Bit-exact.
 */
public record Copy(Tensor src, Tensor dst) implements OpArgs {
    public Copy {
        Check.nonNull("copy", "src", src);
        Check.nonNull("copy", "dst", dst);
        Check.sameShape("copy", "src", src, "dst", dst);
        Check.that(src.dtype() == dst.dtype(), "copy", "dtypes differ: src " + src.describe() + ", dst "
                + dst.describe() + " (use cast)");
    }

    @Override
    public OpKind kind() {
        return OpKind.COPY;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(dst);
    }
}
