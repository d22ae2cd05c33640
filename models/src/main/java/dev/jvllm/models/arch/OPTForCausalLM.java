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
 * OPT: learned absolute positions (table rows offset by 2, as OPT was trained), LayerNorm with
 * biases, MHA with biased projections, a ReLU MLP ({@code fc1}, {@code fc2}), pre- or post-norm
 * per {@code do_layer_norm_before}, tied LM head. {@code word_embed_proj_dim != hidden_size}
 * (OPT-350m's project_in/out) is not supported and fails at load with that reason.
 */
public final class OPTForCausalLM extends DecoderLM {
    /** OPT's learned position table starts at row 2 (fairseq's padding offset). */
    static final int POSITION_OFFSET = 2;

    private static final List<WeightLoading.Stacked> STACKED = List.of(
            new WeightLoading.Stacked(".qkv_proj", ".q_proj", "q"),
            new WeightLoading.Stacked(".qkv_proj", ".k_proj", "k"),
            new WeightLoading.Stacked(".qkv_proj", ".v_proj", "v"));

    private final boolean preNorm;
    private final VocabParallelEmbedding embedPositions;
    private final List<Layer> layers = new ArrayList<>();

    public OPTForCausalLM(ModelContext ctx) {
        super(ctx, "model.decoder.embed_tokens", hasFinalNorm(ctx.config()) ? "model.decoder.final_layer_norm" : null,
                Norm.Kind.LAYER, 1e-5, true, 0f);
        int proj = config.getInt("word_embed_proj_dim", hidden);
        if (proj != hidden) {
            throw new IllegalArgumentException("OPT with word_embed_proj_dim=" + proj + " != hidden_size=" + hidden
                    + " (project_in/project_out) is not supported yet");
        }
        preNorm = config.getBoolean("do_layer_norm_before", true);
        embedPositions = add(new VocabParallelEmbedding(ctx, "model.decoder.embed_positions",
                config.maxPositionEmbeddings() + POSITION_OFFSET, hidden, true));
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(add(new Layer(ctx, "model.decoder.layers." + i)));
        }
    }

    /** Pre-norm OPT ends with a LayerNorm unless {@code _remove_final_layer_norm}; post-norm OPT (350m) has none. */
    private static boolean hasFinalNorm(ModelConfig c) {
        return c.getBoolean("do_layer_norm_before", true) && !c.getBoolean("_remove_final_layer_norm", false);
    }

    @Override
    public Set<String> loadWeights(Iterable<CheckpointTensor> weights) {
        return WeightLoading.load(this, weights, STACKED, this::skipTiedHead);
    }

    @Override
    protected void body(Tensor ids, ForwardContext fc, Workspace ws, Tensor out) {
        Backend b = ctx.backend();
        // position p reads row p + 2: index the table from row 2 on
        Tensor table = embedPositions.table();
        Tensor h = embedWithPositions(ids, fc.positions(), table.slice(POSITION_OFFSET, table.dim(0) - POSITION_OFFSET),
                ws);
        for (Layer layer : layers) {
            ws.freeing(() -> layer.forward(h, fc, ws));
        }
        if (finalNorm != null) {
            finalNorm.forward(h, out);
        } else {
            b.copy(new dev.jvllm.api.ops.Copy(h, out));
        }
    }

    private final class Layer extends Module {
        final Norm attnNorm;
        final Norm mlpNorm;
        final QKVParallelLinear qkv;
        final RowParallelLinear outProj;
        final Attention attention;
        final ColumnParallelLinear fc1;
        final RowParallelLinear fc2;
        final int headDim;
        final ActivationKind activation;

        Layer(ModelContext ctx, String prefix) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            activation = Activations.of(c.getString("activation_function", "relu"), c.source());
            int heads = c.numAttentionHeads();
            headDim = hidden / heads;
            boolean bias = c.getBoolean("enable_bias", true);
            attnNorm = add(new Norm(ctx, join(prefix, "self_attn_layer_norm"), Norm.Kind.LAYER, hidden, 1e-5, true));
            qkv = add(new QKVParallelLinear(ctx, join(prefix, "self_attn.qkv_proj"), hidden, headDim, heads, heads, bias));
            outProj = add(new RowParallelLinear(ctx, join(prefix, "self_attn.out_proj"), hidden, hidden, bias, true));
            attention = new Attention(ctx, join(prefix, "self_attn.attn"), qkv.numHeads(), headDim,
                    (float) Math.pow(headDim, -0.5), qkv.numKvHeads(), 0, 0f);
            mlpNorm = add(new Norm(ctx, join(prefix, "final_layer_norm"), Norm.Kind.LAYER, hidden, 1e-5, true));
            fc1 = add(new ColumnParallelLinear(ctx, join(prefix, "fc1"), hidden, c.intermediateSize(), bias, false));
            fc2 = add(new RowParallelLinear(ctx, join(prefix, "fc2"), c.intermediateSize(), hidden, bias, true));
        }

        /** h [T, H] updated in place: h += attn(norm(h)); h += mlp(norm(h)) (pre-norm; post-norm normalizes after the add). */
        void forward(Tensor h, ForwardContext fc, Workspace ws) {
            Backend b = ctx.backend();
            int t = h.dim(0);
            DType dt = h.dtype();
            Tensor normed = ws.allocate(dt, t, hidden);
            Tensor in = h;
            if (preNorm) {
                attnNorm.forward(h, normed);
                in = normed;
            }
            int qw = qkv.numHeads() * headDim;
            Tensor fused = ws.allocateUninitialized(dt, t, 3 * qw);
            qkv.forward(in, fused);
            Tensor attnOut = ws.allocateUninitialized(dt, t, qw);
            attention.forward(fused.narrowLast(0, qw), fused.narrowLast(qw, qw), fused.narrowLast(2 * qw, qw), attnOut, fc);
            Tensor a = ws.allocateUninitialized(dt, t, hidden);
            outProj.forward(attnOut, a);
            b.binary(new Binary(Binary.Op.ADD, h, a, h));
            if (!preNorm) {
                attnNorm.forward(h, h);
            }
            in = h;
            if (preNorm) {
                mlpNorm.forward(h, normed);
                in = normed;
            }
            Tensor f = ws.allocateUninitialized(dt, t, fc1.outFeatures());
            fc1.forward(in, f);
            b.activation(new Activation(activation, f, f, 0f));
            fc2.forward(f, a);
            b.binary(new Binary(Binary.Op.ADD, h, a, h));
            if (!preNorm) {
                mlpNorm.forward(h, h);
            }
        }
    }
}
