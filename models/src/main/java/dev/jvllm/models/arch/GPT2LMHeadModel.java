package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.models.layers.Attention;
import dev.jvllm.models.layers.ColumnParallelLinear;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.QKVParallelLinear;
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
 * GPT-2: learned positions ({@code wpe}), pre-LayerNorm blocks, fused {@code c_attn} and the MLP
 * as Conv1D layers whose weights are stored transposed ([in, out]), GELU-tanh ("gelu_new"), final
 * {@code ln_f}, LM head tied to {@code wte}.
 */
public final class GPT2LMHeadModel extends DecoderLM {
    private final VocabParallelEmbedding wpe;
    private final List<Block> blocks = new ArrayList<>();

    public GPT2LMHeadModel(ModelContext ctx) {
        super(ctx, "transformer.wte", "transformer.ln_f", Norm.Kind.LAYER, ctx.config().normEps(), true, 0f);
        if (config.getBoolean("scale_attn_by_inverse_layer_idx", false) || config.getBoolean("reorder_and_upcast_attn", false)) {
            throw new IllegalArgumentException("GPT-2 variants with scale_attn_by_inverse_layer_idx or "
                    + "reorder_and_upcast_attn (" + config.source() + ") are not supported");
        }
        wpe = add(new VocabParallelEmbedding(ctx, "transformer.wpe", config.maxPositionEmbeddings(), hidden, true));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            blocks.add(add(new Block(ctx, "transformer.h." + i)));
        }
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        // attn.bias / attn.masked_bias: causal-mask buffers older checkpoints carry
        return WeightLoading.load(this, weights, List.of(), n -> skipTiedHead(n)
                || n.endsWith(".attn.bias") || n.endsWith(".attn.masked_bias"));
    }

    @Override
    protected void body(Tensor ids, ForwardContext fc, Workspace ws, Tensor out) {
        Tensor h = embedWithPositions(ids, fc.positions(), wpe.table(), ws);
        for (Block block : blocks) {
            ws.freeing(() -> block.forward(h, fc, ws));
        }
        finalNorm.forward(h, out);
    }

    private final class Block extends Module {
        final Norm ln1;
        final Norm ln2;
        final QKVParallelLinear cAttn;
        final RowParallelLinear attnProj;
        final Attention attention;
        final ColumnParallelLinear cFc;
        final RowParallelLinear mlpProj;
        final ActivationKind act;
        final int headDim;

        Block(ModelContext ctx, String prefix) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int heads = c.numAttentionHeads();
            headDim = hidden / heads;
            int inner = c.getInt("n_inner", 4 * hidden);
            act = Activations.of(c.getString("activation_function", "gelu_new"), c.source());
            ln1 = add(new Norm(ctx, join(prefix, "ln_1"), Norm.Kind.LAYER, hidden, c.normEps(), true));
            cAttn = add(new QKVParallelLinear(ctx, join(prefix, "attn.c_attn"), hidden, headDim, heads, heads, true, true));
            attnProj = add(new RowParallelLinear(ctx, join(prefix, "attn.c_proj"), hidden, hidden, true, true, true));
            float scale = c.getBoolean("scale_attn_weights", true) ? (float) Math.pow(headDim, -0.5) : 1f;
            attention = new Attention(ctx, join(prefix, "attn.attn"), cAttn.numHeads(), headDim, scale,
                    cAttn.numKvHeads(), 0, 0f);
            ln2 = add(new Norm(ctx, join(prefix, "ln_2"), Norm.Kind.LAYER, hidden, c.normEps(), true));
            cFc = add(new ColumnParallelLinear(ctx, join(prefix, "mlp.c_fc"), hidden, inner, true, false, true));
            mlpProj = add(new RowParallelLinear(ctx, join(prefix, "mlp.c_proj"), inner, hidden, true, true, true));
        }

        /** h [T, H] in place: h += attn(ln_1(h)); h += mlp(ln_2(h)). */
        void forward(Tensor h, ForwardContext fc, Workspace ws) {
            Backend b = ctx.backend();
            int t = h.dim(0);
            DType dt = h.dtype();
            Tensor normed = ws.allocateUninitialized(dt, t, hidden);
            ln1.forward(h, normed);
            int qw = cAttn.numHeads() * headDim;
            Tensor fused = ws.allocateUninitialized(dt, t, 3 * qw);
            cAttn.forward(normed, fused);
            Tensor attnOut = ws.allocateUninitialized(dt, t, qw);
            attention.forward(fused.narrowLast(0, qw), fused.narrowLast(qw, qw), fused.narrowLast(2 * qw, qw), attnOut, fc);
            Tensor a = ws.allocateUninitialized(dt, t, hidden);
            attnProj.forward(attnOut, a);
            b.binary(new Binary(Binary.Op.ADD, h, a, h));
            ln2.forward(h, normed);
            Tensor f = ws.allocateUninitialized(dt, t, cFc.outFeatures());
            cFc.forward(normed, f);
            b.activation(new Activation(act, f, f, 0f));
            mlpProj.forward(f, a);
            b.binary(new Binary(Binary.Op.ADD, h, a, h));
        }
    }
}
