package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/** Every element of {@code dst} = {@code value} converted to dst's dtype (as {@link Cast} rounds; integers truncate). */
public record Fill(Tensor dst, double value) implements OpArgs {
    public Fill {
        Check.nonNull("fill", "dst", dst);
    }

    @Override
    public OpKind kind() {
        return OpKind.FILL;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(dst);
    }
}
