package dev.jvllm.models.arch;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.models.layers.FeedForward;
import dev.jvllm.models.layers.MergedColumnParallelLinear;
import dev.jvllm.models.layers.Mixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.RowParallelLinear;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.List;
import java.util.Set;

/**
 * Llama (and Mistral, which vLLM serves with the same class): pre-norm decoder layers of
 * GQA attention with rotary embeddings and a SiLU-gated MLP, RMSNorm with fused residual adds.
 *
 * <p>Subclasses change only what their architecture changes: Qwen2 (q/k/v bias), Qwen3 (per-head
 * q/k RMSNorm), Phi-3 (q/k/v and gate/up fused on disk), Mixtral (a mixture of experts for the
 * MLP). Checkpoint names: {@code model.embed_tokens}, {@code model.layers.N.self_attn.{q,k,v,o}_proj},
 * {@code model.layers.N.mlp.{gate,up,down}_proj}, {@code model.layers.N.{input,post_attention}_layernorm},
 * {@code model.norm}, {@code lm_head}.
 */
public class LlamaForCausalLM extends ResidualStreamLM {
    /** q/k/v → qkv_proj, gate/up → gate_up_proj (vLLM's stacked_params_mapping). */
    protected static final List<WeightLoading.Stacked> STACKED = List.of(
            new WeightLoading.Stacked(".qkv_proj", ".q_proj", "q"),
            new WeightLoading.Stacked(".qkv_proj", ".k_proj", "k"),
            new WeightLoading.Stacked(".qkv_proj", ".v_proj", "v"),
            new WeightLoading.Stacked(".gate_up_proj", ".gate_proj", 0),
            new WeightLoading.Stacked(".gate_up_proj", ".up_proj", 1));

    public LlamaForCausalLM(ModelContext ctx) {
        super(ctx, "model.embed_tokens", "model.norm", Norm.Kind.RMS, ctx.config().normEps(), 0f);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i;
            addLayer(new PreNormBlock(ctx, p, rmsNorm(ctx, p + ".input_layernorm"), attention(ctx, p + ".self_attn", i),
                    rmsNorm(ctx, p + ".post_attention_layernorm"), feedForward(ctx, p, i)));
        }
    }

    static Norm rmsNorm(ModelContext ctx, String prefix) {
        ModelConfig c = ctx.config();
        return new Norm(ctx, prefix, Norm.Kind.RMS, c.hiddenSize(), c.normEps(), false);
    }

    // ---- architecture hooks ----

    /** Whether q/k/v projections have a bias (Llama: config attention_bias; Qwen2: always). */
    protected boolean qkvBias() {
        return config.attentionBias();
    }

    /** Whether o_proj has a bias. */
    protected boolean oBias() {
        return config.attentionBias();
    }

    /** Whether each head of q and k is RMS-normalized before rotary (Qwen3). */
    protected boolean qkNorm() {
        return false;
    }

    /** The sliding window of layer i, 0 for full attention. */
    protected int slidingWindow(int layer) {
        return config.slidingWindow().orElse(0);
    }

    /** Layer i's attention. */
    protected Mixer attention(ModelContext ctx, String prefix, int layer) {
        return new SelfAttention(ctx, prefix, qkvBias(), oBias(), qkNorm() ? "q_norm" : null,
                qkNorm() ? "k_norm" : null, "o_proj", slidingWindow(layer));
    }

    /** The feed-forward block of layer i (Mixtral swaps in a mixture of experts). */
    protected FeedForward feedForward(ModelContext ctx, String layerPrefix, int layer) {
        ModelConfig c = ctx.config();
        return new Mlp(ctx, layerPrefix + ".mlp", c.hiddenSize(), c.intermediateSize(), c.mlpBias(), "down_proj");
    }

    /** The checkpoint names the loader ignores: rotary buffers and a tied head. */
    protected boolean skipWeight(String name) {
        return name.contains("rotary_emb.inv_freq") || name.contains("rotary_emb.cos_cached")
                || name.contains("rotary_emb.sin_cached") || skipTiedHead(name);
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, STACKED, this::skipWeight);
    }

    /** gate_up → SiLU(gate)·up → down ({@code gate_up_proj} is loaded from the stacked gate and up tensors). */
    protected static final class Mlp extends Module implements FeedForward {
        final MergedColumnParallelLinear gateUp;
        final RowParallelLinear down;
        final int inter;

        /** @param downName the down projection's name ({@code down_proj}; LFM2: {@code w2}) */
        Mlp(ModelContext ctx, String prefix, int hidden, int intermediate, boolean bias, String downName) {
            super(ctx, prefix);
            gateUp = add(new MergedColumnParallelLinear(ctx, join(prefix, "gate_up_proj"), hidden,
                    new int[] {intermediate, intermediate}, bias));
            down = add(new RowParallelLinear(ctx, join(prefix, downName), intermediate, hidden, bias, true));
            inter = gateUp.outFeatures() / 2;
        }

        @Override
        public void forward(Tensor x, Tensor out, Workspace ws) {
            int t = x.dim(0);
            Tensor gu = ws.allocateUninitialized(x.dtype(), t, 2 * inter); // outputs written whole
            gateUp.forward(x, gu);
            Tensor act = ws.allocateUninitialized(x.dtype(), t, inter);
            ctx.backend().gatedActivation(new GatedActivation(ActivationKind.SILU, gu, act));
            down.forward(act, out);
        }
    }
}
