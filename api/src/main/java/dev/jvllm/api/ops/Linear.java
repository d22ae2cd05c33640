package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code out = x · Wᵀ + bias}. x: [T, K]; W: N×K in one of the {@link LinearWeight} formats;
 * bias: [N] or null; out: [T, N].
 *
 * <p>Numerics: each output element is a dot product of K terms accumulated in f32 from exact
 * conversions of x and the (dequantized) weight, then the bias (converted to f32) is added, then
 * the result is rounded once to out's dtype. The summation order is the backend's; results are
 * compared with an NMSE tolerance. The CPU reference fixes its order so that results do not depend
 * on the thread count.
 */
public record Linear(Tensor x, LinearWeight weight, Tensor bias, Tensor out) implements OpArgs {
    public Linear {
        Check.rank("linear", "x", Check.nonNull("linear", "x", x), 2);
        Check.dtype("linear", "x", x, Check.FLOATS);
        Check.dtype("linear", "out", out, Check.FLOATS);
        Check.dtype("linear", "bias", bias, Check.FLOATS);
        Check.that(weight != null, "linear", "weight must not be null");
        Check.that(x.cols() == weight.inFeatures(), "linear", "x " + x.describe() + " has K=" + x.cols()
                + " but the weight is " + weight.outFeatures() + "x" + weight.inFeatures());
        Check.shape("linear", "bias", bias, weight.outFeatures());
        Check.shape("linear", "out", Check.nonNull("linear", "out", out), x.dim(0), weight.outFeatures());
    }

    @Override
    public OpKind kind() {
        return OpKind.LINEAR;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
