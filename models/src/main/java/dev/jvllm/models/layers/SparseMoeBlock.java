package dev.jvllm.models.layers;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ActivationKind;

/**
 * A router and its experts (Mixtral's {@code block_sparse_moe}, Jamba's MoE {@code feed_forward}):
 * router logits from a replicated linear layer, then {@link FusedMoE}.
 */
public final class SparseMoeBlock extends Module implements FeedForward {
    private final ReplicatedLinear router;
    private final FusedMoE experts;

    /**
     * @param routerName  the router's name under the prefix ({@code gate}, Jamba: {@code router})
     * @param renormalize whether the top-k weights are renormalized (Mixtral yes, Jamba no)
     * @param gateName, upName, downName the experts' tensor names
     * @param f32Router   whether the router's weight stays in f32 in a bf16/f16 model (vLLM's MiniMax-Text-01
     *                    creates its gate with {@code params_dtype=torch.float32}: near-tied experts are then
     *                    picked as in f32 instead of by the rounding of the weight)
     */
    public SparseMoeBlock(ModelContext ctx, String prefix, String routerName, int numExperts, int topK, int hidden,
            int intermediate, boolean renormalize, String gateName, String upName, String downName, boolean f32Router) {
        super(ctx, prefix);
        ReplicatedLinear r = new ReplicatedLinear(ctx, join(prefix, routerName), hidden, numExperts, false);
        router = add(f32Router ? r.withWeightDType(DType.F32) : r);
        experts = add(new FusedMoE(ctx, prefix, numExperts, topK, hidden, intermediate, renormalize, ActivationKind.SILU,
                gateName, upName, downName));
    }

    @Override
    public void forward(Tensor x, Tensor out, Workspace ws) {
        Tensor logits = ws.allocate(DType.F32, x.dim(0), experts.numExperts());
        router.forward(x, logits);
        experts.forward(x, logits, out, ws);
    }
}
