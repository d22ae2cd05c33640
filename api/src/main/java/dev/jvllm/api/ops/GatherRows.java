package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code dst[i, :] = src[indices[i], :]}; e.g. the last token of each sequence before the LM head.
 * src: [R, C]; indices: I32 [n], each in [0, R); dst: [n, C], same dtype. Bit-exact.
 */
public record GatherRows(Tensor src, Tensor indices, Tensor dst) implements OpArgs {
    public GatherRows {
        Check.rank("gather_rows", "src", Check.nonNull("gather_rows", "src", src), 2);
        Check.rank("gather_rows", "indices", Check.nonNull("gather_rows", "indices", indices), 1);
        Check.dtype("gather_rows", "indices", indices, DType.I32);
        Check.shape("gather_rows", "dst", Check.nonNull("gather_rows", "dst", dst), indices.dim(0), src.dim(1));
        Check.that(src.dtype() == dst.dtype(), "gather_rows", "src and dst dtypes differ");
    }

    @Override
    public OpKind kind() {
        return OpKind.GATHER_ROWS;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(dst);
    }
}
