package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Writes each token's keys and values into the paged cache: for token t with
 * {@code s = slotMapping[t] >= 0}, {@code kCache[s / B, s % B] = k[t]} and likewise v, converted
 * to the cache dtype as {@link Cast} does (bit-exact when the dtypes agree). Slot −1 = skip
 * (padding); any other slot outside [0, numBlocks·B) is an error. When two tokens map to one slot,
 * the later token's values are stored. Every other cache entry is left untouched.
 *
 * <p>k, v: [T, Hk·D]; kCache, vCache: [numBlocks, B, Hk, D] (B = block size); slotMapping: I32 [T].
 */
public record KvCacheWrite(Tensor k, Tensor v, Tensor kCache, Tensor vCache, Tensor slotMapping) implements OpArgs {
    public KvCacheWrite {
        Check.rank("kv_cache_write", "kCache", Check.nonNull("kv_cache_write", "kCache", kCache), 4);
        Check.sameShape("kv_cache_write", "kCache", kCache, "vCache", Check.nonNull("kv_cache_write", "vCache", vCache));
        Check.contiguous("kv_cache_write", "kCache", kCache);
        Check.contiguous("kv_cache_write", "vCache", vCache);
        int width = kCache.dim(2) * kCache.dim(3);
        Check.rank("kv_cache_write", "slotMapping", Check.nonNull("kv_cache_write", "slotMapping", slotMapping), 1);
        Check.dtype("kv_cache_write", "slotMapping", slotMapping, DType.I32);
        int t = slotMapping.dim(0);
        Check.shape("kv_cache_write", "k", Check.nonNull("kv_cache_write", "k", k), t, width);
        Check.shape("kv_cache_write", "v", Check.nonNull("kv_cache_write", "v", v), t, width);
    }

    @Override
    public OpKind kind() {
        return OpKind.KV_CACHE_WRITE;
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(kCache, vCache);
    }
}
