package dev.jvllm.models.layers;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.StateBatch;
import java.util.Map;

/**
 * Everything one forward pass over a flat token batch needs besides the token ids; passed
 * explicitly (no global forward context).
 *
 * @param positions     I32 [T]: each token's position in its sequence
 * @param maxPosition   the largest position in the batch (rotary caches, longrope's switch)
 * @param queryStartLoc I32 [B+1]: sequence b owns tokens [queryStartLoc[b], queryStartLoc[b+1])
 * @param seqLens       I32 [B]: tokens of sequence b in the cache after this step
 * @param blockTables   I32 [B, maxBlocks]: cache blocks of each sequence
 * @param slotMapping   I32 [T]: cache slot each token's k/v is written to (−1 = padding)
 * @param maxQueryLen   longest q_len in the batch
 * @param maxSeqLen     longest seqLen in the batch
 * @param kvCaches      each attention layer's cache, by the layer's prefix
 * @param states        state slots of the batch for stateful layers, or null
 * @param stateCaches   each stateful layer's state pools ([numSlots, ...] per {@code StateSpec}), by prefix
 */
public record ForwardContext(Tensor positions, int maxPosition, Tensor queryStartLoc, Tensor seqLens,
        Tensor blockTables, Tensor slotMapping, int maxQueryLen, int maxSeqLen, Map<String, KvCache> kvCaches,
        StateBatch states, Map<String, java.util.List<Tensor>> stateCaches) {

    /** Number of tokens in the batch. */
    public int numTokens() {
        return positions.dim(0);
    }

    /** Number of sequences in the batch. */
    public int numSeqs() {
        return seqLens.dim(0);
    }

    /** The state pools of the stateful layer with this prefix, in its StateSpec order. */
    public java.util.List<Tensor> stateCache(String prefix) {
        java.util.List<Tensor> c = stateCaches == null ? null : stateCaches.get(prefix);
        if (c == null || states == null) {
            throw new IllegalStateException("no state pools for stateful layer " + prefix);
        }
        return c;
    }

    /** The cache of the attention layer with this prefix. */
    public KvCache kvCache(String prefix) {
        KvCache c = kvCaches.get(prefix);
        if (c == null) {
            throw new IllegalStateException("no KV cache for attention layer " + prefix + "; caches exist for "
                    + kvCaches.keySet());
        }
        return c;
    }
}
