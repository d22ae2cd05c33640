package dev.jvllm.models.layers;

import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * {@code Y = X·Wᵀ + b} with W split by input columns: rank r holds columns
 * {@code [r·K/tp, (r+1)·K/tp)} and receives the matching slice of X (the output of a
 * column-parallel layer). Partial products are summed with an all-reduce when
 * {@code reduceResults}; the bias is added on rank 0 only, before the reduction, so it counts once.
 */
public class RowParallelLinear extends LinearBase {
    private final boolean reduceResults;

    public RowParallelLinear(ModelContext ctx, String prefix, int inFeatures, int outFeatures, boolean bias,
            boolean reduceResults) {
        this(ctx, prefix, inFeatures, outFeatures, bias, reduceResults, false);
    }

    /** @param transposedOnDisk GPT-2's Conv1D layout, W stored as [in, out] */
    public RowParallelLinear(ModelContext ctx, String prefix, int inFeatures, int outFeatures, boolean bias,
            boolean reduceResults, boolean transposedOnDisk) {
        super(ctx, prefix, ctx.parallel().divide(inFeatures, prefix + " input size"), inFeatures,
                ctx.parallel().tpRank() * (inFeatures / ctx.parallel().tpSize()), bias,
                List.of(new Shard(null, outFeatures, 0, outFeatures, 0)), transposedOnDisk);
        this.reduceResults = reduceResults;
    }

    @Override
    protected boolean addsBias() {
        return hasBias && ctx.parallel().tpRank() == 0;
    }

    /** out = Σ_ranks x_r · W_rᵀ (+ b) when reducing; this rank's partial product otherwise. */
    @Override
    public void forward(Tensor x, Tensor out) {
        super.forward(x, out);
        if (reduceResults && ctx.parallel().tpSize() > 1) {
            ctx.parallel().comm().allReduceSum(out);
        }
    }
}
