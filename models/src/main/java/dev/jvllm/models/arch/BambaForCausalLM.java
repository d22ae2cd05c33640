package dev.jvllm.models.arch;

import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.MambaMixer2;
import dev.jvllm.models.layers.Mixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.List;
import java.util.Set;

/**
 * Bamba: Mamba-2 mixers ({@code mamba}) with GQA attention at {@code attn_layer_indices} (partial
 * rotary), each layer followed by a SiLU-gated MLP ({@code feed_forward}); pre-norms
 * {@code input_layernorm} and {@code pre_ff_layernorm}, final {@code final_layernorm}. The gated
 * norm spans all channels, as transformers computes it.
 */
public final class BambaForCausalLM extends ResidualStreamLM implements IsHybrid {

    public BambaForCausalLM(ModelContext ctx) {
        super(ctx, "model.embed_tokens", "model.final_layernorm", Norm.Kind.RMS, ctx.config().normEps(), 0f);
        ModelConfig c = config;
        List<Integer> attn = c.getIntList("attn_layer_indices");
        float[] limit = Mamba2ForCausalLM.timeStepLimit(c);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i;
            Mixer mixer;
            if (attn.contains(i)) {
                mixer = new SelfAttention(ctx, p + ".self_attn", c.attentionBias(), c.attentionBias(), null, null, "o_proj", 0);
            } else {
                int heads = c.getInt("mamba_n_heads", 128);
                mixer = new MambaMixer2(ctx, p + ".mamba", hidden, heads,
                        c.getInt("mamba_d_head", c.getInt("mamba_expand", 2) * hidden / heads),
                        c.getInt("mamba_n_groups", 1), c.getInt("mamba_d_state", 256), c.getInt("mamba_d_conv", 4),
                        c.getInt("mamba_chunk_size", 256), limit[0], limit[1], c.getBoolean("mamba_proj_bias", false),
                        c.getBoolean("mamba_conv_bias", true), c.normEps(), false);
            }
            addLayer(new PreNormBlock(ctx, p, LlamaForCausalLM.rmsNorm(ctx, p + ".input_layernorm"), mixer,
                    LlamaForCausalLM.rmsNorm(ctx, p + ".pre_ff_layernorm"), new LlamaForCausalLM.Mlp(ctx,
                            p + ".feed_forward", hidden, c.intermediateSize(), c.mlpBias(), "down_proj")));
        }
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, LlamaForCausalLM.STACKED,
                n -> n.contains("rotary_emb.") || skipTiedHead(n));
    }
}
