package dev.jvllm.engine.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The paged KV cache's block bookkeeping (vLLM v1's {@code KVCacheManager} + {@code BlockPool}):
 * fixed-size blocks handed to sequences, block tables and slot mapping, and prefix caching.
 *
 * <p>Prefix caching: a full block is identified by its chained hash — the hash of the previous
 * block's key and this block's tokens — so equal hashes mean equal prefixes. Full blocks are
 * registered when their tokens are committed; a new sequence reuses the longest run of cached full
 * blocks of its prompt (never the whole prompt: the last token is always computed, its logits are
 * needed). Blocks are reference-counted; a block whose count drops to zero keeps its cached content
 * and joins the free queue, from which allocation takes the least recently freed block first
 * (evicting its cache entry). Cache lookups compare the block's tokens too, so a hash collision
 * can never hand out wrong KV.
 *
 * <p>Not thread-safe: the scheduler owns it.
 */
public final class KvBlockManager {
    private final int numBlocks;
    private final int blockSize;
    private final boolean prefixCaching;
    private final int[] refCount;
    private final BlockKey[] keyOf;                            // the cached content of a block, or null
    private final LinkedHashMap<Integer, Boolean> freeQueue;   // free blocks, least recently freed first
    private final Map<BlockKey, Integer> cached = new HashMap<>();
    private final Map<Long, Sequence> sequences = new HashMap<>();
    private long hitTokens;

