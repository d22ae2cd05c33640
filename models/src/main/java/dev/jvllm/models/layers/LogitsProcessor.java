package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Activation;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.Scale;

/**
 * Hidden states → logits (vLLM's {@code LogitsProcessor}): {@code h · headᵀ} per rank, all-gather
 * of the vocab shards, trim to the real vocabulary, then soft-cap ({@code cap·tanh(x/cap)}) and
 * scale, in that order. Logits are F32.
 */
public final class LogitsProcessor {
    private final ModelContext ctx;
    private final float softCap; // 0 = none
    private final float scale;   // 1 = none

    public LogitsProcessor(ModelContext ctx, float softCap, float scale) {
        this.ctx = ctx;
        this.softCap = softCap;
        this.scale = scale;
    }

    /**
     * @param hidden the rows to score (already gathered, e.g. the last token of each sequence): [T, H]
     * @return F32 [T, vocabSize], owned by the caller
     */
    public Tensor compute(ParallelLMHead head, Tensor hidden) {
        Backend b = ctx.backend();
        int t = hidden.dim(0);
        Tensor table = head.table();
        ParallelConfig p = ctx.parallel();
        Tensor full = b.allocate(DType.F32, t, head.paddedVocab());
        Tensor logits = null;
        try {
            if (p.tpSize() == 1) {
                b.linear(new Linear(hidden, new LinearWeight.Dense(table), null, full));
            } else {
                try (Tensor shard = b.allocate(DType.F32, t, table.dim(0))) {
                    b.linear(new Linear(hidden, new LinearWeight.Dense(table), null, shard));
                    p.comm().allGather(shard, full);
                }
            }
            if (head.paddedVocab() == head.vocabSize()) {
                logits = full;
                full = null;
            } else { // trim the padding rows' logits
                logits = b.allocate(DType.F32, t, head.vocabSize());
                b.copy(new dev.jvllm.api.ops.Copy(full.narrowLast(0, head.vocabSize()), logits));
            }
            if (softCap > 0) {
                b.activation(new Activation(ActivationKind.TANH_SOFTCAP, logits, logits, softCap));
            }
            if (scale != 1f) {
                b.scale(new Scale(logits, scale, logits));
            }
            Tensor result = logits;
            logits = null;
            return result;
        } finally {
            if (full != null) {
                full.close();
            }
            if (logits != null) {
                logits.close();
            }
        }
    }
}
