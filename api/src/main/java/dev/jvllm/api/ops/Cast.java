package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code dst = (dst.dtype) src} between F32, F16, BF16 (and F8_E4M3 as a destination of saturating
 * round-to-nearest-even). Narrowing rounds to nearest, ties to even; NaN stays NaN; overflow to
 * F16 gives ±Inf, to F8_E4M3 saturates at ±448. Widening is exact. Same shape; views allowed.
 */
public record Cast(Tensor src, Tensor dst) implements OpArgs {
    public Cast {
        Check.nonNull("cast", "src", src);
        Check.nonNull("cast", "dst", dst);
        Check.sameShape("cast", "src", src, "dst", dst);
    }

    @Override
    public OpKind kind() {
        return OpKind.CAST;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(dst);
    }
}
