package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.LogitsProcessor;
import dev.jvllm.models.layers.MambaMixer2;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ParallelLMHead;
import dev.jvllm.models.layers.VocabParallelEmbedding;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Bamba: Mamba-2 mixers ({@code mamba}) with GQA attention at {@code attn_layer_indices} (partial
 * rotary), each layer followed by a SiLU-gated MLP ({@code feed_forward}); pre-norms
 * {@code input_layernorm} and {@code pre_ff_layernorm}, final {@code final_layernorm}.
 */
public final class BambaForCausalLM extends Module implements CausalLM, IsHybrid {
    private final int hidden;
    private final VocabParallelEmbedding embedTokens;
    private final List<Layer> layers = new ArrayList<>();
    private final Norm finalNorm;
    private final ParallelLMHead lmHead;
    private final LogitsProcessor logits;
    private final boolean tied;

    public BambaForCausalLM(ModelContext ctx) {
        super(ctx, "");
        ModelConfig c = ctx.config();
        hidden = c.hiddenSize();
        List<Integer> attn = c.getIntList("attn_layer_indices");
        embedTokens = add(new VocabParallelEmbedding(ctx, "model.embed_tokens", c.vocabSize(), hidden));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(add(new Layer(ctx, "model.layers." + i, attn.contains(i))));
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
        return WeightLoading.load(this, weights, LlamaForCausalLM.STACKED,
                n -> n.contains("rotary_emb.") || tied && n.equals("lm_head.weight"));
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
        final MambaMixer2 mamba;
        final LlamaForCausalLM.Mlp mlp;

        Layer(ModelContext ctx, String prefix, boolean attention) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int h = c.hiddenSize();
            inputNorm = add(new Norm(ctx, join(prefix, "input_layernorm"), Norm.Kind.RMS, h, c.normEps(), false));
            if (attention) {
                attn = add(new SelfAttention(ctx, join(prefix, "self_attn"), c.attentionBias(), c.attentionBias(), null,
                        null, "o_proj", 0));
                mamba = null;
            } else {
                attn = null;
                List<Double> limit = c.has("time_step_limit") ? c.getDoubleList("time_step_limit")
                        : List.of(0.0, Double.POSITIVE_INFINITY);
                int heads = c.getInt("mamba_n_heads", 128);
                mamba = add(new MambaMixer2(ctx, join(prefix, "mamba"), h, heads, c.getInt("mamba_d_head",
                        c.getInt("mamba_expand", 2) * h / heads), c.getInt("mamba_n_groups", 1),
                        c.getInt("mamba_d_state", 256), c.getInt("mamba_d_conv", 4), c.getInt("mamba_chunk_size", 256),
                        limit.get(0).floatValue(), limit.get(1).floatValue(), c.getBoolean("mamba_proj_bias", false),
                        c.getBoolean("mamba_conv_bias", true), c.normEps(), GROUPED_NORM));
            }
            preFfNorm = add(new Norm(ctx, join(prefix, "pre_ff_layernorm"), Norm.Kind.RMS, h, c.normEps(), false));
            mlp = add(new LlamaForCausalLM.Mlp(ctx, join(prefix, "feed_forward"), h, c.intermediateSize(),
                    c.mlpBias(), "down_proj"));
        }

        void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws) {
            inputNorm.forwardResidual(x, residual, normed);
            if (attn != null) {
                attn.forward(normed, x, fc, ws);
            } else {
                mamba.forward(normed, x, fc, ws);
            }
            preFfNorm.forwardResidual(x, residual, normed);
            mlp.forward(normed, x, ws);
        }
    }

    /** Whether Bamba's gated norm normalizes per group of channels (checked against transformers' output). */
    static final boolean GROUPED_NORM = false;
}
