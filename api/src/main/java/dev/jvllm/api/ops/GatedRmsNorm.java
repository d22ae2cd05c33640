package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Mamba-2's grouped gated RMSNorm ({@code RMSNormGated}). Per row, per group of {@code groupSize}
 * channels: with {@code normBeforeGate == false} (Mamba-2/Bamba), {@code g = x · silu(z)} then
 * {@code out = g / sqrt(mean_group(g²) + eps) · w}; with {@code normBeforeGate == true},
 * {@code out = (x / sqrt(mean_group(x²) + eps) · w) · silu(z)}. All in f32, rounded once.
 * x, z, out: [T, D]; weight: [D]; D divisible by groupSize.
 */
public record GatedRmsNorm(Tensor x, Tensor z, Tensor weight, Tensor out, int groupSize, float eps,
        boolean normBeforeGate) implements OpArgs {
    public GatedRmsNorm {
        Check.rank("gated_rms_norm", "x", Check.nonNull("gated_rms_norm", "x", x), 2);
        Check.sameShape("gated_rms_norm", "x", x, "z", Check.nonNull("gated_rms_norm", "z", z));
        Check.shape("gated_rms_norm", "weight", Check.nonNull("gated_rms_norm", "weight", weight), x.cols());
        Check.sameShape("gated_rms_norm", "x", x, "out", Check.nonNull("gated_rms_norm", "out", out));
        Check.positive("gated_rms_norm", "groupSize", groupSize);
        Check.that(x.cols() % groupSize == 0, "gated_rms_norm",
                "D=" + x.cols() + " is not divisible by groupSize=" + groupSize);
    }

    @Override
    public OpKind kind() {
        return OpKind.GATED_RMS_NORM;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(out);
    }
}
