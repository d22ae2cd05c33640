package dev.jvllm.models.layers;

import java.util.List;

/** A linear layer every rank holds whole (routers, small projections). */
public class ReplicatedLinear extends LinearBase {
    public ReplicatedLinear(ModelContext ctx, String prefix, int inFeatures, int outFeatures, boolean bias) {
        this(ctx, prefix, inFeatures, outFeatures, bias, false);
    }

    /** @param transposedOnDisk GPT-2's Conv1D layout, W stored as [in, out] */
    public ReplicatedLinear(ModelContext ctx, String prefix, int inFeatures, int outFeatures, boolean bias,
            boolean transposedOnDisk) {
        super(ctx, prefix, inFeatures, inFeatures, 0, bias,
                List.of(new Shard(null, outFeatures, 0, outFeatures, 0)), transposedOnDisk);
    }

    /** This layer's weight kept in {@code dtype} whatever the model's dtype (vLLM's {@code params_dtype}). */
    public ReplicatedLinear withWeightDType(dev.jvllm.api.DType dtype) {
        keepWeightIn(dtype);
        return this;
    }
}
