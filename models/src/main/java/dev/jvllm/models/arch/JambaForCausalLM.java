package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.FusedMoE;
import dev.jvllm.models.layers.LogitsProcessor;
import dev.jvllm.models.layers.MambaMixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ParallelLMHead;
import dev.jvllm.models.layers.ReplicatedLinear;
import dev.jvllm.models.layers.VocabParallelEmbedding;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Jamba: Mamba-1 mixers (with RMSNorms of dt, B and C) and, every {@code attn_layer_period} layers
 * from {@code attn_layer_offset}, GQA attention without positional encoding; the feed-forward is
 * a mixture of experts every {@code expert_layer_period} layers from {@code expert_layer_offset}
 * (router {@code router}, top-k softmax without renormalization) and a gated MLP elsewhere.
 */
public final class JambaForCausalLM extends Module implements CausalLM, IsHybrid {
    private final int hidden;
    private final VocabParallelEmbedding embedTokens;
    private final List<Layer> layers = new ArrayList<>();
    private final Norm finalNorm;
    private final ParallelLMHead lmHead;
    private final LogitsProcessor logits;
    private final boolean tied;

    public JambaForCausalLM(ModelContext ctx) {
        super(ctx, "");
        ModelConfig c = ctx.config();
        hidden = c.hiddenSize();
        embedTokens = add(new VocabParallelEmbedding(ctx, "model.embed_tokens", c.vocabSize(), hidden));
        int attnPeriod = c.getInt("attn_layer_period", 8), attnOffset = c.getInt("attn_layer_offset", 4);
        int expertPeriod = c.getInt("expert_layer_period", 2), expertOffset = c.getInt("expert_layer_offset", 1);
        int experts = c.getInt("num_experts", 16);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            boolean attention = i % attnPeriod == attnOffset;
            boolean moe = experts > 1 && i % expertPeriod == expertOffset;
            layers.add(add(new Layer(ctx, "model.layers." + i, attention, moe)));
        }
        finalNorm = add(new Norm(ctx, "model.final_layernorm", Norm.Kind.RMS, hidden, c.normEps(), false));
        tied = c.tieWordEmbeddings();
        lmHead = tied ? ParallelLMHead.tied(ctx, "lm_head", embedTokens)
                : add(new ParallelLMHead(ctx, "lm_head", c.vocabSize(), hidden));
        logits = new LogitsProcessor(ctx, 0f, 1f);
    }

    @Override
    public ModelContext context() {
        return ctx;
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, LlamaForCausalLM.STACKED, n -> tied && n.equals("lm_head.weight"));
    }

    @Override
    public Tensor forward(Tensor ids, ForwardContext fc) {
        Backend b = ctx.backend();
        int t = ids.dim(0);
        DType dt = ctx.activationDType();
        Tensor out = b.allocate(dt, t, hidden);
        try (Workspace ws = new Workspace(b)) {
            Tensor residual = ws.allocate(dt, t, hidden);
            Tensor x = ws.allocate(dt, t, hidden);
            Tensor normed = ws.allocate(dt, t, hidden);
            embedTokens.forward(ids, residual);
            for (Layer layer : layers) {
                layer.forward(x, residual, normed, fc, ws);
            }
            finalNorm.forwardResidual(x, residual, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    @Override
    public Tensor computeLogits(Tensor hiddenRows) {
        return logits.compute(lmHead, hiddenRows);
    }

    private static final class Layer extends Module {
        final Norm inputNorm;
        final Norm preFfNorm;
        final SelfAttention attn;
        final MambaMixer mamba;
        final LlamaForCausalLM.Mlp mlp;
        final ReplicatedLinear router;
        final FusedMoE moe;

        Layer(ModelContext ctx, String prefix, boolean attention, boolean moeLayer) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int h = c.hiddenSize();
            inputNorm = add(new Norm(ctx, join(prefix, "input_layernorm"), Norm.Kind.RMS, h, c.normEps(), false));
            if (attention) {
                attn = add(new SelfAttention(ctx, join(prefix, "self_attn"), false, false, null, null, "o_proj", 0, false));
                mamba = null;
            } else {
                attn = null;
                int dtRank = (h + 15) / 16;
                try {
                    dtRank = c.getInt("mamba_dt_rank", dtRank);
                } catch (IllegalArgumentException auto) { // "auto"
                }
                mamba = add(new MambaMixer(ctx, join(prefix, "mamba"), h, c.getInt("mamba_expand", 2) * h,
                        c.getInt("mamba_d_state", 16), c.getInt("mamba_d_conv", 4), dtRank,
                        c.getBoolean("mamba_proj_bias", false), c.getBoolean("mamba_conv_bias", true), c.normEps()));
            }
            preFfNorm = add(new Norm(ctx, join(prefix, "pre_ff_layernorm"), Norm.Kind.RMS, h, c.normEps(), false));
            String ff = join(prefix, "feed_forward");
            if (moeLayer) {
                int experts = c.getInt("num_experts", 16);
                router = add(new ReplicatedLinear(ctx, join(ff, "router"), h, experts, false));
                moe = add(new FusedMoE(ctx, ff, experts, c.getInt("num_experts_per_tok", 2), h, c.intermediateSize(),
                        false, ActivationKind.SILU, "gate_proj", "up_proj", "down_proj"));
                mlp = null;
            } else {
                router = null;
                moe = null;
                mlp = add(new LlamaForCausalLM.Mlp(ctx, ff, h, c.intermediateSize(), false, "down_proj"));
            }
        }

        void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws) {
            inputNorm.forwardResidual(x, residual, normed);
            if (attn != null) {
                attn.forward(normed, x, fc, ws);
            } else {
                mamba.forward(normed, x, fc, ws);
            }
            preFfNorm.forwardResidual(x, residual, normed);
            if (moe != null) {
                Tensor routerLogits = ws.allocate(DType.F32, x.dim(0), moe.numExperts());
                router.forward(normed, routerLogits);
                moe.forward(normed, routerLogits, x, ws);
            } else {
                mlp.forward(normed, x, ws);
            }
        }
    }
}
