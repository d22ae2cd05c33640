package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.Scale;
import dev.jvllm.models.layers.Attention;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.MergedColumnParallelLinear;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.QKVParallelLinear;
import dev.jvllm.models.layers.RotaryEmbedding;
import dev.jvllm.models.layers.RowParallelLinear;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.List;
import java.util.Set;

/**
 * Gemma-2: embeddings scaled by √hidden; Gemma RMSNorm ({@code x·(1+w)}) before and after both
 * attention and MLP (sandwich norms); attention scaled by {@code query_pre_attn_scalar^−½} with
 * logit soft-capping ({@code attn_logit_softcapping}); sliding-window and global layers
 * interleaved as {@code layer_types} says (older configs: even layers slide); a GELU-tanh gated
 * MLP; final logits soft-capped ({@code final_logit_softcapping}); tied embeddings.
 */
public final class Gemma2ForCausalLM extends ResidualStreamLM {

    public Gemma2ForCausalLM(ModelContext ctx) {
        super(ctx, "model.embed_tokens", "model.norm", Norm.Kind.GEMMA_RMS, ctx.config().normEps(),
                (float) ctx.config().getDouble("final_logit_softcapping", 0));
        List<String> types = config.layerTypes();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            boolean sliding = types.isEmpty() ? i % 2 == 0 : types.get(i).equals("sliding_attention");
            addLayer(new Layer(ctx, "model.layers." + i, sliding ? config.slidingWindow().orElse(0) : 0));
        }
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, LlamaForCausalLM.STACKED,
                n -> n.contains("rotary_emb.") || n.equals("lm_head.weight"));
    }

    /** Gemma scales the embeddings by √hidden, rounded to the activation dtype as transformers does. */
    @Override
    protected void embed(Tensor ids, Tensor residual) {
        embedTokens.forward(ids, residual);
        float normalizer = dev.jvllm.api.Numerics.roundTo(residual.dtype(), (float) Math.sqrt(hidden));
        ctx.backend().scale(new Scale(residual, normalizer, residual));
    }

    private static final class Layer extends Module implements ResidualStreamLM.Layer {
        final Norm inputNorm;
        final Norm postAttentionNorm;
        final Norm preFeedforwardNorm;
        final Norm postFeedforwardNorm;
        final QKVParallelLinear qkv;
        final RowParallelLinear o;
        final RotaryEmbedding rotary;
        final Attention attention;
        final MergedColumnParallelLinear gateUp;
        final RowParallelLinear down;
        final int headDim;

        Layer(ModelContext ctx, String prefix, int slidingWindow) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int h = c.hiddenSize();
            double eps = c.normEps();
            headDim = c.headDim();
            inputNorm = add(new Norm(ctx, join(prefix, "input_layernorm"), Norm.Kind.GEMMA_RMS, h, eps, false));
            postAttentionNorm = add(new Norm(ctx, join(prefix, "post_attention_layernorm"), Norm.Kind.GEMMA_RMS, h, eps, false));
            preFeedforwardNorm = add(new Norm(ctx, join(prefix, "pre_feedforward_layernorm"), Norm.Kind.GEMMA_RMS, h, eps, false));
            postFeedforwardNorm = add(new Norm(ctx, join(prefix, "post_feedforward_layernorm"), Norm.Kind.GEMMA_RMS, h, eps, false));
            String attn = join(prefix, "self_attn");
            qkv = add(new QKVParallelLinear(ctx, join(attn, "qkv_proj"), h, headDim, c.numAttentionHeads(),
                    c.numKeyValueHeads(), c.attentionBias()));
            o = add(new RowParallelLinear(ctx, join(attn, "o_proj"), c.numAttentionHeads() * headDim, h,
                    c.attentionBias(), true));
            rotary = RotaryEmbedding.shared(ctx, headDim, headDim, c.maxPositionEmbeddings(), c.ropeTheta(), c.ropeScaling(),
                    true);
            float scale = (float) Math.pow(c.getDouble("query_pre_attn_scalar", headDim), -0.5);
            attention = new Attention(ctx, join(attn, "attn"), qkv.numHeads(), headDim, scale, qkv.numKvHeads(),
                    slidingWindow, (float) c.getDouble("attn_logit_softcapping", 0));
            String mlp = join(prefix, "mlp");
            gateUp = add(new MergedColumnParallelLinear(ctx, join(mlp, "gate_up_proj"), h,
                    new int[] {c.intermediateSize(), c.intermediateSize()}, false));
            down = add(new RowParallelLinear(ctx, join(mlp, "down_proj"), c.intermediateSize(), h, false, true));
        }

        /** x: previous layer's output (becomes this layer's), residual: the stream, both [T, H]. */
        @Override
        public void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws) {
            Backend b = ctx.backend();
            int t = x.dim(0);
            DType dt = x.dtype();
            inputNorm.forwardResidual(x, residual, normed);
            int qw = qkv.numHeads() * headDim, kw = qkv.numKvHeads() * headDim;
            Tensor fused = ws.allocateUninitialized(dt, t, qw + 2 * kw);
            qkv.forward(normed, fused);
            Tensor q = fused.narrowLast(0, qw), k = fused.narrowLast(qw, kw), v = fused.narrowLast(qw + kw, kw);
            rotary.apply(fc.positions(), q, k, fc.maxPosition());
            Tensor attnOut = ws.allocateUninitialized(dt, t, qw);
            attention.forward(q, k, v, attnOut, fc);
            Tensor a = ws.allocateUninitialized(dt, t, x.cols());
            o.forward(attnOut, a);
            postAttentionNorm.forward(a, a);
            preFeedforwardNorm.forwardResidual(a, residual, normed);
            int inter = gateUp.outFeatures() / 2;
            Tensor gu = ws.allocateUninitialized(dt, t, 2 * inter);
            gateUp.forward(normed, gu);
            Tensor act = ws.allocateUninitialized(dt, t, inter);
            b.gatedActivation(new GatedActivation(ActivationKind.GELU_TANH, gu, act));
            down.forward(act, a);
            postFeedforwardNorm.forward(a, x);
        }
    }
}
