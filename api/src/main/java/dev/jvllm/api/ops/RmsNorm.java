package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * RMSNorm with an optional fused residual add, per row of H elements.
 *
 * <p>Without residual: {@code out = cast(x / sqrt(mean(x²) + eps)) · w}. With residual:
 * {@code r = x + residual} (in f32, then rounded to residualOut's dtype and stored in residualOut),
 * and the rounded r is normalized. Cast order (vLLM's {@code forward_native}): the mean of squares
 * is accumulated in f32, the normalized value {@code x · rsqrt(ms + eps)} is formed in f32; for the
 * Llama form ({@code gemma == false}) it is rounded to x's dtype, converted back, multiplied by w in
 * f32 and rounded to out's dtype; for Gemma ({@code gemma == true}) it is multiplied by
 * {@code (1 + w)} in f32 and rounded once.
 *
 * <p>x, out: [T, H]; weight: [H]; residual, residualOut: [T, H] or both null. residualOut may be
 * residual itself and out may be x (in place).
 */
public record RmsNorm(Tensor x, Tensor weight, Tensor residual, Tensor out, Tensor residualOut, float eps,
        boolean gemma) implements OpArgs {
    public RmsNorm {
        Check.rank("rms_norm", "x", Check.nonNull("rms_norm", "x", x), 2);
        Check.shape("rms_norm", "weight", Check.nonNull("rms_norm", "weight", weight), x.cols());
        Check.sameShape("rms_norm", "x", x, "out", Check.nonNull("rms_norm", "out", out));
        Check.that((residual == null) == (residualOut == null), "rms_norm",
                "residual and residualOut must be both given or both null");
        Check.sameShape("rms_norm", "x", x, "residual", residual);
        Check.sameShape("rms_norm", "x", x, "residualOut", residualOut);
        Check.that(eps >= 0, "rms_norm", "eps must be >= 0, got " + eps);
    }

    @Override
    public OpKind kind() {
        return OpKind.RMS_NORM;
    }

    @Override
    public List<Tensor> outputs() {
        return residualOut == null ? List.of(out) : List.of(out, residualOut);
    }
}
