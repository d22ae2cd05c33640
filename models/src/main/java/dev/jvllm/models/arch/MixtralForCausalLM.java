package dev.jvllm.models.arch;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.models.layers.FusedMoE;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.ReplicatedLinear;
import dev.jvllm.models.layers.Workspace;
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
        return new SparseMoeBlock(ctx, join(layerPrefix, "block_sparse_moe"));
    }

    /** router → top-k experts → weighted sum. */
    static final class SparseMoeBlock extends Module implements FeedForward {
        final ReplicatedLinear gate;
        final FusedMoE experts;

        SparseMoeBlock(ModelContext ctx, String prefix) {
            super(ctx, prefix);
            ModelConfig c = ctx.config();
            int e = c.getInt("num_local_experts", 8);
            gate = add(new ReplicatedLinear(ctx, join(prefix, "gate"), c.hiddenSize(), e, false));
            experts = add(new FusedMoE(ctx, prefix, e, c.getInt("num_experts_per_tok", 2), c.hiddenSize(),
                    c.intermediateSize(), true, ActivationKind.SILU, "w1", "w3", "w2"));
        }

        @Override
        public void forward(Tensor x, Tensor out, Workspace ws) {
            Tensor logits = ws.allocate(DType.F32, x.dim(0), experts.numExperts());
            gate.forward(x, logits);
            experts.forward(x, logits, out, ws);
        }
    }
}
