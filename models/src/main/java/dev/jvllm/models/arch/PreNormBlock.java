package dev.jvllm.models.arch;

import dev.jvllm.api.Tensor;
import dev.jvllm.models.layers.FeedForward;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.Mixer;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.Norm;
import dev.jvllm.models.layers.Workspace;

/**
 * The common pre-norm layer: {@code residual += x; x = mixer(norm(residual))}, then, when there
 * is a feed-forward block, {@code residual += x; x = ffn(ffnNorm(residual))}. Llama's decoder
 * layer, Mamba's block (no feed-forward), and the hybrids' layers are all this shape.
 */
final class PreNormBlock extends Module implements ResidualStreamLM.Layer {
    private final Norm mixerNorm;
    private final Mixer mixer;
    private final Norm ffnNorm;
    private final FeedForward ffn;

    /**
     * The children are modules built by the caller with their own prefixes; {@code ffnNorm} and
     * {@code ffn} may be null (Mamba blocks).
     */
    PreNormBlock(ModelContext ctx, String prefix, Norm mixerNorm, Mixer mixer, Norm ffnNorm, FeedForward ffn) {
        super(ctx, prefix);
        this.mixerNorm = add(mixerNorm);
        this.mixer = mixer;
        add((Module) mixer);
        this.ffnNorm = ffnNorm == null ? null : add(ffnNorm);
        this.ffn = ffn;
        if (ffn != null) {
            add((Module) ffn);
        }
    }

    @Override
    public void forward(Tensor x, Tensor residual, Tensor normed, ForwardContext fc, Workspace ws) {
        mixerNorm.forwardResidual(x, residual, normed);
        mixer.forward(normed, x, fc, ws);
        if (ffn != null) {
            ffnNorm.forwardResidual(x, residual, normed);
            ffn.forward(normed, x, ws);
        }
    }
}
