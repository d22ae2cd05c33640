package dev.jvllm.models.layers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.PagedAttention;

/**
 * vLLM's {@code Attention} layer: writes the batch's k/v into this layer's paged cache, then
 * attends over it (GQA, end-aligned causal mask, optional sliding window and logit soft-cap).
 * Registered in the {@link ModelContext} by prefix, which is how the engine finds its cache.
 */
public final class Attention {
    private final String prefix;
    private final int numHeads;
    private final int numKvHeads;
    private final int headSize;
    private final float scale;
    private final int slidingWindow;
    private final float softCap;

    /**
     * @param numHeads      query heads on this rank
     * @param numKvHeads    KV heads on this rank
     * @param slidingWindow 0 = full attention; else the current token plus W−1 earlier ones
     * @param softCap       0 = none; else {@code cap·tanh(s/cap)} on the scores
     */
    public Attention(ModelContext ctx, String prefix, int numHeads, int headSize, float scale, int numKvHeads,
            int slidingWindow, float softCap) {
        this.prefix = prefix;
        this.numHeads = numHeads;
        this.numKvHeads = numKvHeads;
        this.headSize = headSize;
        this.scale = scale;
        this.slidingWindow = slidingWindow;
        this.softCap = softCap;
        ctx.registerAttention(prefix, this);
    }

    public String prefix() {
        return prefix;
    }

    public int numKvHeads() {
        return numKvHeads;
    }

    public int headSize() {
        return headSize;
    }

    /** q [T, numHeads·D], k/v [T, numKvHeads·D] (views of the qkv output are fine) → out [T, numHeads·D]. */
    public void forward(Tensor q, Tensor k, Tensor v, Tensor out, ForwardContext fc) {
        Backend b = q.backend();
        KvCache c = fc.kvCache(prefix);
        b.kvCacheWrite(new KvCacheWrite(k, v, c.kCache(), c.vCache(), fc.slotMapping()));
        b.pagedAttention(new PagedAttention(q, c.kCache(), c.vCache(), out, fc.queryStartLoc(), fc.seqLens(),
                fc.blockTables(), numHeads, numKvHeads, headSize, scale, slidingWindow, softCap, fc.maxQueryLen(),
                fc.maxSeqLen()));
    }
}
