package dev.jvllm.models.arch;

import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.Mixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ShortConv;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * LFM2: a hybrid of short-convolution layers and GQA attention layers ({@code layer_types}
 * {@code conv} / {@code full_attention}; older configs list {@code full_attn_idxs}), each followed
 * by a SiLU-gated MLP ({@code w1} gate, {@code w3} up, {@code w2} down). Attention normalizes each
 * head of q and k ({@code q_layernorm}, {@code k_layernorm}). The final norm is named
 * {@code embedding_norm}.
 */
public final class Lfm2ForCausalLM extends ResidualStreamLM implements IsHybrid {
    private static final List<WeightLoading.Stacked> STACKED = List.of(
            new WeightLoading.Stacked(".qkv_proj", ".q_proj", "q"),
            new WeightLoading.Stacked(".qkv_proj", ".k_proj", "k"),
            new WeightLoading.Stacked(".qkv_proj", ".v_proj", "v"),
            new WeightLoading.Stacked(".feed_forward.gate_up_proj.", ".feed_forward.w1.", 0),
            new WeightLoading.Stacked(".feed_forward.gate_up_proj.", ".feed_forward.w3.", 1));

    public Lfm2ForCausalLM(ModelContext ctx) {
        super(ctx, "model.embed_tokens", "model.embedding_norm", Norm.Kind.RMS, ctx.config().getDouble("norm_eps", 1e-5),
                0f);
        ModelConfig c = config;
        double eps = c.getDouble("norm_eps", 1e-5);
        List<String> types = layerTypes(c);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "model.layers." + i;
            Mixer mixer = types.get(i).equals("full_attention")
                    ? new SelfAttention(ctx, p + ".self_attn", false, false, "q_layernorm", "k_layernorm", "out_proj", 0)
                    : new ShortConv(ctx, p + ".conv", hidden, c.getInt("conv_L_cache", 3), c.getBoolean("conv_bias", false));
            addLayer(new PreNormBlock(ctx, p, new Norm(ctx, p + ".operator_norm", Norm.Kind.RMS, hidden, eps, false), mixer,
                    new Norm(ctx, p + ".ffn_norm", Norm.Kind.RMS, hidden, eps, false),
                    new LlamaForCausalLM.Mlp(ctx, p + ".feed_forward", hidden, c.intermediateSize(), false, "w2")));
        }
    }

    static List<String> layerTypes(ModelConfig c) {
        List<String> types = c.layerTypes();
        if (!types.isEmpty()) {
            return types;
        }
        List<Integer> attn = c.getIntList("full_attn_idxs");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            out.add(attn.contains(i) ? "full_attention" : "conv");
        }
        return out;
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, STACKED, this::skipTiedHead);
    }
}
