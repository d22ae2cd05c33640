package dev.jvllm.models.arch;

import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.FeedForward;
import dev.jvllm.models.layers.MambaMixer;
import dev.jvllm.models.layers.Mixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.SparseMoeBlock;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.Set;

/**
 * Jamba: Mamba-1 mixers (with RMSNorms of dt, B and C) and, every {@code attn_layer_period} layers
 * from {@code attn_layer_offset}, GQA attention without positional encoding; the feed-forward is
 * a mixture of experts every {@code expert_layer_period} layers from {@code expert_layer_offset}
 * (router {@code router}, top-k softmax without renormalization) and a gated MLP elsewhere.
 */
public final class JambaForCausalLM extends ResidualStreamLM implements IsHybrid {

    public JambaForCausalLM(ModelContext ctx) {
        super(ctx, "model.embed_tokens", "model.final_layernorm", Norm.Kind.RMS, ctx.config().normEps(), 0f);
        ModelConfig c = config;
        int attnPeriod = c.getInt("attn_layer_period", 8), attnOffset = c.getInt("attn_layer_offset", 4);
        int expertPeriod = c.getInt("expert_layer_period", 2), expertOffset = c.getInt("expert_layer_offset", 1);
        int experts = c.getInt("num_experts", 16);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i;
            Mixer mixer = i % attnPeriod == attnOffset
                    ? new SelfAttention(ctx, p + ".self_attn", false, false, null, null, "o_proj", 0, false)
                    : new MambaMixer(ctx, p + ".mamba", hidden, c.getInt("mamba_expand", 2) * hidden,
                            c.getInt("mamba_d_state", 16), c.getInt("mamba_d_conv", 4),
                            MambaForCausalLM.dtRank(c, "mamba_dt_rank"), c.getBoolean("mamba_proj_bias", false),
                            c.getBoolean("mamba_conv_bias", true), c.normEps());
            FeedForward ffn = experts > 1 && i % expertPeriod == expertOffset
                    ? new SparseMoeBlock(ctx, p + ".feed_forward", "router", experts, c.getInt("num_experts_per_tok", 2),
                            hidden, c.intermediateSize(), false, "gate_proj", "up_proj", "down_proj", false)
                    : new LlamaForCausalLM.Mlp(ctx, p + ".feed_forward", hidden, c.intermediateSize(), false, "down_proj");
            addLayer(new PreNormBlock(ctx, p, LlamaForCausalLM.rmsNorm(ctx, p + ".input_layernorm"), mixer,
                    LlamaForCausalLM.rmsNorm(ctx, p + ".pre_ff_layernorm"), ffn));
        }
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, LlamaForCausalLM.STACKED, this::skipTiedHead);
    }
}
