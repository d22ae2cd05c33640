package dev.jvllm.models.layers;

import java.util.List;

/**
 * {@code Y = X·Wᵀ + b} with W split by output rows: rank r holds rows
 * {@code [r·N/tp, (r+1)·N/tp)} and the matching bias. With {@code gatherOutput} the caller
 * all-gathers the outputs; by default each rank keeps its slice (the next layer is row-parallel).
 */
public class ColumnParallelLinear extends LinearBase {
    private final boolean gatherOutput;

    public ColumnParallelLinear(ModelContext ctx, String prefix, int inFeatures, int outFeatures, boolean bias,
            boolean gatherOutput) {
        this(ctx, prefix, inFeatures, outFeatures, bias, gatherOutput, false);
    }

    /** @param transposedOnDisk GPT-2's Conv1D layout, W stored as [in, out] */
    public ColumnParallelLinear(ModelContext ctx, String prefix, int inFeatures, int outFeatures, boolean bias,
            boolean gatherOutput, boolean transposedOnDisk) {
        super(ctx, prefix, inFeatures, inFeatures, 0, bias, List.of(shard(ctx, outFeatures, prefix)), transposedOnDisk);
        this.gatherOutput = gatherOutput;
    }

    private static Shard shard(ModelContext ctx, int outFeatures, String prefix) {
        ParallelConfig p = ctx.parallel();
        int n = p.divide(outFeatures, prefix + " output size");
        return new Shard(null, outFeatures, p.tpRank() * n, n, 0);
    }

    /** Whether the caller should all-gather this layer's output. */
    public boolean gatherOutput() {
        return gatherOutput;
    }
}
