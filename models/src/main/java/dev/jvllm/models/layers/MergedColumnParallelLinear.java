package dev.jvllm.models.layers;

import java.util.ArrayList;
import java.util.List;

/**
 * Several column-parallel layers with one input, stored side by side in the output
 * ({@code gate_up_proj = [gate | up]}). Shard ids are integers 0, 1, ...: checkpoint tensor
 * {@code gate_proj} loads shard 0, {@code up_proj} shard 1; a fused {@code gate_up_proj} on disk
 * fills both. Each part is split over the ranks separately, so rank r's output is
 * {@code [gate_r | up_r]}.
 */
public class MergedColumnParallelLinear extends LinearBase {
    public MergedColumnParallelLinear(ModelContext ctx, String prefix, int inFeatures, int[] outputSizes, boolean bias) {
        super(ctx, prefix, inFeatures, inFeatures, 0, bias, shards(ctx, prefix, outputSizes), false);
    }

    private static List<Shard> shards(ModelContext ctx, String prefix, int[] sizes) {
        ParallelConfig p = ctx.parallel();
        List<Shard> out = new ArrayList<>();
        int offset = 0;
        for (int i = 0; i < sizes.length; i++) {
            int n = p.divide(sizes[i], prefix + " output " + i);
            out.add(new Shard(i, sizes[i], p.tpRank() * n, n, offset));
            offset += n;
        }
        return out;
    }
}
