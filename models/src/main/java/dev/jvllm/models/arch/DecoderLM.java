package dev.jvllm.models.arch;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.Embedding;
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

/**
 * What every decoder-only model here shares: the token embedding, an optional final norm, the
 * (possibly tied) LM head and logits processor, and the forward skeleton — an output tensor the
 * caller owns and a {@link Workspace} for the activations, freed when the pass ends.
 */
abstract class DecoderLM extends Module implements CausalLM {
    protected final ModelConfig config;
    protected final int hidden;
    protected final VocabParallelEmbedding embedTokens;
    protected final Norm finalNorm; // null for models without one (post-norm OPT)
    protected final ParallelLMHead lmHead;
    protected final LogitsProcessor logits;
    protected final boolean tied;

    /**
     * @param embedName     the token embedding's checkpoint name
     * @param finalNormName the final norm's name, or null for none
     * @param finalSoftCap  final logit soft-cap, 0 for none
     */
    protected DecoderLM(ModelContext ctx, String embedName, String finalNormName, Norm.Kind normKind, double eps,
            boolean normBias, float finalSoftCap) {
        super(ctx, "");
        config = ctx.config();
        hidden = config.hiddenSize();
        embedTokens = add(new VocabParallelEmbedding(ctx, embedName, config.vocabSize(), hidden));
        finalNorm = finalNormName == null ? null : add(new Norm(ctx, finalNormName, normKind, hidden, eps, normBias));
        tied = config.tieWordEmbeddings();
        lmHead = tied ? ParallelLMHead.tied(ctx, "lm_head", embedTokens)
                : add(new ParallelLMHead(ctx, "lm_head", config.vocabSize(), hidden));
        logits = new LogitsProcessor(ctx, finalSoftCap, 1f);
    }

    /** The model body: ids [T] → out [T, hidden], activations from {@code ws}. */
    protected abstract void body(Tensor ids, ForwardContext fc, Workspace ws, Tensor out);

    /**
     * Token plus learned absolute position embeddings (OPT, GPT-2): a new [T, hidden] tensor from
     * {@code ws} holding {@code embed(ids) + positionTable[positions]}.
     */
    protected Tensor embedWithPositions(Tensor ids, Tensor positions, Tensor positionTable, Workspace ws) {
        Backend b = ctx.backend();
        int t = ids.dim(0);
        Tensor h = ws.allocate(ctx.activationDType(), t, hidden);
        Tensor pos = ws.allocate(ctx.activationDType(), t, hidden);
        embedTokens.forward(ids, h);
        b.embedding(new Embedding(positions, positionTable, 0, pos));
        b.binary(new Binary(Binary.Op.ADD, h, pos, h));
        return h;
    }

    /** Whether the loader skips this checkpoint name: a tied {@code lm_head.weight}. */
    protected boolean skipTiedHead(String name) {
        return tied && name.equals("lm_head.weight");
    }

    @Override
    public final Tensor forward(Tensor ids, ForwardContext fc) {
        Backend b = ctx.backend();
        Tensor out = b.allocate(ctx.activationDType(), ids.dim(0), hidden);
        try (Workspace ws = new Workspace(b)) {
            body(ids, fc, ws, out);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    @Override
    public ModelContext context() {
        return ctx;
    }

    @Override
    public Tensor computeLogits(Tensor hiddenRows) {
        return logits.compute(lmHead, hiddenRows);
    }
}
