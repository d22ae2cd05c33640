package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Top-k softmax routing: {@code p = softmax(routerLogits[t])} in f32, then the topK largest
 * (ties → lower expert id first), in descending order. With {@code renormalize} the chosen weights
 * are divided by their sum. routerLogits: [T, E]; topkWeights: F32 [T, topK]; topkIds: I32 [T, topK].
 */
public record MoeRouting(Tensor routerLogits, int topK, boolean renormalize, Tensor topkWeights, Tensor topkIds)
        implements OpArgs {
    public MoeRouting {
        String op = "moe_routing";
        Check.rank(op, "routerLogits", Check.nonNull(op, "routerLogits", routerLogits), 2);
        Check.that(topK > 0 && topK <= routerLogits.cols(), op, "topK must be in [1, E=" + routerLogits.cols()
                + "], got " + topK);
        Check.shape(op, "topkWeights", Check.nonNull(op, "topkWeights", topkWeights), routerLogits.dim(0), topK);
        Check.dtype(op, "topkWeights", topkWeights, DType.F32);
        Check.shape(op, "topkIds", Check.nonNull(op, "topkIds", topkIds), routerLogits.dim(0), topK);
        Check.dtype(op, "topkIds", topkIds, DType.I32);
    }

    @Override
    public OpKind kind() {
        return OpKind.MOE_ROUTING;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(topkWeights, topkIds);
    }
}
