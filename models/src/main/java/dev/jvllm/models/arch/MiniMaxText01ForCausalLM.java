package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.Scale;
import dev.jvllm.models.IsHybrid;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.LightningAttention;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.SparseMoeBlock;
import dev.jvllm.models.layers.WeightLoading;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * MiniMax-Text-01 (transformers' {@code MiniMaxForCausalLM}): lightning-attention and full-attention
 * layers as {@code layer_types} says, each followed by Mixtral's sparse MoE. Unlike Llama, each
 * residual branch starts from the <em>normalized</em> input:
 * {@code h = α·norm(x) + β·attn(norm(x))}, then {@code out = α'·norm'(h) + β'·moe(norm'(h))} with the
 * {@code *_alpha_factor} / {@code *_beta_factor} of the config.
 */
public final class MiniMaxText01ForCausalLM extends DecoderLM implements IsHybrid {
    private final List<Layer> layers = new ArrayList<>();

    public MiniMaxText01ForCausalLM(ModelContext ctx) {
        super(ctx, "model.embed_tokens", "model.norm", Norm.Kind.RMS, ctx.config().normEps(), false, 0f);
        ModelConfig c = config;
        List<String> types = c.layerTypes();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String type = types.isEmpty() ? "full_attention" : types.get(i);
            layers.add(add(new Layer(ctx, "model.layers." + i, i, type.equals("linear_attention"))));
        }
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, LlamaForCausalLM.STACKED, n -> skipTiedHead(n)
                || LightningAttention.BUFFERS.stream().anyMatch(buf -> n.endsWith(".self_attn." + buf)));
    }

    @Override
    protected void body(Tensor ids, ForwardContext fc, Workspace ws, Tensor out) {
        int t = ids.dim(0);
        DType dt = ctx.activationDType();
        Tensor h = ws.allocate(dt, t, hidden);
        embedTokens.forward(ids, h);
        for (Layer layer : layers) {
            ws.freeing(() -> layer.forward(h, fc, ws));
        }
        finalNorm.forward(h, out);
    }

    private static final class Layer extends Module {
        final Norm inputNorm;
        final Norm postAttentionNorm;
        final LightningAttention lightning;
        final SelfAttention attn;
        final SparseMoeBlock moe;
        final float attnAlpha, attnBeta, mlpAlpha, mlpBeta;

        Layer(ModelContext ctx, String prefix, int index, boolean linear) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int h = c.hiddenSize();
            inputNorm = add(new Norm(ctx, join(prefix, "input_layernorm"), Norm.Kind.RMS, h, c.normEps(), false));
            postAttentionNorm = add(new Norm(ctx, join(prefix, "post_attention_layernorm"), Norm.Kind.RMS, h, c.normEps(),
                    false));
            String kind = linear ? "linear_attn" : "full_attn";
            attnAlpha = (float) c.getDouble(kind + "_alpha_factor", 1);
            attnBeta = (float) c.getDouble(kind + "_beta_factor", 1);
            mlpAlpha = (float) c.getDouble("mlp_alpha_factor", 1);
            mlpBeta = (float) c.getDouble("mlp_beta_factor", 1);
            if (linear) {
                lightning = add(new LightningAttention(ctx, join(prefix, "self_attn"), h, c.numAttentionHeads(), c.headDim(),
                        index, c.numHiddenLayers()));
                attn = null;
            } else {
                lightning = null;
                attn = add(new SelfAttention(ctx, join(prefix, "self_attn"), false, false, null, null, "o_proj",
                        c.slidingWindow().orElse(0)));
            }
            // vLLM's MiniMaxText01MoE: gate = ReplicatedLinear(..., params_dtype=torch.float32)
            moe = add(MixtralForCausalLM.moe(ctx, join(prefix, "block_sparse_moe"), true));
        }

        /** h [T, H] in place. */
        void forward(Tensor h, ForwardContext fc, Workspace ws) {
            Backend b = ctx.backend();
            int t = h.dim(0);
            Tensor normed = ws.allocate(h.dtype(), t, h.cols());
            Tensor branch = ws.allocate(h.dtype(), t, h.cols());
            inputNorm.forward(h, normed);
            if (lightning != null) {
                lightning.forward(normed, branch, fc, ws);
            } else {
                attn.forward(normed, branch, fc, ws);
            }
            mix(b, normed, attnAlpha, branch, attnBeta, h);
            postAttentionNorm.forward(h, normed);
            moe.forward(normed, branch, ws);
            mix(b, normed, mlpAlpha, branch, mlpBeta, h);
        }

        /** out = α·a + β·b (a and b may be scaled in place). */
        private static void mix(Backend be, Tensor a, float alpha, Tensor b, float beta, Tensor out) {
            if (alpha != 1f) {
                be.scale(new Scale(a, alpha, a));
            }
            if (beta != 1f) {
                be.scale(new Scale(b, beta, b));
            }
            be.binary(new Binary(Binary.Op.ADD, a, b, out));
        }
    }
}
