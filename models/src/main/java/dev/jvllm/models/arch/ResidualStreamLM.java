package dev.jvllm.models.arch;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.Workspace;
import java.util.ArrayList;
import java.util.List;

/**
 * What the pre-norm decoder-only models share (Llama family, Gemma-2, Mamba, Mamba-2, Jamba,
 * Bamba, LFM2): token embedding into a residual stream, layers that add their outputs to it
 * through fused add+norm ops, a final norm, and the (possibly tied) LM head.
 *
 * <p>Stream convention: {@code residual} holds the stream, {@code x} the last layer's output
 * (zero before the first layer, so the first fused add is exact), {@code normed} scratch.
 */
abstract class ResidualStreamLM extends DecoderLM {
    /** One layer updating the stream: adds {@code x} to {@code residual}, leaves its own output in {@code x}. */
    interface Layer {
        void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws);
    }

    private final List<Layer> layers = new ArrayList<>();

    /**
     * @param embedName     the embedding's checkpoint name ({@code model.embed_tokens}, {@code backbone.embeddings})
     * @param finalNormName the final norm's name ({@code model.norm}, {@code backbone.norm_f}, ...)
     * @param finalSoftCap  final logit soft-cap, 0 for none
     */
    protected ResidualStreamLM(ModelContext ctx, String embedName, String finalNormName, Norm.Kind normKind,
            double eps, float finalSoftCap) {
        super(ctx, embedName, finalNormName, normKind, eps, false, finalSoftCap);
    }

    /** Appends a layer (also a child module). */
    protected <L extends Module & Layer> L addLayer(L layer) {
        layers.add(layer);
        return add(layer);
    }

    /** Writes the embeddings of {@code ids} into the stream (Gemma scales them). */
    protected void embed(Tensor ids, Tensor residual) {
        embedTokens.forward(ids, residual);
    }

    @Override
    protected void body(Tensor ids, ForwardContext fc, Workspace ws, Tensor out) {
        int t = ids.dim(0);
        DType dt = ctx.activationDType();
        Tensor residual = ws.allocate(dt, t, hidden);
        Tensor x = ws.allocate(dt, t, hidden);
        Tensor normed = ws.allocate(dt, t, hidden);
        embed(ids, residual);
        for (Layer layer : layers) {
            ws.freeing(() -> layer.forward(x, residual, normed, fc, ws));
        }
        finalNorm.forwardResidual(x, residual, out);
    }
}
