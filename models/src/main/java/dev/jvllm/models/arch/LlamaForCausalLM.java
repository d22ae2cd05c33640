package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.LogitsProcessor;
import dev.jvllm.models.layers.MergedColumnParallelLinear;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ParallelLMHead;
import dev.jvllm.models.layers.RowParallelLinear;
import dev.jvllm.models.layers.VocabParallelEmbedding;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Llama (and Mistral, which vLLM serves with the same class): pre-norm decoder layers of
 * GQA attention with rotary embeddings and a SiLU-gated MLP, RMSNorm with fused residual adds.
 *
 * <p>Subclasses change only what their architecture changes: Qwen2 (q/k/v bias), Qwen3 (per-head
 * q/k RMSNorm), Phi-3 (q/k/v and gate/up fused on disk). Checkpoint names:
 * {@code model.embed_tokens}, {@code model.layers.N.self_attn.{q,k,v,o}_proj},
 * {@code model.layers.N.mlp.{gate,up,down}_proj}, {@code model.layers.N.{input,post_attention}_layernorm},
 * {@code model.norm}, {@code lm_head}.
 */
public class LlamaForCausalLM extends Module implements CausalLM {
    /** q/k/v → qkv_proj, gate/up → gate_up_proj (vLLM's stacked_params_mapping). */
    protected static final List<WeightLoading.Stacked> STACKED = List.of(
            new WeightLoading.Stacked(".qkv_proj", ".q_proj", "q"),
            new WeightLoading.Stacked(".qkv_proj", ".k_proj", "k"),
            new WeightLoading.Stacked(".qkv_proj", ".v_proj", "v"),
            new WeightLoading.Stacked(".gate_up_proj", ".gate_proj", 0),
            new WeightLoading.Stacked(".gate_up_proj", ".up_proj", 1));

    protected final ModelConfig config;
    protected final int hidden;
    protected final VocabParallelEmbedding embedTokens;
    protected final List<DecoderLayer> layers = new ArrayList<>();
    protected final Norm norm;
    protected final ParallelLMHead lmHead;
    protected final LogitsProcessor logits;

    public LlamaForCausalLM(ModelContext ctx) {
        this(ctx, "");
    }

    public LlamaForCausalLM(ModelContext ctx, String prefix) {
        super(ctx, prefix);
        this.config = ctx.config();
        this.hidden = config.hiddenSize();
        String model = join(prefix, "model");
        embedTokens = add(new VocabParallelEmbedding(ctx, join(model, "embed_tokens"), config.vocabSize(), hidden));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(add(new DecoderLayer(ctx, join(model, "layers." + i), i, this)));
        }
        norm = add(new Norm(ctx, join(model, "norm"), Norm.Kind.RMS, hidden, config.normEps(), false));
        lmHead = config.tieWordEmbeddings() ? ParallelLMHead.tied(ctx, join(prefix, "lm_head"), embedTokens)
                : add(new ParallelLMHead(ctx, join(prefix, "lm_head"), config.vocabSize(), hidden));
        logits = new LogitsProcessor(ctx, 0f, 1f);
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

    /** The feed-forward block of layer i (Mixtral swaps in a mixture of experts). */
    protected FeedForward feedForward(ModelContext ctx, String layerPrefix, int layer) {
        ModelConfig c = ctx.config();
        return new Mlp(ctx, join(layerPrefix, "mlp"), c.hiddenSize(), c.intermediateSize(), c.mlpBias(), "down_proj");
    }

    /** A decoder layer's feed-forward block: x [T, H] → out [T, H]. */
    protected interface FeedForward {
        void forward(Tensor x, Tensor out, Workspace ws);
    }

    /** The checkpoint names the loader ignores. */
    protected boolean skipWeight(String name) {
        return name.contains("rotary_emb.inv_freq") || name.contains("rotary_emb.cos_cached")
                || name.contains("rotary_emb.sin_cached")
                || (config.tieWordEmbeddings() && name.equals(join(prefix, "lm_head.weight")));
    }

    // ---- CausalLM ----

    @Override
    public ModelContext context() {
        return ctx;
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, STACKED, this::skipWeight);
    }

    @Override
    public Tensor forward(Tensor ids, ForwardContext fc) {
        Backend b = ctx.backend();
        int t = ids.dim(0);
        DType dt = ctx.activationDType();
        Tensor out = b.allocate(dt, t, hidden);
        try (Workspace ws = new Workspace(b)) {
            Tensor residual = ws.allocate(dt, t, hidden);
            Tensor x = ws.allocate(dt, t, hidden); // layer output; zero before layer 0, so the fused add is exact
            Tensor normed = ws.allocate(dt, t, hidden);
            embedTokens.forward(ids, residual);
            for (DecoderLayer layer : layers) {
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

    /** One pre-norm decoder layer. */
    protected static final class DecoderLayer extends Module {
        final Norm inputNorm;
        final Norm postAttentionNorm;
        final SelfAttention attn;
        final FeedForward mlp;

        DecoderLayer(ModelContext ctx, String prefix, int index, LlamaForCausalLM model) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            inputNorm = add(new Norm(ctx, join(prefix, "input_layernorm"), Norm.Kind.RMS, c.hiddenSize(), c.normEps(), false));
            attn = add(new SelfAttention(ctx, join(prefix, "self_attn"), model.qkvBias(), model.oBias(),
                    model.qkNorm() ? "q_norm" : null, model.qkNorm() ? "k_norm" : null, "o_proj",
                    model.slidingWindow(index)));
            postAttentionNorm = add(new Norm(ctx, join(prefix, "post_attention_layernorm"), Norm.Kind.RMS, c.hiddenSize(),
                    c.normEps(), false));
            FeedForward ff = model.feedForward(ctx, prefix, index);
            mlp = ff;
            add((Module) ff);
        }

        /** x: previous layer's output, residual: the stream; both [T, H], updated in place. */
        void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws) {
            inputNorm.forwardResidual(x, residual, normed);
            attn.forward(normed, x, fc, ws);
            postAttentionNorm.forwardResidual(x, residual, normed);
            mlp.forward(normed, x, ws);
        }
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
            Tensor gu = ws.allocate(x.dtype(), t, 2 * inter);
            gateUp.forward(x, gu);
            Tensor act = ws.allocate(x.dtype(), t, inter);
            ctx.backend().gatedActivation(new GatedActivation(ActivationKind.SILU, gu, act));
            down.forward(act, out);
        }
    }
}
