package dev.jvllm.models.arch;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.models.layers.Attention;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.Mixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.QKVParallelLinear;
import dev.jvllm.models.layers.RotaryEmbedding;
import dev.jvllm.models.layers.RowParallelLinear;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.ModelConfig;

/**
 * GQA self-attention with rotary embeddings, shared by the Llama family and LFM2: the q/k/v
 * projection, optional per-head RMSNorm of q and k (Qwen3 {@code q_norm}, LFM2
 * {@code q_layernorm}) before rotary, paged attention, and the output projection.
 */
final class SelfAttention extends Module implements Mixer {
    final QKVParallelLinear qkv;
    final RowParallelLinear o;
    final RotaryEmbedding rotary;
    final Attention attention;
    final Norm qNorm;
    final Norm kNorm;
    final int headDim;

    /**
     * @param qNormName, kNormName per-head norm names, or null for none
     * @param oName                the output projection's name ({@code o_proj}, {@code out_proj})
     */
    SelfAttention(ModelContext ctx, String prefix, boolean qkvBias, boolean oBias, String qNormName, String kNormName,
            String oName, int slidingWindow) {
        this(ctx, prefix, qkvBias, oBias, qNormName, kNormName, oName, slidingWindow, true);
    }

    /** @param rope false for attention without positional rotation (Jamba) */
    SelfAttention(ModelContext ctx, String prefix, boolean qkvBias, boolean oBias, String qNormName, String kNormName,
            String oName, int slidingWindow, boolean rope) {
        super(ctx, prefix);
        ModelConfig c = ctx.config();
        int heads = c.numAttentionHeads();
        int kv = c.numKeyValueHeads();
        headDim = c.headDim();
        qkv = add(new QKVParallelLinear(ctx, join(prefix, "qkv_proj"), c.hiddenSize(), headDim, heads, kv,
                qkvBias));
        o = add(new RowParallelLinear(ctx, join(prefix, oName), heads * headDim, c.hiddenSize(), oBias, true));
        int rotaryDim = (int) (headDim * c.partialRotaryFactor());
        rotary = rope ? RotaryEmbedding.shared(ctx, headDim, rotaryDim, c.maxPositionEmbeddings(), c.ropeTheta(),
                c.ropeScaling(), true) : null;
        attention = new Attention(ctx, join(prefix, "attn"), qkv.numHeads(), headDim,
                (float) (1.0 / Math.sqrt(headDim)), qkv.numKvHeads(), slidingWindow, 0f);
        if (qNormName != null) {
            qNorm = add(new Norm(ctx, join(prefix, qNormName), Norm.Kind.RMS, headDim, c.normEps(), false));
            kNorm = add(new Norm(ctx, join(prefix, kNormName), Norm.Kind.RMS, headDim, c.normEps(), false));
        } else {
            qNorm = null;
            kNorm = null;
        }
    }

    /** x [T, H] → out [T, H]. */
    @Override
    public void forward(Tensor x, Tensor out, ForwardContext fc, Workspace ws) {
        int t = x.dim(0);
        DType dt = x.dtype();
        int qw = qkv.numHeads() * headDim, kw = qkv.numKvHeads() * headDim;
        Tensor fused = ws.allocateUninitialized(dt, t, qw + 2 * kw); // the projection writes all of it
        qkv.forward(x, fused);
        Tensor q = fused.narrowLast(0, qw);
        Tensor k = fused.narrowLast(qw, kw);
        Tensor v = fused.narrowLast(qw + kw, kw);
        if (qNorm != null) { // per-head norm needs [T·heads, D] rows: work on contiguous copies
            q = headNorm(q, qNorm, ws);
            k = headNorm(k, kNorm, ws);
        }
        if (rotary != null) {
            rotary.apply(fc.positions(), q, k, fc.maxPosition());
        }
        Tensor attnOut = ws.allocateUninitialized(dt, t, qw); // every row: attention zeroes rows of no sequence
        attention.forward(q, k, v, attnOut, fc);
        o.forward(attnOut, out);
    }

    private Tensor headNorm(Tensor x, Norm n, Workspace ws) {
        Tensor c = ws.allocateUninitialized(x.dtype(), x.shape());
        ctx.backend().copy(new Copy(x, c));
        Tensor rows = c.reshape(x.dim(0) * (x.cols() / headDim), headDim);
        n.forward(rows, rows);
        return c;
    }
}
