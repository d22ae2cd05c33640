package dev.jvllm.models.arch;

import dev.jvllm.models.IsAttentionFree;
import dev.jvllm.models.layers.MambaMixer2;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.List;
import java.util.Set;

/**
 * Mamba-2: Mamba-1's residual structure ({@code h += mixer(RMSNorm(h))}) with the SSD mixer.
 * Names: {@code backbone.embeddings}, {@code backbone.layers.N.{norm,mixer.*}}, {@code backbone.norm_f}.
 */
public final class Mamba2ForCausalLM extends ResidualStreamLM implements IsAttentionFree {

    public Mamba2ForCausalLM(ModelContext ctx) {
        super(ctx, "backbone.embeddings", "backbone.norm_f", Norm.Kind.RMS,
                ctx.config().getDouble("layer_norm_epsilon", 1e-5), 0f);
        ModelConfig c = config;
        double eps = c.getDouble("layer_norm_epsilon", 1e-5);
        float[] limit = timeStepLimit(c);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "backbone.layers." + i;
            addLayer(new PreNormBlock(ctx, p, new Norm(ctx, p + ".norm", Norm.Kind.RMS, hidden, eps, false),
                    new MambaMixer2(ctx, p + ".mixer", hidden, c.getInt("num_heads", 128), c.getInt("head_dim", 64),
                            c.getInt("n_groups", 1), c.getInt("state_size", 128), c.getInt("conv_kernel", 4),
                            c.getInt("chunk_size", 256), limit[0], limit[1], c.getBoolean("use_bias", false),
                            c.getBoolean("use_conv_bias", true), eps, false), null, null));
        }
    }

    /** {@code time_step_limit} [min, max] (default (0, +Inf): no clamp). */
    static float[] timeStepLimit(ModelConfig c) {
        List<Double> l = c.has("time_step_limit") ? c.getDoubleList("time_step_limit")
                : List.of(0.0, Double.POSITIVE_INFINITY);
        return new float[] {l.get(0).floatValue(), l.get(1).floatValue()};
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, List.of(), this::skipTiedHead);
    }
}
