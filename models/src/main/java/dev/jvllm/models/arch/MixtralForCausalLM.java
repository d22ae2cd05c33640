package dev.jvllm.models.arch;

import dev.jvllm.models.layers.FeedForward;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.SparseMoeBlock;
import dev.jvllm.models.loader.ModelConfig;

/**
 * Mixtral: Llama's attention with a sparse mixture of experts in place of the MLP
 * ({@code block_sparse_moe}: a router {@code gate} and experts {@code w1} (gate), {@code w3} (up),
 * {@code w2} (down)), top-{@code num_experts_per_tok} softmax routing, renormalized.
 */
public final class MixtralForCausalLM extends LlamaForCausalLM {
    public MixtralForCausalLM(ModelContext ctx) {
        super(ctx);
    }

    @Override
    protected FeedForward feedForward(ModelContext ctx, String layerPrefix, int layer) {
        return moe(ctx, layerPrefix + ".block_sparse_moe", false);
    }

    /** Mixtral's {@code block_sparse_moe} (also MiniMax-Text-01's, whose router weight stays f32: {@code f32Router}). */
    static SparseMoeBlock moe(ModelContext ctx, String prefix, boolean f32Router) {
        ModelConfig c = ctx.config();
        return new SparseMoeBlock(ctx, prefix, "gate", c.getInt("num_local_experts", 8),
                c.getInt("num_experts_per_tok", 2), c.hiddenSize(), c.intermediateSize(), true, "w1", "w3", "w2", f32Router);
    }
}
