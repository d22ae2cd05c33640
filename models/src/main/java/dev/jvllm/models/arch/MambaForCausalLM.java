package dev.jvllm.models.arch;

import dev.jvllm.models.IsAttentionFree;
import dev.jvllm.models.layers.MambaMixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.List;
import java.util.Set;

/**
 * Mamba-1: embeddings, then per layer {@code h += mixer(RMSNorm(h))}, a final RMSNorm and the LM
 * head. Attention-free: every layer keeps per-sequence conv and SSM state instead of a KV cache.
 * Checkpoint names: {@code backbone.embeddings}, {@code backbone.layers.N.{norm,mixer.*}},
 * {@code backbone.norm_f}, {@code lm_head}.
 */
public final class MambaForCausalLM extends ResidualStreamLM implements IsAttentionFree {

    public MambaForCausalLM(ModelContext ctx) {
        super(ctx, "backbone.embeddings", "backbone.norm_f", Norm.Kind.RMS,
                ctx.config().getDouble("layer_norm_epsilon", 1e-5), 0f);
        ModelConfig c = config;
        double eps = c.getDouble("layer_norm_epsilon", 1e-5);
        int inner = c.getInt("intermediate_size", c.getInt("expand", 2) * hidden);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "backbone.layers." + i;
            addLayer(new PreNormBlock(ctx, p, new Norm(ctx, p + ".norm", Norm.Kind.RMS, hidden, eps, false),
                    new MambaMixer(ctx, p + ".mixer", hidden, inner, c.getInt("state_size", 16), c.getInt("conv_kernel", 4),
                            dtRank(c, "time_step_rank"), c.getBoolean("use_bias", false),
                            c.getBoolean("use_conv_bias", true)), null, null));
        }
    }

    /** The dt rank: an integer, or "auto" (also when absent) = ceil(hidden / 16). */
    static int dtRank(ModelConfig c, String key) {
        int auto = (c.hiddenSize() + 15) / 16;
        try {
            return c.getInt(key, auto);
        } catch (IllegalArgumentException notAnInt) {
            if ("auto".equals(c.getString(key, "auto"))) {
                return auto;
            }
            throw notAnInt;
        }
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, List.of(), this::skipTiedHead);
    }
}
