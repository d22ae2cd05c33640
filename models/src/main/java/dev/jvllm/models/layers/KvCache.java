package dev.jvllm.models.layers;

import dev.jvllm.api.Tensor;

/**
 * One attention layer's paged KV cache: {@code kCache, vCache: [numBlocks, blockSize, numKvHeads, headSize]}.
 * The engine allocates one per registered attention layer.
 */
public record KvCache(Tensor kCache, Tensor vCache) {
    public int blockSize() {
        return kCache.dim(1);
    }
}