    /**
     * A full block's identity: its chained hash and, to rule out collisions, its tokens and its
     * parent key (compared by identity: chains are built from the cache's own key objects).
     */
    record BlockKey(long hash, BlockKey parent, int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof BlockKey k && k.hash == hash && k.parent == parent && Arrays.equals(k.tokens, tokens);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(hash);
        }
    }

    private static final class Sequence {
        final List<Integer> blocks = new ArrayList<>();
        final List<BlockKey> keys = new ArrayList<>(); // keys of its committed full blocks
        int numTokens;                                 // tokens with a slot
    }

    /**
     * @param numBlocks     blocks in the pool (from the KV-cache memory budget)
     * @param blockSize     tokens per block (vLLM's default 16)
     * @param prefixCaching whether full blocks are shared between sequences with equal prefixes
     */
    public KvBlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("need numBlocks >= 1 and blockSize >= 1, got " + numBlocks + ", "
                    + blockSize + " (is the KV-cache memory budget too small for one block?)");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
        this.refCount = new int[numBlocks];
        this.keyOf = new BlockKey[numBlocks];
        this.freeQueue = new LinkedHashMap<>();
        for (int b = 0; b < numBlocks; b++) {
            freeQueue.put(b, Boolean.TRUE);
        }
    }

    public int blockSize() {
        return blockSize;
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Blocks no sequence holds (cached or not). */
    public int numFreeBlocks() {
        return freeQueue.size();
    }

    /** Prompt tokens served from the prefix cache so far (their compute was skipped). */
    public long prefixHitTokens() {
        return hitTokens;
    }

    /**
     * Registers a new sequence and attaches the cached blocks of its prompt's longest cached prefix.
     *
     * @return how many leading prompt tokens are already in the cache (a multiple of the block size,
     *     less than the prompt length)
     */
    public int startSequence(long seqId, int[] prompt) {
        return startSequence(seqId, prompt, true);
    }

    /**
     * As {@link #startSequence(long, int[])}; with {@code readCache} false the sequence computes
     * every token (e.g. to get the logits of every prompt position) but still fills the cache.
     */
    public int startSequence(long seqId, int[] prompt, boolean readCache) {
        if (sequences.containsKey(seqId)) {
            throw new IllegalArgumentException("sequence " + seqId + " is already running");
        }
        Sequence s = new Sequence();
        sequences.put(seqId, s);
        if (!prefixCaching || !readCache) {
            return 0;
        }
        BlockKey parent = null;
        int full = (prompt.length - 1) / blockSize; // keep at least the last token to compute
        for (int i = 0; i < full; i++) {
            BlockKey key = key(parent, Arrays.copyOfRange(prompt, i * blockSize, (i + 1) * blockSize));
            Integer block = cached.get(key);
            if (block == null) {
                break;
            }
            takeCached(block);
            s.blocks.add(block);
            s.keys.add(keyOf[block]); // the canonical key object, so the chain's identities match
            parent = keyOf[block];
        }
        s.numTokens = s.blocks.size() * blockSize;
        hitTokens += s.numTokens;
        return s.numTokens;
    }

    /**
     * Makes room for {@code newTokens} more tokens of the sequence, allocating blocks as needed.
     *
     * @return false, changing nothing, when the pool has too few free blocks (preempt someone)
     */
    public boolean allocateSlots(long seqId, int newTokens) {
        Sequence s = sequence(seqId);
        int needBlocks = (s.numTokens + newTokens + blockSize - 1) / blockSize - s.blocks.size();
        if (needBlocks > freeQueue.size()) {
            return false;
        }
        for (int i = 0; i < needBlocks; i++) {
            int block = freeQueue.keySet().iterator().next(); // least recently freed
            takeFresh(block);
            s.blocks.add(block);
        }
        s.numTokens += newTokens;
        return true;
    }

    /**
     * Records the sequence's tokens so far (prompt + generated, at least those with computed KV),
     * registering every newly full block in the prefix cache.
     */
    public void commitTokens(long seqId, int[] tokens) {
        Sequence s = sequence(seqId);
        if (!prefixCaching) {
            return;
        }
        int full = Math.min(tokens.length, s.numTokens) / blockSize;
        for (int i = s.keys.size(); i < full; i++) {
            BlockKey parent = i == 0 ? null : s.keys.get(i - 1);
            BlockKey key = key(parent, Arrays.copyOfRange(tokens, i * blockSize, (i + 1) * blockSize));
            int block = s.blocks.get(i);
            Integer existing = cached.get(key);
            if (existing == null) {
                cached.put(key, block);
                keyOf[block] = key;
                s.keys.add(key);
            } else { // an equal block cached by another sequence keeps its entry; chain on its key
                s.keys.add(keyOf[existing]);
            }
        }
    }

    /** The sequence's block table (block ids in order). */
    public int[] blockTable(long seqId) {
        return sequence(seqId).blocks.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The cache slot of the sequence's token at {@code position}: block · blockSize + offset. */
    public int slot(long seqId, int position) {
        Sequence s = sequence(seqId);
        if (position < 0 || position >= s.numTokens) {
            throw new IllegalArgumentException("position " + position + " of sequence " + seqId + " has no slot ("
                    + s.numTokens + " allocated)");
        }
        return s.blocks.get(position / blockSize) * blockSize + position % blockSize;
    }

    /** Releases the sequence's blocks; cached ones stay reusable until evicted. */
    public void free(long seqId) {
        Sequence s = sequences.remove(seqId);
        if (s == null) {
            throw new IllegalArgumentException("sequence " + seqId + " is not running");
        }
        // tail blocks first, so a prefix shared by others outlives its private tail in the LRU order
        for (int i = s.blocks.size() - 1; i >= 0; i--) {
            int block = s.blocks.get(i);
            if (--refCount[block] == 0) {
                freeQueue.put(block, Boolean.TRUE);
            }
        }
    }

    /** Number of running sequences. */
    public int numSequences() {
        return sequences.size();
    }

    /** Reference count of a block (tests and metrics). */
    int refCount(int block) {
        return refCount[block];
    }

    /** A prefix-cache hit: the block keeps its cached content; a free one leaves the free queue. */
    private void takeCached(int block) {
        if (refCount[block]++ == 0) {
            freeQueue.remove(block);
        }
    }

    /** A free block for new content: its old cache entry (if any) is evicted. */
    private void takeFresh(int block) {
        freeQueue.remove(block);
        BlockKey old = keyOf[block];
        if (old != null) {
            cached.remove(old, block);
            keyOf[block] = null;
        }
        refCount[block] = 1;
    }

    private BlockKey key(BlockKey parent, int[] tokens) {
        long h = parent == null ? 0x9E3779B97F4A7C15L : parent.hash;
        for (int t : tokens) {
            h = (h ^ t) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return new BlockKey(h, parent, tokens);
    }

    private Sequence sequence(long seqId) {
        Sequence s = sequences.get(seqId);
        if (s == null) {
            throw new IllegalArgumentException("sequence " + seqId + " is not running");
        }
        return s;
    }
}
