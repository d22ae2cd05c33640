package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.LogitsProcessor;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ParallelLMHead;
import dev.jvllm.models.layers.ShortConv;
import dev.jvllm.models.layers.VocabParallelEmbedding;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
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
public final class Lfm2ForCausalLM extends Module implements CausalLM, IsHybrid {
    private static final List<WeightLoading.Stacked> STACKED = List.of(
            new WeightLoading.Stacked(".qkv_proj", ".q_proj", "q"),
            new WeightLoading.Stacked(".qkv_proj", ".k_proj", "k"),
            new WeightLoading.Stacked(".qkv_proj", ".v_proj", "v"),
            new WeightLoading.Stacked(".feed_forward.gate_up_proj.", ".feed_forward.w1.", 0),
            new WeightLoading.Stacked(".feed_forward.gate_up_proj.", ".feed_forward.w3.", 1));

    private final int hidden;
    private final VocabParallelEmbedding embedTokens;
    private final List<Layer> layers = new ArrayList<>();
    private final Norm norm;
    private final ParallelLMHead lmHead;
    private final LogitsProcessor logits;
    private final boolean tied;

    public Lfm2ForCausalLM(ModelContext ctx) {
        super(ctx, "");
        ModelConfig c = ctx.config();
        hidden = c.hiddenSize();
        double eps = c.getDouble("norm_eps", 1e-5);
        List<String> types = layerTypes(c);
        embedTokens = add(new VocabParallelEmbedding(ctx, "model.embed_tokens", c.vocabSize(), hidden));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(add(new Layer(ctx, "model.layers." + i, types.get(i).equals("full_attention"), eps)));
        }
        norm = add(new Norm(ctx, "model.embedding_norm", Norm.Kind.RMS, hidden, eps, false));
        tied = c.tieWordEmbeddings();
        lmHead = tied ? ParallelLMHead.tied(ctx, "lm_head", embedTokens)
                : add(new ParallelLMHead(ctx, "lm_head", c.vocabSize(), hidden));
        logits = new LogitsProcessor(ctx, 0f, 1f);
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
    public ModelContext context() {
        return ctx;
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, STACKED, n -> tied && n.equals("lm_head.weight"));
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
            norm.forwardResidual(x, residual, out);
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
        final Norm operatorNorm;
        final Norm ffnNorm;
        final SelfAttention attn;
        final ShortConv conv;
        final LlamaForCausalLM.Mlp mlp;

        Layer(ModelContext ctx, String prefix, boolean attention, double eps) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int h = c.hiddenSize();
            operatorNorm = add(new Norm(ctx, join(prefix, "operator_norm"), Norm.Kind.RMS, h, eps, false));
            if (attention) {
                attn = add(new SelfAttention(ctx, join(prefix, "self_attn"), false, false, "q_layernorm", "k_layernorm",
                        "out_proj", 0));
                conv = null;
            } else {
                attn = null;
                conv = add(new ShortConv(ctx, join(prefix, "conv"), h, c.getInt("conv_L_cache", 3),
                        c.getBoolean("conv_bias", false)));
            }
            ffnNorm = add(new Norm(ctx, join(prefix, "ffn_norm"), Norm.Kind.RMS, h, eps, false));
            mlp = add(new LlamaForCausalLM.Mlp(ctx, join(prefix, "feed_forward"), h, c.intermediateSize(), false, "w2"));
        }

        void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws) {
            operatorNorm.forwardResidual(x, residual, normed);
            if (attn != null) {
                attn.forward(normed, x, fc, ws);
            } else {
                conv.forward(normed, x, fc, ws);
            }
            ffnNorm.forwardResidual(x, residual, normed);
            mlp.forward(normed, x, ws);
        }
    }
}
