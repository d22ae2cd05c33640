package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.LogitsProcessor;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.ParallelLMHead;
import dev.jvllm.models.layers.VocabParallelEmbedding;
import dev.jvllm.models.layers.Workspace;
import dev.jvllm.models.loader.ModelConfig;
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
abstract class ResidualStreamLM extends Module implements CausalLM {
    /** One layer updating the stream: adds {@code x} to {@code residual}, leaves its own output in {@code x}. */
    interface Layer {
        void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws);
    }

    protected final ModelConfig config;
    protected final int hidden;
    protected final VocabParallelEmbedding embedTokens;
    protected final Norm finalNorm;
    protected final ParallelLMHead lmHead;
    protected final LogitsProcessor logits;
    protected final boolean tied;
    private final List<Layer> layers = new ArrayList<>();

    /**
     * @param embedName     the embedding's checkpoint name ({@code model.embed_tokens}, {@code backbone.embeddings})
     * @param finalNormName the final norm's name ({@code model.norm}, {@code backbone.norm_f}, ...)
     * @param finalSoftCap  final logit soft-cap, 0 for none
     */
    protected ResidualStreamLM(ModelContext ctx, String embedName, String finalNormName, Norm.Kind normKind,
            double eps, float finalSoftCap) {
        super(ctx, "");
        config = ctx.config();
        hidden = config.hiddenSize();
        embedTokens = add(new VocabParallelEmbedding(ctx, embedName, config.vocabSize(), hidden));
        finalNorm = add(new Norm(ctx, finalNormName, normKind, hidden, eps, false));
        tied = config.tieWordEmbeddings();
        lmHead = tied ? ParallelLMHead.tied(ctx, "lm_head", embedTokens)
                : add(new ParallelLMHead(ctx, "lm_head", config.vocabSize(), hidden));
        logits = new LogitsProcessor(ctx, finalSoftCap, 1f);
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

    /** Whether the loader skips this checkpoint name: a tied {@code lm_head.weight}. */
    protected boolean skipTiedHead(String name) {
        return tied && name.equals("lm_head.weight");
    }

    @Override
    public ModelContext context() {
        return ctx;
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
            embed(ids, residual);
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
}
